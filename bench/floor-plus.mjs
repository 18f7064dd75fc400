// Analysis only: the floor server (bench/floor.mjs) whose handler also runs the service's per-request pipeline
// (validateAdmissionReview → admit → admissionReviewJson) with the Kyma profile, and nothing else of the service's edge
// (no hooks, no logging, no metrics). Tells the cost of the pipeline inside a server from the cost of the edge.
//   node bench/floor-plus.mjs --port N --cert FILE --key FILE [--repeat 2]
// --repeat N runs the pipeline N times per request and answers once: the marginal cost of a run with warm caches, inside
// a server (bench/attribute.mjs --repeat variant).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).href);
const { loadConfig } = await dist('config/load.js');
const { createRuntime } = await dist('server/runtime.js');
const review = await dist('admission/review.js');

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, cert: { type: 'string' }, key: { type: 'string' }, repeat: { type: 'string', default: '1' } } });
const repeat = Math.max(1, Number(values.repeat));
const runtime = createRuntime(loadConfig({}));
const app = Fastify({ https: { cert: readFileSync(values.cert), key: readFileSync(values.key), minVersion: 'TLSv1.2' }, logger: false, bodyLimit: 6 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
  try {
    done(null, review.parseJsonBody(body, { skipManagedFields: true }));
  } catch (err) {
    done(err, undefined);
  }
});
app.post('/inject', async (request, reply) => {
  const parsed = review.validateAdmissionReview(request.body);
  let result = review.admit(runtime.injector, parsed);
  for (let i = 1; i < repeat; i++) result = review.admit(runtime.injector, parsed);
  return reply.type('application/json; charset=utf-8').send(review.admissionReviewJson(result.review));
});
await app.listen({ port: Number(values.port ?? 0), host: values.host });
process.stdout.write(`listening ${app.server.address().port}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

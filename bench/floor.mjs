// The floor server: the fastest a webhook on this stack can be. Fastify over HTTPS with the service's TLS settings
// and certificate, parses the AdmissionReview (JSON.parse of the body) and answers `allowed: true` with the uid;
// no logging, no injection, no patch. Started by bench/run.mjs:
//   node bench/floor.mjs --port N --host 127.0.0.1 --cert FILE --key FILE [--answers FILE]
// With --answers (the payload floor): FILE maps a body's name to the service's own answer for it, its uid written as
// "__UID__"; a request with ?body=NAME is parsed the same way and answered with those bytes, the request's uid
// spliced in. It sends what the service sends and does nothing else, so service/payload-floor is the service's work.
// Prints `listening <port>` on stdout once it accepts connections; stops on SIGINT/SIGTERM.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    cert: { type: 'string' },
    key: { type: 'string' },
    // Analysis only (not the floor of the report): answer with a constant base64 `patch` of this many bytes, to see
    // what sending an answer the size of the service's costs.
    'patch-bytes': { type: 'string' },
    answers: { type: 'string' },
    // Analysis only: the service's TLS and server options (src/server/tls.ts and app.ts's timeouts) instead of
    // Fastify's defaults, to tell what they cost.
    'service-tls': { type: 'boolean', default: false },
    // With --service-tls: only `https` (the TLS context and the https server's timeouts) or only `fastify` (Fastify's
    // keepAliveTimeout, connectionTimeout and requestTimeout).
    'service-tls-part': { type: 'string' },
  },
});

const tlsFiles = { cert: readFileSync(values.cert), key: readFileSync(values.key) };
let serverOptions = { https: { ...tlsFiles, minVersion: 'TLSv1.2' } };
if (values['service-tls']) {
  const { httpsServerOptions, DEFAULT_SERVER_TIMEOUTS: t } = await import(new URL('../dist/server/tls.js', import.meta.url).href);
  const part = values['service-tls-part'];
  const fastifyTimeouts = { keepAliveTimeout: t.keepAliveMs, connectionTimeout: t.idleMs, requestTimeout: t.requestMs };
  serverOptions = {
    https: part === 'fastify' ? serverOptions.https : httpsServerOptions(tlsFiles),
    ...(part === 'https' ? {} : fastifyTimeouts),
  };
}
const app = Fastify({ ...serverOptions, logger: false, bodyLimit: 6 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
  try {
    done(null, JSON.parse(body.toString('utf8')));
  } catch (err) {
    err.statusCode = 400;
    done(err, undefined);
  }
});
const patchBytes = Number(values['patch-bytes'] ?? 0);
const patch = patchBytes > 0 ? Buffer.alloc(Math.floor((patchBytes * 3) / 4), 'x').toString('base64') : undefined;
/** Body name → the service's answer split around its uid. */
const answers = values.answers
  ? new Map(Object.entries(JSON.parse(readFileSync(values.answers, 'utf8'))).map(([name, text]) => [name, text.split('"__UID__"')]))
  : undefined;
const answer = async (request, reply) => {
  const review = request.body;
  const parts = answers?.get(request.query.body);
  if (parts) return reply.type('application/json').send(`${parts[0]}${JSON.stringify(review.request.uid)}${parts[1]}`);
  const response = { uid: review.request.uid, allowed: true };
  if (patch) Object.assign(response, { patchType: 'JSONPatch', patch });
  return { apiVersion: review.apiVersion, kind: 'AdmissionReview', response };
};
app.post('/inject', answer);
app.post('/validate', answer);
app.get('/healthz', async () => ({ status: 'ok' }));
// Analysis: the process's memory by kind (bytes), to tell V8 heap from buffers and native memory.
app.get('/memory', async () => process.memoryUsage());

await app.listen({ port: Number(values.port ?? 0), host: values.host });
process.stdout.write(`listening ${app.server.address().port}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

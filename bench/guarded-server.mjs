// The service as `mesh-webhook serve` builds it (Kyma profile, HTTPS, pino at info on stdout, metrics), plus the
// overload guard (src/server/overload.ts) — for measuring the guard before it is wired into serve(). Started by
// bench/run.mjs --guarded:
//   node bench/guarded-server.mjs --port N --cert FILE --key FILE [--target-delay-ms 500]
// For attributing cost (analysis, not the benchmark): --no-guard, --log-level silent, --no-metrics.
// Once serve() installs the guard itself, `mesh-webhook serve` is what the benchmark measures.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).href);
const { loadConfig } = await dist('config/load.js');
const { buildServer, createRuntime } = await dist('server/app.js');
const { createMetrics } = await dist('metrics.js');
const { installOverloadGuard } = await dist('server/overload.js');

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    cert: { type: 'string' },
    key: { type: 'string' },
    'target-delay-ms': { type: 'string' },
    'no-guard': { type: 'boolean', default: false },
    'no-metrics': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'info' },
  },
});

const logger = pino({ level: values['log-level'] });
const metrics = values['no-metrics'] ? undefined : createMetrics();
const runtime = createRuntime(loadConfig({}));
const tls = { cert: readFileSync(values.cert, 'utf8'), key: readFileSync(values.key, 'utf8') };
const app = buildServer({ injector: () => runtime, tls, logger, ...(metrics ? { metrics } : {}) });
if (!values['no-guard']) {
  installOverloadGuard(app, {
    ...(metrics ? { registry: metrics.registry } : {}),
    logger,
    ...(values['target-delay-ms'] ? { targetDelayMs: Number(values['target-delay-ms']) } : {}),
  });
}
await app.listen({ port: Number(values.port ?? 0), host: values.host });
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

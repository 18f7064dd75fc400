import { loadConfig } from '../config/load.js';
import { createInjector } from '../inject/index.js';
import { serve } from '../server/serve.js';
import { CertificateError } from '../tls/load.js';
import type { ServeArgs } from './args.js';
import { InputError } from './errors.js';

/** `mesh-webhook serve`: load and validate the configuration, then run the admission webhook until a signal stops it. */
export async function runServe(args: ServeArgs): Promise<void> {
  const injector = createInjector(loadConfig(args.config));
  try {
    await serve({
      injector,
      ...(args.port !== undefined ? { port: args.port } : {}),
      ...(args.host !== undefined ? { host: args.host } : {}),
      ...(args.certFile !== undefined ? { certFile: args.certFile } : {}),
      ...(args.keyFile !== undefined ? { keyFile: args.keyFile } : {}),
      ...(args.logLevel !== undefined ? { logLevel: args.logLevel } : {}),
    });
  } catch (err) {
    if (err instanceof CertificateError) throw new InputError(err.message);
    throw err;
  }
}

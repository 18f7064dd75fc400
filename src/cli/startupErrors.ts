/**
 * A listener `serve` could not open, as one line that names the flag to change and how: the webhook's --port and
 * --host, the metrics listener's --metrics-port and --metrics-host.
 */
import type { ListenError } from '../server/listenError.js';

const FLAGS = {
  webhook: { port: '--port', host: '--host', zero: ' (0 picks a free port)', usual: '(another mesh-webhook serve?)' },
  metrics: { port: '--metrics-port', host: '--metrics-host', zero: ', or 0 for no metrics listener', usual: '(a local Prometheus?)' },
} as const;

const ADDRESSES = '127.0.0.1 (this machine only) or 0.0.0.0 (every interface)';

/** The message for a listener that could not bind, naming its flags and the fix. */
export function listenProblem(err: ListenError): string {
  const { port: portFlag, host: hostFlag, zero, usual } = FLAGS[err.listener];
  switch (err.code) {
    case 'EADDRINUSE':
      return `${portFlag} ${err.port} is in use by another process on ${err.host} ${usual}: stop it, or choose another with ${portFlag} N${zero}`;
    case 'EACCES':
      return `${portFlag} ${err.port} needs privileges this process does not have (ports below 1024): choose a port from 1024 up with ${portFlag} N${zero}`;
    case 'EADDRNOTAVAIL':
      return `${hostFlag} ${err.host} is not an address of this machine: give one of its addresses to ${hostFlag}, or ${ADDRESSES}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `${hostFlag} ${err.host} is neither an IP address nor a host name that resolves: give an address of this machine to ${hostFlag}, or ${ADDRESSES}`;
    default:
      return `cannot listen on ${hostFlag} ${err.host} ${portFlag} ${err.port} (${(err.cause as Error | undefined)?.message ?? err.code ?? 'unknown reason'}): check both flags`;
  }
}

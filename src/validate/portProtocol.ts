/**
 * The protocol Istio reads from a Service port (pkg/config/kube ConvertProtocol over pkg/config/protocol Parse):
 * UDP by `protocol`; else the `appProtocol` when set (it replaces the name; `kubernetes.io/h2c`, `/ws`, `/wss` map to
 * HTTP2, HTTP, HTTPS), else the name; `grpc-web...` is gRPC-Web; otherwise the part before the first `-`, compared
 * without case to tcp, udp, grpc, http, http_proxy, http2, https, tls, mongo, redis, mysql. An unknown protocol on
 * the well-known ports 25, 53, 3306 and 27017 counts as TCP; anything else is unsupported (protocol sniffing).
 */

const KNOWN = new Set(['tcp', 'udp', 'grpc', 'grpc-web', 'http', 'http_proxy', 'http2', 'https', 'tls', 'mongo', 'redis', 'mysql']);
const KUBERNETES_APP_PROTOCOLS = new Set(['kubernetes.io/h2c', 'kubernetes.io/ws', 'kubernetes.io/wss']);
/** SMTP, DNS, MySQL, MongoDB. */
const WELL_KNOWN_PORTS = new Set([25, 53, 3306, 27017]);

/** Whether Istio finds a protocol for this Service port (false: IST0118, or IST0150 on an ExternalName Service). */
export function declaresProtocol(port: Readonly<Record<string, unknown>>): boolean {
  if (port.protocol === 'UDP') return true;
  let name = typeof port.name === 'string' ? port.name : '';
  if (typeof port.appProtocol === 'string') {
    if (KUBERNETES_APP_PROTOCOLS.has(port.appProtocol)) return true;
    name = port.appProtocol;
  }
  if (name.slice(0, 'grpc-web'.length).toLowerCase() === 'grpc-web') return true;
  const dash = name.indexOf('-');
  if (KNOWN.has((dash >= 0 ? name.slice(0, dash) : name).toLowerCase())) return true;
  return typeof port.port === 'number' && WELL_KNOWN_PORTS.has(port.port);
}

/**
 * Interface-name annotations (`traffic.sidecar.istio.io/excludeInterfaces`, `traffic.sidecar.istio.io/kubevirtInterfaces`,
 * `istio.io/reroute-virtual-interfaces`): their value becomes an argument of istio-init (`-c`, `-k`), so Istio refuses
 * anything but Linux interface names. Istio's rule (pkg/util/net/ip.go ValidateInterfaceNames, called for all three by
 * pkg/kube/inject/validate.go): an empty value is no list; otherwise the value is split at every comma, each entry
 * trimmed (Go's TrimSpace) and required to be non-empty, at most 15 bytes, and a letter followed by letters, digits,
 * `_`, `.` or `-`.
 */
import { goQuote, goTrimSpace } from '../util/goStrings.js';
import { quoteValue } from './quote.js';

/** Linux's IFNAMSIZ less the terminating NUL. */
const MAX_INTERFACE_NAME_BYTES = 15;
const INTERFACE_NAME = /^[a-zA-Z][a-zA-Z0-9_.-]*$/;

/** Why a comma-separated list of interface names is refused (Istio's words and what to do), or undefined. */
export function interfaceNamesProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  for (const entry of value.split(',')) {
    const name = goTrimSpace(entry);
    if (name.length === 0) return 'empty interface name (list interface names separated by single commas)';
    // Go's len: bytes of UTF-8 (a lone surrogate was U+FFFD, three bytes, for Go too).
    if (Buffer.byteLength(name, 'utf8') > MAX_INTERFACE_NAME_BYTES) {
      return `interface name ${goQuote(quoteValue(name))} too long (max ${MAX_INTERFACE_NAME_BYTES} chars)`;
    }
    if (!INTERFACE_NAME.test(name)) {
      return `interface name ${goQuote(name)} contains invalid characters (a name is a letter followed by letters, digits, '_', '.' or '-')`;
    }
  }
  return undefined;
}

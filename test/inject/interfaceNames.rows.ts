/**
 * Rows for the interface-name annotations (test/inject/interfaceNames.test.ts through HTTPS, test/cli/interfaceNames.test.ts
 * through the built CLI). Rows marked "Istio" are TestValidateInterfaceNames of pkg/util/net/ip_test.go at istio/istio
 * 86c9f01fd735 (Apache License 2.0, see test/fixtures/istio/NOTICE); the others follow from the Go code (TrimSpace's
 * white space, len in bytes).
 */
import type { Pod } from '../../src/k8s/types.js';
import { container } from './review.js';

export const ANNOTATIONS: [annotation: string, flag: string][] = [
  ['traffic.sidecar.istio.io/excludeInterfaces', '-c'],
  ['traffic.sidecar.istio.io/kubevirtInterfaces', '-k'],
  ['istio.io/reroute-virtual-interfaces', '-k'],
];

const INVALID = "contains invalid characters (a name is a letter followed by letters, digits, '_', '.' or '-')";

export const ACCEPTED: [row: string, value: string][] = [
  ['Istio: empty string', ''],
  ['Istio: single valid interface', 'eth0'],
  ['Istio: multiple valid interfaces', 'eth0,eth1,lo'],
  ['Istio: interface with underscore', 'eth_0'],
  ['Istio: interface with hyphen', 'eth-0'],
  ['Istio: interface with dot', 'eth0.1'],
  ['Istio: complex valid names', 'veth123abc,br-docker0,bond0.100'],
  ['Istio: max length interface', 'a23456789012345'],
  ['Istio: interface with leading space (trimmed)', ' eth0'],
  ['Istio: interface with trailing space (trimmed)', 'eth0 '],
  ['Istio: spaces around comma (trimmed)', 'eth0 , eth1'],
  ['a tab and a newline around a name (Go trims them)', '\teth0\n'],
  ['U+0085 before a name (white space to Go, not to JavaScript)', '\u0085eth0'],
];

export const REFUSED: [row: string, value: string, problem: string][] = [
  ['Istio: interface starting with number', '0eth', `interface name "0eth" ${INVALID}`],
  ['Istio: interface starting with underscore', '_eth0', `interface name "_eth0" ${INVALID}`],
  ['Istio: too long interface name', '1234567890123456', 'interface name "1234567890123456" too long (max 15 chars)'],
  ['Istio: interface with space', 'eth0 -d 10.0.0.50', 'interface name "eth0 -d 10.0.0.50" too long (max 15 chars)'],
  [
    'Istio: iptables injection attempt',
    'eth0 -d 10.0.0.50 -p tcp --dport 8080',
    'interface name "eth0 -d 10.0.0.50 -p tcp --dport 8080" too long (max 15 chars)',
  ],
  ['Istio: interface with semicolon', 'eth0;echo', `interface name "eth0;echo" ${INVALID}`],
  ['Istio: interface with pipe', 'eth0|cat', `interface name "eth0|cat" ${INVALID}`],
  ['Istio: interface with backtick', 'eth0`id`', `interface name "eth0\`id\`" ${INVALID}`],
  ['Istio: interface with dollar sign', 'eth0$PATH', `interface name "eth0$PATH" ${INVALID}`],
  ['Istio: empty interface in list', 'eth0,,eth1', 'empty interface name (list interface names separated by single commas)'],
  ['Istio: interface with slash', 'eth0/1', `interface name "eth0/1" ${INVALID}`],
  ['Istio: interface with colon', 'eth0:1', `interface name "eth0:1" ${INVALID}`],
  ['Istio: interface with at sign', 'veth@if123', `interface name "veth@if123" ${INVALID}`],
  ['only white space (one empty entry, not an empty value)', ' ', 'empty interface name (list interface names separated by single commas)'],
  ['a trailing comma', 'eth0,', 'empty interface name (list interface names separated by single commas)'],
  ['a space inside a short name', 'eth0 x', `interface name "eth0 x" ${INVALID}`],
  ['a BOM before a name (not white space to Go)', '\uFEFFeth0', `interface name "\uFEFFeth0" ${INVALID}`],
  ['a quote (escaped in the message, as Go quotes)', 'eth"0', `interface name "eth\\"0" ${INVALID}`],
  ['8 two-byte letters: 16 bytes', 'éééééééé', 'interface name "éééééééé" too long (max 15 chars)'],
  ['7 two-byte letters: 14 bytes, not ASCII', 'ééééééé', `interface name "ééééééé" ${INVALID}`],
];

export const refusal = (annotation: string, value: string, problem: string) => `invalid value '${value}' for annotation '${annotation}': ${problem}`;

/** istio-init's argument after `flag`. */
export function argAfter(pod: Pod, flag: string): string | undefined {
  const args = container(pod, 'istio-init')?.args ?? [];
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

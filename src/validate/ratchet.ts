/**
 * Validation that ratchets: on an UPDATE, a finding the old object (`request.oldObject`) already had is not what the
 * update introduced, so it never denies; it is reported as a warning. Only findings the update adds can deny in
 * enforce mode. So the Deployment controller can still scale down (and retire) a ReplicaSet whose pod template broke a
 * rule before enforce mode was switched on, and an update that leaves the checked fields alone is never denied.
 */
import type { Finding } from './findings.js';

const SUFFIX = ' (already present before this update: not denied; fix it in a later change)';

function key(f: Finding): string {
  return `${f.code}\u0000${f.path}\u0000${f.message}`;
}

/** `findings` of the new object with the errors the old object already had turned into warnings. */
export function ratchet(findings: readonly Finding[], oldFindings: readonly Finding[]): Finding[] {
  if (oldFindings.length === 0) return [...findings];
  const existing = new Set(oldFindings.map(key));
  return findings.map((f) => (f.severity === 'error' && existing.has(key(f)) ? { ...f, severity: 'warning', message: `${f.message}${SUFFIX}` } : f));
}

/** The output of `mesh-webhook validate`: finding lines and a summary, the findings as JSON, the rule list. */
import { RULES, type Severity } from './findings.js';
import type { ManifestValidation } from './manifests.js';

/** `<severity> <code> <object> <path>: <message>` lines and the summary. */
export function formatText(result: ManifestValidation): string {
  const count = (s: Severity) => result.findings.filter((f) => f.severity === s).length;
  const lines = result.findings.map((f) => `${f.severity} ${f.code} ${f.object} ${f.path}: ${f.message}`);
  const plural = result.objects === 1 ? 'object' : 'objects';
  lines.push(`${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info (${result.objects} ${plural} checked)`);
  return `${lines.join('\n')}\n`;
}

export function formatJson(result: ManifestValidation): string {
  const out = result.findings.map(({ code, severity, object, path, message }) => ({ code, severity, object, path, message }));
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** Every rule: code, severity, title and fix (`validate --list`). */
export function formatRules(output: 'text' | 'json'): string {
  if (output === 'json') return `${JSON.stringify(RULES, null, 2)}\n`;
  const width = Math.max(...RULES.map((r) => r.code.length));
  return `${RULES.map((r) => `${r.code.padEnd(width)}  ${r.severity.padEnd(7)}  ${r.title}\n${' '.repeat(width + 2)}fix: ${r.fix}`).join('\n')}\n`;
}

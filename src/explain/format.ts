/** Text and JSON renderings of {@link Explanation}s (`mesh-webhook explain -o text|json`). */
import type { Explanation } from './index.js';

function labelsText(e: Explanation): string {
  const { source, labels } = e.namespaceLabels;
  if (labels === null) return 'unknown (not in the configuration\'s namespaceLabels; pass --namespace-labels)';
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${text || '(none)'} (from the ${source})`;
}

/** Which revision's webhook selectors decide (rule webhookSelectors), and the revision the sidecar is rendered for. */
function servedText(e: Explanation): string {
  const { revision, source, webhooks, rendered } = e.served;
  return (
    `${revision} (from ${source}; Istio's webhooks for it: ${webhooks.join(', ')}); ` +
    `the sidecar is rendered for revision ${rendered.revision} (CA_ADDR ${rendered.caAddress})`
  );
}

function verdictText(e: Explanation): string {
  const v = e.injector;
  switch (v.outcome) {
    case 'injected':
      return v.sidecar === 'native'
        ? 'injected, as a native sidecar (istio-proxy is an init container with restartPolicy: Always)'
        : 'injected, as a classic sidecar (istio-proxy is a regular container)';
    case 'skipped':
      return 'not injected (the pod is created without a sidecar)';
    case 'rejected':
      return `the pod would be REJECTED: ${v.message ?? v.reason}`;
    case 'error':
      return `the injector failed: ${v.message ?? v.reason}`;
  }
}

/** One block per object: the rules in order, the decision, what the injector would do, what would change it. */
export function formatExplanationsText(explanations: readonly Explanation[]): string {
  const blocks = explanations.map((e) => {
    const width = Math.max(...e.steps.map((s) => s.rule.length));
    const lines = [`${e.object}`, `  namespace labels: ${labelsText(e)}`, `  served revision: ${servedText(e)}`];
    if (e.clusterSize) lines.push(`  Kyma Istio module size: ${e.clusterSize.size} (${e.clusterSize.source})`);
    lines.push('  rules, in order:');
    e.steps.forEach((s, i) => {
      const n = String(i + 1).padStart(2);
      const detail = s.result === 'not reached' ? '' : `  ${s.detail}`;
      lines.push(`  ${n}. ${s.rule.padEnd(width)}  ${s.result.padEnd(11)}${detail}`);
    });
    lines.push(`  decision: ${e.decision.inject ? 'inject' : 'skip'} (rule ${e.decision.rule}: ${e.decision.reason})`);
    lines.push(`  injector: ${verdictText(e)}`);
    lines.push(`  to change it: ${e.change}`);
    lines.push('  troubleshooting:');
    e.troubleshooting.forEach((t, i) => lines.push(`    ${i + 1}. ${t}`));
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

export function formatExplanationsJson(explanations: readonly Explanation[]): string {
  return `${JSON.stringify(explanations, null, 2)}\n`;
}

/** Text and JSON renderings of an {@link OutdatedReport} (`mesh-webhook outdated -o text|json`). */
import type { Difference, OutdatedReport, PodDiff, PodReport, SidecarDifference, WorkloadReport } from './index.js';

function resourcesText(resources: Record<string, Record<string, string>> | undefined): string {
  if (!resources) return 'no resources';
  return ['requests', 'limits']
    .filter((b) => resources[b])
    .map((b) => `${b} ${Object.entries(resources[b]!).map(([k, v]) => `${k}=${v}`).join(' ')}`)
    .join(', ');
}

function diffText(d: Difference): string {
  return `${d.field} ${d.actual ?? '(none)'} -> ${d.expected ?? '(none)'}`;
}

function podLine(p: PodReport): string {
  const what = p.differences.length > 0 ? p.differences.map(diffText).join('; ') : p.status;
  const notes = p.notes.length > 0 ? ` [${p.notes.join('; ')}]` : '';
  return `    ${p.status.padEnd(12)} pod ${p.name}: ${what}${notes}`;
}

/** A value of the diff view on one line: `(none)`, a plain string as it is, anything else (and ambiguous strings) as JSON. */
function valueText(v: SidecarDifference['live']): string {
  if (v === null) return '(none)';
  if (typeof v === 'string' && v !== '' && v !== '(none)' && !/\s|^["[{]/.test(v)) return v;
  return JSON.stringify(v);
}

/** --diff: the workload's compared pod and each differing field, live -> mesh-webhook. */
function diffLines(d: PodDiff): string[] {
  const head = `    ${'diff'.padEnd(12)} pod ${d.pod} (live -> mesh-webhook): `;
  const notes = d.notes.map((n) => `        note: ${n}`);
  if (!d.compared) return [`${head}not compared`, ...notes];
  if (d.differences.length === 0) return [`${head}no difference`, ...notes];
  return [`${head}${d.differences.length} difference(s)`, ...notes, ...d.differences.map((x) => `        ${x.field}: ${valueText(x.live)} -> ${valueText(x.ours)}`)];
}

function actionText(w: WorkloadReport): string {
  switch (w.action) {
    case 'restart':
      return w.result ? `${w.result}${w.result === 'would restart' || w.result === 'restarted' ? ` (${w.detail})` : ''}` : `restart: ${w.detail}`;
    case 'delete-pods':
      return w.result ? `${w.result}${w.result.startsWith('failed') ? '' : ` (${w.detail})`}` : `delete pods: ${w.detail}`;
    case 'deferred':
      return `deferred: ${w.detail}`;
    case 'rollout-in-progress':
      return `skipped: ${w.detail}`;
    case 'manual':
      return `not restarted: ${w.detail}`;
    case 'none':
      return w.detail;
  }
}

export function formatOutdatedText(report: OutdatedReport): string {
  const lines: string[] = [];
  if (report.expected) {
    const size = report.clusterSize ? `; Kyma Istio module size ${report.clusterSize}, from the nodes' capacity` : '';
    lines.push(`Current istio-proxy: ${report.expected.image} (${resourcesText(report.expected.resources)}${size})`);
  }
  for (const w of report.workloads) {
    const outdated = w.pods.filter((p) => p.status === 'outdated').length;
    const kyma = w.kyma ? ' [Kyma]' : '';
    lines.push(`${w.kind} ${w.namespace}/${w.name}${w.via ? ` (via ${w.via})` : ''}${kyma}: ${outdated} outdated pod(s); ${actionText(w)}`);
    for (const p of w.pods) lines.push(podLine(p));
    if (w.diff) lines.push(...diffLines(w.diff));
  }
  const scope = report.namespace === undefined ? 'all namespaces' : `namespace ${report.namespace}`;
  const left = [
    ...(report.ignored > 0 ? [`${report.ignored} terminating or finished pod(s) left out`] : []),
    ...(report.notReady.length > 0
      ? [`${report.notReady.length} pending or not ready pod(s) not compared, never restarted: ${report.notReady.map((p) => `${p.namespace}/${p.name} (${p.reason})`).join(', ')}`]
      : []),
  ];
  lines.push(
    `${report.checked} pod(s) with a sidecar checked in ${scope}: ${report.upToDate} up to date, ${report.outdated} outdated` +
      (left.length > 0 ? ` (${left.join('; ')})` : ''),
  );
  const diffs = report.workloads.flatMap((w) => (w.diff ? [w.diff] : []));
  if (diffs.length > 0) {
    const differ = diffs.filter((d) => d.differences.length > 0).length;
    const unknown = diffs.filter((d) => !d.compared).length;
    lines.push(
      `--diff: ${differ} of ${diffs.length} workload(s) would get another injection from mesh-webhook (one pod compared per workload)` +
        (unknown > 0 ? `; ${unknown} not compared` : ''),
    );
  }
  const r = report.restart;
  if (r) {
    const deleted = r.deletedPods ? ` (${r.deletedPods} pod(s) ${r.dryRun ? 'to delete' : 'deleted'})` : '';
    lines.push(
      r.dryRun
        ? `Dry run: ${r.restarted} workload(s) would be restarted${deleted}${r.deferred ? `, ${r.deferred} deferred to the next run` : ''}; run with --restart --dry-run=false to restart them`
        : `${r.restarted} workload(s) restarted${deleted}${r.deferred ? `, ${r.deferred} deferred to the next run` : ''}${r.failed ? `, ${r.failed} failed` : ''}`,
    );
  } else if (report.workloads.some((w) => w.action === 'restart' || w.action === 'delete-pods')) {
    lines.push('Run with --restart to see the rollouts (a dry run), --restart --dry-run=false to do them.');
  }
  return `${lines.join('\n')}\n`;
}

export function formatOutdatedJson(report: OutdatedReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

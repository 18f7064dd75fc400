/**
 * One pod compared with what the current configuration would inject into it. The expected pod is computed by the
 * injector itself on the pod's own spec without its earlier injection (the containers and annotation
 * `sidecar.istio.io/status` names, and a Prometheus merge undone), so it takes the pod's annotations
 * (proxy.istio.io/config, sidecar.istio.io/proxyCPU, prometheus.istio.io/merge-metrics, ...) into account exactly as a
 * new pod of its workload would get them.
 *
 * Compared, each with its own {@link Difference.field}:
 * - `image`, and `resources.<requests|limits>.<name>` unless the pod sets them by annotation (sidecar.istio.io/proxyCPU,
 *   proxyMemory, proxyCPULimit, proxyMemoryLimit);
 * - `initContainer`: istio-init (traffic redirected by the pod) against istio-validation (by Istio CNI), when CNI was
 *   switched on or off; a pod with neither is compared as such;
 * - `annotations.prometheus.io/scrape|path|port`: the Prometheus merge switched on or off;
 * - `proxyConfig.<key>` (istio-proxy's PROXY_CONFIG, compared as JSON), `proxyConfig.proxyMetadata.<KEY>`, and
 *   `env.<KEY>` for the proxyMetadata variables of istio-proxy: DNS proxying, the proxy stats matcher, Kyma's
 *   compatibility mode and any other proxy setting of meshConfig.defaultConfig.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Injector } from '../inject/api.js';
import { A, L } from '../inject/annotations.js';
import { findProxy, INIT_CONTAINER, VALIDATION_CONTAINER } from '../inject/containers.js';
import { parseStatus } from '../inject/overrides.js';
import { prometheusPort, withoutPrometheusAnnotations } from '../inject/prometheus.js';
import { canonicalResources } from '../inject/quantity.js';
import type { Container, Pod } from '../k8s/types.js';
import { asString, isPlainObject } from '../util/json.js';
import type { Difference, OutdatedReport, PodReport } from './report.js';

const RESOURCE_ANNOTATIONS = [A.proxyCPU, A.proxyMemory, A.proxyCPULimit, A.proxyMemoryLimit];
/** The scrape annotations the Prometheus merge rewrites (the keys Kyma's predicate reads, and scrape). */
const PROMETHEUS_ANNOTATIONS = ['prometheus.io/scrape', 'prometheus.io/path', 'prometheus.io/port'];
/** Where the merge saved the pod's own scrape configuration (Istio's PrometheusScrapeConfiguration as JSON). */
const PROMETHEUS_ENV = 'ISTIO_PROMETHEUS_ANNOTATIONS';
const PROXY_CONFIG_ENV = 'PROXY_CONFIG';
/** The status port when PROXY_CONFIG names none (Istio's default; the merged metrics are served there). */
const DEFAULT_STATUS_PORT = 15020;

export function resourcesOf(c: Container): Record<string, Record<string, string>> | undefined {
  try {
    return canonicalResources(c.resources) ?? undefined;
  } catch {
    return undefined;
  }
}

/** The value of the container's variable `name` (the last one, as the kubelet takes it); valueFrom as JSON. */
function envValue(c: Container, name: string): string | undefined {
  const env = c.env ?? [];
  for (let i = env.length - 1; i >= 0; i--) {
    const e = env[i];
    if (e?.name === name) return e.value ?? (e.valueFrom !== undefined ? JSON.stringify(e.valueFrom) : '');
  }
  return undefined;
}

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return isPlainObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Image and resource differences between the running proxy and the expected one. */
function compareProxy(actual: Container, expected: Container, compareResources: boolean): Difference[] {
  const diffs: Difference[] = [];
  if ((actual.image ?? '') !== (expected.image ?? '')) diffs.push({ field: 'image', actual: actual.image ?? null, expected: expected.image ?? null });
  if (!compareResources) return diffs;
  const a = resourcesOf(actual) ?? {};
  const e = resourcesOf(expected) ?? {};
  for (const block of ['requests', 'limits']) {
    const keys = [...new Set([...Object.keys(a[block] ?? {}), ...Object.keys(e[block] ?? {})])].sort();
    for (const key of keys) {
      const av = a[block]?.[key] ?? null;
      const ev = e[block]?.[key] ?? null;
      if (av !== ev) diffs.push({ field: `resources.${block}.${key}`, actual: av, expected: ev });
    }
  }
  return diffs;
}

/** istio-init or istio-validation, whichever the pod has (not the native istio-proxy, also an init container). */
function trafficInitContainer(pod: Pod): string | null {
  const names = (pod.spec?.initContainers ?? []).map((c) => c?.name);
  if (names.includes(INIT_CONTAINER)) return INIT_CONTAINER;
  if (names.includes(VALIDATION_CONTAINER)) return VALIDATION_CONTAINER;
  return null;
}

function compareInitContainer(actual: Pod, expected: Pod): Difference[] {
  const a = trafficInitContainer(actual);
  const e = trafficInitContainer(expected);
  return a === e ? [] : [{ field: 'initContainer', actual: a, expected: e }];
}

function comparePrometheus(actual: Pod, expected: Pod): Difference[] {
  const a = actual.metadata?.annotations ?? {};
  const e = expected.metadata?.annotations ?? {};
  return PROMETHEUS_ANNOTATIONS.filter((k) => a[k] !== e[k]).map((k) => ({ field: `annotations.${k}`, actual: a[k] ?? null, expected: e[k] ?? null }));
}

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
const text = (v: unknown): string | null => (v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));

/** PROXY_CONFIG by top-level key (proxyMetadata by its keys), then the proxyMetadata variables not reported already. */
function compareProxyConfig(actual: Container, expected: Container): Difference[] {
  const aText = envValue(actual, PROXY_CONFIG_ENV);
  const eText = envValue(expected, PROXY_CONFIG_ENV);
  const a = parseObject(aText);
  const e = parseObject(eText);
  if (!a || !e) {
    // Missing or not a JSON object on one side: compared as text.
    const at = aText?.trim() ?? null;
    const et = eText?.trim() ?? null;
    return at === et ? [] : [{ field: 'proxyConfig', actual: at, expected: et }];
  }
  const diffs: Difference[] = [];
  const reported = new Set<string>();
  const aMeta = isPlainObject(a['proxyMetadata']) ? a['proxyMetadata'] : {};
  const eMeta = isPlainObject(e['proxyMetadata']) ? e['proxyMetadata'] : {};
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(e)])].sort()) {
    if (isDeepStrictEqual(a[key], e[key])) continue;
    if (key === 'proxyMetadata' && (a[key] === undefined || isPlainObject(a[key])) && (e[key] === undefined || isPlainObject(e[key]))) {
      for (const k of [...new Set([...Object.keys(aMeta), ...Object.keys(eMeta)])].sort()) {
        if (isDeepStrictEqual(aMeta[k], eMeta[k])) continue;
        diffs.push({ field: `proxyConfig.proxyMetadata.${k}`, actual: text(aMeta[k]), expected: text(eMeta[k]) });
        reported.add(k);
      }
      continue;
    }
    diffs.push({ field: `proxyConfig.${key}`, actual: json(a[key]), expected: json(e[key]) });
  }
  // The template also sets each proxyMetadata entry as a variable of istio-proxy.
  for (const k of [...new Set([...Object.keys(aMeta), ...Object.keys(eMeta)])].sort()) {
    if (reported.has(k)) continue;
    const av = envValue(actual, k) ?? null;
    const ev = envValue(expected, k) ?? null;
    if (av !== ev) diffs.push({ field: `env.${k}`, actual: av, expected: ev });
  }
  return diffs;
}

/** The status port the proxy's PROXY_CONFIG names, else Istio's default. */
function statusPortOf(proxy: Container): number {
  const port = parseObject(envValue(proxy, PROXY_CONFIG_ENV))?.['statusPort'];
  const n = typeof port === 'number' ? port : typeof port === 'string' ? Number(port) : NaN;
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_STATUS_PORT;
}

/**
 * The pod's annotations as they were before a Prometheus merge at injection. The merge pointed prometheus.io/port at
 * the status port; the injector's own re-injection (stripPod) recognises that the same way and drops the scrape
 * annotations ({@link withoutPrometheusAnnotations}). The pod's own values, which the merge saved in istio-proxy's
 * ISTIO_PROMETHEUS_ANNOTATIONS, are put back: scrape, and the scrape targets when there were any, else path and port
 * (with targets, the saved path and port are the first target's, not annotations of the pod).
 */
function withPrometheusRestored(annotations: Record<string, string>, proxy: Container): Record<string, string> {
  if (prometheusPort(annotations) !== String(statusPortOf(proxy))) return annotations;
  const restored = withoutPrometheusAnnotations(annotations);
  const saved = parseObject(envValue(proxy, PROMETHEUS_ENV));
  if (!saved) return restored;
  const field = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const scrape = field(saved['scrape']);
  if (scrape !== undefined) restored['prometheus.io/scrape'] = scrape;
  const targets = Array.isArray(saved['targets']) ? saved['targets'].filter(isPlainObject) : [];
  if (targets.length > 0) {
    restored['prometheus.istio.io/scrape-targets'] = targets.map((t) => `${asString(t['port'])}:${asString(t['path'])}`).join(',');
    return restored;
  }
  const path = field(saved['path']);
  const port = field(saved['port']);
  if (path !== undefined) restored['prometheus.io/path'] = path;
  if (port !== undefined) restored['prometheus.io/port'] = port;
  return restored;
}

/**
 * The pod as its workload created it: without the containers `sidecar.istio.io/status` names, without that
 * annotation, and with the scrape annotations a Prometheus merge rewrote put back.
 */
export function withoutInjection(pod: Pod, proxy: Container): Pod {
  const status = parseStatus(pod.metadata?.annotations?.[A.status]);
  const annotations = withPrometheusRestored({ ...pod.metadata?.annotations }, proxy);
  delete annotations[A.status];
  const without = (list: Container[] | undefined, names: string[] | undefined) => list?.filter((c) => !names?.includes(c?.name));
  return {
    ...pod,
    metadata: { ...pod.metadata, annotations },
    spec: { ...pod.spec, containers: without(pod.spec?.containers, status?.containers), initContainers: without(pod.spec?.initContainers, status?.initContainers) },
  };
}

/** The pod the configuration injects now, with its istio-proxy, or why there is none. */
export function expectedPod(injector: Injector, fresh: Pod, namespace: string): { pod: Pod; proxy: Container; input: Pod } | { problem: string } {
  // The pod has a sidecar, so it was meant to have one: opt it in, so that the comparison is about the proxy and not
  // about a selector or policy changed since (namespace rules still apply and are reported).
  // And compared with a fresh injection of the pod as its workload creates it: re-injecting the running pod would merge
  // the template onto its earlier injection (as Istio does), which keeps a classic proxy's image and resources when
  // the proxy is now a native sidecar.
  const copy: Pod = { ...fresh, metadata: { ...fresh.metadata, labels: { ...(fresh.metadata?.labels ?? {}), [L.inject]: 'true' } } };
  try {
    const outcome = injector.inject({ pod: copy, namespace });
    if (outcome.kind === 'skipped') return { problem: `the current configuration would not inject this pod (${outcome.reason}); its sidecar is left alone` };
    if (outcome.kind === 'rejected') return { problem: `the current configuration would reject this pod: ${outcome.message}` };
    const proxy = findProxy(outcome.pod);
    return proxy ? { pod: outcome.pod, proxy: proxy.container, input: copy } : { problem: 'the injection has no istio-proxy container' };
  } catch (err) {
    return { problem: `injecting the pod failed: ${(err as Error).message}` };
  }
}

function differences(pod: Pod, proxy: Container, expected: { pod: Pod; proxy: Container }, compareResources: boolean): Difference[] {
  return [
    ...compareProxy(proxy, expected.proxy, compareResources),
    ...compareInitContainer(pod, expected.pod),
    ...comparePrometheus(pod, expected.pod),
    ...compareProxyConfig(proxy, expected.proxy),
  ];
}

/** Compare one pod with what the configuration injects now. */
export function checkPod(injector: Injector, pod: Pod): PodReport {
  const meta = pod.metadata ?? {};
  const namespace = asString(meta.namespace);
  const annotations = meta.annotations ?? {};
  const report: PodReport = { namespace, name: asString(meta.name), status: 'unknown', differences: [], notes: [] };
  const running = findProxy(pod);
  if (!running) {
    report.notes.push('sidecar.istio.io/status is set, but there is no istio-proxy container');
    return report;
  }
  report.proxyIn = running.where;
  const setByAnnotation = RESOURCE_ANNOTATIONS.filter((a) => annotations[a] !== undefined);
  const compareResources = setByAnnotation.length === 0;
  if (!compareResources) report.notes.push(`resources not compared: the pod sets them (${setByAnnotation.join(', ')})`);
  const fresh = withoutInjection(pod, running.container);
  const customImage = annotations[A.proxyImage];
  if (customImage !== undefined) {
    // Compared with the configuration's default proxy, for information: such pods are never restarted.
    const { [A.proxyImage]: _dropped, ...rest } = fresh.metadata?.annotations ?? {};
    const expected = expectedPod(injector, { ...fresh, metadata: { ...fresh.metadata, annotations: rest } }, namespace);
    report.status = 'custom-image';
    report.notes.push(`proxy image set by ${A.proxyImage}: ${customImage}; never restarted`);
    if ('pod' in expected) report.differences = differences(pod, running.container, expected, compareResources);
    return report;
  }
  const expected = expectedPod(injector, fresh, namespace);
  if ('problem' in expected) {
    report.notes.push(expected.problem);
    return report;
  }
  report.differences = differences(pod, running.container, expected, compareResources);
  report.status = report.differences.length > 0 ? 'outdated' : 'up-to-date';
  return report;
}

/** The proxy the configuration injects into a plain container, for the report's header. */
export function expectedDefault(injector: Injector): OutdatedReport['expected'] {
  const pod: Pod = { metadata: { name: 'probe' }, spec: { containers: [{ name: 'app', image: 'app' }] } };
  const expected = expectedPod(injector, pod, 'default');
  if ('problem' in expected) return undefined;
  return { image: expected.proxy.image ?? '', resources: resourcesOf(expected.proxy) };
}

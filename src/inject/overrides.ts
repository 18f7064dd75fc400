/**
 * User-declared `istio-proxy` / `istio-init` containers: what the user sets wins over the template (Istio's
 * reapplyOverwrittenContainers). The user's version is recorded in `proxy.istio.io/overrides` on first injection so
 * that re-injection can reapply it.
 */
import type { Container, Pod } from '../k8s/types.js';
import { INIT_CONTAINER, PROXY_CONTAINER, VALIDATION_CONTAINER } from './containers.js';
import { CONTAINER, encodeStruct } from './gojson.js';
import { strategicMerge } from './smp.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../util/jsonDepth.js';

export interface Overrides {
  containers: Container[];
  initContainers: Container[];
}

export interface InjectionStatus {
  initContainers: string[];
  containers: string[];
  volumes: string[];
  imagePullSecrets: string[];
  revision: string;
}

export function parseStatus(text: string | undefined): InjectionStatus | undefined {
  if (!text) return undefined;
  try {
    const s = JSON.parse(text) as Partial<Record<keyof InjectionStatus, unknown>>;
    const names = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    return {
      initContainers: names(s.initContainers),
      containers: names(s.containers),
      volumes: names(s.volumes),
      imagePullSecrets: names(s.imagePullSecrets),
      revision: typeof s.revision === 'string' ? s.revision : '',
    };
  } catch {
    return undefined;
  }
}

/** `image: auto` in a declared container or an override means "the injected image": the override has no image. */
function withoutAutoImage(c: Container): Container {
  if (c === null || typeof c !== 'object' || c.image !== 'auto') return c;
  const { image: _image, ...rest } = c;
  return rest as Container;
}

/** Parses `proxy.istio.io/overrides`; undefined when absent or unreadable. `image: auto` is dropped, as Istio does. */
export function parseOverrides(text: string | undefined): Overrides | undefined {
  if (!text || jsonDepth(text) > MAX_JSON_DEPTH) return undefined;
  try {
    const o = JSON.parse(text) as Partial<Overrides> | null;
    if (o === null) return undefined;
    // Entries that are not objects name no container (Go decodes them to an empty Container): left out.
    const list = (v: unknown) =>
      Array.isArray(v) ? (v as unknown[]).filter((c): c is Container => c !== null && typeof c === 'object' && !Array.isArray(c)).map(withoutAutoImage) : [];
    return { containers: list(o.containers), initContainers: list(o.initContainers) };
  } catch {
    return undefined;
  }
}

export function overridesJson(o: Overrides): string {
  const parts: string[] = [];
  if (o.containers.length) parts.push(`"containers":[${o.containers.map((c) => encodeStruct(c, CONTAINER)).join(',')}]`);
  if (o.initContainers.length) parts.push(`"initContainers":[${o.initContainers.map((c) => encodeStruct(c, CONTAINER)).join(',')}]`);
  return `{${parts.join(',')}}`;
}

/**
 * Istio's reinsertOverrides: the recorded overrides put back into the stripped pod (appended to their list when no
 * container of that name is left), so that the template sees the pod as it was before the first injection.
 */
export function reinsertOverrides(pod: Pod, overrides: Overrides | undefined): Pod {
  if (!overrides || (overrides.containers.length === 0 && overrides.initContainers.length === 0)) return pod;
  const spec = pod.spec!;
  const add = (list: Container[] | undefined, extra: Container[]) => {
    const missing = extra.filter((o) => !(list ?? []).some((c) => c.name === o.name));
    return missing.length === 0 ? list : [...(list ?? []), ...missing];
  };
  return { ...pod, spec: { ...spec, containers: add(spec.containers, overrides.containers), initContainers: add(spec.initContainers, overrides.initContainers) } };
}

export interface ReapplyInput {
  /** The pod the webhook received, earlier injection included. */
  original: Pod;
  /** The rendered template: which containers and init containers the injection produces. */
  template: { containers: Container[]; initContainers: Container[] };
  /** The lists of the earlier injection (`sidecar.istio.io/status`), undefined on a first injection. */
  previous: { containers: string[]; initContainers: string[] } | undefined;
  /** The recorded `proxy.istio.io/overrides`, when the pod has them. */
  recorded: Overrides | undefined;
}

/**
 * Istio's reapplyOverwrittenContainers: for each container the template produces, a container of the same name the
 * user declared is merged on top of the injected one (what the user sets wins). A template container that the earlier
 * injection listed in the same list of its status is the earlier injection's own and is not reapplied (the new
 * template wins). Otherwise the recorded override of that list is used, else the original pod's container of that
 * name (for an init container, looked for in the containers first, then the init containers: so a proxy that moves
 * from a classic sidecar to a native one brings the earlier proxy along, as in Istio). Returns the merged pod and the
 * overrides applied.
 */
export function reapplyOverwrittenContainers(pod: Pod, input: ReapplyInput): { pod: Pod; applied: Overrides } {
  const applied: Overrides = { containers: [], initContainers: [] };
  const originalSpec = input.original.spec ?? {};
  const find = (list: Container[] | undefined, name: string) => (list ?? []).find((c) => c.name === name);
  for (const list of ['containers', 'initContainers'] as const) {
    for (const injected of input.template[list]) {
      if (input.previous?.[list].includes(injected.name)) continue;
      const match =
        find(input.recorded?.[list], injected.name) ??
        (list === 'containers' ? find(originalSpec.containers, injected.name) : find(originalSpec.containers, injected.name) ?? find(originalSpec.initContainers, injected.name));
      if (!match) continue;
      const overlay = withoutAutoImage(match);
      applied[list].push(overlay);
      pod = strategicMerge(pod, { spec: { [list]: [overlay] } });
    }
  }
  return { pod, applied };
}

/**
 * Istio's adjustInitContainerUser: a runAsUser/runAsGroup on the original pod's istio-proxy is honoured by the iptables setup
 * (`-u`) and by istio-validation; in TPROXY mode the proxy itself must stay root.
 */
export function adjustInitContainerUser(pod: Pod, userProxy: Container | undefined, tproxy: boolean): Pod {
  const sc = userProxy?.securityContext as { runAsUser?: number; runAsGroup?: number } | undefined;
  if (!sc || (sc.runAsUser === undefined && sc.runAsGroup === undefined)) return pod;
  const spec = pod.spec!;
  const mapAll = (f: (c: Container) => Container) => ({
    ...spec,
    containers: spec.containers?.map(f),
    initContainers: spec.initContainers?.map(f),
  });
  const next = mapAll((c) => {
    if (c.name === PROXY_CONTAINER && tproxy) {
      return { ...c, securityContext: { ...c.securityContext, runAsUser: 0 } };
    }
    if (c.name === VALIDATION_CONTAINER && !tproxy) {
      const securityContext = { ...c.securityContext };
      if (sc.runAsUser !== undefined) securityContext.runAsUser = sc.runAsUser;
      if (sc.runAsGroup !== undefined) securityContext.runAsGroup = sc.runAsGroup;
      c = { ...c, securityContext };
    }
    if ((c.name === INIT_CONTAINER || c.name === VALIDATION_CONTAINER) && sc.runAsUser !== undefined && sc.runAsUser !== 0) {
      const args = [...(c.args ?? [])];
      const u = args.indexOf('-u');
      if (u >= 0 && u + 1 < args.length) args[u + 1] = String(sc.runAsUser);
      c = { ...c, args };
    }
    return c;
  });
  return { ...pod, spec: next };
}

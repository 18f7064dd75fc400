/**
 * User-declared `istio-proxy` / `istio-init` containers: what the user sets wins over the template (Istio's
 * reapplyOverwrittenContainers). The user's version is recorded in `proxy.istio.io/overrides` on first injection so
 * that re-injection can reapply it.
 */
import type { Container, Pod } from '../k8s/types.js';
import { CONTAINER, encodeStruct } from './gojson.js';
import { strategicMerge } from './smp.js';
import { INIT_CONTAINER, PROXY_CONTAINER, VALIDATION_CONTAINER } from './template.js';
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

/** The user's declarations of containers the template also produces (`image: auto` means "the injected image"). */
export function collectOverrides(pod: Pod, templateNames: { containers: Set<string>; initContainers: Set<string> }, skip: Set<string>): Overrides {
  const pick = (list: Container[] | undefined, names: Set<string>) =>
    (list ?? [])
      .filter((c) => names.has(c.name) && !skip.has(c.name))
      .map(withoutAutoImage);
  return { containers: pick(pod.spec?.containers, templateNames.containers), initContainers: pick(pod.spec?.initContainers, templateNames.initContainers) };
}

/** Merges each override on top of the injected container of the same name. */
export function reapplyOverrides(list: Container[], overrides: Container[]): Container[] {
  if (overrides.length === 0) return list;
  return list.map((c) => {
    const o = overrides.find((x) => x.name === c.name);
    return o ? strategicMerge(c, o as unknown as Record<string, unknown>) : c;
  });
}

/**
 * Istio's adjustInitContainerUser: a user-set runAsUser/runAsGroup on istio-proxy is honoured by the iptables setup
 * (`-u`) and by istio-validation; in TPROXY mode the proxy itself must stay root.
 */
export function adjustInitContainerUser(pod: Pod, overrides: Overrides, tproxy: boolean): Pod {
  const userProxy = [...overrides.containers, ...overrides.initContainers].find((c) => c.name === PROXY_CONTAINER);
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

/**
 * What a request runs with: one configuration compiled once into the injector (`/inject`), the validator
 * (`/validate`) and the explainer (`/explain`, the debug trace), which share its settings. A reload compiles a new
 * runtime and swaps it with one assignment; a request reads the runtime once and keeps it, so it never sees one
 * configuration's injector with another's validator.
 */
import type { ClusterView } from '../cluster/view.js';
import type { AdmissionLimits, InjectorConfig } from '../config/types.js';
import { createExplainer, type Explainer } from '../explain/index.js';
import type { Injector } from '../inject/api.js';
import { createInjector } from '../inject/index.js';
import { createValidator, type Validator } from '../validate/index.js';

export interface WebhookRuntime {
  readonly injector: Injector;
  readonly validator: Validator;
  /** Decision traces and dry runs for `POST /explain`. */
  readonly explainer: Explainer;
  /** Count caps checked before any work on an object (src/admission/limits.ts). */
  readonly limits: AdmissionLimits;
}

/** Compile a configuration once into the runtime (same settings, same cluster view for the three). */
export function createRuntime(config: InjectorConfig, cluster?: ClusterView): WebhookRuntime {
  const injector = createInjector(config, cluster);
  return {
    injector,
    validator: createValidator(config, cluster, injector),
    explainer: createExplainer(injector, cluster ? { cluster } : {}),
    limits: config.limits,
  };
}

/**
 * Where requests get their runtime: a fixed one, or a getter read once per request (a reload swaps what it returns).
 * A getter returning undefined (or throwing) means "not loaded yet": /readyz answers 503 and admissions get HTTP 503.
 */
export type RuntimeSource = WebhookRuntime | (() => WebhookRuntime | undefined);

/** The one getter every route reads the runtime through. */
export function runtimeReader(source: RuntimeSource): () => WebhookRuntime | undefined {
  if (typeof source !== 'function') return () => source;
  return () => {
    try {
      return source() ?? undefined;
    } catch {
      return undefined;
    }
  };
}

/**
 * The failure policy of the service's webhook configurations, switched on only once the service can answer.
 *
 * The manifests register both configurations with `failurePolicy: Ignore` and say which policy the operator wants in
 * the annotation `mesh-webhook.kyma-project.io/failure-policy` (the kyma overlay: Fail for injection). A service
 * that has never been ready therefore blocks nothing: an install whose image does not pull, whose pods crash or whose
 * certificate never arrives leaves pod creation as it was (pods start without a sidecar, as with no webhook at all).
 * Once a replica is serving HTTPS with a certificate that every webhook's caBundle trusts, it sets each webhook's
 * failurePolicy to the annotated value; from then on the operator's policy holds, also while every replica is down.
 * The pass repeats every 30 s (every 2 s while a caBundle does not trust the certificate yet), so a `kubectl apply` of the manifests (which writes Ignore again) is undone within
 * that time. Istio's istiod does the same for its validating webhook (Ignore until its own check succeeds).
 *
 * Without the annotation the policy is the operator's to manage and is never touched. The ServiceAccount may change
 * failurePolicy only to the annotated value (manifests/base/admission-policy.yaml), never to anything else.
 */
import type { X509Certificate } from 'node:crypto';
import type { JsonPatchOperation, WebhookConfigurationObject } from './client.js';
import type { ClusterLogger } from './cache.js';
import { issuedBy, splitPemCertificates, tryParseCertificate } from '../certs/x509.js';
import { patchWebhookConfigurations, type WebhookConfigurationClient, type WebhookNames } from './webhookConfigurations.js';

export const FAILURE_POLICY_ANNOTATION = 'mesh-webhook.kyma-project.io/failure-policy';
export const FAILURE_POLICIES = ['Fail', 'Ignore'] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];
export const DEFAULT_FAILURE_POLICY_INTERVAL_MS = 30_000;
/** While a configuration waits for its caBundle to trust the served certificate (it is being published). */
export const DEFAULT_WAITING_INTERVAL_MS = 2_000;
/** While waiting, how often at most the certificate manager is asked to publish its CA again. */
const REPUBLISH_INTERVAL_MS = 10_000;

/** Where one configuration stands after a pass. */
export type FailurePolicyState =
  /** Every webhook has the annotated policy (nothing sent, or just patched: see `switched`). */
  | 'holds'
  /** The annotated policy differs, but the served certificate is not yet trusted by every caBundle. */
  | 'waiting'
  /** No annotation: the operator manages the policy. */
  | 'unmanaged'
  /** The annotation is neither Fail nor Ignore. */
  | 'invalid';

export interface FailurePolicyPass {
  /** Per configuration ("MutatingWebhookConfiguration mesh-webhook"). */
  states: Record<string, FailurePolicyState>;
  /** Configurations patched by this pass. */
  switched: string[];
  missing: string[];
}

/** The annotated policy of a configuration: a policy, absent, or the invalid text. */
export function intendedFailurePolicy(config: WebhookConfigurationObject): FailurePolicy | undefined | { invalid: string } {
  const value = config.metadata.annotations?.[FAILURE_POLICY_ANNOTATION];
  if (value === undefined) return undefined;
  return (FAILURE_POLICIES as readonly string[]).includes(value) ? (value as FailurePolicy) : { invalid: value };
}

/** Whether a caBundle (base64 PEM, as in the configuration) holds a certificate that issued `leaf`. */
function bundleTrusts(caBundle: string | undefined, leaf: X509Certificate): boolean {
  const pem = Buffer.from(caBundle ?? '', 'base64').toString('utf8');
  return splitPemCertificates(pem).some((block) => {
    const ca = tryParseCertificate(block);
    return ca !== undefined && issuedBy(leaf, ca);
  });
}

/**
 * What to change in one configuration, given the certificate the service serves now (undefined: none it can vouch
 * for). Pure: the state and the JSON Patch operations.
 */
export function failurePolicyChange(
  config: WebhookConfigurationObject,
  servedCertificate: string | undefined,
): { state: FailurePolicyState; ops: JsonPatchOperation[] } {
  const intended = intendedFailurePolicy(config);
  if (intended === undefined) return { state: 'unmanaged', ops: [] };
  if (typeof intended === 'object') return { state: 'invalid', ops: [] };
  const differing = config.webhooks.flatMap((w, i) => (w.failurePolicy === intended ? [] : [i]));
  if (differing.length === 0) return { state: 'holds', ops: [] };
  const leaf = servedCertificate !== undefined ? tryParseCertificate(splitPemCertificates(servedCertificate)[0] ?? '') : undefined;
  if (!leaf || !config.webhooks.every((w) => bundleTrusts(w.caBundle, leaf))) return { state: 'waiting', ops: [] };
  return { state: 'holds', ops: differing.map((i) => ({ op: 'add', path: `/webhooks/${i}/failurePolicy`, value: intended })) };
}

/** One pass over both configurations. */
export async function applyFailurePolicy(
  client: WebhookConfigurationClient,
  names: WebhookNames,
  servedCertificate: string | undefined,
): Promise<FailurePolicyPass> {
  const states: Record<string, FailurePolicyState> = {};
  const result = await patchWebhookConfigurations(client, names, (config, label) => {
    const change = failurePolicyChange(config, servedCertificate);
    states[label] = change.state;
    return change.ops;
  });
  return { states, switched: result.patched, missing: result.missing };
}

export interface FailurePolicyControlOptions {
  client: WebhookConfigurationClient;
  names: WebhookNames;
  /** The certificate (PEM) the HTTPS listener serves now; undefined while it serves none the cluster can trust. */
  servedCertificate: () => string | undefined;
  logger: ClusterLogger;
  /** Default 30 s. */
  intervalMs?: number;
  /** Default 2 s: the interval while a configuration is waiting for its caBundle. */
  waitingIntervalMs?: number;
  /**
   * Called when a configuration waits for its caBundle, at most once per 10 s: the certificate manager
   * publishes the CA again (a `kubectl replace` of the manifests, for one, removes it).
   */
  onWaiting?: () => void;
}

export interface FailurePolicyControl {
  /** Run a pass now (after the running one); errors are logged, not thrown. */
  checkNow(): Promise<FailurePolicyPass | undefined>;
  stop(): Promise<void>;
}

/** Start the passes: the first at once, then every `intervalMs`. Call it once the HTTPS listener is serving. */
export function startFailurePolicyControl(options: FailurePolicyControlOptions): FailurePolicyControl {
  const { client, names, logger } = options;
  const intervalMs = options.intervalMs ?? DEFAULT_FAILURE_POLICY_INTERVAL_MS;
  const waitingIntervalMs = Math.min(options.waitingIntervalMs ?? DEFAULT_WAITING_INTERVAL_MS, intervalMs);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<FailurePolicyPass | undefined> = Promise.resolve(undefined);
  // Logged when it changes, not at every pass.
  const lastState = new Map<string, string>();
  let lastWaitingCall = -Infinity;
  let lastError: string | undefined;

  function report(pass: FailurePolicyPass): void {
    for (const label of pass.switched) {
      logger.info({ config: label }, `failure policy: ${label} now has the failurePolicy its ${FAILURE_POLICY_ANNOTATION} annotation names (this replica serves a certificate its caBundle trusts)`);
    }
    for (const [label, state] of Object.entries(pass.states)) {
      if (lastState.get(label) === state) continue;
      lastState.set(label, state);
      if (state === 'waiting') {
        logger.info({ config: label }, `failure policy: ${label} keeps its failurePolicy until its caBundle trusts the certificate this replica serves`);
      } else if (state === 'invalid') {
        logger.warn(
          { config: label, annotation: FAILURE_POLICY_ANNOTATION },
          `failure policy: the annotation ${FAILURE_POLICY_ANNOTATION} of ${label} must be Fail or Ignore; the failurePolicy is left as it is until it is corrected`,
        );
      }
    }
  }

  function run(): Promise<FailurePolicyPass | undefined> {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    running = running.then(async () => {
      if (stopped) return undefined;
      let pass: FailurePolicyPass | undefined;
      try {
        pass = await applyFailurePolicy(client, names, options.servedCertificate());
        report(pass);
        lastError = undefined;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        // Once per distinct error (e.g. RBAC without the webhook-configuration rule), not every 30 s.
        const line = `failure policy: could not check the webhook configurations (${message}); trying again every ${Math.round(intervalMs / 1000)} s`;
        if (message !== lastError) logger.warn({ err: message }, line);
        else logger.debug({ err: message }, line);
        lastError = message;
      }
      const waiting = pass !== undefined && Object.values(pass.states).includes('waiting');
      if (waiting && options.onWaiting && Date.now() - lastWaitingCall >= REPUBLISH_INTERVAL_MS) {
        lastWaitingCall = Date.now();
        options.onWaiting();
      }
      if (!stopped && timer === undefined) {
        timer = setTimeout(() => void run(), waiting ? waitingIntervalMs : intervalMs);
        timer.unref();
      }
      return pass;
    });
    return running;
  }

  void run();
  return {
    checkNow: () => run(),
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running.catch(() => undefined);
    },
  };
}

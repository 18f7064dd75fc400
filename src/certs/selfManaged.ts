/**
 * Self-managed certificates (the default in a cluster): mesh-webhook keeps its own CA and serving certificate in a
 * Secret and writes the CA into its webhook configurations' caBundle. No cert-manager, no manual step.
 *
 * The Secret (type kubernetes.io/tls) holds `tls.crt`, `tls.key`, `ca.crt` (the trust bundle) and `ca.key`. The CA
 * key is kept there so that ANY replica can renew the serving certificate under the same CA, hence without touching
 * the caBundle; without it, the replica that created the CA would be the only one able to renew, and after its
 * restart a renewal would need a new CA and a caBundle change. It adds little exposure: whoever can read the Secret
 * already has `tls.key` and can impersonate the webhook; the CA is trusted only in this webhook's caBundle, nowhere
 * else in the cluster; and the RBAC grants get/update on this one Secret only.
 *
 * Replicas agree on one certificate through the API server's optimistic concurrency: the first start creates the
 * Secret and a concurrent one gets AlreadyExists and adopts the winner's content; a renewal is an update with the
 * observed resourceVersion, and the loser of a race gets Conflict, reads again and adopts the winner's certificate
 * when it is valid (it is re-evaluated by the same rules, so a valid one is kept as is). Every replica reads the
 * Secret at every check, so all of them serve the same certificate within one check interval.
 *
 * Renewal when less than 30 days of validity remain (Kyverno uses 15 days): a monthly margin survives a long weekend
 * (or a holiday) of a broken controller or an unreachable API server with time to notice the warnings and repair,
 * and costs nothing (a 1-year certificate is renewed after 11 months). The check runs every hour.
 *
 * Whatever fails (API server down, RBAC) is logged and retried with backoff; the server meanwhile keeps the
 * certificate it has (see docs/operating.md, "Certificates": at start, an in-memory development certificate, and
 * /readyz reports not ready until the first self-managed certificate arrives).
 */
import type { ClusterClient, SecretObject } from '../cluster/client.js';
import { isAlreadyExists, isConflict } from '../cluster/client.js';
import type { ClusterLogger, RetryOptions } from '../cluster/cache.js';
import { caBundleTrusts, publishCaBundle, type WebhookNames } from './caBundle.js';
import { planSecret, type CertificateMaterial, type Plan } from './plan.js';
import { DAY_MS, keyMatches, notAfter, tryParseCertificate } from './x509.js';

export const DEFAULT_CHECK_INTERVAL_MS = 60 * 60 * 1000;
export const DEFAULT_RENEW_BEFORE_MS = 30 * DAY_MS;
export const DEFAULT_CA_VALIDITY_MS = 3650 * DAY_MS;
export const DEFAULT_SERVING_VALIDITY_MS = 365 * DAY_MS;
/** A new CA must have been in the caBundle this long before any replica serves a certificate it signed. */
export const DEFAULT_CA_OVERLAP_MS = 10 * 60 * 1000;
export const SECRET_TYPE = 'kubernetes.io/tls';
export const ROLLOVER_ANNOTATION = 'mesh-webhook/ca-rollover-started';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
const MAX_WRITE_ATTEMPTS = 5;

/** What the server serves: PEM serving certificate and key, the CA bundle clients trust, and when it expires. */
export interface ServingCertificate {
  cert: string;
  key: string;
  ca: string;
  notAfter: Date;
}

export interface SelfManagedOptions {
  client: Pick<ClusterClient, 'readSecret' | 'createSecret' | 'replaceSecret' | 'readWebhookConfiguration' | 'patchWebhookConfiguration'>;
  namespace: string;
  secretName: string;
  /** The Service name: the certificate covers `<service>.<ns>.svc`, `.svc.cluster.local`, `<service>.<ns>`, `<service>`. */
  service: string;
  webhookNames: WebhookNames;
  /** Called with the first certificate and every different one after it. */
  onCertificate: (tls: ServingCertificate) => void;
  logger: ClusterLogger;
  /** Default 1 h. */
  checkIntervalMs?: number;
  /** Renew when less than this is left (serving certificate and CA); default 30 days. */
  renewBeforeMs?: number;
  caValidityMs?: number;
  servingValidityMs?: number;
  caOverlapMs?: number;
  /** Backoff after a failed check; default 1 s doubling to 5 min (never beyond the check interval). */
  retry?: RetryOptions;
  /** ms since the epoch; default Date.now. */
  clock?: () => number;
}

export interface CheckResult {
  /** Why the Secret was written, when this replica wrote it. */
  wrote?: string;
  /** Configurations whose caBundle this check patched. */
  patched: string[];
  /** Configurations not found. */
  missing: string[];
  /** The error that ended the check (logged; retried with backoff). */
  error?: string;
}

export interface SelfManagedCertificates {
  /** The certificate in use, undefined until the first check succeeded. */
  current(): ServingCertificate | undefined;
  /** Run a check now (after the running one); resolves with what it did. Errors are reported, not thrown. */
  checkNow(): Promise<CheckResult>;
  /** The current certificate, waiting up to `timeoutMs` for the first one; undefined on timeout. */
  waitForCertificate(timeoutMs: number): Promise<ServingCertificate | undefined>;
  state(): { lastCheck?: number; lastError?: { message: string; time: number }; notAfter?: Date };
  /** Stop checking (waits for a running check). */
  stop(): Promise<void>;
}

/** The names the serving certificate covers. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service];
}

function decode(secret: SecretObject): CertificateMaterial {
  const get = (k: string) => (secret.data?.[k] !== undefined ? Buffer.from(secret.data[k], 'base64').toString('utf8') : undefined);
  const started = Date.parse(secret.metadata.annotations?.[ROLLOVER_ANNOTATION] ?? '');
  const m: CertificateMaterial = {};
  const tlsCrt = get('tls.crt');
  const tlsKey = get('tls.key');
  const caCrt = get('ca.crt');
  const caKey = get('ca.key');
  if (tlsCrt !== undefined) m.tlsCrt = tlsCrt;
  if (tlsKey !== undefined) m.tlsKey = tlsKey;
  if (caCrt !== undefined) m.caCrt = caCrt;
  if (caKey !== undefined) m.caKey = caKey;
  if (Number.isFinite(started)) m.rolloverStarted = started;
  return m;
}

function encode(namespace: string, name: string, plan: Plan, previous: SecretObject | undefined): SecretObject {
  const annotations = { ...(previous?.metadata.annotations ?? {}) };
  delete annotations[ROLLOVER_ANNOTATION];
  if (plan.material.rolloverStarted !== undefined) annotations[ROLLOVER_ANNOTATION] = new Date(plan.material.rolloverStarted).toISOString();
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    metadata: {
      name,
      namespace,
      ...(previous?.metadata.resourceVersion !== undefined ? { resourceVersion: previous.metadata.resourceVersion } : {}),
      labels: { ...(previous?.metadata.labels ?? {}), [MANAGED_BY_LABEL]: 'mesh-webhook' },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    type: SECRET_TYPE,
    data: {
      ...(previous?.data ?? {}),
      'tls.crt': b64(plan.material.tlsCrt),
      'tls.key': b64(plan.material.tlsKey),
      'ca.crt': b64(plan.material.caCrt),
      'ca.key': b64(plan.material.caKey),
    },
  };
}

/** The serving certificate of a Secret, when it holds a usable pair. */
function servingCertificate(m: CertificateMaterial): ServingCertificate | undefined {
  if (!m.tlsCrt || !m.tlsKey || !m.caCrt) return undefined;
  const x = tryParseCertificate(m.tlsCrt);
  if (!x || !keyMatches(x, m.tlsKey)) return undefined;
  return { cert: m.tlsCrt, key: m.tlsKey, ca: m.caCrt, notAfter: new Date(notAfter(x)) };
}

/** Start managing the certificate; the first check runs at once, in the background. */
export function startSelfManagedCertificates(options: SelfManagedOptions): SelfManagedCertificates {
  const { client, namespace, secretName, logger } = options;
  const clock = options.clock ?? Date.now;
  const checkIntervalMs = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
  const renewBeforeMs = options.renewBeforeMs ?? DEFAULT_RENEW_BEFORE_MS;
  const servingValidityMs = options.servingValidityMs ?? DEFAULT_SERVING_VALIDITY_MS;
  const caValidityMs = options.caValidityMs ?? DEFAULT_CA_VALIDITY_MS;
  const caOverlapMs = options.caOverlapMs ?? DEFAULT_CA_OVERLAP_MS;
  if (renewBeforeMs >= servingValidityMs || renewBeforeMs >= caValidityMs) {
    throw new Error(`renewBefore (${renewBeforeMs} ms) must be shorter than the validity of the serving certificate and of the CA`);
  }
  const retryInitial = options.retry?.initialMs ?? 1000;
  const retryMax = Math.min(options.retry?.maxMs ?? 5 * 60 * 1000, checkIntervalMs);
  const names = serviceDnsNames(options.service, namespace);
  const where = `Secret ${namespace}/${secretName}`;

  let current: ServingCertificate | undefined;
  let lastCheck: number | undefined;
  let lastError: { message: string; time: number } | undefined;
  let retryDelay = retryInitial;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<CheckResult> = Promise.resolve({ patched: [], missing: [] });
  let missingLogged = '';
  const waiters: (() => void)[] = [];

  function adopt(m: CertificateMaterial, writtenHere: boolean): void {
    const tls = servingCertificate(m);
    if (!tls || (current && current.cert === tls.cert && current.key === tls.key && current.ca === tls.ca)) return;
    const first = current === undefined;
    current = tls;
    if (!writtenHere) {
      logger.info({ secret: where, notAfter: tls.notAfter.toISOString() }, `self-managed certificates: using the serving certificate from ${where}`);
    }
    try {
      options.onCertificate(tls);
    } catch (err) {
      logger.error({ err }, 'self-managed certificates: the onCertificate callback failed');
    }
    if (first) for (const w of waiters.splice(0)) w();
  }

  async function check(): Promise<CheckResult> {
    const result: CheckResult = { patched: [], missing: [] };
    const now = clock();
    const ctx = {
      now,
      names,
      renewBeforeMs,
      caValidityMs,
      servingValidityMs,
      caOverlapMs,
      caTrusted: (caPem: string) => caBundleTrusts(client, options.webhookNames, caPem),
    };
    let secret: SecretObject | undefined;
    let material: CertificateMaterial | undefined;
    let writtenHere = false;
    for (let attempt = 1; ; attempt += 1) {
      secret = await client.readSecret(namespace, secretName);
      if (secret && secret.type !== undefined && secret.type !== SECRET_TYPE) {
        throw new Error(
          `${where} exists with type ${secret.type}, not ${SECRET_TYPE}; delete it (kubectl -n ${namespace} delete secret ${secretName}) and mesh-webhook creates its own, or pass --secret NAME`,
        );
      }
      material = secret ? decode(secret) : undefined;
      const plan = await planSecret(material, ctx);
      if (!plan) break;
      try {
        const body = encode(namespace, secretName, plan, secret);
        secret = secret ? await client.replaceSecret(namespace, body) : await client.createSecret(namespace, body);
        material = decode(secret);
        writtenHere = true;
        result.wrote = plan.reason;
        logger.info({ secret: where, reason: plan.reason }, `self-managed certificates: ${plan.reason} (${where})`);
        break;
      } catch (err) {
        if ((isAlreadyExists(err) || isConflict(err)) && attempt < MAX_WRITE_ATTEMPTS) {
          logger.info({ secret: where }, `self-managed certificates: another replica wrote ${where} first; reading it again`);
          continue;
        }
        throw err;
      }
    }
    adopt(material as CertificateMaterial, writtenHere);
    if (current) {
      const published = await publishCaBundle(client, options.webhookNames, current.ca);
      result.patched = published.patched;
      result.missing = published.missing;
      for (const p of published.patched) logger.info({ config: p }, `self-managed certificates: caBundle of ${p} updated`);
      const missingNow = published.missing.join(', ');
      if (missingNow !== '' && missingNow !== missingLogged) {
        logger.warn(
          { missing: published.missing },
          `self-managed certificates: ${missingNow} not found, so the API server cannot verify this webhook yet; apply the webhook manifests (or pass --webhook-config NAME); its caBundle is set when it appears`,
        );
      }
      missingLogged = missingNow;
    }
    return result;
  }

  function schedule(ms: number): void {
    if (stopped) return;
    timer = setTimeout(() => void run(), ms);
    timer.unref();
  }

  function run(): Promise<CheckResult> {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    running = running.then(async () => {
      if (stopped) return { patched: [], missing: [] };
      let result: CheckResult;
      try {
        result = await check();
        lastError = undefined;
        retryDelay = retryInitial;
        // A missing configuration or a rollover in progress is looked at again sooner than the hourly check.
        const soon = result.missing.length > 0 ? retryMax : current && isRolloverPending() ? Math.min(caOverlapMs, checkIntervalMs) : checkIntervalMs;
        if (timer === undefined) schedule(soon);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const delay = retryDelay;
        retryDelay = Math.min(retryDelay * 2, retryMax);
        logger.warn(
          { err: message, retryInMs: delay },
          `self-managed certificates: check failed (${message}); retrying in ${Math.round(delay / 1000)} s, the server keeps its current certificate meanwhile`,
        );
        lastError = { message, time: clock() };
        result = { patched: [], missing: [], error: message };
        if (timer === undefined) schedule(delay);
      }
      lastCheck = clock();
      return result;
    });
    return running;
  }

  function isRolloverPending(): boolean {
    const leaf = current ? tryParseCertificate(current.cert) : undefined;
    const first = current ? tryParseCertificate(current.ca) : undefined;
    return leaf !== undefined && first !== undefined && !leaf.checkIssued(first);
  }

  void run();

  return {
    current: () => current,
    checkNow: () => run(),
    waitForCertificate(timeoutMs: number) {
      if (current || stopped) return Promise.resolve(current);
      return new Promise((resolve) => {
        const t = setTimeout(() => resolve(current), timeoutMs);
        waiters.push(() => {
          clearTimeout(t);
          resolve(current);
        });
      });
    },
    state: () => ({
      ...(lastCheck !== undefined ? { lastCheck } : {}),
      ...(lastError !== undefined ? { lastError } : {}),
      ...(current ? { notAfter: current.notAfter } : {}),
    }),
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      for (const w of waiters.splice(0)) w();
      await running.catch(() => undefined);
    },
  };
}

/**
 * What the certificate Secret should hold next: a pure decision (plus key generation) from what it holds now and
 * the time. {@link planSecret} returns undefined when nothing needs to change, else the complete new content and
 * the reason (for the log).
 *
 * Content: `ca.crt` is the trust bundle, its FIRST certificate is the signing CA whose key is `ca.key`; any further
 * certificates are older CAs still trusted during a CA rollover. `tls.crt`/`tls.key` is the serving certificate.
 *
 * Rules, in order:
 * 1. No Secret: a new CA (10 years) and a serving certificate (1 year).
 * 2. The signing CA is unusable (missing, unparsable, `ca.key` missing or not its key, or less than `renewBefore` of
 *    validity left): a new CA goes first in the bundle. If the current serving certificate is still valid it stays,
 *    and the old CAs stay in the bundle (overlap: the caBundle must carry the new CA before any replica serves a
 *    certificate signed by it); the rollover start time is recorded. If it is not valid, there is nothing to keep:
 *    the new CA alone, and a serving certificate from it at once.
 * 3. The serving certificate is invalid (unparsable, key mismatch, not signed by a CA of the bundle, expired, or
 *    missing one of the names): a new one from the signing CA.
 * 4. It is signed by an older CA (rollover in progress): switch to one from the signing CA once the rollover has
 *    lasted `caOverlapMs` and both webhook configurations trust the signing CA.
 * 5. It has less than `renewBefore` left: a new one from the same CA (the caBundle does not change).
 * 6. Expired older CAs are dropped from the bundle.
 *
 * A serving certificate never outlives its CA (its notAfter is capped at the CA's).
 */
import type { X509Certificate } from 'node:crypto';
import {
  CLOCK_SKEW_MS,
  coversNames,
  createCertificateAuthority,
  issueServingCertificate,
  issuedBy,
  keyMatches,
  notAfter,
  notBefore,
  splitPemCertificates,
  tryParseCertificate,
} from './x509.js';

/** The Secret's content, decoded (PEM text). */
export interface CertificateMaterial {
  tlsCrt?: string;
  tlsKey?: string;
  caCrt?: string;
  caKey?: string;
  /** When the current CA rollover started (ms since the epoch), while one is in progress. */
  rolloverStarted?: number;
}

export interface PlanContext {
  now: number;
  /** Names the serving certificate must cover. */
  names: readonly string[];
  renewBeforeMs: number;
  caValidityMs: number;
  servingValidityMs: number;
  caOverlapMs: number;
  /** Whether every webhook of both configurations already trusts this CA (PEM). Asked only during a rollover. */
  caTrusted: (caPem: string) => Promise<boolean>;
}

export interface Plan {
  material: Required<Pick<CertificateMaterial, 'tlsCrt' | 'tlsKey' | 'caCrt' | 'caKey'>> & Pick<CertificateMaterial, 'rolloverStarted'>;
  reason: string;
}

interface ParsedCa {
  pem: string;
  x: X509Certificate;
}

const iso = (ms: number) => new Date(ms).toISOString();

async function newCa(ctx: PlanContext) {
  return createCertificateAuthority({
    commonName: `mesh-webhook CA ${iso(ctx.now).slice(0, 10)}`,
    notBefore: new Date(ctx.now),
    notAfter: new Date(ctx.now + ctx.caValidityMs),
  });
}

async function newLeaf(ctx: PlanContext, ca: { cert: string; key: string }) {
  const caEnd = notAfter(tryParseCertificate(ca.cert) as X509Certificate);
  return issueServingCertificate({
    ca,
    names: ctx.names,
    notBefore: new Date(ctx.now),
    notAfter: new Date(Math.min(ctx.now + ctx.servingValidityMs, caEnd)),
  });
}

/** Why the serving certificate cannot be served (undefined when it can). */
function leafProblem(m: CertificateMaterial, leaf: X509Certificate | undefined, bundle: ParsedCa[], ctx: PlanContext): string | undefined {
  if (!leaf) return m.tlsCrt ? 'tls.crt is not a certificate' : 'tls.crt is missing';
  if (!m.tlsKey || !keyMatches(leaf, m.tlsKey)) return 'tls.key is missing or not the key of tls.crt';
  if (notBefore(leaf) > ctx.now + CLOCK_SKEW_MS) return `it is not valid before ${leaf.validFrom}`;
  if (notAfter(leaf) <= ctx.now) return `it expired on ${iso(notAfter(leaf))}`;
  if (!bundle.some((ca) => notAfter(ca.x) > ctx.now && issuedBy(leaf, ca.x))) return 'it is not signed by a valid CA of ca.crt';
  if (!coversNames(leaf, ctx.names)) return `it does not cover all of ${ctx.names.join(', ')}`;
  return undefined;
}

function signingProblem(m: CertificateMaterial, signing: ParsedCa | undefined, ctx: PlanContext): string | undefined {
  if (!signing) return 'ca.crt holds no CA certificate';
  if (!m.caKey || !keyMatches(signing.x, m.caKey)) return 'ca.key is missing or not the key of the first CA in ca.crt';
  if (notBefore(signing.x) > ctx.now + CLOCK_SKEW_MS) return `the CA is not valid before ${signing.x.validFrom}`;
  if (notAfter(signing.x) - ctx.now <= ctx.renewBeforeMs) return `the CA expires on ${iso(notAfter(signing.x))}`;
  return undefined;
}

export async function planSecret(m: CertificateMaterial | undefined, ctx: PlanContext): Promise<Plan | undefined> {
  if (m === undefined) {
    const ca = await newCa(ctx);
    const leaf = await newLeaf(ctx, ca);
    return { material: { caCrt: ca.cert, caKey: ca.key, tlsCrt: leaf.cert, tlsKey: leaf.key }, reason: 'created a CA and a serving certificate' };
  }
  const bundle: ParsedCa[] = [];
  for (const pem of splitPemCertificates(m.caCrt ?? '')) {
    const x = tryParseCertificate(pem);
    if (x?.ca) bundle.push({ pem, x });
  }
  const signing = bundle[0];
  const leaf = m.tlsCrt ? tryParseCertificate(m.tlsCrt) : undefined;
  const leafIssue = leafProblem(m, leaf, bundle, ctx);

  // 2. CA rollover.
  const signingIssue = signingProblem(m, signing, ctx);
  if (signingIssue !== undefined) {
    const ca = await newCa(ctx);
    if (leafIssue === undefined) {
      const kept = bundle.filter((c) => notAfter(c.x) > ctx.now).map((c) => c.pem);
      return {
        material: { caCrt: [ca.cert, ...kept].join(''), caKey: ca.key, tlsCrt: m.tlsCrt as string, tlsKey: m.tlsKey as string, rolloverStarted: ctx.now },
        reason: `CA rollover started (${signingIssue}): the new CA is added to the bundle first; the serving certificate switches to it once both webhook configurations trust it`,
      };
    }
    const fresh = await newLeaf(ctx, ca);
    return {
      material: { caCrt: ca.cert, caKey: ca.key, tlsCrt: fresh.cert, tlsKey: fresh.key },
      reason: `new CA and serving certificate (${signingIssue}; and the serving certificate cannot be kept: ${leafIssue})`,
    };
  }
  const signingCa = signing as ParsedCa;
  const caPair = { cert: signingCa.pem, key: m.caKey as string };
  const liveBundle = bundle.filter((c, i) => i === 0 || notAfter(c.x) > ctx.now).map((c) => c.pem);

  // 3. Invalid serving certificate.
  if (leafIssue !== undefined) {
    const fresh = await newLeaf(ctx, caPair);
    return {
      material: { caCrt: liveBundle.join(''), caKey: caPair.key, tlsCrt: fresh.cert, tlsKey: fresh.key },
      reason: `new serving certificate (the current one cannot be used: ${leafIssue})`,
    };
  }
  const current = leaf as X509Certificate;

  // 4. Rollover in progress.
  if (!issuedBy(current, signingCa.x)) {
    const started = m.rolloverStarted;
    if (started === undefined) {
      return {
        material: { caCrt: m.caCrt as string, caKey: caPair.key, tlsCrt: m.tlsCrt as string, tlsKey: m.tlsKey as string, rolloverStarted: ctx.now },
        reason: 'CA rollover in progress without a recorded start: recording it now',
      };
    }
    if (ctx.now - started < ctx.caOverlapMs || !(await ctx.caTrusted(signingCa.pem))) return undefined;
    const fresh = await newLeaf(ctx, caPair);
    return {
      material: { caCrt: liveBundle.join(''), caKey: caPair.key, tlsCrt: fresh.cert, tlsKey: fresh.key },
      reason: 'CA rollover: both webhook configurations trust the new CA, the serving certificate switches to it',
    };
  }

  // 5. Renewal under the same CA.
  if (notAfter(current) - ctx.now <= ctx.renewBeforeMs) {
    const fresh = await newLeaf(ctx, caPair);
    return {
      material: { caCrt: liveBundle.join(''), caKey: caPair.key, tlsCrt: fresh.cert, tlsKey: fresh.key },
      reason: `serving certificate renewed (it expires on ${iso(notAfter(current))}); same CA`,
    };
  }

  // 6. Expired older CAs.
  if (liveBundle.length !== bundle.length) {
    return {
      material: { caCrt: liveBundle.join(''), caKey: caPair.key, tlsCrt: m.tlsCrt as string, tlsKey: m.tlsKey as string },
      reason: 'expired CA removed from the bundle',
    };
  }
  return undefined;
}

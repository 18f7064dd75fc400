/**
 * Validation that ratchets (src/validate/ratchet.ts), through POST /validate over CA-verified HTTPS in enforce mode:
 * an UPDATE is denied only for findings the old object did not already have. The rollout story: the old ReplicaSet
 * whose pod template has a container port the proxy reserves (MW0101) can be scaled down, a new violating template is
 * denied, a fixed one is allowed.
 */
import { describe, expect, it } from 'vitest';
import { namespace, NS, peerAuthentication } from './examples.js';
import { postValidate, validationReview, type Obj, useEnforcingServer } from './helpers.js';

function replicaSet(name: string, replicas: number, port: number): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: NS, labels: { app: 'web' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'app', image: 'example.com/web:1', ports: [{ name: 'http', containerPort: port }] }] },
      },
    },
  };
}

const update = (object: Obj, oldObject: Obj) => validationReview(object, { operation: 'UPDATE', oldObject });

describe('enforce mode ratchets on UPDATE', () => {
  const server = useEnforcingServer();

  it('CREATE of a template with port 15021 is denied (MW0101)', async () => {
    const a = await postValidate(server, validationReview(replicaSet('web-old', 3, 15021)));
    expect(a.allowed).toBe(false);
    expect(a.message).toContain('MW0101');
  });

  it('scaling the old ReplicaSet 3 → 0 is allowed; the existing violation comes back as a warning', async () => {
    const a = await postValidate(server, update(replicaSet('web-old', 0, 15021), replicaSet('web-old', 3, 15021)));
    expect(a.allowed).toBe(true);
    expect(a.warnings.join('\n')).toMatch(/MW0101.*already present before this update: not denied/);
  });

  it('an UPDATE that introduces the violation is denied', async () => {
    const a = await postValidate(server, update(replicaSet('web-new', 1, 15021), replicaSet('web-new', 1, 8080)));
    expect(a.allowed).toBe(false);
    expect(a.code).toBe(403);
    expect(a.message).toContain('MW0101');
  });

  it('an UPDATE that moves the violation to another reserved port is a new finding: denied', async () => {
    const a = await postValidate(server, update(replicaSet('web-old', 3, 15090), replicaSet('web-old', 3, 15021)));
    expect(a.allowed).toBe(false);
  });

  it('an UPDATE that fixes the template is allowed without warnings about it', async () => {
    const a = await postValidate(server, update(replicaSet('web-old', 3, 8080), replicaSet('web-old', 3, 15021)));
    expect(a.allowed).toBe(true);
    expect(a.warnings.join('\n')).not.toContain('MW0101');
  });

  it('object rules ratchet too: a PeerAuthentication with an unknown mode can be relabelled, but not broken anew', async () => {
    const bad = peerAuthentication('pa', NS, { mtls: { mode: 'BOGUS' } });
    const relabelled = { ...bad, metadata: { ...(bad.metadata as Obj), labels: { team: 'a' } } };
    const kept = await postValidate(server, update(relabelled, bad));
    expect(kept.allowed).toBe(true);
    const good = peerAuthentication('pa', NS, { mtls: { mode: 'STRICT' } });
    const broken = await postValidate(server, update(bad, good));
    expect(broken.allowed).toBe(false);
    expect(broken.message).toContain('MW0501');
  });

  it('Namespaces ratchet: one enforcing Pod Security baseline without CNI (MW0301) can be relabelled, not tightened anew', async () => {
    const baseline = namespace('legacy', { 'pod-security.kubernetes.io/enforce': 'baseline' });
    const relabelled = namespace('legacy', { 'pod-security.kubernetes.io/enforce': 'baseline', team: 'payments' });
    const kept = await postValidate(server, update(relabelled, baseline));
    expect(kept.allowed).toBe(true);
    expect(kept.warnings.join('\n')).toMatch(/MW0301.*already present before this update: not denied/);
    const privileged = namespace('legacy', { 'pod-security.kubernetes.io/enforce': 'privileged' });
    const tightened = await postValidate(server, update(baseline, privileged));
    expect(tightened.allowed).toBe(false);
    expect(tightened.message).toContain('MW0301');
  });

  it('a CREATE is never ratcheted, even when the review carries an oldObject', async () => {
    const a = await postValidate(server, validationReview(replicaSet('web-x', 1, 15021), { oldObject: replicaSet('web-x', 1, 15021) }));
    expect(a.allowed).toBe(false);
  });
});

/**
 * istioctl analyze's own testdata (test/fixtures/istio/analyzers, see its NOTICE) through the CLI and POST /validate:
 * for the codes these analyzers own, the objects reported must be exactly those analyzers_test.go expects
 * (istioInjection: NamespaceMultipleInjectionLabels; portNameNotFollowConvention; serviceNoPortNameSystemNamespace;
 * ExternalNameServiceTypeInvalidPortName).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { auditCodes, parseJsonFindings, postValidate, runtime, useCliWorkspace, validationReview, type Obj } from './helpers.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'istio', 'analyzers');

const CASES: { file: string; code: string; expected: string[] }[] = [
  { file: 'injection-namespaces.yaml', code: 'IST0123', expected: ['Namespace busted', 'Namespace multi-ns-1', 'Namespace multi-ns-2', 'Namespace multi-ns-3'] },
  // Two unnamed ports of my-service1: two findings, as analyzers_test.go lists it twice.
  { file: 'service-no-port-name.yaml', code: 'IST0118', expected: ['Service my-namespace1/my-service1', 'Service my-namespace1/my-service1', 'Service my-namespace2/my-service2'] },
  { file: 'service-no-port-name-system-namespace.yaml', code: 'IST0118', expected: [] },
  { file: 'incorrect-port-name-external-name-service-type.yaml', code: 'IST0150', expected: ['Service nginx-ns/nginx', 'Service nginx-ns2/nginx-svc2', 'Service nginx-ns3/nginx-svc3'] },
];

const objectsOf = (file: string): Obj[] => parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => d.toJS() as Obj).filter(Boolean);
const id = (o: Obj) => (o.metadata.namespace ? `${o.kind} ${o.metadata.namespace}/${o.metadata.name}` : `${o.kind} ${o.metadata.name}`);

describe('through the CLI', () => {
  const workspace = useCliWorkspace();

  it.each(CASES.map((c) => [c.file, c] as const))('%s', (_file, c) => {
    const run = workspace().run(['validate', '-f', join(DIR, c.file), '-o', 'json']);
    expect(run.stderr).toBe('');
    const reported = parseJsonFindings(run.stdout).filter((f) => f.code === c.code).map((f) => f.object);
    expect(reported.sort()).toEqual([...c.expected].sort());
  });
});

describe('through POST /validate', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(runtime());
  });
  afterAll(() => server.close());

  it.each(CASES.map((c) => [c.file, c] as const))('%s', async (_file, c) => {
    const reported: string[] = [];
    for (const object of objectsOf(c.file)) {
      const answer = await postValidate(server, validationReview(object));
      for (const code of auditCodes(answer.audit)) if (code === c.code) reported.push(id(object));
    }
    expect(reported.sort()).toEqual([...c.expected].sort());
  });
});

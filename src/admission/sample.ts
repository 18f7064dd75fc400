/**
 * A realistic sample AdmissionReview: a Deployment-owned pod (created by its ReplicaSet) in namespace `default`,
 * as the API server sends it to the webhook. Written next to the dev certificates by `mesh-webhook serve` so the
 * printed curl command works as pasted; reused by tests.
 */
import type { Pod } from '../k8s/types.js';
import type { AdmissionApiVersion, AdmissionReviewRequest } from './review.js';

export function samplePod(): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'httpbin-5c7d8f9b6-',
      namespace: 'default',
      labels: { app: 'httpbin', version: 'v1', 'pod-template-hash': '5c7d8f9b6' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'httpbin-5c7d8f9b6',
          uid: '3f1c2a52-8b1e-4f7e-9d7a-2c6f3e9a1b40',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      serviceAccountName: 'httpbin',
      containers: [
        {
          name: 'httpbin',
          image: 'docker.io/mccutchen/go-httpbin:v2.15.0',
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '10m', memory: '32Mi' } },
          readinessProbe: { httpGet: { path: '/status/200', port: 8080 }, periodSeconds: 5 },
        },
      ],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
    },
  };
}

export function sampleAdmissionReview(
  options: { apiVersion?: AdmissionApiVersion; uid?: string; pod?: Pod; namespace?: string } = {},
): AdmissionReviewRequest {
  const pod = options.pod ?? samplePod();
  const namespace = options.namespace ?? pod.metadata?.namespace ?? 'default';
  return {
    apiVersion: options.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? '7c9b4c1e-2d3f-4a5b-8c6d-9e0f1a2b3c4d',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace,
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: 'a2f6a1f4-0c2e-4a8b-bf3e-6f5d3c2b1a09',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

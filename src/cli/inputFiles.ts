/**
 * The files named by flags (--config, --values, --mesh, --istio-cr, --cert, --key, --client-ca, --kubeconfig), checked before a
 * command starts: one that does not exist, is a directory or cannot be read is an {@link InputError} naming the flag
 * and what it expects, instead of a message from deep inside the loader (or a half-started server).
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import type { LoadConfigOptions } from '../config/load.js';
import { ISTIO_INPUT_FLAGS, type IstioInputs } from '../config/istioInputs.js';
import { fileReadProblem } from '../util/fileError.js';
import type { Invocation } from './args.js';
import { InputError } from './errors.js';

export interface NamedFile {
  flag: string;
  path: string;
  /** What the flag expects, for the fix: "the injector configuration (YAML)". */
  expects: string;
}

const ISTIO_EXPECTS: Record<keyof IstioInputs, string> = {
  injector: "the istio-sidecar-injector ConfigMap or its config key (YAML)",
  values: "the istio-sidecar-injector ConfigMap or its values key (JSON)",
  mesh: 'the istio ConfigMap or its mesh key (YAML)',
  operator: 'an IstioOperator (YAML)',
};

function configFiles(config: LoadConfigOptions): NamedFile[] {
  return [
    ...(config.configFile !== undefined ? [{ flag: '--config', path: config.configFile, expects: 'the injector configuration (YAML)' }] : []),
    ...(config.valuesFiles ?? []).map((path) => ({ flag: '--values', path, expects: 'a Helm values file (YAML)' })),
    ...(config.meshFiles ?? []).map((path) => ({ flag: '--mesh', path, expects: 'a MeshConfig file (YAML)' })),
    ...(config.istioCustomResourceFile !== undefined
      ? [{ flag: '--istio-cr', path: config.istioCustomResourceFile, expects: 'the Kyma Istio custom resource (YAML)' }]
      : []),
    ...(Object.keys(ISTIO_INPUT_FLAGS) as (keyof IstioInputs)[]).flatMap((key) => {
      const source = config.istio?.[key];
      return source && 'file' in source ? [{ flag: ISTIO_INPUT_FLAGS[key], path: source.file, expects: ISTIO_EXPECTS[key] }] : [];
    }),
  ];
}

/** The files the flags of `invocation` name, in the order they are loaded. */
export function namedFiles(invocation: Invocation): NamedFile[] {
  switch (invocation.command) {
    case 'inject':
    case 'explain':
      return configFiles(invocation.args.config);
    case 'validate':
      return invocation.args.list ? [] : configFiles(invocation.args.config);
    case 'outdated':
      // Its --kubeconfig is checked with the other ways to the cluster (src/outdated/kubeconfigSource.ts, exit 4).
      return configFiles(invocation.args.config);
    case 'serve': {
      const { certFile, keyFile, clientCaFile, cluster } = invocation.args;
      const kubeconfig = cluster?.kubeconfig;
      return [
        ...configFiles(invocation.args.config),
        ...(certFile !== undefined ? [{ flag: '--cert', path: certFile, expects: 'the serving certificate (PEM)' }] : []),
        ...(keyFile !== undefined ? [{ flag: '--key', path: keyFile, expects: "the serving certificate's private key (PEM)" }] : []),
        ...(clientCaFile !== undefined ? [{ flag: '--client-ca', path: clientCaFile, expects: "the CA bundle (PEM) of the API server's client certificate" }] : []),
        ...(kubeconfig !== undefined ? [{ flag: '--kubeconfig', path: kubeconfig, expects: 'a kubeconfig file' }] : []),
      ];
    }
    case 'help':
    case 'version':
      return [];
  }
}

/** Throws an {@link InputError} for the first file that is missing, a directory or unreadable. */
export function checkNamedFiles(files: readonly NamedFile[]): void {
  for (const { flag, path, expects } of files) {
    try {
      const fd = openSync(path, 'r');
      try {
        // Opening a directory succeeds on Linux; reading it would not.
        if (fstatSync(fd).isDirectory()) throw Object.assign(new Error(`EISDIR: ${path}`), { code: 'EISDIR' });
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw new InputError(`${flag} file ${path} ${fileReadProblem(err)}: pass the path of ${expects} to ${flag}`);
    }
  }
}

/**
 * The CLI's help text, one block per command (`mesh-webhook <command> -h`), apart from the parsing in ./args.ts. The
 * defaults it shows are the ones the code uses: serve's from src/server/defaults.ts, the CLI's own from ./args.ts.
 */
import {
  DEFAULT_HOST,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_METRICS_PORT,
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_DELAY_MS,
  DEFAULT_TARGET_DELAY_MS,
} from '../server/defaults.js';
import { DEFAULT_MAX_RESTARTS } from './args.js';
import type { CommandName } from './parse.js';
import { LOG_LEVELS } from './serveArgs.js';

const CONFIG_FLAGS = `Configuration (applied in this order, later wins):
      --profile kyma|kyma-module|istio
                                built-in defaults (default: kyma, or the config file's profile); kyma-module
                                is what the Kyma Istio module injects today
      --config FILE             YAML file with injector settings (policy, selectors, values, meshConfig, ...)
      --values FILE             Helm values merged into values (repeatable)
      --mesh FILE               MeshConfig merged into meshConfig (repeatable)
      --set PATH=VALUE          override one setting, VALUE is JSON or a plain string (repeatable); text
                                fields keep VALUE as written (values.global.tag=1.30 is the tag 1.30),
                                e.g. --set values.global.proxy.image=proxyv2 --set policy=disabled
      --native-sidecars true|false|auto
                                inject istio-proxy as a native sidecar (init container) or a classic container
      --cluster-size auto|evaluation|production
                                kyma-module: the module's resource size (auto: from the cluster's node capacity;
                                production when no node is known, as without a cluster)
      --istio-cr FILE           kyma-module: the Kyma Istio custom resource (kubectl get istios.operator.kyma-
                                project.io -n kyma-system -o yaml); its proxy resources and mesh settings apply
      --revision NAME           serve only the pods Istio's webhooks for revision NAME select (namespace
                                istio.io/rev=NAME, or pod label istio.io/rev=NAME), never by default: a canary
                                beside istiod (docs/migration.md). The sidecar is still rendered for
                                values.revision, the istiod the proxies talk to (config key servedRevision)

Istio's own configuration, with istioctl kube-inject's flag names, applied before --config, --values, --mesh and
--set: the ConfigMaps replace the parts of the profile they describe, an IstioOperator is an override merged over
the profile (docs/configuration.md#istio-configuration):
      --injectConfigFile FILE   istio-sidecar-injector's config: the ConfigMap (kubectl get cm istio-sidecar-injector
                                -n istio-system -o yaml) or its config key; its sidecar template must be the one
                                mesh-webhook renders
      --valuesFile FILE         istio-sidecar-injector's values: the ConfigMap or its values key (JSON)
      --meshConfigFile FILE     the istio ConfigMap (kubectl get cm istio -n istio-system -o yaml) or its mesh key
      --operatorFileName FILE   an IstioOperator (profile, hub, tag, revision, values, meshConfig, components.cni);
                                its values replace --valuesFile, its meshConfig replaces --meshConfigFile
      --injector-templates check|ignore
                                check (default): refuse an injection configuration whose sidecar template is not
                                the one mesh-webhook renders; ignore: do not compare (pods get mesh-webhook's
                                sidecar; for a cluster whose Istio upgrades itself)`;

const EXPLAIN_USAGE = `Usage: mesh-webhook explain -f FILE|- [flags]

For each Pod and workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, ...)
in the manifests: every rule of the injection decision in order with its outcome, the decision, whether the injector
would reject the pod (invalid annotations) and run the sidecar native or classic, what would change the outcome, and
the troubleshooting steps. No cluster is contacted: the namespace labels come from --namespace-labels, Namespace
objects in the input, or the configuration's namespaceLabels. (POST /explain asks the running webhook, with the
namespace labels of its cluster cache.)

Flags:
  -f, --filename FILE           manifests to explain, '-' for stdin (required; repeat for more files)
      --namespace NS            namespace of objects without metadata.namespace (default: default)
      --namespace-labels K=V,...
                                labels of the objects' namespace (empty: a namespace without labels)
  -o, --output text|json        (default text)
  -h, --help                    show this help

${CONFIG_FLAGS}`;

const OUTDATED_USAGE = `Usage: mesh-webhook outdated [flags]

Lists the running, ready pods with an injected sidecar (annotation sidecar.istio.io/status) whose injection differs
from what the current configuration injects into them: the istio-proxy image; its resources unless the pod sets them
with sidecar.istio.io/proxyCPU, proxyMemory, proxyCPULimit or proxyMemoryLimit; istio-init against istio-validation
(Istio CNI switched); the prometheus.io/scrape, path and port annotations (Prometheus merge switched); and the proxy
configuration (PROXY_CONFIG and the proxyMetadata variables). Grouped by workload (ReplicaSet -> Deployment, Job ->
CronJob), Kyma's own (namespace kyma-system, label kyma-project.io/module) first. Pending or not ready pods are
listed, not compared; pods with sidecar.istio.io/proxyImage are listed but never restarted.

With --restart, rolls out the Deployments, DaemonSets and StatefulSets of outdated pods by setting a pod template
annotation (kubectl.kubernetes.io/restartedAt, like kubectl rollout restart), and deletes the outdated pods of
ReplicaSets without an owner and of ReplicationControllers, at most --max-restarts workloads per run, Kyma's first.
It is a dry run unless --dry-run=false is given. Jobs, CronJobs, bare pods and other owners are listed, never touched.

With --diff, every workload with a running, ready pod is listed (also when up to date), and one of its pods (the
first by name) is compared field by field with what mesh-webhook injects into it, to see before switching from
another injector (istiod) what the first rollout changes: the injected containers (every field; env, ports and
volumeMounts by key; PROXY_CONFIG key by key), the container order, the injected volumes and image pull secrets, and
the labels and annotations the injector sets, each as FIELD: LIVE -> MESH-WEBHOOK. The API server's defaults are
applied to mesh-webhook's side first, so only real differences are listed.

Flags:
      --kubeconfig FILE         cluster to use (default: in a pod its service account, else $KUBECONFIG or
                                ~/.kube/config)
  -n, --namespace NS            namespace to check (default: the kubeconfig context's, else default)
  -A, --all-namespaces          check every namespace
  -o, --output text|json        (default text)
      --restart                 restart the workloads of outdated pods (a dry run unless --dry-run=false)
      --dry-run[=true|false]    with --restart: only print what would be done (default true)
      --max-restarts N          workloads restarted per run (default ${DEFAULT_MAX_RESTARTS}); run again for the rest
      --restart-annotation KEY  with --restart: the pod template annotation to set (default
                                kubectl.kubernetes.io/restartedAt; the Kyma Istio module's is
                                istio-operator.kyma-project.io/restartedAt)
      --fail-on-outdated        exit 3 when a pod is outdated (pods with their own proxyImage do not count)
      --diff                    per workload, every field of one pod's injection that mesh-webhook would
                                inject differently (live -> mesh-webhook); with -o json: workloads[].diff
  -h, --help                    show this help

Exit codes: 0 checked; 1 bad input or a restart failed; 2 bad command line; 3 outdated pods with
--fail-on-outdated; 4 no cluster to talk to (no usable kubeconfig, or the API server cannot be reached).

Give the configuration the webhook runs with (--config and the other flags below), so "current" means the same.

${CONFIG_FLAGS}`;

export const USAGE: Record<'main' | CommandName, string> = {
  explain: EXPLAIN_USAGE,
  outdated: OUTDATED_USAGE,
  main: `Usage: mesh-webhook <command> [flags]

Kubernetes admission webhook that injects Istio sidecars and validates workloads for the mesh.

Commands:
  inject    inject sidecars into manifests offline (like istioctl kube-inject)
  validate  check manifests for mesh mistakes offline (the rules of the /validate endpoint)
  explain   show why pods get a sidecar or not: every rule of the decision, in order
  outdated  list (and restart) pods whose sidecar differs from what the configuration injects now
  serve     run the admission webhook server

Flags:
  -h, --help      show help (also: mesh-webhook <command> --help)
      --version   print the version

Run 'mesh-webhook <command> --help' for the flags of a command.`,
  inject: `Usage: mesh-webhook inject -f FILE|- [flags]

Injects the Istio sidecar into Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers,
Jobs, CronJobs, DeploymentConfigs and v1 Lists; other documents are printed unchanged. Warnings go to stderr.

A drop-in for istioctl kube-inject: with --injectConfigFile, --valuesFile, --meshConfigFile or --operatorFileName
the files are read as istioctl reads them (the injection config's policy, selectors and injected annotations are
not applied; native sidecars only when ENABLE_NATIVE_SIDECARS=true, unless --native-sidecars says otherwise).

Flags:
  -f, --filename FILE           manifest file to inject, '-' for stdin (required; repeat for more files,
                                injected in order into one YAML stream)
  -o, --output FILE             write the result to FILE instead of stdout
  -h, --help                    show this help

${CONFIG_FLAGS}`,
  serve: `Usage: mesh-webhook serve [flags]

Runs the admission webhook over HTTPS (POST /inject, POST /validate, GET /healthz, GET /readyz, GET /metrics,
and POST /explain with --explain), and GET /metrics over plain HTTP on --metrics-port.

Flags:
      --port N                  listen port, 0 for any free port (default ${DEFAULT_PORT})
      --host H                  listen address (default ${DEFAULT_HOST}: this machine only; in a pod
                                use 0.0.0.0, as the manifests do)
      --cert FILE               serving certificate (PEM), together with --key; without both,
                                development certificates are created in .dev-certs
      --key FILE                private key (PEM) of --cert
      --client-ca FILE          CA bundle (PEM) of the API server's client certificate: /inject, /validate and
                                /explain then answer 401/403 without a certificate it signed (probes and
                                /metrics need none)
      --explain                 serve POST /explain (the decision trace of a posted object; it shows the
                                labels of any namespace from the cluster cache, so it is off by default)
      --max-connections N       connections held at most; beyond it a new connection closes the oldest one
                                without a request in progress (default ${DEFAULT_MAX_CONNECTIONS})
      --certificates MODE       self-managed (CA and certificate in a Secret, caBundle patched), files
                                (--cert/--key) or dev (default: files with --cert/--key, else
                                self-managed with a cluster, else dev)
      --kubeconfig FILE         cluster to use (default: the service account when in a pod, else none;
                                $KUBECONFIG is not read)
      --namespace NS            namespace of the Secret and Service (default: the pod's, else mesh-webhook)
      --service NAME            Service name, for the certificate's DNS names (default mesh-webhook)
      --secret NAME             Secret of the self-managed certificate (default mesh-webhook-tls)
      --webhook-config NAME     Mutating/ValidatingWebhookConfiguration whose caBundle is managed
                                (default mesh-webhook)
      --metrics-port N          plain-HTTP listener for GET /metrics, outside the webhook's TLS
                                (default ${DEFAULT_METRICS_PORT}; 0: none, /metrics stays on the HTTPS port)
      --metrics-host H          address of the metrics listener (default ${DEFAULT_HOST})
      --log-level LEVEL         ${LOG_LEVELS.join('|')}; SIGUSR2 toggles between it and debug
      --shutdown-delay DURATION after SIGTERM, keep serving (not ready) this long before closing the listener,
                                e.g. 5s, 500ms, 0 (default ${DEFAULT_SHUTDOWN_DELAY_MS / 1000}s)
      --overload-target-delay DURATION
                                event-loop delay above which a rising share of admissions is shed
                                (/inject: allowed false, code 429, retry; /validate: HTTP 429 with
                                Retry-After), e.g. 500ms, 1s (default ${DEFAULT_TARGET_DELAY_MS}ms)
      --overload-max-in-flight N
                                admissions in flight beyond which every new one is shed
                                (default ${DEFAULT_MAX_IN_FLIGHT})
      --no-overload-guard       never shed: turn the overload guard off
  -h, --help                    show this help

Configuration from the cluster (read at start, watched, and reloaded when it changes; needs a cluster, i.e.
--kubeconfig or a pod's service account; docs/configuration.md#from-the-cluster):
      --injector-configmap [NS/]NAME
                                istiod's istio-sidecar-injector ConfigMap: its keys config and values (namespace
                                istio-system when left out); not with --injectConfigFile, --valuesFile or
                                --operatorFileName
      --mesh-configmap [NS/]NAME
                                istiod's istio ConfigMap: its key mesh (namespace istio-system when left out); not
                                with --meshConfigFile or --operatorFileName
      --istio-cr-resource [NS/]NAME
                                kyma-module: the Kyma Istio custom resource (istios.operator.kyma-project.io,
                                namespace kyma-system when left out, usually default); not with --istio-cr
A missing object or key, or one the configuration refuses, stops serve at start; a bad change later keeps the
last good configuration (mesh_webhook_config_reloads_total{result="failure"}).

The --config, --values and --mesh files, Istio's files and the --cert/--key files are watched and reloaded when
they change.

${CONFIG_FLAGS}`,
  validate: `Usage: mesh-webhook validate -f FILE|- [flags]
       mesh-webhook validate --list [-o text|json]

Checks Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs, CronJobs, Services,
Namespaces, PeerAuthentications and the items of v1 Lists with the rules of the validating webhook (/validate).
Each object is checked in its own metadata.namespace; no cluster is contacted (labels of Namespace objects in the
input are used for the objects in those namespaces). Exit code 1 when any error is found, 0 otherwise (warnings
and info do not fail); 2 for a bad command line.

Flags:
  -f, --filename FILE           manifest file to check, '-' for stdin (required unless --list; repeatable)
  -o, --output text|json        text: one line per finding and a summary (default); json: an array of
                                {code, severity, object, path, message}
      --list                    print the rules (code, severity, title, fix) and exit
  -h, --help                    show this help

Findings can be suppressed per object with the annotation mesh-webhook.kyma-project.io/suppress (or
galley.istio.io/analyze-suppress): a comma-separated list of codes, or '*'.

${CONFIG_FLAGS}`,
};


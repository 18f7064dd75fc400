/**
 * Helm values keys Istio's sidecar injection template reads, or its chart's defaults set, that values_types.proto
 * does not declare (istio/istio 86c9f01fd735: manifests/charts/istio-control/istio-discovery/files/injection-template.yaml
 * and files/waypoint.yaml, values.yaml; Apache-2.0, see src/config/NOTICE). Istio renders them, so they are known keys here too; by message of
 * src/config/istioSchema.ts's values schema.
 */
export const ISTIO_CHART_ONLY_VALUES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  // `valueOrDefault .MeshConfig.TrustDomain .Values.global.trustDomain`
  GlobalConfig: { trustDomain: '*' },
  // `annotation .ObjectMeta "sidecar.istio.io/capNetBindService" .Values.global.proxy.capNetBindService`
  ProxyConfig: { capNetBindService: '*' },
  // values.yaml `global.proxy_init.forceApplyIptables: false`, read by the istio-init arguments
  ProxyInitConfig: { forceApplyIptables: '*' },
  // values.yaml and files/waypoint.yaml say `tolerations`; the proto declares `toleration`
  WaypointConfig: { tolerations: '*' },
};

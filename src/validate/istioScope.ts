/**
 * What istioctl analyze never looks at, so that an IST finding appears only where istioctl would report it:
 * - objects of the Kubernetes system namespaces, and those Namespaces themselves (pkg/config/analysis/local,
 *   IstiodAnalyzer's namespace filter over pkg/kube/inject IgnoredNamespaces) — for every analyzer;
 * - Istio's own control plane, by the object's own labels `istio` (any value) or `release: istio`
 *   (analyzers/util IsIstioControlPlane) — skipped by the Service port name analyzer (IST0118) and the application
 *   UID analyzer (IST0144), not by the annotation analyzers;
 * - Services of gateways Istio deploys itself, label `gateway.istio.io/managed` (service/portname.go) — skipped by the
 *   port name analyzer only.
 */
import { ISTIO_IGNORED_NAMESPACES } from '../inject/decision.js';

/** The namespaces istioctl analyze filters out before any analyzer runs. */
export function isIstioIgnoredNamespace(namespace: string): boolean {
  return ISTIO_IGNORED_NAMESPACES.includes(namespace);
}

/** analyzers/util IsIstioControlPlane: the object's own labels say it belongs to Istio. */
export function isIstioControlPlane(labels: Readonly<Record<string, string>>): boolean {
  return Object.hasOwn(labels, 'istio') || labels.release === 'istio';
}

/** `gateway.istio.io/managed` values of Services Istio's gateway controllers create (constants ManagedGateway*Label). */
const MANAGED_GATEWAY_CONTROLLERS = ['istio.io-gateway-controller', 'istio.io-mesh-controller', 'istio.io-eastwest-controller'];

/** A Service created by one of Istio's gateway controllers, not by a user. */
export function isIstioManagedGatewayService(labels: Readonly<Record<string, string>>): boolean {
  return MANAGED_GATEWAY_CONTROLLERS.includes(labels['gateway.istio.io/managed'] ?? '');
}

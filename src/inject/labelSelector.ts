import type { LabelSelector } from '../k8s/types.js';

/** Kubernetes label-selector semantics (metav1.LabelSelectorAsSelector). An empty selector matches nothing here, as in Istio's injector. */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  const matchLabels = Object.entries(selector.matchLabels ?? {});
  const expressions = selector.matchExpressions ?? [];
  if (matchLabels.length === 0 && expressions.length === 0) return false;
  for (const [key, value] of matchLabels) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of expressions) {
    const has = Object.hasOwn(labels, key);
    const value = labels[key];
    switch (operator) {
      case 'In':
        if (!has || !values.includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

export function describeSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    parts.push(e.values?.length ? `${e.key} ${e.operator} (${e.values.join(',')})` : `${e.operator === 'Exists' ? '' : '!'}${e.key}`);
  }
  return parts.join(',');
}

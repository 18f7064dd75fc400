/** How messages quote what a pod supplied (annotation values and keys, container, port and object names). */

/** Longest pod-supplied value quoted whole in a message; longer ones are cut (a hostile value may be megabytes). */
export const MAX_QUOTED_VALUE = 256;

/**
 * A pod-supplied text as messages quote it: whole when at most {@link MAX_QUOTED_VALUE} characters, else its first
 * 256 characters and its length. The one place messages of the injector, the validator and the explainer are capped.
 */
export function quoteValue(value: string): string {
  const text = String(value);
  if (text.length <= MAX_QUOTED_VALUE) return text;
  // Do not cut a surrogate pair in two.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(MAX_QUOTED_VALUE - 1)) ? MAX_QUOTED_VALUE - 1 : MAX_QUOTED_VALUE;
  return `${text.slice(0, end)}…(${text.length} characters)`;
}

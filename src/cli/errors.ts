/** An input or output file the operator named cannot be used (exit 1, message only). */
export class InputError extends Error {
  override name = 'InputError';
}

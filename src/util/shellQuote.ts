/**
 * Quoting for a POSIX shell (sh, bash, zsh, dash): the one implementation for every command mesh-webhook prints for
 * users to paste (`explain` suggestions, the dev-mode curl line of `serve`).
 */

/** Words a POSIX shell takes literally, unquoted: nothing it expands, splits, globs or treats as an operator. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * `word` as one shell word that the shell reads back as exactly `word`: bare when it only has safe characters
 * (`[A-Za-z0-9_@%+=:,./-]`), else in single quotes, with each embedded `'` written `'\''` (close the quotes, an escaped
 * quote, reopen). Inside single quotes nothing is special — `$`, backticks, `\`, `;`, newlines — so no input can run
 * a command. The empty string is `''`.
 */
export function shellQuote(word: string): string {
  return SAFE_WORD.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

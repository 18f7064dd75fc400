/** Why a file could not be read, in words an operator can act on ("does not exist", "is a directory", ...). */
export function fileReadProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'is not readable (permission denied)';
    case 'EISDIR':
      return 'is a directory, not a file';
    default:
      return `cannot be read (${(err as Error).message})`;
  }
}

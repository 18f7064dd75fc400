/**
 * A listener of serve() could not bind its address: which listener (the HTTPS webhook or the plain-HTTP metrics
 * listener), the host and port it asked for, and the system's reason as `code` (EADDRINUSE, EADDRNOTAVAIL, ENOTFOUND,
 * EACCES, ...). The command line turns it into a message naming its flags (src/cli/startupErrors.ts).
 */
export type ListenerName = 'webhook' | 'metrics';

export class ListenError extends Error {
  readonly code: string | undefined;

  constructor(
    readonly listener: ListenerName,
    readonly host: string,
    readonly port: number,
    cause: unknown,
  ) {
    super(`the ${listener} listener cannot listen on ${host}:${port}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ListenError';
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/**
 * A one-line progress report on stderr for long `validate`/`inject` runs: only when stderr is a terminal, only once
 * the run has taken `delayMs` (2 s), at most every `intervalMs` (250 ms), rewritten in place (`\r`) and cleared at
 * the end. The clock and the stream are parameters, so it is tested without timers.
 */
export interface ProgressOptions {
  /** The command, the line's first word: `validate`. */
  command: string;
  /** Bytes of all inputs together, when known (files; not stdin). */
  totalBytes?: number | undefined;
  /** Where the line goes; nothing is written unless `isTTY`. */
  out: { isTTY?: boolean | undefined; write(text: string): unknown };
  /** Milliseconds; performance.now by default. */
  now?: () => number;
  delayMs?: number;
  intervalMs?: number;
}

export interface Progress {
  /** How far the run is: bytes read and documents done so far. Cheap: call it for every document. */
  update(bytes: number, documents: number): void;
  /** Clears the line, when one was written. */
  done(): void;
}

const MB = 1e6;

export function createProgress({ command, totalBytes, out, now = () => performance.now(), delayMs = 2000, intervalMs = 250 }: ProgressOptions): Progress {
  if (out.isTTY !== true) return { update() {}, done() {} };
  const start = now();
  let nextAt = start + delayMs;
  let width = 0;
  return {
    update(bytes, documents) {
      const t = now();
      if (t < nextAt) return;
      nextAt = t + intervalMs;
      const line = progressLine(command, bytes, documents, totalBytes);
      out.write(`\r${line.padEnd(width)}`);
      width = line.length;
    },
    done() {
      if (width > 0) out.write(`\r${' '.repeat(width)}\r`);
      width = 0;
    },
  };
}

/** `validate: 8,123 documents, 12.0 of 50.0 MB (24 %)`; without a total, `validate: 8,123 documents, 12.0 MB`. */
export function progressLine(command: string, bytes: number, documents: number, totalBytes?: number): string {
  const done = `${command}: ${documents.toLocaleString('en-US')} documents, ${(bytes / MB).toFixed(1)}`;
  if (totalBytes === undefined || totalBytes <= 0) return `${done} MB`;
  return `${done} of ${(totalBytes / MB).toFixed(1)} MB (${Math.min(100, Math.floor((100 * bytes) / totalBytes))} %)`;
}

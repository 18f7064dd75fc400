/**
 * `inject` and `validate` on big manifest streams, in bounded memory. They read one document at a time, so their live
 * data stays around 20 MiB whatever the size; but every document is garbage a moment later, and under that steady
 * stream V8 grows its young generation to its largest (on a machine with plenty of memory, tens of MiB per semi-space,
 * kept committed): 227–300 MiB of RSS at 50 MB. With `--max-semi-space-size=4` it stays at 110–140 MiB for a few per
 * cent more time (bench/RESULTS.md, "The CLI at scale"). V8 takes the size only when the process starts, so a command
 * that will read more than {@link RELAUNCH_BYTES}, or a pipe on stdin (its size unknown), runs itself again once with
 * the flag. An operator's own `--max-semi-space-size` (in NODE_OPTIONS or on node's command line) is left alone.
 */
import { spawn } from 'node:child_process';
import { fstatSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import type { Invocation } from './args.js';

export const YOUNG_GENERATION_FLAG = '--max-semi-space-size=4';
/** Below this much input the default young generation stays small anyway (validate 1 MB: 112 MiB). */
export const RELAUNCH_BYTES = 8 * 1024 * 1024;
/** Set in the relaunched process, so it never relaunches again. */
const RELAUNCHED = 'MESH_WEBHOOK_YOUNG_GENERATION';

export interface ProcessView {
  execArgv: readonly string[];
  env: NodeJS.ProcessEnv;
  /** The size of the file `-f` names, or of stdin when it is a regular file (`< file`); undefined for a pipe or a terminal. */
  sizeOf(filename: string): number | undefined;
}

const thisProcess: ProcessView = {
  execArgv: process.execArgv,
  env: process.env,
  sizeOf(filename) {
    try {
      const stat = filename === '-' ? fstatSync(0) : statSync(filename);
      return stat.isFile() ? stat.size : undefined;
    } catch {
      return filename === '-' ? undefined : 0; // a missing file is named by the command itself
    }
  },
};

/** Whether `invocation` should run again with {@link YOUNG_GENERATION_FLAG}. */
export function wantsSmallYoungGeneration(invocation: Invocation, proc: ProcessView = thisProcess): boolean {
  const filenames =
    invocation.command === 'inject' ? invocation.args.filenames : invocation.command === 'validate' && !invocation.args.list ? invocation.args.filenames : undefined;
  if (filenames === undefined || proc.env[RELAUNCHED] !== undefined) return false;
  const asked = (text: string | undefined) => text !== undefined && text.includes('--max-semi-space-size');
  if (proc.execArgv.some((a) => asked(a)) || asked(proc.env.NODE_OPTIONS)) return false;
  let bytes = 0;
  for (const filename of filenames) {
    const size = proc.sizeOf(filename);
    if (size === undefined) return true;
    bytes += size;
  }
  return bytes > RELAUNCH_BYTES;
}

/**
 * Runs this command line again in a child Node with the flag, stdin/stdout/stderr shared, and resolves with its exit
 * code (128 + the signal's number when a signal ended it). SIGTERM and SIGHUP sent to this process are passed on; a
 * terminal's Ctrl-C reaches both. Resolves undefined when the child cannot be started: the caller runs the command
 * itself.
 */
export function relaunchWithSmallYoungGeneration(): Promise<number | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, YOUNG_GENERATION_FLAG, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, [RELAUNCHED]: '1' },
    });
    const pass = (signal: NodeJS.Signals) => () => void child.kill(signal);
    const forwarded: [NodeJS.Signals, () => void][] = [
      ['SIGTERM', pass('SIGTERM')],
      ['SIGHUP', pass('SIGHUP')],
      ['SIGINT', () => undefined], // the child has it from the terminal too, and says what it was doing
    ];
    for (const [signal, handler] of forwarded) process.on(signal, handler);
    const done = (code: number | undefined) => {
      for (const [signal, handler] of forwarded) process.removeListener(signal, handler);
      resolve(code);
    };
    child.once('error', () => done(undefined));
    child.once('exit', (code, signal) => done(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

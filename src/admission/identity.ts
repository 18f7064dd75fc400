/**
 * The identity of an AdmissionReview read from the start of its JSON text, without parsing the rest: for answers to
 * requests that are not parsed whole (shed by the overload guard, or too large to parse: src/server/body.ts).
 */
import { ADMISSION_API_VERSIONS } from './review.js';

/** What an answer needs of an AdmissionReview it has not parsed: its apiVersion and uid, and where known the namespace and operation. */
export interface ReviewIdentity {
  apiVersion: string;
  uid: string;
  namespace?: string;
  operation?: string;
}

/**
 * `apiVersion` and `request.uid` from the start of an AdmissionReview's JSON text without parsing all of it. The API
 * server writes `kind`, `apiVersion`, then `request` with `uid` first, so they sit in the first few hundred bytes;
 * the scan walks keys and skips values (strings, numbers, literals, nested objects and arrays) in any order.
 * `complete: false` means the text ended first (more body needed; `found` is what was read by then, when apiVersion and
 * uid were); `found: undefined` with `complete: true` means the text does not have them where expected (then parse the
 * whole body). Also read, when they come before `object`: `request.namespace` and `request.operation`.
 */
export function scanReviewIdentity(text: string): { complete: boolean; found?: ReviewIdentity } {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
  };
  /** A JSON string starting at i (a quote); its unescaped value, or undefined when the text ends first. */
  const str = (): string | undefined => {
    let out = '';
    let start = ++i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        out += text.slice(start, i++);
        return out;
      }
      if (c === 92) {
        if (i + 1 >= n) return undefined;
        out += text.slice(start, i);
        const e = text[i + 1];
        if (e === 'u') {
          if (i + 6 > n) return undefined;
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          out += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === 'b' ? '\b' : e === 'f' ? '\f' : e;
          i += 2;
        }
        start = i;
        continue;
      }
      i++;
    }
    return undefined;
  };
  /** Skips one value at i; false when the text ends first. */
  const skip = (): boolean => {
    ws();
    if (i >= n) return false;
    const c = text.charCodeAt(i);
    if (c === 34) return str() !== undefined;
    if (c === 123 || c === 91) {
      let depth = 0;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 34) {
          if (str() === undefined) return false;
          continue;
        }
        if (d === 123 || d === 91) depth++;
        else if (d === 125 || d === 93) {
          depth--;
          if (depth === 0) {
            i++;
            return true;
          }
        }
        i++;
      }
      return false;
    }
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d === 44 || d === 125 || d === 93 || d === 32 || d === 10 || d === 13 || d === 9) return true;
      i++;
    }
    return false;
  };
  /**
   * Walks the members of the object at i, calling `member` with each key, positioned at its value: `skip` (skip the
   * value), `next` (the callback read the value), or stop with `done`, `more` (text ended) or `bad`.
   */
  const members = (member: (key: string) => 'skip' | 'next' | 'done' | 'more' | 'bad'): 'done' | 'more' | 'bad' | 'end' => {
    ws();
    if (i >= n) return 'more';
    if (text.charCodeAt(i) !== 123) return 'bad';
    i++;
    for (;;) {
      ws();
      if (i >= n) return 'more';
      const c = text.charCodeAt(i);
      if (c === 125) {
        i++;
        return 'end';
      }
      if (c === 44) {
        i++;
        continue;
      }
      if (c !== 34) return 'bad';
      const key = str();
      if (key === undefined) return 'more';
      ws();
      if (i >= n) return 'more';
      if (text.charCodeAt(i) !== 58) return 'bad';
      i++;
      ws();
      const r = member(key);
      if (r === 'skip') {
        if (!skip()) return 'more';
      } else if (r !== 'next') return r;
    }
  };

  let apiVersion: string | undefined;
  let uid: string | undefined;
  let namespace: string | undefined;
  let operation: string | undefined;
  const result = members((key) => {
    if (key === 'apiVersion') {
      if (text.charCodeAt(i) !== 34) return 'bad';
      const v = str();
      if (v === undefined) return 'more';
      apiVersion = v;
      return uid !== undefined ? 'done' : 'next';
    }
    if (key === 'request') {
      // uid, then namespace and operation where they come before the object (the API server writes them first).
      const inner = members((k) => {
        if (k === 'object' || k === 'oldObject') return uid !== undefined ? 'done' : 'bad';
        if (k !== 'uid' && k !== 'namespace' && k !== 'operation') return 'skip';
        if (text.charCodeAt(i) !== 34) return k === 'uid' ? 'bad' : 'skip';
        const v = str();
        if (v === undefined) return 'more';
        if (k === 'uid') uid = v;
        else if (k === 'namespace') namespace = v;
        else operation = v;
        return 'next';
      });
      if (inner === 'more') return 'more';
      if (inner === 'bad' || uid === undefined) return 'bad';
      return apiVersion !== undefined ? 'done' : 'bad';
    }
    return 'skip';
  });
  const found = (): ReviewIdentity | undefined =>
    apiVersion !== undefined && uid !== undefined
      ? { apiVersion, uid, ...(namespace !== undefined ? { namespace } : {}), ...(operation !== undefined ? { operation } : {}) }
      : undefined;
  // The text ended first: what was found so far (uid known: enough to answer), or nothing.
  if (result === 'more') {
    const partial = found();
    return partial ? { complete: false, found: partial } : { complete: false };
  }
  const whole = found();
  return whole ? { complete: true, found: whole } : { complete: true };
}

/** The identity, when it is one an answer can be sent to: a supported apiVersion and a non-empty uid. */
export function answerableIdentity(found: ReviewIdentity | undefined): ReviewIdentity | undefined {
  return found && (ADMISSION_API_VERSIONS as readonly string[]).includes(found.apiVersion) && found.uid !== '' ? found : undefined;
}

/** How much of a body is scanned for the identity before the whole of it is parsed instead. */
const SCAN_PREFIX_BYTES = 16 * 1024;

/**
 * Reads just enough of a body stream for its {@link answerableIdentity}; the rest is left unread (Node discards it
 * after the answer, keeping the connection). Falls back to parsing the whole body when the identity is not at its
 * start; calls back with `undefined` when there is none to answer, and not at all when the stream fails.
 */
export function readReviewIdentity(body: NodeJS.ReadableStream, cb: (identity: ReviewIdentity | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let scanning = true;
  let finished = false;
  const finish = (identity: ReviewIdentity | undefined) => {
    if (finished) return;
    finished = true;
    body.removeListener('data', onData);
    body.removeListener('end', onEnd);
    body.removeListener('error', onError);
    cb(answerableIdentity(identity));
  };
  const onData = (chunk: Buffer | string) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(buf);
    size += buf.length;
    if (!scanning) return;
    const prefix = chunks.length === 1 ? buf : Buffer.concat(chunks, size);
    const { complete, found } = scanReviewIdentity(prefix.toString('utf8', 0, Math.min(size, SCAN_PREFIX_BYTES)));
    if (found) finish(found);
    else if (complete || size >= SCAN_PREFIX_BYTES) scanning = false; // not where expected: parse all of it at the end
  };
  const onEnd = () => {
    try {
      const review = JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as { apiVersion?: unknown; request?: { uid?: unknown } };
      const apiVersion = review.apiVersion;
      const uid = review.request?.uid;
      finish(typeof apiVersion === 'string' && typeof uid === 'string' ? { apiVersion, uid } : undefined);
    } catch {
      finish(undefined);
    }
  };
  const onError = () => {
    finished = true; // the connection is gone; nothing to answer
  };
  body.on('data', onData);
  body.on('end', onEnd);
  body.on('error', onError);
}

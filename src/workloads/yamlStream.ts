/**
 * A multi-document YAML stream read one document at a time, from chunks of text as they arrive, with exactly the
 * documents `parseAllDocuments` gives for the whole text (the same numbering, values, errors and ranges): it is the
 * `yaml` package's own incremental Parser (`parse(chunk, incomplete = true)`) and Composer, which keep the stream's
 * state (directives, which under YAML 1.1 carry over to the next documents; comments between documents) themselves.
 * Only the text of the documents not yet handed out is kept, so memory is bounded by the largest document, not the
 * stream. Pure: where the chunks come from (a file, stdin) is the CLI's business (src/cli/manifestInput.ts).
 */
import { Composer, Parser, type Document } from 'yaml';

/** One document of the stream. */
export interface StreamDocument {
  /** 1-based, as `parseAllDocuments` on the whole text numbers it. */
  number: number;
  doc: Document.Parsed;
  /**
   * The text from the end of the previous document (or the start of the stream) to the end of this one: its
   * comments, directives, markers and content, as they came.
   */
  text: string;
  /**
   * The document's first YAML error in one line, as `parseAllDocuments(text, { prettyErrors: true })` words it, with
   * the line and column in the whole stream: "Nested mappings are not allowed ... at line 7, column 6".
   */
  error?: string;
  /**
   * Not composed (YamlStreamOptions.compose was false for it): `doc` has no content and no errors; ignore it. (The
   * text of the document after it may then start earlier: the comments after this one's content go with it.)
   */
  skipped?: true;
}

export interface YamlStreamOptions {
  /**
   * Documents whose text (a superset: it may run into what follows) makes this false are not composed: they come
   * out `skipped`, in their place and with their number. For a pass that only
   * needs some documents (the Namespaces of a stream): composing is most of the cost of reading one.
   */
  compose?: (text: string) => boolean;
}

/** The documents of the YAML stream made of `chunks`, in order, each as soon as it is complete. */
export async function* yamlDocuments(chunks: AsyncIterable<string> | Iterable<string>, options: YamlStreamOptions = {}): AsyncGenerator<StreamDocument> {
  const composer = new Composer({ prettyErrors: true });
  // window holds the stream from windowStart on.
  let window = '';
  let windowStart = 0;
  let previousEnd = 0;
  let number = 0;

  // Where errors are, as yaml's LineCounter gives it: the line starts the Parser reports (it reports the newlines
  // of tokens, which is not every \n of an invalid stream), those before the window counted and forgotten.
  let starts: number[] = [];
  let head = 0;
  let startsBefore = 0;
  let lastStartBefore = 0;
  const at = (offset: number): string => {
    let line = startsBefore;
    let lineStart = lastStartBefore;
    for (let i = head; i < starts.length && (starts[i] as number) <= offset; i++) {
      line++;
      lineStart = starts[i] as number;
    }
    return `line ${line}, column ${offset - lineStart + 1}`;
  };

  const describe = (doc: Document.Parsed): string | undefined => {
    const error = doc.errors[0];
    if (!error) return undefined;
    const message = error.pos[0] === -1 ? error.message : `${error.message} at ${at(error.pos[0])}`;
    return (message.split('\n', 1)[0] ?? message).replace(/:$/, '');
  };

  /** Drops the text before `offset`. */
  const dropBefore = (offset: number): void => {
    const cut = offset - windowStart;
    if (cut <= 0) return;
    window = window.slice(cut);
    windowStart = offset;
    while (head < starts.length && (starts[head] as number) < offset) {
      startsBefore++;
      lastStartBefore = starts[head++] as number;
    }
    if (head > 4096) {
      starts = starts.slice(head);
      head = 0;
    }
  };

  // Whether each document token given to the Composer was composed empty; it yields their documents in order, one
  // token late (a document is complete when the next one starts).
  const skips: boolean[] = [];
  function* handOut(docs: Iterable<Document.Parsed>): Generator<StreamDocument> {
    for (const doc of docs) {
      const skipped = skips.shift() ?? false;
      number++;
      const end = doc.range[2];
      const text = window.slice(previousEnd - windowStart, end - windowStart);
      const error = describe(doc);
      // Errors of the next document may point at this one's end marker: keep from this document's start on.
      dropBefore(previousEnd);
      previousEnd = end;
      if (skipped) yield { number, doc, text, skipped: true };
      else yield error === undefined ? { number, doc, text } : { number, doc, text, error };
    }
  }

  // Once each: resumed on the next piece, the Parser may report a newline of an unfinished scalar again.
  let lastStart = -1;
  const parser = new Parser((offset) => {
    if (offset > lastStart) starts.push((lastStart = offset));
  });
  const compose = options.compose;
  /** Gives the Parser the stream up to `end` (more follows unless `last`), and hands out what it completes. */
  let fed = 0;
  function* feed(end: number, last: boolean): Generator<StreamDocument> {
    const piece = window.slice(fed - windowStart, end - windowStart);
    fed = end;
    for (const token of parser.parse(piece, !last)) {
      // The document is in the text from its start to where the Parser is: at the token after the document, which
      // made it complete (the next `---`, or the end).
      if (compose && token.type === 'document' && !compose(window.slice(token.offset - windowStart, parser.offset - windowStart))) {
        // Composed empty: the Composer still sees a document here (numbering, directives, markers stay right).
        const { value: _value, end: _end, ...empty } = token;
        skips.push(true);
        yield* handOut(composer.next(empty));
      } else {
        if (token.type === 'document') skips.push(false);
        yield* handOut(composer.next(token));
      }
    }
    if (last) yield* handOut(composer.end());
  }

  // One Parser reads the stream, given one piece at a time (`parse(piece, incomplete = true)`): each piece ends
  // just after a line that is a document start marker alone (`---`, maybe with spaces or a comment). There the lexer
  // has ended the document before and waits at the start of a line: its state is the one it has at that point of the
  // whole text. Cut elsewhere (inside a line; before a `---` line, while a top-level block scalar or a flow
  // collection is open), yaml's incremental lexer reads some streams differently, as the property test in
  // test/workloads/yamlStream.test.ts found. A stream with no such lines is parsed in one piece at its end.
  let lineStart = 0; // stream offset of the first line not looked at yet
  for await (const chunk of chunks) {
    if (chunk === '') continue;
    window += chunk;
    let cut = -1;
    for (let nl = window.indexOf('\n', lineStart - windowStart); nl !== -1; nl = window.indexOf('\n', nl + 1)) {
      const i = lineStart - windowStart;
      if (window.startsWith('---', i) && PLAIN_START_MARKER.test(window.slice(i, nl + 1))) cut = windowStart + nl + 1;
      lineStart = windowStart + nl + 1;
    }
    if (cut !== -1) yield* feed(cut, false);
  }
  yield* feed(windowStart + window.length, true);
}

/** A `---` line with nothing after the marker but spaces, tabs or a comment. */
const PLAIN_START_MARKER = /^---(?:[ \t]+(?:#.*)?)?\r?\n$/;

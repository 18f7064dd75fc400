/**
 * The streaming reader (src/workloads/yamlStream.ts) against `parseAllDocuments` on the whole text: the same
 * documents (number, value, errors as the CLI words them, range) and the text between them, however the stream is
 * cut into chunks.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { yamlDocuments } from '../../src/workloads/yamlStream.js';

interface Seen {
  number: number;
  value: unknown;
  error: string | undefined;
  range: number[];
  text: string;
}

function firstLine(message: string): string {
  return (message.split('\n', 1)[0] ?? message).replace(/:$/, '');
}

function toJson(doc: { toJS(o: { maxAliasCount: number }): unknown }): unknown {
  try {
    return JSON.parse(JSON.stringify(doc.toJS({ maxAliasCount: 100 }) ?? null)) as unknown;
  } catch (err) {
    return `toJS failed: ${(err as Error).message}`;
  }
}

function whole(text: string): Seen[] {
  let previousEnd = 0;
  return parseAllDocuments(text, { prettyErrors: true }).map((doc, i) => {
    const seen = {
      number: i + 1,
      value: doc.errors.length > 0 ? undefined : toJson(doc),
      error: doc.errors[0] ? firstLine(doc.errors[0].message) : undefined,
      range: [...doc.range],
      text: text.slice(previousEnd, doc.range[2]),
    };
    previousEnd = doc.range[2];
    return seen;
  });
}

async function streamed(chunks: string[]): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const { number, doc, text, error } of yamlDocuments(chunks)) {
    out.push({ number, value: doc.errors.length > 0 ? undefined : toJson(doc), error, range: [...doc.range], text });
  }
  return out;
}

function cut(text: string, at: number[]): string[] {
  const points = [...new Set(at.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(text.slice(from, p));
    from = p;
  }
  chunks.push(text.slice(from));
  return chunks;
}

const LINES = [
  '---', '--- ', '--- # marker comment', '--- |', '--- >-', '--- {a: 1}', '--- !!map', '--- &a', '---x: 1', '...', '... # end', '....',
  '%YAML 1.1', '%YAML 1.2', '%TAG !e! tag:example.com,2000:', '%FOO bar', '# comment', '', '   ', '\t',
  'a: 1', 'b: yes', 'on: off', 'kind: Namespace', 'apiVersion: v1', 'metadata:', '  name: ns', '  labels: {istio-injection: enabled}',
  'c: |', 'c: |+', 'c: >', '  line', '  # not a comment', '  ---', ' ...', '- item', '- - nested', 'd: "quoted', '  continued"', "s: 'single",
  "  more'", 'e: [1,', '  2]', 'f: &x v', 'g: *x', 'h: !e!foo bar', 'i: "esc \\u0041 \\', '  tail"', 'k: {', 'z: }', 'plain', 'x: y: z',
  'ünï: 𝄞 ✓', '  nested: 2', '<<: {m: 1}', '? complex', ': value', '!!str tagged', '&anchor', '*alias', '"unterminated', 'key: value # trailing',
];

const stream = fc.record({
  lines: fc.array(fc.constantFrom(...LINES), { maxLength: 40 }),
  crlf: fc.boolean(),
  trailingNewline: fc.boolean(),
  bom: fc.boolean(),
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
});

describe('yamlDocuments', () => {
  it('gives the documents parseAllDocuments gives for the whole text, however the text is cut (property)', async () => {
    await fc.assert(
      fc.asyncProperty(stream, async ({ lines, crlf, trailingNewline, bom, cuts }) => {
        const nl = crlf ? '\r\n' : '\n';
        const text = (bom ? '\uFEFF' : '') + lines.join(nl) + (trailingNewline && lines.length > 0 ? nl : '');
        expect(await streamed(cut(text, cuts))).toEqual(whole(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('with compose: the documents it is false for come out empty, the others as parseAllDocuments gives them (property)', async () => {
    await fc.assert(
      fc.asyncProperty(stream, async ({ lines, crlf, cuts }) => {
        const text = lines.join(crlf ? '\r\n' : '\n');
        const expected = whole(text);
        const out: Seen[] = [];
        const skipped = new Set<number>();
        for await (const { number, doc, text: docText, error, skipped: skip } of yamlDocuments(cut(text, cuts), { compose: (t) => t.includes('Namespace') })) {
          if (skip) skipped.add(number);
          out.push({ number, value: doc.errors.length > 0 ? undefined : toJson(doc), error, range: [...doc.range], text: docText });
        }
        expect(out.map((d) => d.number)).toEqual(expected.map((d) => d.number));
        out.forEach((d, i) => {
          const e = expected[i] as Seen;
          if (e.error === undefined && JSON.stringify(e.value).includes('Namespace')) expect(skipped.has(d.number)).toBe(false);
          if (!skipped.has(d.number)) expect({ ...d, text: '' }).toEqual({ ...e, text: '' });
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('cut into one-character chunks', async () => {
    const text = '%YAML 1.1\n---\na: yes\n--- # c\nb: on\n...\n# between\n%YAML 1.2\n---\nc: yes\n...\nd: |\n  x\n---\ne: [1,\n  2]\n---\nf: 1';
    expect(await streamed([...text])).toEqual(whole(text));
    const bad = `${text}\n---\n"bad\n---\ne: 1`;
    expect(await streamed([...bad])).toEqual(whole(bad));
  });

  it('on the repository fixtures, in small and large chunks', async () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.ya?ml$/.test(name)) files.push(path);
      }
    };
    walk(join(import.meta.dirname, '../fixtures'));
    walk(join(import.meta.dirname, '../../manifests'));
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const expected = whole(text);
      for (const size of [61, 65536]) {
        const chunks: string[] = [];
        for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
        expect(await streamed(chunks), `${file} in chunks of ${size}`).toEqual(expected);
      }
    }
  });

  it('an empty stream, or one of comments only, has no documents', async () => {
    expect(await streamed([])).toEqual([]);
    expect(await streamed(['# only\n', '# comments\n'])).toEqual([]);
  });
});

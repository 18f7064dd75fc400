/**
 * The documentation stays consistent: every relative link in README.md, docs/*.md, test/README.md and bench/*.md
 * points at a file or directory of the repository, and every `#anchor` (on the same page or on another .md page)
 * names a heading of that page, spelled as GitHub spells it (lowercase, punctuation removed, spaces as hyphens,
 * a repeated heading numbered -1, -2, ...).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const mdIn = (dir: string) => readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, dir, f));
const PAGES = [join(ROOT, 'README.md'), ...mdIn('docs'), join(ROOT, 'test', 'README.md'), ...mdIn('bench')];

/** Lines outside fenced code blocks, with inline code spans blanked (links inside code are not links). */
function prose(text: string): string[] {
  let fenced = false;
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      out.push('');
      continue;
    }
    out.push(fenced ? '' : line);
  }
  return out;
}

/** GitHub's heading anchor: the rendered text, lowercased, without punctuation, spaces as hyphens. */
function anchorOf(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link: its text
    .replace(/`/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-');
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (anchors) return anchors;
  anchors = new Set();
  const seen = new Map<string, number>();
  for (const line of prose(readFileSync(file, 'utf8'))) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = anchorOf(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  anchorCache.set(file, anchors);
  return anchors;
}

interface Link {
  page: string;
  line: number;
  target: string;
}

function linksOf(file: string): Link[] {
  const links: Link[] = [];
  prose(readFileSync(file, 'utf8')).forEach((raw, i) => {
    const line = raw.replace(/`[^`]*`/g, (code) => ' '.repeat(code.length));
    // [text](target) and ![alt](target); the text may itself contain a code span (blanked above).
    for (const m of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      links.push({ page: relative(ROOT, file), line: i + 1, target: m[1]! });
    }
  });
  return links;
}

/** What is wrong with a link, or undefined. */
function problem(link: Link): string | undefined {
  const { target } = link;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto:
  const hash = target.indexOf('#');
  const path = hash === -1 ? target : target.slice(0, hash);
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const file = path === '' ? join(ROOT, link.page) : resolve(dirname(join(ROOT, link.page)), decodeURIComponent(path));
  if (!file.startsWith(ROOT)) return `${target}: outside the repository`;
  if (!existsSync(file)) return `${target}: no such file`;
  if (anchor === undefined) return undefined;
  if (!file.endsWith('.md')) return `${target}: an anchor on a file that is not markdown`;
  return anchorsOf(file).has(anchor) ? undefined : `${target}: no heading with anchor #${anchor} in ${relative(ROOT, file)}`;
}

describe('documentation links', () => {
  it('the anchor rule is GitHub\'s', () => {
    expect(anchorOf('Why (not) injected: `explain`')).toBe('why-not-injected-explain');
    expect(anchorOf('Least privilege: RBAC and the caBundle-only policy')).toBe('least-privilege-rbac-and-the-cabundle-only-policy');
    expect(anchorOf('Overload: c=500 for 20 s')).toBe('overload-c500-for-20-s');
    expect(anchorOf('Re-injection')).toBe('re-injection');
  });

  it('finds a broken link and a broken anchor', () => {
    const page = 'docs/README.md';
    expect(problem({ page, line: 1, target: 'no-such-page.md' })).toMatch(/no such file/);
    expect(problem({ page, line: 1, target: 'operating.md#no-such-heading' })).toMatch(/no heading with anchor/);
    expect(problem({ page, line: 1, target: 'operating.md#overload' })).toBeUndefined();
  });

  it('the pages are the README, docs/, test/README.md and bench/', () => {
    expect(PAGES.map((p) => relative(ROOT, p))).toEqual(expect.arrayContaining(['README.md', 'docs/README.md', 'docs/architecture.md', 'docs/security.md', 'test/README.md', 'bench/RESULTS.md']));
  });

  it.each(PAGES.map((p) => relative(ROOT, p)))('%s: every relative link and anchor resolves', (page) => {
    const links = linksOf(join(ROOT, page));
    const broken = links.map((l) => [l, problem(l)] as const).filter(([, p]) => p !== undefined).map(([l, p]) => `${l.page}:${l.line}: ${p}`);
    expect(broken).toEqual([]);
  });

  it('docs/README.md and the README link every page of docs/', () => {
    const pages = mdIn('docs').map((p) => relative(join(ROOT, 'docs'), p)).filter((p) => p !== 'README.md');
    const index = linksOf(join(ROOT, 'docs', 'README.md')).map((l) => l.target.split('#')[0]);
    const readme = linksOf(join(ROOT, 'README.md')).map((l) => l.target.split('#')[0]);
    for (const page of pages) {
      expect(index, `docs/README.md links ${page}`).toContain(page);
      expect(readme, `README.md links docs/${page}`).toContain(`docs/${page}`);
    }
  });
});

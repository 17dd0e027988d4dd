/**
 * Just enough Markdown for the docs tests: headings and their GitHub anchors, relative links, and
 * pipe tables. Hand-written because the docs use a small, regular subset, and a full parser
 * (remark, markdown-it) would be a dependency for three functions.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** README.md, SECURITY.md, deploy/README.md and every docs/*.md, relative to the repository root. */
export function documentationFiles(): string[] {
  const docs = fs
    .readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', 'SECURITY.md', 'deploy/README.md', ...docs];
}

export function readDoc(relativePath: string): string {
  return fs.readFileSync(path.join(REPO_ROOT, relativePath), 'utf8');
}

/** The lines outside fenced code blocks, with their 1-based line numbers. */
export function proseLines(text: string): Array<{ line: string; lineNumber: number }> {
  const lines: Array<{ line: string; lineNumber: number }> = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, index) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker !== undefined && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      return;
    }
    if (fence === undefined) lines.push({ line, lineNumber: index + 1 });
  });
  return lines;
}

export interface Heading {
  level: number;
  text: string;
  lineNumber: number;
}

export function headings(text: string): Heading[] {
  const found: Heading[] = [];
  for (const { line, lineNumber } of proseLines(text)) {
    const match = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (match) found.push({ level: match[1]!.length, text: match[2]!, lineNumber });
  }
  return found;
}

/**
 * GitHub's anchor for a heading (github-slugger): the rendered text (no code marks, link targets or
 * emphasis), lower-cased, every character that is not a letter, digit, mark, `_`, `-` or space
 * dropped, and spaces made `-`.
 */
export function slug(headingText: string): string {
  const rendered = headingText
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`/g, '');
  return rendered
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a document's headings; a repeated slug gets `-1`, `-2`, … as GitHub numbers them. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const heading of headings(text)) {
    const base = slug(heading.text);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

export interface Link {
  target: string;
  lineNumber: number;
}

/** Inline links and images outside code: `[text](target)`, `![alt](target "title")`. */
export function links(text: string): Link[] {
  const found: Link[] = [];
  for (const { line, lineNumber } of proseLines(text)) {
    // Code spans are literal text, not links; link text may itself hold code, so keep its brackets.
    const withoutCode = line.replace(/`[^`]*`/g, 'code');
    for (const match of withoutCode.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      found.push({ target: match[1]!, lineNumber });
    }
  }
  return found;
}

export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

/** Cells of a pipe-table row; `\|` is a literal pipe inside a cell. */
export function tableCells(row: string): string[] {
  const trimmed = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  return trimmed.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

/**
 * The first pipe table after `headingText` (and before the next heading of the same or a higher
 * level), as one record per row keyed by the header cells.
 */
export function tableUnderHeading(text: string, headingText: string): Array<Record<string, string>> {
  const lines = proseLines(text);
  const start = lines.findIndex(({ line }) => new RegExp(`^#{1,6}\\s+${escapeRegExp(headingText)}\\s*$`).test(line));
  if (start < 0) throw new Error(`no heading "${headingText}"`);
  const level = /^#+/.exec(lines[start]!.line)![0].length;
  let index = start + 1;
  for (; index < lines.length; index++) {
    const { line } = lines[index]!;
    const heading = /^(#+)\s/.exec(line);
    if (heading && heading[1]!.length <= level) throw new Error(`no table under "${headingText}"`);
    if (line.trim().startsWith('|')) break;
  }
  if (index >= lines.length) throw new Error(`no table under "${headingText}"`);
  const header = tableCells(lines[index]!.line);
  const rows: Array<Record<string, string>> = [];
  for (index += 2; index < lines.length && lines[index]!.line.trim().startsWith('|'); index++) {
    const cells = tableCells(lines[index]!.line);
    rows.push(Object.fromEntries(header.map((name, column) => [name, cells[column] ?? ''])));
  }
  return rows;
}

/** The text from a heading to the next heading of the same or a higher level. */
export function sectionUnderHeading(text: string, headingText: string): string {
  const lines = proseLines(text);
  const start = lines.findIndex(({ line }) => new RegExp(`^#{1,6}\\s+${escapeRegExp(headingText)}\\s*$`).test(line));
  if (start < 0) throw new Error(`no heading "${headingText}"`);
  const level = /^#+/.exec(lines[start]!.line)![0].length;
  const body: string[] = [];
  for (const { line } of lines.slice(start + 1)) {
    const heading = /^(#+)\s/.exec(line);
    if (heading && heading[1]!.length <= level) break;
    body.push(line);
  }
  return body.join('\n');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The first fenced code block of `language` after `headingText`, before the next heading of its level. */
export function codeBlockUnderHeading(text: string, headingText: string, language: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => new RegExp(`^#{1,6}\\s+${escapeRegExp(headingText)}\\s*$`).test(line));
  if (start < 0) throw new Error(`no heading "${headingText}"`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  for (let index = start + 1; index < lines.length; index++) {
    const heading = /^(#+)\s/.exec(lines[index]!);
    if (heading && heading[1]!.length <= level) break;
    if (lines[index]!.trim() === '```' + language) {
      const end = lines.findIndex((line, at) => at > index && line.trim() === '```');
      return lines.slice(index + 1, end).join('\n');
    }
  }
  throw new Error(`no ${language} block under "${headingText}"`);
}

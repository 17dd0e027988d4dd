/**
 * Every relative link in README.md and docs/*.md resolves: the file or directory exists, and an
 * `#anchor` names a heading of the target as GitHub renders it. Moving a section breaks no link
 * silently.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, anchors, documentationFiles, isExternal, links, readDoc, slug } from './markdown';

describe('slug: GitHub heading anchors', () => {
  it.each([
    ['Quick start', 'quick-start'],
    ['Least privilege: constraints, ownership, quotas', 'least-privilege-constraints-ownership-quotas'],
    ['Where records go: `AUDIT_LOG`', 'where-records-go-audit_log'],
    ["Callers' token verification key (JWT)", 'callers-token-verification-key-jwt'],
    ['The `strettch-gateway` command', 'the-strettch-gateway-command'],
    ['1. The request target', '1-the-request-target'],
    ['Idempotency (`POST /computes`)', 'idempotency-post-computes'],
    ['The referee (`/_sandbox`, outside `/api/v1`)', 'the-referee-_sandbox-outside-apiv1'],
    ['Run it — then [read](docs/x.md) on', 'run-it--then-read-on'],
  ])('%s → #%s', (heading, expected) => {
    expect(slug(heading)).toBe(expected);
  });

  it('numbers repeated headings -1, -2 as GitHub does', () => {
    expect([...anchors('# Usage\n\n## Flags\n\n## Flags\n\n```\n## Flags\n```\n\n### Flags\n')]).toEqual([
      'usage',
      'flags',
      'flags-1',
      'flags-2',
    ]);
  });
});

describe('links', () => {
  it('finds links and images outside code, with their targets', () => {
    const text = [
      'See [a](docs/a.md#x) and ![pic](docs/p.png "title") but not `[b](nowhere.md)`.',
      '[`config/x.yaml`](config/x.yaml)',
      '```',
      '[c](nowhere.md)',
      '```',
    ].join('\n');
    expect(links(text).map((link) => link.target)).toEqual(['docs/a.md#x', 'docs/p.png', 'config/x.yaml']);
  });
});

/** Why a relative link does not resolve, or undefined when it does. */
function brokenReason(fromFile: string, target: string): string | undefined {
  const [rawPath = '', anchor] = target.split('#', 2) as [string, string | undefined];
  const targetPath =
    rawPath === '' ? fromFile : path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), rawPath));
  if (targetPath.startsWith('..')) return `${targetPath} is outside the repository`;
  const absolute = path.join(REPO_ROOT, targetPath);
  if (!fs.existsSync(absolute)) return `${targetPath} does not exist`;
  if (anchor === undefined) return undefined;
  if (!targetPath.endsWith('.md')) return `#${anchor} on ${targetPath}, which is not Markdown`;
  return anchors(readDoc(targetPath)).has(decodeURIComponent(anchor))
    ? undefined
    : `${targetPath} has no heading #${anchor}`;
}

describe.each(documentationFiles())('%s', (file) => {
  const relative = links(readDoc(file)).filter((link) => !isExternal(link.target));

  it('has relative links, and every one resolves', () => {
    const broken = relative
      .map((link) => ({ link, reason: brokenReason(file, link.target) }))
      .filter(({ reason }) => reason !== undefined)
      .map(({ link, reason }) => `${file}:${link.lineNumber}: (${link.target}) ${reason}`);
    expect(broken).toEqual([]);
  });
});

it('finds links to check: the README has dozens', () => {
  expect(links(readDoc('README.md')).filter((link) => !isExternal(link.target)).length).toBeGreaterThan(30);
});

it.each(['README.md', 'docs/configuration.md', 'docs/cli.md', 'docs/least-privilege.md', 'docs/operations.md'])(
  '%s opens with a contents list',
  (file) => {
    const opening = readDoc(file).split('\n').slice(0, 40);
    expect(opening.some((line) => /^(## )?Contents$/.test(line))).toBe(true);
  },
);

it('the README stays the front door: at most 400 lines', () => {
  expect(readDoc('README.md').split('\n').length).toBeLessThanOrEqual(400);
});

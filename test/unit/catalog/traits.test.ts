/**
 * The operation traits are the one place operation knowledge lives. These cases pin them to what
 * the rest of the gateway relied on before (ownership, bodies, retries, audit), and a scan of `src/`
 * holds the rule that nothing outside the catalog compares operation ids.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CATALOG, OPERATION_IDS, operationById, type OperationId } from '../../../src/catalog/catalog';

const traitsOf = (id: OperationId) => operationById(id).traits;
const idsWith = (pick: (id: OperationId) => boolean) => OPERATION_IDS.filter(pick);

describe('operation traits', () => {
  it('each write is audited, no read is', () => {
    for (const op of CATALOG) expect(op.traits.audited).toBe(op.class === 'write');
  });

  it('ownership: one creates, one lists, one deletes; the others on one compute act on it', () => {
    expect(idsWith((id) => traitsOf(id).ownership === 'creates')).toEqual(['computes.create']);
    expect(idsWith((id) => traitsOf(id).ownership === 'lists')).toEqual(['computes.list']);
    expect(idsWith((id) => traitsOf(id).ownership === 'deletes')).toEqual(['computes.delete']);
    expect(idsWith((id) => traitsOf(id).ownership === 'acts-on-one')).toEqual([
      'computes.get',
      'computes.start',
      'computes.stop',
      'computes.reboot',
      'computes.upsize',
    ]);
    // Everything addressed by a compute id is checked for its owner.
    for (const op of CATALOG)
      expect(op.pathTemplate.startsWith('/computes/{id}')).toBe(
        ['acts-on-one', 'deletes'].includes(op.traits.ownership),
      );
  });

  it('bodies: create and upsize carry the constrained bodies', () => {
    expect(idsWith((id) => traitsOf(id).body === 'create')).toEqual(['computes.create']);
    expect(idsWith((id) => traitsOf(id).body === 'upsize')).toEqual(['computes.upsize']);
    for (const op of CATALOG) if (op.traits.body !== 'none') expect(op.hasRequestBody).toBe(true);
  });

  it('retries: every read, a keyed create, never another write', () => {
    for (const op of CATALOG) if (op.class === 'read') expect(op.traits.retry).toBe('read');
    expect(idsWith((id) => traitsOf(id).retry === 'keyed-create')).toEqual(['computes.create']);
    // A keyed create is only safe to repeat because the document makes the key part of it.
    expect(operationById('computes.create').headerParameters).toContainEqual({
      name: 'Idempotency-Key',
      required: true,
    });
  });

  it('route is the document method and path', () => {
    for (const op of CATALOG) expect(op.route).toBe(`${op.method} ${op.pathTemplate}`);
  });
});

/** Where operation ids may be spelled out: the catalog itself and the default scopes' groups. */
const ALLOWED = [path.join('src', 'catalog') + path.sep, path.join('src', 'gateway', 'policy', 'default-scopes.ts')];
/** The benches are leaving `src/` (issue #10 item 3); they are not product code. */
const SKIPPED = [path.join('src', 'bench') + path.sep];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return full.endsWith('.ts') ? [full] : [];
  });
}

describe('no operation id outside the catalog', () => {
  it('src/ compares no operation-id string literal: it reads the traits', () => {
    const root = path.resolve(__dirname, '../../..');
    const literal = new RegExp(`(['"\`])(${OPERATION_IDS.map((id) => id.replace('.', '\\.')).join('|')})\\1`);
    const found: string[] = [];
    for (const file of sourceFiles(path.join(root, 'src'))) {
      const relative = path.relative(root, file);
      if ([...ALLOWED, ...SKIPPED].some((prefix) => relative === prefix || relative.startsWith(prefix))) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          // Comments may name an operation (`computes.create`); code may not compare one.
          const code = line.replace(/^\s*(\/\*\*|\*|\/\/).*$/, '').replace(/\s\/\/.*$/, '');
          const match = literal.exec(code);
          if (match) found.push(`${relative}:${i + 1}: ${match[0]}`);
        });
    }
    expect(found).toEqual([]);
  });
});

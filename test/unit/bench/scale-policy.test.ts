import { validatePolicyText } from '../../../src/gateway/policy/parse-policy';
import { auditKeys, keyPattern, parseInfoFields } from '../../../bench/scale/redis-probes';
import { activeAccounts, planScale, sandboxKeyList, scalePolicyYaml } from '../../../bench/scale/policy';
import { parseKeyList } from '../../../src/sandbox/keys';

describe('bench:scale policy', () => {
  it('spreads callers round-robin over the accounts, each account with its own key variable', () => {
    const plan = planScale(5, 2);
    expect(plan.accounts).toEqual([
      { id: 'acct-1', keyEnv: 'SCALE_BENCH_KEY_1' },
      { id: 'acct-2', keyEnv: 'SCALE_BENCH_KEY_2' },
    ]);
    expect(plan.callers.map((c) => `${c.id}@${c.account}`)).toEqual([
      'caller-1@acct-1',
      'caller-2@acct-2',
      'caller-3@acct-1',
      'caller-4@acct-2',
      'caller-5@acct-1',
    ]);
    expect(activeAccounts(plan)).toBe(2);
    // Fewer callers than accounts: the rest stay idle.
    expect(activeAccounts(planScale(10, 100))).toBe(10);
  });

  it("writes a policy the gateway's own validation accepts, 10,000 callers over 100 accounts", () => {
    const yaml = scalePolicyYaml({
      upstreamBaseUrl: 'http://127.0.0.1:1/api/v1',
      readPerSecond: 1000,
      writePerSecond: 10,
      maxWaitMs: 2000,
      plan: planScale(10_000, 100),
    });
    const result = validatePolicyText(yaml);
    if (!result.ok) throw new Error(JSON.stringify(result.errors.slice(0, 3)));
    expect(Object.keys(result.document.callers ?? {})).toHaveLength(10_000);
    expect(Object.keys(result.document.accounts)).toHaveLength(100);
    expect(result.document.callers?.['caller-101']).toMatchObject({ account: 'acct-1', scopes: ['catalog:read'] });
    // Secrets by reference only.
    expect(yaml).toContain('apiKey: { env: SCALE_BENCH_KEY_100 }');
    expect(yaml).not.toMatch(/secret: "|apiKey: "/);
  });

  it('gives the sandbox one owner key per account, in its own list format', () => {
    const parsed = parseKeyList(sandboxKeyList(['a'.repeat(32), 'b'.repeat(32)]));
    expect(parsed).toEqual({
      ok: true,
      keys: [
        { key: 'a'.repeat(32), team: 'team-scale', role: 'owner' },
        { key: 'b'.repeat(32), team: 'team-scale', role: 'owner' },
      ],
    });
  });
});

describe('bench:scale Redis probes', () => {
  it('reads INFO fields', () => {
    expect(parseInfoFields('# Memory\r\nused_memory:914448\r\nused_memory_dataset:38272\r\n')).toEqual({
      used_memory: '914448',
      used_memory_dataset: '38272',
    });
  });

  it('audits keys: patterns, sizes, and the ones that would never expire, by name', () => {
    expect(keyPattern('sg:{acct:acct-12:read}:s')).toBe('sg:{acct:acct-*:read}:s');
    const audit = auditKeys([
      { key: 'sg:{acct:acct-1:read}:s', ttlMs: 60_100, bytes: 1000 },
      { key: 'sg:{acct:acct-1:read}:cal', ttlMs: 60_100, bytes: 500 },
      { key: 'sg:{acct:acct-2:read}:s', ttlMs: 59_000, bytes: 900 },
      { key: 'sg-pl-src:127.0.0.1', ttlMs: 900, bytes: 80 },
      { key: 'leftover', ttlMs: -1, bytes: 60 },
      { key: 'gone-meanwhile', ttlMs: -2, bytes: 0 },
    ]);
    expect(audit).toEqual({
      total: 5,
      scheduleKeys: 3,
      byPattern: {
        'sg:{acct:acct-*:read}:s': 2,
        'sg:{acct:acct-*:read}:cal': 1,
        'sg-pl-src:*.*.*.*': 1,
        leftover: 1,
      },
      bytes: 2540,
      scheduleBytes: 2400,
      withoutExpiry: ['leftover'],
      withoutExpiryCount: 1,
      maxTtlMs: 60_100,
    });
  });
});

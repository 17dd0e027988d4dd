import { describeRedisTopology, parseRedisAddresses, RedisTlsFileError } from '../../../src/redis';
import { tlsOptionsFrom } from '../../../src/redis/tls';

describe('parseRedisAddresses', () => {
  it.each([
    ['r:6379', [{ host: 'r', port: 6379 }]],
    [
      ' a.b-c_d:1 , 10.0.0.2:65535',
      [
        { host: 'a.b-c_d', port: 1 },
        { host: '10.0.0.2', port: 65535 },
      ],
    ],
    ['[::1]:26379', [{ host: '::1', port: 26379 }]],
  ])('%j', (text, addresses) => expect(parseRedisAddresses(text)).toEqual({ ok: true, addresses }));

  it.each([['r'], ['r:'], [':6379'], ['r:65536'], ['r:0'], ['r:6379,'], ['r:63a'], ['redis://r:6379'], ['::1:6379']])(
    'refuses %j',
    (text) => expect(parseRedisAddresses(text)).toMatchObject({ ok: false }),
  );
});

describe('describeRedisTopology never shows a password', () => {
  it.each([
    [{ kind: 'single' as const, url: 'rediss://app:pw-1@r:6380/0' }, 'single node rediss://app:***@r:6380/0'],
    [
      {
        kind: 'sentinel' as const,
        sentinels: [{ host: 's', port: 26379 }],
        masterName: 'm',
        sentinelPassword: 'pw-2',
        password: 'pw-3',
      },
      'sentinel master "m" via s:26379 as default:***',
    ],
    [
      { kind: 'cluster' as const, nodes: [{ host: '::1', port: 7000 }], username: 'app', tls: {} },
      'cluster seeds [::1]:7000 as app over TLS',
    ],
  ])('%j', (topology, text) => {
    expect(describeRedisTopology(topology)).toBe(text);
    expect(describeRedisTopology(topology)).not.toMatch(/pw-/);
  });
});

describe('tlsOptionsFrom', () => {
  it('reads the configured PEM files only', () => {
    const read: string[] = [];
    const options = tlsOptionsFrom({ caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' }, (file) => {
      read.push(file);
      return Buffer.from(`pem of ${file}`);
    });
    expect(read).toEqual(['/ca.pem', '/c.pem', '/k.pem']);
    expect(String(options.ca)).toBe('pem of /ca.pem');
    expect(tlsOptionsFrom({}, () => Buffer.alloc(0))).toEqual({});
  });

  it('names the setting of a file it cannot read', () => {
    const error = (() => {
      try {
        tlsOptionsFrom({ keyFile: '/nope.key' }, () => {
          throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
        });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RedisTlsFileError);
    expect((error as Error).message).toBe('REDIS_TLS_KEY_FILE: cannot read /nope.key (ENOENT)');
  });
});

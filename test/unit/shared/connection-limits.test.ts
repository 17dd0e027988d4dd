import { clientKey, createConnectionCounter } from '../../../src/shared/connection-limits';
import { parserRefusalReason } from '../../../src/shared/connection-refusals';

describe('clientKey', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:10.1.2.3', '10.1.2.3'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    [undefined, 'unknown'],
    ['', 'unknown'],
  ])('%s → %s', (address, key) => expect(clientKey(address)).toBe(key));
});

describe('createConnectionCounter', () => {
  it('refuses past the per-client cap, while other clients are still admitted', () => {
    const counter = createConnectionCounter({ maxConnections: 10, maxConnectionsPerClient: 2 });
    expect(['10.0.0.1', '::ffff:10.0.0.1', '10.0.0.1'].map((a) => counter.admit(a))).toEqual([
      'admitted',
      'admitted',
      'client-connection-limit',
    ]);
    expect(counter.admit('10.0.0.2')).toBe('admitted');
    expect(counter.open()).toBe(3);
  });

  it('refuses past the global cap, whoever asks', () => {
    const counter = createConnectionCounter({ maxConnections: 2, maxConnectionsPerClient: 5 });
    expect(['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((a) => counter.admit(a))).toEqual([
      'admitted',
      'admitted',
      'connection-limit',
    ]);
  });

  it('admits again once a connection closes, and forgets clients with none open', () => {
    const counter = createConnectionCounter({ maxConnections: 2, maxConnectionsPerClient: 1 });
    expect(counter.admit('10.0.0.1')).toBe('admitted');
    expect(counter.admit('10.0.0.1')).toBe('client-connection-limit');
    counter.release('10.0.0.1');
    expect(counter.open()).toBe(0);
    expect(counter.admit('10.0.0.1')).toBe('admitted');
    expect(counter.admit('10.0.0.2')).toBe('admitted');
    expect(counter.admit('10.0.0.3')).toBe('connection-limit');
  });

  it('counts every IPv6 address of one /64 as one client', () => {
    const counter = createConnectionCounter({ maxConnections: 10, maxConnectionsPerClient: 1 });
    expect(counter.admit('2001:db8:1:2::a')).toBe('admitted');
    expect(counter.admit('2001:db8:1:2::b')).toBe('client-connection-limit');
    expect(counter.admit('2001:db8:1:3::a')).toBe('admitted');
  });
});

describe('parserRefusalReason', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', false, 'headers-too-large'],
    ['HPE_INVALID_HEADER_TOKEN', false, 'invalid-http'],
    ['HPE_UNEXPECTED_CONTENT_LENGTH', false, 'invalid-http'],
    ['ERR_HTTP_REQUEST_TIMEOUT', false, 'header-timeout'],
    ['ERR_HTTP_REQUEST_TIMEOUT', true, 'body-timeout'],
    ['ECONNRESET', false, 'aborted'],
    ['ERR_SSL_UNSUPPORTED_PROTOCOL', false, 'tls-handshake'],
    ['ERR_SSL_HTTP_REQUEST', false, 'tls-handshake'],
    ['ERR_TLS_HANDSHAKE_TIMEOUT', false, 'tls-handshake'],
    [undefined, false, 'invalid-http'],
  ] as const)('%s (request in progress: %s) → %s', (code, inProgress, reason) =>
    expect(parserRefusalReason(code, inProgress)).toBe(reason),
  );
});

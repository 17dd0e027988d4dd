import { certificateSubjectKey, subjectKey, uriSubjectAltNames } from '../../../src/gateway/auth/certificate-identity';

describe('subjectKey', () => {
  it.each([
    ['CN=billing,O=shop', 'O=shop\nCN=billing', true],
    ['O=shop,CN=billing', 'CN=billing\nO=shop', true],
    ['cn=billing,o=shop', 'O=shop\nCN=billing', true],
    ['CN=billing', 'O=shop\nCN=billing', false], // an extra attribute in the certificate
    ['CN=billing,O=shop', 'CN=billing', false], // one missing
    ['CN=billing,O=shop', 'O=Shop\nCN=billing', false], // values are case-sensitive
    // A value holding ",O=shop" is one attribute, never two.
    ['CN=billing,O=shop', 'CN=billing,O=shop', false],
    ['CN=billing,O=shop', 'CN="billing\\nO=shop"', false],
  ])('policy %j against certificate %j: %s', (policy, certificate, equal) => {
    expect(subjectKey(policy) === certificateSubjectKey(certificate)).toBe(equal);
  });
});

describe('uriSubjectAltNames', () => {
  it.each([
    [undefined, []],
    ['DNS:billing.internal', []],
    ['URI:spiffe://cluster.local/ns/shop/sa/billing', ['spiffe://cluster.local/ns/shop/sa/billing']],
    ['DNS:a, URI:spiffe://x/a, IP Address:127.0.0.1, URI:spiffe://x/b', ['spiffe://x/a', 'spiffe://x/b']],
    // Node quotes a value holding ", " (CVE-2021-44532): a DNS name cannot smuggle in a URI entry.
    ['DNS:"a, URI:spiffe://x/admin", URI:spiffe://x/b', ['spiffe://x/b']],
    ['URI:"spiffe://x/a, b", DNS:c', ['spiffe://x/a, b']],
    ['DNS:"say \\"hi\\", URI:spiffe://x/admin"', []],
  ])('%j → %j', (subjectAltName, uris) => {
    expect(uriSubjectAltNames(subjectAltName)).toEqual(uris);
  });
});

test('a quoted entry Node would not write stops the reading instead of throwing', () => {
  expect(uriSubjectAltNames('URI:spiffe://x/a, DNS:"unterminated')).toEqual(['spiffe://x/a']);
  expect(uriSubjectAltNames('URI:"\\x", URI:spiffe://x/b')).toEqual([]);
});

import { createTokenVerifier, mintToken, type JwtAlgorithm } from '../../../src/gateway/auth';
import { AUDIENCE, ec, hmacSecret, ISSUER, KEYS, NOW_MS, NOW_SEC, rsa } from './token-kit';

const verifier = createTokenVerifier({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: KEYS,
  maxTokenLifetimeSec: 3600,
  clockToleranceSec: 30,
  now: () => NOW_MS,
});
const decodeHeader = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;

describe('mintToken', () => {
  it.each<[JwtAlgorithm, string, Parameters<typeof mintToken>[0]['signingKey']]>([
    ['RS256', 'k-rs', rsa.privateKey],
    ['RS256', 'k-rs', rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()],
    ['ES256', 'k-es', ec.privateKey],
    ['ES256', 'k-es', ec.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()],
    ['HS256', 'k-hs', hmacSecret],
    ['HS256', 'k-hs', hmacSecret.export().toString()],
  ])('mints a %s token (kid %s) the verifier accepts', async (alg, kid, signingKey) => {
    const token = mintToken({
      sub: 'autoscaler',
      scope: ['computes:read', 'computes:power'],
      lifetimeSec: 600,
      signingKey,
      alg,
      kid,
      issuer: ISSUER,
      audience: AUDIENCE,
      now: () => NOW_MS,
    });
    expect(decodeHeader(token)).toEqual({ alg, typ: 'JWT', kid });
    expect(await verifier.verify(token)).toEqual({
      ok: true,
      kid,
      claims: {
        sub: 'autoscaler',
        iss: ISSUER,
        aud: AUDIENCE,
        iat: NOW_SEC,
        exp: NOW_SEC + 600,
        scope: ['computes:read', 'computes:power'],
        payload: {
          sub: 'autoscaler',
          iss: ISSUER,
          aud: AUDIENCE,
          iat: NOW_SEC,
          exp: NOW_SEC + 600,
          scope: 'computes:read computes:power',
        },
      },
    });
  });

  it('omits scope when none is given (the caller keeps its whole grant)', async () => {
    const token = mintToken({
      sub: 'billing',
      lifetimeSec: 60,
      signingKey: ec.privateKey,
      alg: 'ES256',
      kid: 'k-es',
      issuer: ISSUER,
      audience: AUDIENCE,
      now: () => NOW_MS,
    });
    const result = await verifier.verify(token);
    expect(result.ok && result.claims.scope).toBeUndefined();
  });

  it('fails with a plain Error, not a library error type', () => {
    let thrown: unknown;
    try {
      mintToken({
        sub: 'x',
        lifetimeSec: 60,
        signingKey: 'not a pem',
        alg: 'RS256',
        issuer: ISSUER,
        audience: AUDIENCE,
        now: () => NOW_MS,
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).constructor).toBe(Error);
    let wrongKey: unknown;
    try {
      mintToken({
        sub: 'x',
        lifetimeSec: 60,
        signingKey: ec.privateKey,
        alg: 'RS256',
        issuer: ISSUER,
        audience: AUDIENCE,
        now: () => NOW_MS,
      });
    } catch (error) {
      wrongKey = error;
    }
    expect((wrongKey as Error).constructor).toBe(Error);
    expect((wrongKey as Error).message).toMatch(/^mintToken: cannot sign with RS256/);
  });
});

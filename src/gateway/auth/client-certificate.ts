/**
 * The client certificate of a request's connection, judged once: none, verified (with the names a
 * caller may be known by), or refused with a reason. The listener asks for a certificate without
 * failing the handshake (`rejectUnauthorized: false`), so callers that use a JWT alone still connect;
 * a certificate that did not verify is never trusted, and the request path refuses it here.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { certificateSubjectKey, uriSubjectAltNames } from './certificate-identity';

export const CERTIFICATE_FAILURES = [
  'certificate-expired',
  'certificate-not-yet-valid',
  'certificate-untrusted',
] as const;
export type CertificateFailure = (typeof CERTIFICATE_FAILURES)[number];

export interface VerifiedCertificate {
  kind: 'verified';
  /** Its URI SANs (one, for a SPIFFE X.509-SVID). */
  uris: readonly string[];
  /** `subjectKey` of its subject. */
  subjectKey: string;
}

export type ClientCertificate =
  { kind: 'none' } | VerifiedCertificate | { kind: 'refused'; reason: CertificateFailure };

const NONE: ClientCertificate = Object.freeze({ kind: 'none' });

/**
 * A connection's certificate is verified once, at the handshake, and cannot change afterwards: parse
 * it once per connection, not on every request of a keep-alive connection.
 */
const judgedByConnection = new WeakMap<TLSSocket, ClientCertificate>();

export function clientCertificateOf(socket: Socket): ClientCertificate {
  if (!(socket instanceof TLSSocket)) return NONE;
  let judged = judgedByConnection.get(socket);
  if (judged === undefined) {
    judged = judgeCertificate(socket);
    judgedByConnection.set(socket, judged);
  }
  return judged;
}

function judgeCertificate(socket: TLSSocket): ClientCertificate {
  const certificate = socket.getPeerX509Certificate();
  if (!certificate) return NONE;
  if (!socket.authorized) return { kind: 'refused', reason: certificateFailure(socket.authorizationError) };
  return Object.freeze({
    kind: 'verified',
    uris: Object.freeze(uriSubjectAltNames(certificate.subjectAltName)),
    subjectKey: certificateSubjectKey(certificate.subject),
  });
}

/** OpenSSL's verify error codes, as Node reports them, to the few reasons a log and a metric need. */
function certificateFailure(error: Error | string | null | undefined): CertificateFailure {
  const code = typeof error === 'string' ? error : ((error as NodeJS.ErrnoException | null)?.code ?? error?.message);
  if (code === 'CERT_HAS_EXPIRED') return 'certificate-expired';
  if (code === 'CERT_NOT_YET_VALID') return 'certificate-not-yet-valid';
  return 'certificate-untrusted';
}

/**
 * What the public listener's TLS is built from: the policy's checked files as a secure context.
 * Built (and so proven by OpenSSL) before a start or a reload puts it in force: a reload whose files
 * OpenSSL refuses is refused whole, and the running context stays.
 */
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { TlsListenOptions } from '../shared/http-server';
import type { ListenTlsPolicy } from './policy/types';

export function listenerTls(tls: ListenTlsPolicy): TlsListenOptions {
  return { context: secureContextOptions(tls), requestClientCertificate: tls.clientCaFile !== undefined };
}

/** Throws when the policy was resolved without its files or OpenSSL refuses them (its message has no key bytes). */
export function secureContextOptions(tls: ListenTlsPolicy): SecureContextOptions {
  const { material } = tls;
  if (!material) throw new Error('listen.tls: the policy was resolved without its certificate files');
  const context: SecureContextOptions = {
    cert: material.certificatePem,
    key: material.keyPem,
    minVersion: tls.minVersion,
    // Only the configured bundle: Node's default (the public web CAs) must never vouch for a caller.
    ...(material.clientCaPem !== undefined ? { ca: material.clientCaPem } : {}),
  };
  createSecureContext(context);
  return context;
}

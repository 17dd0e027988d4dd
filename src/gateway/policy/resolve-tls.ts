/**
 * The listener's TLS files, read and checked like the rest of the policy: a bad or mismatched file
 * is a problem with its path (at start, in `check-config`, and on reload, where it keeps the running
 * certificates), never a listener that fails at its first handshake.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { DocPath, PathedProblem } from './problems';
import type { PolicyDocument } from './schema';
import { readPolicyFile, resolveAgainst } from './secrets';
import type { ListenTlsPolicy, PolicyIo, TlsMaterial } from './types';

type ListenTlsDocument = NonNullable<PolicyDocument['listen']['tls']>;

export type ListenTlsResult = { ok: true; tls: ListenTlsPolicy } | { ok: false; problems: PathedProblem[] };

export interface ListenTlsOptions {
  /** False for a policy resolved without its secrets: paths only, nothing read. */
  readFiles: boolean;
  nowMs: number;
}

const AT: DocPath = ['listen', 'tls'];
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

export function resolveListenTls(
  document: ListenTlsDocument,
  io: PolicyIo,
  baseDir: string,
  options: ListenTlsOptions,
): ListenTlsResult {
  const paths = {
    certFile: resolveAgainst(baseDir, document.certFile),
    keyFile: resolveAgainst(baseDir, document.keyFile),
    ...(document.clientCa ? { clientCaFile: resolveAgainst(baseDir, document.clientCa.caFile) } : {}),
    minVersion: document.minVersion,
  };
  if (!options.readFiles) return { ok: true, tls: paths };
  const problems: PathedProblem[] = [];
  const problem = (at: DocPath, message: string) => void problems.push({ at: [...AT, ...at], message });

  const certificate = readPem(document.certFile, ['certFile'], io, baseDir, problem);
  const leaf = certificate === undefined ? undefined : serverCertificate(certificate, options.nowMs, problem);
  const keyPem = readPem(document.keyFile, ['keyFile'], io, baseDir, problem);
  const key = keyPem === undefined ? undefined : privateKey(keyPem, problem);
  if (leaf && key && !leaf.checkPrivateKey(key))
    problem(
      ['keyFile'],
      `does not match the certificate in ${paths.certFile} (a certificate and key of different pairs)`,
    );
  const caAt = ['clientCa', 'caFile'];
  const clientCaPem = document.clientCa ? readPem(document.clientCa.caFile, caAt, io, baseDir, problem) : undefined;
  if (clientCaPem !== undefined) checkTrustBundle(clientCaPem, options.nowMs, (message) => problem(caAt, message));

  if (problems.length > 0 || !certificate || !leaf || !keyPem) return { ok: false, problems };
  const material = {
    certificatePem: certificate,
    ...(clientCaPem !== undefined ? { clientCaPem } : {}),
    certificateNotAfterMs: Date.parse(leaf.validTo),
  } as TlsMaterial;
  Object.defineProperty(material, 'keyPem', { value: keyPem, enumerable: false });
  return { ok: true, tls: { ...paths, material } };
}

function readPem(
  file: string,
  at: DocPath,
  io: PolicyIo,
  baseDir: string,
  problem: (at: DocPath, message: string) => void,
): string | undefined {
  const read = readPolicyFile(file, [...AT, ...at], io, baseDir);
  if (read.ok) return read.value;
  problem(at, read.problem.message);
  return undefined;
}

/** The first certificate of the file is the server's; the rest are intermediates sent along with it. */
function serverCertificate(
  pem: string,
  nowMs: number,
  problem: (at: DocPath, message: string) => void,
): X509Certificate | undefined {
  if (PEM_PRIVATE_KEY.test(pem)) {
    problem(['certFile'], 'holds a PRIVATE key; the key goes in keyFile, never beside the certificate');
    return undefined;
  }
  const certificates = parseCertificates(pem);
  if (certificates === undefined || certificates.length === 0) {
    problem(['certFile'], 'is not a PEM certificate');
    return undefined;
  }
  const leaf = certificates[0]!;
  const validity = validityProblem(leaf, nowMs);
  if (validity) problem(['certFile'], `the server certificate ${validity}`);
  return leaf;
}

function privateKey(pem: string, problem: (at: DocPath, message: string) => void): KeyObject | undefined {
  try {
    return createPrivateKey(pem);
  } catch {
    // Never the error's text: it may quote the file.
    problem(['keyFile'], 'is not an unencrypted PEM private key');
    return undefined;
  }
}

/** Every entry a CA certificate, each still valid: a bundle that trusts nothing by mistake is refused. */
function checkTrustBundle(pem: string, nowMs: number, report: (message: string) => void): void {
  const certificates = parseCertificates(pem);
  if (certificates === undefined || certificates.length === 0) return report('is not a PEM bundle of CA certificates');
  certificates.forEach((certificate, index) => {
    const which = `certificate ${index + 1} (${oneLine(certificate.subject)})`;
    if (!certificate.ca) report(`${which} is not a CA certificate`);
    const validity = validityProblem(certificate, nowMs);
    if (validity) report(`${which} ${validity}`);
  });
}

function parseCertificates(pem: string): X509Certificate[] | undefined {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  try {
    return blocks.map((block) => new X509Certificate(block));
  } catch {
    return undefined;
  }
}

function validityProblem(certificate: X509Certificate, nowMs: number): string | undefined {
  if (Date.parse(certificate.validTo) < nowMs) return `expired on ${new Date(certificate.validTo).toISOString()}`;
  if (Date.parse(certificate.validFrom) > nowMs)
    return `is not valid before ${new Date(certificate.validFrom).toISOString()}`;
  return undefined;
}

/** `X509Certificate.subject` puts one attribute per line. */
function oneLine(subject: string): string {
  return subject.split('\n').join(', ');
}

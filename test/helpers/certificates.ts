/**
 * A test PKI made with the `openssl` CLI in a temp directory: CAs, server and client certificates
 * (a SPIFFE URI SAN, a subject only, expired, not yet valid). `openssl ca` signs, because it is
 * the one command of OpenSSL 3.0 that takes any validity window (`-startdate`/`-enddate`):
 * `x509 -days` cannot go back in time and `faketime` is not installed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface CertificateAuthority extends CertificateFiles {
  name: string;
  /** Where `openssl ca` keeps its database and the config it signs with. */
  dir: string;
}

export interface IssueOptions {
  /** `-subj` form: `/O=shop/CN=billing`. */
  subject: string;
  /** `subjectAltName` entries, e.g. `URI:spiffe://…`, `IP:127.0.0.1`, `DNS:localhost`. */
  altNames?: readonly string[];
  usage: 'server' | 'client';
  /** `YYYYMMDDHHMMSSZ`; default: a day ago to a year ahead. */
  startDate?: string;
  endDate?: string;
}

/** `openssl`'s date form, for `days` from now (negative: in the past). */
export function opensslDate(days: number, nowMs = Date.now()): string {
  return `${new Date(nowMs + days * 86_400_000).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

export class TestPki {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-pki-'));

  /** A self-signed root, valid for ten years. */
  authority(name: string): CertificateAuthority {
    const dir = path.join(this.dir, name);
    fs.mkdirSync(path.join(dir, 'issued'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'index.txt'), '');
    fs.writeFileSync(path.join(dir, 'serial'), '1000\n');
    fs.writeFileSync(path.join(dir, 'ca.cnf'), caConfig(dir));
    const certFile = path.join(dir, 'ca.crt');
    const keyFile = path.join(dir, 'ca.key');
    openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '3650', '-subj', `/O=gateway tests/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]); // prettier-ignore
    return { name, dir, ...read(certFile, keyFile) };
  }

  /** A certificate signed by `ca`, with its own new key. */
  issue(ca: CertificateAuthority, name: string, options: IssueOptions): CertificateFiles {
    const base = path.join(this.dir, `${ca.name}-${name}`);
    const [keyFile, csrFile, certFile, extFile] = ['key', 'csr', 'crt', 'ext'].map((ext) => `${base}.${ext}`) as [
      string,
      string,
      string,
      string,
    ];
    const usage = options.usage === 'server' ? 'serverAuth' : 'clientAuth';
    const extensions = [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      `extendedKeyUsage = ${usage}`,
      ...(options.altNames?.length ? [`subjectAltName = ${options.altNames.join(', ')}`] : []),
    ];
    fs.writeFileSync(extFile, `${extensions.join('\n')}\n`);
    openssl([
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', csrFile, '-subj', options.subject,
    ]); // prettier-ignore
    openssl([
      'ca', '-batch', '-config', path.join(ca.dir, 'ca.cnf'), '-cert', ca.certFile, '-keyfile', ca.keyFile,
      '-in', csrFile, '-out', certFile, '-extfile', extFile, '-notext',
      '-startdate', options.startDate ?? opensslDate(-1), '-enddate', options.endDate ?? opensslDate(365),
    ]); // prettier-ignore
    return read(certFile, keyFile);
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function read(certFile: string, keyFile: string): CertificateFiles {
  return { certFile, keyFile, cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The least `openssl ca` needs; `preserve` keeps the request's subject as written. */
function caConfig(dir: string): string {
  return `[ ca ]
default_ca = test_ca

[ test_ca ]
database = ${dir}/index.txt
new_certs_dir = ${dir}/issued
serial = ${dir}/serial
default_md = sha256
policy = any_subject
preserve = yes
unique_subject = no
copy_extensions = none

[ any_subject ]
organizationName = optional
organizationalUnitName = optional
commonName = optional
`;
}

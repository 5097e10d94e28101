/**
 * Certificates for TLS tests, made at test time in a temporary directory. `openssl` generates
 * every key and signs every certificate. The certificate request is encoded here in DER, so
 * that a test can put any bytes into a subject (NUL bytes, look-alike attributes, multi-valued
 * RDNs) and into the subject alternative names, which `openssl req -subj` cannot express.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Attribute types that subjects in the tests use, with their object identifiers. */
const ATTRIBUTE_OIDS = { CN: '2.5.4.3', O: '2.5.4.10', OU: '2.5.4.11', C: '2.5.4.6' } as const;
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** One attribute of a subject: type and value (a string is encoded as UTF-8). */
export type SubjectAttribute = readonly [type: keyof typeof ATTRIBUTE_OIDS, value: string | Buffer];
/** A relative distinguished name: one attribute, or several for a multi-valued RDN. */
export type Rdn = readonly SubjectAttribute[];
/** A subject alternative name. IP addresses are IPv4 in dotted form. */
export type AltName = readonly [type: 'DNS' | 'URI' | 'IP', value: string | Buffer];

/** A certificate and its private key, as PEM files and their contents. */
export interface IssuedCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface IssueOptions {
  /** Base name of the files written (`NAME.crt`, `NAME.key`). */
  readonly name: string;
  readonly subject: readonly Rdn[];
  readonly altNames?: readonly AltName[];
  /** Validity in days from now; a negative number makes a certificate that has already expired. */
  readonly days?: number;
  /** Reuse this key instead of generating a new one. */
  readonly key?: IssuedCertificate;
}

/** A temporary directory that holds certificate authorities and the certificates they issued. */
export class CertificateDir {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'respguard-certs-'));
  private serial = 1;

  /** Creates a self-signed CA certificate with the subject `CN=<commonName>`. */
  async createCa(name: string, commonName = name): Promise<IssuedCertificate> {
    const keyFile = await this.generateKey(name);
    const certFile = this.file(`${name}.crt`);
    await run('openssl', ['req', '-x509', '-new', '-key', keyFile, '-subj', `/CN=${commonName}`, '-days', '2', '-out', certFile]);
    return this.load(certFile, keyFile);
  }

  /** Issues a certificate signed by `ca`. */
  async issue(ca: IssuedCertificate, options: IssueOptions): Promise<IssuedCertificate> {
    const keyFile = options.key?.keyFile ?? (await this.generateKey(options.name));
    const key = createPrivateKey(readFileSync(keyFile));
    const csrFile = this.file(`${options.name}.csr`);
    writeFileSync(csrFile, certificateRequest(key, options.subject));

    const extensions = ['basicConstraints=CA:FALSE'];
    if (options.altNames) extensions.push(`subjectAltName=DER:${generalNames(options.altNames).toString('hex')}`);
    const extFile = this.file(`${options.name}.ext`);
    writeFileSync(extFile, `${extensions.join('\n')}\n`);

    const certFile = this.file(`${options.name}.crt`);
    await run('openssl', [
      'x509', '-req', '-in', csrFile, '-inform', 'DER',
      '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', String(this.serial++),
      '-days', String(options.days ?? 2), '-extfile', extFile, '-out', certFile,
    ]);
    return this.load(certFile, keyFile);
  }

  /** Issues a server certificate for 127.0.0.1 and localhost. */
  issueServer(ca: IssuedCertificate, name = 'server', options: Partial<IssueOptions> = {}): Promise<IssuedCertificate> {
    return this.issue(ca, {
      name,
      subject: [[['CN', 'localhost']]],
      altNames: [['IP', '127.0.0.1'], ['DNS', 'localhost']],
      ...options,
    });
  }

  /** Returns the path of `name` inside the directory. */
  file(name: string): string {
    return path.join(this.dir, name);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async generateKey(name: string): Promise<string> {
    const keyFile = this.file(`${name}.key`);
    await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
    return keyFile;
  }

  private load(certFile: string, keyFile: string): IssuedCertificate {
    return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
  }
}

/** Shorthand for the subject `CN=<name>`. */
export function commonName(name: string | Buffer): Rdn[] {
  return [[['CN', name]]];
}

// ---- DER encoding (ITU-T X.690), only what a certificate request needs ----

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let value = arc; ; value = Math.floor(value / 128)) {
      groups.unshift((value % 128) | (groups.length > 0 ? 0x80 : 0));
      if (value < 128) break;
    }
    bytes.push(...groups);
  }
  return der(0x06, Buffer.from(bytes));
}

const sequence = (...items: Buffer[]): Buffer => der(0x30, ...items);
const set = (...items: Buffer[]): Buffer => der(0x31, ...items);
const utf8String = (value: string | Buffer): Buffer => der(0x0c, Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'));
const printableString = (value: string): Buffer => der(0x13, Buffer.from(value, 'latin1'));

function encodeName(subject: readonly Rdn[]): Buffer {
  const rdns = subject.map((rdn) =>
    set(...rdn.map(([type, value]) => sequence(oid(ATTRIBUTE_OIDS[type]), type === 'C' ? printableString(String(value)) : utf8String(value)))),
  );
  return sequence(...rdns);
}

/** Encodes a GeneralNames sequence (RFC 5280, section 4.2.1.6) for the subjectAltName extension. */
function generalNames(names: readonly AltName[]): Buffer {
  const encoded = names.map(([type, value]) => {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
    if (type === 'DNS') return der(0x82, bytes);
    if (type === 'URI') return der(0x86, bytes);
    return der(0x87, Buffer.from(String(value).split('.').map(Number)));
  });
  return sequence(...encoded);
}

/** Builds a PKCS #10 certificate request (RFC 2986) signed with an EC P-256 key, in DER. */
function certificateRequest(key: ReturnType<typeof createPrivateKey>, subject: readonly Rdn[]): Buffer {
  const publicKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const info = sequence(der(0x02, Buffer.from([0])), encodeName(subject), publicKey, der(0xa0));
  const signature = sign('sha256', info, key);
  return sequence(info, sequence(oid(ECDSA_WITH_SHA256)), der(0x03, Buffer.from([0]), signature));
}

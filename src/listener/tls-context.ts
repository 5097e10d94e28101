/**
 * The certificate, key and CA of a TLS listener, read from their files and checked before use.
 * The listener loads them once at start, where a problem stops the start, and again on every
 * reload, where a problem leaves the files in use unchanged. The checks catch what would
 * otherwise only show as failed handshakes: files that are not PEM, a key of another pair, a
 * certificate that has expired or is not yet valid, and a cipher list that OpenSSL rejects.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import type { ListenerTlsConfig } from '../config/types.js';

/** The contents of a listener's TLS files. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  /** SHA-256 of the contents, to tell a changed file set from the one in use. */
  readonly digest: string;
}

/** Facts about a loaded server certificate, for the log line of a load or reload. */
export interface CertificateSummary {
  readonly subject: string;
  readonly validTo: string;
  readonly fingerprint256: string;
}

/** A failed read or check, with a message that names the file and the fix. */
export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';
}

/** Reads the files named in `config`; throws TlsFileError naming the file that cannot be read. */
export async function readTlsMaterial(config: ListenerTlsConfig): Promise<TlsMaterial> {
  const cert = await readNamedFile('tls.cert', config.cert);
  const key = await readNamedFile('tls.key', config.key);
  const ca = config.ca === undefined ? undefined : await readNamedFile('tls.ca', config.ca);
  const hash = createHash('sha256');
  for (const part of [cert, key, ca ?? Buffer.alloc(0)]) hash.update(String(part.length)).update(':').update(part);
  return { cert, key, ...(ca === undefined ? {} : { ca }), digest: hash.digest('hex') };
}

async function readNamedFile(field: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new TlsFileError(`cannot read ${field} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** The options for `tls.createSecureContext` and `server.setSecureContext` built from `material`. */
export function secureContextOptions(config: ListenerTlsConfig, material: TlsMaterial): tls.SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    ...(material.ca === undefined ? {} : { ca: material.ca }),
    minVersion: config.minVersion,
    ...(config.ciphers === undefined ? {} : { ciphers: config.ciphers }),
  };
}

/**
 * Checks that `material` can serve handshakes now. Returns a summary of the certificate; throws
 * TlsFileError with the reason otherwise.
 */
export function checkTlsMaterial(config: ListenerTlsConfig, material: TlsMaterial, now = new Date()): CertificateSummary {
  const certificate = parseCertificate('tls.cert', config.cert, material.cert);
  let key: KeyObject;
  try {
    key = createPrivateKey(material.key);
  } catch (error) {
    throw new TlsFileError(`tls.key ${config.key} is not a readable private key (PEM, unencrypted): ${(error as Error).message}`);
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new TlsFileError(`tls.key ${config.key} does not belong to the certificate in tls.cert ${config.cert}: install the key of the same pair`);
  }
  if (new Date(certificate.validTo).getTime() < now.getTime()) {
    throw new TlsFileError(`tls.cert ${config.cert} expired on ${certificate.validTo}: install a renewed certificate`);
  }
  if (new Date(certificate.validFrom).getTime() > now.getTime()) {
    throw new TlsFileError(`tls.cert ${config.cert} is not valid before ${certificate.validFrom}: check the clock or the certificate`);
  }
  if (material.ca !== undefined) parseCertificate('tls.ca', config.ca!, material.ca);

  try {
    tls.createSecureContext(secureContextOptions(config, material));
  } catch (error) {
    throw new TlsFileError(`the TLS settings were rejected by OpenSSL: ${(error as Error).message}`);
  }
  return { subject: certificate.subject, validTo: certificate.validTo, fingerprint256: certificate.fingerprint256 };
}

function parseCertificate(field: string, file: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new TlsFileError(`${field} ${file} is not a PEM certificate: ${(error as Error).message}`);
  }
}

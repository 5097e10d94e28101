/**
 * Throwaway TLS material for the benchmarks, made with the openssl command line: a private CA
 * and one server certificate for 127.0.0.1 and localhost signed by it. HAProxy and respguard
 * serve the same certificate, so both pay the same handshake and record costs, and
 * redis-benchmark verifies it with `--cacert`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Paths of the generated files. */
export interface Certificates {
  readonly caCert: string;
  readonly cert: string;
  readonly key: string;
  /** Certificate followed by its key, the form HAProxy's `crt` takes. */
  readonly combined: string;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Writes a CA and a server certificate (RSA 2048, valid for 2 days) into `dir`. */
export function makeCertificates(dir: string): Certificates {
  const file = (name: string): string => path.join(dir, name);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=respguard bench CA', '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr'], dir);
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt'],
    dir,
  );
  writeFileSync(file('server.pem'), Buffer.concat([readFileSync(file('server.crt')), readFileSync(file('server.key'))]));
  return { caCert: file('ca.crt'), cert: file('server.crt'), key: file('server.key'), combined: file('server.pem') };
}

/** Validation of the config fields that admission and the TLS listeners read: certificate identities and cipher lists. */
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { configErrors, makeTlsDir } from '../config/helpers.js';

const tlsDir = makeTlsDir();
afterAll(() => tlsDir.remove());

const LISTENER = 'listeners:\n  - { host: 127.0.0.1, port: 6390, tls: { cert: server.crt, key: server.key, ca: ca.crt, clientAuth: request } }\n';
const IDENTITY_EXPECTED = 'a certificate identity "CN=<common name>", "DNS:<name>" or "URI:<uri>", such as "CN=billing-api"';

function usersWithCertificates(certificates: string): string {
  return `${LISTENER}users:\n  billing: { acl: "on >x", certificates: ${certificates} }\n`;
}

describe('certificates field', () => {
  it('normalizes the prefix', () => {
    const config = parseConfig(usersWithCertificates('["cn=billing-api", "dns:db.internal", "Uri:spiffe://prod/billing"]'), tlsDir.configFile, {});
    expect(config.users.billing!.certificates).toEqual(['CN=billing-api', 'DNS:db.internal', 'URI:spiffe://prod/billing']);
  });

  it('keeps the value as written', () => {
    const config = parseConfig(usersWithCertificates('["CN=Billing API, Inc.", "URI:spiffe://prod/Billing"]'), tlsDir.configFile, {});
    expect(config.users.billing!.certificates).toEqual(['CN=Billing API, Inc.', 'URI:spiffe://prod/Billing']);
  });

  it.each([
    ['billing-api', `invalid value "billing-api": expected ${IDENTITY_EXPECTED}`],
    ['CN=', `invalid value "CN=": expected ${IDENTITY_EXPECTED}`],
    ['email:a@example.com', `invalid value "email:a@example.com": expected ${IDENTITY_EXPECTED}`],
    ['CN billing-api', `invalid value "CN billing-api": expected ${IDENTITY_EXPECTED}`],
    ['CN=billing-api\\u0000x', `invalid value "CN=billing-api\\u0000x": expected ${IDENTITY_EXPECTED}, without control characters`],
    ['CN=billing-api\\n', `invalid value "CN=billing-api\\n": expected ${IDENTITY_EXPECTED}, without control characters`],
  ])('rejects %j', (identity, message) => {
    expect(configErrors(usersWithCertificates(`["${identity}"]`), tlsDir.configFile)).toEqual([
      `${tlsDir.configFile}: users.billing.certificates[0]: ${message}`,
    ]);
  });

  it('rejects an identity of two users', () => {
    const text = `${LISTENER}users:\n  a: { acl: "on >x", certificates: ["CN=shared"] }\n  b: { acl: "on >y", certificates: ["URI:spiffe://b", "cn=shared"] }\n`;
    expect(configErrors(text, tlsDir.configFile)).toEqual([
      `${tlsDir.configFile}: users.b.certificates[1]: "CN=shared" is also listed by users.a: a certificate identity may log in as one user only`,
    ]);
  });
});

describe('tls.ciphers field', () => {
  it('accepts an OpenSSL cipher list', () => {
    const text = 'listeners:\n  - { host: 127.0.0.1, port: 6390, tls: { cert: server.crt, key: server.key, ciphers: "ECDHE+AESGCM:!aNULL" } }\nusers:\n  a: { acl: "on >x" }\n';
    expect(parseConfig(text, tlsDir.configFile, {}).listeners[0]!.tls!.ciphers).toBe('ECDHE+AESGCM:!aNULL');
  });

  it('rejects an unknown cipher', () => {
    const text = 'listeners:\n  - { host: 127.0.0.1, port: 6390, tls: { cert: server.crt, key: server.key, ciphers: "NO-SUCH-CIPHER" } }\nusers:\n  a: { acl: "on >x" }\n';
    expect(configErrors(text, tlsDir.configFile)).toEqual([
      `${tlsDir.configFile}: listeners[0].tls.ciphers: invalid value "NO-SUCH-CIPHER": expected an OpenSSL cipher list such as ` +
        '"ECDHE+AESGCM:ECDHE+CHACHA20" (error:0A0000B9:SSL routines::no cipher match)',
    ]);
  });
});

/**
 * Certificate identities and login admission, with certificates made by openssl and read
 * through a real TLS handshake. Every certificate below is signed by the trusted CA, so each
 * trick would log in if the identity were read from formatted text instead of exact values.
 */
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CERTIFICATE_AMBIGUOUS,
  CERTIFICATE_REQUIRED,
  SOURCE_NOT_ALLOWED,
  certificateLoginRefusal,
  certificateUser,
  passwordLoginRefusal,
  peerIdentity,
  type PeerIdentity,
} from '../../../src/auth/admission.js';
import { altNameIdentities, splitAltNames } from '../../../src/auth/certificates.js';
import { CommandTable } from '../../../src/commands/table.js';
import { parseConfig } from '../../../src/config/load.js';
import { buildPolicy, type Policy } from '../../../src/policy.js';
import { CertificateDir, commonName, type IssueOptions, type IssuedCertificate } from '../../helpers/certificates.js';

const certificates = new CertificateDir();
let ca: IssuedCertificate;
let server: tls.Server;
let port: number;
let policy: Policy;
const identities = new Map<string, PeerIdentity>();

/** Certificates from the trusted CA, by name: subject and alternative names. */
const TRUSTED: Record<string, Omit<IssueOptions, 'name'>> = {
  plain: { subject: commonName('billing-api'), altNames: [['URI', 'spiffe://prod/billing']] },
  dns: { subject: commonName('somebody'), altNames: [['DNS', 'billing.internal']] },
  nulInCn: { subject: commonName(Buffer.from('billing-api\0.evil.example')) },
  cnInOrganization: { subject: [[['O', 'CN=billing-api']], [['CN', 'evil']]] },
  rdnInCn: { subject: commonName('evil, CN=billing-api') },
  newlineInCn: { subject: commonName('evil\nCN=billing-api') },
  plusInCn: { subject: commonName('evil+CN=billing-api') },
  multiValuedLookAlike: { subject: [[['CN', 'evil'], ['OU', 'CN=billing-api']]] },
  multiValuedWithCn: { subject: [[['OU', 'billing'], ['CN', 'billing-api']]] },
  twoCommonNames: { subject: [[['CN', 'billing-api']], [['CN', 'evil']]] },
  twoCommonNamesInOneRdn: { subject: [[['CN', 'evil'], ['CN', 'billing-api']]] },
  escapedCn: { subject: commonName('billing\\2dapi') },
  trailingBackslashCn: { subject: commonName('billing-api\\') },
  commaInSan: { subject: commonName('evil'), altNames: [['DNS', 'a, URI:spiffe://prod/billing']] },
  quoteInSan: { subject: commonName('evil'), altNames: [['DNS', 'a", URI:spiffe://prod/billing, DNS:"b']] },
  nulInSan: { subject: commonName('evil'), altNames: [['DNS', Buffer.from('billing.internal\0.evil.example')]] },
  typeConfusion: { subject: commonName('URI:spiffe://prod/billing'), altNames: [['DNS', 'billing-api'], ['URI', 'CN=billing-api']] },
  expired: { subject: commonName('billing-api'), days: -1 },
};

beforeAll(async () => {
  ca = await certificates.createCa('ca');
  const otherCa = await certificates.createCa('other-ca');
  const serverCertificate = await certificates.issueServer(ca);
  server = tls.createServer({ cert: serverCertificate.cert, key: serverCertificate.key, ca: ca.cert, requestCert: true, rejectUnauthorized: false }, (socket) => {
    socket.end(JSON.stringify(peerIdentity(socket)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;

  for (const [name, options] of Object.entries(TRUSTED)) identities.set(name, await identityOf(await certificates.issue(ca, { name, ...options })));
  identities.set('otherCa', await identityOf(await certificates.issue(otherCa, { name: 'otherCa', subject: commonName('billing-api') })));
  identities.set('none', await identityOf(undefined));
  policy = buildPolicy(parseConfig(POLICY_YAML(), certificates.file('respguard.yaml'), {}), CommandTable.default());
});

afterAll(() => {
  server?.close();
  certificates.remove();
});

/** Connects with `client` (or no certificate) and returns the identity the server read. */
async function identityOf(client: IssuedCertificate | undefined): Promise<PeerIdentity> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, cert: client?.cert, key: client?.key });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise<void>((resolve, reject) => {
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  socket.destroy();
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as PeerIdentity;
}

const POLICY_YAML = (): string => `
listeners:
  - host: 127.0.0.1
    port: 6390
    tls: { cert: server.crt, key: server.key, ca: ca.crt, clientAuth: request }
users:
  billing:
    acl: "on >billing-pass ~billing:* +@all"
    certificates: ["CN=billing-api", "URI:spiffe://prod/billing"]
    requireCertificate: true
  internal:
    acl: "on ~internal:* +@all"
    certificates: ["DNS:billing.internal"]
  office:
    acl: "on >office-pass +@all"
    sources: [10.0.0.0/8]
  office_robot:
    acl: "on +@all"
    certificates: ["CN=office-robot"]
    sources: [10.0.0.0/8]
  retired:
    acl: "off +@all"
    certificates: ["CN=retired-api"]
  plain:
    acl: "on >plain-pass +@all"
`;

describe('peerIdentity', () => {
  it.each([
    ['plain', ['CN=billing-api', 'URI:spiffe://prod/billing']],
    ['dns', ['CN=somebody', 'DNS:billing.internal']],
    ['nulInCn', ['CN=billing-api\0.evil.example']],
    ['cnInOrganization', ['CN=evil']],
    ['rdnInCn', ['CN=evil, CN=billing-api']],
    ['newlineInCn', ['CN=evil\nCN=billing-api']],
    ['plusInCn', ['CN=evil+CN=billing-api']],
    ['multiValuedLookAlike', ['CN=evil']],
    ['multiValuedWithCn', ['CN=billing-api']],
    ['twoCommonNames', []],
    ['twoCommonNamesInOneRdn', []],
    ['escapedCn', ['CN=billing\\2dapi']],
    ['trailingBackslashCn', ['CN=billing-api\\']],
    ['commaInSan', ['CN=evil', 'DNS:a, URI:spiffe://prod/billing']],
    ['quoteInSan', ['CN=evil', 'DNS:a", URI:spiffe://prod/billing, DNS:"b']],
    ['nulInSan', ['CN=evil', 'DNS:billing.internal\0.evil.example']],
    ['typeConfusion', ['CN=URI:spiffe://prod/billing', 'DNS:billing-api', 'URI:CN=billing-api']],
    ['expired', []],
    ['otherCa', []],
    ['none', []],
  ])('reads %s', (name, expected) => {
    expect(identities.get(name)!.certificateSubjects).toEqual(expected);
  });

  it('reads the address', () => {
    expect(identities.get('plain')!.address).toBe('127.0.0.1');
  });
});

describe('certificateUser', () => {
  it.each([
    ['plain', 'billing'],
    ['dns', 'internal'],
    ['multiValuedWithCn', 'billing'],
  ])('logs %s in as %s', (name, user) => {
    expect(certificateUser(policy, identities.get(name)!)?.name).toBe(user);
  });

  it.each([
    'nulInCn', 'cnInOrganization', 'rdnInCn', 'newlineInCn', 'plusInCn', 'multiValuedLookAlike', 'twoCommonNames',
    'twoCommonNamesInOneRdn', 'escapedCn', 'trailingBackslashCn', 'commaInSan', 'quoteInSan', 'nulInSan', 'typeConfusion',
    'expired', 'otherCa', 'none',
  ])('logs %s in as nobody', (name) => {
    expect(certificateUser(policy, identities.get(name)!)).toBeNull();
    expect(certificateLoginRefusal(policy, identities.get(name)!)).toBeNull();
  });

  it('rejects a certificate of two users', () => {
    const peer = { certificateSubjects: ['CN=billing-api', 'DNS:billing.internal'], address: '127.0.0.1' };
    expect(certificateUser(policy, peer)).toBeNull();
    expect(certificateLoginRefusal(policy, peer)).toBe(CERTIFICATE_AMBIGUOUS);
  });

  it('rejects a disabled user', () => {
    const peer = { certificateSubjects: ['CN=retired-api'], address: '127.0.0.1' };
    expect(certificateUser(policy, peer)).toBeNull();
    expect(certificateLoginRefusal(policy, peer)).toBe('user disabled');
  });

  it('applies user sources', () => {
    const inside = { certificateSubjects: ['CN=office-robot'], address: '::ffff:10.2.3.4' };
    const outside = { certificateSubjects: ['CN=office-robot'], address: '127.0.0.1' };
    expect(certificateUser(policy, inside)?.name).toBe('office_robot');
    expect(certificateUser(policy, outside)).toBeNull();
    expect(certificateLoginRefusal(policy, outside)).toBe(SOURCE_NOT_ALLOWED);
  });
});

describe('passwordLoginRefusal', () => {
  it('requires the certificate', () => {
    expect(passwordLoginRefusal(policy, 'billing', identities.get('none')!)).toBe(CERTIFICATE_REQUIRED);
    expect(passwordLoginRefusal(policy, 'billing', identities.get('otherCa')!)).toBe(CERTIFICATE_REQUIRED);
    expect(passwordLoginRefusal(policy, 'billing', identities.get('dns')!)).toBe(CERTIFICATE_REQUIRED);
    expect(passwordLoginRefusal(policy, 'billing', identities.get('nulInCn')!)).toBe(CERTIFICATE_REQUIRED);
  });

  it('accepts the matching certificate', () => {
    expect(passwordLoginRefusal(policy, 'billing', identities.get('plain')!)).toBeNull();
  });

  it.each([
    ['10.1.2.3', null],
    ['::ffff:10.1.2.3', null],
    ['127.0.0.1', SOURCE_NOT_ALLOWED],
    ['::1', SOURCE_NOT_ALLOWED],
    ['', SOURCE_NOT_ALLOWED],
  ])('applies user sources from %j', (address, expected) => {
    expect(passwordLoginRefusal(policy, 'office', { certificateSubjects: [], address })).toBe(expected);
  });

  it('accepts an unrestricted user', () => {
    expect(passwordLoginRefusal(policy, 'plain', { certificateSubjects: [], address: '198.51.100.7' })).toBeNull();
  });

  it('leaves unknown users to the password check', () => {
    expect(passwordLoginRefusal(policy, 'nobody', { certificateSubjects: [], address: '127.0.0.1' })).toBeNull();
  });
});

describe('splitAltNames', () => {
  it.each([
    ['DNS:a, URI:spiffe://x', ['DNS:a', 'URI:spiffe://x']],
    ['DNS:"a\\u002c URI:spiffe://x"', ['DNS:a, URI:spiffe://x']],
    ['"DNS:a\\u002c b", URI:c', ['DNS:a, b', 'URI:c']],
    ['DNS:"x\\"y", IP Address:127.0.0.1', ['DNS:x"y', 'IP Address:127.0.0.1']],
    ['DNS:"x\\u0000y"', ['DNS:x\0y']],
    ['', []],
  ])('splits %j', (text, expected) => {
    expect(splitAltNames(text)).toEqual(expected);
  });

  it.each(['DNS:"unterminated', 'DNS:"bad\\escape"', 'DNS:"raw\ncontrol"'])('rejects %j', (text) => {
    expect(splitAltNames(text)).toBeNull();
    expect(altNameIdentities(text)).toEqual([]);
  });

  it('keeps only DNS and URI names', () => {
    expect(altNameIdentities('IP Address:127.0.0.1, email:a@b, DNS:x, URI:y')).toEqual(['DNS:x', 'URI:y']);
  });
});

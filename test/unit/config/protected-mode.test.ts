import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { endsEnabledWithNopass } from '../../../src/config/protected-mode.js';
import { configErrors, makeTlsDir } from './helpers.js';

const PLAINTEXT_FIX = 'add tls (cert and key), bind host to 127.0.0.1, or set allowPlaintext: true';

function nopassMessage(user: string, listener: string, file = 'respguard.yaml'): string {
  return (
    `${file}: users.${user}.acl: nopass lets anyone who reaches ${listener} log in as ${user} without a password: ` +
    `give the user a password (>password or #sha256), set requireCertificate: true with certificates, ` +
    `or restrict users.${user}.sources to loopback ranges such as 127.0.0.1/32`
  );
}

describe('plaintext listeners', () => {
  it.each(['0.0.0.0', '10.0.0.5', '::', 'redis.example.internal'])('rejects plaintext on %s', (host) => {
    const text = `listeners:\n  - { host: "${host}", port: 6380 }\nusers:\n  app: { acl: "on >x ~* +@all" }\n`;
    expect(configErrors(text)).toEqual([
      `respguard.yaml: listeners[0]: plaintext listener on ${host}:6380 sends passwords and data unencrypted over the network: ${PLAINTEXT_FIX}`,
    ]);
  });

  it.each(['127.0.0.1', '127.10.0.1', '::1', 'localhost', 'LOCALHOST'])('accepts plaintext on %s', (host) => {
    const text = `listeners:\n  - { host: "${host}", port: 6380 }\nusers:\n  app: { acl: "on >x ~* +@all" }\n`;
    expect(parseConfig(text, 'respguard.yaml', {}).listeners[0]!.host).toBe(host);
  });

  it('accepts plaintext with allowPlaintext', () => {
    const text = 'listeners:\n  - { host: 10.0.0.5, port: 6379, allowPlaintext: true }\nusers:\n  app: { acl: "on >x ~* +@all" }\n';
    expect(parseConfig(text, 'respguard.yaml', {}).listeners[0]!.allowPlaintext).toBe(true);
  });

  it('checks valid listeners beside invalid ones', () => {
    const text = 'listeners:\n  - { host: 0.0.0.0, port: 6380 }\n  - { host: 127.0.0.1, port: 0 }\nusers:\n  app: { acl: "on >x" }\n';
    expect(configErrors(text)).toEqual([
      'respguard.yaml: listeners[1].port: invalid value "0": expected an integer from 1 to 65535',
      `respguard.yaml: listeners[0]: plaintext listener on 0.0.0.0:6380 sends passwords and data unencrypted over the network: ${PLAINTEXT_FIX}`,
    ]);
  });
});

describe('nopass users', () => {
  const tls = makeTlsDir();
  afterAll(() => tls.remove());
  const exposed = 'listeners:\n  - { host: 127.0.0.1, port: 6380 }\n  - { host: 10.0.0.5, port: 6379, allowPlaintext: true }\n';

  it('rejects nopass reachable off loopback', () => {
    expect(configErrors(`${exposed}users:\n  open: { acl: "on nopass ~* +@all" }\n`)).toEqual([
      nopassMessage('open', 'listeners[1] (10.0.0.5:6379)'),
    ]);
  });

  it('rejects nopass behind tls', () => {
    const text = `listeners:\n  - { host: 0.0.0.0, port: 6381, tls: { cert: server.crt, key: server.key } }\nusers:\n  open: { acl: "on nopass +ping" }\n`;
    expect(configErrors(text, tls.configFile)).toEqual([nopassMessage('open', 'listeners[0] (0.0.0.0:6381)', tls.configFile)]);
  });

  it('accepts nopass on loopback listeners only', () => {
    const text = 'listeners:\n  - { host: 127.0.0.1, port: 6380 }\n  - { host: "::1", port: 6380 }\nusers:\n  default: { acl: "on nopass ~* +@all" }\n';
    expect(parseConfig(text, 'respguard.yaml', {}).users.default!.acl).toBe('on nopass ~* +@all');
  });

  it('accepts nopass with loopback user sources', () => {
    const text = `${exposed}users:\n  open: { acl: "on nopass ~* +@all", sources: [127.0.0.1/32, "::1/128"] }\n`;
    expect(parseConfig(text, 'respguard.yaml', {}).users.open!.sources).toEqual(['127.0.0.1/32', '::1/128']);
  });

  it('accepts nopass when exposed listeners admit loopback only', () => {
    const text = 'listeners:\n  - { host: 0.0.0.0, port: 6380, allowPlaintext: true, sources: [127.0.0.0/8] }\nusers:\n  open: { acl: "on nopass" }\n';
    expect(parseConfig(text, 'respguard.yaml', {}).users.open!.acl).toBe('on nopass');
  });

  it('rejects nopass with wider user sources', () => {
    const text = `${exposed}users:\n  open: { acl: "on nopass", sources: [127.0.0.1/32, 10.0.0.0/8] }\n`;
    expect(configErrors(text)).toEqual([nopassMessage('open', 'listeners[1] (10.0.0.5:6379)')]);
  });

  it('accepts nopass with a required certificate', () => {
    const text =
      'listeners:\n  - { host: 0.0.0.0, port: 6381, tls: { cert: server.crt, key: server.key, ca: ca.crt, clientAuth: require } }\n' +
      'users:\n  billing: { acl: "on nopass ~billing:* +@read", certificates: ["CN=billing-api"], requireCertificate: true }\n';
    expect(parseConfig(text, tls.configFile, {}).users.billing!.requireCertificate).toBe(true);
  });

  it('accepts disabled or password-protected users', () => {
    const text = `${exposed}users:\n  a: { acl: "on nopass off" }\n  b: { acl: "nopass on >pw" }\n  c: { acl: "on nopass resetpass" }\n  d: { acl: "on nopass reset" }\n`;
    expect(Object.keys(parseConfig(text, 'respguard.yaml', {}).users)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('certificate users', () => {
  it('rejects certificates without a listener that requests them', () => {
    const text = 'listeners:\n  - { host: 127.0.0.1, port: 6380 }\nusers:\n  billing: { acl: "on >x", certificates: ["CN=billing-api"] }\n';
    expect(configErrors(text)).toEqual([
      'respguard.yaml: users.billing.certificates: no listener requests client certificates: set tls.ca and tls.clientAuth (request or require) on a listener',
    ]);
  });
});

describe('endsEnabledWithNopass', () => {
  it.each([
    ['on nopass', true],
    ['ON NOPASS ~* +@all', true],
    ['nopass on', true],
    ['nopass', false],
    ['on nopass off', false],
    ['on nopass >pw', false],
    ['on nopass #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8', false],
    ['on nopass resetpass', false],
    ['on nopass reset', false],
    ['on >pw nopass', true],
    ['on reset nopass on', true],
    ['on >secret ~* +@all', false],
  ])('%s', (acl, expected) => {
    expect(endsEnabledWithNopass(acl)).toBe(expected);
  });
});

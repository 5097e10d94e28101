import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { configErrors } from './helpers.js';

/** Builds a valid config whose upstream section is `upstream` (a YAML flow map). */
function withUpstream(upstream: string): string {
  return `listeners:\n  - { host: 127.0.0.1, port: 6380 }\nupstream: ${upstream}\nusers:\n  app: { acl: "on >x ~* +@all" }\n`;
}

function upstreamOf(upstream: string, env: NodeJS.ProcessEnv) {
  return parseConfig(withUpstream(upstream), 'respguard.yaml', env).upstream;
}

describe('environment expansion', () => {
  it('replaces a variable', () => {
    expect(upstreamOf('{ password: "${REDIS_PASSWORD}" }', { REDIS_PASSWORD: 's3cret' }).password).toBe('s3cret');
  });

  it('replaces variables inside text', () => {
    expect(upstreamOf('{ host: "${ZONE}.${DOMAIN}" }', { ZONE: 'eu1', DOMAIN: 'redis.internal' }).host).toBe('eu1.redis.internal');
  });

  it('uses the default when unset', () => {
    expect(upstreamOf('{ host: "${REDIS_HOST:-10.1.2.3}" }', {}).host).toBe('10.1.2.3');
  });

  it('uses the default when empty', () => {
    expect(upstreamOf('{ host: "${REDIS_HOST:-10.1.2.3}" }', { REDIS_HOST: '' }).host).toBe('10.1.2.3');
  });

  it('prefers a set variable over the default', () => {
    expect(upstreamOf('{ host: "${REDIS_HOST:-10.1.2.3}" }', { REDIS_HOST: '10.9.9.9' }).host).toBe('10.9.9.9');
  });

  it('keeps an empty variable without default', () => {
    expect(upstreamOf('{ password: "${REDIS_PASSWORD}" }', { REDIS_PASSWORD: '' }).password).toBeUndefined();
  });

  it('treats an empty password as none', () => {
    const upstream = upstreamOf('{ password: "${REDIS_PASSWORD:-}", username: "" }', {});
    expect('password' in upstream).toBe(false);
    expect('username' in upstream).toBe(false);
  });

  it('writes a literal for $${', () => {
    expect(upstreamOf('{ password: "a$${B}c" }', { B: 'no' }).password).toBe('a${B}c');
  });

  it('keeps a lone dollar', () => {
    expect(upstreamOf('{ password: "pa$$word$" }', {}).password).toBe('pa$$word$');
  });

  it('converts numbers and booleans from variables', () => {
    const text =
      'listeners:\n  - { host: "${HOST}", port: "${PORT}", allowPlaintext: "${PLAIN}" }\n' +
      'users:\n  app: { acl: "on >x ~* +@all" }\n';
    const config = parseConfig(text, 'respguard.yaml', { HOST: '10.0.0.5', PORT: '6390', PLAIN: 'true' });
    expect(config.listeners[0]).toEqual({ host: '10.0.0.5', port: 6390, allowPlaintext: true });
  });

  it('rejects a non-number from a variable', () => {
    expect(configErrors(withUpstream('{ port: "${PORT}" }'), 'respguard.yaml', { PORT: 'redis' })).toEqual([
      'respguard.yaml: upstream.port: invalid value "redis": expected an integer from 1 to 65535',
    ]);
  });

  it('expands list items and user fields', () => {
    const text =
      'listeners:\n  - { host: 127.0.0.1, port: 6380, sources: ["${NET}"] }\n' +
      'users:\n  app: { acl: "on >${APP_PASSWORD} ~* +@all" }\n';
    const config = parseConfig(text, 'respguard.yaml', { NET: '10.0.0.0/8', APP_PASSWORD: 'pw1' });
    expect(config.listeners[0]!.sources).toEqual(['10.0.0.0/8']);
    expect(config.users.app!.acl).toBe('on >pw1 ~* +@all');
  });
});

describe('environment errors', () => {
  it('names the field and the variable', () => {
    expect(configErrors(withUpstream('{ password: "${REDIS_PASSWORD}" }'))).toEqual([
      'respguard.yaml: upstream.password: environment variable REDIS_PASSWORD is not set: set it, or give a default with ${REDIS_PASSWORD:-default}',
    ]);
  });

  it('reports each missing variable', () => {
    const text = 'listeners:\n  - { host: "${HOST}", port: "${PORT}" }\nusers:\n  app: { acl: "on >x" }\n';
    expect(configErrors(text)).toEqual([
      'respguard.yaml: listeners[0].host: environment variable HOST is not set: set it, or give a default with ${HOST:-default}',
      'respguard.yaml: listeners[0].port: environment variable PORT is not set: set it, or give a default with ${PORT:-default}',
    ]);
  });

  it('rejects an unterminated reference', () => {
    expect(configErrors(withUpstream('{ host: "${REDIS_HOST" }'))).toEqual([
      'respguard.yaml: upstream.host: invalid environment reference "${REDIS_HOST": expected ${NAME} or ${NAME:-default}; write $${ for a literal ${',
    ]);
  });

  it('rejects an invalid variable name', () => {
    expect(configErrors(withUpstream('{ host: "${1HOST}" }'))).toEqual([
      'respguard.yaml: upstream.host: invalid environment reference "${1HOST}": expected ${NAME} or ${NAME:-default}; write $${ for a literal ${',
    ]);
  });

  it('hides the reference in a password', () => {
    expect(configErrors(withUpstream('{ password: "hunter${2" }'))).toEqual([
      'respguard.yaml: upstream.password: invalid environment reference in <hidden>: expected ${NAME} or ${NAME:-default}; write $${ for a literal ${',
    ]);
  });

  it('shows expanded values of non-secret fields', () => {
    const errors = configErrors(withUpstream('{ password: "${P}", port: "${P}" }'), 'respguard.yaml', { P: 'not-a-port' });
    expect(errors).toEqual(['respguard.yaml: upstream.port: invalid value "not-a-port": expected an integer from 1 to 65535']);
  });
});

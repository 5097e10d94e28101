import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_BLOCKED_COMMANDS } from '../../../src/acl/blocklist.js';
import { loadConfig, parseConfig } from '../../../src/config/load.js';
import { RespguardError } from '../../../src/errors.js';
import { configErrors, makeTlsDir, MINIMAL } from './helpers.js';

const EXAMPLE = path.resolve('config/respguard.example.yaml');

describe('loadConfig', () => {
  const tls = makeTlsDir();
  afterAll(() => tls.remove());

  it('loads the example config', async () => {
    const config = await loadConfig(EXAMPLE, {});
    expect(config.file).toBe(EXAMPLE);
    expect(config.listeners).toEqual([{ host: '127.0.0.1', port: 6380, allowPlaintext: false }]);
    expect(config.upstream.host).toBe('127.0.0.1');
    expect(config.upstream.port).toBe(6379);
    expect('password' in config.upstream).toBe(false);
    expect(Object.keys(config.users)).toEqual(['cache_reader', 'app_writer', 'admin']);
    expect(config.users.app_writer!.acl).toBe('on >writer-secret ~* &* +@all -@dangerous');
  });

  it('takes the example password from the environment', async () => {
    const config = await loadConfig(EXAMPLE, { REDIS_PASSWORD: 'from-env' });
    expect(config.upstream.password).toBe('from-env');
  });

  it('fills every default', () => {
    const config = parseConfig(MINIMAL, 'respguard.yaml', {});
    expect(config).toEqual({
      file: path.resolve('respguard.yaml'),
      listeners: [{ host: '127.0.0.1', port: 6380, allowPlaintext: false }],
      upstream: {
        mode: 'standalone',
        host: '127.0.0.1',
        port: 6379,
        pool: { size: 4, maxPinned: 1000 },
        connectTimeoutMs: 5000,
        commandTimeoutMs: 0,
      },
      blockCommands: [...DEFAULT_BLOCKED_COMMANDS],
      workers: 1,
      users: { app: { acl: 'on >secret ~* +@all', requireCertificate: false } },
      limits: {
        maxBulkLength: 536_870_912,
        maxMultibulkLength: 1_048_576,
        maxQueryBuffer: 1_073_741_824,
        maxOutputBuffer: 1_073_741_824,
        maxClients: 10_000,
        maxReplyDepth: 1000,
      },
      log: { level: 'info' },
      shutdownTimeoutMs: 10_000,
    });
  });

  it('keeps given values over defaults', () => {
    const text = `${MINIMAL}
upstream: { host: 10.2.0.1, port: 6390, pool: { size: 16, maxPinned: 20 }, connectTimeoutMs: 250, commandTimeoutMs: 30000 }
workers: auto
limits: { maxClients: 50, maxBulkLength: 1048576 }
log: { level: debug }
shutdownTimeoutMs: 0
metrics: {}
`;
    const config = parseConfig(text, 'respguard.yaml', {});
    expect(config.upstream).toEqual({
      mode: 'standalone',
      host: '10.2.0.1',
      port: 6390,
      pool: { size: 16, maxPinned: 20 },
      connectTimeoutMs: 250,
      commandTimeoutMs: 30_000,
    });
    expect(config.workers).toBe('auto');
    expect(config.limits.maxClients).toBe(50);
    expect(config.limits.maxBulkLength).toBe(1_048_576);
    expect(config.limits.maxReplyDepth).toBe(1000);
    expect(config.log.level).toBe('debug');
    expect(config.shutdownTimeoutMs).toBe(0);
    expect(config.metrics).toEqual({ host: '127.0.0.1', port: 9121 });
  });

  it('returns a deep-frozen config', () => {
    const config = parseConfig(`${MINIMAL}blockCommands: [FLUSHALL]\n`, 'respguard.yaml', {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listeners)).toBe(true);
    expect(Object.isFrozen(config.listeners[0])).toBe(true);
    expect(Object.isFrozen(config.upstream.pool)).toBe(true);
    expect(Object.isFrozen(config.users.app)).toBe(true);
    expect(Object.isFrozen(config.blockCommands)).toBe(true);
    expect(() => {
      (config.listeners[0] as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('reads a file from disk', async () => {
    writeFileSync(tls.configFile, MINIMAL.replace('6380', '6399'));
    const config = await loadConfig(tls.configFile, {});
    expect(config.file).toBe(tls.configFile);
    expect(config.listeners[0]!.port).toBe(6399);
  });

  it('reports a missing file', async () => {
    const missing = path.join(tls.dir, 'absent.yaml');
    const error = await loadConfig(missing, {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RespguardError);
    expect((error as RespguardError).code).toBe('RG_ERR_CONFIG');
    expect((error as RespguardError).message).toBe(`${missing}: cannot read the config file: file not found`);
  });
});

describe('YAML syntax errors', () => {
  it('reports file, line and column', () => {
    const text = 'listeners:\n  - host: 127.0.0.1\n    port: [6380\nusers: {}\n';
    expect(configErrors(text, 'config/x.yaml')).toEqual([
      'config/x.yaml:4:1: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('reports a duplicate key', () => {
    expect(configErrors(`${MINIMAL}listeners: []\n`, 'config/x.yaml')).toEqual(['config/x.yaml:8:1: Map keys must be unique']);
  });

  it('leaves out the source line', () => {
    const errors = configErrors('upstream:\n  password: hunter2\n   bad: [\n', 'x.yaml');
    expect(errors.join('\n')).not.toContain('hunter2');
    expect(errors[0]).toMatch(/^x\.yaml:\d+:\d+: /);
  });
});

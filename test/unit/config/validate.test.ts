import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { configErrors, makeTlsDir, MINIMAL } from './helpers.js';

const USERS = `
users:
  app:
    acl: "on >secret ~* +@all"
`;

/** Builds a config with one loopback listener and `extra` appended at the top level. */
function withTopLevel(extra: string): string {
  return `${MINIMAL}${extra}\n`;
}

/** Builds a config whose only listener is `listener` (a YAML flow map). */
function withListener(listener: string): string {
  return `listeners:\n  - ${listener}\n${USERS}`;
}

describe('top-level fields', () => {
  it.each([
    ['empty file', '', ['respguard.yaml: the file is empty: expected a YAML map with at least listeners and users']],
    ['list at the top', '- a\n- b\n', ['respguard.yaml: invalid value ["a","b"]: expected a YAML map with at least listeners and users']],
    [
      'unknown key with suggestion',
      withTopLevel('listners: []'),
      ['respguard.yaml: listners: unknown key: did you mean "listeners"?'],
    ],
    [
      'unknown key differing in case',
      withTopLevel('blockcommands: []'),
      ['respguard.yaml: blockcommands: unknown key: did you mean "blockCommands"?'],
    ],
    [
      'unknown key without suggestion',
      withTopLevel('frobnicate: 1'),
      [
        'respguard.yaml: frobnicate: unknown key: expected one of listeners, upstream, blockCommands, metrics, workers, audit, users, limits, log, shutdownTimeoutMs',
      ],
    ],
    [
      'missing listeners',
      USERS,
      ['respguard.yaml: listeners: missing value: expected a non-empty list of listeners, each with host and port'],
    ],
    [
      'empty listeners',
      `listeners: []\n${USERS}`,
      ['respguard.yaml: listeners: invalid value []: expected a non-empty list of listeners, each with host and port'],
    ],
    [
      'missing users',
      'listeners:\n  - { host: 127.0.0.1, port: 6380 }\n',
      [
        'respguard.yaml: users: missing value: expected a map of user name to a map with acl, such as { app: { acl: "on >secret ~* +@read" } }',
      ],
    ],
    ['workers zero', withTopLevel('workers: 0'), ['respguard.yaml: workers: invalid value "0": expected a positive integer, or "auto" for one process per CPU core']],
    ['workers text', withTopLevel('workers: many'), ['respguard.yaml: workers: invalid value "many": expected a positive integer, or "auto" for one process per CPU core']],
    ['workers fraction', withTopLevel('workers: 1.5'), ['respguard.yaml: workers: invalid value "1.5": expected a positive integer, or "auto" for one process per CPU core']],
    ['log level', withTopLevel('log: { level: loud }'), ['respguard.yaml: log.level: invalid value "loud": expected one of fatal, error, warn, info, debug, trace, silent']],
    ['log unknown key', withTopLevel('log: { levle: info }'), ['respguard.yaml: log.levle: unknown key: did you mean "level"?']],
    ['shutdownTimeoutMs negative', withTopLevel('shutdownTimeoutMs: -1'), ['respguard.yaml: shutdownTimeoutMs: invalid value "-1": expected an integer of at least 0']],
    ['limits zero', withTopLevel('limits: { maxClients: 0 }'), ['respguard.yaml: limits.maxClients: invalid value "0": expected an integer of at least 1']],
    ['limits unknown key', withTopLevel('limits: { maxClient: 5 }'), ['respguard.yaml: limits.maxClient: unknown key: did you mean "maxClients"?']],
    [
      'limits not a map',
      withTopLevel('limits: 5'),
      [
        'respguard.yaml: limits: invalid value "5": expected a map with any of maxBulkLength, maxMultibulkLength, maxQueryBuffer, maxOutputBuffer, maxClients, maxReplyDepth',
      ],
    ],
    ['metrics port', withTopLevel('metrics: { port: 0 }'), ['respguard.yaml: metrics.port: invalid value "0": expected an integer from 1 to 65535']],
    [
      'metrics on a listener address',
      withTopLevel('metrics: { host: 127.0.0.1, port: 6380 }'),
      ['respguard.yaml: metrics.port: address 127.0.0.1:6380 is also used by listeners[0]: choose another port'],
    ],
  ])('%s', (_name, text, expected) => {
    expect(configErrors(text)).toEqual(expected);
  });
});

describe('listener fields', () => {
  it.each([
    ['port too high', '{ host: 127.0.0.1, port: 70000 }', ['respguard.yaml: listeners[0].port: invalid value "70000": expected an integer from 1 to 65535']],
    ['port zero', '{ host: 127.0.0.1, port: 0 }', ['respguard.yaml: listeners[0].port: invalid value "0": expected an integer from 1 to 65535']],
    ['port as text', '{ host: 127.0.0.1, port: "6380" }', ['respguard.yaml: listeners[0].port: invalid value "6380": expected an integer from 1 to 65535']],
    ['port missing', '{ host: 127.0.0.1 }', ['respguard.yaml: listeners[0].port: missing value: expected an integer from 1 to 65535']],
    [
      'host empty',
      '{ host: "", port: 6380 }',
      ['respguard.yaml: listeners[0].host: invalid value "": expected a host name or IP address, such as 127.0.0.1 (IPv6 without brackets)'],
    ],
    [
      'host in brackets',
      '{ host: "[::1]", port: 6380 }',
      ['respguard.yaml: listeners[0].host: invalid value "[::1]": expected a host name or IP address, such as 127.0.0.1 (IPv6 without brackets)'],
    ],
    [
      'host missing',
      '{ port: 6380 }',
      ['respguard.yaml: listeners[0].host: missing value: expected a host name or IP address, such as 127.0.0.1 (IPv6 without brackets)'],
    ],
    ['unknown key', '{ host: 127.0.0.1, port: 6380, prot: 1 }', ['respguard.yaml: listeners[0].prot: unknown key: did you mean "port"?']],
    [
      'allowPlaintext not boolean',
      '{ host: 127.0.0.1, port: 6380, allowPlaintext: yes }',
      ['respguard.yaml: listeners[0].allowPlaintext: invalid value "yes": expected true or false'],
    ],
    [
      'sources host bits',
      '{ host: 127.0.0.1, port: 6380, sources: [10.0.0.1/8] }',
      ['respguard.yaml: listeners[0].sources[0]: invalid value "10.0.0.1/8": expected the network address "10.0.0.0/8", because host bits are set'],
    ],
    [
      'sources not an address',
      '{ host: 127.0.0.1, port: 6380, sources: [banana] }',
      ['respguard.yaml: listeners[0].sources[0]: invalid value "banana": expected an IPv4 or IPv6 range such as "10.0.0.0/8" or "::1/128"'],
    ],
    [
      'sources prefix too long',
      '{ host: 127.0.0.1, port: 6380, sources: ["::1/129"] }',
      ['respguard.yaml: listeners[0].sources[0]: invalid value "::1/129": expected a prefix length from 0 to 128 after the "/"'],
    ],
    [
      'sources empty',
      '{ host: 127.0.0.1, port: 6380, sources: [] }',
      [
        'respguard.yaml: listeners[0].sources: invalid value []: expected a non-empty list of CIDR ranges such as [10.0.0.0/8, "::1/128"]; remove the key to allow any address',
      ],
    ],
    [
      'listener not a map',
      '6380',
      ['respguard.yaml: listeners[0]: invalid value "6380": expected a map with host and port'],
    ],
  ])('%s', (_name, listener, expected) => {
    expect(configErrors(withListener(listener))).toEqual(expected);
  });

  it('duplicate address', () => {
    const text = `listeners:\n  - { host: 127.0.0.1, port: 6380 }\n  - { host: 127.0.0.1, port: 6380 }\n${USERS}`;
    expect(configErrors(text)).toEqual([
      'respguard.yaml: listeners[1]: duplicate address 127.0.0.1:6380, also used by listeners[0]: give each listener its own host and port',
    ]);
  });

  it('normalizes sources', () => {
    const config = parseConfig(withListener('{ host: 127.0.0.1, port: 6380, sources: [10.0.0.0/8, 192.168.1.7, "::1"] }'), 'respguard.yaml', {});
    expect(config.listeners[0]!.sources).toEqual(['10.0.0.0/8', '192.168.1.7/32', '::1/128']);
  });
});

describe('listener tls', () => {
  const tls = makeTlsDir();
  afterAll(() => tls.remove());

  function tlsErrors(tlsMap: string): string[] {
    return configErrors(withListener(`{ host: 0.0.0.0, port: 6381, tls: ${tlsMap} }`), tls.configFile);
  }

  it('resolves files against the config directory', () => {
    const config = parseConfig(withListener('{ host: 0.0.0.0, port: 6381, tls: { cert: server.crt, key: server.key, ca: ca.crt } }'), tls.configFile, {});
    expect(config.listeners[0]!.tls).toEqual({
      cert: `${tls.dir}/server.crt`,
      key: `${tls.dir}/server.key`,
      ca: `${tls.dir}/ca.crt`,
      clientAuth: 'none',
      minVersion: 'TLSv1.2',
    });
  });

  it('missing cert file', () => {
    expect(tlsErrors('{ cert: nope.crt, key: server.key }')).toEqual([
      `${tls.configFile}: listeners[0].tls.cert: cannot read file ${tls.dir}/nope.crt: not found: check the path (relative paths start at the config file's directory) and the file permissions`,
    ]);
  });

  it('directory as key file', () => {
    expect(tlsErrors(`{ cert: server.crt, key: ${tls.dir} }`)).toEqual([
      `${tls.configFile}: listeners[0].tls.key: invalid value "${tls.dir}": ${tls.dir} is not a regular file`,
    ]);
  });

  it('key missing', () => {
    expect(tlsErrors('{ cert: server.crt }')).toEqual([`${tls.configFile}: listeners[0].tls.key: missing value: expected a file path`]);
  });

  it('clientAuth value', () => {
    expect(tlsErrors('{ cert: server.crt, key: server.key, ca: ca.crt, clientAuth: always }')).toEqual([
      `${tls.configFile}: listeners[0].tls.clientAuth: invalid value "always": expected one of none, request, require`,
    ]);
  });

  it('clientAuth without ca', () => {
    expect(tlsErrors('{ cert: server.crt, key: server.key, clientAuth: require }')).toEqual([
      `${tls.configFile}: listeners[0].tls.clientAuth: "require" needs tls.ca, the CA file that signs the client certificates: add tls.ca or set clientAuth: none`,
    ]);
  });

  it('minVersion value', () => {
    expect(tlsErrors('{ cert: server.crt, key: server.key, minVersion: TLSv1.1 }')).toEqual([
      `${tls.configFile}: listeners[0].tls.minVersion: invalid value "TLSv1.1": expected one of TLSv1.2, TLSv1.3`,
    ]);
  });

  it('unknown tls key', () => {
    expect(tlsErrors('{ cert: server.crt, key: server.key, cipher: x }')).toEqual([
      `${tls.configFile}: listeners[0].tls.cipher: unknown key: did you mean "ciphers"?`,
    ]);
  });
});

describe('upstream fields', () => {
  const tls = makeTlsDir();
  afterAll(() => tls.remove());

  it.each([
    ['port', 'upstream: { port: 99999 }', ['respguard.yaml: upstream.port: invalid value "99999": expected an integer from 1 to 65535']],
    ['mode', 'upstream: { mode: replica }', ['respguard.yaml: upstream.mode: invalid value "replica": expected one of standalone, sentinel, cluster']],
    ['pool size zero', 'upstream: { pool: { size: 0 } }', ['respguard.yaml: upstream.pool.size: invalid value "0": expected an integer from 1 to 1024']],
    ['pool size too big', 'upstream: { pool: { size: 1025 } }', ['respguard.yaml: upstream.pool.size: invalid value "1025": expected an integer from 1 to 1024']],
    ['connect timeout zero', 'upstream: { connectTimeoutMs: 0 }', ['respguard.yaml: upstream.connectTimeoutMs: invalid value "0": expected an integer of at least 1']],
    ['command timeout negative', 'upstream: { commandTimeoutMs: -5 }', ['respguard.yaml: upstream.commandTimeoutMs: invalid value "-5": expected an integer of at least 0']],
    [
      'password not a string',
      'upstream: { password: [hunter2] }',
      ['respguard.yaml: upstream.password: invalid value <hidden>: expected a string (quote a value that YAML reads as a number)'],
    ],
    ['unknown key', 'upstream: { hots: redis }', ['respguard.yaml: upstream.hots: unknown key: did you mean "host"?']],
    [
      'cluster without nodes',
      'upstream: { mode: cluster }',
      ['respguard.yaml: upstream.nodes: missing value: expected a list of cluster seed nodes "host:port", because upstream.mode is cluster'],
    ],
    [
      'cluster node without port',
      'upstream: { mode: cluster, nodes: ["10.0.0.1"] }',
      ['respguard.yaml: upstream.nodes[0]: invalid value "10.0.0.1": expected an address "host:port", such as "10.0.0.1:6379" or "[::1]:6379"'],
    ],
    [
      'cluster nodes empty',
      'upstream: { mode: cluster, nodes: [] }',
      ['respguard.yaml: upstream.nodes: invalid value []: expected a non-empty list of "host:port" addresses, such as ["10.0.0.1:6379"]'],
    ],
    [
      'nodes outside cluster mode',
      'upstream: { nodes: ["10.0.0.1:6379"] }',
      ['respguard.yaml: upstream.nodes: cluster seed nodes are only used with mode: cluster: set upstream.mode: cluster or remove upstream.nodes'],
    ],
    [
      'sentinel without section',
      'upstream: { mode: sentinel }',
      ['respguard.yaml: upstream.sentinel: missing value: expected a map with masterName and nodes, because upstream.mode is sentinel'],
    ],
    [
      'sentinel without masterName and nodes',
      'upstream: { mode: sentinel, sentinel: { password: x } }',
      [
        'respguard.yaml: upstream.sentinel.masterName: missing value: expected a non-empty string',
        'respguard.yaml: upstream.sentinel.nodes: missing value: expected a list of sentinel addresses "host:port"',
      ],
    ],
    [
      'sentinel outside sentinel mode',
      'upstream: { sentinel: { masterName: m, nodes: ["10.0.0.9:26379"] } }',
      ['respguard.yaml: upstream.sentinel: only used with mode: sentinel: set upstream.mode: sentinel or remove upstream.sentinel'],
    ],
    [
      'sentinel node without port',
      'upstream: { mode: sentinel, sentinel: { masterName: m, nodes: ["10.0.0.9"] } }',
      ['respguard.yaml: upstream.sentinel.nodes[0]: invalid value "10.0.0.9": expected an address "host:port", such as "10.0.0.1:6379" or "[::1]:6379"'],
    ],
    [
      'unknown sentinel tls key',
      'upstream: { mode: sentinel, sentinel: { masterName: m, nodes: ["10.0.0.9:26379"], tls: { servername: s.internal, cs: ca.crt } } }',
      ['respguard.yaml: upstream.sentinel.tls.cs: unknown key: did you mean "ca"?'],
    ],
    [
      'sentinel tls not a map',
      'upstream: { mode: sentinel, sentinel: { masterName: m, nodes: ["10.0.0.9:26379"], tls: yes } }',
      ['respguard.yaml: upstream.sentinel.tls: invalid value "yes": expected a map with any of ca, servername, cert, key'],
    ],
    [
      'host and port in sentinel mode',
      'upstream: { mode: sentinel, host: 10.9.9.9, port: 27101, sentinel: { masterName: m, nodes: ["10.0.0.9:26379"] } }',
      [
        'respguard.yaml: upstream.host: only used with mode: standalone, because in sentinel mode respguard finds the Redis nodes through the sentinels in upstream.sentinel.nodes: remove upstream.host',
        'respguard.yaml: upstream.port: only used with mode: standalone, because in sentinel mode respguard finds the Redis nodes through the sentinels in upstream.sentinel.nodes: remove upstream.port',
      ],
    ],
    [
      'port in cluster mode',
      'upstream: { mode: cluster, port: 6379, nodes: ["10.0.0.1:6379"] }',
      ['respguard.yaml: upstream.port: only used with mode: standalone, because in cluster mode respguard finds the Redis nodes through the seeds in upstream.nodes: remove upstream.port'],
    ],
    [
      'host in cluster mode',
      'upstream: { mode: cluster, host: 127.0.0.1, nodes: ["10.0.0.1:6379"] }',
      ['respguard.yaml: upstream.host: only used with mode: standalone, because in cluster mode respguard finds the Redis nodes through the seeds in upstream.nodes: remove upstream.host'],
    ],
    [
      'duplicate sentinel addresses',
      'upstream: { mode: sentinel, sentinel: { masterName: m, nodes: ["127.0.0.1:27111", "127.0.0.1:27112", "127.0.0.1:27111"] } }',
      ['respguard.yaml: upstream.sentinel.nodes[2]: duplicate address "127.0.0.1:27111", also given as upstream.sentinel.nodes[0]: remove one of them'],
    ],
    [
      'duplicate cluster seeds',
      'upstream: { mode: cluster, nodes: ["Redis-A:7000", "redis-a:7000", "[::1]:7000", "[::1]:7000"] }',
      [
        'respguard.yaml: upstream.nodes[1]: duplicate address "redis-a:7000", also given as upstream.nodes[0]: remove one of them',
        'respguard.yaml: upstream.nodes[3]: duplicate address "[::1]:7000", also given as upstream.nodes[2]: remove one of them',
      ],
    ],
  ])('%s', (_name, upstream, expected) => {
    expect(configErrors(withTopLevel(upstream))).toEqual(expected);
  });

  it('client cert without key', () => {
    expect(configErrors(withTopLevel('upstream: { tls: { cert: client.crt } }'), tls.configFile)).toEqual([
      `${tls.configFile}: upstream.tls.key: missing value: expected a file path, because a client certificate needs both cert and key (cert is set)`,
    ]);
  });

  it('sentinel client cert without key', () => {
    const yaml = 'upstream: { mode: sentinel, sentinel: { masterName: m, nodes: ["10.0.0.9:26379"], tls: { cert: client.crt } } }';
    expect(configErrors(withTopLevel(yaml), tls.configFile)).toEqual([
      `${tls.configFile}: upstream.sentinel.tls.key: missing value: expected a file path, because a client certificate needs both cert and key (cert is set)`,
    ]);
  });

  it('missing sentinel ca file', () => {
    const yaml = 'upstream: { mode: sentinel, sentinel: { masterName: m, nodes: ["10.0.0.9:26379"], tls: { ca: missing.crt } } }';
    expect(configErrors(withTopLevel(yaml), tls.configFile)).toEqual([
      `${tls.configFile}: upstream.sentinel.tls.ca: cannot read file ${tls.dir}/missing.crt: not found: check the path (relative paths start at the config file's directory) and the file permissions`,
    ]);
  });

  it('missing upstream ca file', () => {
    expect(configErrors(withTopLevel('upstream: { tls: { ca: missing.crt } }'), tls.configFile)).toEqual([
      `${tls.configFile}: upstream.tls.ca: cannot read file ${tls.dir}/missing.crt: not found: check the path (relative paths start at the config file's directory) and the file permissions`,
    ]);
  });

  it('reads tls, cluster and sentinel sections', () => {
    const tlsConfig = parseConfig(
      withTopLevel('upstream: { tls: { ca: ca.crt, servername: redis.internal, cert: client.crt, key: client.key } }'),
      tls.configFile,
      {},
    );
    expect(tlsConfig.upstream.tls).toEqual({
      ca: `${tls.dir}/ca.crt`,
      servername: 'redis.internal',
      cert: `${tls.dir}/client.crt`,
      key: `${tls.dir}/client.key`,
      rejectUnauthorized: true,
    });

    const cluster = parseConfig(withTopLevel('upstream: { mode: cluster, nodes: ["10.0.0.1:6379", "[::1]:7000"] }'), 'r.yaml', {});
    expect(cluster.upstream.mode).toBe('cluster');
    expect(cluster.upstream.nodes).toEqual(['10.0.0.1:6379', '[::1]:7000']);

    const sentinel = parseConfig(
      withTopLevel('upstream: { mode: sentinel, sentinel: { masterName: mymaster, nodes: ["10.0.0.9:26379"], password: s3 } }'),
      'r.yaml',
      {},
    );
    expect(sentinel.upstream.sentinel).toEqual({ masterName: 'mymaster', nodes: ['10.0.0.9:26379'], password: 's3' });
  });

  it('reads the sentinels\' own TLS apart from the upstream\'s', () => {
    const config = parseConfig(
      withTopLevel(
        'upstream: { mode: sentinel, tls: { ca: ca.crt }, sentinel: { masterName: m, nodes: ["10.0.0.9:26379"], username: watcher, password: s3, tls: { ca: ca.crt, servername: sentinel.internal, rejectUnauthorized: false } } }',
      ),
      tls.configFile,
      {},
    );
    expect(config.upstream.tls).toEqual({ ca: `${tls.dir}/ca.crt`, rejectUnauthorized: true });
    expect(config.upstream.sentinel).toEqual({
      masterName: 'm',
      nodes: ['10.0.0.9:26379'],
      username: 'watcher',
      password: 's3',
      tls: { ca: `${tls.dir}/ca.crt`, servername: 'sentinel.internal', rejectUnauthorized: false },
    });
  });
});

describe('user fields', () => {
  function withUsers(users: string): string {
    return `listeners:\n  - { host: 127.0.0.1, port: 6380 }\nusers:\n${users}\n`;
  }

  it.each([
    ['name with a space', '  "app reader": { acl: "on >x ~* +get" }', ['respguard.yaml: users: invalid user name "app reader": expected a non-empty name without spaces']],
    [
      'acl missing',
      '  app: { sources: [10.0.0.0/8] }',
      ['respguard.yaml: users.app.acl: missing value: expected a Redis ACL rule string, such as "on >secret ~cache:* +get"'],
    ],
    [
      'acl hidden when invalid',
      '  app: { acl: [">hunter2", "~*"] }',
      ['respguard.yaml: users.app.acl: invalid value <hidden>: expected a Redis ACL rule string, such as "on >secret ~cache:* +get"'],
    ],
    ['user not a map', '  app: "on >x"', ['respguard.yaml: users.app: invalid value "on >x": expected a map with acl']],
    ['user empty', '  app:', ['respguard.yaml: users.app: missing value: expected a map with acl']],
    ['unknown key', '  app: { acl: "on >x", source: [10.0.0.0/8] }', ['respguard.yaml: users.app.source: unknown key: did you mean "sources"?']],
    [
      'requireCertificate not boolean',
      '  app: { acl: "on >x", requireCertificate: 1 }',
      ['respguard.yaml: users.app.requireCertificate: invalid value "1": expected true or false'],
    ],
    [
      'requireCertificate without certificates',
      '  app: { acl: "on", requireCertificate: true }',
      ['respguard.yaml: users.app.requireCertificate: true needs users.app.certificates: list the certificate identities that log in as this user'],
    ],
    [
      'empty certificate',
      '  app: { acl: "on >x", certificates: [""] }',
      ['respguard.yaml: users.app.certificates[0]: invalid value "": expected a certificate identity, such as "CN=billing-api" or "URI:spiffe://prod/billing"'],
    ],
    [
      'user sources invalid',
      '  app: { acl: "on >x", sources: ["10.0.0.0/40"] }',
      ['respguard.yaml: users.app.sources[0]: invalid value "10.0.0.0/40": expected a prefix length from 0 to 32 after the "/"'],
    ],
    [
      'readFromReplicas not boolean',
      '  app: { acl: "on >x", readFromReplicas: yes please }',
      ['respguard.yaml: users.app.readFromReplicas: invalid value "yes please": expected true or false'],
    ],
    [
      'readFromReplicas outside sentinel mode',
      '  app: { acl: "on >x", readFromReplicas: true }',
      ['respguard.yaml: users.app.readFromReplicas: replicas are only used with upstream.mode: sentinel: set upstream.mode: sentinel or remove readFromReplicas'],
    ],
  ])('%s', (_name, users, expected) => {
    expect(configErrors(withUsers(users))).toEqual(expected);
  });

  it('reads readFromReplicas in sentinel mode', () => {
    const text = `${withUsers('  app: { acl: "on >x", readFromReplicas: true }\n  other: { acl: "on >y", readFromReplicas: false }')}upstream: { mode: sentinel, sentinel: { masterName: m, nodes: ["10.0.0.9:26379"] } }\n`;
    const config = parseConfig(text, 'r.yaml', {});
    expect(config.users.app!.readFromReplicas).toBe(true);
    expect(config.users.other!.readFromReplicas).toBe(false);
    // false means the same as an absent key, so it is allowed in every mode.
    expect(parseConfig(withUsers('  app: { acl: "on >x", readFromReplicas: false }'), 'r.yaml', {}).users.app!.readFromReplicas).toBe(false);
  });

  it('users empty map', () => {
    expect(configErrors('listeners:\n  - { host: 127.0.0.1, port: 6380 }\nusers: {}\n')).toEqual([
      'respguard.yaml: users: invalid value {}: expected a map of user name to a map with acl, such as { app: { acl: "on >secret ~* +@read" } }',
    ]);
  });
});

describe('blockCommands', () => {
  it.each([
    [
      'name with a space',
      'blockCommands: ["CONFIG SET"]',
      ['respguard.yaml: blockCommands[0]: invalid value "CONFIG SET": expected a command name such as "FLUSHALL", or "NAME|SUBCOMMAND" such as "CONFIG|SET"'],
    ],
    [
      'number',
      'blockCommands: [5]',
      ['respguard.yaml: blockCommands[0]: invalid value "5": expected a command name such as "FLUSHALL", or "NAME|SUBCOMMAND" such as "CONFIG|SET"'],
    ],
    [
      'not a list',
      'blockCommands: FLUSHALL',
      ['respguard.yaml: blockCommands: invalid value "FLUSHALL": expected a list of command names such as [FLUSHALL, "CONFIG|SET"]; [] blocks nothing'],
    ],
  ])('%s', (_name, line, expected) => {
    expect(configErrors(withTopLevel(line))).toEqual(expected);
  });

  it('upper-cases and deduplicates names', () => {
    const config = parseConfig(withTopLevel('blockCommands: [flushall, "config|set", FLUSHALL, json.set]'), 'r.yaml', {});
    expect(config.blockCommands).toEqual(['FLUSHALL', 'CONFIG|SET', 'JSON.SET']);
  });

  it('empty list blocks nothing', () => {
    expect(parseConfig(withTopLevel('blockCommands: []'), 'r.yaml', {}).blockCommands).toEqual([]);
  });
});

describe('error collection', () => {
  it('reports every error at once', () => {
    const text = `
listeners:
  - { host: 127.0.0.1, port: 70000 }
upstream: { pool: { size: 0 } }
workers: none
users:
  app: { acl: "on >x" }
log: { level: loud }
`;
    expect(configErrors(text)).toEqual([
      'respguard.yaml: listeners[0].port: invalid value "70000": expected an integer from 1 to 65535',
      'respguard.yaml: upstream.pool.size: invalid value "0": expected an integer from 1 to 1024',
      'respguard.yaml: workers: invalid value "none": expected a positive integer, or "auto" for one process per CPU core',
      'respguard.yaml: log.level: invalid value "loud": expected one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });
});

/**
 * Reading sentinel and ROLE replies and sentinel event messages, in RESP2 and RESP3, from bytes
 * as Redis 7.0.15 sends them.
 */
import { describe, expect, it } from 'vitest';
import { decodeReply } from '../../../src/resp/reply-value.js';
import { parseEvent, parseMasterAddress, parseReplicas, parseRole, splitNodeAddress } from '../../../src/upstream/sentinel/replies.js';

const decode = (text: string) => decodeReply(Buffer.from(text));

/** Returns a SENTINEL REPLICAS entry in RESP3, with the fields that matter here. */
function replicaMap(port: number, flags: string, link = 'ok'): string {
  const fields = ['name', `127.0.0.1:${port}`, 'ip', '127.0.0.1', 'port', String(port), 'flags', flags, 'master-link-status', link];
  return `%${fields.length / 2}\r\n` + fields.map((field) => `$${field.length}\r\n${field}\r\n`).join('');
}

describe('sentinel replies', () => {
  it('reads the primary address of GET-MASTER-ADDR-BY-NAME', () => {
    expect(parseMasterAddress(decode('*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n'))).toBe('127.0.0.1:6379');
    expect(parseMasterAddress(decode('*2\r\n$3\r\n::1\r\n$4\r\n6379\r\n'))).toBe('::1:6379');
  });

  it('reads an unknown master name as null, in RESP2 and RESP3', () => {
    expect(parseMasterAddress(decode('*-1\r\n'))).toBe(null);
    expect(parseMasterAddress(decode('_\r\n'))).toBe(null);
  });

  it('rejects an address without a valid port', () => {
    expect(() => parseMasterAddress(decode('*2\r\n$9\r\n127.0.0.1\r\n$1\r\n0\r\n'))).toThrow('invalid address');
    expect(() => parseMasterAddress(decode('+OK\r\n'))).toThrow('not a host and a port');
  });

  it('reads the role of ROLE', () => {
    expect(parseRole(decode('*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n'))).toBe('master');
    expect(parseRole(decode('*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6379\r\n$9\r\nconnected\r\n:14\r\n'))).toBe('slave');
    expect(() => parseRole(decode(':1\r\n'))).toThrow('ROLE reply');
  });

  it('keeps the replicas that are up, and whether their link is', () => {
    const reply = [
      replicaMap(7001, 'slave'),
      replicaMap(7002, 's_down,slave'),
      replicaMap(7003, 'slave,disconnected'),
      replicaMap(7004, 'slave', 'err'),
      replicaMap(7005, 'o_down,slave'),
      replicaMap(7006, 'slave,promoted'),
    ];
    expect(parseReplicas(decode(`*${reply.length}\r\n${reply.join('')}`))).toEqual([
      { address: '127.0.0.1:7001', linkUp: true },
      { address: '127.0.0.1:7004', linkUp: false },
      { address: '127.0.0.1:7006', linkUp: true },
    ]);
  });

  it('reads RESP2 replica entries as name and value pairs', () => {
    const entry = ['ip', '10.0.0.2', 'port', '6379', 'flags', 'slave', 'master-link-status', 'ok'];
    const bytes = `*1\r\n*${entry.length}\r\n` + entry.map((field) => `$${field.length}\r\n${field}\r\n`).join('');
    expect(parseReplicas(decode(bytes))).toEqual([{ address: '10.0.0.2:6379', linkUp: true }]);
  });

  it('splits node addresses, IPv6 ones included', () => {
    expect(splitNodeAddress('10.0.0.9:26379')).toEqual({ host: '10.0.0.9', port: 26379 });
    expect(splitNodeAddress('[::1]:26379')).toEqual({ host: '::1', port: 26379 });
    expect(splitNodeAddress('::1:6379')).toEqual({ host: '::1', port: 6379 });
  });
});

describe('sentinel events', () => {
  it('reads +switch-master', () => {
    expect(parseEvent('+switch-master', 'mymaster 127.0.0.1 6379 127.0.0.1 6380')).toEqual({
      kind: 'switch',
      master: 'mymaster',
      from: '127.0.0.1:6379',
      to: '127.0.0.1:6380',
    });
  });

  it('reads +selected-slave as the start of a failover of the primary after @', () => {
    expect(parseEvent('+selected-slave', 'slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379')).toEqual({
      kind: 'failover-start',
      master: 'mymaster',
      primary: '127.0.0.1:6379',
    });
  });

  it('reads the end and the abort of a failover', () => {
    const end = { kind: 'failover-end', master: 'mymaster', primary: '127.0.0.1:6379' };
    expect(parseEvent('+failover-end', 'master mymaster 127.0.0.1 6379')).toEqual(end);
    expect(parseEvent('-failover-abort-slave-timeout', 'master mymaster 127.0.0.1 6379')).toEqual(end);
  });

  it('ignores other channels and malformed messages', () => {
    expect(parseEvent('+sdown', 'master mymaster 127.0.0.1 6379')).toBe(null);
    expect(parseEvent('+switch-master', 'mymaster 127.0.0.1 6379')).toBe(null);
    expect(parseEvent('+selected-slave', 'slave 127.0.0.1:6380 127.0.0.1 6380')).toBe(null);
  });
});

/**
 * Reading what sentinels and Redis nodes tell respguard in sentinel mode: the primary's address
 * (SENTINEL GET-MASTER-ADDR-BY-NAME), the replicas that are up (SENTINEL REPLICAS), a node's
 * ROLE, and the failover events published on a sentinel's channels. Pure functions over decoded
 * replies (RESP2 or RESP3), so that each can be tested without a server.
 *
 * Addresses are `host:port`, with the port after the last colon (IPv6 hosts stay bare).
 */
import type { RespValue } from '../../resp/reply-value.js';

/** Replica flags that make SENTINEL REPLICAS entries unfit for reads, and their pools close. */
const UNFIT_REPLICA_FLAGS = ['s_down', 'o_down', 'disconnected'];

/** A failover step, from the event channels that respguard subscribes to. */
export type SentinelEvent =
  /** `+switch-master`: the sentinel now names `to` as the primary of `master`. */
  | { readonly kind: 'switch'; readonly master: string; readonly from: string; readonly to: string }
  /** `+selected-slave`: the sentinel leading a failover of `primary` is about to promote a replica. */
  | { readonly kind: 'failover-start'; readonly master: string; readonly primary: string }
  /** `+failover-end` or `-failover-abort-slave-timeout`: the failover of `primary` finished or gave up. */
  | { readonly kind: 'failover-end'; readonly master: string; readonly primary: string };

/** The sentinel channels that respguard subscribes to. */
export const EVENT_CHANNELS = ['+switch-master', '+selected-slave', '+failover-end', '-failover-abort-slave-timeout'] as const;

/** Text of a bulk or simple string, else null. */
function text(value: RespValue | undefined): string | null {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return null;
}

/** `host:port` from the separate host and port that sentinels reply with. */
export function joinAddress(host: string, port: string | number): string {
  return `${host}:${port}`;
}

/** Splits `host:port` at the last colon; `[::1]:6379`, as the config writes IPv6, loses its brackets. */
export function splitNodeAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port: Number(address.slice(colon + 1)) };
}

/** Reads a GET-MASTER-ADDR-BY-NAME reply: the primary's address, or null when the sentinel does not monitor that name. */
export function parseMasterAddress(value: RespValue): string | null {
  if (value === null) return null;
  if (!Array.isArray(value) || value.length !== 2) throw new Error('GET-MASTER-ADDR-BY-NAME reply is not a host and a port');
  const host = text(value[0]);
  const port = Number(text(value[1]));
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error('GET-MASTER-ADDR-BY-NAME reply has an invalid address');
  return joinAddress(host, port);
}

/** Reads the role (master, slave, sentinel) from a ROLE reply. */
export function parseRole(value: RespValue): string {
  const role = Array.isArray(value) ? text(value[0]) : null;
  if (role === null) throw new Error('ROLE reply does not start with a role');
  return role;
}

/** A replica that the sentinels list as up. */
export interface ReplicaState {
  readonly address: string;
  /** True while its link to the primary is up; reads skip it otherwise (it is resynchronizing). */
  readonly linkUp: boolean;
}

/** Reads a SENTINEL REPLICAS reply into the replicas not flagged s_down, o_down or disconnected. */
export function parseReplicas(value: RespValue): ReplicaState[] {
  if (!Array.isArray(value)) throw new Error('SENTINEL REPLICAS reply is not an array');
  const replicas: ReplicaState[] = [];
  for (const entry of value) {
    const fields = fieldMap(entry);
    const host = fields.get('ip');
    const port = fields.get('port');
    if (!host || !port) continue;
    const flags = (fields.get('flags') ?? '').split(',');
    if (flags.some((flag) => UNFIT_REPLICA_FLAGS.includes(flag))) continue;
    replicas.push({ address: joinAddress(host, port), linkUp: fields.get('master-link-status') === 'ok' });
  }
  return replicas;
}

/** Reads the fields of one instance: a RESP3 map, or a RESP2 array of names and values. */
function fieldMap(entry: RespValue): Map<string, string> {
  const fields = new Map<string, string>();
  if (entry instanceof Map) {
    for (const [name, item] of entry) {
      const key = text(name);
      const value = text(item);
      if (key !== null && value !== null) fields.set(key, value);
    }
  } else if (Array.isArray(entry)) {
    for (let i = 0; i + 1 < entry.length; i += 2) {
      const key = text(entry[i]);
      const value = text(entry[i + 1]);
      if (key !== null && value !== null) fields.set(key, value);
    }
  }
  return fields;
}

/**
 * Reads a message of one of EVENT_CHANNELS, or returns null for anything else. Formats, as
 * Redis 7 publishes them:
 * - `+switch-master`: `<master> <old ip> <old port> <new ip> <new port>`
 * - `+selected-slave`: `slave <ip>:<port> <ip> <port> @ <master> <master ip> <master port>`
 * - `+failover-end`, `-failover-abort-slave-timeout`: `master <master> <ip> <port>`
 */
export function parseEvent(channel: string, message: string): SentinelEvent | null {
  const words = message.split(' ');
  if (channel === '+switch-master') {
    if (words.length !== 5) return null;
    return { kind: 'switch', master: words[0]!, from: joinAddress(words[1]!, words[2]!), to: joinAddress(words[3]!, words[4]!) };
  }
  if (channel === '+selected-slave') {
    const at = words.indexOf('@');
    if (at < 0 || words.length < at + 4) return null;
    return { kind: 'failover-start', master: words[at + 1]!, primary: joinAddress(words[at + 2]!, words[at + 3]!) };
  }
  if (channel === '+failover-end' || channel === '-failover-abort-slave-timeout') {
    if (words.length < 4 || words[0] !== 'master') return null;
    return { kind: 'failover-end', master: words[1]!, primary: joinAddress(words[2]!, words[3]!) };
  }
  return null;
}

/** Reads a RESP3 push `message <channel> <payload>` into its channel and payload, or null for another push. */
export function parseMessagePush(items: readonly RespValue[]): { channel: string; message: string } | null {
  if (items.length !== 3 || text(items[0]) !== 'message') return null;
  const channel = text(items[1]);
  const message = text(items[2]);
  return channel === null || message === null ? null : { channel, message };
}

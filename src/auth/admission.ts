/**
 * Who a client is before and beyond its password: the verified TLS client certificate and the
 * source address of its connection. The session asks this module which user a certificate logs
 * in as, and whether a user may log in from this peer at all.
 */
import type net from 'node:net';
import type { CompiledUser } from '../acl/types.js';
import type { Policy } from '../policy.js';

/** What respguard knows of the peer of a client connection. */
export interface PeerIdentity {
  /** Subjects of the client certificate, only when the certificate was verified against the listener's CA. */
  readonly certificateSubjects: readonly string[];
  /** Remote IP address of the connection. */
  readonly address: string;
}

/** Reads the peer identity of an accepted socket. */
export function peerIdentity(socket: net.Socket): PeerIdentity {
  // TODO(tls): read verified client certificate subjects (CN and SANs) from TLS sockets.
  return { certificateSubjects: [], address: socket.remoteAddress ?? '' };
}

/** Returns the user that a verified client certificate logs in as, or null. */
export function certificateUser(_policy: Policy, _peer: PeerIdentity): CompiledUser | null {
  // TODO(tls): match certificate subjects against users' `certificates`.
  return null;
}

/**
 * Decides whether `userName` may log in from this peer by password; returns null when it may,
 * else the reason for the audit log (certificate required, source address not allowed).
 */
export function passwordLoginRefusal(_policy: Policy, _userName: string, _peer: PeerIdentity): string | null {
  // TODO(tls): enforce `requireCertificate` and per-user `sources`.
  return null;
}

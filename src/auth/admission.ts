/**
 * Who a client is before and beyond its password: the verified TLS client certificate and the
 * source address of its connection. The session asks this module which user a certificate logs
 * in as, and whether a user may log in from this peer at all.
 *
 * Invariants: a certificate that did not verify against the listener's CA identifies nobody; a
 * user with `requireCertificate` is reachable only with a verified certificate listed in its
 * `certificates`; a user with `sources` is reachable only from those addresses, by password and
 * by certificate alike. Refusal reasons are fixed strings, because the audit log and the metrics
 * use them as labels.
 */
import type net from 'node:net';
import type { CompiledUser } from '../acl/types.js';
import type { UserConfig } from '../config/types.js';
import { AddressAllowlist } from '../listener/allowlist.js';
import type { Policy } from '../policy.js';
import { verifiedCertificateIdentities } from './certificates.js';

/** Refusal reason: the peer address is outside the user's `sources`. */
export const SOURCE_NOT_ALLOWED = 'source address not allowed';
/** Refusal reason: the user has `requireCertificate` and the connection has no matching verified certificate. */
export const CERTIFICATE_REQUIRED = 'client certificate required';
/** Refusal reason: the certificate matches the `certificates` of more than one user. */
export const CERTIFICATE_AMBIGUOUS = 'certificate matches more than one user';

/** What respguard knows of the peer of a client connection. */
export interface PeerIdentity {
  /**
   * Identities of the client certificate (`CN=…`, `DNS:…`, `URI:…`), only when the certificate
   * was verified against the listener's CA; empty otherwise.
   */
  readonly certificateSubjects: readonly string[];
  /** Remote IP address of the connection, as the socket reports it; empty when unknown. */
  readonly address: string;
}

/** Reads the peer identity of an accepted socket. */
export function peerIdentity(socket: net.Socket): PeerIdentity {
  return { certificateSubjects: verifiedCertificateIdentities(socket), address: socket.remoteAddress ?? '' };
}

/**
 * Returns the user that a verified client certificate logs in as, or null. The certificate must
 * match the `certificates` of exactly one user, that user must be enabled, and the peer address
 * must be inside the user's `sources`.
 */
export function certificateUser(policy: Policy, peer: PeerIdentity): CompiledUser | null {
  const login = resolveCertificateLogin(policy, peer);
  return login !== null && 'user' in login ? login.user : null;
}

/**
 * Returns why a verified client certificate that matches a user's `certificates` does not log in
 * as that user, for the audit log; null when it logs in or matches no user.
 */
export function certificateLoginRefusal(policy: Policy, peer: PeerIdentity): string | null {
  const login = resolveCertificateLogin(policy, peer);
  return login !== null && 'refusal' in login ? login.refusal : null;
}

/**
 * Decides whether `userName` may log in from this peer by password; returns null when it may,
 * else the reason for the audit log (certificate required, source address not allowed).
 */
export function passwordLoginRefusal(policy: Policy, userName: string, peer: PeerIdentity): string | null {
  const config = policy.userConfigs.get(userName);
  if (config === undefined) return null;
  if (!sourceAllowed(config, peer.address)) return SOURCE_NOT_ALLOWED;
  if (config.requireCertificate && !certificateMatches(config, peer)) return CERTIFICATE_REQUIRED;
  return null;
}

type CertificateLogin = { readonly user: CompiledUser } | { readonly refusal: string } | null;

function resolveCertificateLogin(policy: Policy, peer: PeerIdentity): CertificateLogin {
  if (peer.certificateSubjects.length === 0) return null;

  const matches: string[] = [];
  for (const [name, config] of policy.userConfigs) {
    if (certificateMatches(config, peer)) matches.push(name);
  }
  if (matches.length === 0) return null;
  if (matches.length > 1) return { refusal: CERTIFICATE_AMBIGUOUS };

  const name = matches[0]!;
  const user = policy.users.get(name);
  if (user === undefined || !user.enabled) return { refusal: 'user disabled' };
  if (!sourceAllowed(policy.userConfigs.get(name)!, peer.address)) return { refusal: SOURCE_NOT_ALLOWED };
  return { user };
}

function certificateMatches(config: UserConfig, peer: PeerIdentity): boolean {
  const listed = config.certificates;
  if (listed === undefined || peer.certificateSubjects.length === 0) return false;
  return peer.certificateSubjects.some((identity) => listed.includes(identity));
}

// Compiled allowlists, keyed by the frozen UserConfig objects that a reload replaces whole.
const allowlists = new WeakMap<UserConfig, AddressAllowlist>();

function sourceAllowed(config: UserConfig, address: string): boolean {
  if (config.sources === undefined) return true;
  let allowlist = allowlists.get(config);
  if (allowlist === undefined) {
    allowlist = new AddressAllowlist(config.sources);
    allowlists.set(config, allowlist);
  }
  return allowlist.allows(address);
}

/**
 * Password checks for AUTH and HELLO. Passwords are kept only as SHA-256 digests, as Redis keeps
 * them. Every stored digest is compared in full with crypto.timingSafeEqual, so the time of a
 * check does not tell which digest matched, or whether one did.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { CompiledUser } from '../acl/types.js';

/** Returns the 32-byte SHA-256 digest of a password (a string is taken as UTF-8). */
export function sha256(password: Buffer | string): Buffer {
  return createHash('sha256').update(password).digest();
}

/**
 * Checks a password against a compiled user in constant time. A nopass user accepts any
 * password. Otherwise the SHA-256 of the password is compared with every stored hash with
 * crypto.timingSafeEqual, even after a match. A disabled user (`off`) is rejected whatever the
 * password, as Redis's ACLCheckUserCredentials does.
 */
export function checkPassword(user: CompiledUser, password: Buffer): boolean {
  if (!user.enabled) return false;
  if (user.nopass) return true;
  const digest = sha256(password);
  let matched = false;
  for (const stored of user.passwordHashes) {
    // Compared before `matched` is read, so that an earlier match skips no comparison.
    const equal = stored.length === digest.length && timingSafeEqual(stored, digest);
    matched = matched || equal;
  }
  return matched;
}

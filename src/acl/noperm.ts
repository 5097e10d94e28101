/**
 * Client-facing texts of ACL denials, as Redis 7.0.15 writes them after `-` in the error reply
 * (processCommand's NOPERM lines). They never name the denied key or channel, unlike ACL DRYRUN.
 */
import type { Decision } from './types.js';

/**
 * Returns the exact -NOPERM error payload (without '-' and CRLF) that Redis 7.0.15 sends for
 * this decision, e.g. "NOPERM this user has no permissions to run the 'set' command".
 * `userName` is accepted for callers that log the denial; Redis 7.0 does not put it in the text.
 */
export function nopermText(decision: Decision & { allowed: false }, userName: string): string {
  void userName;
  switch (decision.reason) {
    case 'command':
      return `NOPERM this user has no permissions to run the '${decision.command}' command`;
    case 'key':
      return 'NOPERM this user has no permissions to access one of the keys used as arguments';
    case 'channel':
      return 'NOPERM this user has no permissions to access one of the channels used as arguments';
  }
}

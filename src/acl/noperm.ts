/**
 * Client-facing texts of ACL denials. For command, key and channel denials they are Redis
 * 7.0.15's own texts: the error lines of processCommand, which never name the denied key or
 * channel, and the ACL DRYRUN replies, which do. respguard's stricter checks add two texts of
 * their own, listed in docs/acl.md: one for scripts and functions, and Redis's own error for a
 * SORT pattern, which Redis sends only when the command runs.
 */
import type { Decision } from './types.js';

/** A denial, as `check` returns it. */
export type Denial = Decision & { allowed: false };

/**
 * Returns the error payload (without '-' and CRLF) that a client gets for this denial, e.g.
 * "NOPERM this user has no permissions to run the 'set' command". A key denial made by a
 * stricter check gets the same text as one made by Redis's check.
 * `userName` is accepted for callers that log the denial; Redis 7.0 does not put it in the text.
 */
export function nopermText(decision: Denial, userName: string): string {
  void userName;
  switch (decision.reason) {
    case 'command':
      return `NOPERM this user has no permissions to run the '${decision.command}' command`;
    case 'key':
      return 'NOPERM this user has no permissions to access one of the keys used as arguments';
    case 'channel':
      return 'NOPERM this user has no permissions to access one of the channels used as arguments';
    case 'script':
      return `NOPERM ${scriptDenialText(decision.command)}`;
    case 'sort-pattern':
      return `ERR ${sortPatternText(decision)}`;
  }
}

/**
 * Returns the ACL DRYRUN reply for a denial, as bytes. Command, key and channel denials get
 * Redis 7.0.15's texts, which quote the denied argument from `args` (args[0] is the command
 * name) up to its first NUL byte. The other reasons get respguard's texts.
 */
export function dryrunDenialText(decision: Denial, args: readonly Buffer[]): Buffer {
  switch (decision.reason) {
    case 'command':
      return Buffer.from(`This user has no permissions to run the '${decision.command}' command`);
    case 'key':
    case 'channel':
      return Buffer.concat([
        Buffer.from("This user has no permissions to access the '"),
        cString(args[decision.argIndex!]),
        Buffer.from(`' ${decision.reason}`),
      ]);
    case 'script':
      return Buffer.from(capitalize(scriptDenialText(decision.command)));
    case 'sort-pattern':
      return Buffer.from(sortPatternText(decision));
  }
}

function scriptDenialText(command: string): string {
  return (
    `this user has no permissions to run the '${command}' command, because scripts and functions run with ` +
    "respguard's upstream rights, beyond this user's ACL rules and respguard's blockCommands. " +
    'Set allowScripts: true for the user in the respguard config to allow them'
  );
}

/** Redis 7.0.15's reply to a SORT pattern from a user who may not read every key. */
function sortPatternText(decision: Denial): string {
  return `${decision.sortOption ?? 'BY'} option of SORT denied due to insufficient ACL permissions.`;
}

/** Returns the bytes of an argument that Redis's %s prints, which end at the first NUL. */
function cString(arg: Buffer | undefined): Buffer {
  if (arg === undefined) return Buffer.alloc(0);
  const nul = arg.indexOf(0);
  return nul < 0 ? arg : arg.subarray(0, nul);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Types of the compiled policy. A user is compiled once from its Redis ACL rule string against
 * the command table; evaluating a command against it is pure (no I/O, no logging).
 */
import type { CommandInfo } from '../commands/types.js';

/**
 * Why a command was not allowed. `command`, `key` and `channel` are the denials of Redis's ACL
 * (`ACL LOG` reasons). `script` and `sort-pattern` come only from respguard's stricter checks:
 * a script or function from a restricted user, and a SORT BY or GET pattern from a user who may
 * not read every key.
 */
export type DenialReason = 'command' | 'key' | 'channel' | 'script' | 'sort-pattern';

export type Decision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      readonly reason: DenialReason;
      /** Full lower-case name of the command (`client|kill`). */
      readonly command: string;
      /**
       * Index in the arguments of the denied key or channel, for reasons `key` and `channel`,
       * or of the denied pattern, for `sort-pattern`.
       */
      readonly argIndex?: number;
      /**
       * The selector whose denial is reported: 0 for the user's root rules, 1 and up for the
       * selectors in parentheses, in order. Absent when every selector denies the command itself.
       */
      readonly selector?: number;
      /**
       * Set when Redis 7.0's own ACL check (ACL DRYRUN) allows the request and one of
       * respguard's stricter checks denies it. docs/acl.md lists those checks.
       */
      readonly stricter?: true;
      /** The SORT option whose pattern was denied, for reason `sort-pattern`. */
      readonly sortOption?: 'BY' | 'GET';
    };

/** A user compiled from its rule string. Immutable. */
export interface CompiledUser {
  readonly name: string;
  readonly enabled: boolean;
  /** `nopass`: any password, or none, authenticates. */
  readonly nopass: boolean;
  /**
   * Report-only mode (`enforce: false` in the config): denials are logged and counted, and the
   * command is forwarded all the same. Absent means enforced.
   */
  readonly reportOnly?: boolean;
  /**
   * `allowScripts: true` in the config: scripts and functions are allowed although the user's
   * rules restrict keys, channels or commands. Absent means false.
   */
  readonly allowScripts?: boolean;
  /** SHA-256 digests of the accepted passwords, as 32-byte buffers. */
  readonly passwordHashes: readonly Buffer[];
  /**
   * Decides whether this user may run `command` with `args` (args[0] is the command name,
   * args[1] the subcommand for a container command).
   */
  check(command: CommandInfo, args: readonly Buffer[]): Decision;
}

/**
 * Types of the compiled policy. A user is compiled once from its Redis ACL rule string against
 * the command table; evaluating a command against it is pure (no I/O, no logging).
 */
import type { CommandInfo } from '../commands/types.js';

/** Why a command was not allowed, in the terms of Redis's ACL (`ACL LOG` reasons). */
export type DenialReason = 'command' | 'key' | 'channel';

export type Decision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      readonly reason: DenialReason;
      /** Full lower-case name of the command (`client|kill`). */
      readonly command: string;
      /** Index in the arguments of the key or channel that was denied, for `reason` key and channel. */
      readonly argIndex?: number;
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
  /** SHA-256 digests of the accepted passwords, as 32-byte buffers. */
  readonly passwordHashes: readonly Buffer[];
  /**
   * Decides whether this user may run `command` with `args` (args[0] is the command name,
   * args[1] the subcommand for a container command).
   */
  check(command: CommandInfo, args: readonly Buffer[]): Decision;
}

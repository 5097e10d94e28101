/**
 * The compiled form of a user, as compile.ts builds it once per config load. `check` first makes
 * Redis 7.0's own ACL decision and then, for a request that decision allows, respguard's stricter
 * checks. Both are pure. For a command without stricter checks, the second step costs one
 * table lookup.
 */
import type { CommandInfo } from '../commands/types.js';
import { checkSelectors } from './check.js';
import type { CompiledSelector } from './selector.js';
import { checkStricter } from './stricter-checks.js';
import type { TableIndex } from './table-index.js';
import type { CompiledUser, Decision } from './types.js';

/**
 * State of Redis's payload-sanitizing user flags: never set (a user that ACL SETUSER creates),
 * `sanitize-payload` (also set by `reset`), or `skip-sanitize-payload`. respguard only shows it.
 */
export type PayloadSanitizing = 'unset' | 'sanitize' | 'skip';

/** Everything a user is built from. */
export interface AclUserFields {
  readonly name: string;
  readonly enabled: boolean;
  readonly nopass: boolean;
  readonly sanitizing: PayloadSanitizing;
  /** Hex SHA-256 digests of the passwords, in the order Redis keeps them. */
  readonly hexDigests: readonly string[];
  /** The root selector first, then the selectors in parentheses. */
  readonly selectors: readonly CompiledSelector[];
  readonly index: TableIndex;
  readonly reportOnly: boolean;
  readonly allowScripts: boolean;
  readonly scriptsNeedOptIn: boolean;
}

/** A compiled user. Immutable. */
export class AclUser implements CompiledUser {
  readonly name: string;
  readonly enabled: boolean;
  readonly nopass: boolean;
  readonly reportOnly: boolean;
  readonly allowScripts: boolean;
  readonly sanitizing: PayloadSanitizing;
  readonly passwordHashes: readonly Buffer[];
  /** Hex SHA-256 digests, as ACL GETUSER and ACL LIST show them. */
  readonly hexDigests: readonly string[];
  readonly selectors: readonly CompiledSelector[];
  /** Some selector allows every command on every key and channel. */
  readonly unrestricted: boolean;
  /** Scripts need allowScripts even when `unrestricted` (the blocklist is not empty). */
  readonly scriptsNeedOptIn: boolean;
  readonly index: TableIndex;

  constructor(fields: AclUserFields) {
    this.name = fields.name;
    this.enabled = fields.enabled;
    this.nopass = fields.nopass;
    this.reportOnly = fields.reportOnly;
    this.allowScripts = fields.allowScripts;
    this.sanitizing = fields.sanitizing;
    this.hexDigests = Object.freeze([...fields.hexDigests]);
    this.passwordHashes = Object.freeze(fields.hexDigests.map((hex) => Buffer.from(hex, 'hex')));
    this.selectors = Object.freeze([...fields.selectors]);
    this.unrestricted = fields.selectors.some((selector) => selector.unrestricted);
    this.scriptsNeedOptIn = fields.scriptsNeedOptIn;
    this.index = fields.index;
    Object.freeze(this);
  }

  check(command: CommandInfo, args: readonly Buffer[]): Decision {
    const decision = checkSelectors(this.selectors, this.index, command, args);
    if (!decision.allowed) return decision;
    return checkStricter(this, this.index, command, args);
  }
}

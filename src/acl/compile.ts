/**
 * Compiles a user's Redis 7.0 ACL rule string (the arguments of `ACL SETUSER` after the name)
 * into a CompiledUser, once, when the configuration is loaded. Rules apply in order from the
 * state of a user that ACL SETUSER creates: off, no passwords, no keys, no channels
 * (acl-pubsub-default is resetchannels in 7.0), no commands. A rule string that Redis would
 * reject is rejected here with Redis's reason, so a policy means the same in respguard as in
 * Redis.
 */
import { createHash } from 'node:crypto';
import type { CommandTable } from '../commands/table.js';
import { RespguardError } from '../errors.js';
import { RuleError, RuleReason, SelectorBuilder } from './selector.js';
import { cString, isSpaceByte, mergeSelectorWords, RuleSyntaxError, splitSelectorBody, splitWords } from './split.js';
import { lowerAscii, tableIndex, type TableIndex } from './table-index.js';
import type { CompiledUser } from './types.js';
import { AclUser, type PayloadSanitizing } from './user.js';

const OPEN_PAREN = 0x28;
const CLOSE_PAREN = 0x29;
const GREATER = 0x3e;
const LESS = 0x3c;
const HASH = 0x23;
const BANG = 0x21;

/** Per-user settings of the respguard config that are not part of the ACL rule string. */
export interface CompileOptions {
  /** `enforce: false`: denials are logged and the command is forwarded all the same. */
  readonly reportOnly?: boolean;
  /** `allowScripts: true`: scripts and functions are allowed although the user is restricted. */
  readonly allowScripts?: boolean;
  /**
   * Scripts need `allowScripts` even for a user whose rules allow everything. Set while the
   * blocklist is not empty, because a script's own commands pass neither the user's rules nor
   * the blocklist.
   */
  readonly scriptsNeedOptIn?: boolean;
}

/**
 * Compiles a user's rule string against the table. Throws RespguardError('RG_ERR_ACL_RULE')
 * whose message names the user and gives Redis 7.0's own ACL SETUSER error text, such as
 * `user "app": Error in ACL SETUSER modifier '+nosuchcommand': Unknown command or category name in ACL`.
 * In that text the password of a failing `<password` rule is replaced by `***`.
 */
export function compileUser(name: string, rules: string, table: CommandTable, options: CompileOptions = {}): CompiledUser {
  const prefix = `user ${JSON.stringify(name)}: `;
  if (hasSpaceOrNul(name)) {
    throw new RespguardError('RG_ERR_ACL_RULE', `${prefix}Usernames can't contain spaces or null characters`);
  }
  let ops: Buffer[];
  try {
    ops = mergeSelectorWords(splitWords(rules));
  } catch (error) {
    if (error instanceof RuleSyntaxError) throw new RespguardError('RG_ERR_ACL_RULE', prefix + error.message);
    throw error;
  }

  const state = new UserState(tableIndex(table));
  for (const op of ops) {
    try {
      state.apply(op);
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      // Redis quotes the operation with %s, which stops at a NUL byte.
      const quotedOp = op[0] === LESS ? '<***' : cString(op).toString('utf8');
      throw new RespguardError('RG_ERR_ACL_RULE', `${prefix}Error in ACL SETUSER modifier '${quotedOp}': ${error.message}`);
    }
  }
  return state.build(name, options);
}

/** A user under construction, with Redis's user-level operations around its selectors. */
class UserState {
  private readonly index: TableIndex;
  private enabled = false;
  private nopass = false;
  private sanitizing: PayloadSanitizing = 'unset';
  /** Hex SHA-256 digests, in the order Redis keeps them. */
  private passwords: string[] = [];
  private root: SelectorBuilder;
  private selectors: SelectorBuilder[] = [];

  constructor(index: TableIndex) {
    this.index = index;
    this.root = new SelectorBuilder(index);
  }

  /** Applies one operation as Redis's ACLSetUser does; throws RuleError when Redis would reject it. */
  apply(op: Buffer): void {
    if (op.length === 0) return;
    const word = lowerAscii(cString(op).toString('latin1'));
    if (word === 'on' || word === 'off') {
      this.enabled = word === 'on';
    } else if (word === 'skip-sanitize-payload' || word === 'sanitize-payload') {
      // Redis sanitizes RESTORE payloads itself, so these flags change nothing in the proxy.
      // They are kept only to show the user's flags as Redis does.
      this.sanitizing = word === 'sanitize-payload' ? 'sanitize' : 'skip';
    } else if (word === 'nopass' || word === 'resetpass') {
      this.nopass = word === 'nopass';
      this.passwords = [];
    } else if (op[0] === GREATER || op[0] === HASH) {
      const digest = op[0] === GREATER ? sha256Hex(op.subarray(1)) : validHash(op.subarray(1));
      if (!this.passwords.includes(digest)) this.passwords.push(digest);
      this.nopass = false;
    } else if (op[0] === LESS || op[0] === BANG) {
      const digest = op[0] === LESS ? sha256Hex(op.subarray(1)) : validHash(op.subarray(1));
      const at = this.passwords.indexOf(digest);
      if (at < 0) throw new RuleError(RuleReason.unknownPassword);
      this.passwords.splice(at, 1);
    } else if (op[0] === OPEN_PAREN && op[op.length - 1] === CLOSE_PAREN) {
      this.selectors.push(this.parseSelector(op));
    } else if (word === 'clearselectors') {
      this.selectors = [];
    } else if (word === 'reset') {
      this.reset();
    } else {
      this.root.apply(op);
    }
  }

  /** Returns the compiled user. */
  build(name: string, options: CompileOptions): CompiledUser {
    const selectors = [this.root, ...this.selectors].map((selector) => selector.build());
    return new AclUser({
      name,
      enabled: this.enabled,
      nopass: this.nopass,
      sanitizing: this.sanitizing,
      hexDigests: this.passwords,
      selectors,
      index: this.index,
      reportOnly: options.reportOnly === true,
      allowScripts: options.allowScripts === true,
      scriptsNeedOptIn: options.scriptsNeedOptIn === true,
    });
  }

  /** `reset`: resetpass, resetkeys, resetchannels, off, sanitize-payload, clearselectors, -@all. */
  private reset(): void {
    this.nopass = false;
    this.passwords = [];
    this.enabled = false;
    this.sanitizing = 'sanitize';
    for (const op of ['resetkeys', 'resetchannels', '-@all']) this.root.apply(Buffer.from(op));
    this.selectors = [];
  }

  /** Builds a selector from `(op op ...)`; an unsplittable body gives an empty selector, as in Redis. */
  private parseSelector(op: Buffer): SelectorBuilder {
    const selector = new SelectorBuilder(this.index);
    const body = op.subarray(1, op.length - 1);
    for (const inner of splitSelectorBody(body) ?? []) selector.apply(inner);
    return selector;
  }
}

function sha256Hex(password: Buffer): string {
  return createHash('sha256').update(password).digest('hex');
}

/** Accepts a `#`/`!` digest: exactly 64 lower-case hex characters. */
function validHash(hex: Buffer): string {
  const text = hex.toString('latin1');
  if (!/^[0-9a-f]{64}$/.test(text)) throw new RuleError(RuleReason.badHash);
  return text;
}

function hasSpaceOrNul(text: string): boolean {
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte === 0 || isSpaceByte(byte)) return true;
  }
  return false;
}

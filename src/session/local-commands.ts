/**
 * Commands that the session answers itself instead of forwarding: authentication, the
 * connection's own settings (protocol, name, database 0) and the commands whose answer is
 * fixed while this version runs every session on shared connections. None of them reaches
 * the upstream, so none can change a shared connection.
 */
import { aclCommand } from '../acl/acl-command.js';
import type { CommandInfo } from '../commands/types.js';
import { REDIS_VERSION } from '../commands/table.generated.js';
import {
  OK,
  encodeArray,
  encodeBulk,
  encodeError,
  encodeQuotingError,
  encodeInteger,
  encodeMap,
  RESET_REPLY,
} from '../resp/encode.js';
import { isStrictInteger } from '../commands/arg-parsing.js';
import type { Session } from './session.js';
import * as texts from './texts.js';

/** Answers a command; a handler that returns false did not answer it, and the command takes the normal path. */
type LocalHandler = (session: Session, args: readonly Buffer[], command: CommandInfo) => void | boolean;

const HANDLERS = new Map<string, LocalHandler>([
  ['auth', auth],
  ['hello', hello],
  ['quit', (session) => session.quit()],
  ['reset', (session) => {
    session.resetState();
    session.reply(RESET_REPLY);
  }],
  ['client|setname', clientSetName],
  ['client|getname', (session) => session.reply(encodeBulk(session.clientName, session.protocol))],
  ['client|setinfo', clientSetInfo],
  ['client|id', (session) => session.reply(encodeInteger(session.id))],
  ['client|info', (session) => session.reply(encodeBulk(session.describe(), session.protocol))],
]);

/** Returns the handler when respguard answers `command` itself. */
export function localHandler(command: CommandInfo): LocalHandler | undefined {
  const handler = HANDLERS.get(command.name);
  if (handler) return handler;
  if (command.parent?.name === 'acl') return aclHandler;
  return undefined;
}

/** Runs `aclCommand`; a null reply means respguard does not answer that subcommand itself. */
function aclHandler(session: Session, args: readonly Buffer[], command: CommandInfo): boolean {
  const user = session.user;
  if (!user) return false;
  const context = session.context;
  const reply = aclCommand({ user, protocol: session.protocol, policy: context.policy, log: context.aclLog, table: context.table }, command, args);
  if (!reply) return false;
  session.reply(reply);
  return true;
}

/** AUTH password | AUTH username password, as Redis 7.0 answers it. */
function auth(session: Session, args: readonly Buffer[]): void {
  if (args.length > 3) {
    session.reply(texts.SYNTAX_ERROR);
    return;
  }
  if (args.length === 2) {
    const defaultUser = session.context.policy.users.get('default');
    if (defaultUser?.nopass) {
      session.reply(texts.AUTH_DEFAULT_NOPASS);
      return;
    }
    session.reply(session.authenticate('default', args[1]!, 'AUTH') ? OK : texts.WRONGPASS);
    return;
  }
  session.reply(session.authenticate(args[1]!.toString(), args[2]!, 'AUTH') ? OK : texts.WRONGPASS);
}

/** HELLO [protover [AUTH username password] [SETNAME name]], answered with the upstream's facts. */
function hello(session: Session, args: readonly Buffer[]): void {
  let protocol = session.protocol;
  if (args.length >= 2) {
    // Redis reads the version with string2ll: no leading zeros, no `+`, no `-0`.
    if (!isStrictInteger(args[1]!)) {
      session.reply(texts.HELLO_BAD_VERSION);
      return;
    }
    const version = Number(args[1]!.toString('latin1'));
    if (version < 2 || version > 3) {
      session.reply(texts.NOPROTO);
      return;
    }
    protocol = version as 2 | 3;
  }

  // Redis 7.0 applies the options from left to right and stops at the first error: AUTH logs in
  // and SETNAME sets the name at once, so both stay in effect when a later option fails, and a
  // connection without a user gets NOAUTH only after every option was applied.
  for (let i = 2; i < args.length; i++) {
    const option = args[i]!.toString('latin1').toLowerCase();
    const more = args.length - i - 1;
    if (option === 'auth' && more >= 2) {
      if (!session.authenticate(args[i + 1]!.toString(), args[i + 2]!, 'HELLO')) {
        session.reply(texts.WRONGPASS);
        return;
      }
      i += 2;
    } else if (option === 'setname' && more >= 1) {
      const name = args[i + 1]!;
      if (!isValidClientName(name)) {
        session.reply(texts.BAD_CLIENT_NAME);
        return;
      }
      session.clientName = name.length > 0 ? Buffer.from(name) : null;
      i += 1;
    } else {
      session.reply(encodeQuotingError(`ERR Syntax error in HELLO option '${sanitize(args[i]!)}'`));
      return;
    }
  }

  if (!session.user) {
    session.reply(texts.HELLO_NOAUTH);
    return;
  }
  session.setProtocol(protocol);
  session.reply(helloReply(session));
}

function helloReply(session: Session): Buffer {
  const protocol = session.protocol;
  const facts = session.context.pool.facts;
  const field = (key: string, value: Buffer): [Buffer, Buffer] => [encodeBulk(key, protocol), value];
  return encodeMap(
    [
      field('server', encodeBulk('redis', protocol)),
      field('version', encodeBulk(facts?.version ?? REDIS_VERSION, protocol)),
      field('proto', encodeInteger(protocol)),
      field('id', encodeInteger(session.id)),
      // Clients see one ordinary Redis in every upstream mode, so a cluster-aware client library
      // never switches to cluster routing because of respguard's HELLO reply.
      field('mode', encodeBulk('standalone', protocol)),
      // In cluster and sentinel mode the node whose facts these are may have become a replica,
      // while respguard still sends writes to the primaries.
      field('role', encodeBulk(session.context.cluster || session.context.sentinel ? 'master' : (facts?.role ?? 'master'), protocol)),
      field('modules', encodeArray([])),
    ],
    protocol,
  );
}

function clientSetName(session: Session, args: readonly Buffer[]): void {
  const name = args[2]!;
  if (!isValidClientName(name)) {
    session.reply(texts.BAD_CLIENT_NAME);
    return;
  }
  session.clientName = name.length > 0 ? Buffer.from(name) : null;
  session.reply(OK);
}

/** CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2 and later; only reached when the table has it). */
function clientSetInfo(session: Session, args: readonly Buffer[]): void {
  const attribute = args[2]!.toString('latin1').toLowerCase();
  const value = args[3]!;
  if (attribute !== 'lib-name' && attribute !== 'lib-ver') {
    session.reply(encodeQuotingError(`ERR Unrecognized option '${sanitize(args[2]!)}'`));
    return;
  }
  if (value.length > 0 && !isValidClientName(value)) {
    session.reply(encodeError(`ERR ${attribute} cannot contain spaces, newlines or special characters.`));
    return;
  }
  if (attribute === 'lib-name') session.libName = Buffer.from(value);
  else session.libVersion = Buffer.from(value);
  session.reply(OK);
}

/** Redis accepts client names made of the printable ASCII characters from '!' to '~'. */
function isValidClientName(name: Buffer): boolean {
  for (const byte of name) if (byte < 0x21 || byte > 0x7e) return false;
  return true;
}

/** Formats an argument for quoting in an error text: at most 128 bytes, without CR or LF. */
function sanitize(arg: Buffer): string {
  return arg.subarray(0, 128).toString('latin1').replace(/[\r\n]/g, ' ');
}

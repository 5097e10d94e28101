/**
 * Generates the built-in command table. It sends `COMMAND` to a real redis-server and writes
 * src/commands/table.generated.ts and docs/commands.md from the reply.
 *
 * Usage: npm run gen:commands [-- --port N]
 *   Without --port it starts a private redis-server (from PATH) on a free 127.0.0.1 port and
 *   stops it by PID when done. With --port N it uses a server the operator already runs on
 *   127.0.0.1:N and leaves it running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import RedisParser from 'redis-parser';
import { recordsFromCommandReply } from '../src/commands/from-command-reply.js';
import { CommandTable } from '../src/commands/table.js';
import { describeHandling } from '../src/session/handling.js';
import type { CommandRecord, KeySpec } from '../src/commands/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TABLE_PATH = path.join(ROOT, 'src/commands/table.generated.ts');
const DOCS_PATH = path.join(ROOT, 'docs/commands.md');
const HOST = '127.0.0.1';

interface ServerHandle {
  port: number;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const port = parsePortOption(process.argv.slice(2));
  const server = port === undefined ? await startPrivateServer() : { port, stop: async () => {} };
  try {
    const [commandReply, infoReply] = await query(server.port, [['COMMAND'], ['INFO', 'server']]);
    const version = redisVersion(infoReply);
    const records = recordsFromCommandReply(commandReply).sort(byName);
    for (const record of records) record.subcommands?.sort(byName);
    writeFileSync(TABLE_PATH, renderTable(records, version));
    writeFileSync(DOCS_PATH, renderDocs(records, version));
    console.log(`wrote ${records.length} commands from Redis ${version} to ${path.relative(ROOT, TABLE_PATH)} and ${path.relative(ROOT, DOCS_PATH)}`);
  } finally {
    await server.stop();
  }
}

function parsePortOption(argv: string[]): number | undefined {
  const at = argv.indexOf('--port');
  if (at < 0) return undefined;
  const port = Number(argv[at + 1]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`invalid --port ${JSON.stringify(argv[at + 1])}: expected a TCP port number from 1 to 65535`);
  }
  return port;
}

function byName(a: CommandRecord, b: CommandRecord): number {
  if (a.name === b.name) return 0;
  return a.name < b.name ? -1 : 1;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function startPrivateServer(): Promise<ServerHandle> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'respguard-gen-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    await stopChild(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, exited);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, stop };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

async function waitForPort(port: number, exited: Promise<void>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (gone) throw new Error(`redis-server exited before it listened on ${HOST}:${port}`);
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${HOST}:${port} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Sends the commands in one write and resolves with their decoded replies, in order. */
async function query(port: number, commands: string[][]): Promise<unknown[]> {
  const socket = net.connect({ host: HOST, port });
  try {
    return await new Promise<unknown[]>((resolve, reject) => {
      const replies: unknown[] = [];
      const parser = new RedisParser({
        returnReply(reply: unknown) {
          replies.push(reply);
          if (replies.length === commands.length) resolve(replies);
        },
        returnError: (error) => reject(new Error(`redis-server replied with an error: ${error.message}`)),
        returnFatalError: (error) => reject(new Error(`invalid RESP from redis-server: ${error.message}`)),
      });
      socket.on('data', (chunk: Buffer) => parser.execute(chunk));
      socket.once('error', reject);
      socket.once('close', () => reject(new Error(`redis-server on ${HOST}:${port} closed the connection early`)));
      socket.write(commands.map(encodeCommand).join(''));
    });
  } finally {
    socket.destroy();
  }
}

function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n` + args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('');
}

function redisVersion(info: unknown): string {
  const match = typeof info === 'string' ? /^redis_version:(\S+)/m.exec(info) : null;
  if (!match?.[1]) throw new Error('INFO server reply has no redis_version line');
  return match[1];
}

function renderTable(records: CommandRecord[], version: string): string {
  const lines = [
    `// Generated by scripts/gen-command-table.ts from the COMMAND reply of Redis ${version}. Do not edit.`,
    '// Regenerate with: npm run gen:commands',
    "import type { CommandRecord } from './types.js';",
    '',
    `export const REDIS_VERSION = '${version}';`,
    '',
    'export const COMMAND_RECORDS: readonly CommandRecord[] = [',
    ...records.map((record) => `  ${JSON.stringify(record)},`),
    '];',
    '',
  ];
  return lines.join('\n');
}

function renderDocs(records: CommandRecord[], version: string): string {
  const table = CommandTable.fromRecords(records);
  const lines = [
    '# Commands',
    '',
    `Generated by scripts/gen-command-table.ts from the \`COMMAND\` reply of Redis ${version}; do not edit by hand.`,
    'Key positions count from 0 (the command name). Handling says what respguard does with the',
    'command in the default configuration (no `blockCommands` key), after the user\'s ACL rules',
    'allowed it:',
    '',
    '- **answered by respguard**: respguard replies itself, and nothing reaches the upstream.',
    '- **refused**: respguard replies with an error whatever the config says.',
    '- **blocked by default**: the default blocklist rejects it for every user; a config with its',
    '  own `blockCommands` list decides instead.',
    '- **forwarded**: sent to the upstream Redis on a shared connection; **pinned**: on a connection',
    '  of the client\'s own (see the README); **needs allowScripts: true**: denied to users',
    '  without that setting while the blocklist is not empty (docs/acl.md); **reply filtered**: the',
    '  reply lists only keys the user may read (`filterKeyListings`).',
    '',
    '| Command | Arity | Categories | Key positions | Handling |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const record of records) {
    lines.push(docsRow(record, table));
    for (const sub of record.subcommands ?? []) lines.push(docsRow(sub, table));
  }
  lines.push('');
  return lines.join('\n');
}

function docsRow(record: CommandRecord, table: CommandTable): string {
  const name = record.name.replace('|', ' ').toUpperCase();
  const categories = record.categories.map((category) => `@${category}`).join(' ');
  const keys = record.keySpecs.map(describeKeySpec).join('; ') || '-';
  const [base, sub] = record.name.split('|') as [string, string?];
  const command = sub === undefined ? table.get(base) : table.get(base)?.subcommands?.get(sub);
  if (command === undefined) throw new Error(`command ${record.name} is missing from the table built from the same reply`);
  const handling = describeHandling(command, table);
  return `| ${name} | ${record.arity} | ${categories} | ${keys.replaceAll('|', '\\|')} | ${handling} |`;
}

/** Describes one key spec in a few words, such as `1`, `1..-1 step 2` or `after STREAMS: 1/2 of the rest, step 1`. */
function describeKeySpec(spec: KeySpec): string {
  const flags = spec.flags.length > 0 ? ` (${spec.flags.join(' ')})` : '';
  return `${describePositions(spec)}${flags}`;
}

function describePositions(spec: KeySpec): string {
  const begin = spec.beginSearch;
  const find = spec.findKeys;
  if (begin.type === 'unknown' || find.type === 'unknown') return 'found by a Redis getkeys procedure';

  const start = begin.type === 'index' ? `${begin.index}` : `after ${begin.keyword}`;
  const step = find.step > 1 ? ` step ${find.step}` : '';
  if (find.type === 'keynum') return `${start}: count at +${find.keyNumIdx}, keys from +${find.firstKey}${step}`;
  if (find.lastKey === 0) return start;
  if (find.limit > 1) return `${start}: 1/${find.limit} of the rest, step ${find.step}`;
  const last = find.lastKey > 0 ? `+${find.lastKey}` : `${find.lastKey}`;
  return `${start}..${last}${step}`;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});

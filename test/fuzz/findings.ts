/**
 * Finding files of the fuzz script: what went wrong, and the input of every client involved as
 * a list of replayable steps. A file is JSON. Bytes are base64, and gzip-compressed above 4 KiB
 * because large values are padding that compresses well.
 *
 * The replay runs the steps of each client at once on its own connection, waits for the replies
 * that the finding expects, and reports which clients still differ.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ReplyReader } from './reply-reader.js';

/** One step of a replayed client. */
export type Step =
  | { send: string }
  | { sendGzip: string }
  | { waitMs: number }
  /** Stops reading replies for this long while the next steps go on. */
  | { pauseReadingMs: number };

export interface ReplayClient {
  label: string;
  steps: Step[];
  /** Replies to skip before the expected ones: those to the login and to earlier batches. */
  ignoreFirstReplies?: number;
  /** Replies the client must get after its steps, as one latin1 string, gzip and base64; absent when unknown. */
  expectedRepliesGzip?: string;
  expectedReplyCount?: number;
  /** What the client does after its steps: half-close, or wait for its replies with the connection open. */
  end: 'fin' | 'open';
}

export type FindingKind = 'crash' | 'hang' | 'misrouted' | 'wrong-reply' | 'invalid-reply' | 'unexpected-close' | 'leak';

export interface Finding {
  kind: FindingKind;
  detail: string;
  createdAt: string;
  seed: number;
  /** Tail of respguard's output when the finding was made. */
  respguardOutput?: string;
  clients: ReplayClient[];
}

const GZIP_ABOVE = 4096;

/** Returns the step that sends `bytes`. */
export function sendStep(bytes: Buffer): Step {
  if (bytes.length > GZIP_ABOVE) return { sendGzip: gzipSync(bytes, { level: 1 }).toString('base64') };
  return { send: bytes.toString('base64') };
}

export function stepBytes(step: Step): Buffer | null {
  if ('send' in step) return Buffer.from(step.send, 'base64');
  if ('sendGzip' in step) return gunzipSync(Buffer.from(step.sendGzip, 'base64'));
  return null;
}

export function packText(text: string): string {
  return gzipSync(Buffer.from(text, 'latin1')).toString('base64');
}

export function unpackText(packed: string): string {
  return gunzipSync(Buffer.from(packed, 'base64')).toString('latin1');
}

/** Writes `finding` as `<kind>-<time>-<n>.json` in `dir` and returns the path. */
export function saveFinding(dir: string, finding: Finding, serial: number): string {
  mkdirSync(dir, { recursive: true });
  const stamp = finding.createdAt.replace(/[-:]/g, '').replace(/\..*$/, '');
  const file = path.join(dir, `${finding.kind}-${stamp}-${serial}.json`);
  writeFileSync(file, `${JSON.stringify(finding, null, 1)}\n`);
  return file;
}

export function loadFinding(file: string): Finding {
  return JSON.parse(readFileSync(file, 'utf8')) as Finding;
}

/** The outcome of one replayed client. */
export interface ReplayResult {
  label: string;
  /** `ok` when the replies equal the expected ones, or when nothing is expected and the connection ended as asked. */
  verdict: 'ok' | 'missing-replies' | 'different-replies' | 'no-close-after-fin';
  repliesReceived: number;
  /** The first reply that differs, shortened, for the report. */
  firstDifference?: string;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Replays one client against the proxy on `port` and waits up to `timeoutMs` after its last step. */
export async function replayClient(client: ReplayClient, port: number, timeoutMs: number): Promise<ReplayResult> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const reader = new ReplyReader(socket);
  for (const step of client.steps) {
    const bytes = stepBytes(step);
    if (bytes) socket.write(bytes);
    else if ('waitMs' in step) await delay(step.waitMs);
    else if ('pauseReadingMs' in step) reader.pauseFor(step.pauseReadingMs);
  }
  if (client.end === 'fin') socket.end();

  const expected = client.expectedRepliesGzip === undefined ? undefined : unpackText(client.expectedRepliesGzip);
  const replies: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (let skipped = 0; skipped < (client.ignoreFirstReplies ?? 0); skipped++) {
    if ((await reader.next(deadline - Date.now())) === null) return judge(client, [], expected ?? '', false);
  }
  const wanted = client.expectedReplyCount ?? Number.POSITIVE_INFINITY;
  while (replies.length < wanted) {
    const reply = await reader.next(deadline - Date.now());
    if (reply === null) break;
    replies.push(reply);
  }
  const closed = client.end === 'fin' ? await reader.waitClosed(deadline - Date.now()) : true;
  socket.destroy();
  return judge(client, replies, expected, closed);
}

function judge(client: ReplayClient, replies: string[], expected: string | undefined, closed: boolean): ReplayResult {
  const base = { label: client.label, repliesReceived: replies.length };
  if (expected !== undefined) {
    const received = replies.join('');
    if (received === expected) return { ...base, verdict: 'ok' };
    if (expected.startsWith(received)) return { ...base, verdict: 'missing-replies' };
    let at = 0;
    while (at < received.length && received[at] === expected[at]) at++;
    const excerpt = JSON.stringify(received.slice(Math.max(0, at - 20), at + 60));
    return { ...base, verdict: 'different-replies', firstDifference: `at byte ${at}: ${excerpt}` };
  }
  return { ...base, verdict: closed ? 'ok' : 'no-close-after-fin' };
}

/**
 * The client loops of the fuzz script. Checker clients pipeline requests whose replies are known
 * and compare every reply byte for byte. Hostile clients send random, mutated and edge-case
 * streams and check only that what comes back is RESP, carries none of another client's tokens,
 * and that respguard closes the connection after the client half-closes it.
 *
 * A loop reports each problem through `FuzzContext.report` with the input that led to it, then
 * continues on a new connection under a new client id.
 */
import net from 'node:net';
import { encodeCommand, replyEnd } from '../helpers/resp-client.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { packText, sendStep, type Finding, type ReplayClient, type Step } from './findings.js';
import { CheckerModel, foreignTokenOwners, makeToken, hostileStream, randomChunks, randomInt, type HostileKind, type Random } from './generators.js';
import { ReplyReader } from './reply-reader.js';

export const CHECKER_USER = { name: 'checker', password: 'checker-pw', acl: 'on >checker-pw ~fc:* &fc:* +@all -@dangerous' };
export const HOSTILE_USER = { name: 'hostile', password: 'hostile-pw', acl: 'on >hostile-pw ~fh:* &fh:* +@all -@dangerous -@scripting' };

export interface FuzzOptions {
  seed: number;
  /** Largest value that checker clients write, in bytes. */
  maxValueBytes: number;
  /** Time without a reply, with the upstream healthy, after which a client counts as hung, in ms. */
  hangTimeoutMs: number;
}

/** What the client loops share with the script. */
export interface FuzzContext {
  readonly options: FuzzOptions;
  /** Port of the running respguard; it changes when respguard is restarted after a crash. */
  port(): number;
  /** True once the run is over: the loops end. */
  stopping(): boolean;
  /** True when sessions must end now: the run is over or a quiet period begins. */
  interrupted(): boolean;
  /** Resolves at once, or when a quiet period for a memory reading ends. */
  gate(): Promise<void>;
  /** True when the upstream replied to a direct PING within the last 2 s and respguard runs. */
  healthy(): boolean;
  report(finding: Omit<Finding, 'createdAt' | 'seed' | 'respguardOutput'>): void;
  /** Serial ids for new clients, so that tokens stay unique over the run. */
  nextClientId(): number;
  readonly stats: FuzzStats;
  /** Recent inputs of every client, kept for a crash report. */
  readonly recent: Map<string, ReplayClient>;
}

export interface FuzzStats {
  checkerBatches: number;
  checkedReplies: number;
  hostileStreams: Record<HostileKind, number>;
  connections: number;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function connect(port: number): Promise<net.Socket | null> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const ok = await new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('error', () => resolve(false));
  });
  if (!ok) socket.destroy();
  return ok ? socket : null;
}

/** Sends chunks in order, with a short pause between some of them so that they arrive in separate reads. */
async function sendChunks(socket: net.Socket, chunks: Buffer[], random: Random, steps: Step[]): Promise<void> {
  for (const chunk of chunks) {
    socket.write(chunk);
    steps.push(sendStep(chunk));
    if (random() < 0.2) {
      const ms = randomInt(random, 1, 20);
      steps.push({ waitMs: ms });
      await delay(ms);
    }
  }
}

/** Runs checker clients one after another until the run stops. */
export async function runChecker(context: FuzzContext, slot: number): Promise<void> {
  while (!context.stopping()) {
    await context.gate();
    if (context.stopping()) break;
    const id = context.nextClientId();
    const random = seededRandom(context.options.seed * 1000 + id);
    const socket = await connect(context.port());
    if (!socket) {
      await delay(200);
      continue;
    }
    context.stats.connections += 1;
    await checkerSession(context, socket, id, random, `checker-${slot}`);
    socket.destroy();
  }
}

async function checkerSession(context: FuzzContext, socket: net.Socket, id: number, random: Random, slot: string): Promise<void> {
  const protocol = random() < 0.3 ? 3 : 2;
  const model = new CheckerModel(`c${id}`, protocol, context.options.maxValueBytes);
  const reader = new ReplyReader(socket);
  const login = protocol === 3
    ? encodeCommand(['HELLO', '3', 'AUTH', CHECKER_USER.name, CHECKER_USER.password])
    : encodeCommand(['AUTH', CHECKER_USER.name, CHECKER_USER.password]);
  socket.write(login);
  const hello = await reader.next(context.options.hangTimeoutMs);
  if (hello === null || (protocol === 2 ? hello !== '+OK\r\n' : !hello.startsWith('%7\r\n'))) return;

  // The whole session is kept, because the replies to a batch depend on every batch before it.
  const steps: Step[] = [sendStep(login)];
  let repliesBefore = 1;
  const batches = randomInt(random, 1, 40);
  for (let b = 0; b < batches && !context.interrupted(); b++) {
    const requests = model.batch(random, 60);
    const replay = (): ReplayClient => ({
      label: `checker c${id} (RESP${protocol})`,
      steps: [...steps],
      ignoreFirstReplies: repliesBefore,
      expectedRepliesGzip: packText(requests.map((request) => request.expected).join('')),
      expectedReplyCount: requests.length,
      end: 'open',
    });
    if (random() < 0.15) {
      const ms = randomInt(random, 100, 1500);
      steps.push({ pauseReadingMs: ms });
      reader.pauseFor(ms);
    }
    const chunks = randomChunks(random, Buffer.concat(requests.map((request) => request.bytes)), 8);
    const sending = sendChunks(socket, chunks, random, steps);
    context.recent.set(slot, replay());
    const problem = await checkReplies(context, reader, requests, `c${id}`);
    await sending;
    if (problem) {
      context.report({ ...problem, clients: [replay()] });
      return;
    }
    repliesBefore += requests.length;
    context.stats.checkerBatches += 1;
    context.stats.checkedReplies += requests.length;
  }
  context.recent.delete(slot);
}

type Problem = Pick<Finding, 'kind' | 'detail'>;

/** Reads one reply per request and compares each with the expected one. */
async function checkReplies(context: FuzzContext, reader: ReplyReader, requests: { expected: string }[], owner: string): Promise<Problem | null> {
  for (let i = 0; i < requests.length; i++) {
    let reply: string | null;
    try {
      reply = await waitForReply(context, reader);
    } catch (error) {
      return { kind: 'invalid-reply', detail: `${owner}: reply ${i} is not RESP: ${(error as Error).message}` };
    }
    if (reply === 'STOPPED') return null;
    if (reply === null) {
      if (reader.closed) return { kind: 'unexpected-close', detail: `${owner}: connection closed before reply ${i} of ${requests.length}` };
      return { kind: 'hang', detail: `${owner}: no reply ${i} of ${requests.length} within ${context.options.hangTimeoutMs} ms while the upstream was healthy` };
    }
    const expected = requests[i]!.expected;
    if (reply === expected) continue;
    const foreign = foreignTokenOwners(reply, owner);
    const shorten = (text: string): string => JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}...` : text);
    const detail = `${owner}: reply ${i} of ${requests.length} is ${shorten(reply)}, expected ${shorten(expected)}`;
    if (foreign.length > 0) return { kind: 'misrouted', detail: `${detail}; it carries tokens of ${foreign.join(', ')}` };
    return { kind: 'wrong-reply', detail };
  }
  return null;
}

/**
 * Waits for a reply. A wait counts as a hang only when the upstream stayed healthy for the whole
 * timeout, so that an upstream hiccup on a busy machine is not blamed on respguard.
 */
async function waitForReply(context: FuzzContext, reader: ReplyReader): Promise<string | null | 'STOPPED'> {
  let healthySince = Date.now();
  for (;;) {
    const reply = await reader.next(500);
    if (reply !== null || reader.closed) return reply;
    if (context.interrupted()) return 'STOPPED';
    if (!context.healthy()) healthySince = Date.now();
    if (Date.now() - healthySince >= context.options.hangTimeoutMs) return null;
  }
}

/** Runs hostile clients one after another until the run stops. */
export async function runHostile(context: FuzzContext, slot: number): Promise<void> {
  while (!context.stopping()) {
    await context.gate();
    if (context.stopping()) break;
    const id = context.nextClientId();
    const random = seededRandom(context.options.seed * 1000 + id);
    const socket = await connect(context.port());
    if (!socket) {
      await delay(200);
      continue;
    }
    context.stats.connections += 1;
    await hostileSession(context, socket, id, random, `hostile-${slot}`);
    socket.destroy();
  }
}

async function hostileSession(context: FuzzContext, socket: net.Socket, id: number, random: Random, slot: string): Promise<void> {
  const owner = `h${id}`;
  let serial = 0;
  const nextToken = (): string => makeToken(owner, ++serial);
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  let closed = false;
  socket.on('close', () => {
    closed = true;
  });

  const steps: Step[] = [];
  if (random() < 0.7) {
    const login = encodeCommand(['AUTH', HOSTILE_USER.name, HOSTILE_USER.password]);
    socket.write(login);
    steps.push(sendStep(login), { waitMs: 50 });
    await delay(50);
  }
  const stream = hostileStream(random, owner, nextToken);
  context.stats.hostileStreams[stream.kind] += 1;
  const ending = random();
  const replay = (): ReplayClient => ({ label: `hostile ${owner} (${stream.kind})`, steps: [...steps], end: ending < 0.6 ? 'fin' : 'open' });
  context.recent.set(slot, replay());
  await sendChunks(socket, randomChunks(random, stream.bytes, 16), random, steps);
  context.recent.set(slot, replay());

  if (ending < 0.6) {
    socket.end();
    const deadline = Date.now() + context.options.hangTimeoutMs;
    while (!closed && Date.now() < deadline && !context.interrupted()) {
      if (!context.healthy()) break;
      await delay(50);
    }
    if (!closed && context.healthy() && !context.interrupted()) {
      context.report({
        kind: 'hang',
        detail: `${owner}: respguard kept the connection open ${context.options.hangTimeoutMs} ms after the client half-closed it`,
        clients: [replay()],
      });
    }
  } else if (ending < 0.8) {
    await delay(randomInt(random, 0, 2000));
  }
  const problem = checkHostileReplies(Buffer.concat(received), owner);
  if (problem) context.report({ ...problem, clients: [replay()] });
  context.recent.delete(slot);
}

/** Checks that hostile replies are RESP up to a possibly cut last reply, and that none is another client's. */
function checkHostileReplies(bytes: Buffer, owner: string): Problem | null {
  let at = 0;
  try {
    for (;;) {
      const end = replyEnd(bytes, at);
      if (end < 0) break;
      at = end;
    }
  } catch (error) {
    return { kind: 'invalid-reply', detail: `${owner}: reply bytes at offset ${at} are not RESP: ${(error as Error).message}` };
  }
  const foreign = foreignTokenOwners(bytes.toString('latin1'), owner);
  if (foreign.length > 0) return { kind: 'misrouted', detail: `${owner}: replies carry tokens of ${foreign.join(', ')}` };
  return null;
}

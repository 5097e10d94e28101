/**
 * Load for the fault tests: clients that pipeline ECHO requests with tokens unique to the client
 * and the request, and sort every reply. A reply is `ok` when it is the echo of its own request,
 * `error` when it is one of the errors respguard sends while the upstream is unavailable, and
 * `misrouted` otherwise: another request's token, another client's, or anything else. A
 * misrouted reply means that a reply went to the wrong client or out of order.
 */
import { RawClient, encodeCommand } from '../helpers/resp-client.js';

/** Errors that respguard sends while the upstream is down or stalled. */
const OUTAGE_ERRORS = [
  /^-ERR upstream connection lost before the reply; the command may or may not have run\r\n$/,
  /^-ERR upstream unavailable \([^\r\n]*\); respguard is reconnecting, try again\r\n$/,
];

export interface LoadCounts {
  ok: number;
  error: number;
  misrouted: number;
  /** Requests that got no reply within the client's timeout. */
  unanswered: number;
  /** Connections that respguard closed. */
  closed: number;
}

/** One pipelining client; `run` loops until `stop` is called. */
export class LoadClient {
  readonly counts: LoadCounts = { ok: 0, error: 0, misrouted: 0, unanswered: 0, closed: 0 };
  /** Times (Date.now()) of the first and the last error reply and of the last `ok` reply, 0 when none. */
  firstErrorAt = 0;
  lastErrorAt = 0;
  lastOkAt = 0;
  /** Up to 5 misrouted replies with the reply that was expected, for the failure message. */
  readonly misroutedSamples: string[] = [];
  private stopped = false;
  private serial = 0;

  constructor(
    private readonly port: number,
    private readonly id: number,
    private readonly credentials: { user: string; password: string },
    private readonly pipeline = 20,
    private readonly replyTimeoutMs = 10_000,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      const client = await RawClient.connect(this.port).catch(() => null);
      if (!client) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const login = await client.call(['AUTH', this.credentials.user, this.credentials.password], this.replyTimeoutMs);
      if (login !== '+OK\r\n') throw new Error(`client ${this.id}: AUTH returned ${JSON.stringify(login)}`);
      await this.session(client);
      client.close();
    }
  }

  /** Sends pipelines on one connection until stopped or until respguard closes it. */
  private async session(client: RawClient): Promise<void> {
    while (!this.stopped) {
      const tokens = Array.from({ length: this.pipeline }, () => `load-${this.id}-${++this.serial}`);
      client.send(Buffer.concat(tokens.map((token) => encodeCommand(['ECHO', token]))));
      for (const token of tokens) {
        const reply = await client.reply(this.replyTimeoutMs);
        if (reply === 'CLOSED') {
          this.counts.closed += 1;
          return;
        }
        if (reply === 'TIMEOUT') {
          this.counts.unanswered += 1;
          return;
        }
        this.sort(reply, `$${token.length}\r\n${token}\r\n`);
      }
    }
  }

  private sort(reply: string, expected: string): void {
    if (reply === expected) {
      this.counts.ok += 1;
      this.lastOkAt = Date.now();
      return;
    }
    if (OUTAGE_ERRORS.some((pattern) => pattern.test(reply))) {
      this.counts.error += 1;
      this.lastErrorAt = Date.now();
      if (this.firstErrorAt === 0) this.firstErrorAt = this.lastErrorAt;
      return;
    }
    this.counts.misrouted += 1;
    if (this.misroutedSamples.length < 5) this.misroutedSamples.push(`got ${JSON.stringify(reply)}, expected ${JSON.stringify(expected)}`);
  }
}

/** Adds up the counts of many clients. */
export function totalCounts(clients: readonly LoadClient[]): LoadCounts {
  const total: LoadCounts = { ok: 0, error: 0, misrouted: 0, unanswered: 0, closed: 0 };
  for (const client of clients) {
    for (const key of Object.keys(total) as (keyof LoadCounts)[]) total[key] += client.counts[key];
  }
  return total;
}

/** Waits until `condition` holds, checking every 50 ms; returns false after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Prints one line of measured figures, which docs/RELIABILITY.md quotes. */
export function reportFigures(scenario: string, figures: Record<string, unknown>): void {
  console.info(`[figures] ${scenario}: ${JSON.stringify(figures)}`);
}

export const MB = 1024 * 1024;

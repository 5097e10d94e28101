/**
 * A 100 MB value in both directions: SET through respguard, then GET back, byte for byte.
 * respguard joins a bulk that spans many reads once, so the cost should stay near one copy of
 * the value. Runs with RESPGUARD_HEAVY=1 only, because it moves several hundred MB through
 * memory and would crowd a shared CI machine.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { encodeCommand } from '../helpers/resp-client.js';
import { MB, reportFigures } from './load.js';

const HEAVY = process.env.RESPGUARD_HEAVY === '1';
const VALUE_BYTES = 100 * MB;

let upstream: RedisServer;
let proxy: ProxyProcess;

beforeAll(async () => {
  if (!HEAVY) return;
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxyProcess(upstream, { users: { app: 'on >app-pass ~* +@all' } });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

/**
 * Sends requests on one connection and reads the replies as a stream: simple replies as text,
 * and a bulk reply as its length and SHA-256, so that a 100 MB reply is never held whole.
 */
class StreamingClient {
  private pending = Buffer.alloc(0);
  private bulkLeft = -1;
  private bulkLength = 0;
  private hash = createHash('sha256');
  private readonly replies: string[] = [];
  private wake: (() => void) | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static async connect(port: number): Promise<StreamingClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new StreamingClient(socket);
  }

  private onData(chunk: Buffer): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.bulkLeft >= 0) {
        const take = Math.min(this.bulkLeft, data.length);
        this.hash.update(data.subarray(0, take));
        this.bulkLeft -= take;
        data = data.subarray(take);
        if (this.bulkLeft > 0) return;
        if (data.length < 2) {
          this.pending = Buffer.from(data);
          return;
        }
        this.replies.push(`bulk ${this.bulkLength} ${this.hash.digest('hex')}${data.toString('latin1', 0, 2) === '\r\n' ? '' : ' without CRLF'}`);
        this.bulkLeft = -1;
        data = data.subarray(2);
        continue;
      }
      const lineEnd = data.indexOf('\r\n');
      if (lineEnd < 0) {
        this.pending = Buffer.from(data);
        return;
      }
      const line = data.toString('latin1', 0, lineEnd);
      data = data.subarray(lineEnd + 2);
      if (line.startsWith('$') && Number(line.slice(1)) >= 0) {
        this.bulkLength = Number(line.slice(1));
        this.bulkLeft = this.bulkLength;
        this.hash = createHash('sha256');
      } else {
        this.replies.push(line);
      }
    }
    this.wake?.();
  }

  async call(request: Buffer, timeoutMs = 60_000): Promise<string> {
    this.socket.write(request);
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    return this.replies.shift() ?? 'TIMEOUT';
  }

  close(): void {
    this.socket.destroy();
  }
}

describe.skipIf(!HEAVY)('100 MB value', () => {
  it('goes through in both directions', async () => {
    const client = await StreamingClient.connect(proxy.port);
    expect(await client.call(encodeCommand(['AUTH', 'app', 'app-pass']))).toBe('+OK');
    const value = Buffer.alloc(VALUE_BYTES);
    for (let i = 0; i < value.length; i += 4) value.writeUInt32LE(i, i);
    const digest = createHash('sha256').update(value).digest('hex');
    const rssBeforeMB = proxy.memory().rssBytes / MB;

    let started = Date.now();
    expect(await client.call(encodeCommand(['SET', 'big:value', value]))).toBe('+OK');
    const setMs = Date.now() - started;
    started = Date.now();
    expect(await client.call(encodeCommand(['GET', 'big:value']))).toBe(`bulk ${VALUE_BYTES} ${digest}`);
    const getMs = Date.now() - started;
    const afterDigest = createHash('sha256').update('after').digest('hex');
    expect(await client.call(encodeCommand(['ECHO', 'after']))).toBe(`bulk 5 ${afterDigest}`);
    client.close();

    const peakRssMB = proxy.memory().peakRssBytes / MB;
    reportFigures('100 MB value', { valueMB: VALUE_BYTES / MB, setMs, getMs, rssBeforeMB, peakRssMB });
    // One copy of the value in each direction, plus Node's own buffers, fits in 4 times the value.
    expect(peakRssMB - rssBeforeMB).toBeLessThan((4 * VALUE_BYTES) / MB);
  }, 120_000);
});

/**
 * A scripted sentinel for tests: a `net` server on a free loopback port that replies to the few
 * commands respguard sends a sentinel (HELLO, SUBSCRIBE, SENTINEL GET-MASTER-ADDR-BY-NAME and
 * SENTINEL REPLICAS) in RESP3, from values the test sets, and publishes the messages the test
 * asks for. It lets a test stage what a real Sentinel setup does only by chance, such as a
 * sentinel that has not heard of a switch yet.
 */
import net from 'node:net';
import { DEFAULT_DECODER_LIMITS, RequestDecoder } from '../../src/resp/request-decoder.js';

/** Encodes a RESP3 bulk string. */
function bulk(text: string): string {
  return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
}

export class FakeSentinel {
  /** The primary's port that GET-MASTER-ADDR-BY-NAME names (on 127.0.0.1); null: the master name is unknown. */
  primaryPort: number | null;
  private readonly clients = new Set<net.Socket>();
  private readonly subscribers = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly masterName: string,
    primaryPort: number,
  ) {
    this.primaryPort = primaryPort;
    server.on('connection', (socket) => this.serve(socket));
  }

  /** Starts a fake sentinel that names 127.0.0.1:`primaryPort` as the primary of `masterName`. */
  static async start(masterName: string, primaryPort: number): Promise<FakeSentinel> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new FakeSentinel(server, masterName, primaryPort);
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** Sends a message on `channel` to every client that subscribed to it. */
  publish(channel: string, message: string): void {
    for (const socket of this.subscribers) socket.write(`>3\r\n${bulk('message')}${bulk(channel)}${bulk(message)}`);
  }

  /** Stops listening and closes every connection, as a sentinel that went down. */
  async close(): Promise<void> {
    for (const socket of this.clients) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.clients.add(socket);
    socket.on('close', () => {
      this.clients.delete(socket);
      this.subscribers.delete(socket);
    });
    socket.on('error', () => {});
    const decoder = new RequestDecoder(DEFAULT_DECODER_LIMITS);
    decoder.authenticated = true;
    socket.on('data', (chunk: Buffer) => {
      decoder.feed(chunk);
      for (let command = decoder.next(); command !== null; command = decoder.next()) {
        socket.write(this.reply(socket, command.args.map((arg) => arg.toString())));
      }
    });
  }

  private reply(socket: net.Socket, args: string[]): string {
    const [name = '', sub = '', master] = args.map((arg, i) => (i < 2 ? arg.toUpperCase() : arg));
    if (name === 'HELLO') return `%2\r\n${bulk('proto')}:3\r\n${bulk('mode')}${bulk('sentinel')}`;
    if (name === 'SUBSCRIBE') {
      this.subscribers.add(socket);
      return `>3\r\n${bulk('subscribe')}${bulk(args[1]!)}:1\r\n`;
    }
    if (name === 'SENTINEL' && sub === 'GET-MASTER-ADDR-BY-NAME') {
      if (master !== this.masterName || this.primaryPort === null) return '_\r\n';
      return `*2\r\n${bulk('127.0.0.1')}${bulk(String(this.primaryPort))}`;
    }
    if (name === 'SENTINEL' && sub === 'REPLICAS') return '*0\r\n';
    return `-ERR unknown command '${name}'\r\n`;
  }
}

// A WebSocket server on 127.0.0.1 that keeps every event gisbot sends it: the demo's stand-in for the service a
// business would point `websocket.url` at, and the tests' hostile receiver. An outside party written from the
// RFC 6455 wire format with node built-ins only (no ws package): it can misbehave in ways a library will not,
// such as cutting a frame in half or sending a reserved opcode.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ReceivedFrame {
  raw: string;
  /** The frame parsed as JSON, or null when it was not JSON. */
  event: { id?: string; type?: string; reviewId?: string | null; [key: string]: unknown } | null;
  authorization: string | undefined;
}

/**
 * How the receiver misbehaves. `every: n` counts the text frames it has been sent, over all connections: the
 * n-th, 2n-th, … frame triggers the fault, and that frame (with whatever came behind it on the wire) is not kept.
 */
export type ReceiverMode =
  | { kind: 'normal' }
  /** Writes the first bytes of a frame, then closes the connection. */
  | { kind: 'close-mid-frame'; every: number }
  /** Sends a frame with a reserved opcode (0x3), which the client must treat as a protocol error. */
  | { kind: 'reserved-opcode'; every: number }
  /** Destroys the connection at once. */
  | { kind: 'terminate'; every: number }
  /** Keeps the frames and answers pings, but never acknowledges an event. */
  | { kind: 'never-ack' }
  /** Acknowledges every event except those with these ids. */
  | { kind: 'withhold-acks'; ids: ReadonlySet<string> }
  /** After `after` frames stops reading: no ack, no pong, nothing, until the client gives up. */
  | { kind: 'stall'; after: number }
  /** Answers each event with a text frame that is not JSON, a binary frame and a stray pong before the ack. */
  | { kind: 'garbage' };

export interface ReceiverOptions {
  /** When set, a connection without `Authorization: Bearer <token>` is refused with 401. */
  token?: string;
  /** Default true: answer `{"ack":"<id>"}` to each event kept (a client in `ack: false` mode ignores it). */
  ack?: boolean;
  mode?: ReceiverMode;
  /** Refuse every upgrade with this HTTP status (401, 403, 500, …). */
  refuseWith?: number;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, reserved: 0x3, close: 0x8, ping: 0x9, pong: 0xa } as const;

export class WsReceiver {
  readonly frames: ReceivedFrame[] = [];
  readonly url: string;
  /** Connections refused for a wrong or missing token, or by `refuseWith`. */
  refused = 0;
  /** Upgrades accepted. */
  connections = 0;
  /** Pings answered with a pong. */
  pongs = 0;
  mode: ReceiverMode;
  ack: boolean;
  refuseWith: number | null;
  /** Text frames sent to this receiver, over all connections, kept or not: what `every` counts. */
  #seen = 0;
  #token: string | undefined;
  #server: Server;
  #sockets = new Set<Socket>();

  private constructor(server: Server, options: ReceiverOptions) {
    this.#server = server;
    this.#token = options.token;
    this.mode = options.mode ?? { kind: 'normal' };
    this.ack = options.ack ?? true;
    this.refuseWith = options.refuseWith ?? null;
    const address = server.address();
    this.url = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    server.on('upgrade', (request: IncomingMessage, socket: Socket) => this.#upgrade(request, socket));
  }

  static async start(options: ReceiverOptions = {}): Promise<WsReceiver> {
    const server = createServer((_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain' }).end('a WebSocket endpoint\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new WsReceiver(server, options);
  }

  /** The distinct event ids received (delivery is at least once: a receiver dedupes by id). */
  get eventIds(): Set<string> {
    const ids = new Set<string>();
    for (const frame of this.frames) if (typeof frame.event?.id === 'string') ids.add(frame.event.id);
    return ids;
  }

  /** Waits until `count` distinct events have arrived, or `timeoutMs` passed; true when they did. */
  async waitFor(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.eventIds.size < count) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #upgrade(request: IncomingMessage, socket: Socket): void {
    socket.on('error', () => {});
    const key = request.headers['sec-websocket-key'];
    const authorization = request.headers.authorization;
    const refusal = this.refuseWith ?? (this.#token !== undefined && authorization !== `Bearer ${this.#token}` ? 401 : null);
    if (refusal !== null || typeof key !== 'string' || request.headers.upgrade?.toLowerCase() !== 'websocket') {
      this.refused += 1;
      socket.end(`HTTP/1.1 ${refusal ?? 400} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    // No Sec-WebSocket-Extensions in the answer: the client's offer of compression is declined.
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    this.connections += 1;
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    new Connection(this, socket, authorization).start();
  }

  /** Counts a text frame and says whether it triggers the current mode's fault. */
  nextFrameFaults(): boolean {
    this.#seen += 1;
    const mode = this.mode;
    if (mode.kind === 'stall') return this.#seen > mode.after;
    return 'every' in mode && this.#seen % mode.every === 0;
  }
}

/** One client connection: parses the client's masked frames in order and answers as the mode says. */
class Connection {
  #receiver: WsReceiver;
  #socket: Socket;
  #authorization: string | undefined;
  #buffer = Buffer.alloc(0);
  #message: Buffer[] = [];
  #done = false;

  constructor(receiver: WsReceiver, socket: Socket, authorization: string | undefined) {
    this.#receiver = receiver;
    this.#socket = socket;
    this.#authorization = authorization;
  }

  start(): void {
    this.#socket.on('data', (chunk: Buffer) => {
      if (this.#done) return;
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
  }

  #parse(): void {
    while (!this.#done) {
      const frame = readFrame(this.#buffer);
      if (!frame) return;
      this.#buffer = this.#buffer.subarray(frame.size);
      this.#handle(frame.fin, frame.opcode, frame.payload);
    }
  }

  #handle(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OPCODE.ping:
        this.#receiver.pongs += 1;
        this.#send(OPCODE.pong, payload);
        return;
      case OPCODE.pong:
        return;
      case OPCODE.close:
        this.#send(OPCODE.close, payload.subarray(0, 2));
        this.#finish(() => this.#socket.end());
        return;
      case OPCODE.text:
      case OPCODE.binary:
      case OPCODE.continuation:
        this.#message.push(payload);
        if (!fin) return;
        this.#onText(Buffer.concat(this.#message).toString('utf8'));
        this.#message = [];
        return;
      default:
        this.#finish(() => this.#socket.destroy());
    }
  }

  #onText(raw: string): void {
    const receiver = this.#receiver;
    const mode = receiver.mode;
    if (receiver.nextFrameFaults()) {
      switch (mode.kind) {
        case 'close-mid-frame':
          // A header announcing 100 bytes of text, and 10 of them.
          this.#socket.write(Buffer.concat([Buffer.from([0x80 | OPCODE.text, 100]), Buffer.from('{"ack":"xx')]));
          this.#finish(() => this.#socket.end());
          return;
        case 'reserved-opcode':
          this.#send(OPCODE.reserved, Buffer.from('?'));
          this.#finish(() => {});
          return;
        case 'terminate':
          this.#finish(() => this.#socket.destroy());
          return;
        case 'stall':
          this.#finish(() => this.#socket.pause());
          return;
      }
    }
    let event: ReceivedFrame['event'] = null;
    try {
      event = JSON.parse(raw) as ReceivedFrame['event'];
    } catch {
      event = null;
    }
    receiver.frames.push({ raw, event, authorization: this.#authorization });
    const id = typeof event?.id === 'string' ? event.id : null;
    if (mode.kind === 'garbage') {
      this.#send(OPCODE.text, Buffer.from('{"ack": not json'));
      this.#send(OPCODE.binary, Buffer.from([0xff, 0x00, 0xfe]));
      this.#send(OPCODE.pong, Buffer.from('unsolicited'));
    }
    const withheld = mode.kind === 'never-ack' || (mode.kind === 'withhold-acks' && id !== null && mode.ids.has(id));
    if (receiver.ack && id !== null && !withheld) this.#send(OPCODE.text, Buffer.from(JSON.stringify({ ack: id })));
  }

  /** Stops reading this connection (what is left on the wire is not kept) and does `then` to it. */
  #finish(then: () => void): void {
    this.#done = true;
    this.#buffer = Buffer.alloc(0);
    then();
  }

  #send(opcode: number, payload: Buffer): void {
    if (this.#socket.destroyed) return;
    const length = payload.length;
    const header =
      length < 126
        ? Buffer.from([0x80 | opcode, length])
        : length < 65_536
          ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff])
          : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigEndian64(length)]);
    this.#socket.write(Buffer.concat([header, payload]));
  }
}

/** One client frame from the front of `buffer`, unmasked, or null when it has not all arrived. */
function readFrame(buffer: Buffer): { fin: boolean; opcode: number; payload: Buffer; size: number } | null {
  if (buffer.length < 2) return null;
  const fin = (buffer[0]! & 0x80) !== 0;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return null;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return null;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return null;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked) for (let index = 0; index < payload.length; index += 1) payload[index]! ^= buffer[maskOffset + (index % 4)]!;
  return { fin, opcode, payload, size: offset + length };
}

function bigEndian64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(value));
  return bytes;
}

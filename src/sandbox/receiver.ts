// A WebSocket server on 127.0.0.1 that keeps every frame gisbot sends it: the demo's stand-in for the service a
// business would point `websocket.url` at. An outside party: the ws package and node built-ins only.
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

export interface ReceivedFrame {
  raw: string;
  /** The frame parsed as JSON, or null when it was not JSON. */
  event: { id?: string; type?: string; reviewId?: string | null; [key: string]: unknown } | null;
}

export interface ReceiverOptions {
  /** When set, a connection without `Authorization: Bearer <token>` is refused with 401. */
  token?: string;
}

export class WsReceiver {
  readonly frames: ReceivedFrame[] = [];
  readonly url: string;
  /** Connections refused for a wrong or missing token. */
  refused = 0;
  #server: WebSocketServer;

  private constructor(server: WebSocketServer) {
    this.#server = server;
    const address = server.address();
    this.url = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    server.on('connection', (socket: WebSocket) => {
      socket.on('message', (data) => {
        const raw = String(data);
        let event: ReceivedFrame['event'] = null;
        try {
          event = JSON.parse(raw) as ReceivedFrame['event'];
        } catch {
          event = null;
        }
        this.frames.push({ raw, event });
      });
    });
  }

  static async start(options: ReceiverOptions = {}): Promise<WsReceiver> {
    let receiver: WsReceiver | null = null;
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: (info: { req: IncomingMessage }) => {
        if (options.token === undefined || info.req.headers.authorization === `Bearer ${options.token}`) return true;
        if (receiver) receiver.refused += 1;
        return false;
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    receiver = new WsReceiver(server);
    return receiver;
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
    for (const client of this.#server.clients) client.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

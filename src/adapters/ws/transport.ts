// The WebSocket leg of the outbox: one connection, reconnected with capped jittered backoff, ping/pong to
// detect a dead peer, and (with `ack`) delivery counted only when the server acknowledges the event id.
import type WebSocket from 'ws';
import { eventJson } from '../../core/events.ts';
import type { DomainEvent, EventTransport } from '../../core/ports.ts';
import { ServiceError } from '../../errors.ts';

export interface WsTransportOptions {
  url: string;
  token: string | null;
  ack: boolean;
  connectTimeoutMs?: number;
  ackTimeoutMs?: number;
  pingIntervalMs?: number;
  maxBackoffMs?: number;
}

export function createWsTransport(options: WsTransportOptions): EventTransport {
  return new WsTransport(options);
}

class WsTransport implements EventTransport {
  #options: Required<WsTransportOptions>;
  #socket: WebSocket | null = null;
  #connecting: Promise<WebSocket> | null = null;
  #failures = 0;
  #retryAt = 0;
  #acks = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  #pingTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: WsTransportOptions) {
    this.#options = {
      connectTimeoutMs: 5_000,
      ackTimeoutMs: 10_000,
      pingIntervalMs: 15_000,
      maxBackoffMs: 30_000,
      ...options,
    };
  }

  async send(event: DomainEvent): Promise<void> {
    const socket = await this.#connected();
    const acknowledged = this.#options.ack ? this.#awaitAck(event.id) : null;
    await new Promise<void>((resolve, reject) => {
      socket.send(eventJson(event), (error) => (error ? reject(this.#error('send failed', error)) : resolve()));
    });
    await acknowledged;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopPing();
    const socket = this.#socket;
    this.#socket = null;
    this.#failPending(new ServiceError('websocket', 'unavailable', 'the notifier is closing'));
    if (socket && socket.readyState === socket.OPEN) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          socket.terminate();
          resolve();
        }, 1_000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.close(1000, 'bye');
      });
    } else socket?.terminate();
  }

  async #connected(): Promise<WebSocket> {
    if (this.#closed) throw new ServiceError('websocket', 'unavailable', 'the notifier is closed');
    if (this.#socket) return this.#socket;
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #connect(): Promise<WebSocket> {
    const wait = this.#retryAt - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const { default: WebSocketClass } = await import('ws');
    const headers: Record<string, string> = this.#options.token ? { Authorization: `Bearer ${this.#options.token}` } : {};
    const socket = new WebSocketClass(this.#options.url, { headers, handshakeTimeout: this.#options.connectTimeoutMs });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
        socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      });
    } catch (error) {
      socket.terminate();
      this.#failures += 1;
      const ceiling = Math.min(this.#options.maxBackoffMs, 250 * 2 ** Math.min(this.#failures, 10));
      this.#retryAt = Date.now() + ceiling / 2 + Math.random() * (ceiling / 2);
      throw this.#error('cannot connect', error);
    }
    this.#failures = 0;
    this.#socket = socket;
    socket.removeAllListeners('error');
    socket.on('error', () => {}); // 'close' follows and does the cleanup
    socket.on('message', (data) => this.#onMessage(String(data)));
    socket.on('close', () => this.#onClose(socket));
    this.#startPing(socket);
    return socket;
  }

  #onMessage(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const id = typeof message === 'object' && message !== null ? (message as { ack?: unknown }).ack : undefined;
    if (typeof id === 'string') {
      this.#acks.get(id)?.resolve();
      this.#acks.delete(id);
    }
  }

  #onClose(socket: WebSocket): void {
    if (this.#socket === socket) this.#socket = null;
    this.#stopPing();
    this.#failPending(new ServiceError('websocket', 'unavailable', 'the WebSocket connection closed'));
  }

  #awaitAck(eventId: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#acks.delete(eventId);
        reject(new ServiceError('websocket', 'unavailable', `no acknowledgement for event ${eventId}`));
      }, this.#options.ackTimeoutMs);
      this.#acks.set(eventId, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  #failPending(error: Error): void {
    for (const pending of this.#acks.values()) pending.reject(error);
    this.#acks.clear();
  }

  #startPing(socket: WebSocket): void {
    let answered = true;
    socket.on('pong', () => {
      answered = true;
    });
    this.#pingTimer = setInterval(() => {
      if (!answered) {
        socket.terminate(); // no pong since the last ping: the peer or the path is dead
        return;
      }
      answered = false;
      socket.ping();
    }, this.#options.pingIntervalMs);
    this.#pingTimer.unref();
  }

  #stopPing(): void {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
  }

  #error(what: string, cause: unknown): ServiceError {
    const host = new URL(this.#options.url).host;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new ServiceError('websocket', 'unavailable', `WebSocket ${host}: ${what}: ${reason}`, { cause });
  }
}

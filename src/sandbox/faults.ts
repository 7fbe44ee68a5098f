// Fault injection and the small HTTP server both sandboxes are built on.
// The sandbox is an outside party: it uses node built-ins only, never the adapters or the core.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

// ---------------------------------------------------------------- faults

export type Fault =
  /** Answer with this status instead of handling the request (nothing changes). `body` replaces the error body verbatim. */
  | { type: 'status'; status: number; retryAfterSeconds?: number; body?: string }
  /** Wait, then handle normally. */
  | { type: 'delay'; ms: number }
  /** Never answer (the socket is destroyed by close()). */
  | { type: 'hang' }
  /** Reset the connection before the handler runs: nothing changes. */
  | { type: 'reset_before' }
  /** Run the handler (state changes, e.g. the answer IS stored), then reset the connection without a response. */
  | { type: 'reset_after' }
  /** Run the handler, then send 200 with the JSON body cut in half. */
  | { type: 'truncated' }
  /** Run the handler, then send 200 with an empty body. */
  | { type: 'empty' }
  /**
   * Run the handler, then send its JSON body (status 200) grown to `bytes` by a `padding` key in front: still
   * valid JSON, written in chunks (no content-length unless `declareLength`), so only a client that counts
   * what it reads stops it early. The sandbox never holds the whole body.
   */
  | { type: 'huge'; bytes: number; declareLength?: boolean };

export interface FaultRule {
  /** Case-insensitive; any method when absent. */
  method?: string;
  /** Matched against the path without the base prefix, e.g. `presence/reviews/123/comments`: a string matches when the path includes it. */
  path: string | RegExp;
  fault: Fault;
  /** How many matching requests get the fault; default 1, `Infinity` allowed. */
  times?: number;
}

export interface RandomFaultRule {
  method?: string;
  /** Any path when absent. */
  path?: string | RegExp;
  /** Probability 0..1 that a matching request gets one of `faults`. */
  rate: number;
  faults: Fault[];
  /** Seed of the deterministic PRNG; default 1. */
  seed?: number;
}

export interface FiredFault {
  method: string;
  path: string;
  fault: Fault;
  at: number;
}

interface ScriptedRule {
  method: string | null;
  path: string | RegExp;
  fault: Fault;
  left: number;
}

interface RandomRule {
  method: string | null;
  path: string | RegExp | null;
  rate: number;
  faults: Fault[];
  next: () => number;
}

/** Deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pathMatches(pattern: string | RegExp | null, path: string): boolean {
  if (pattern === null) return true;
  if (typeof pattern === 'string') return path.includes(pattern);
  pattern.lastIndex = 0;
  return pattern.test(path);
}

/**
 * Faults a sandbox applies to incoming requests. Scripted rules (`add`) are tried first, in the order they were
 * added; then random rules (`random`). A request gets at most one fault.
 */
export class FaultScript {
  #scripted: ScriptedRule[] = [];
  #random: RandomRule[] = [];
  /** Every fault that was applied, in order. */
  readonly fired: FiredFault[] = [];

  add(rule: FaultRule): void {
    const times = rule.times ?? 1;
    if (!(times > 0)) throw new Error('FaultScript.add: times must be positive');
    this.#scripted.push({
      method: rule.method ? rule.method.toUpperCase() : null,
      path: rule.path,
      fault: rule.fault,
      left: times,
    });
  }

  random(rule: RandomFaultRule): void {
    if (rule.faults.length === 0) throw new Error('FaultScript.random: faults must not be empty');
    if (!(rule.rate >= 0 && rule.rate <= 1)) throw new Error('FaultScript.random: rate must be within 0..1');
    this.#random.push({
      method: rule.method ? rule.method.toUpperCase() : null,
      path: rule.path ?? null,
      rate: rule.rate,
      faults: rule.faults,
      next: prng(rule.seed ?? 1),
    });
  }

  clear(): void {
    this.#scripted = [];
    this.#random = [];
  }

  /** Scripted faults still waiting to fire (Infinity when a rule never runs out). */
  get pending(): number {
    return this.#scripted.reduce((sum, r) => sum + r.left, 0);
  }

  /** Picks (and consumes) the fault for one request, or null. Called by the servers. */
  take(method: string, path: string): Fault | null {
    const m = method.toUpperCase();
    for (const rule of this.#scripted) {
      if (rule.left <= 0) continue;
      if (rule.method !== null && rule.method !== m) continue;
      if (!pathMatches(rule.path, path)) continue;
      rule.left -= 1;
      this.#scripted = this.#scripted.filter((r) => r.left > 0);
      return this.#fire(m, path, rule.fault);
    }
    for (const rule of this.#random) {
      if (rule.method !== null && rule.method !== m) continue;
      if (!pathMatches(rule.path, path)) continue;
      if (rule.next() >= rule.rate) continue;
      const fault = rule.faults[Math.floor(rule.next() * rule.faults.length)] ?? rule.faults[0];
      if (fault) return this.#fire(m, path, fault);
    }
    return null;
  }

  #fire(method: string, path: string, fault: Fault): Fault {
    this.fired.push({ method, path, fault, at: Date.now() });
    return fault;
  }
}

// ---------------------------------------------------------------- the server

export interface RecordedRequest {
  method: string;
  /** Without the base prefix and without leading or trailing slashes, e.g. `presence/reviews/1/comments`. */
  path: string;
  query: Record<string, string>;
  /** The status the client saw; 0 when it saw none (reset, hang, or still in progress). */
  status: number;
  /** The parsed JSON body, the raw text when it was not JSON, or undefined when empty. */
  body?: unknown;
  headers: Record<string, string>;
  /** Arrival time, ms since the epoch. */
  at: number;
}

export interface SandboxCall {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or undefined when the body was empty. */
  body: unknown;
  /** True when a non-empty body was not valid JSON. */
  bodyInvalid: boolean;
}

export interface SandboxReply {
  status: number;
  body?: unknown;
  /** The body as JSON text, sent verbatim instead of `body` (values JSON.stringify cannot write, such as 1e400). */
  raw?: string;
  headers?: Record<string, string>;
}

export interface SandboxHttpOptions {
  /** Path prefix without a trailing slash, e.g. `/api/1.0`. */
  prefix: string;
  faults: FaultScript;
  requests: RecordedRequest[];
  latencyMs: () => number;
  handle: (call: SandboxCall) => SandboxReply | Promise<SandboxReply>;
  /** The error body in the imitated service's shape. */
  errorBody: (status: number, message: string) => unknown;
}

interface Sleeper {
  timer: NodeJS.Timeout;
  resolve: (ok: boolean) => void;
}

const MAX_BODY = 16 * 1024 * 1024;

function statusMessage(status: number): string {
  const known: Record<number, string> = {
    400: 'Bad request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not found',
    409: 'Conflict',
    429: 'Too many requests',
    500: 'Internal server error',
    502: 'Bad gateway',
    503: 'Service unavailable',
    504: 'Gateway timeout',
  };
  return known[status] ?? `HTTP ${status}`;
}

/** A node:http server on 127.0.0.1 that records requests, applies latency and faults, and closes promptly. */
export class SandboxHttp {
  readonly origin: string;
  readonly url: string;
  #server: Server;
  #options: SandboxHttpOptions;
  #sockets = new Set<Socket>();
  #sleepers = new Set<Sleeper>();
  #closed = false;
  #closing: Promise<void> | null = null;

  private constructor(server: Server, options: SandboxHttpOptions, port: number) {
    this.#server = server;
    this.#options = options;
    this.origin = `http://127.0.0.1:${port}`;
    this.url = this.origin + options.prefix;
  }

  static async start(options: SandboxHttpOptions): Promise<SandboxHttp> {
    const server = createServer();
    server.keepAliveTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, backlog: 2048 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('sandbox: no TCP address');
    const http = new SandboxHttp(server, options, address.port);
    server.on('connection', (socket: Socket) => {
      http.#sockets.add(socket);
      socket.on('close', () => http.#sockets.delete(socket));
      if (http.#closed) socket.destroy();
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      http.#serve(req, res).catch((err: unknown) => {
        http.#send(res, 500, http.#options.errorBody(500, `sandbox error: ${String(err)}`));
      });
    });
    return http;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Waits `ms`; resolves false (early) when the server closes meanwhile. */
  sleep(ms: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (!(ms > 0)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const sleeper: Sleeper = {
        timer: setTimeout(() => {
          this.#sleepers.delete(sleeper);
          resolve(true);
        }, ms),
        resolve,
      };
      this.#sleepers.add(sleeper);
    });
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    for (const s of this.#sleepers) {
      clearTimeout(s.timer);
      s.resolve(false);
    }
    this.#sleepers.clear();
    this.#closing = new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('error', () => {});
    const at = Date.now();
    const raw = await readBody(req);
    if (raw === null) {
      // the client went away, or sent too much
      req.socket.destroy();
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const prefix = this.#options.prefix;
    const inPrefix = url.pathname.startsWith(prefix + '/');
    const path = inPrefix ? url.pathname.slice(prefix.length + 1).replace(/\/+$/, '') : url.pathname;
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    let body: unknown;
    let bodyInvalid = false;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
        bodyInvalid = true;
      }
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const record: RecordedRequest = { method, path, query, status: 0, headers, at };
    if (body !== undefined) record.body = body;
    this.#options.requests.push(record);

    let fault = inPrefix ? this.#options.faults.take(method, path) : null;
    if (!(await this.sleep(this.#options.latencyMs()))) return;

    if (fault) {
      switch (fault.type) {
        case 'reset_before':
          reset(req.socket);
          return;
        case 'hang':
          return; // close() destroys the socket
        case 'status': {
          const extra: Record<string, string> = {};
          if (fault.retryAfterSeconds !== undefined) extra['retry-after'] = String(fault.retryAfterSeconds);
          if (fault.body !== undefined) {
            const looksJson = /^\s*[{[]/.test(fault.body);
            extra['content-type'] = looksJson ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8';
            this.#sendRaw(res, fault.status, fault.body, extra);
          } else {
            this.#send(res, fault.status, this.#options.errorBody(fault.status, statusMessage(fault.status)), extra);
          }
          record.status = fault.status;
          return;
        }
        case 'delay':
          if (!(await this.sleep(fault.ms))) return;
          fault = null;
          break;
        default:
          break;
      }
    }

    let reply: SandboxReply;
    if (!inPrefix) {
      reply = { status: 404, body: this.#options.errorBody(404, `no such path: ${url.pathname}`) };
    } else {
      try {
        reply = await this.#options.handle({ method, path, query, headers: req.headers, body, bodyInvalid });
      } catch (err) {
        reply = { status: 500, body: this.#options.errorBody(500, `sandbox handler failed: ${String(err)}`) };
      }
    }
    if (this.#closed) return;

    if (fault?.type === 'reset_after') {
      reset(req.socket);
      return;
    }
    if (fault?.type === 'truncated') {
      const text = replyText(reply);
      this.#sendRaw(res, 200, text.slice(0, Math.floor(text.length / 2)), {
        'content-type': 'application/json; charset=utf-8',
      });
      record.status = 200;
      return;
    }
    if (fault?.type === 'empty') {
      this.#sendRaw(res, 200, '', { 'content-type': 'application/json; charset=utf-8' });
      record.status = 200;
      return;
    }
    if (fault?.type === 'huge') {
      this.#sendHuge(res, replyText(reply), fault.bytes, fault.declareLength === true);
      record.status = 200;
      return;
    }
    if (reply.raw !== undefined) {
      this.#sendRaw(res, reply.status, reply.raw, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
    } else {
      this.#send(res, reply.status, reply.body, reply.headers);
    }
    record.status = reply.status;
  }

  /** `{"padding":"xxx…",<the reply's own keys>}`, `bytes` long in all, written 64 KB at a time as the client reads. */
  #sendHuge(res: ServerResponse, text: string, bytes: number, declareLength: boolean): void {
    if (res.headersSent || res.destroyed || res.socket === null || res.socket.destroyed) return;
    const rest = text.startsWith('{') && text.length > 2 ? `,${text.slice(1)}` : '}';
    const head = Buffer.from('{"padding":"');
    const tail = Buffer.from(`"${rest}`);
    let padding = Math.max(0, bytes - head.length - tail.length);
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    if (declareLength) headers['content-length'] = String(head.length + padding + tail.length);
    res.writeHead(200, headers);
    res.write(head);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = (): void => {
      while (padding > 0) {
        if (res.destroyed || this.#closed) return;
        const piece = padding >= chunk.length ? chunk : chunk.subarray(0, padding);
        padding -= piece.length;
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end(tail);
    };
    pump();
  }

  #send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    this.#sendRaw(res, status, text, { 'content-type': 'application/json; charset=utf-8', ...headers });
  }

  #sendRaw(res: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
    if (res.headersSent || res.destroyed || res.socket === null || res.socket.destroyed) return;
    const buf = Buffer.from(text, 'utf8');
    res.writeHead(status, { ...headers, 'content-length': String(buf.length) });
    res.end(buf);
  }
}

function replyText(reply: SandboxReply): string {
  if (reply.raw !== undefined) return reply.raw;
  return reply.body === undefined ? '' : JSON.stringify(reply.body);
}

function reset(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (value: string | null) => {
      if (done) return;
      done = true;
      resolve(value);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) finish(null);
      else chunks.push(chunk);
    });
    req.on('end', () => finish(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => finish(null));
    req.on('close', () => finish(req.complete ? Buffer.concat(chunks).toString('utf8') : null));
  });
}

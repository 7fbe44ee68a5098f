// A whole outside world on loopback for integration and end-to-end tests: the 2GIS and model sandboxes, a
// WebSocket receiver, a fresh MariaDB database (or, with `{ database: 'sqlite' }`, a SQLite file in the world's
// folder), and a way to run the real gisbot binary against them.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { loadConfig } from '../../src/config/load.ts';
import type { ChildProcess } from 'node:child_process';
import { runProcess, startProcess, type RunResult } from './run-process.ts';
import { createContext, type Context, type ContextParts } from '../../src/context.ts';
import { Output } from '../../src/ui/output.ts';
import { ModelSandbox, type ModelSandboxOptions } from '../../src/sandbox/model.ts';
import { TwoGisSandbox } from '../../src/sandbox/twogis.ts';
import type { ExpectedCharges } from './charges.ts';
import { checkMoneyInvariants, createTestDatabase, queryDatabase, type TestDatabase } from './mysql.ts';
import { checkSqliteInvariants, querySqlite } from './sqlite.ts';

/** The store a world's gisbot runs on. */
export type Backend = 'mysql' | 'sqlite';

export interface WorldOptions {
  /** Default 'mysql': a fresh database on the local MariaDB. 'sqlite': a file in the world's folder. */
  database?: Backend;
  /** The model sandbox's options (its dialect, a keyless server...); default: the classic dialect with SECRETS.apiKey. */
  model?: ModelSandboxOptions;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'gisbot.ts');

export const SECRETS = {
  password: 'sentinel-2gis-password-7f3a',
  apiKey: 'sk-sentinel-openai-key-91bc',
  wsToken: 'sentinel-ws-token-c0de',
};

export interface Frame {
  raw: string;
  event: { id: string; type: string; reviewId: string | null; [key: string]: unknown };
  authorization: string | undefined;
}

/** A WebSocket server that keeps every frame it receives and, if asked, acknowledges them. */
export class Receiver {
  readonly frames: Frame[] = [];
  readonly server: WebSocketServer;
  ack = false;
  readonly url: string;

  private constructor(server: WebSocketServer) {
    this.server = server;
    const address = server.address();
    this.url = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    server.on('connection', (socket: WebSocket, request) => {
      socket.on('message', (data) => {
        const raw = String(data);
        const event = JSON.parse(raw);
        this.frames.push({ raw, event, authorization: request.headers.authorization });
        if (this.ack) socket.send(JSON.stringify({ ack: event.id }));
      });
    });
  }

  static async start(): Promise<Receiver> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    return new Receiver(server);
  }

  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export type { RunResult } from './run-process.ts';

export class World {
  readonly twogis: TwoGisSandbox;
  readonly model: ModelSandbox;
  readonly receiver: Receiver;
  readonly db: TestDatabase;
  readonly dir: string;
  readonly backend: Backend;
  readonly login = 'owner@example.com';

  private constructor(twogis: TwoGisSandbox, model: ModelSandbox, receiver: Receiver, db: TestDatabase, dir: string, backend: Backend) {
    this.twogis = twogis;
    this.model = model;
    this.receiver = receiver;
    this.db = db;
    this.dir = dir;
    this.backend = backend;
  }

  static async start(options: WorldOptions = {}): Promise<World> {
    const backend = options.database ?? 'mysql';
    const [twogis, model, receiver, dir] = await Promise.all([
      TwoGisSandbox.start(),
      ModelSandbox.start(options.model ?? { apiKey: SECRETS.apiKey }),
      Receiver.start(),
      mkdtemp(path.join(tmpdir(), 'gisbot-world-')),
    ]);
    const db = backend === 'mysql' ? await createTestDatabase() : sqliteDatabase(dir);
    const world = new World(twogis, model, receiver, db, dir, backend);
    twogis.addAccount({ login: world.login, password: SECRETS.password });
    twogis.addOrg({ id: '100', name: 'Кофейни', login: world.login });
    return world;
  }

  get logFile(): string {
    return path.join(this.dir, 'gisbot.log');
  }

  /** The environment that points gisbot at this world; secrets only through the environment. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '',
      HOME: this.dir,
      // English, whatever the machine's locale: the tests read gisbot's English words (a test of the Russian sets LANG).
      LANG: 'C',
      LC_ALL: '',
      LC_MESSAGES: '',
      XDG_DATA_HOME: path.join(this.dir, 'data'),
      GISBOT_2GIS_API_URL: this.twogis.url,
      GISBOT_2GIS_LOGIN: this.login,
      GISBOT_2GIS_PASSWORD: SECRETS.password,
      OPENAI_BASE_URL: this.model.url,
      OPENAI_API_KEY: SECRETS.apiKey,
      GISBOT_DATABASE_URL: this.db.url,
      GISBOT_WS_URL: this.receiver.url,
      GISBOT_WS_TOKEN: SECRETS.wsToken,
      GISBOT_LOG_FILE: this.logFile,
      ...extra,
    };
  }

  /** Runs the real binary with the Node that runs the tests. */
  run(args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
    return runProcess(process.execPath, [BIN, ...args], { cwd: this.dir, env: { ...this.env(), ...options.env }, timeoutMs: options.timeoutMs });
  }

  /** Starts the real binary and leaves it running: for a test that signals it meanwhile. */
  spawn(args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): { child: ChildProcess; done: Promise<RunResult> } {
    return startProcess(process.execPath, [BIN, ...args], { cwd: this.dir, env: { ...this.env(), ...options.env }, timeoutMs: options.timeoutMs });
  }

  /**
   * Runs `poll-once` until no review is in work, at most `attempts` times: a review whose answer was sent when its
   * worker died waits twice the 2GIS deadline from the send (`twogis.timeoutSeconds`) before it is read back.
   */
  async pollUntilAtRest(attempts = 20): Promise<RunResult> {
    for (let attempt = 1; ; attempt += 1) {
      const result = await this.run(['poll-once', '--json']);
      const inWork = await this.query("SELECT id FROM reviews WHERE state IN ('claimed', 'drafted', 'posting')");
      if (inWork.length === 0 || attempt === attempts || (result.code !== 0 && result.code !== 3)) return result;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  async logLines(): Promise<Array<Record<string, unknown>>> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
  }

  /** Answers of ours that 2GIS holds, over every review the sandbox knows. */
  answersByUs(reviewIds: readonly string[]): number {
    return reviewIds.filter((id) => this.twogis.answerOf(id)?.byUs).length;
  }

  /** The posting and money invariants of invariants.md, against the database and the sandbox's record. */
  async checkInvariants(reviewIds: readonly string[], price: ExpectedCharges = 500n): Promise<void> {
    for (const id of reviewIds) assert.ok(this.twogis.postsTo(id) <= 1, `review ${id} got ${this.twogis.postsTo(id)} answers`);
    if (this.backend === 'sqlite') await checkSqliteInvariants(this.sqliteFile, this.answersByUs(reviewIds), price);
    else await checkMoneyInvariants(this.db.url, this.answersByUs(reviewIds), price);
  }

  /** The SQLite file of a `{ database: 'sqlite' }` world. */
  get sqliteFile(): string {
    return this.db.url.slice('sqlite:'.length);
  }

  /**
   * One statement against the world's database, on either backend (write it in the SQL both speak). Rows are
   * plain objects; SQLite's integers come back as numbers, MySQL's DECIMAL money as strings ('85.00').
   */
  async query(sql: string, params: Array<string | number> = []): Promise<Array<Record<string, unknown>>> {
    if (this.backend === 'mysql') return (await queryDatabase(this.db.url, sql, params)).map((row) => ({ ...row }));
    const rows = await querySqlite(this.sqliteFile, sql, params);
    return rows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'bigint' ? Number(value) : value])));
  }

  async close(): Promise<void> {
    await Promise.all([this.twogis.close(), this.model.close(), this.receiver.close()]);
    await this.db.drop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A SQLite "database" in the world's folder: the file appears when gisbot first opens it, and goes with the folder. */
function sqliteDatabase(dir: string): TestDatabase {
  return { url: `sqlite:${path.join(dir, 'gisbot.db')}`, name: 'gisbot.db', drop: async () => {} };
}

/** Waits until `condition` holds, polling; fails with `message` after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, message: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(message);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A context wired to this world with the real adapters, in this process, for integration tests. */
export async function worldContext(world: World, env: Record<string, string> = {}, parts: ContextParts = {}): Promise<Context> {
  const config = await loadConfig({ cwd: world.dir, env: world.env(env), dataDir: path.join(world.dir, 'data') });
  const output = new Output({ json: true, quiet: true, debug: false, stdout: new PassThrough(), stderr: new PassThrough(), stdinIsTTY: false });
  return createContext(config, output, { twogis: true, model: true }, parts);
}

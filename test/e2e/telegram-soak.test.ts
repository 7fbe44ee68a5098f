// Fault-injection soak of the Telegram bridge (issue 18, item 1), with the real binary on MariaDB and SQLite: 100
// presses per database (200 in all: Send, Regenerate, Edit with the reply it asks for, Skip) on 12 cards, acted on
// by two `gisbot run` workers side by side, while the database is locked or the workers' connections are killed at
// random points of handling: as a worker waits for a seeded choice of its Telegram calls or its model call
// (SQLite: another connection holds BEGIN IMMEDIATE past the 5 s busy timeout; MariaDB: LOCK TABLES on the
// bridge's tables with the worker's waiting query KILLed, or a KILL of its connections). Afterwards every
// update is done: acted on (the press answered, its effect on the card taken once) or given up on with the person
// told in reply to the card; 0 double posts (2GIS POSTs counted in the sandbox), the money exact.
// Seeded: GISBOT_SOAK_SEED=<n> replays a run (the seed is printed with the figures).
import { prng } from '../../src/sandbox/faults.ts';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultResponder } from '../../src/sandbox/model.ts';
import { TelegramSandbox, type SandboxMessage } from '../../src/sandbox/telegram.ts';
import { DatabaseFaults } from '../support/db-faults.ts';
import { BIN, eventually, World, type Backend } from '../support/world.ts';

const BRANCH = '70000001017466303';
const OWNER = '1000001';
const ANNA = { id: 1000001, firstName: 'Анна', username: 'anna' };
const CARDS = 12;
/** Presses per database; GISBOT_SOAK_PRESSES scales the soak (100 on each of the two: 200 in all). */
const PRESSES = Number(process.env.GISBOT_SOAK_PRESSES ?? 100);
const PER_ROUND = 50;
const SEED = Number(process.env.GISBOT_SOAK_SEED ?? 18_001);

interface Press {
  updateId: number;
  kind: 'send' | 'regenerate' | 'edit' | 'skip' | 'reply';
  reviewId: string;
  messageId: number;
}

for (const [index, backend] of (['mysql', 'sqlite'] as const satisfies readonly Backend[]).entries()) {
  describe(`Telegram soak on ${backend}: ${PRESSES} presses, database faults at random moments, two workers`, () => {
    let world: World;
    let tg: TelegramSandbox;
    let faults: DatabaseFaults;
    const random = prng(SEED + index); // seeded: a failing soak can be replayed with GISBOT_SOAK_SEED
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const cardOf = (reviewId: string): SandboxMessage[] => tg.messagesIn(OWNER).filter((message) => message.text.includes(`review ${reviewId}`));

    before(async () => {
      world = await World.start({ database: backend });
      faults = new DatabaseFaults(world);
      tg = await TelegramSandbox.start();
      tg.addChat({ id: OWNER, type: 'private', title: 'Анна' });
      world.twogis.addBranch({ id: BRANCH, name: 'Кофейня «Зерно»', orgId: '100' });
      await writeFile(path.join(world.dir, '.gisbotrc.json'), JSON.stringify({ telegram: { chatIds: [OWNER], apiUrl: tg.url } }));
      assert.equal((await world.run(['balance', 'add', '200', '--yes'])).code, 0);
      for (let i = 0; i < CARDS; i += 1) {
        world.twogis.addReview(BRANCH, { id: String(992_000 + i), rating: 1, text: `Плохо, случай ${i}.`, user: { id: String(500 + i), name: `Гость ${i}` } });
      }
    });
    after(async () => {
      await faults.settle();
      await tg.close();
      await world.close();
    });

    test(`every press acted on once or its person told why not; 0 double posts; money exact (seed ${SEED + index})`, async () => {
      const reviewIds = Array.from({ length: CARDS }, (_, i) => String(992_000 + i));
      const config = path.join(world.dir, 'run.json');
      await writeFile(config, JSON.stringify({ polling: { intervalSeconds: 5 }, telegram: { chatIds: [OWNER], apiUrl: tg.url } }));
      // The cards first (ten a turn), so that the workers' long polls start with presses to read.
      for (let run = 0; run < 3 && !reviewIds.every((id) => cardOf(id).length === 1); run += 1) {
        const made = await world.run(['poll-once', '--json'], { env: { GISBOT_TELEGRAM_TOKEN: tg.token } });
        assert.equal(made.code, 0, made.stderr);
      }
      const workers = [startWorker(world, tg, config), startWorker(world, tg, config)];
      const presses: Press[] = [];
      const started = Date.now();
      let rounds = 0;
      try {
        assert.ok(reviewIds.every((id) => cardOf(id).length === 1), 'a card for every review');
        const pressed = () => presses.filter((press) => press.kind !== 'reply').length;
        while (pressed() < PRESSES) {
          rounds += 1;
          // The round's faults: at a seeded call of the workers to Telegram, and at a model call (a Regenerate).
          let calls = 0;
          const trigger = 1 + Math.floor(random() * 20);
          tg.beforeServe = async (method) => {
            if (method === 'getUpdates' || method === 'getMe') return;
            calls += 1;
            if (calls === trigger) await injectFault(backend, faults, random);
          };
          let modelFault = random() < 0.5;
          world.model.responder = async (request) => {
            if (modelFault && JSON.stringify(request.messages).includes('Плохо, случай')) {
              modelFault = false;
              await injectFault(backend, faults, random);
            }
            return defaultResponder(request);
          };
          // The round's presses, on the buttons the cards show now (a closed card has none).
          const round: number[] = [];
          for (let made = 0; made < PER_ROUND && pressed() < PRESSES; ) {
            if (reviewIds.every((id) => cardOf(id).every((copy) => copy.buttons.length === 0))) break;
            const reviewId = pick(reviewIds);
            const message = cardOf(reviewId)[0]!;
            const shown = message.buttons.flat().map((button) => button.data.split(':')[0]!);
            if (shown.length === 0) continue;
            const action = pick(['send', 'send', 'regenerate', 'regenerate', 'regenerate', 'edit', 'edit', 'edit', 'skip', 'skip', 'skip'].filter((each) => shown.includes(each)));
            presses.push({ updateId: tg.press(OWNER, message.messageId, action, ANNA), kind: action as Press['kind'], reviewId, messageId: message.messageId });
            round.push(presses.at(-1)!.updateId);
            made += 1;
            if (action === 'edit') {
              const text = `Гость, простите нас: разберёмся с этим, ответ ${presses.length}.`;
              presses.push({ updateId: tg.write(OWNER, text, { replyTo: message.messageId, person: ANNA }), kind: 'reply', reviewId, messageId: message.messageId });
              round.push(presses.at(-1)!.updateId);
            }
            await sleep(random() * 40);
          }
          if (round.length === 0) break;
          await eventually(async () => {
            if (tg.pendingUpdates > 0) return false;
            const done = await world.query(`SELECT update_id FROM telegram_updates WHERE done <> 0 AND update_id IN (${round.join(', ')})`);
            return done.length === round.length;
          }, `round ${rounds}: every update done with`, 80_000);
          await faults.settle();
        }
        await eventually(async () => (await world.query("SELECT id FROM reviews WHERE state IN ('claimed', 'drafted', 'posting')")).length === 0, 'nothing in work', 30_000);
        // Cards edited after the last press.
        await eventually(async () => (await world.query('SELECT id FROM telegram_cards WHERE active = 1 AND body LIKE \'%"outcome":{%\'')).length === 0, 'closed cards shown closed', 30_000);
      } catch (error) {
        for (const [n, worker] of workers.entries()) console.log(`# worker ${n + 1} said:\n${worker.stderr.split('\n').slice(-15).join('\n')}`);
        console.log('# open updates', tg.pendingUpdates, JSON.stringify(await world.query('SELECT update_id, attempts, last_error, lease_until, claim_token FROM telegram_updates WHERE done = 0')));
        console.log('# telegram log', JSON.stringify((await world.logLines()).filter((line) => /telegram|Telegram/.test(JSON.stringify(line))).slice(-15)));
        throw error;
      } finally {
        tg.beforeServe = null;
        await Promise.all(workers.map((worker) => worker.stop()));
      }
      const seconds = (Date.now() - started) / 1000;

      const rows = await world.query('SELECT update_id, done, attempts FROM telegram_updates');
      const byId = new Map(rows.map((row) => [Number(row.update_id), { done: Number(row.done), attempts: Number(row.attempts) }]));
      const cards = await world.query('SELECT review_id, body FROM telegram_cards');
      const actedOn = cards.flatMap((card) => (JSON.parse(String(card.body)) as { actedOn?: number[] }).actedOn ?? []);
      let givenUp = 0;
      let repeatedToasts = 0;
      for (const press of presses) {
        const row = byId.get(press.updateId);
        assert.ok(row, `update ${press.updateId} (${press.kind}) was stored`);
        assert.ok(row.done === 1 || row.done === 2, `update ${press.updateId} (${press.kind}) is done with: ${JSON.stringify(row)}`);
        assert.ok(actedOn.filter((id) => id === press.updateId).length <= 1, `update ${press.updateId} took its effect once`);
        if (row.done === 2) {
          givenUp += 1;
          const told = tg.messagesIn(OWNER).some((message) => message.replyTo !== null && /was not acted on/.test(message.text));
          assert.ok(told, `the person was told that update ${press.updateId} was not acted on`);
          continue;
        }
        if (press.kind === 'reply') continue;
        const toasts = tg.answers.filter((answer) => answer.updateId === press.updateId).length;
        assert.ok(toasts >= 1, `press ${press.updateId} (${press.kind} on ${press.reviewId}) was answered`);
        repeatedToasts += toasts - 1;
      }
      assert.equal(tg.pendingUpdates, 0, 'every update confirmed to Telegram');
      for (const id of reviewIds) assert.ok(world.twogis.postsTo(id) <= 1, `review ${id}: ${world.twogis.postsTo(id)} POSTs`);
      const posted = await world.query("SELECT id FROM reviews WHERE state = 'posted'");
      assert.equal(world.twogis.totalPosts, posted.length, 'one POST per posted review, none other');
      for (const { id } of posted) for (const copy of cardOf(String(id))) assert.deepEqual(copy.buttons, [], `no live buttons on the card of posted review ${String(id)}`);
      await world.checkInvariants(world.twogis.reviewIds());
      const figures = {
        backend, seed: SEED + index, presses: presses.filter((press) => press.kind !== 'reply').length, replies: presses.filter((press) => press.kind === 'reply').length,
        rounds, seconds, givenUp, repeatedToasts, posts: world.twogis.totalPosts,
        retried: [...byId.values()].filter((row) => row.attempts > 1).length, faults: faults.injected,
        failedTurns: workers.map((worker) => (worker.stderr.match(/Telegram: /g) ?? []).length),
      };
      console.log(`# soak ${JSON.stringify(figures)}`);
    });
  });
}

interface Worker {
  stderr: string;
  stop(): Promise<void>;
}

/** `gisbot run` beside the test; stop() ends it with SIGTERM (SIGKILL after 20 s). */
function startWorker(world: World, tg: TelegramSandbox, config: string): Worker {
  const child = spawn(process.execPath, [BIN, 'run', '--config', config], { cwd: world.dir, env: { ...world.env(), GISBOT_TELEGRAM_TOKEN: tg.token }, stdio: ['ignore', 'ignore', 'pipe'] });
  const worker: Worker = { stderr: '', stop: async () => {} };
  child.stderr.on('data', (chunk) => (worker.stderr += chunk));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  worker.stop = async () => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  return worker;
}

/** One fault, begun now: it has taken hold when this returns (the worker's next statement meets it). */
async function injectFault(backend: Backend, faults: DatabaseFaults, random: () => number): Promise<void> {
  if (backend === 'sqlite') return faults.holdWriteLock(5_600 + random() * 800);
  if (random() < 0.3) {
    await faults.killWorkers();
    return;
  }
  const tables = [['telegram_cards', 'telegram_updates'], ['telegram_cards', 'telegram_updates', 'reviews', 'ledger', 'account']][Math.floor(random() * 2)]!;
  await faults.holdWriteLock(600 + random() * 900, tables);
  // The worker's next statement waits on the lock: KILLed there (a dropped connection in the middle of its work).
  faults.killWaiterSoon(/telegram_|reviews|ledger|account/, 500);
}

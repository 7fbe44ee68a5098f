// `gisbot branches` through the real binary: the account's branches from the 2GIS sandbox (id, name, address),
// watched or not by twogis.branches, their policy overrides, and the store's counts; an id in twogis.branches that
// the account does not have is listed too. Ends with the posting and money invariants.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { World, worldContext } from '../support/world.ts';

let world: World;
const [A, B, C, GONE] = ['7900000000000001', '7900000000000002', '7900000000000003', '7900000000000099'];

before(async () => {
  world = await World.start({ database: 'sqlite' });
  world.twogis.addBranch({ id: A, name: 'Кофейня на Абая', address: 'пр. Абая, 10', orgId: '100' });
  world.twogis.addBranch({ id: B, name: 'Кофейня на Достык', address: 'пр. Достык, 25', orgId: '100' });
  world.twogis.addBranch({ id: C, name: 'Кофейня в ТРЦ', address: 'ул. Розыбакиева, 247', orgId: '100' });
  world.twogis.addReview(A, { id: '9901', rating: 5, text: 'Отличный кофе' });
  world.twogis.addReview(A, { id: '9902', rating: 1, text: 'Ждали очень долго' });
  world.twogis.addReview(B, { id: '9903', rating: 4, text: 'Хорошо' });
  const ctx = await worldContext(world);
  try {
    await ctx.store.migrate();
    await ctx.store.topUp(10_000n, 'test');
    await runCycle(ctx);
  } finally {
    await ctx.close();
  }
  await writeFile(
    path.join(world.dir, '.gisbotrc'),
    JSON.stringify({ twogis: { branches: [A, B, GONE] }, policy: { branches: { [B]: { tone: 'строгий', approvalBelowRating: 4 } } } }),
  );
});
after(async () => {
  await world.checkInvariants(['9901', '9902', '9903']);
  await world.close();
});

test('branches --json: every branch of the account, watched or not, its overrides and its counts', async () => {
  const result = await world.run(['branches', '--json']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), [
    { id: A, name: 'Кофейня на Абая', address: 'пр. Абая, 10', watched: true, policy: {}, reviews: 2, answered: 1, waiting: 1 },
    { id: B, name: 'Кофейня на Достык', address: 'пр. Достык, 25', watched: true, policy: { tone: 'строгий', approvalBelowRating: 4 }, reviews: 1, answered: 1, waiting: 0 },
    { id: C, name: 'Кофейня в ТРЦ', address: 'ул. Розыбакиева, 247', watched: false, policy: {}, reviews: 0, answered: 0, waiting: 0 },
    { id: GONE, name: '', address: null, watched: true, policy: {}, reviews: 0, answered: 0, waiting: 0 },
  ]);
});

test('branches on a terminal-less stdout: a table with the ids to copy, and the stray id called out', async () => {
  const result = await world.run(['branches']);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.match(lines[0]!, /^id\s+watched\s+reviews\s+answered\s+waiting\s+name\s+address\s+policy$/);
  assert.match(lines[1]!, new RegExp(`^${A}\\s+yes\\s+2\\s+1\\s+1\\s+Кофейня на Абая\\s+пр\\. Абая, 10\\s+policy\\.\\*$`));
  assert.match(lines[3]!, new RegExp(`^${C}\\s+no\\s+0`));
  assert.match(lines[4]!, /not a branch of this account/);
});

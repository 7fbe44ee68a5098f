// `gisbot balance adjust`: a correction is a ledger entry with its reason, never an edit, and never below zero.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { World } from '../support/world.ts';

for (const database of ['sqlite', 'mysql'] as const) {
  describe(`balance adjust through the real binary (${database})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database });
      await world.run(['balance', 'add', '20', '--yes']);
    });
    after(() => world.close());

    test('a negative and a positive correction: ledger entries with their notes; the balance follows', async () => {
      const down = await world.run(['balance', 'adjust', '-12.50', '--note', 'wrong top-up', '--yes', '--json']);
      assert.equal(down.code, 0, down.stderr);
      assert.deepEqual(JSON.parse(down.stdout), { balance: '7.50', held: '0.00', currency: 'RUB' });
      const up = await world.run(['balance', 'adjust', '+2', '--note', 'goodwill', '--yes', '--json']);
      assert.deepEqual(JSON.parse(up.stdout), { balance: '9.50', held: '0.00', currency: 'RUB' });
      const history = JSON.parse((await world.run(['balance', 'history', '--json'])).stdout) as Array<Record<string, unknown>>;
      assert.deepEqual(
        history.filter((entry) => entry.kind === 'adjustment').map((entry) => [entry.amount, entry.balanceAfter, entry.note]),
        [
          ['2.00', '9.50', 'goodwill'],
          ['-12.50', '7.50', 'wrong top-up'],
        ],
      );
    });

    test('refused in one line, nothing changed: below zero, without a note, not an amount', async () => {
      for (const args of [
        ['-10', '--note', 'too much'],
        ['-1'],
        ['ten', '--note', 'x'],
        ['0', '--note', 'x'],
      ]) {
        const result = await world.run(['balance', 'adjust', ...args, '--yes']);
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        assert.equal(result.stderr.trim().split('\n').filter((line) => line.startsWith('error:')).length, 1, result.stderr);
      }
      assert.deepEqual(JSON.parse((await world.run(['balance', '--json'])).stdout), { balance: '9.50', held: '0.00', currency: 'RUB' });
    });
  });
}

// Crashes at every failpoint, then runs again: nothing lost, nothing answered or charged twice.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { queryDatabase } from '../support/mysql.ts';
import { World } from '../support/world.ts';

const FAILPOINTS = ['after_claim', 'after_generate', 'before_post', 'after_post', 'after_record'] as const;
const RESTING = new Set(['posted', 'skipped', 'needs_approval', 'failed']);

describe('the crash matrix', () => {
  let world: World;
  before(async () => {
    world = await World.start();
    // Past the fence, a POST may have left: its review is read back 2 × this deadline after the send.
    await writeFile(path.join(world.dir, '.gisbotrc'), JSON.stringify({ twogis: { timeoutSeconds: 3 } }));
    await world.run(['balance', 'add', '100', '--yes']);
  });
  after(async () => {
    await world.close();
  });

  for (const [index, failpoint] of FAILPOINTS.entries()) {
    test(`killed at ${failpoint}, then run again`, async () => {
      const branch = `7100000000000000${index}`;
      world.twogis.addBranch({ id: branch, name: `Филиал ${failpoint}`, orgId: '100' });
      const ids = [1, 2, 3].map((n) => world.twogis.addReview(branch, { id: `${index}00${n}`, rating: 5 }).id);

      const crashed = await world.run(['poll-once', '--json'], { env: { GISBOT_FAILPOINT: failpoint } });
      assert.equal(crashed.signal, 'SIGKILL', `the process died at ${failpoint}: ${crashed.stderr}`);

      const recovered = await world.pollUntilAtRest();
      assert.equal(recovered.code, 0, recovered.stderr);
      const rows = await queryDatabase(world.db.url, 'SELECT id, state, reason FROM reviews WHERE branch_id = ?', [branch]);
      for (const row of rows) assert.ok(RESTING.has(row.state), `review ${row.id} rests in ${row.state}`);
      for (const id of ids) assert.equal(world.twogis.postsTo(id), 1, `review ${id} answered once`);
      if (failpoint === 'after_post' || failpoint === 'after_record') {
        const charges = await queryDatabase(world.db.url, "SELECT COUNT(*) AS n FROM ledger WHERE kind = 'charge' AND review_id = ?", [ids[0]]);
        assert.equal(Number(charges[0]!.n), 1, 'the answer that was out there is charged exactly once');
      }
      await world.checkInvariants(world.twogis.reviewIds());
    });
  }
});

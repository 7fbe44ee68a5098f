// Claim tokens name their owner: this process's own claims count as left behind between cycles, except those it
// holds beside them (a Telegram press in `run`), and only while it holds them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProcessOwnership } from '../../src/adapters/process/ownership.ts';

test("this process's claim held beside the cycles is not abandoned while it is held, and is once let go", (t) => {
  const ownership = createProcessOwnership();
  const token = ownership.newToken();
  if (!token.startsWith('x.')) assert.equal(ownership.isAbandoned(token), true, 'a claim of a cycle that failed half-way');
  else t.diagnostic('no machine identity here: every claim counts as alive');
  const letGo = ownership.hold(token);
  assert.equal(ownership.isAbandoned(token), false);
  assert.equal(ownership.isAbandoned(ownership.newToken()), !token.startsWith('x.'), 'only the token held');
  letGo();
  assert.equal(ownership.isAbandoned(token), !token.startsWith('x.'));
});

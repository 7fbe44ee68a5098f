// The one worker pool of a deployment (core/answering/turns.ts): turns go round robin between the businesses with work
// waiting, so a backlog cannot hold back another business's fresh review; a business's share can be capped.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Turns, type Turn } from '../../src/core/answering/turns.ts';

/** Lets every settled promise's callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('turns between businesses', () => {
  test('a backlog of one business and a late fresh review of another: the other gets the next free turn', async () => {
    const turns = new Turns({ concurrency: 2 });
    const granted: string[] = [];
    const held: Turn[] = [];
    const want = (id: string) => void turns.take(id).then((turn) => (granted.push(id), held.push(turn)));
    for (let i = 0; i < 6; i++) want('backlog');
    await settle();
    assert.deepEqual(granted, ['backlog', 'backlog']);
    want('fresh-1');
    want('fresh-2');
    held.shift()!.end();
    await settle();
    assert.equal(granted.at(-1), 'fresh-1', 'the fresh review, not the backlog, takes the freed turn');
    held.shift()!.end();
    await settle();
    assert.equal(granted.at(-1), 'fresh-2');
    held.shift()!.end();
    await settle();
    assert.equal(granted.at(-1), 'backlog', 'nobody else waits: the backlog goes on');
  });

  test('concurrencyPerBusiness caps one business; the free turns wait for others', async () => {
    const turns = new Turns({ concurrency: 4, perBusiness: 1 });
    assert.equal(turns.lanesPerBusiness, 1);
    const granted: string[] = [];
    for (const id of ['a', 'a', 'b']) void turns.take(id).then(() => granted.push(id));
    await settle();
    assert.deepEqual(granted.sort(), ['a', 'b'], "a's second waits for its first, though turns are free");
  });

  test('a lane waiting for a turn lets go when the signal comes; ending a turn twice frees it once', async () => {
    const turns = new Turns({ concurrency: 1 });
    const first = await turns.take('a');
    const controller = new AbortController();
    const waiting = turns.take('b', controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
    first.end();
    first.end();
    const next = await turns.take('c');
    let fourth = false;
    void turns.take('d').then(() => (fourth = true));
    await settle();
    assert.equal(fourth, false, 'one turn in all: the second end() freed nothing more');
    next.end();
    await settle();
    assert.equal(fourth, true);
  });
});

// The stop request of the commands that work on reviews: the first signal stops, a second hurries, later ones
// change nothing, and none is left to Node's default (dying with an answer on its way) while the command runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StopSignals } from '../../src/adapters/process/signals.ts';
import { ExitCode, exitCodeOfSignal } from '../../src/errors.ts';

test('SIGTERM stops, SIGINT after it hurries, a third changes nothing; dispose stops listening', () => {
  const listening = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') };
  const stop = new StopSignals();
  try {
    assert.equal(stop.received, null);
    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(stop.signal.aborted, true);
    assert.equal(stop.hurry.aborted, false);
    assert.equal(stop.received, 'SIGTERM');
    process.emit('SIGINT', 'SIGINT');
    assert.equal(stop.hurry.aborted, true);
    assert.equal(stop.received, 'SIGTERM', 'the first signal names the stop');
    process.emit('SIGINT', 'SIGINT');
    assert.equal(stop.received, 'SIGTERM');
  } finally {
    stop.dispose();
  }
  assert.deepEqual({ SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') }, listening);
});

test('exit codes: 130 for SIGINT, 143 for SIGTERM', () => {
  assert.equal(exitCodeOfSignal('SIGINT'), ExitCode.interrupted);
  assert.equal(exitCodeOfSignal('SIGTERM'), 143);
});

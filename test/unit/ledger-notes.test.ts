// The ledger's own notes (a top-up from the command line, the demo's balance, a refund of a removed answer) are
// stored as their English words, as --json shows them, and read in the reader's language; a person's own note
// (balance adjust --note) is shown as written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLI_TOP_UP_NOTE, DEMO_TOP_UP_NOTE, REFUND_NOTE } from '../../src/core/money/ledger-notes.ts';
import { messagesFor } from '../../src/ui/messages.ts';

test('the notes gisbot writes in the ledger, read in each language; a person\'s own note as written', () => {
  const ru = messagesFor('ru');
  const en = messagesFor('en');
  assert.equal(ru.history.note('top-up from the command line'), 'пополнение из командной строки', 'rows written before keep reading right');
  assert.equal(ru.history.note(CLI_TOP_UP_NOTE), 'пополнение из командной строки');
  assert.equal(ru.history.note(DEMO_TOP_UP_NOTE), 'баланс демо');
  assert.equal(ru.history.note(REFUND_NOTE), 'возврат: 2ГИС удалил ответ');
  assert.equal(en.history.note(CLI_TOP_UP_NOTE), 'top-up from the command line');
  assert.equal(ru.history.note('компенсация за март'), 'компенсация за март');
  assert.equal(ru.history.note('refund for March'), 'refund for March');
});

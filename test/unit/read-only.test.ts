// A read-only data folder (issue 20): the log file's warning names the folder and what to do. (The database's
// error is tested with the SQLite store, test/integration/sqlite-store.test.ts.) Tests run as root, who may write
// in any folder whose permissions forbid it, so the errno is given, not provoked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messages } from '../../src/ui/messages.ts';

test('the log file in a read-only folder: one line naming the folder, logs.file and what to do; other failures as they are', () => {
  const line = messages.run.logUnwritable('/srv/data/gisbot/gisbot.log', "EROFS: read-only file system, open '/srv/data/gisbot/gisbot.log'", 'EROFS');
  assert.equal(
    line,
    'log file /srv/data/gisbot/gisbot.log cannot be written: its folder /srv/data/gisbot is read-only (EROFS); logging to it is off — make the folder writable, or set logs.file to a writable place',
  );
  assert.ok(!line.includes('\n'));
  assert.equal(messages.run.logUnwritable('/x/gisbot.log', 'ENOSPC: no space left on device', null), 'log file /x/gisbot.log cannot be written (ENOSPC: no space left on device); logging to it is off');
});

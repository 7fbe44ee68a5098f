// Loaded into every test file's process (`npm test` passes `--import` to the runner, which hands it to each file's
// child). A file whose tests are all done but whose process stays alive (a leaked socket, timer or child) would
// hold `npm test` forever; this ends it a while after its last test, with a line that names it.
//
// Not `--test-force-exit`: under process isolation it ends a file before the runner has read its last results
// (nodejs/node#64833): whole tails of passing tests went missing from the count at exit 0, 1,200 tests reported as
// 791 to 925 (test/unit/test-runner.test.ts). Here every result is in long before the grace runs out.
import { after } from 'node:test';

const GRACE_MS = Number(process.env.GISBOT_TEST_EXIT_GRACE_MS ?? 30_000);

if (process.env.NODE_TEST_CONTEXT?.startsWith('child')) {
  after(() => {
    setTimeout(() => {
      // Sockets by their ends (3306: the database; the sandboxes' ports otherwise): what a reader looks for first.
      const sockets = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().flatMap((handle) => {
        const socket = handle as { localPort?: number; remotePort?: number };
        return socket.remotePort === undefined ? [] : [`socket ${socket.localPort} → ${socket.remotePort}`];
      });
      const open = [...process.getActiveResourcesInfo().filter((kind) => kind !== 'Timeout' && kind !== 'TCPSocketWrap'), ...sockets];
      process.stderr.write(`exit guard: ${process.argv[1]} kept running ${GRACE_MS} ms after its last test (left open: ${open.join(', ') || 'timers'}); ended\n`);
      process.exit();
    }, GRACE_MS).unref();
  });
}

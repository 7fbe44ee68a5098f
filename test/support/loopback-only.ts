// Preloaded into a gisbot process (`node --import <this file>`) by tests that claim it touches no network beyond
// loopback: every TCP connection is checked before it is made, and one to any other host is refused and reported
// on stderr with the marker below. Unix sockets (a path) are allowed.
import net from 'node:net';

export const NON_LOOPBACK_MARKER = 'LOOPBACK-GUARD: refused a connection to';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guarded(this: net.Socket, ...args: unknown[]) {
  // net.connect() hands over its arguments already normalised, as an array: [options, callback].
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  let host: string | undefined;
  let isPath = false;
  if (typeof first === 'object' && first !== null) {
    const options = first as { host?: string; path?: string };
    isPath = typeof options.path === 'string';
    host = options.host ?? 'localhost';
  } else if (typeof first === 'string' && !/^\d+$/.test(first)) {
    isPath = true;
  } else {
    host = typeof args[1] === 'string' ? args[1] : 'localhost';
  }
  if (!isPath && host !== undefined && !LOOPBACK.has(host)) {
    process.stderr.write(`${NON_LOOPBACK_MARKER} ${host}\n`);
    throw new Error(`${NON_LOOPBACK_MARKER} ${host}`);
  }
  return Reflect.apply(connect, this, args) as net.Socket;
} as typeof connect;

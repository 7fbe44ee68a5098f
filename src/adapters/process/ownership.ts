// Claim tokens that name their owner: `<boot id>.<pid namespace>.<pid>.<random>`. A claim whose owner was a
// process of this very machine (same boot, same pid namespace) that no longer exists was left by a crash and
// can be recovered at once instead of after its lease; so can this process's own claims, since the reconciler
// asks only between cycles, except those held beside the cycles (a Telegram press in `run`). Anything else, or any
// doubt, counts as alive.
import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import type { Ownership } from '../../core/ports.ts';

export function createProcessOwnership(): Ownership {
  const machine = machineIdentity();
  const held = new Set<string>();
  return {
    newToken() {
      const random = randomUUID().replaceAll('-', '').slice(0, 20);
      return machine ? `${machine}.${process.pid}.${random}` : `x.x.${process.pid}.${random}`;
    },
    hold(token) {
      held.add(token);
      return () => held.delete(token);
    },
    isAbandoned(token) {
      if (!machine) return false;
      const parts = token.split('.');
      if (parts.length !== 4 || `${parts[0]}.${parts[1]}` !== machine) return false;
      const pid = Number(parts[2]);
      if (!Number.isSafeInteger(pid) || pid <= 0) return false;
      if (pid === process.pid) return !held.has(token); // asked only between cycles: the cycles' own claims are over
      try {
        process.kill(pid, 0);
        return false;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'ESRCH';
      }
    },
  };
}

/** The boot and the pid namespace, on Linux; null elsewhere (recovery then waits for the lease). */
function machineIdentity(): string | null {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replaceAll('-', '').slice(0, 16);
    const namespace = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
    return boot && namespace ? `${boot}.${namespace}` : null;
  } catch {
    return null;
  }
}

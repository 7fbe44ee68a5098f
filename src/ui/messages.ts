// Every sentence gisbot says to a person, in one place.
import path from 'node:path';

export const messages = {
  config: {
    fixHint: (file: string | null) => (file ? `fix ${file} or the environment variable named` : 'see .gisbotrc.example'),
    secretsReadable: (file: string, keys: readonly string[], mode: number) =>
      `${file}: holds secrets (${keys.join(', ')}) but is readable by group or others (mode ${mode.toString(8)})`,
    chmodHint: (file: string) => `run: chmod 600 ${path.basename(file) === file ? file : JSON.stringify(file)}`,
    required: (key: string, variable: string | null) =>
      `${key}: required${variable ? ` (set it in the config file or ${variable})` : ''}`,
  },
  preflight: {
    failed: (count: number) => `gisbot will not start: ${count} service${count === 1 ? '' : 's'} did not answer`,
    hint: 'fix the services above, then start again',
    ok: (name: string) => `${name}: ok`,
  },
  run: {
    started: (interval: number, concurrency: number) =>
      `gisbot is running: a cycle every ${interval}s, ${concurrency} review${concurrency === 1 ? '' : 's'} at a time. Ctrl-C stops it.`,
    stopping: 'stopping: finishing the reviews in hand…',
    stopped: 'stopped',
    cycleFailed: (reason: string) => `cycle failed: ${reason}; trying again next cycle`,
  },
  cycle: {
    insufficient: 'stopped answering: the balance does not cover another answer',
    insufficientHint: 'top up with: gisbot balance add <amount>',
    failedHint: 'see the lines above, or: gisbot logs',
  },
  balance: {
    badAmount: (text: string) => `not an amount: ${JSON.stringify(text)}`,
    badAmountHint: 'write it like 100 or 100.50 (a dot, at most two decimals, no sign)',
    zeroAmount: 'the amount must be more than 0.00',
    confirmTopUp: (amount: string, after: string) => `Add ${amount} to the balance (it becomes ${after})?`,
    needsYes: 'balance add changes money: confirm with --yes when not on a terminal',
    cancelled: 'cancelled: nothing was added',
    low: (balance: string, threshold: string) => `the balance ${balance} is below ${threshold}`,
  },
  errors: {
    unexpected: 'unexpected error',
    debugHint: 'run again with --debug for details',
  },
} as const;

// Versioned schema for the embedded SQLite store: the same tables and guarantees as the MySQL schema.
// Append new versions at the end; never edit an applied one. SQLite DDL is transactional: a version is applied
// together with its schema_migrations row in one BEGIN IMMEDIATE transaction, so a crash leaves it all or nothing.
//
// Types: STRICT tables, so a column holds only its declared type. Money is INTEGER kopecks (never REAL);
// times are INTEGER milliseconds since the epoch (UTC); ids and texts are TEXT compared byte for byte (BINARY).

export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

/** The largest amount in kopecks, as the MySQL schema's DECIMAL(14,2) holds: 999 999 999 999.99. */
const MAX_MONEY = '99999999999999';

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT`;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    statements: [
      `CREATE TABLE reviews (
        id TEXT NOT NULL PRIMARY KEY,
        branch_id TEXT NOT NULL,
        branch_name TEXT NOT NULL,
        rating INTEGER NOT NULL,
        text TEXT NOT NULL,
        author_id TEXT NULL,
        author_name TEXT NOT NULL,
        created_at_text TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NULL,
        claim_token TEXT NULL,
        lease_until INTEGER NULL,
        reserved INTEGER NOT NULL DEFAULT 0,
        draft_text TEXT NULL,
        model TEXT NULL,
        prompt_version INTEGER NULL,
        prompt_tokens INTEGER NULL,
        completion_tokens INTEGER NULL,
        finish_reason TEXT NULL,
        post_attempts INTEGER NOT NULL DEFAULT 0,
        answer_id TEXT NULL,
        answer_text TEXT NULL,
        charged INTEGER NOT NULL DEFAULT 0,
        recorded_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        CONSTRAINT reviews_state CHECK (state IN ('new', 'claimed', 'drafted', 'posting', 'posted', 'skipped', 'needs_approval', 'failed')),
        CONSTRAINT reviews_money CHECK (reserved BETWEEN 0 AND ${MAX_MONEY} AND charged BETWEEN 0 AND ${MAX_MONEY})
      ) STRICT`,
      'CREATE INDEX reviews_state_created ON reviews (state, created_at, id)',
      'CREATE INDEX reviews_state_lease ON reviews (state, lease_until, id)',
      'CREATE INDEX reviews_branch ON reviews (branch_id)',
      'CREATE INDEX reviews_claim_token ON reviews (claim_token)',

      `CREATE TABLE account (
        id INTEGER NOT NULL PRIMARY KEY,
        balance INTEGER NOT NULL DEFAULT 0,
        reserved INTEGER NOT NULL DEFAULT 0,
        CONSTRAINT account_single_row CHECK (id = 1),
        CONSTRAINT account_funds CHECK (balance BETWEEN 0 AND ${MAX_MONEY} AND reserved >= 0 AND reserved <= balance)
      ) STRICT`,
      'INSERT INTO account (id, balance, reserved) VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING',

      `CREATE TABLE ledger (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        amount INTEGER NOT NULL,
        balance_after INTEGER NOT NULL,
        review_id TEXT NULL,
        charge_review_id TEXT NULL,
        note TEXT NULL,
        CONSTRAINT ledger_one_charge_per_review UNIQUE (charge_review_id),
        CONSTRAINT ledger_kind CHECK (kind IN ('topup', 'charge', 'adjustment')),
        CONSTRAINT ledger_charge_key CHECK ((kind = 'charge') = (charge_review_id IS NOT NULL)),
        CONSTRAINT ledger_amount CHECK (amount BETWEEN -${MAX_MONEY} AND ${MAX_MONEY}),
        CONSTRAINT ledger_balance_after CHECK (balance_after BETWEEN 0 AND ${MAX_MONEY})
      ) STRICT`,
      'CREATE INDEX ledger_at ON ledger (at)',
      'CREATE INDEX ledger_review ON ledger (review_id)',
      // Append-only (invariant 7): corrections are new entries, never edits.
      `CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
       BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END`,
      `CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
       BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END`,

      `CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        at INTEGER NOT NULL,
        review_id TEXT NULL,
        branch_id TEXT NULL,
        data TEXT NOT NULL,
        CONSTRAINT events_id UNIQUE (id)
      ) STRICT`,
      'CREATE INDEX events_at ON events (at)',
      'CREATE INDEX events_review ON events (review_id)',
      'CREATE INDEX events_branch ON events (branch_id)',
      'CREATE INDEX events_type_seq ON events (type, seq)',

      `CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL,
        CONSTRAINT outbox_event UNIQUE (event_id)
      ) STRICT`,

      `CREATE TABLE prompt_versions (
        version INTEGER PRIMARY KEY AUTOINCREMENT,
        text TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT`,
      'CREATE INDEX prompt_versions_sha ON prompt_versions (sha256)',

      `CREATE TABLE dialogue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        author_id TEXT NOT NULL DEFAULT '',
        review_id TEXT NOT NULL,
        role TEXT NOT NULL,
        text TEXT NOT NULL,
        at INTEGER NOT NULL,
        CONSTRAINT dialogue_role CHECK (role IN ('reviewer', 'owner'))
      ) STRICT`,
      'CREATE INDEX dialogue_key ON dialogue (author_id, review_id, at)',
    ],
  },
  {
    version: 2,
    name: 'follow-ups',
    statements: [
      `CREATE TABLE follow_ups (
        comment_id TEXT NOT NULL PRIMARY KEY,
        review_id TEXT NOT NULL,
        branch_id TEXT NOT NULL,
        author_id TEXT NULL,
        text TEXT NOT NULL,
        created_at_text TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NULL,
        claim_token TEXT NULL,
        lease_until INTEGER NULL,
        answer_id TEXT NULL,
        answer_text TEXT NULL,
        model TEXT NULL,
        prompt_version INTEGER NULL,
        prompt_tokens INTEGER NULL,
        completion_tokens INTEGER NULL,
        recorded_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT`,
      'CREATE INDEX follow_ups_state_created ON follow_ups (state, created_at)',
      'CREATE INDEX follow_ups_state_lease ON follow_ups (state, lease_until)',
      'CREATE INDEX follow_ups_review ON follow_ups (review_id)',
    ],
  },
  {
    version: 3,
    name: 'model cost per answer',
    // A decimal string: the provider's figure, never a REAL.
    statements: ['ALTER TABLE reviews ADD COLUMN model_cost TEXT NULL', 'ALTER TABLE follow_ups ADD COLUMN model_cost TEXT NULL'],
  },
  {
    version: 4,
    name: 'a branch newest answers first',
    // The repeat check reads a branch's last answers on every draft: read those rows and stop, instead of
    // reading and sorting all of the branch's reviews. It serves what reviews_branch did.
    statements: [
      'CREATE INDEX reviews_branch_updated ON reviews (branch_id, updated_at, id)',
      'DROP INDEX reviews_branch',
    ],
  },
  {
    version: 5,
    name: 'a sent answer is read back only once it can no longer land',
    // Milliseconds since the epoch: the send time plus twice the POST's deadline (see Store.beginPosting).
    statements: [
      'ALTER TABLE reviews ADD COLUMN read_back_after INTEGER NULL',
      'ALTER TABLE follow_ups ADD COLUMN read_back_after INTEGER NULL',
    ],
  },
  {
    version: 6,
    name: 'branch intake: last sweep and backlog',
    // What intake keeps about a branch between cycles: when a sweep (polling.sweepDays) last read it, and where a
    // walk cut short by the cycle's limits goes on. One row per branch, written only when one of them changes.
    statements: [
      `CREATE TABLE branch_intake (
        branch_id TEXT NOT NULL PRIMARY KEY,
        swept_at INTEGER NULL,
        backlog_cursor TEXT NULL,
        backlog_until INTEGER NULL,
        updated_at INTEGER NOT NULL
      ) STRICT`,
    ],
  },
  {
    version: 7,
    name: 'redelivery backoff per event',
    // An event the receiver did not acknowledge is held back until retry_at (capped, growing with attempts), and
    // the events behind it go on: the relay reads only what is due.
    statements: [
      'ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0',
      'ALTER TABLE outbox ADD COLUMN retry_at INTEGER NULL',
    ],
  },
  {
    version: 8,
    name: 'telegram cards and updates',
    // Issue 15: as the MySQL schema's version 8.
    statements: [
      `CREATE TABLE telegram_cards (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        review_id TEXT NOT NULL,
        active INTEGER NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        CONSTRAINT telegram_cards_review UNIQUE (review_id)
      ) STRICT`,
      'CREATE INDEX telegram_cards_active ON telegram_cards (active, id)',
      `CREATE TABLE telegram_updates (
        update_id INTEGER NOT NULL PRIMARY KEY,
        claim_token TEXT NOT NULL,
        lease_until INTEGER NOT NULL,
        done INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL
      ) STRICT`,
      'CREATE INDEX telegram_updates_done ON telegram_updates (done, updated_at)',
      `CREATE TABLE telegram_turn (
        id INTEGER NOT NULL PRIMARY KEY,
        next_offset INTEGER NOT NULL DEFAULT 0,
        holder TEXT NULL,
        holder_until INTEGER NULL,
        CONSTRAINT telegram_turn_single_row CHECK (id = 1)
      ) STRICT`,
      'INSERT INTO telegram_turn (id, next_offset) VALUES (1, 0) ON CONFLICT (id) DO NOTHING',
    ],
  },
];

export const LATEST_VERSION = migrations.reduce((max, m) => Math.max(max, m.version), 0);

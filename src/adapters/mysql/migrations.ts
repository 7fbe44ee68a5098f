// Versioned schema for the MySQL/MariaDB store. Append new versions at the end; never edit an applied one.
// DDL commits implicitly in MySQL, so every statement is written to be safe to run again after a crash
// half-way through a version (IF NOT EXISTS, upserts).

export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

/** Every table uses utf8mb4 with a binary collation: ids and texts compare exactly, case and accents included. */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INT NOT NULL PRIMARY KEY,
  name VARCHAR(128) NOT NULL,
  applied_at DATETIME(3) NOT NULL
) ${TABLE_OPTIONS}`;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    statements: [
      `CREATE TABLE IF NOT EXISTS reviews (
        id VARCHAR(128) NOT NULL,
        branch_id VARCHAR(128) NOT NULL,
        branch_name TEXT NOT NULL,
        rating TINYINT NOT NULL,
        text MEDIUMTEXT NOT NULL,
        author_id VARCHAR(128) NULL,
        author_name TEXT NOT NULL,
        created_at_text VARCHAR(64) NOT NULL,
        created_at DATETIME(6) NOT NULL,
        state VARCHAR(16) NOT NULL,
        reason TEXT NULL,
        claim_token VARCHAR(64) NULL,
        lease_until DATETIME(3) NULL,
        reserved DECIMAL(14,2) NOT NULL DEFAULT 0,
        draft_text MEDIUMTEXT NULL,
        model VARCHAR(255) NULL,
        prompt_version INT NULL,
        prompt_tokens INT NULL,
        completion_tokens INT NULL,
        finish_reason VARCHAR(64) NULL,
        post_attempts INT NOT NULL DEFAULT 0,
        answer_id VARCHAR(128) NULL,
        answer_text MEDIUMTEXT NULL,
        charged DECIMAL(14,2) NOT NULL DEFAULT 0,
        recorded_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY reviews_state_created (state, created_at),
        KEY reviews_state_lease (state, lease_until),
        KEY reviews_branch (branch_id),
        KEY reviews_claim_token (claim_token),
        CONSTRAINT reviews_money CHECK (reserved >= 0 AND charged >= 0)
      ) ${TABLE_OPTIONS}`,

      `CREATE TABLE IF NOT EXISTS account (
        id TINYINT NOT NULL,
        balance DECIMAL(14,2) NOT NULL DEFAULT 0,
        reserved DECIMAL(14,2) NOT NULL DEFAULT 0,
        PRIMARY KEY (id),
        CONSTRAINT account_single_row CHECK (id = 1),
        CONSTRAINT account_funds CHECK (balance >= 0 AND reserved >= 0 AND reserved <= balance)
      ) ${TABLE_OPTIONS}`,

      `INSERT INTO account (id, balance, reserved) VALUES (1, 0, 0) ON DUPLICATE KEY UPDATE id = id`,

      `CREATE TABLE IF NOT EXISTS ledger (
        id BIGINT NOT NULL AUTO_INCREMENT,
        at DATETIME(3) NOT NULL,
        kind VARCHAR(16) NOT NULL,
        amount DECIMAL(14,2) NOT NULL,
        balance_after DECIMAL(14,2) NOT NULL,
        review_id VARCHAR(128) NULL,
        charge_review_id VARCHAR(128) NULL,
        note TEXT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY ledger_one_charge_per_review (charge_review_id),
        KEY ledger_at (at),
        KEY ledger_review (review_id),
        CONSTRAINT ledger_kind CHECK (kind IN ('topup', 'charge', 'adjustment')),
        CONSTRAINT ledger_charge_key CHECK ((kind = 'charge') = (charge_review_id IS NOT NULL)),
        CONSTRAINT ledger_balance_after CHECK (balance_after >= 0)
      ) ${TABLE_OPTIONS}`,

      `CREATE TABLE IF NOT EXISTS events (
        seq BIGINT NOT NULL AUTO_INCREMENT,
        id VARCHAR(64) NOT NULL,
        type VARCHAR(64) NOT NULL,
        at DATETIME(3) NOT NULL,
        review_id VARCHAR(128) NULL,
        branch_id VARCHAR(128) NULL,
        data LONGTEXT NOT NULL,
        PRIMARY KEY (seq),
        UNIQUE KEY events_id (id),
        KEY events_at (at),
        KEY events_review (review_id),
        KEY events_branch (branch_id),
        KEY events_type_seq (type, seq)
      ) ${TABLE_OPTIONS}`,

      `CREATE TABLE IF NOT EXISTS outbox (
        seq BIGINT NOT NULL AUTO_INCREMENT,
        event_id VARCHAR(64) NOT NULL,
        PRIMARY KEY (seq),
        UNIQUE KEY outbox_event (event_id)
      ) ${TABLE_OPTIONS}`,

      `CREATE TABLE IF NOT EXISTS prompt_versions (
        version INT NOT NULL AUTO_INCREMENT,
        text MEDIUMTEXT NOT NULL,
        sha256 CHAR(64) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (version),
        KEY prompt_versions_sha (sha256)
      ) ${TABLE_OPTIONS}`,

      `CREATE TABLE IF NOT EXISTS dialogue (
        id BIGINT NOT NULL AUTO_INCREMENT,
        author_id VARCHAR(128) NOT NULL DEFAULT '',
        review_id VARCHAR(128) NOT NULL,
        role VARCHAR(16) NOT NULL,
        text MEDIUMTEXT NOT NULL,
        at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY dialogue_key (author_id, review_id, at),
        CONSTRAINT dialogue_role CHECK (role IN ('reviewer', 'owner'))
      ) ${TABLE_OPTIONS}`,
    ],
  },
  {
    version: 2,
    name: 'follow-ups',
    statements: [
      `CREATE TABLE IF NOT EXISTS follow_ups (
        comment_id VARCHAR(128) NOT NULL,
        review_id VARCHAR(128) NOT NULL,
        branch_id VARCHAR(128) NOT NULL,
        author_id VARCHAR(128) NULL,
        text MEDIUMTEXT NOT NULL,
        created_at_text VARCHAR(64) NOT NULL,
        created_at DATETIME(6) NOT NULL,
        state VARCHAR(16) NOT NULL,
        reason TEXT NULL,
        claim_token VARCHAR(64) NULL,
        lease_until DATETIME(3) NULL,
        answer_id VARCHAR(128) NULL,
        answer_text MEDIUMTEXT NULL,
        model VARCHAR(255) NULL,
        prompt_version INT NULL,
        prompt_tokens INT NULL,
        completion_tokens INT NULL,
        recorded_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (comment_id),
        KEY follow_ups_state_created (state, created_at),
        KEY follow_ups_state_lease (state, lease_until),
        KEY follow_ups_review (review_id)
      ) ${TABLE_OPTIONS}`,
    ],
  },
  {
    version: 3,
    name: 'model cost per answer',
    // Run again after a crash half-way, an ADD COLUMN that already happened is skipped (errno 1060, see migrate).
    statements: [
      'ALTER TABLE reviews ADD COLUMN model_cost DECIMAL(20,10) NULL',
      'ALTER TABLE follow_ups ADD COLUMN model_cost DECIMAL(20,10) NULL',
    ],
  },
  {
    version: 4,
    name: 'a branch newest answers first',
    // The repeat check reads a branch's last answers on every draft: with this index it reads those rows and
    // stops, instead of reading and sorting all of the branch's reviews. It serves what reviews_branch did.
    // Run again after a crash half-way: an index already made or dropped is skipped (errno 1061, 1091).
    statements: [
      'CREATE INDEX reviews_branch_updated ON reviews (branch_id, updated_at, id)',
      'DROP INDEX reviews_branch ON reviews',
    ],
  },
  {
    version: 5,
    name: 'a sent answer is read back only once it can no longer land',
    // The send time plus twice the POST's deadline (see Store.beginPosting). Run again after a crash half-way,
    // an ADD COLUMN that already happened is skipped (errno 1060).
    statements: [
      'ALTER TABLE reviews ADD COLUMN read_back_after DATETIME(3) NULL',
      'ALTER TABLE follow_ups ADD COLUMN read_back_after DATETIME(3) NULL',
    ],
  },
  {
    version: 6,
    name: 'branch intake: last sweep and backlog',
    // What intake keeps about a branch between cycles: when a sweep (polling.sweepDays) last read it, and where a
    // walk cut short by the cycle's limits goes on (an offsetDate, as long as a review's created_at_text).
    // One row per branch, written only when one of them changes.
    statements: [
      `CREATE TABLE IF NOT EXISTS branch_intake (
        branch_id VARCHAR(128) NOT NULL,
        swept_at DATETIME(3) NULL,
        backlog_cursor VARCHAR(64) NULL,
        backlog_until DATETIME(3) NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (branch_id)
      ) ${TABLE_OPTIONS}`,
    ],
  },
  {
    version: 7,
    name: 'redelivery backoff per event',
    // An event the receiver did not acknowledge is held back until retry_at (capped, growing with attempts), and
    // the events behind it go on: the relay reads only what is due. Run again after a crash half-way, an ADD
    // COLUMN that already happened is skipped (errno 1060, see migrate).
    statements: [
      'ALTER TABLE outbox ADD COLUMN attempts INT NOT NULL DEFAULT 0',
      'ALTER TABLE outbox ADD COLUMN retry_at DATETIME(3) NULL',
    ],
  },
  {
    version: 8,
    name: 'telegram cards and updates',
    // Issue 15. A card per review waiting for a person (its body is the bridge's JSON, written by compare-and-set
    // on `version`); one row per Telegram update, claimed by one worker; and the one turn to read the bot's updates
    // with the getUpdates offset, so that no press is lost or acted on twice across restarts and workers.
    statements: [
      `CREATE TABLE IF NOT EXISTS telegram_cards (
        id BIGINT NOT NULL AUTO_INCREMENT,
        review_id VARCHAR(128) NOT NULL,
        active TINYINT NOT NULL,
        version INT NOT NULL,
        body MEDIUMTEXT NOT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY telegram_cards_review (review_id),
        KEY telegram_cards_active (active, id)
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS telegram_updates (
        update_id BIGINT NOT NULL,
        claim_token VARCHAR(64) NOT NULL,
        lease_until DATETIME(3) NOT NULL,
        done TINYINT NOT NULL DEFAULT 0,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (update_id),
        KEY telegram_updates_done (done, updated_at)
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS telegram_turn (
        id TINYINT NOT NULL,
        next_offset BIGINT NOT NULL DEFAULT 0,
        holder VARCHAR(64) NULL,
        holder_until DATETIME(3) NULL,
        PRIMARY KEY (id),
        CONSTRAINT telegram_turn_single_row CHECK (id = 1)
      ) ${TABLE_OPTIONS}`,
      'INSERT INTO telegram_turn (id, next_offset) VALUES (1, 0) ON DUPLICATE KEY UPDATE id = id',
    ],
  },
];

export const LATEST_VERSION = migrations.reduce((max, m) => Math.max(max, m.version), 0);

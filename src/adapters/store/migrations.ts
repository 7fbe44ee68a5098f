// The versioned schema of both databases, each version written once over the types each database names its own
// way (Schema, given by mysql.ts and sqlite.ts). Append new versions at the end; never edit an applied one: a
// database upgraded from an earlier gisbot has exactly the schema of a new one (test/integration/store-upgrade.test.ts).
// MySQL commits each DDL statement at once, so its runner skips what a crash half-way through a version already
// did (mysql.ts); SQLite applies a version and its record in one transaction.
import { MAX_MONEY } from './dialect.ts';

export interface Migration {
  version: number;
  name: string;
  statements(s: Schema): readonly string[];
}

/** The column types and the few constraints that differ between the databases. */
export interface Schema {
  /** Ids and short words, compared byte for byte: VARCHAR(n) (CHAR(n) `fixed`, `id` 128) in a binary collation, or TEXT. */
  string(length: number, fixed?: 'fixed'): string;
  readonly id: string;
  readonly tinyint: string;
  readonly int: string;
  /** An integer past INT's range that is not money (Telegram's update ids): BIGINT, or INTEGER. */
  readonly bigint: string;
  /** Review and answer texts (MEDIUMTEXT) and event data (LONGTEXT); plain TEXT is TEXT in both. */
  readonly mediumText: string;
  readonly longText: string;
  /** Exact money: DECIMAL(14,2), or INTEGER kopecks. */
  readonly money: string;
  /** A provider's cost figure, never a float: DECIMAL(20,10), or its decimal TEXT. */
  readonly decimal: string;
  /** A point in time in UTC: DATETIME(3) (DATETIME(6) `precise`), or INTEGER milliseconds since the epoch. */
  readonly time: string;
  readonly preciseTime: string;
  /** An auto-numbered primary key. */
  serial(integer: 'INT' | 'BIGINT'): string;
  /** `column` holds no negative amount, and no more than DECIMAL(14,2) holds where the type does not bound it. */
  nonNegative(column: string): string;
  /** A constraint SQLite needs where MySQL's type says it: a signed amount's range, a state's values ('' in MySQL). */
  typeCheck(name: string, condition: string): string;
  /** Triggers that refuse edits and deletes (SQLite); MySQL's grants are the operator's. */
  appendOnly(table: string): string[];
  dropIndex(table: string, index: string): string;
  /** The primary key as an index's last column, where the index does not end with it anyway (InnoDB's do). */
  readonly idLast: string;
  readonly tableOptions: string;
  /** `IGNORE` or `OR IGNORE`: an INSERT that leaves a row already there alone. */
  readonly insertOrIgnore: string;
  /** Whole minutes from the time in column `from` to the one in `to`, never below 0. */
  minutesBetween(from: string, to: string): string;
  /**
   * Gives `table` a first column `business_id` (every row there now belongs to business `default`) and puts it
   * in front of its primary key and of its unique key `unique`, so that two businesses' rows never collide.
   * MySQL alters the table in place; SQLite, which cannot change a key, rebuilds it from its own CREATE text
   * (so columns another version added are kept) with its indexes and triggers.
   */
  scope(table: string, keys?: ScopedKeys): string[];
}

export interface ScopedKeys {
  /** The primary key's columns, without business_id (which goes first). */
  primaryKey?: readonly string[];
  unique?: { name: string; columns: readonly string[] };
}

/** The business every row of a database from before issue 19 belongs to, as a config without `businesses:` names it. */
export const DEFAULT_BUSINESS = 'default';

/** CREATE TABLE from lines of columns and constraints ('' is left out); a line may hold several. */
function table(s: Schema, name: string, lines: readonly string[]): string {
  return `CREATE TABLE ${name} (\n  ${lines.filter((line) => line !== '').join(',\n  ')}\n) ${s.tableOptions}`;
}

export function migrationsTable(s: Schema): string {
  return table(s, 'IF NOT EXISTS schema_migrations', [`version ${s.int} NOT NULL PRIMARY KEY, name ${s.string(128)} NOT NULL, applied_at ${s.time} NOT NULL`]);
}

const MAX_KOPECKS = String(MAX_MONEY - 1n);
const REVIEW_STATES = `'new', 'claimed', 'drafted', 'posting', 'posted', 'skipped', 'needs_approval', 'failed'`;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    statements: (s) => [
      table(s, 'reviews', [
        `id ${s.id} NOT NULL PRIMARY KEY, branch_id ${s.id} NOT NULL, branch_name TEXT NOT NULL, rating ${s.tinyint} NOT NULL`,
        `text ${s.mediumText} NOT NULL, author_id ${s.id} NULL, author_name TEXT NOT NULL`,
        `created_at_text ${s.string(64)} NOT NULL, created_at ${s.preciseTime} NOT NULL`,
        `state ${s.string(16)} NOT NULL, reason TEXT NULL, claim_token ${s.string(64)} NULL, lease_until ${s.time} NULL`,
        `reserved ${s.money} NOT NULL DEFAULT 0, draft_text ${s.mediumText} NULL, model ${s.string(255)} NULL`,
        `prompt_version ${s.int} NULL, prompt_tokens ${s.int} NULL, completion_tokens ${s.int} NULL, finish_reason ${s.string(64)} NULL`,
        `post_attempts ${s.int} NOT NULL DEFAULT 0, answer_id ${s.id} NULL, answer_text ${s.mediumText} NULL, charged ${s.money} NOT NULL DEFAULT 0`,
        `recorded_at ${s.time} NOT NULL, updated_at ${s.time} NOT NULL`,
        s.typeCheck('reviews_state', `state IN (${REVIEW_STATES})`),
        `CONSTRAINT reviews_money CHECK (${s.nonNegative('reserved')} AND ${s.nonNegative('charged')})`,
      ]),
      `CREATE INDEX reviews_state_created ON reviews (state, created_at${s.idLast})`,
      `CREATE INDEX reviews_state_lease ON reviews (state, lease_until${s.idLast})`,
      'CREATE INDEX reviews_branch ON reviews (branch_id)',
      'CREATE INDEX reviews_claim_token ON reviews (claim_token)',

      table(s, 'account', [
        `id ${s.tinyint} NOT NULL PRIMARY KEY, balance ${s.money} NOT NULL DEFAULT 0, reserved ${s.money} NOT NULL DEFAULT 0`,
        'CONSTRAINT account_single_row CHECK (id = 1)',
        `CONSTRAINT account_funds CHECK (${s.nonNegative('balance')} AND reserved >= 0 AND reserved <= balance)`,
      ]),
      `INSERT ${s.insertOrIgnore} INTO account (id, balance, reserved) VALUES (1, 0, 0)`,

      table(s, 'ledger', [
        `id ${s.serial('BIGINT')}, at ${s.time} NOT NULL, kind ${s.string(16)} NOT NULL`,
        `amount ${s.money} NOT NULL, balance_after ${s.money} NOT NULL, review_id ${s.id} NULL, charge_review_id ${s.id} NULL, note TEXT NULL`,
        'CONSTRAINT ledger_one_charge_per_review UNIQUE (charge_review_id)',
        "CONSTRAINT ledger_kind CHECK (kind IN ('topup', 'charge', 'adjustment'))",
        "CONSTRAINT ledger_charge_key CHECK ((kind = 'charge') = (charge_review_id IS NOT NULL))",
        s.typeCheck('ledger_amount', `amount BETWEEN -${MAX_KOPECKS} AND ${MAX_KOPECKS}`),
        `CONSTRAINT ledger_balance_after CHECK (${s.nonNegative('balance_after')})`,
      ]),
      'CREATE INDEX ledger_at ON ledger (at)',
      'CREATE INDEX ledger_review ON ledger (review_id)',
      // Append-only (invariant 7): corrections are new entries, never edits.
      ...s.appendOnly('ledger'),

      table(s, 'events', [
        `seq ${s.serial('BIGINT')}, id ${s.string(64)} NOT NULL, type ${s.string(64)} NOT NULL, at ${s.time} NOT NULL`,
        `review_id ${s.id} NULL, branch_id ${s.id} NULL, data ${s.longText} NOT NULL`,
        'CONSTRAINT events_id UNIQUE (id)',
      ]),
      'CREATE INDEX events_at ON events (at)',
      'CREATE INDEX events_review ON events (review_id)',
      'CREATE INDEX events_branch ON events (branch_id)',
      'CREATE INDEX events_type_seq ON events (type, seq)',

      table(s, 'outbox', [`seq ${s.serial('BIGINT')}, event_id ${s.string(64)} NOT NULL`, 'CONSTRAINT outbox_event UNIQUE (event_id)']),

      table(s, 'prompt_versions', [
        `version ${s.serial('INT')}, text ${s.mediumText} NOT NULL, sha256 ${s.string(64, 'fixed')} NOT NULL, created_at ${s.time} NOT NULL`,
      ]),
      'CREATE INDEX prompt_versions_sha ON prompt_versions (sha256)',

      table(s, 'dialogue', [
        `id ${s.serial('BIGINT')}, author_id ${s.id} NOT NULL DEFAULT '', review_id ${s.id} NOT NULL`,
        `role ${s.string(16)} NOT NULL, text ${s.mediumText} NOT NULL, at ${s.time} NOT NULL`,
        "CONSTRAINT dialogue_role CHECK (role IN ('reviewer', 'owner'))",
      ]),
      'CREATE INDEX dialogue_key ON dialogue (author_id, review_id, at)',
    ],
  },
  {
    version: 2,
    name: 'follow-ups',
    statements: (s) => [
      table(s, 'follow_ups', [
        `comment_id ${s.id} NOT NULL PRIMARY KEY, review_id ${s.id} NOT NULL, branch_id ${s.id} NOT NULL, author_id ${s.id} NULL`,
        `text ${s.mediumText} NOT NULL, created_at_text ${s.string(64)} NOT NULL, created_at ${s.preciseTime} NOT NULL`,
        `state ${s.string(16)} NOT NULL, reason TEXT NULL, claim_token ${s.string(64)} NULL, lease_until ${s.time} NULL`,
        `answer_id ${s.id} NULL, answer_text ${s.mediumText} NULL, model ${s.string(255)} NULL`,
        `prompt_version ${s.int} NULL, prompt_tokens ${s.int} NULL, completion_tokens ${s.int} NULL`,
        `recorded_at ${s.time} NOT NULL, updated_at ${s.time} NOT NULL`,
      ]),
      'CREATE INDEX follow_ups_state_created ON follow_ups (state, created_at)',
      'CREATE INDEX follow_ups_state_lease ON follow_ups (state, lease_until)',
      'CREATE INDEX follow_ups_review ON follow_ups (review_id)',
    ],
  },
  {
    version: 3,
    name: 'model cost per answer',
    statements: (s) => [`ALTER TABLE reviews ADD COLUMN model_cost ${s.decimal} NULL`, `ALTER TABLE follow_ups ADD COLUMN model_cost ${s.decimal} NULL`],
  },
  {
    version: 4,
    name: 'a branch newest answers first',
    // The repeat check reads a branch's last answers on every draft: read those rows and stop, instead of
    // reading and sorting all of the branch's reviews. It serves what reviews_branch did.
    statements: (s) => ['CREATE INDEX reviews_branch_updated ON reviews (branch_id, updated_at, id)', s.dropIndex('reviews', 'reviews_branch')],
  },
  {
    version: 5,
    name: 'a sent answer is read back only once it can no longer land',
    // The send time plus twice the POST's deadline (see Store.beginPosting).
    statements: (s) => [`ALTER TABLE reviews ADD COLUMN read_back_after ${s.time} NULL`, `ALTER TABLE follow_ups ADD COLUMN read_back_after ${s.time} NULL`],
  },
  {
    version: 6,
    name: 'branch intake: last sweep and backlog',
    // What intake keeps about a branch between cycles: when a sweep (polling.sweepDays) last read it, and where a
    // walk cut short by the cycle's limits goes on (an offsetDate, as long as a review's created_at_text).
    // One row per branch, written only when one of them changes.
    statements: (s) => [
      table(s, 'branch_intake', [
        `branch_id ${s.id} NOT NULL PRIMARY KEY, swept_at ${s.time} NULL, backlog_cursor ${s.string(64)} NULL, backlog_until ${s.time} NULL`,
        `updated_at ${s.time} NOT NULL`,
      ]),
    ],
  },
  {
    version: 7,
    name: 'redelivery backoff per event',
    // An event the receiver did not acknowledge is held back until retry_at (capped, growing with attempts), and
    // the events behind it go on: the relay reads only what is due.
    statements: (s) => [`ALTER TABLE outbox ADD COLUMN attempts ${s.int} NOT NULL DEFAULT 0`, `ALTER TABLE outbox ADD COLUMN retry_at ${s.time} NULL`],
  },
  {
    version: 8,
    name: 'telegram cards and updates',
    // Issue 15. A card per review waiting for a person (its body is the bridge's JSON, written by compare-and-set
    // on `version`); one row per Telegram update, claimed by one worker; and the one turn to read the bot's updates
    // with the getUpdates offset, so that no press is lost or acted on twice across restarts and workers.
    statements: (s) => [
      table(s, 'telegram_cards', [
        `id ${s.serial('BIGINT')}, review_id ${s.id} NOT NULL, active ${s.tinyint} NOT NULL, version ${s.int} NOT NULL, body ${s.mediumText} NOT NULL`,
        `created_at ${s.time} NOT NULL, updated_at ${s.time} NOT NULL`,
        'CONSTRAINT telegram_cards_review UNIQUE (review_id)',
      ]),
      'CREATE INDEX telegram_cards_active ON telegram_cards (active, id)',
      table(s, 'telegram_updates', [
        `update_id ${s.bigint} NOT NULL PRIMARY KEY, claim_token ${s.string(64)} NOT NULL, lease_until ${s.time} NOT NULL`,
        `done ${s.tinyint} NOT NULL DEFAULT 0, updated_at ${s.time} NOT NULL`,
      ]),
      'CREATE INDEX telegram_updates_done ON telegram_updates (done, updated_at)',
      table(s, 'telegram_turn', [
        `id ${s.tinyint} NOT NULL PRIMARY KEY, next_offset ${s.bigint} NOT NULL DEFAULT 0, holder ${s.string(64)} NULL, holder_until ${s.time} NULL`,
        'CONSTRAINT telegram_turn_single_row CHECK (id = 1)',
      ]),
      `INSERT ${s.insertOrIgnore} INTO telegram_turn (id, next_offset) VALUES (1, 0)`,
    ],
  },
  {
    version: 9,
    name: 'insight: who sent an answer and when, review topics, complaint windows',
    // stats, report and branches (README): who sent a posted answer ('gisbot' or 'person', through `reply`), when and
    // how many whole minutes after the review's creation; the topics of each drafted review; the windows of the
    // complaint.repeated events already sent. Posted answers from before take their time from their reply.posted
    // event. The indexes read a period's reviews and a topic's run without scanning the rest.
    statements: (s) => [
      `ALTER TABLE reviews ADD COLUMN sent_by ${s.string(16)} NULL`,
      `ALTER TABLE reviews ADD COLUMN posted_at ${s.time} NULL`,
      `ALTER TABLE reviews ADD COLUMN answer_minutes ${s.int} NULL`,
      `UPDATE reviews SET posted_at = (SELECT MIN(e.at) FROM events e WHERE e.review_id = reviews.id AND e.type = 'reply.posted')
       WHERE state = 'posted' AND posted_at IS NULL`,
      `UPDATE reviews SET answer_minutes = ${s.minutesBetween('created_at', 'posted_at')} WHERE posted_at IS NOT NULL AND answer_minutes IS NULL`,
      'CREATE INDEX reviews_created_branch ON reviews (created_at, branch_id)',
      table(s, 'review_topics', [
        `review_id ${s.id} NOT NULL, topic ${s.string(128)} NOT NULL, label ${s.string(255)} NOT NULL`,
        `branch_id ${s.id} NOT NULL, rating ${s.tinyint} NOT NULL, created_at ${s.preciseTime} NOT NULL`,
        'PRIMARY KEY (review_id, topic)',
      ]),
      'CREATE INDEX review_topics_branch_topic ON review_topics (branch_id, topic, created_at)',
      'CREATE INDEX review_topics_created ON review_topics (created_at)',
      table(s, 'complaints', [
        `branch_id ${s.id} NOT NULL, topic ${s.string(128)} NOT NULL, window_from ${s.preciseTime} NOT NULL, window_to ${s.preciseTime} NOT NULL`,
        `recorded_at ${s.time} NOT NULL`,
        'PRIMARY KEY (branch_id, topic, window_from)',
      ]),
    ],
  },
  {
    version: 10,
    name: 'a failed review is tried again',
    // Issue 18: a review whose draft failed for a reason that can pass keeps the digest of the model settings it
    // failed under, its tries under them and when it is tried next (core/answering/retries.ts). Reviews the model failed before
    // this version are tried once more under the settings in force (the digest '' matches none).
    statements: (s) => [
      `ALTER TABLE reviews ADD COLUMN failure_settings ${s.string(64)} NULL`,
      `ALTER TABLE reviews ADD COLUMN failed_tries ${s.int} NOT NULL DEFAULT 0`,
      `ALTER TABLE reviews ADD COLUMN retry_at ${s.time} NULL`,
      "UPDATE reviews SET failure_settings = '' WHERE state = 'failed' AND reason LIKE 'the model failed:%'",
    ],
  },
  {
    version: 11,
    name: 'branch listings: each listed branch with its name and its rating on 2GIS',
    // Issue 20: a watched branch with no review yet is still in stats and the report, under its name, and the
    // report shows each branch's rating as 2GIS does. One row per branch, rewritten by intake's first page.
    statements: (s) => [
      table(s, 'branch_listings', [
        `branch_id ${s.id} NOT NULL PRIMARY KEY, name TEXT NOT NULL, rating ${s.decimal} NULL, reviews_count ${s.int} NULL`,
        `read_at ${s.time} NOT NULL`,
      ]),
    ],
  },
  {
    version: 12,
    name: 'when a waiting review was last seen unanswered on 2GIS',
    // Issue 18: every review waiting for a person is read again on 2GIS every approval.recheckMinutes, the longest
    // unchecked first, across restarts and cron runs (core/answering/recheck.ts).
    statements: (s) => [`ALTER TABLE reviews ADD COLUMN checked_at ${s.time} NULL`],
  },
  {
    version: 13,
    name: 'telegram updates kept until acted on',
    // Issue 18: an update is stored whole (the bridge's JSON) before the offset confirms it to Telegram, and acted on
    // from here, again after a failed try (attempts, and why the last one failed), until it is done (1) or given
    // up on with the person told (2). Rows from before have no payload: nothing can be acted on again from them.
    statements: (s) => [
      `ALTER TABLE telegram_updates ADD COLUMN payload ${s.mediumText} NULL`,
      `ALTER TABLE telegram_updates ADD COLUMN attempts ${s.int} NOT NULL DEFAULT 0`,
      `ALTER TABLE telegram_updates ADD COLUMN last_error ${s.mediumText} NULL`,
    ],
  },
  {
    version: 14,
    name: "the owner's complaints about reviews",
    // Issue 21: one complaint per review, recorded as `sending` before its POST (like an answer's `posting`), so that
    // a complaint whose outcome was not seen is read back, never sent again blindly; the review's state and reason
    // before it (prior_*) come back if 2GIS refuses it.
    statements: (s) => [
      table(s, 'review_complaints', [
        `review_id ${s.id} NOT NULL PRIMARY KEY, state ${s.string(16)} NOT NULL, reason ${s.mediumText} NOT NULL, not_a_client ${s.tinyint} NOT NULL`,
        `claim_token ${s.string(64)} NULL, lease_until ${s.time} NULL, read_back_after ${s.time} NULL, attempts ${s.int} NOT NULL DEFAULT 0`,
        `prior_state ${s.string(16)} NULL, prior_reason TEXT NULL, created_at ${s.time} NOT NULL, sent_at ${s.time} NULL, updated_at ${s.time} NOT NULL`,
        "CONSTRAINT review_complaints_state CHECK (state IN ('sending', 'sent', 'outcome_unknown'))",
      ]),
    ],
  },
  {
    version: 15,
    name: 'a posted answer is read back once more: removed by 2GIS',
    // Issue 21: each posted answer is read back once, recheck_at after it was posted (twogis.recheckAfterHours,
    // spread), claimed by clearing recheck_at (rechecked_at says when). An answer 2GIS removed counts in
    // answer_removals; its refund (billing.refundRemoved) is an adjustment keyed by the charge it returns, once.
    // Answers posted before this version are not read back: an upgrade must not burst a request per old answer.
    statements: (s) => [
      `ALTER TABLE reviews ADD COLUMN recheck_at ${s.time} NULL`,
      `ALTER TABLE reviews ADD COLUMN rechecked_at ${s.time} NULL`,
      `ALTER TABLE reviews ADD COLUMN answer_removals ${s.int} NOT NULL DEFAULT 0`,
      `ALTER TABLE reviews ADD COLUMN answer_removed_at ${s.time} NULL`,
      'CREATE INDEX reviews_recheck ON reviews (recheck_at)',
      `ALTER TABLE ledger ADD COLUMN refund_key ${s.id} NULL`,
      'CREATE UNIQUE INDEX ledger_one_refund_per_charge ON ledger (refund_key)',
    ],
  },
  {
    version: 16,
    name: "the owner's voice: examples of answers a person produced",
    // Issue 22. One row per review a person answered (through gisbot or on 2GIS), its texts already stripped of
    // names and contacts; scoped by business. The vector of its review text is kept per embedding model, computed
    // once. The index reads a branch's examples newest first.
    statements: (s) => [
      table(s, 'voice_examples', [
        `business_id ${s.string(32)} NOT NULL, review_id ${s.id} NOT NULL, branch_id ${s.id} NOT NULL, rating ${s.tinyint} NOT NULL`,
        `review_text ${s.mediumText} NOT NULL, answer_text ${s.mediumText} NOT NULL, weight ${s.string(16)} NOT NULL, at ${s.time} NOT NULL`,
        `embedding_model ${s.string(128)} NULL, vector ${s.mediumText} NULL`,
        'PRIMARY KEY (business_id, review_id)',
      ]),
      'CREATE INDEX voice_examples_branch ON voice_examples (business_id, branch_id, at)',
      // What a person did with each draft shown to them (stats' `decisions`), counted by its review's period.
      table(s, 'draft_decisions', [
        `id ${s.serial('BIGINT')}, business_id ${s.string(32)} NOT NULL, review_id ${s.id} NOT NULL, branch_id ${s.id} NOT NULL`,
        `kind ${s.string(16)} NOT NULL, changed_permille ${s.int} NULL, decided_at ${s.time} NOT NULL`,
      ]),
      'CREATE INDEX draft_decisions_review ON draft_decisions (review_id)',
    ],
  },
  {
    version: 17,
    name: 'template rotation, and answers waiting out a posting delay',
    // Issue 22: the owner's texts for ratings without words are used least recently used first, per template set,
    // across restarts and workers (core/drafting/templates.ts): one row per set and place in its list holds the sequence
    // number of its last use; the row at place -1 is the set's counter, whose UPDATE serialises racing workers.
    // A drafted answer may wait until post_after (policy.postDelayMinutes) holding its reserve, picked up by any
    // later cycle; `template` says which template an answer came from ("5★ 2/3").
    statements: (s) => [
      table(s, 'template_uses', [`template_set ${s.string(160)} NOT NULL, position ${s.int} NOT NULL, used_seq ${s.int} NOT NULL`, 'PRIMARY KEY (template_set, position)']),
      `ALTER TABLE reviews ADD COLUMN post_after ${s.time} NULL`,
      `ALTER TABLE reviews ADD COLUMN template ${s.string(32)} NULL`,
    ],
  },
  {
    version: 18,
    name: "the owner's panel: alerts once per episode, and Telegram's own messages queued",
    // Issue 20: an alert (balance.low, balance.insufficient until the next top-up, complaint.repeated, auth.failed until a
    // sign-in works again, a review's reminder, a week's digest) is one episode row, inserted once by whichever worker
    // gets there first (the compare-and-set across workers and restarts), with the messages it sends in the same
    // transaction. The messages wait in telegram_messages until Telegram's limits let them out: never dropped.
    // alert_seq: the last event the alerts were drawn from. business_id: '' until events carry their business.
    statements: (s) => [
      table(s, 'alert_episodes', [
        `business_id ${s.string(32)} NOT NULL DEFAULT '', kind ${s.string(32)} NOT NULL, subject ${s.string(191)} NOT NULL`,
        `opened_at ${s.time} NOT NULL`,
        'PRIMARY KEY (business_id, kind, subject)',
      ]),
      table(s, 'telegram_messages', [
        `id ${s.serial('BIGINT')}, business_id ${s.string(32)} NOT NULL DEFAULT '', chat_id ${s.string(64)} NOT NULL`,
        `notice ${s.mediumText} NOT NULL, queued_at ${s.time} NOT NULL, sent_at ${s.time} NULL, outcome ${s.string(16)} NULL`,
      ]),
      'CREATE INDEX telegram_messages_unsent ON telegram_messages (sent_at, id)',
      'CREATE INDEX telegram_messages_chat ON telegram_messages (chat_id, sent_at)',
      `ALTER TABLE telegram_turn ADD COLUMN alert_seq ${s.bigint} NULL`,
    ],
  },
  {
    version: 19,
    name: 'many businesses: every row belongs to one',
    // Issue 19. Each review, ledger entry, balance, event, card, prompt version, topic and statistic row belongs to
    // one business; what was there becomes business `default`. Keys and the hot indexes lead with the business,
    // so one business's ids never collide with another's and each reads only its own rows. Balances move to one
    // row per business; the businesses table binds each business to the 2GIS account it first served (one
    // account, one business: the unique key). The outbox and the Telegram updates stay the deployment's.
    statements: (s) => [
      ...s.scope('reviews', { primaryKey: ['id'] }),
      'CREATE INDEX reviews_business_state_created ON reviews (business_id, state, created_at, id)',
      'CREATE INDEX reviews_business_state_lease ON reviews (business_id, state, lease_until, id)',
      'CREATE INDEX reviews_business_branch_updated ON reviews (business_id, branch_id, updated_at, id)',
      'CREATE INDEX reviews_business_created_branch ON reviews (business_id, created_at, branch_id)',
      s.dropIndex('reviews', 'reviews_state_created'),
      s.dropIndex('reviews', 'reviews_state_lease'),
      s.dropIndex('reviews', 'reviews_branch_updated'),
      s.dropIndex('reviews', 'reviews_created_branch'),

      table(s, 'business_accounts', [
        `business_id ${s.string(32)} NOT NULL PRIMARY KEY, balance ${s.money} NOT NULL DEFAULT 0, reserved ${s.money} NOT NULL DEFAULT 0`,
        `CONSTRAINT business_accounts_funds CHECK (${s.nonNegative('balance')} AND reserved >= 0 AND reserved <= balance)`,
      ]),
      `INSERT ${s.insertOrIgnore} INTO business_accounts (business_id, balance, reserved) SELECT '${DEFAULT_BUSINESS}', balance, reserved FROM account`,
      'DROP TABLE account',

      ...s.scope('ledger', { unique: { name: 'ledger_one_charge_per_review', columns: ['charge_review_id'] } }),
      'CREATE INDEX ledger_business ON ledger (business_id, id)',

      // The deployment's own events (a message from an unknown chat) belong to none: NULL.
      `ALTER TABLE events ADD COLUMN business_id ${s.string(32)} NULL`,
      `UPDATE events SET business_id = '${DEFAULT_BUSINESS}'`,
      'CREATE INDEX events_business_seq ON events (business_id, seq)',

      ...s.scope('prompt_versions'),
      'CREATE INDEX prompt_versions_business ON prompt_versions (business_id, version)',
      ...s.scope('dialogue'),
      'CREATE INDEX dialogue_business_key ON dialogue (business_id, author_id, review_id, at)',
      s.dropIndex('dialogue', 'dialogue_key'),
      ...s.scope('follow_ups', { primaryKey: ['comment_id'] }),
      'CREATE INDEX follow_ups_business_state_created ON follow_ups (business_id, state, created_at)',
      'CREATE INDEX follow_ups_business_state_lease ON follow_ups (business_id, state, lease_until)',
      s.dropIndex('follow_ups', 'follow_ups_state_created'),
      s.dropIndex('follow_ups', 'follow_ups_state_lease'),
      ...s.scope('branch_intake', { primaryKey: ['branch_id'] }),
      ...s.scope('telegram_cards', { unique: { name: 'telegram_cards_review', columns: ['review_id'] } }),
      ...s.scope('review_topics', { primaryKey: ['review_id', 'topic'] }),
      'CREATE INDEX review_topics_business_branch_topic ON review_topics (business_id, branch_id, topic, created_at)',
      'CREATE INDEX review_topics_business_created ON review_topics (business_id, created_at)',
      s.dropIndex('review_topics', 'review_topics_branch_topic'),
      s.dropIndex('review_topics', 'review_topics_created'),
      ...s.scope('complaints', { primaryKey: ['branch_id', 'topic', 'window_from'] }),
      ...s.scope('branch_listings', { primaryKey: ['branch_id'] }),
      ...s.scope('review_complaints', { primaryKey: ['review_id'] }),

      // What came after the businesses were first scoped (versions 15 to 18), scoped the same way.
      'CREATE INDEX reviews_business_recheck ON reviews (business_id, recheck_at)',
      s.dropIndex('reviews', 'reviews_recheck'),
      // A refund is keyed by the charge it returns, within its business (charges are keyed the same way).
      s.dropIndex('ledger', 'ledger_one_refund_per_charge'),
      'CREATE UNIQUE INDEX ledger_one_refund_per_charge ON ledger (business_id, refund_key)',
      // voice_examples and draft_decisions were made with business_id (filled with `default`).
      'CREATE INDEX draft_decisions_business_review ON draft_decisions (business_id, review_id)',
      s.dropIndex('draft_decisions', 'draft_decisions_review'),
      // Each business rotates its own templates.
      ...s.scope('template_uses', { primaryKey: ['template_set', 'position'] }),
      // The panel's episodes and messages were written with business_id '' before the store was scoped.
      `UPDATE alert_episodes SET business_id = '${DEFAULT_BUSINESS}' WHERE business_id = ''`,
      `UPDATE telegram_messages SET business_id = '${DEFAULT_BUSINESS}' WHERE business_id = ''`,
      // Each business's alerts are drawn from its own events: a cursor per business (default's is the one there was).
      table(s, 'alert_cursors', [`business_id ${s.string(32)} NOT NULL PRIMARY KEY, alert_seq ${s.bigint} NOT NULL`]),
      `INSERT ${s.insertOrIgnore} INTO alert_cursors (business_id, alert_seq)
       SELECT '${DEFAULT_BUSINESS}', alert_seq FROM telegram_turn WHERE id = 1 AND alert_seq IS NOT NULL`,
      'ALTER TABLE telegram_turn DROP COLUMN alert_seq',

      table(s, 'businesses', [
        `id ${s.string(32)} NOT NULL PRIMARY KEY, twogis_user_id ${s.id} NULL, twogis_login ${s.string(255)} NULL, bound_at ${s.time} NULL`,
        `last_cycle_at ${s.time} NULL, last_status ${s.string(32)} NULL`,
        'CONSTRAINT businesses_account UNIQUE (twogis_user_id)',
      ]),
    ],
  },
  {
    version: 20,
    name: "the deployment's settings: the currency its ledger is kept in",
    // Issue 23. billing.currency is how people see money; the amounts themselves carry none. Once the ledger has
    // entries their currency is recorded here, and a config that names another one is refused (its sums would
    // silently become another money).
    statements: (s) => [table(s, 'deployment', [`name ${s.string(64)} NOT NULL PRIMARY KEY, value ${s.string(255)} NOT NULL`])],
  },
  {
    version: 21,
    name: '2GIS access tokens: when each first and last signed in',
    // Issue 21: `doctor` says how long a token copied from the browser has been in use (2GIS publishes no lifetime).
    // A token is kept by its SHA-256 only: the token is a secret and never reaches the database.
    statements: (s) => [
      table(s, 'access_tokens', [
        `business_id ${s.string(32)} NOT NULL, fingerprint ${s.string(64, 'fixed')} NOT NULL`,
        `first_used_at ${s.time} NOT NULL, last_used_at ${s.time} NOT NULL`,
        'PRIMARY KEY (business_id, fingerprint)',
      ]),
    ],
  },
  {
    version: 22,
    name: "reviews: the code of their reason, beside its English words",
    // Issue 23: gisbot's code matches a reason by its code, never by its words, and a person reads it in their
    // language. Rows kept before get the code of the words gisbot wrote then, where they are one of its own; any
    // other stays NULL (read by its words, as before). The words are written here as they were: a later change of
    // the core's words does not change what this upgrade did.
    statements: (s) => [
      `ALTER TABLE reviews ADD COLUMN reason_code ${s.string(32)} NULL`,
      `ALTER TABLE review_complaints ADD COLUMN prior_reason_code ${s.string(32)} NULL`,
      ...KNOWN_REASONS_V22.flatMap(([code, words]) => {
        const match = words.endsWith('%') ? `LIKE '${words}'` : `= '${words}'`;
        return [
          `UPDATE reviews SET reason_code = '${code}' WHERE reason_code IS NULL AND reason ${match}`,
          `UPDATE review_complaints SET prior_reason_code = '${code}' WHERE prior_reason_code IS NULL AND prior_reason ${match}`,
        ];
      }),
    ],
  },
  {
    version: 23,
    name: 'follow-ups: the code of their reason, beside its English words',
    // Issue 23, as version 22 for reviews: a follow-up's reason is matched and said by its code. Rows kept before get
    // the code of the words gisbot wrote then; a follow-up put back in the queue by a failing service kept that
    // service's error as its reason (any words): `service_failed`. Any other stays NULL (read by its words).
    statements: (s) => [
      `ALTER TABLE follow_ups ADD COLUMN reason_code ${s.string(32)} NULL`,
      ...KNOWN_FOLLOW_UP_REASONS_V23.map(([code, words]) => {
        const match = words.endsWith('%') ? `LIKE '${words}'` : `= '${words}'`;
        return `UPDATE follow_ups SET reason_code = '${code}' WHERE reason_code IS NULL AND state <> 'new' AND reason ${match}`;
      }),
      "UPDATE follow_ups SET reason_code = 'stopped' WHERE reason_code IS NULL AND state = 'new' AND reason = 'stopped'",
      "UPDATE follow_ups SET reason_code = 'service_failed' WHERE reason_code IS NULL AND state = 'new' AND reason IS NOT NULL",
    ],
  },
];

/** The reasons gisbot wrote to follow-ups before version 23, each with its code (written as KNOWN_REASONS_V22). */
const KNOWN_FOLLOW_UP_REASONS_V23: ReadonlyArray<readonly [code: string, words: string]> = [
  ['review_unknown', 'the review is not known to gisbot'],
  ['posting_interrupted', 'a follow-up may have been posted by a worker that stopped: check 2GIS before answering'],
  ['model_failed', 'the model failed: %'],
  ['gate_refused', 'the reply gate refused %'],
  ['moderation_unavailable', 'the moderation endpoint gave no verdict and policy.moderation is required: %'],
  ['comment_deleted', 'the comment was deleted on 2GIS'],
  ['answered_elsewhere', 'answered on 2GIS before we posted'],
  ['post_unconfirmed', 'posting the follow-up went unanswered (%'],
  ['post_refused', '2GIS refused the follow-up: %'],
];

/**
 * The reasons gisbot wrote to reviews before version 22, each with its code: the words themselves, or their
 * fixed start and `%` where the rest is the case's own (a rating, a branch, an error). No `_` in them (LIKE's one
 * character), no quote.
 */
const KNOWN_REASONS_V22: ReadonlyArray<readonly [code: string, words: string]> = [
  ['other_catalog', 'from another catalog (%'],
  ['hidden', 'hidden on 2GIS'],
  ['answered_elsewhere', 'already answered'],
  ['answered_elsewhere', 'answered by someone else before we posted'],
  ['answered_elsewhere', 'answered by someone else'],
  ['answered_elsewhere', 'answered on 2GIS by someone else'],
  ['no_reply_allowed', '2GIS does not allow a reply'],
  ['branch_unwatched', 'branch % is no longer watched (%'],
  ['branch_off', 'answering is off for branch %'],
  ['below_threshold', 'rated % below policy.approvalBelowRating (%'],
  ['rating_only', 'a rating without text, and policy.answerRatingOnly is off'],
  ['gate_refused', 'the reply gate refused %'],
  ['moderation_unavailable', 'the moderation endpoint gave no verdict and policy.moderation is required: %'],
  ['deleted', 'deleted on 2GIS'],
  ['answer_removed', 'answer removed by 2GIS'],
  ['complained', 'complained to 2GIS'],
  ['looks_like_not_a_customer', 'looks like: not our customer (%'],
  ['model_failed', 'the model failed: %'],
  ['post_refused', '2GIS refused the answer: %'],
  ['post_unconfirmed', '2GIS did not take the answer after %'],
  ['recovered', 'recovered after an interrupted run'],
];

export const LATEST_VERSION = migrations.reduce((max, m) => Math.max(max, m.version), 0);

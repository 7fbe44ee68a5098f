// The insight queries both SQL stores share, word for word (stats, report, branches, recurring complaints): each
// store binds the values its own way (`Time`) and reads the columns back in its own types. They read through the
// indexes of schema version 8: reviews_created_branch for a period's reviews, review_topics_created and
// review_topics_branch_topic for topics, the complaints primary key for a topic's windows.
import { ANSWERED_ELSEWHERE, type FactQuery } from '../../core/ports.ts';

export interface Clause<Time> {
  /** `WHERE …` (never empty: callers append `AND …`). */
  where: string;
  params: Array<Time | string | number>;
}

/** A period and a branch over `alias.created_at` and `alias.branch_id`. */
export function periodClause<Time>(alias: 'r' | 't', query: FactQuery, time: (at: Date) => Time): Clause<Time> {
  const conditions = ['1 = 1'];
  const params: Array<Time | string | number> = [];
  if (query.from !== undefined) {
    conditions.push(`${alias}.created_at >= ?`);
    params.push(time(query.from));
  }
  if (query.to !== undefined) {
    conditions.push(`${alias}.created_at < ?`);
    params.push(time(query.to));
  }
  if (query.branchId !== undefined) {
    conditions.push(`${alias}.branch_id = ?`);
    params.push(query.branchId);
  }
  return { where: `WHERE ${conditions.join(' AND ')}`, params };
}

const ELSEWHERE = Object.values(ANSWERED_ELSEWHERE);
const WAITING = `('new', 'claimed', 'drafted', 'posting', 'needs_approval')`;

/**
 * One row per branch: the counts by outcome, the sums of ratings, charges, tokens and the provider's reported cost
 * (in 10⁻¹⁰ units: ROUND of the decimal times 10¹⁰ is exact in both databases for any cost below 10⁵). `branch`
 * and `name` are the columns as the store selects its texts (SQLite reads them as bytes).
 */
export function factsSql<Time>(clause: Clause<Time>, branch: string, name: string): { text: string; params: Array<Time | string | number> } {
  return {
    text: `SELECT ${branch}, ${name}, COUNT(*) AS reviews,
        SUM(CASE WHEN r.state = 'posted' THEN 1 ELSE 0 END) AS answered,
        SUM(CASE WHEN r.state = 'posted' AND r.sent_by = 'person' THEN 1 ELSE 0 END) AS by_person,
        SUM(CASE WHEN r.state = 'skipped' AND r.reason IN (${ELSEWHERE.map(() => '?').join(', ')}) THEN 1 ELSE 0 END) AS answered_elsewhere,
        SUM(CASE WHEN r.state = 'skipped' THEN 1 ELSE 0 END) AS skipped_all,
        SUM(CASE WHEN r.state IN ${WAITING} THEN 1 ELSE 0 END) AS waiting,
        SUM(CASE WHEN r.state = 'needs_approval' THEN 1 ELSE 0 END) AS waiting_for_person,
        SUM(CASE WHEN r.state = 'failed' THEN 1 ELSE 0 END) AS failed,
        SUM(r.rating) AS rating_sum,
        SUM(r.charged) AS charged,
        SUM(COALESCE(r.prompt_tokens, 0)) AS prompt_tokens,
        SUM(COALESCE(r.completion_tokens, 0)) AS completion_tokens,
        SUM(ROUND(r.model_cost * 10000000000)) AS cost_units,
        COUNT(r.model_cost) AS costed
      FROM reviews r ${clause.where}
      GROUP BY r.branch_id`,
    params: [...ELSEWHERE, ...clause.params],
  };
}

/** Per branch, how many answers took each whole number of minutes. */
export function answerMinutesSql<Time>(clause: Clause<Time>, branch: string): { text: string; params: Array<Time | string | number> } {
  return {
    text: `SELECT ${branch}, r.answer_minutes, COUNT(*) AS answers
      FROM reviews r ${clause.where} AND r.state = 'posted' AND r.answer_minutes IS NOT NULL
      GROUP BY r.branch_id, r.answer_minutes`,
    params: clause.params,
  };
}

/** Per branch and topic key, the reviews rated at most the first parameter. */
export function topicCountsSql<Time>(clause: Clause<Time>, maxRating: number, branch: string, topic: string, label: string) {
  return {
    text: `SELECT ${branch}, ${topic}, ${label}, COUNT(*) AS reviews
      FROM review_topics t ${clause.where} AND t.rating <= ?
      GROUP BY t.branch_id, t.topic`,
    params: [...clause.params, maxRating],
  };
}

export const BRANCHES_SQL = (branch: string, name: string) => `SELECT ${branch}, ${name} FROM reviews r GROUP BY r.branch_id`;

export const TOPIC_REVIEWS_SQL = (reviewId: string) => `SELECT ${reviewId}, t.created_at FROM review_topics t
  WHERE t.branch_id = ? AND t.topic = ? AND t.rating <= ? AND t.created_at >= ? AND t.created_at <= ?
  ORDER BY t.created_at, t.review_id`;

export const COMPLAINT_WINDOWS_SQL = `SELECT c.window_from, c.window_to FROM complaints c
  WHERE c.branch_id = ? AND c.topic = ? AND c.window_from <= ? AND c.window_to >= ?`;

/** The minutes histogram rows, as [branch, minutes, answers], by branch. */
export function histogramsByBranch(rows: ReadonlyArray<[string, number, number]>): Map<string, Array<[number, number]>> {
  const byBranch = new Map<string, Array<[number, number]>>();
  for (const [branch, minutes, answers] of rows) {
    let list = byBranch.get(branch);
    if (!list) byBranch.set(branch, (list = []));
    list.push([minutes, answers]);
  }
  return byBranch;
}

/** Whole minutes from a review's creation on 2GIS to our post; never negative (2GIS's clock may run ahead). */
export function answerMinutes(createdAt: number, postedAt: number): number {
  return Math.max(0, Math.floor((postedAt - createdAt) / 60_000));
}

/** The provider's cost units as the databases return them: a DECIMAL string (MySQL) or a number (SQLite's REAL). */
export function costUnits(value: unknown): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(Math.round(value));
  return BigInt(String(value).split('.')[0] || '0');
}

// The events query both SQL stores share: filters from EventQuery, and the order that gives "the next N after a
// cursor" or "the last N" (read newest first, handed back oldest first).
import type { EventQuery } from '../../core/ports.ts';

export interface EventQuerySql<Time> {
  /** WHERE … ORDER BY … LIMIT ?, over `events e`. */
  clause: string;
  params: Array<Time | string | number>;
  /** The rows come newest first and must be reversed. */
  newestFirst: boolean;
}

export function eventQuerySql<Time>(query: EventQuery, limit: number, time: (since: Date) => Time): EventQuerySql<Time> {
  const conditions: string[] = [];
  const params: Array<Time | string | number> = [];
  const filter = (condition: string, value: Time | string | number | undefined) => {
    if (value === undefined) return;
    conditions.push(condition);
    params.push(value);
  };
  filter('e.seq > ?', query.afterSeq);
  filter('e.at >= ?', query.since === undefined ? undefined : time(query.since));
  filter('e.type = ?', query.type);
  filter('e.review_id = ?', query.reviewId);
  filter('e.branch_id = ?', query.branchId);
  const newestFirst = query.afterSeq === undefined;
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')} ` : '';
  return { clause: `${where}ORDER BY e.seq ${newestFirst ? 'DESC' : 'ASC'} LIMIT ?`, params: [...params, limit], newestFirst };
}

// Builds the contract's events. Ids are random UUIDs: receivers dedupe by id (delivery is at least once).
import { randomUUID } from 'node:crypto';
import type { Clock, DomainEvent, EventType } from '../ports.ts';

export interface EventSubject {
  id: string;
  branchId: string;
}

export function makeEvent(
  clock: Clock,
  type: EventType,
  subject: EventSubject | null,
  data: Record<string, unknown> = {},
): DomainEvent {
  return {
    id: randomUUID(),
    type,
    at: clock.now().toISOString(),
    reviewId: subject?.id ?? null,
    branchId: subject?.branchId ?? null,
    data,
  };
}

/** The contract's wire form of an event: exactly these keys, whatever the store added. */
export function eventJson(event: DomainEvent): string {
  const { id, type, at, reviewId, branchId, data } = event;
  return JSON.stringify({ id, type, at, businessId: event.businessId ?? null, reviewId, branchId, data });
}

/** The events of one business, named as its: a logger line and a frame say whose they are. */
export function ofBusiness<T extends DomainEvent>(events: readonly T[], businessId: string): T[] {
  return events.map((event) => (event.businessId === undefined ? { ...event, businessId } : event));
}

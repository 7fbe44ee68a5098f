// What both stores say when a top-up would take the balance past what their money columns hold.
import { formatMoney, type Kopecks } from '../../core/money.ts';

export function topUpTooLarge(amount: Kopecks, most: Kopecks): string {
  return `a top-up of ${formatMoney(amount)} would take the balance past ${formatMoney(most)}, the most the database holds: nothing was added`;
}

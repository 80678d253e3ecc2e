/**
 * Discrepancy classes and the pure rules that assign them. The engine (engine.ts) finds the
 * candidates with SQL; every decision about what a pair of bill row and book entry means is made
 * here, so it can be tested without a database.
 */
import type { BillRow } from '../channel/contract.js';

/** Classes a bill row or book entry can end up in (the JSON summary's keys). */
export const SUMMARY_CLASSES = ['matched', 'missingLocal', 'missingChannel', 'amountMismatch', 'statusMismatch', 'currencyMismatch', 'duplicate'] as const;
export type SummaryClass = (typeof SUMMARY_CLASSES)[number];

/** Classes that are discrepancies (any of them makes `pay reconcile` exit 1). */
export const DISCREPANCY_CLASSES = ['missingLocal', 'missingChannel', 'amountMismatch', 'statusMismatch', 'currencyMismatch', 'duplicate'] as const;
export type DiscrepancyClass = (typeof DISCREPANCY_CLASSES)[number];

/**
 * Every class an item is stored under: the summary classes, `carriedOver` (a timing difference
 * expected in the next bill) and `resolved` (an earlier run's open item closed by this run).
 */
export type ItemClass = SummaryClass | 'carriedOver' | 'resolved';

/**
 * Classes that stay open until a later run closes them: a bill row the books did not have (yet)
 * or had unpaid, and a book entry the bill did not list (yet). Amount, currency and duplicate
 * discrepancies need a person and a rerun of their day; they do not carry over.
 */
export const CARRYABLE_CLASSES: readonly ItemClass[] = ['missingLocal', 'missingChannel', 'statusMismatch', 'carriedOver'];

/** What a bill row or book entry is. */
export type EntryKind = 'payment' | 'refund' | 'payout';

/** A book entry (an order, payout or refund) as the matcher sees it. */
export interface BookEntry {
  kind: EntryKind;
  orderNo: string;
  refundNo?: string;
  channel: string;
  /** Order or refund status in the books. */
  status: string;
  amountMinor: number;
  currency: string;
  /** When the money moved in the books (paid_at / refunded_at), ISO UTC. */
  time?: string;
  channelTradeNo?: string;
}

/** Statuses in which the books say the money moved. */
const PAID: Record<EntryKind, readonly string[]> = {
  payment: ['succeeded', 'refunded'],
  payout: ['succeeded'],
  refund: ['succeeded'],
};

/** True when the books say the money of `entry` moved. */
export function isSettled(entry: Pick<BookEntry, 'kind' | 'status'>): boolean {
  return PAID[entry.kind].includes(entry.status);
}

/**
 * Bill status words that say the money did not move (a failed or reversed row some channels list).
 * Everything else in a bill, including no status at all, is money that moved.
 */
export const FAILED_STATUS_WORDS: readonly string[] = [
  'fail',
  'failed',
  'failure',
  'closed',
  'revoked',
  'reversed',
  'canceled',
  'cancelled',
  'declined',
  'payerror',
  'refund_fail',
  'refundfail',
  'refund_failed',
  'refundfailed',
  'error',
];
const FAILED = new Set(FAILED_STATUS_WORDS);

/** True when a bill row's own status says the money did not move (case and spaces ignored). */
export function billSaysFailed(status: string | undefined): boolean {
  return status !== undefined && FAILED.has(status.trim().toLowerCase());
}

/**
 * The matching key of a bill row: (kind, order number) for payments and payouts, the refund
 * number for refunds (unique in the books), and the channel's trade number when the row lacks
 * ours (matched through the fallback lookup only). Fee and adjustment rows have no key.
 */
export function billKey(row: Pick<BillRow, 'kind' | 'orderNo' | 'refundNo' | 'channelTradeNo' | 'line'>): string {
  switch (row.kind) {
    case 'payment':
      return row.orderNo ? `P|${row.orderNo}` : fallbackKey(row);
    case 'payout':
      return row.orderNo ? `T|${row.orderNo}` : fallbackKey(row);
    case 'refund':
      return row.refundNo ? `R|${row.refundNo}` : fallbackKey(row);
    default:
      return `F|${row.line}`;
  }
}

function fallbackKey(row: Pick<BillRow, 'kind' | 'channelTradeNo' | 'line'>): string {
  return row.channelTradeNo ? `X|${row.kind}|${row.channelTradeNo}` : `L|${row.line}`;
}

/** The key of a book entry, in the same space as {@link billKey}. */
export function bookKey(entry: Pick<BookEntry, 'kind' | 'orderNo' | 'refundNo'>): string {
  if (entry.kind === 'refund') return `R|${entry.refundNo}`;
  return `${entry.kind === 'payment' ? 'P' : 'T'}|${entry.orderNo}`;
}

/** The verdict on one (first-seen) bill row. */
export interface RowVerdict {
  class: SummaryClass;
  /** A sentence for people saying what disagrees and what to do. */
  note?: string;
}

/**
 * Classifies a bill row against the book entry found for it (or none). Checks run in the order
 * a person would fix them: presence, currency, amount, then status.
 *
 * Status rules: a row the channel lists as money moved matches only a settled book entry
 * (payment succeeded or refunded, payout or refund succeeded); a book entry still created or
 * pending, or failed or closed, is a statusMismatch (the books are behind or wrong: `pay query`
 * updates them). A row whose own status says it failed matches a book entry that is not settled,
 * and is a statusMismatch against a settled one.
 */
export function classifyRow(row: Pick<BillRow, 'kind' | 'amountMinor' | 'currency' | 'status'>, entry: BookEntry | undefined, fmt: (minor: number, currency: string) => string): RowVerdict {
  if (!entry) {
    return { class: 'missingLocal', note: `the channel lists this ${row.kind}; the books do not have it` };
  }
  if (entry.currency !== row.currency) {
    return { class: 'currencyMismatch', note: `the books say ${entry.currency}, the channel ${row.currency}` };
  }
  const billAmount = Math.abs(row.amountMinor);
  if (entry.amountMinor !== billAmount) {
    return {
      class: 'amountMismatch',
      note: `the books say ${fmt(entry.amountMinor, entry.currency)}, the channel ${fmt(billAmount, row.currency)} (${billAmount > entry.amountMinor ? '+' : '-'}${fmt(Math.abs(billAmount - entry.amountMinor), row.currency)})`,
    };
  }
  const settled = isSettled(entry);
  if (billSaysFailed(row.status)) {
    if (settled) return { class: 'statusMismatch', note: `the channel says ${row.status!.trim()}; the books say ${entry.status}` };
    return { class: 'matched' };
  }
  if (!settled) {
    const no = entry.kind === 'refund' ? entry.refundNo : entry.orderNo;
    const hint = entry.status === 'created' || entry.status === 'pending' ? ` (run \`pay query ${no}\` to update the books)` : '';
    return { class: 'statusMismatch', note: `the channel lists it as ${row.status ? `${row.status}` : 'settled'}; the books say ${entry.status}${hint}` };
  }
  return { class: 'matched' };
}

/**
 * Classifies a settled book entry of the day that no bill row matched: a timing difference when
 * the money moved within `carryWindowMs` of the end of the business day (the channel will bill it
 * tomorrow), otherwise missing at the channel. Both stay open until a later run closes them.
 */
export function classifyUnbilled(entry: Pick<BookEntry, 'time'>, dayEndMs: number, carryWindowMs: number): 'carriedOver' | 'missingChannel' {
  const t = entry.time ? Date.parse(entry.time) : Number.NaN;
  if (Number.isFinite(t) && t < dayEndMs && dayEndMs - t <= carryWindowMs) return 'carriedOver';
  return 'missingChannel';
}

/**
 * Rows to records, shared by the SQLite and PostgreSQL stores: both keep the same columns (text
 * timestamps in ISO UTC, JSON as text, integer minor units), so one mapping serves both.
 */
import type { Order, Refund } from '../core/order.js';
import type { BookEntry, ItemClass } from '../reconcile/classify.js';
import type { CurrencyTotals, ItemRecord, RunRecord } from './reconcile-store.js';
import type { CallbackRecord, NewOrder, StoredEvent } from './store.js';

export type Row = Record<string, unknown>;

export const ORDER_COLUMNS =
  'order_no, kind, channel, status, amount_minor, currency, refunded_minor, subject, method, payee, payee_name, channel_trade_no, failure_code, failure_message, payload, source, created_at, updated_at, paid_at';

/** Columns a new order fills, in {@link newOrderValues} order. */
export const NEW_ORDER_COLUMNS = ['order_no', 'kind', 'channel', 'status', 'amount_minor', 'currency', 'refunded_minor', 'subject', 'method', 'payee', 'payee_name', 'channel_trade_no', 'source', 'created_at', 'updated_at', 'paid_at'];

/** A new order's values (defaults applied), in {@link NEW_ORDER_COLUMNS} order. */
export function newOrderValues(input: NewOrder, now: string): unknown[] {
  return [
    input.orderNo,
    input.kind,
    input.channel,
    input.status ?? 'created',
    input.amountMinor,
    input.currency,
    input.refundedMinor ?? 0,
    input.subject ?? null,
    input.method ?? null,
    input.payee ?? null,
    input.payeeName ?? null,
    input.channelTradeNo ?? null,
    input.source ?? 'cli',
    input.createdAt ?? now,
    now,
    input.paidAt ?? null,
  ];
}

export function rowToOrder(r: Row): Order {
  const o: Order = {
    orderNo: r.order_no as string,
    kind: r.kind as Order['kind'],
    channel: r.channel as string,
    status: r.status as Order['status'],
    amountMinor: r.amount_minor as number,
    currency: r.currency as string,
    refundedMinor: r.refunded_minor as number,
    source: r.source as string,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
  if (r.subject != null) o.subject = r.subject as string;
  if (r.method != null) o.method = r.method as string;
  if (r.payee != null) o.payee = r.payee as string;
  if (r.payee_name != null) o.payeeName = r.payee_name as string;
  if (r.channel_trade_no != null) o.channelTradeNo = r.channel_trade_no as string;
  if (r.failure_code != null) o.failureCode = r.failure_code as string;
  if (r.failure_message != null) o.failureMessage = r.failure_message as string;
  if (r.payload != null) o.payload = JSON.parse(r.payload as string) as Record<string, unknown>;
  if (r.paid_at != null) o.paidAt = r.paid_at as string;
  return o;
}

export function rowToRefund(r: Row): Refund {
  const f: Refund = {
    refundNo: r.refund_no as string,
    orderNo: r.order_no as string,
    channel: r.channel as string,
    status: r.status as Refund['status'],
    amountMinor: r.amount_minor as number,
    currency: r.currency as string,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
  if (r.reason != null) f.reason = r.reason as string;
  if (r.channel_refund_no != null) f.channelRefundNo = r.channel_refund_no as string;
  if (r.failure_code != null) f.failureCode = r.failure_code as string;
  if (r.failure_message != null) f.failureMessage = r.failure_message as string;
  if (r.refunded_at != null) f.refundedAt = r.refunded_at as string;
  return f;
}

export function rowToEvent(r: Row): StoredEvent {
  const e: StoredEvent = {
    id: r.id as number,
    at: r.at as string,
    type: r.type as string,
    data: JSON.parse(r.data as string) as Record<string, unknown>,
  };
  if (r.channel != null) e.channel = r.channel as string;
  if (r.order_no != null) e.orderNo = r.order_no as string;
  if (r.refund_no != null) e.refundNo = r.refund_no as string;
  return e;
}


export const nn = <T>(v: unknown): T | undefined => (v === null || v === undefined ? undefined : (v as T));

export function rowToItem(r: Row): ItemRecord {
  const item: ItemRecord = {
    id: r.id as number,
    runId: r.run_id as number,
    channel: r.channel as string,
    class: r.class as ItemClass,
    key: r.item_key as string,
    kind: r.kind as string,
    orderNo: nn(r.order_no),
    refundNo: nn(r.refund_no),
    channelTradeNo: nn(r.channel_trade_no),
    note: nn(r.note),
    carriedFrom: nn(r.carried_from),
    originItem: nn(r.origin_item),
    closedByRun: nn(r.closed_by_run),
    closedAt: nn(r.closed_at),
  };
  if (r.bill_amount_minor !== null && r.bill_amount_minor !== undefined) {
    item.bill = {
      line: r.bill_line as number,
      amountMinor: r.bill_amount_minor as number,
      feeMinor: (r.bill_fee_minor as number) ?? 0,
      currency: r.bill_currency as string,
      time: r.bill_time as string,
      status: nn(r.bill_status),
    };
  }
  if (r.local_amount_minor !== null && r.local_amount_minor !== undefined) {
    item.local = { status: r.local_status as string, amountMinor: r.local_amount_minor as number, currency: r.local_currency as string, time: nn(r.local_time) };
  }
  for (const k of Object.keys(item) as (keyof ItemRecord)[]) if (item[k] === undefined) delete item[k];
  return item;
}

export function rowToRun(r: Row): RunRecord {
  const run: RunRecord = {
    id: r.id as number,
    channel: r.channel as string,
    date: r.date as string,
    timeZone: r.time_zone as string,
    source: r.source as RunRecord['source'],
    billPath: r.bill_path as string,
    billFormat: r.bill_format as string,
    billSha256: r.bill_sha256 as string,
    billBytes: r.bill_bytes as number,
    billRows: r.bill_rows as number,
    matched: r.matched as number,
    missingLocal: r.missing_local as number,
    missingChannel: r.missing_channel as number,
    amountMismatch: r.amount_mismatch as number,
    statusMismatch: r.status_mismatch as number,
    currencyMismatch: r.currency_mismatch as number,
    duplicate: r.duplicate as number,
    carriedOver: r.carried_over as number,
    resolved: r.resolved as number,
    totals: JSON.parse(r.totals as string) as CurrencyTotals[],
    startedAt: r.started_at as string,
    finishedAt: r.finished_at as string,
  };
  if (r.mapping_sha256 != null) run.mappingSha256 = r.mapping_sha256 as string;
  if (r.superseded_by != null) run.supersededBy = r.superseded_by as number;
  return run;
}

export function orderEntry(r: Row): BookEntry {
  return {
    kind: r.kind === 'payout' ? 'payout' : 'payment',
    orderNo: r.order_no as string,
    channel: r.channel as string,
    status: r.status as string,
    amountMinor: r.amount_minor as number,
    currency: r.currency as string,
    time: nn(r.paid_at),
    channelTradeNo: nn(r.channel_trade_no),
  };
}

export function refundEntry(r: Row): BookEntry {
  return {
    kind: 'refund',
    orderNo: r.order_no as string,
    refundNo: r.refund_no as string,
    channel: r.channel as string,
    status: r.status as string,
    amountMinor: r.amount_minor as number,
    currency: r.currency as string,
    time: nn(r.refunded_at),
    channelTradeNo: nn(r.channel_refund_no),
  };
}


export function rowToCallback(r: Row): CallbackRecord {
  return {
    channel: r.channel as string,
    dedupKey: r.dedup_key as string,
    eventType: r.event_type as string,
    orderNo: (r.order_no as string) ?? undefined,
    refundNo: (r.refund_no as string) ?? undefined,
    bodySha256: r.body_sha256 as string,
    outcome: r.outcome as string,
    receivedAt: r.received_at as string,
  };
}

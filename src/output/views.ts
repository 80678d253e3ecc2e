/**
 * Shared views of orders, refunds and events: the `--json` shapes (camelCase, amounts both as a
 * decimal string and as minor units) and the human cells.
 */
import { formatAmount } from '../core/money.js';
import type { Order, Refund } from '../core/order.js';
import type { StoredEvent } from '../store/store.js';
import type { Block, Cell, Tone } from './render.js';

/** Tone for a status word. */
export function statusTone(status: string): Tone | undefined {
  switch (status) {
    case 'succeeded':
    case 'valid':
    case 'matched':
    case 'pass':
      return 'ok';
    case 'pending':
    case 'created':
    case 'refunded':
      return 'warn';
    case 'failed':
    case 'closed':
    case 'invalid':
    case 'fail':
      return 'error';
    default:
      return undefined;
  }
}

export function statusCell(status: string): Cell {
  return { text: status, tone: statusTone(status) };
}

/** `12.34 CNY` */
export function money(amountMinor: number, currency: string): string {
  return `${formatAmount(amountMinor, currency)} ${currency}`;
}

/** The `--json` shape of an order. */
export function orderJson(o: Order): Record<string, unknown> {
  const out: Record<string, unknown> = {
    orderNo: o.orderNo,
    kind: o.kind,
    channel: o.channel,
    status: o.status,
    amount: formatAmount(o.amountMinor, o.currency),
    amountMinor: o.amountMinor,
    currency: o.currency,
  };
  if (o.kind === 'collect') {
    out.refundedAmount = formatAmount(o.refundedMinor, o.currency);
    out.refundedMinor = o.refundedMinor;
  }
  if (o.subject !== undefined) out.subject = o.subject;
  if (o.method !== undefined) out.method = o.method;
  if (o.payee !== undefined) out.payee = o.payee;
  if (o.payeeName !== undefined) out.payeeName = o.payeeName;
  if (o.channelTradeNo !== undefined) out.channelTradeNo = o.channelTradeNo;
  if (o.failureCode !== undefined) out.failure = { code: o.failureCode, message: o.failureMessage };
  if (o.payload !== undefined) out.payload = o.payload;
  out.source = o.source;
  out.createdAt = o.createdAt;
  out.updatedAt = o.updatedAt;
  if (o.paidAt !== undefined) out.paidAt = o.paidAt;
  return out;
}

/** The `--json` shape of a refund. */
export function refundJson(r: Refund): Record<string, unknown> {
  const out: Record<string, unknown> = {
    refundNo: r.refundNo,
    orderNo: r.orderNo,
    channel: r.channel,
    status: r.status,
    amount: formatAmount(r.amountMinor, r.currency),
    amountMinor: r.amountMinor,
    currency: r.currency,
  };
  if (r.reason !== undefined) out.reason = r.reason;
  if (r.channelRefundNo !== undefined) out.channelRefundNo = r.channelRefundNo;
  if (r.failureCode !== undefined) out.failure = { code: r.failureCode, message: r.failureMessage };
  out.createdAt = r.createdAt;
  out.updatedAt = r.updatedAt;
  if (r.refundedAt !== undefined) out.refundedAt = r.refundedAt;
  return out;
}

/** The human field list of an order. */
export function orderFields(o: Order): [string, Cell][] {
  const fields: [string, Cell][] = [
    ['order no', o.orderNo],
    ['kind', o.kind],
    ['channel', o.channel],
    ['status', statusCell(o.status)],
    ['amount', money(o.amountMinor, o.currency)],
  ];
  if (o.kind === 'collect' && o.refundedMinor > 0) fields.push(['refunded', money(o.refundedMinor, o.currency)]);
  fields.push(
    ['subject', o.subject],
    ['method', o.method],
    ['payee', o.payeeName ? `${o.payee} (${o.payeeName})` : o.payee],
    ['channel trade no', o.channelTradeNo],
    ['failure', o.failureCode ? { text: `${o.failureCode}: ${o.failureMessage ?? ''}`, tone: 'error' } : undefined],
    ['created', o.createdAt],
    ['paid', o.paidAt],
  );
  return fields;
}

/** One-line summary of an event's data for tables. */
export function eventSummary(e: StoredEvent): string {
  const d = e.data;
  switch (e.type) {
    case 'order.status':
    case 'refund.status':
      return `${String(d.from)} -> ${String(d.to)} (${String(d.source ?? '')})`;
    case 'order.created':
      return `${String(d.kind ?? '')} ${String(d.status ?? '')} via ${String(d.source ?? '')}`;
    case 'refund.created':
      return `refund requested via ${String(d.source ?? '')}`;
    case 'route.attempt':
      return `rule ${String(d.rule)}, attempt ${String(d.attempt)}: ${String(d.outcome)}${d.errorCode ? ` ${String(d.errorCode)}${d.errorClass ? ` (${String(d.errorClass)})` : ''}` : ''}${d.fellBack ? ', next target' : ''}`;
    case 'order.rerouted':
      return `${String(d.from)} -> ${String(d.to)} (${String(d.source ?? '')})`;
    case 'channel.call': {
      const err = d.error as { code?: string } | undefined;
      const ms = typeof d.durationMs === 'number' ? ` ${Math.round(d.durationMs)}ms` : '';
      return `${String(d.operation)}${ms}${err ? ` ${err.code}` : ' ok'}`;
    }
    default:
      return Object.entries(d)
        .slice(0, 4)
        .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join(' ');
  }
}

/** The refunds table `pay orders show` and `pay query` print; `reason` adds that column. */
export function refundsTable(refunds: readonly Refund[], opts: { reason?: boolean; empty?: string } = {}): Block {
  return {
    kind: 'table',
    title: 'Refunds',
    columns: [
      { key: 'refundNo', header: 'refund no' },
      { key: 'status', header: 'status' },
      { key: 'amount', header: 'amount', align: 'right' },
      ...(opts.reason ? [{ key: 'reason', header: 'reason' }] : []),
      { key: 'createdAt', header: 'created' },
    ],
    rows: refunds.map((f) => ({
      refundNo: f.refundNo,
      status: statusCell(f.status),
      amount: money(f.amountMinor, f.currency),
      ...(opts.reason ? { reason: f.reason } : {}),
      createdAt: f.createdAt,
    })),
    ...(opts.empty !== undefined ? { empty: opts.empty } : {}),
  };
}

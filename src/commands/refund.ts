/**
 * `pay refund <order-no>`: a full or partial refund. The refund is checked against what is left
 * (paid, less succeeded and in-flight refunds) inside the store's write transaction and written
 * before the channel is called; a refund over the remainder is refused with nothing recorded.
 */
import { invalid, PayError } from '../core/errors.js';
import { generateId, validateOrderNo } from '../core/ids.js';
import { parseAmount } from '../core/money.js';
import { refundableMinor, type Order, type Refund } from '../core/order.js';
import type { Presentation } from '../output/render.js';
import { money, orderJson, refundJson, statusCell } from '../output/views.js';
import type { Context } from './context.js';
import { applyRefundState, isDefinitiveRejection, withOrderContext } from './lifecycle.js';

export interface RefundOptions {
  /** Decimal; default: everything left to refund. */
  amount?: string;
  reason?: string;
  refundNo?: string;
  notifyUrl?: string;
}

export interface RefundResult {
  refund: Refund;
  order: Order;
  /** True when the refund number existed and nothing new was sent. */
  existing: boolean;
}

/** Refunds (part of) an order. */
export async function refund(orderNo: string, opts: RefundOptions, ctx: Context): Promise<RefundResult> {
  // A refund needs its order in the book: a missing database is an error, not a new one.
  const store = await ctx.store({ mustExist: true });
  const order = await store.getOrder(orderNo);
  if (!order) {
    throw new PayError('ORDER_NOT_FOUND', `${orderNo} is not in the order book at ${ctx.dbPath}`, { hint: 'Check the number with `pay orders list`.' });
  }
  const refunds = await store.listRefunds(orderNo);
  const refundNo = opts.refundNo ? validateOrderNo(opts.refundNo, 'refund number') : generateId('refund');
  // Sending a known refund again (its request got no answer): its own amount, not what is left.
  const known = opts.refundNo ? refunds.find((r) => r.refundNo === refundNo) : undefined;
  let amountMinor: number;
  if (opts.amount !== undefined) {
    amountMinor = parseAmount(opts.amount, order.currency, { label: 'refund amount' });
  } else if (known) {
    amountMinor = known.amountMinor;
  } else {
    amountMinor = refundableMinor(order, refunds);
    if (amountMinor === 0 && order.status === 'succeeded') {
      throw invalid(`nothing is left to refund on ${orderNo}`, { hint: 'Refunds in flight count against the total; `pay query` shows them.' });
    }
  }

  const ch = await ctx.channel(order.channel);
  const send = ch.adapter.refund?.bind(ch.adapter);
  if (!send) throw invalid(`channel ${order.channel} cannot refund`);

  // Throws (writing nothing) when the order is unpaid or the amount exceeds what is left.
  const { refund: row, created } = await store.createRefund({ refundNo, orderNo, amountMinor, reason: opts.reason });
  if (!created) {
    if (row.orderNo !== orderNo || (opts.amount !== undefined && row.amountMinor !== amountMinor)) {
      throw invalid(`refund number ${refundNo} is already used by another refund (${row.orderNo}, ${money(row.amountMinor, row.currency)})`);
    }
    if (row.status !== 'created') return { refund: row, order, existing: true };
  }
  try {
    const state = await send({
      orderNo,
      refundNo,
      channelTradeNo: order.channelTradeNo,
      amountMinor: row.amountMinor,
      totalMinor: order.amountMinor,
      currency: order.currency,
      reason: opts.reason,
      notifyUrl: opts.notifyUrl,
      orderCreatedAt: order.createdAt,
    });
    const upd = await applyRefundState(store, refundNo, state, 'channel.refund');
    return { refund: upd.value, order: (await store.getOrder(orderNo))!, existing: !created };
  } catch (err) {
    const definitive = isDefinitiveRejection(err);
    if (definitive) {
      // A refused refund releases its reservation.
      await store.updateRefund(refundNo, { status: 'failed', failureCode: err.providerCode ?? err.code, failureMessage: err.message }, { source: 'channel.refund' });
    }
    throw withOrderContext(err, refundNo, 'refund', definitive);
  }
}

/** Human and JSON output of refund. */
export function presentRefund(r: RefundResult): Presentation {
  const f = r.refund;
  const blocks: Presentation['blocks'] = [];
  if (r.existing) blocks.push({ kind: 'text', tone: 'warn', text: `Refund ${f.refundNo} already exists; nothing new was sent.` });
  blocks.push({
    kind: 'fields',
    fields: [
      ['refund no', f.refundNo],
      ['order no', f.orderNo],
      ['status', statusCell(f.status)],
      ['amount', money(f.amountMinor, f.currency)],
      ['order refunded', `${money(r.order.refundedMinor, r.order.currency)} of ${money(r.order.amountMinor, r.order.currency)}`],
      ['reason', f.reason],
      ['channel refund no', f.channelRefundNo],
      ['failure', f.failureCode ? { text: `${f.failureCode}: ${f.failureMessage ?? ''}`, tone: 'error' } : undefined],
    ],
  });
  if (f.status === 'pending' || f.status === 'created') blocks.push({ kind: 'text', tone: 'dim', text: `Next: pay query ${f.refundNo}` });
  return {
    json: { ...refundJson(f), existing: r.existing, order: orderJson(r.order) },
    blocks,
    exitCode: f.status === 'failed' ? 1 : 0,
  };
}

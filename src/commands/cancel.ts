/**
 * `pay cancel <order-no>`: closes an unpaid collection at its channel and moves the order to
 * `closed` (an `order.status` event). A paid order is refused (exit 2: refund it instead); a
 * second cancel changes nothing and says so; a cancel that meets a payment at the channel reports
 * the order as paid (exit 1). Channels that cannot close anything at the provider (PayPal's
 * unapproved orders, UnionPay 5.1.0) close the order in the order book only and say why.
 */
import { invalid, isPayError, PayError } from '../core/errors.js';
import { generateId } from '../core/ids.js';
import type { Order, Refund } from '../core/order.js';
import type { OrderState } from '../channel/contract.js';
import type { Presentation } from '../output/render.js';
import { orderFields, orderJson, refundJson } from '../output/views.js';
import type { Context } from './context.js';
import { isDefinitiveRejection, orderRef, withOrderContext } from './lifecycle.js';

/** What a cancel did. */
export type CancelOutcome =
  /** Closed now (at the channel, or in the order book only: see `localOnly`). */
  | 'closed'
  /** It was closed before; nothing was sent or changed. */
  | 'alreadyClosed'
  /** It had failed before; there is nothing to close. */
  | 'alreadyFinal'
  /** The channel says it was paid meanwhile: not cancelled (refund it). */
  | 'paid'
  /** The channel still reports it open (neither closed nor paid). */
  | 'stillOpen';

export interface CancelResult {
  order: Order;
  outcome: CancelOutcome;
  /** True when the order book changed. */
  changed: boolean;
  /** What the channel answered, when asked. */
  remote?: OrderState;
  /** Why the order was closed only in the order book (nothing to close at the channel). */
  localOnly?: string;
  /** A refund the channel made in the same call (Alipay's cancel of a trade found paid). */
  reversal?: Refund;
  notes: string[];
}

/** Cancels (closes) an unpaid collection order. */
export async function cancel(orderNo: string, ctx: Context): Promise<CancelResult> {
  const store = await ctx.store();
  const order = await store.getOrder(orderNo);
  if (!order) {
    throw new PayError('ORDER_NOT_FOUND', `${orderNo} is not in the order book at ${ctx.dbPath}`, {
      hint: 'Check the number with `pay orders list`, or point --db at the right database.',
    });
  }
  if (order.kind !== 'collect') throw invalid(`${orderNo} is a payout; only collection orders can be cancelled`);
  if (order.status === 'closed') return { order, outcome: 'alreadyClosed', changed: false, notes: [`${orderNo} is already closed; nothing was sent and nothing changed.`] };
  if (order.status === 'failed') return { order, outcome: 'alreadyFinal', changed: false, notes: [`${orderNo} failed earlier; there is nothing to close.`] };
  if (order.status === 'succeeded' || order.status === 'refunded') {
    throw invalid(`${orderNo} is ${order.status === 'refunded' ? 'paid and refunded' : 'paid'}; a paid order cannot be cancelled`, {
      hint: order.status === 'succeeded' ? `Give the money back with \`pay refund ${orderNo}\`.` : 'It has been refunded in full already.',
    });
  }

  const ch = await ctx.channel(order.channel);
  const close = ch.adapter.closeCollect?.bind(ch.adapter);
  if (!close) throw invalid(`channel ${ch.module.id} cannot close orders`, { hint: `Let it expire at the channel; \`pay query ${orderNo}\` reports when it has.` });

  let state: OrderState;
  try {
    state = await close(orderRef(order));
  } catch (err) {
    if (isPayError(err) && err.code === 'ORDER_NOT_FOUND' && order.status === 'created') {
      // The create never reached the channel: nothing there to close or to pay.
      state = { status: 'closed', localOnly: `${order.channel} has no such order: the create never reached it` };
    } else if (isDefinitiveRejection(err)) {
      // The channel refused to close it (paid or moved on meanwhile): its real state is the answer.
      ctx.debug(`close refused (${err.providerCode ?? err.code}); asking for the order's state`);
      const ask = ch.adapter.queryCollect?.bind(ch.adapter);
      if (!ask) throw withOrderContext(err, orderNo, 'order', false);
      state = await ask(orderRef(order));
    } else {
      throw withOrderContext(err, orderNo, 'order', false);
    }
  }

  const notes: string[] = [];
  const upd = await store.updateOrder(
    orderNo,
    {
      status: state.status,
      channelTradeNo: state.channelTradeNo,
      paidAt: state.paidAt,
      ...(state.status === 'closed'
        ? { failureCode: state.localOnly ? 'CLOSED_LOCALLY' : 'CANCELLED', failureMessage: state.localOnly ?? 'closed by pay cancel' }
        : { failureCode: state.failure?.code, failureMessage: state.failure?.message }),
    },
    {
      source: 'channel.close',
      detail: { ...(state.providerStatus ? { providerStatus: state.providerStatus } : {}), ...(state.localOnly ? { localOnly: state.localOnly } : {}) },
    },
  );
  if (upd.ignored) notes.push(upd.ignored);
  let reversal: Refund | undefined;
  if (state.reversal && upd.value.status === 'succeeded') {
    // The channel refunded the payment it found in the same call: recorded as a refund.
    const refundNo = generateId('refund');
    await store.createRefund({ refundNo, orderNo, amountMinor: state.reversal.amountMinor, reason: 'reversed by the channel on cancel' }, { source: 'channel.close' });
    reversal = (
      await store.updateRefund(refundNo, { status: 'succeeded', channelRefundNo: state.reversal.channelRefundNo, refundedAt: state.reversal.refundedAt }, { source: 'channel.close' })
    ).value;
    notes.push(`${order.channel} found ${orderNo} paid and refunded it in the same call (refund ${refundNo}).`);
  }
  const after = (await store.getOrder(orderNo))!;
  const outcome: CancelOutcome = after.status === 'closed' ? 'closed' : after.status === 'succeeded' || after.status === 'refunded' ? 'paid' : after.status === 'failed' ? 'alreadyFinal' : 'stillOpen';
  if (outcome === 'paid' && !reversal) notes.push(`${order.channel} reports ${orderNo} paid: it was not cancelled. Give the money back with \`pay refund ${orderNo}\`.`);
  if (outcome === 'stillOpen') notes.push(`${order.channel} still reports ${orderNo} open (${state.providerStatus ?? state.status}); run \`pay cancel ${orderNo}\` again later.`);
  return { order: after, outcome, changed: upd.changed || Boolean(reversal), remote: state, localOnly: outcome === 'closed' ? state.localOnly : undefined, reversal, notes };
}

/** Human and JSON output of cancel. */
export function presentCancel(r: CancelResult): Presentation {
  const blocks: Presentation['blocks'] = [];
  const headline: Record<CancelOutcome, string> = {
    closed: r.localOnly ? `Order ${r.order.orderNo} closed in the order book only.` : `Order ${r.order.orderNo} closed at ${r.order.channel}.`,
    alreadyClosed: `Order ${r.order.orderNo} was already closed; nothing changed.`,
    alreadyFinal: `Order ${r.order.orderNo} has failed; nothing to close.`,
    paid: `Order ${r.order.orderNo} was paid at ${r.order.channel}; it was not cancelled.`,
    stillOpen: `Order ${r.order.orderNo} is still open at ${r.order.channel}.`,
  };
  blocks.push({ kind: 'text', tone: r.outcome === 'closed' ? 'ok' : 'warn', text: headline[r.outcome] });
  blocks.push({ kind: 'fields', fields: orderFields(r.order) });
  if (r.localOnly) blocks.push({ kind: 'text', tone: 'dim', text: `Why: ${r.localOnly}` });
  for (const n of r.notes) blocks.push({ kind: 'text', tone: 'dim', text: n });
  return {
    json: {
      ...orderJson(r.order),
      outcome: r.outcome,
      changed: r.changed,
      ...(r.localOnly ? { localOnly: r.localOnly } : {}),
      ...(r.remote ? { remote: { status: r.remote.status, providerStatus: r.remote.providerStatus } } : {}),
      ...(r.reversal ? { reversal: refundJson(r.reversal) } : {}),
      notes: r.notes,
    },
    blocks,
    exitCode: r.outcome === 'paid' || r.outcome === 'stillOpen' ? 1 : 0,
  };
}

/**
 * `pay capture <order-no> [--amount]`: takes the money of an order that was only authorized
 * (`pay create --capture manual`: Stripe capture_method=manual, PayPal intent AUTHORIZE). Until
 * then the order is `pending` (the channel's status word says it is authorized); a capture moves it
 * to `succeeded`. A partial capture releases the rest at the channel, and the order's amount
 * becomes what was captured (the authorized amount stays in the `order.captured` event).
 *
 * A refused capture (more than authorized, nothing authorized yet) leaves the order as it is: the
 * authorization still stands and can be captured with a corrected amount.
 */
import { invalid, PayError } from '../core/errors.js';
import { formatAmount, parseAmount } from '../core/money.js';
import type { Order } from '../core/order.js';
import type { OrderState } from '../channel/contract.js';
import type { Presentation } from '../output/render.js';
import { money, orderFields, orderJson, statusCell } from '../output/views.js';
import type { Context } from './context.js';
import { applyOrderState, isManualCapture, orderRef, withOrderContext } from './lifecycle.js';

export interface CaptureOptions {
  /** Decimal; default: everything authorized. */
  amount?: string;
}

export interface CaptureResult {
  order: Order;
  /** What the channel said after the capture. */
  remote: OrderState;
  /** Minor units authorized before the capture. */
  authorizedMinor: number;
  /** True when the order was already captured and nothing was sent. */
  existing: boolean;
}

/** Captures an authorized order. */
export async function capture(orderNo: string, opts: CaptureOptions, ctx: Context): Promise<CaptureResult> {
  const store = await ctx.store();
  const order = await store.getOrder(orderNo);
  if (!order) {
    throw new PayError('ORDER_NOT_FOUND', `${orderNo} is not in the order book at ${ctx.dbPath}`, { hint: 'Check the number with `pay orders list`.' });
  }
  if (order.kind !== 'collect') throw invalid(`${orderNo} is a payout; only collect orders are captured`);
  const amountMinor = opts.amount !== undefined ? parseAmount(opts.amount, order.currency, { label: 'capture amount' }) : undefined;
  const ch = await ctx.channel(order.channel);
  const send = ch.adapter.capture?.bind(ch.adapter);
  if (!send) {
    throw invalid(`channel ${order.channel} does not authorize first: its payments are taken when the payer pays, so there is nothing to capture`, {
      hint: 'Manual capture: pay create --channel stripe|paypal --capture manual ...',
    });
  }
  if (!isManualCapture(order)) {
    throw invalid(`${orderNo} was created with automatic capture: its money is taken when the payer pays`, { hint: 'Create with --capture manual to authorize first and capture later.' });
  }
  if (order.status === 'succeeded' || order.status === 'refunded') {
    if (amountMinor !== undefined && amountMinor !== order.amountMinor) {
      throw invalid(`${orderNo} is already captured (${money(order.amountMinor, order.currency)}); an authorization is captured once`);
    }
    // What was authorized is in the capture's event (the order's amount is what was captured).
    const [event] = await store.listEvents({ orderNo, type: 'order.captured', limit: 1 });
    const authorized = event?.data.authorizedMinor;
    const authorizedMinor = typeof authorized === 'number' ? authorized : order.amountMinor;
    return { order, remote: { status: order.status === 'refunded' ? 'succeeded' : order.status, channelTradeNo: order.channelTradeNo }, authorizedMinor, existing: true };
  }
  if (order.status !== 'pending' && order.status !== 'created') {
    throw invalid(`${orderNo} is ${order.status}; only an authorized (pending) order can be captured`);
  }
  if (amountMinor !== undefined && amountMinor > order.amountMinor) {
    throw invalid(`capture of ${formatAmount(amountMinor, order.currency)} ${order.currency} exceeds the ${formatAmount(order.amountMinor, order.currency)} ${order.currency} authorized on ${orderNo}`);
  }
  let state: OrderState;
  try {
    state = await send({ order: orderRef(order), amountMinor });
  } catch (err) {
    // Nothing is marked failed: a refused capture leaves the authorization standing.
    throw withOrderContext(err, orderNo, 'order', false);
  }
  const upd = await applyOrderState(store, orderNo, state, 'channel.capture', state.status === 'succeeded' ? (state.amountMinor ?? amountMinor) : undefined);
  return { order: upd.value, remote: state, authorizedMinor: order.amountMinor, existing: false };
}

/** Human and JSON output of capture. */
export function presentCapture(r: CaptureResult): Presentation {
  const o = r.order;
  const blocks: Presentation['blocks'] = [];
  if (r.existing) blocks.push({ kind: 'text', tone: 'warn', text: `Order ${o.orderNo} was already captured; nothing was sent.` });
  const captured = o.status === 'succeeded' || o.status === 'refunded';
  blocks.push({ kind: 'fields', fields: orderFields(o) });
  blocks.push({
    kind: 'fields',
    title: 'Capture',
    fields: [
      ['authorized', money(r.authorizedMinor, o.currency)],
      ['captured', captured ? money(o.amountMinor, o.currency) : undefined],
      ['released', captured && r.authorizedMinor > o.amountMinor ? money(r.authorizedMinor - o.amountMinor, o.currency) : undefined],
      ['at the channel', statusCell(r.remote.status)],
      ['provider status', r.remote.providerStatus],
    ],
  });
  if (!captured) blocks.push({ kind: 'text', tone: 'dim', text: `Next: pay query ${o.orderNo}` });
  return {
    json: {
      ...orderJson(o),
      existing: r.existing,
      capture: {
        authorized: formatAmount(r.authorizedMinor, o.currency),
        authorizedMinor: r.authorizedMinor,
        ...(captured ? { captured: formatAmount(o.amountMinor, o.currency), capturedMinor: o.amountMinor, releasedMinor: r.authorizedMinor - o.amountMinor } : {}),
      },
      remote: { status: r.remote.status, providerStatus: r.remote.providerStatus, channelTradeNo: r.remote.channelTradeNo },
    },
    blocks,
    exitCode: captured ? 0 : 1,
  };
}

/**
 * `pay query <order-no>`: asks the channel for the order's state (and its open refunds'), moves
 * the local order accordingly, and shows both. `--local` reads the order book only. A refund
 * number is accepted too and queries that refund.
 */
import { PayError } from '../core/errors.js';
import type { Order, Refund } from '../core/order.js';
import type { OrderState } from '../channel/contract.js';
import type { Presentation } from '../output/render.js';
import { money, orderFields, orderJson, refundJson, refundsTable, statusCell } from '../output/views.js';
import type { Context } from './context.js';
import { applyOrderState, applyRefundState, isManualCapture, orderRef, refundRef } from './lifecycle.js';

export interface QueryOptions {
  local?: boolean;
}

export interface QueryResult {
  order: Order;
  refunds: Refund[];
  /** What the channel said, when asked. */
  remote?: OrderState;
  /** Set when the channel has never heard of the order. */
  notAtChannel?: string;
  /** Refunds still `created` that the channel has never heard of: each can be sent again. */
  refundsNotAtChannel: string[];
  /** Reports the state machine did not apply. */
  ignored: string[];
  /** Differences between the channel's record and ours. */
  warnings: string[];
}

/** Queries an order (or a refund by its number). */
export async function query(orderNo: string, opts: QueryOptions, ctx: Context): Promise<QueryResult> {
  // A query changes only orders already in the book (--local changes nothing): no book, no order.
  const store = await ctx.store({ readOnly: opts.local, mustExist: true });
  let order = await store.getOrder(orderNo);
  let onlyRefund: string | undefined;
  if (!order) {
    const refund = await store.getRefund(orderNo);
    if (refund) {
      order = await store.getOrder(refund.orderNo);
      onlyRefund = refund.refundNo;
    }
  }
  if (!order) {
    throw new PayError('ORDER_NOT_FOUND', `${orderNo} is not in the order book at ${ctx.dbPath}`, {
      hint: 'Check the number with `pay orders list`, or point --db at the right database.',
    });
  }
  const result: QueryResult = { order, refunds: await store.listRefunds(order.orderNo), ignored: [], warnings: [], refundsNotAtChannel: [] };
  if (opts.local) return result;

  const ch = await ctx.channel(order.channel);
  const { adapter } = ch;
  if (!onlyRefund) {
    const ask = order.kind === 'payout' ? adapter.queryPayout?.bind(adapter) : adapter.queryCollect?.bind(adapter);
    if (!ask) throw new PayError('INVALID_REQUEST', `channel ${order.channel} cannot query ${order.kind === 'payout' ? 'payouts' : 'orders'}`);
    try {
      const state = await ask(orderRef(order));
      result.remote = state;
      // A capture whose answer was lost: the channel's captured amount is the order's.
      const upd = await applyOrderState(store, order.orderNo, state, 'channel.query', isManualCapture(order) && state.status === 'succeeded' ? state.amountMinor : undefined);
      result.order = upd.value;
      if (upd.ignored) result.ignored.push(upd.ignored);
      if (state.amountMinor !== undefined && (state.amountMinor !== result.order.amountMinor || (state.currency && state.currency !== order.currency))) {
        result.warnings.push(
          `the channel holds ${money(state.amountMinor, state.currency ?? order.currency)} for this order; the order book says ${money(result.order.amountMinor, order.currency)}`,
        );
      }
    } catch (err) {
      // A create whose answer never came back and that the channel does not know: say so
      // instead of failing; the order stays `created`, so the create can be sent again.
      if (err instanceof PayError && err.code === 'ORDER_NOT_FOUND' && order.status === 'created') {
        result.notAtChannel = `${order.channel} has no order ${order.orderNo}: the create never reached it, or nothing payable came of it. Re-run \`pay ${order.kind === 'payout' ? 'payout' : 'create'}\` with --order-no ${order.orderNo} to send it again (the same number: never a second charge).`;
      } else throw err;
    }
  }
  // Refunds still open are asked about too (or only the one named).
  for (const r of result.refunds) {
    if (onlyRefund ? r.refundNo !== onlyRefund : r.status !== 'created' && r.status !== 'pending') continue;
    if (!adapter.queryRefund) break;
    let state;
    try {
      state = await adapter.queryRefund(refundRef(r, result.order));
    } catch (err) {
      // A refund whose request never got an answer and that the channel does not know: it stays
      // `created` (its amount still reserved), so `pay refund --refund-no` can send it again.
      if (err instanceof PayError && err.code === 'ORDER_NOT_FOUND' && r.status === 'created') {
        result.refundsNotAtChannel.push(r.refundNo);
        continue;
      }
      throw err;
    }
    const upd = await applyRefundState(store, r.refundNo, state, 'channel.query');
    if (upd.ignored) result.ignored.push(upd.ignored);
  }
  result.refunds = await store.listRefunds(order.orderNo);
  result.order = (await store.getOrder(order.orderNo))!;
  return result;
}

/** Human and JSON output of query. */
export function presentQuery(r: QueryResult): Presentation {
  const blocks: Presentation['blocks'] = [{ kind: 'fields', fields: orderFields(r.order) }];
  if (r.remote) {
    blocks.push({
      kind: 'fields',
      title: 'At the channel',
      fields: [
        ['status', statusCell(r.remote.status)],
        ['provider status', r.remote.providerStatus],
      ],
    });
  }
  if (r.refunds.length) {
    blocks.push(refundsTable(r.refunds));
  }
  for (const w of r.warnings) blocks.push({ kind: 'text', tone: 'warn', text: `Warning: ${w}` });
  for (const i of r.ignored) blocks.push({ kind: 'text', tone: 'dim', text: `Note: ${i}` });
  if (r.notAtChannel) blocks.push({ kind: 'text', tone: 'warn', text: r.notAtChannel });
  for (const no of r.refundsNotAtChannel) {
    blocks.push({
      kind: 'text',
      tone: 'warn',
      text: `The channel has no refund ${no}: its request never reached it. Re-run \`pay refund ${r.order.orderNo} --refund-no ${no}\` to send it again (the same number: never a second refund).`,
    });
  }
  return {
    json: {
      ...orderJson(r.order),
      refunds: r.refunds.map(refundJson),
      ...(r.remote ? { remote: { status: r.remote.status, providerStatus: r.remote.providerStatus, channelTradeNo: r.remote.channelTradeNo } } : {}),
      ...(r.notAtChannel ? { notAtChannel: true } : {}),
      ...(r.refundsNotAtChannel.length ? { refundsNotAtChannel: r.refundsNotAtChannel } : {}),
      warnings: r.warnings,
    },
    blocks,
    exitCode: r.order.status === 'failed' || r.order.status === 'closed' ? 1 : 0,
  };
}

/**
 * `pay payout`: pays out to an account. Written before the channel call, like `pay create`; an
 * existing `--order-no` returns the existing payout rather than paying twice.
 */
import { invalid } from '../core/errors.js';
import { generateId, validateOrderNo } from '../core/ids.js';
import type { Order } from '../core/order.js';
import type { Presentation } from '../output/render.js';
import { money, orderFields, orderJson } from '../output/views.js';
import type { Context } from './context.js';
import { amountAndCurrency } from './create.js';
import { applyOrderState, isDefinitiveRejection, withOrderContext } from './lifecycle.js';
import { required } from './prompt.js';

export interface PayoutOptions {
  channel?: string;
  amount?: string;
  currency?: string;
  /** Destination account. */
  to?: string;
  /** Account holder's name. */
  name?: string;
  orderNo?: string;
  remark?: string;
}

export interface PayoutResult {
  order: Order;
  existing: boolean;
}

/** Creates a payout. */
export async function payout(opts: PayoutOptions, ctx: Context): Promise<PayoutResult> {
  const channelRef = await required(ctx, opts.channel, { flag: '--channel', message: 'Channel:', choices: ['mock', 'alipay', 'wechatpay', 'stripe', 'paypal', 'unionpay'] });
  const { amountMinor, currency } = await amountAndCurrency(ctx, opts);
  const to = (await required(ctx, opts.to, { flag: '--to', message: 'Destination account (login id, openid, card, email...):' })).trim();
  if (to === '' || to.length > 128) throw invalid('--to must be an account identifier of 1 to 128 characters');
  const orderNo = opts.orderNo ? validateOrderNo(opts.orderNo, 'payout number') : generateId('payout');

  const ch = await ctx.channel(channelRef);
  const send = ch.adapter.payout?.bind(ch.adapter);
  if (!send) throw invalid(`channel ${ch.module.id} cannot pay out`);

  const store = await ctx.store();
  const { order, created } = await store.createOrder({
    orderNo,
    kind: 'payout',
    channel: ch.module.id,
    amountMinor,
    currency,
    payee: to,
    payeeName: opts.name,
    subject: opts.remark,
  });
  if (!created) {
    if (order.kind !== 'payout' || order.channel !== ch.module.id || order.amountMinor !== amountMinor || order.currency !== currency || order.payee !== to) {
      throw invalid(`number ${orderNo} is already used by a different order (${order.kind}, ${order.channel}, ${money(order.amountMinor, order.currency)})`, {
        hint: 'Leave out --order-no to get a fresh number.',
      });
    }
    if (order.status !== 'created') return { order, existing: true };
  }
  try {
    const state = await send({ orderNo, amountMinor, currency, payee: to, payeeName: opts.name, remark: opts.remark });
    const upd = await applyOrderState(store, orderNo, state, 'channel.payout');
    return { order: upd.value, existing: !created };
  } catch (err) {
    const definitive = isDefinitiveRejection(err);
    if (definitive) {
      await store.updateOrder(orderNo, { status: 'failed', failureCode: err.providerCode ?? err.code, failureMessage: err.message }, { source: 'channel.payout' });
    }
    throw withOrderContext(err, orderNo, 'payout', definitive);
  }
}

/** Human and JSON output of payout. */
export function presentPayout(r: PayoutResult): Presentation {
  const blocks: Presentation['blocks'] = [];
  if (r.existing) blocks.push({ kind: 'text', tone: 'warn', text: `Payout ${r.order.orderNo} already exists; nothing new was paid.` });
  blocks.push({ kind: 'fields', fields: orderFields(r.order) });
  if (r.order.status === 'pending' || r.order.status === 'created') blocks.push({ kind: 'text', tone: 'dim', text: `Next: pay query ${r.order.orderNo}` });
  return { json: { ...orderJson(r.order), existing: r.existing }, blocks, exitCode: r.order.status === 'failed' ? 1 : 0 };
}

/**
 * `pay create`: a collection order. The order row is written before the channel is called, so a
 * crash or timeout leaves an order that `pay query` resolves; an existing `--order-no` returns the
 * existing order instead of charging twice (an order whose create never got an answer is retried
 * with the same number, which channels treat as the same order).
 */
import { invalid } from '../core/errors.js';
import { generateId, validateOrderNo } from '../core/ids.js';
import { normalizeCurrency, parseAmount } from '../core/money.js';
import type { Order } from '../core/order.js';
import type { CollectPayload } from '../channel/contract.js';
import type { Presentation } from '../output/render.js';
import { money, orderFields, orderJson } from '../output/views.js';
import type { Context } from './context.js';
import { isDefinitiveRejection, withOrderContext } from './lifecycle.js';
import { required } from './prompt.js';

export interface CreateOptions {
  channel?: string;
  amount?: string;
  currency?: string;
  subject?: string;
  orderNo?: string;
  method?: string;
  notifyUrl?: string;
  returnUrl?: string;
  /** `key=value` pairs passed to the channel. */
  extra?: string[];
  /** `automatic` (default) or `manual`: authorize now, `pay capture` later. */
  capture?: string;
  /** `--channel auto`: seed of the weighted draw (the same seed picks the same target). */
  seed?: string;
}

export interface CreateResult {
  order: Order;
  /** True when the order number existed and no new charge was made. */
  existing: boolean;
  /** What the payer needs (QR payload, redirect URL...). */
  payload?: CollectPayload;
  /** The QR payload drawn as a terminal QR code (human output on a TTY only). */
  qr?: string;
  /** `--channel auto`: the rule and the attempts that placed the order. */
  route?: import('./create-routed.js').RouteSummary;
}

/** Adds a drawn QR code when the payer gets one and a person is looking at a terminal. */
async function withQr(ctx: Context, r: CreateResult): Promise<CreateResult> {
  if (!r.payload?.qrCode) return r;
  const { renderQr, wantsQr } = await import('../output/qr.js');
  return wantsQr(ctx) ? { ...r, qr: await renderQr(r.payload.qrCode, { color: ctx.color }) } : r;
}

/** Parses `key=value` flags. */
export function parseExtra(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw invalid(`--extra "${p}" is not key=value`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

/** Reads amount and currency from options (asking on a TTY), exactly. */
export async function amountAndCurrency(ctx: Context, opts: { amount?: string; currency?: string }): Promise<{ amountMinor: number; currency: string }> {
  const currency = normalizeCurrency(
    await required(ctx, opts.currency, { flag: '--currency', message: 'Currency (ISO 4217, e.g. CNY):', validate: (v) => tryOr(() => normalizeCurrency(v)) }),
  );
  const amount = await required(ctx, opts.amount, {
    flag: '--amount',
    message: `Amount in ${currency} (a decimal, e.g. 12.34):`,
    validate: (v) => tryOr(() => parseAmount(v, currency)),
  });
  return { amountMinor: parseAmount(amount, currency), currency };
}

function tryOr(fn: () => unknown): string | true {
  try {
    fn();
    return true;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Creates a collection order. */
export async function create(opts: CreateOptions, ctx: Context): Promise<CreateResult> {
  const channelRef = await required(ctx, opts.channel, { flag: '--channel', message: 'Channel:', choices: ['mock', 'alipay', 'wechatpay', 'stripe', 'paypal', 'unionpay'] });
  const { amountMinor, currency } = await amountAndCurrency(ctx, opts);
  const orderNo = opts.orderNo ? validateOrderNo(opts.orderNo) : generateId('payment');
  const extra = parseExtra(opts.extra);
  if (channelRef === 'auto') return withQr(ctx, await createAuto(opts, ctx, { amountMinor, currency, orderNo, extra }));

  // Config is validated (inside channel()) before anything is written or sent.
  const ch = await ctx.channel(channelRef);
  const collect = ch.adapter.collect?.bind(ch.adapter);
  if (!collect) throw invalid(`channel ${ch.module.id} cannot collect payments`);
  const methods = ch.module.description.methods;
  if (opts.method && methods && !methods.includes(opts.method)) {
    throw invalid(`channel ${ch.module.id} has no method "${opts.method}"`, { hint: `Methods: ${methods.join(', ')}.` });
  }
  const method = opts.method ?? methods?.[0];
  if (opts.capture !== undefined && opts.capture !== 'automatic' && opts.capture !== 'manual') {
    throw invalid(`--capture must be automatic or manual, not "${opts.capture}"`);
  }
  const manual = opts.capture === 'manual';
  if (manual && !ch.adapter.capture) {
    throw invalid(`channel ${ch.module.id} does not authorize first, so --capture manual is not possible there`, { hint: 'Manual capture works with stripe and paypal.' });
  }
  const subject = opts.subject ?? `Order ${orderNo}`;

  const store = await ctx.store();
  const { order, created } = await store.createOrder({
    orderNo,
    kind: 'collect',
    channel: ch.module.id,
    amountMinor,
    currency,
    subject,
    method,
  });
  // Written before the channel is called, so an order whose create got no answer keeps it too.
  if (created && manual) await store.updateOrder(orderNo, { payload: { capture: 'manual' } }, { source: 'cli' });
  if (!created) {
    if (order.kind !== 'collect' || order.channel !== ch.module.id || order.amountMinor !== amountMinor || order.currency !== currency) {
      throw invalid(`order number ${orderNo} is already used by a different order (${order.kind}, ${order.channel}, ${money(order.amountMinor, order.currency)})`, {
        hint: 'Leave out --order-no to get a fresh number.',
      });
    }
    // Only an order whose create never got an answer is sent again (same number: no double charge):
    // one still `created`, or one a query found pending at the channel while what the payer needs
    // (QR, link, client secret) came only with the lost answer.
    const answerLost = order.status === 'created' || (order.status === 'pending' && order.payload === undefined && order.source === 'cli');
    if (!answerLost) return withQr(ctx, { order, existing: true, payload: order.payload as CollectPayload | undefined });
    ctx.debug(`order ${orderNo} exists without the channel's answer to its create; sending the create again with the same number`);
  }

  try {
    const result = await collect({
      orderNo,
      amountMinor,
      currency,
      subject,
      method,
      notifyUrl: opts.notifyUrl,
      returnUrl: opts.returnUrl,
      extra,
      ...(manual ? { capture: 'manual' as const } : {}),
    });
    const updated = await store.updateOrder(
      orderNo,
      {
        status: result.status,
        channelTradeNo: result.channelTradeNo,
        // `capture: manual` marks the order for `pay capture`.
        payload: manual ? { ...(result.payload ?? {}), capture: 'manual' } : result.payload,
        paidAt: result.paidAt,
        failureCode: result.failure?.code,
        failureMessage: result.failure?.message,
      },
      { source: 'channel.collect' },
    );
    return withQr(ctx, { order: updated.value, existing: !created, payload: result.payload });
  } catch (err) {
    const definitive = isDefinitiveRejection(err);
    if (definitive) {
      await store.updateOrder(orderNo, { status: 'failed', failureCode: err.providerCode ?? err.code, failureMessage: err.message }, { source: 'channel.collect' });
    }
    throw withOrderContext(err, orderNo, 'order', definitive);
  }
}

/** `--channel auto`: routed by the config's rules (an order number already in the book stays on its channel). */
async function createAuto(opts: CreateOptions, ctx: Context, p: { amountMinor: number; currency: string; orderNo: string; extra?: Record<string, string> }): Promise<CreateResult> {
  const existing = opts.orderNo ? await (await ctx.store()).getOrder(p.orderNo) : undefined;
  if (existing) return create({ ...opts, channel: existing.channel }, ctx);
  let random = Math.random;
  if (opts.seed !== undefined) {
    const seed = Number(opts.seed);
    if (!Number.isInteger(seed)) throw invalid(`--seed must be a whole number (got "${opts.seed}")`);
    random = (await import('../core/routing.js')).seededRandom(seed);
  }
  const { createRouted } = await import('./create-routed.js');
  const r = await createRouted(
    { ...p, subject: opts.subject ?? `Order ${p.orderNo}`, method: opts.method, notifyUrl: opts.notifyUrl, returnUrl: opts.returnUrl, random },
    ctx,
  );
  return { order: r.order, existing: false, payload: r.result.payload, route: r.route };
}

/** Human and JSON output of create. */
export function presentCreate(r: CreateResult): Presentation {
  const blocks: Presentation['blocks'] = [];
  if (r.existing) blocks.push({ kind: 'text', tone: 'warn', text: `Order ${r.order.orderNo} already exists; no new charge was made.` });
  blocks.push({ kind: 'fields', fields: orderFields(r.order) });
  const p = r.payload;
  // What the payer needs, whatever shape the channel gave it (the whole payload is in --json).
  const forPayer: [string, string][] = [];
  if (p?.qrCode) forPayer.push(['QR payload', p.qrCode]);
  if (p?.redirectUrl) forPayer.push(['pay at', p.redirectUrl]);
  if (p?.clientSecret) forPayer.push(['client secret', p.clientSecret]);
  if (typeof p?.tn === 'string') forPayer.push(['app tn', p.tn]);
  if (p?.form && !p.redirectUrl) forPayer.push(['form', 'an auto-submitting HTML form: payload.form in --json']);
  if (forPayer.length) blocks.push({ kind: 'fields', title: 'For the payer', fields: forPayer });
  if (r.qr) blocks.push({ kind: 'raw', text: r.qr });
  if (r.route) {
    const tried = r.route.attempts.map((a) => (a.outcome === 'accepted' ? a.channel : `${a.channel} (${a.errorCode}${a.errorClass ? `, ${a.errorClass}` : ''})`)).join(' -> ');
    blocks.push({ kind: 'text', tone: 'dim', text: `Routed by rule ${r.route.rule}: ${tried}${r.route.skipped.length ? `; skipped ${r.route.skipped.map((s) => `${s.channel} (${s.reason})`).join(', ')}` : ''}` });
  }
  if (r.order.status === 'pending' || r.order.status === 'created') {
    blocks.push({ kind: 'text', tone: 'dim', text: `Next: pay query ${r.order.orderNo}` });
  }
  return {
    json: { ...orderJson(r.order), existing: r.existing, ...(r.route ? { route: r.route } : {}) },
    blocks,
    exitCode: r.order.status === 'failed' || r.order.status === 'closed' ? 1 : 0,
  };
}

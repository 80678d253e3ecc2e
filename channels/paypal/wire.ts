/**
 * PayPal wire shapes: the PayPal-Request-Id of each call, the Orders v2 create body, and PayPal's
 * answers (orders, refunds, payout batches, money objects) read into pay's states. Pure: the
 * adapter calls; this reads.
 */
import type { OrderState, RefundState } from '../../src/channel/contract.js';
import { isoUtc } from '../../src/core/time.js';
import { captureStatus, payoutItemStatus, refundStatus } from './callback.js';
import { fromPaypalValue } from './currency.js';

export type Obj = Record<string, unknown>;

/** PayPal-Request-Id values: a pure function of our numbers, so a retry repeats the same request. */
export const requestIds = {
  collect: (orderNo: string) => `pay-collect-${orderNo}`,
  capture: (orderNo: string) => `pay-capture-${orderNo}`,
  authorize: (orderNo: string) => `pay-authorize-${orderNo}`,
  /** Capture of an authorization: the amount is part of it, so a corrected amount is a new request. */
  captureAuthorization: (orderNo: string, amountMinor?: number) => `pay-capture-auth-${orderNo}-${amountMinor ?? 'all'}`,
  refund: (refundNo: string) => `pay-refund-${refundNo}`,
  payout: (orderNo: string) => `pay-payout-${orderNo}`,
  void: (orderNo: string) => `pay-void-${orderNo}`,
};

/** Readers of untyped JSON: a non-empty string, an object, the objects of an array. */
export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
export const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
export const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v.filter((x) => x && typeof x === 'object') as Obj[]) : []);

/** The href of the first HATEOAS link with one of these rels. */
export function linkOf(o: Obj, ...rels: string[]): string | undefined {
  return str(arr(o.links).find((l) => rels.includes(String(l.rel)))?.href);
}

/** The Orders v2 create body for an order (the description is added by collect). */
export function createBody(orderNo: string, currency: string, value: string, intent: 'CAPTURE' | 'AUTHORIZE' = 'CAPTURE'): Obj {
  return {
    intent,
    purchase_units: [
      {
        reference_id: orderNo,
        // invoice_id is unique per merchant at PayPal, which guards against a second payment for one order.
        invoice_id: orderNo,
        custom_id: orderNo,
        amount: { currency_code: currency, value },
      },
    ],
  };
}

/** The recipient type PayPal expects for a payee: an email, a phone number, or a PayPal id. */
export function recipientType(payee: string): 'EMAIL' | 'PHONE' | 'PAYPAL_ID' {
  if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(payee)) return 'EMAIL';
  if (/^\+?\d{6,15}$/.test(payee)) return 'PHONE';
  return 'PAYPAL_ID';
}

/** A PayPal money object (`currency_code` or `currency`, decimal `value`) in minor units. */
export function money(amount: unknown): { amountMinor?: number; currency?: string } {
  const a = obj(amount);
  const currency = str(a?.currency_code) ?? str(a?.currency);
  const value = str(a?.value);
  if (!currency || !value) return {};
  return { currency, amountMinor: fromPaypalValue(value, currency) };
}

/** The payments of an order's (only) purchase unit of one kind: captures, authorizations, refunds. */
export function paymentsOf(order: Obj, kind: 'captures' | 'authorizations' | 'refunds'): Obj[] {
  const unit = arr(order.purchase_units)[0] ?? {};
  return arr(obj(unit.payments)?.[kind]);
}

/**
 * An Orders v2 order as pay's state: intent CAPTURE by its last capture, intent AUTHORIZE by its
 * authorization and the captures of it. `now` dates a payment whose answer carries no time.
 */
export function orderStateOf(order: Obj, now: () => number): OrderState {
  const unit = arr(order.purchase_units)[0] ?? {};
  const captures = paymentsOf(order, 'captures');
  const capture = captures.at(-1);
  const authorization = paymentsOf(order, 'authorizations').at(-1);
  const status = String(order.status ?? '');
  const state: OrderState = { status: 'pending', channelTradeNo: str(order.id), providerStatus: capture ? `${status}/${String(capture.status)}` : status };
  Object.assign(state, money(unit.amount));
  if (authorization) {
    // Intent AUTHORIZE: the order completes when authorized; the money moves with the
    // authorization's capture. Authorized, not captured: pending, the authorization kept.
    state.payload = { paypalAuthorizationId: str(authorization.id) };
    if (!capture) state.providerStatus = `${status}/AUTHORIZATION_${String(authorization.status)}`;
    if (authorization.status === 'VOIDED' || authorization.status === 'EXPIRED') state.status = 'closed';
    if (authorization.status === 'DENIED') {
      state.status = 'failed';
      state.failure = { code: 'DECLINED', message: 'PayPal denied the authorization', providerCode: 'DENIED' };
    }
    const done = captures.filter((c) => c.status === 'COMPLETED' || c.status === 'PARTIALLY_REFUNDED' || c.status === 'REFUNDED');
    if (done.length) {
      const currency = money(unit.amount).currency;
      if (currency) state.amountMinor = done.reduce((sum, c) => sum + (money(c.amount).amountMinor ?? 0), 0);
      state.status = 'succeeded';
      state.paidAt = isoUtc(Date.parse(str(done[0].create_time) ?? '') || now());
    }
    return state;
  }
  if (status === 'VOIDED') state.status = 'closed';
  else if (status === 'COMPLETED' && capture) {
    state.status = captureStatus(capture.status);
    if (state.status === 'succeeded') state.paidAt = isoUtc(Date.parse(str(capture.create_time) ?? '') || now());
    if (state.status === 'failed') {
      const reason = str(obj(capture.status_details)?.reason);
      state.failure = { code: 'DECLINED', message: `PayPal declined the capture${reason ? ` (${reason})` : ''}`, providerCode: reason ?? String(capture.status) };
    }
  }
  return state;
}

/** A refund (of a capture) as pay's refund state. */
export function refundStateOf(r: Obj, now: () => number): RefundState {
  const status = refundStatus(r.status);
  const state: RefundState = { status, channelRefundNo: str(r.id), providerStatus: str(r.status) };
  if (status === 'succeeded') state.refundedAt = isoUtc(Date.parse(str(r.update_time) ?? str(r.create_time) ?? '') || now());
  if (status === 'failed') {
    const reason = str(obj(r.status_details)?.reason);
    state.failure = { code: 'REFUND_FAILED', message: `PayPal could not refund (${reason ?? String(r.status)})`, providerCode: reason ?? str(r.status) };
  }
  return state;
}

/** A payout batch of one item as pay's state. */
export function payoutStateOf(batch: Obj, now: () => number): OrderState {
  const header = obj(batch.batch_header) ?? {};
  const items = arr(batch.items);
  const item = items[0];
  const batchStatus = String(header.batch_status ?? '');
  const state: OrderState = { status: 'pending', channelTradeNo: str(header.payout_batch_id), providerStatus: item ? `${batchStatus}/${String(item.transaction_status)}` : batchStatus };
  if (item) {
    state.status = payoutItemStatus(item.transaction_status);
    Object.assign(state, money(obj(item.payout_item)?.amount));
    if (state.status === 'succeeded') state.paidAt = isoUtc(Date.parse(str(item.time_processed) ?? '') || now());
    if (state.status === 'failed') {
      const e = obj(item.errors);
      state.failure = { code: 'PAYOUT_FAILED', message: str(e?.message) ?? `the payout item is ${String(item.transaction_status)}`, providerCode: str(e?.name) ?? String(item.transaction_status) };
    }
  } else if (batchStatus === 'DENIED' || batchStatus === 'CANCELED') {
    state.status = 'failed';
    state.failure = { code: 'PAYOUT_FAILED', message: `PayPal ${batchStatus.toLowerCase()} the payout batch`, providerCode: batchStatus };
  }
  return state;
}

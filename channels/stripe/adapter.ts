/**
 * The Stripe adapter: PaymentIntents for collection, Refunds, Payouts, the Balance, and the day's
 * balance transactions as the bill, over the shared HTTP client.
 *
 * Identity: our order number travels as `metadata[order_no]` (Stripe copies a PaymentIntent's
 * metadata onto its charge when it is confirmed, so it reaches the balance transactions too) and
 * every POST carries an Idempotency-Key derived from our order/refund number, so a create retried
 * after a timeout is the same request and can never charge twice.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  BalanceEntry,
  BillRow,
  BillSource,
  CallbackVerdict,
  CaptureRequest,
  ChannelAdapter,
  ChannelDeps,
  CheckResult,
  CollectRequest,
  CollectResult,
  DownloadedBill,
  OrderRef,
  OrderState,
  PayoutRequest,
  RawRequest,
  ReadBillOptions,
  RefundRef,
  RefundRequest,
  RefundState,
  VerifyOptions,
} from '../../src/channel/contract.js';
import { invalid, isPayError, PayError } from '../../src/core/errors.js';
import { businessDayRange, isoUtc, parseDate } from '../../src/core/time.js';
import { FORMAT_BALANCE_TRANSACTIONS, FORMAT_ITEMIZED, ITEMIZED_COLUMNS, readStripeBill, writeBalanceTransactions } from './bill.js';
import { paymentIntentStatus, payoutStatus, refundStatus, stripeCallbacks } from './callback.js';
import { StripeClient } from './client.js';
import { usesAllowedTypes, type StripeConfig } from './config.js';
import { fromStripeAmount, toStripeAmount } from './currency.js';
import type { FormValue } from './form.js';

type Obj = Record<string, unknown>;

/** `--extra` keys the Stripe channel understands on collect. */
export const COLLECT_EXTRAS = ['test_card', 'payment_method', 'customer', 'receipt_email', 'statement_descriptor_suffix'] as const;

/** Idempotency keys: a pure function of our numbers, so a retry repeats the same request. */
export const idempotencyKeys = {
  collect: (orderNo: string) => `pay-collect-${orderNo}`,
  close: (orderNo: string) => `pay-close-${orderNo}`,
  capture: (orderNo: string, amountMinor?: number) => `pay-capture-${orderNo}-${amountMinor ?? 'all'}`,
  refund: (refundNo: string) => `pay-refund-${refundNo}`,
  payout: (orderNo: string) => `pay-payout-${orderNo}`,
};

/**
 * The test payment method for `--extra test_card=<name>`: `visa` -> `pm_card_visa`,
 * `chargeDeclined` -> `pm_card_chargeDeclined`; a full `pm_...` id is used as is.
 */
export function testPaymentMethod(name: string): string {
  const n = name.trim();
  if (/^pm_[A-Za-z0-9_]+$/.test(n)) return n;
  if (!/^[A-Za-z0-9_]+$/.test(n)) throw invalid(`--extra test_card="${n.slice(0, 40)}" is not a test card name`, { hint: 'Use e.g. test_card=visa, test_card=mastercard or test_card=chargeDeclined.' });
  return `pm_card_${n}`;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function meta(o: Obj, key: string): string | undefined {
  const m = o.metadata;
  return m && typeof m === 'object' ? str((m as Obj)[key]) : undefined;
}

/** Escapes a value for Stripe's search query language (single-quoted string). */
function searchLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The Stripe adapter. */
export class StripeAdapter implements ChannelAdapter {
  readonly client: StripeClient;

  constructor(
    private readonly config: StripeConfig,
    private readonly deps: ChannelDeps,
  ) {
    this.client = new StripeClient(config, { http: () => deps.http(), record: (e) => deps.record(e) });
  }

  private orderStateOf(pi: Obj): OrderState {
    const status = paymentIntentStatus(pi);
    const currency = str(pi.currency)?.toUpperCase();
    const state: OrderState = { status, channelTradeNo: str(pi.id), providerStatus: str(pi.status) };
    if (currency && typeof pi.amount === 'number') {
      state.currency = currency;
      // A (partially) captured intent holds what it received; the rest was released.
      const held = status === 'succeeded' && typeof pi.amount_received === 'number' && pi.amount_received > 0 ? pi.amount_received : pi.amount;
      state.amountMinor = fromStripeAmount(held, currency);
    }
    if (status === 'succeeded') {
      const charge = pi.latest_charge;
      const created = charge && typeof charge === 'object' ? (charge as Obj).created : undefined;
      state.paidAt = isoUtc(typeof created === 'number' ? created * 1000 : this.deps.clock());
    }
    if (status === 'failed') {
      const e = (pi.last_payment_error ?? {}) as Obj;
      state.failure = {
        code: 'DECLINED',
        message: `${str(e.message) ?? 'the payment was declined'}${str(e.decline_code) ? ` (${String(e.decline_code)})` : ''}`,
        providerCode: str(e.code) ?? 'card_declined',
      };
    }
    return state;
  }

  /** Finds the PaymentIntent of an order: by id when we have it, else by metadata search. */
  private async paymentIntent(ref: { orderNo: string; channelTradeNo?: string }, operation: string): Promise<Obj> {
    if (ref.channelTradeNo?.startsWith('pi_')) {
      return this.client.call({ operation, method: 'GET', path: `/v1/payment_intents/${encodeURIComponent(ref.channelTradeNo)}`, params: { expand: ['latest_charge'] }, orderNo: ref.orderNo });
    }
    // The create's answer never arrived: look the intent up by our order number.
    const found = await this.client.call<{ data: Obj[] }>({
      operation,
      method: 'GET',
      path: '/v1/payment_intents/search',
      params: { query: `metadata['order_no']:${searchLiteral(ref.orderNo)}`, limit: 10, expand: ['data.latest_charge'] },
      orderNo: ref.orderNo,
    });
    const pi = Array.isArray(found.data) ? found.data[0] : undefined;
    if (!pi) {
      throw new PayError('ORDER_NOT_FOUND', `Stripe has no PaymentIntent for order ${ref.orderNo}`, {
        channel: 'stripe',
        providerCode: 'resource_missing',
        hint: 'The create never reached Stripe; creating again with the same order number is safe (same idempotency key).',
      });
    }
    return pi;
  }

  async collect(req: CollectRequest): Promise<CollectResult> {
    const extra = req.extra ?? {};
    const unknown = Object.keys(extra).filter((k) => !(COLLECT_EXTRAS as readonly string[]).includes(k));
    if (unknown.length) throw invalid(`the Stripe channel does not know --extra ${unknown.join(', ')}`, { hint: `Stripe extras: ${COLLECT_EXTRAS.join(', ')}.` });
    const method = req.method ?? 'card';
    const paymentMethod = extra.payment_method ?? (extra.test_card ? testPaymentMethod(extra.test_card) : undefined);
    const metadata: Record<string, FormValue> = { order_no: req.orderNo };
    // Stripe sends webhooks to the endpoints configured on the account, never per payment.
    if (req.notifyUrl) this.deps.debug(`stripe: --notify-url is not sent: Stripe delivers events to the account's webhook endpoints (pay sandbox: --webhook-url)`);
    const params: Record<string, FormValue> = {
      amount: toStripeAmount(req.amountMinor, req.currency),
      currency: req.currency.toLowerCase(),
      // An empty string is Stripe's parameter_invalid_empty: leave it out.
      description: req.subject ? req.subject.slice(0, 1000) : undefined,
      metadata,
      expand: ['latest_charge'],
    };
    if (method === 'automatic') params.automatic_payment_methods = { enabled: true };
    // API versions from 2026-09-30 (endive) replaced payment_method_types with allowed_payment_method_types.
    else if (usesAllowedTypes(this.config.apiVersion)) params.allowed_payment_method_types = [method];
    else params.payment_method_types = [method];
    if (extra.customer) params.customer = extra.customer;
    if (extra.receipt_email) params.receipt_email = extra.receipt_email;
    if (extra.statement_descriptor_suffix) params.statement_descriptor_suffix = extra.statement_descriptor_suffix;
    // Authorize now, capture later (`pay capture`).
    if (req.capture === 'manual') params.capture_method = 'manual';
    if (paymentMethod) {
      // Server-side confirmation with a test payment method settles the intent in one call.
      params.payment_method = paymentMethod;
      params.confirm = true;
      if (method === 'automatic') params.return_url = req.returnUrl ?? 'https://example.invalid/pay-return';
    }
    let pi: Obj;
    try {
      pi = await this.client.call({ operation: 'collect', method: 'POST', path: '/v1/payment_intents', params, idempotencyKey: idempotencyKeys.collect(req.orderNo), orderNo: req.orderNo });
    } catch (err) {
      // A declined card is Stripe's final "no" for this attempt: a failed payment, not an error.
      if (isPayError(err) && err.details?.stripeType === 'card_error') {
        const declined = err.details.paymentIntent as Obj | undefined;
        return {
          status: 'failed',
          channelTradeNo: declined ? str(declined.id) : undefined,
          failure: {
            code: 'DECLINED',
            message: `${err.providerMessage ?? 'the card was declined'}${err.details.declineCode ? ` (${String(err.details.declineCode)})` : ''}`,
            providerCode: err.providerCode,
          },
        };
      }
      throw err;
    }
    const state = this.orderStateOf(pi);
    const result: CollectResult = {
      status: state.status,
      channelTradeNo: state.channelTradeNo,
      payload: { clientSecret: str(pi.client_secret), paymentIntent: str(pi.id), stripeStatus: str(pi.status) },
    };
    if (state.paidAt) result.paidAt = state.paidAt;
    if (state.failure) result.failure = state.failure;
    return result;
  }

  async queryCollect(ref: OrderRef): Promise<OrderState> {
    return this.orderStateOf(await this.paymentIntent(ref, 'queryCollect'));
  }

  async closeCollect(ref: OrderRef): Promise<OrderState> {
    const pi = await this.paymentIntent(ref, 'closeCollect');
    const id = String(pi.id);
    if (pi.status === 'succeeded' || pi.status === 'canceled') return this.orderStateOf(pi);
    try {
      const canceled = await this.client.call<Obj>({
        operation: 'closeCollect',
        method: 'POST',
        path: `/v1/payment_intents/${encodeURIComponent(id)}/cancel`,
        params: { cancellation_reason: 'abandoned', expand: ['latest_charge'] },
        idempotencyKey: idempotencyKeys.close(ref.orderNo),
        orderNo: ref.orderNo,
      });
      return this.orderStateOf(canceled);
    } catch (err) {
      // It moved on (paid, processing) between our look and the cancel: report where it is now.
      if (isPayError(err) && err.providerCode === 'payment_intent_unexpected_state') return this.queryCollect({ ...ref, channelTradeNo: id });
      throw err;
    }
  }

  /**
   * Captures an authorized PaymentIntent (requires_capture): `amount_to_capture` when part of it,
   * the rest released by Stripe. The idempotency key carries the amount, so a retry after a lost
   * answer repeats the same capture and a corrected amount after a refusal is a new request.
   */
  async capture(req: CaptureRequest): Promise<OrderState> {
    const ref = req.order;
    const pi = await this.paymentIntent(ref, 'capture');
    const id = String(pi.id);
    if (pi.status !== 'requires_capture') {
      const state = this.orderStateOf(pi);
      if (state.status === 'succeeded') return state;
      throw invalid(`Stripe PaymentIntent ${id} of ${ref.orderNo} is ${String(pi.status)}, not authorized: there is nothing to capture`, {
        hint: pi.status === 'requires_payment_method' || pi.status === 'requires_confirmation' ? 'The payer has not paid yet; run `pay query` once they have.' : undefined,
      });
    }
    const captured = await this.client.call<Obj>({
      operation: 'capture',
      method: 'POST',
      path: `/v1/payment_intents/${encodeURIComponent(id)}/capture`,
      params: { ...(req.amountMinor !== undefined ? { amount_to_capture: toStripeAmount(req.amountMinor, ref.currency) } : {}), expand: ['latest_charge'] },
      idempotencyKey: idempotencyKeys.capture(ref.orderNo, req.amountMinor),
      orderNo: ref.orderNo,
    });
    return this.orderStateOf(captured);
  }

  private refundStateOf(r: Obj): RefundState {
    const status = refundStatus(r.status);
    const state: RefundState = { status, channelRefundNo: str(r.id), providerStatus: str(r.status) };
    if (status === 'succeeded') state.refundedAt = isoUtc(typeof r.created === 'number' ? r.created * 1000 : this.deps.clock());
    if (status === 'failed') state.failure = { code: 'REFUND_FAILED', message: `Stripe could not refund (${str(r.failure_reason) ?? str(r.status) ?? 'failed'})`, providerCode: str(r.failure_reason) ?? str(r.status) };
    return state;
  }

  async refund(req: RefundRequest): Promise<RefundState> {
    const pi = req.channelTradeNo?.startsWith('pi_') ? req.channelTradeNo : String((await this.paymentIntent({ orderNo: req.orderNo }, 'refund')).id);
    const metadata: Record<string, FormValue> = { order_no: req.orderNo, refund_no: req.refundNo };
    // Stripe's `reason` is an enum; a free-text reason goes in metadata.
    if (req.reason) metadata.reason = req.reason.slice(0, 500);
    const r = await this.client.call<Obj>({
      operation: 'refund',
      method: 'POST',
      path: '/v1/refunds',
      params: { payment_intent: pi, amount: toStripeAmount(req.amountMinor, req.currency), reason: 'requested_by_customer', metadata },
      idempotencyKey: idempotencyKeys.refund(req.refundNo),
      orderNo: req.orderNo,
      refundNo: req.refundNo,
    });
    return this.refundStateOf(r);
  }

  async queryRefund(ref: RefundRef): Promise<RefundState> {
    if (ref.channelRefundNo?.startsWith('re_')) {
      return this.refundStateOf(
        await this.client.call<Obj>({ operation: 'queryRefund', method: 'GET', path: `/v1/refunds/${encodeURIComponent(ref.channelRefundNo)}`, orderNo: ref.orderNo, refundNo: ref.refundNo }),
      );
    }
    const pi = ref.channelTradeNo?.startsWith('pi_') ? ref.channelTradeNo : String((await this.paymentIntent({ orderNo: ref.orderNo }, 'queryRefund')).id);
    for await (const r of this.client.list<Obj & { id: string }>({ operation: 'queryRefund', path: '/v1/refunds', params: { payment_intent: pi }, orderNo: ref.orderNo, refundNo: ref.refundNo })) {
      if (meta(r, 'refund_no') === ref.refundNo) return this.refundStateOf(r);
    }
    throw new PayError('ORDER_NOT_FOUND', `Stripe has no refund ${ref.refundNo} on ${pi}`, {
      channel: 'stripe',
      providerCode: 'resource_missing',
      hint: 'The refund never reached Stripe; refunding again with the same --refund-no is safe (same idempotency key).',
    });
  }

  private payoutStateOf(p: Obj): OrderState {
    const status = payoutStatus(p.status);
    const currency = str(p.currency)?.toUpperCase();
    const state: OrderState = { status, channelTradeNo: str(p.id), providerStatus: str(p.status) };
    if (currency && typeof p.amount === 'number') {
      state.currency = currency;
      state.amountMinor = fromStripeAmount(p.amount, currency);
    }
    if (status === 'succeeded') state.paidAt = isoUtc(typeof p.arrival_date === 'number' ? p.arrival_date * 1000 : this.deps.clock());
    if (status === 'failed') {
      state.failure = { code: 'PAYOUT_FAILED', message: str(p.failure_message) ?? `the payout ${String(p.status)}`, providerCode: str(p.failure_code) ?? str(p.status) };
    }
    return state;
  }

  async payout(req: PayoutRequest): Promise<OrderState> {
    const payee = req.payee.trim();
    if (payee !== 'default' && !/^(ba|card)_[A-Za-z0-9]+$/.test(payee)) {
      throw invalid(`Stripe pays out to an external account id (ba_... or card_...), not "${payee.slice(0, 40)}"`, {
        hint: 'Give --to ba_... (a bank account on your Stripe balance), or --to default for the default account.',
      });
    }
    const metadata: Record<string, FormValue> = { order_no: req.orderNo };
    if (req.payeeName) metadata.payee_name = req.payeeName.slice(0, 500);
    const p = await this.client.call<Obj>({
      operation: 'payout',
      method: 'POST',
      path: '/v1/payouts',
      params: {
        amount: toStripeAmount(req.amountMinor, req.currency, { payout: true }),
        currency: req.currency.toLowerCase(),
        destination: payee === 'default' ? undefined : payee,
        description: req.remark ? req.remark.slice(0, 1000) : undefined,
        method: 'standard',
        metadata,
      },
      idempotencyKey: idempotencyKeys.payout(req.orderNo),
      orderNo: req.orderNo,
    });
    return this.payoutStateOf(p);
  }

  async queryPayout(ref: OrderRef): Promise<OrderState> {
    if (ref.channelTradeNo?.startsWith('po_')) {
      return this.payoutStateOf(await this.client.call<Obj>({ operation: 'queryPayout', method: 'GET', path: `/v1/payouts/${encodeURIComponent(ref.channelTradeNo)}`, orderNo: ref.orderNo }));
    }
    // Payouts cannot be searched by metadata: scan the ones created since (a day before) ours.
    const since = Math.floor(Date.parse(ref.createdAt) / 1000) - 86400;
    for await (const p of this.client.list<Obj & { id: string }>({ operation: 'queryPayout', path: '/v1/payouts', params: { created: { gte: since } }, orderNo: ref.orderNo })) {
      if (meta(p, 'order_no') === ref.orderNo) return this.payoutStateOf(p);
    }
    throw new PayError('ORDER_NOT_FOUND', `Stripe has no payout for ${ref.orderNo}`, {
      channel: 'stripe',
      providerCode: 'resource_missing',
      hint: 'The payout never reached Stripe; paying out again with the same --order-no is safe (same idempotency key).',
    });
  }

  async balance(): Promise<BalanceEntry[]> {
    const b = await this.client.call<{ available?: Obj[]; pending?: Obj[] }>({ operation: 'balance', method: 'GET', path: '/v1/balance' });
    const by = new Map<string, BalanceEntry>();
    const add = (list: Obj[] | undefined, field: 'availableMinor' | 'pendingMinor') => {
      for (const e of list ?? []) {
        const currency = str(e.currency)?.toUpperCase();
        if (!currency || typeof e.amount !== 'number') continue;
        const entry = by.get(currency) ?? { currency, availableMinor: 0, pendingMinor: 0 };
        entry[field] = (entry[field] ?? 0) + fromStripeAmount(e.amount, currency);
        by.set(currency, entry);
      }
    };
    add(b.available, 'availableMinor');
    add(b.pending, 'pendingMinor');
    return [...by.values()].sort((a, z) => a.currency.localeCompare(z.currency));
  }

  async verifyCallback(request: RawRequest, options: VerifyOptions): Promise<CallbackVerdict> {
    return stripeCallbacks.verify(request, this.config, options);
  }

  readBill(source: BillSource, options: ReadBillOptions): AsyncIterable<BillRow> {
    return readStripeBill(source, { ...options, timeZone: this.config.timeZone });
  }

  /**
   * Saves the business day's balance transactions (auto-paginated, sources expanded so the order
   * numbers come along) as the JSON-lines bill that `readBill` parses.
   */
  async downloadBill(options: { date: string; dir: string; type?: string }): Promise<DownloadedBill> {
    parseDate(options.date);
    if (options.type === 'itemized') return this.downloadItemized(options.date, options.dir);
    if (options.type !== undefined && options.type !== 'balance-transactions') {
      throw invalid(`unknown Stripe bill type "${options.type}"`, { hint: 'Use balance-transactions (the default) or itemized.' });
    }
    const { start, end } = businessDayRange(options.date, this.config.timeZone);
    const path = join(options.dir, `stripe-balance-transactions-${options.date}.jsonl`);
    const txns = this.client.list<Obj & { id: string }>({
      operation: 'downloadBill',
      path: '/v1/balance_transactions',
      params: { created: { gte: Math.floor(start / 1000), lt: Math.floor(end / 1000) }, expand: ['data.source'] },
    });
    await writeBalanceTransactions(path, txns, { date: options.date, timeZone: this.config.timeZone });
    return { path, format: FORMAT_BALANCE_TRANSACTIONS };
  }

  /**
   * The itemized balance report for the day through the Reporting API: a report run
   * (balance_change_from_activity.itemized.3, with our metadata columns), polled until it
   * succeeds, and its CSV downloaded.
   */
  private async downloadItemized(date: string, dir: string): Promise<DownloadedBill> {
    const { start, end } = businessDayRange(date, this.config.timeZone);
    let run = await this.client.call<Obj>({
      operation: 'downloadBill',
      method: 'POST',
      path: '/v1/reporting/report_runs',
      params: {
        report_type: 'balance_change_from_activity.itemized.3',
        parameters: { interval_start: Math.floor(start / 1000), interval_end: Math.floor(end / 1000), timezone: this.config.timeZone, columns: [...ITEMIZED_COLUMNS] },
      },
      // A report run moves no money; each download asks for a fresh one.
      idempotencyKey: `pay-report-${date}-${randomUUID()}`,
    });
    // Stripe takes from seconds to minutes to run a report.
    const deadline = Date.now() + 10 * 60_000;
    for (let wait = 250; run.status === 'pending'; wait = Math.min(wait * 2, 5_000)) {
      if (Date.now() + wait > deadline) throw new PayError('TIMEOUT', `Stripe report run ${String(run.id)} did not finish in 10 minutes`, { channel: 'stripe', hint: 'Try again later; the report keeps running at Stripe.' });
      await sleep(wait);
      run = await this.client.call<Obj>({ operation: 'downloadBill', method: 'GET', path: `/v1/reporting/report_runs/${encodeURIComponent(String(run.id))}` });
    }
    const url = str((run.result as Obj | null)?.url);
    if (run.status !== 'succeeded' || !url) {
      throw new PayError('CHANNEL_ERROR', `Stripe report run ${String(run.id)} ${String(run.status)}${run.error ? `: ${String(run.error)}` : ''}`, { channel: 'stripe' });
    }
    const path = join(dir, `stripe-itemized-${date}.csv`);
    await writeFile(path, await this.client.fetchFile(url, 'downloadBill'));
    return { path, format: FORMAT_ITEMIZED };
  }

  async check(): Promise<CheckResult> {
    const started = performance.now();
    const b = await this.client.call<{ livemode?: boolean }>({ operation: 'check', method: 'GET', path: '/v1/balance' });
    return { ok: true, detail: `${this.config.baseUrl} answered; ${b.livemode ? 'live' : 'test'} mode key accepted`, latencyMs: performance.now() - started };
  }
}

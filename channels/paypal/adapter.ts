/**
 * The PayPal adapter: Orders v2 (create, then capture once the payer approved), refunds of the
 * capture, Payouts, balances, and the day's transactions as the bill, over the shared HTTP client.
 *
 * The flow: `collect` creates the order and returns the approve link; the payer approves at
 * PayPal; `queryCollect` finds the order APPROVED and captures it (config `captureOnQuery`,
 * default on), so `pay query` is the step that takes the money. Our order number is the order's
 * `invoice_id` and `custom_id` (they reach the capture, the webhooks and the reports), and every
 * POST carries a PayPal-Request-Id derived from our numbers, so a retried call is the same call.
 */
import { join } from 'node:path';
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
import { businessDayRange, parseDate } from '../../src/core/time.js';
import { FORMAT_TRANSACTIONS, readPaypalBill } from './bill.js';
import { writeTransactions } from './bill-writer.js';
import { paypalCallbacks } from './callback.js';
import { PaypalClient } from './client.js';
import type { PaypalConfig } from './config.js';
import { toPaypalValue } from './currency.js';
import { arr, createBody, linkOf, money, type Obj, orderStateOf, paymentsOf, payoutStateOf, recipientType, refundStateOf, requestIds, str } from './wire.js';

/** The PayPal adapter. */
export class PaypalAdapter implements ChannelAdapter {
  readonly client: PaypalClient;
  /** Dates a payment whose answer carries no time. */
  private readonly now = () => this.deps.clock();

  constructor(
    private readonly config: PaypalConfig,
    private readonly deps: ChannelDeps,
  ) {
    this.client = new PaypalClient(config, { http: () => deps.http(), record: (e) => deps.record(e), clock: deps.clock });
  }

  private async getOrder(id: string, orderNo: string, operation: string): Promise<Obj> {
    return this.client.call<Obj>({ operation, method: 'GET', path: `/v2/checkout/orders/${encodeURIComponent(id)}`, orderNo });
  }

  private orderId(ref: { orderNo: string; channelTradeNo?: string }): string {
    if (ref.channelTradeNo) return ref.channelTradeNo;
    throw new PayError('ORDER_NOT_FOUND', `no PayPal order id is recorded for ${ref.orderNo}`, {
      channel: 'paypal',
      hint: 'The create never got an answer: run `pay create` again with the same --order-no; PayPal returns the same order for the same PayPal-Request-Id.',
    });
  }

  async collect(req: CollectRequest): Promise<CollectResult> {
    const extra = req.extra ?? {};
    const known = ['brand_name', 'locale'];
    const unknown = Object.keys(extra).filter((k) => !known.includes(k));
    if (unknown.length) throw invalid(`the PayPal channel does not know --extra ${unknown.join(', ')}`, { hint: `PayPal extras: ${known.join(', ')}.` });
    const value = toPaypalValue(req.amountMinor, req.currency);
    if (req.notifyUrl) this.deps.debug('paypal: --notify-url is not sent: PayPal delivers webhooks to the app\'s configured webhook (pay sandbox: --webhook-url)');
    const returnUrl = req.returnUrl ?? this.config.returnUrl;
    const body = createBody(req.orderNo, req.currency, value, req.capture === 'manual' ? 'AUTHORIZE' : 'CAPTURE');
    // PayPal refuses an empty description (INVALID_STRING_LENGTH): leave it out.
    if (req.subject) (body.purchase_units as Obj[])[0].description = req.subject.slice(0, 127);
    if (returnUrl) {
      body.payment_source = {
        paypal: {
          experience_context: {
            return_url: returnUrl,
            cancel_url: this.config.cancelUrl ?? returnUrl,
            user_action: 'PAY_NOW',
            shipping_preference: 'NO_SHIPPING',
            ...(extra.brand_name ? { brand_name: extra.brand_name } : {}),
            ...(extra.locale ? { locale: extra.locale } : {}),
          },
        },
      };
    }
    const order = await this.client.call<Obj>({ operation: 'collect', method: 'POST', path: '/v2/checkout/orders', body, requestId: requestIds.collect(req.orderNo), orderNo: req.orderNo });
    const state = orderStateOf(order, this.now);
    const approve = linkOf(order, 'approve', 'payer-action');
    return {
      status: state.status === 'closed' ? 'closed' : state.status,
      channelTradeNo: state.channelTradeNo,
      payload: { redirectUrl: approve, approveUrl: approve, paypalOrderId: str(order.id), paypalStatus: str(order.status), paypalIntent: str(order.intent) },
      ...(state.paidAt ? { paidAt: state.paidAt } : {}),
    };
  }

  /**
   * Captures an approved order (intent CAPTURE) or authorizes it (intent AUTHORIZE); a declined
   * instrument is a failed payment, not an error.
   */
  private async captureOrder(id: string, orderNo: string, intent: 'CAPTURE' | 'AUTHORIZE' = 'CAPTURE'): Promise<OrderState> {
    try {
      const action = intent === 'AUTHORIZE' ? 'authorize' : 'capture';
      const requestId = intent === 'AUTHORIZE' ? requestIds.authorize(orderNo) : requestIds.capture(orderNo);
      const order = await this.client.call<Obj>({ operation: action, method: 'POST', path: `/v2/checkout/orders/${encodeURIComponent(id)}/${action}`, body: {}, requestId, orderNo });
      return orderStateOf(order, this.now);
    } catch (err) {
      if (!isPayError(err)) throw err;
      const issue = err.providerCode;
      if (issue === 'INSTRUMENT_DECLINED' || issue === 'TRANSACTION_REFUSED') {
        return { status: 'failed', channelTradeNo: id, providerStatus: `APPROVED/${issue}`, failure: { code: 'DECLINED', message: err.providerMessage ?? 'PayPal declined the payment instrument', providerCode: issue } };
      }
      // Someone (a retry, the dashboard) captured it first: report what the order says now.
      if (issue === 'ORDER_ALREADY_CAPTURED' || issue === 'ORDER_ALREADY_AUTHORIZED') return orderStateOf(await this.getOrder(id, orderNo, 'queryCollect'), this.now);
      if (issue === 'ORDER_NOT_APPROVED') return { status: 'pending', channelTradeNo: id, providerStatus: 'CREATED' };
      throw err;
    }
  }

  async queryCollect(ref: OrderRef): Promise<OrderState> {
    let id = ref.channelTradeNo;
    // A create pay never saw answered: its approve link is only in the create's answer, so
    // `pay create --order-no` (same PayPal-Request-Id: the same order) is what recovers it.
    if (!id && ref.createConfirmed === false) this.orderId(ref);
    if (!id) {
      // The create's answer was lost and PayPal has no lookup by our number: repeating the create
      // with the same PayPal-Request-Id returns the order PayPal made then (or makes it now, which
      // moves no money: the payer still has to approve it).
      const replay = await this.client.call<Obj>({
        operation: 'queryCollect',
        method: 'POST',
        path: '/v2/checkout/orders',
        body: createBody(ref.orderNo, ref.currency, toPaypalValue(ref.amountMinor, ref.currency), ref.capture === 'manual' ? 'AUTHORIZE' : 'CAPTURE'),
        requestId: requestIds.collect(ref.orderNo),
        orderNo: ref.orderNo,
      });
      id = str(replay.id);
      if (!id) throw new PayError('CHANNEL_ERROR', `PayPal answered the create of ${ref.orderNo} without an order id`, { channel: 'paypal' });
    }
    const order = await this.getOrder(id, ref.orderNo, 'queryCollect');
    // An order pay closed (`pay cancel`) is never captured, even if the payer approves it later.
    if (order.status === 'APPROVED' && this.config.captureOnQuery && ref.status !== 'closed') return this.captureOrder(id, ref.orderNo, order.intent === 'AUTHORIZE' ? 'AUTHORIZE' : 'CAPTURE');
    return orderStateOf(order, this.now);
  }

  /**
   * `pay capture`: for an order created with intent AUTHORIZE, authorizes it once approved (if
   * `pay query` has not yet), then captures the authorization (POST
   * /v2/payments/authorizations/{id}/capture, final_capture: the rest is released).
   */
  async capture(req: CaptureRequest): Promise<OrderState> {
    const ref = req.order;
    const id = this.orderId(ref);
    let order = await this.getOrder(id, ref.orderNo, 'capture');
    if (order.intent !== 'AUTHORIZE') {
      throw invalid(`PayPal order ${id} of ${ref.orderNo} has intent ${String(order.intent)}: it is captured by \`pay query\` once approved, not by \`pay capture\``);
    }
    if (order.status === 'APPROVED') {
      const authorized = await this.captureOrder(id, ref.orderNo, 'AUTHORIZE');
      if (authorized.status === 'failed') return authorized;
      order = await this.getOrder(id, ref.orderNo, 'capture');
    }
    const authorization = paymentsOf(order, 'authorizations').at(-1);
    if (!authorization) {
      throw invalid(`PayPal order ${id} of ${ref.orderNo} is ${String(order.status)}: the payer has not approved it, so nothing is authorized yet`, {
        hint: 'Send the payer to the approve link (`pay orders show` shows it), then capture.',
      });
    }
    const state = orderStateOf(order, this.now);
    if (state.status !== 'pending') return state;
    const body: Obj = { final_capture: true };
    if (req.amountMinor !== undefined) body.amount = { currency_code: ref.currency, value: toPaypalValue(req.amountMinor, ref.currency) };
    await this.client.call<Obj>({
      operation: 'capture',
      method: 'POST',
      path: `/v2/payments/authorizations/${encodeURIComponent(String(authorization.id))}/capture`,
      body,
      requestId: requestIds.captureAuthorization(ref.orderNo, req.amountMinor),
      orderNo: ref.orderNo,
    });
    return orderStateOf(await this.getOrder(id, ref.orderNo, 'capture'), this.now);
  }

  /**
   * `pay cancel`. Orders v2 has no call that voids an order: one the payer has not approved (or
   * approved but pay has not captured) is abandoned in pay's books and left to expire at PayPal,
   * and pay never captures it afterwards. An authorization (intent AUTHORIZE) is voided with
   * POST /v2/payments/authorizations/{id}/void, found in the order's payload (`paypalAuthorizationId`)
   * or in the order itself. A captured order is reported as paid (pay refuses to cancel it).
   */
  async closeCollect(ref: OrderRef): Promise<OrderState> {
    if (!ref.channelTradeNo) {
      return { status: 'closed', providerStatus: 'NO_ORDER_ID', localOnly: 'the create never got an answer, so no payer has an approve link; abandoned in the order book (PayPal lets an unapproved order expire)' };
    }
    const id = ref.channelTradeNo;
    const order = await this.getOrder(id, ref.orderNo, 'closeCollect');
    const authorizationId = this.openAuthorizationId(ref, order);
    if (authorizationId) return this.voidAuthorization(authorizationId, id, ref.orderNo);
    const status = String(order.status ?? '');
    if (status === 'CREATED' || status === 'PAYER_ACTION_REQUIRED' || status === 'APPROVED' || status === 'SAVED') {
      const what = status === 'APPROVED' ? 'approved by the payer but not captured (pay will not capture it now)' : 'not approved by the payer';
      return { status: 'closed', channelTradeNo: id, providerStatus: status, localOnly: `PayPal order ${id} is ${what}; Orders v2 has no call to void it, so it is abandoned in the order book and expires at PayPal` };
    }
    return orderStateOf(order, this.now);
  }

  /** The id of an authorization still open (CREATED/PENDING) on the order, if any. */
  private openAuthorizationId(ref: OrderRef, order: Obj): string | undefined {
    const open = paymentsOf(order, 'authorizations').filter((a) => a.status === 'CREATED' || a.status === 'PENDING');
    const recorded = str(ref.payload?.paypalAuthorizationId);
    if (recorded && open.some((a) => a.id === recorded)) return recorded;
    return str(open[open.length - 1]?.id);
  }

  /** Voids an authorization; the order's state afterwards is the answer. */
  private async voidAuthorization(authorizationId: string, orderId: string, orderNo: string): Promise<OrderState> {
    try {
      await this.client.call<Obj>({ operation: 'closeCollect', method: 'POST', path: `/v2/payments/authorizations/${encodeURIComponent(authorizationId)}/void`, body: {}, requestId: requestIds.void(orderNo), orderNo });
    } catch (err) {
      // Voided already (a retry) or captured meanwhile: the order says which.
      if (!isPayError(err) || (err.providerCode !== 'PREVIOUSLY_VOIDED' && err.providerCode !== 'PREVIOUSLY_CAPTURED')) throw err;
    }
    const order = await this.getOrder(orderId, orderNo, 'closeCollect');
    const after = orderStateOf(order, this.now);
    const auth = paymentsOf(order, 'authorizations').find((a) => a.id === authorizationId);
    if (auth?.status === 'VOIDED') return { ...after, status: 'closed', providerStatus: `${String(after.providerStatus).split('/')[0]}/AUTHORIZATION_VOIDED` };
    return after;
  }

  private async completedCapture(ref: { orderNo: string; channelTradeNo?: string }, operation: string): Promise<{ order: Obj; capture: Obj }> {
    const order = await this.getOrder(this.orderId(ref), ref.orderNo, operation);
    const capture = paymentsOf(order, 'captures').find((c) => c.status === 'COMPLETED' || c.status === 'PARTIALLY_REFUNDED');
    if (!capture) {
      throw new PayError('INVALID_REQUEST', `PayPal order ${String(order.id)} has no completed capture to refund (order status ${String(order.status)})`, {
        channel: 'paypal',
        providerCode: 'CAPTURE_NOT_FOUND',
        hint: 'Run `pay query` first: it captures an approved order.',
      });
    }
    return { order, capture };
  }

  async refund(req: RefundRequest): Promise<RefundState> {
    const value = toPaypalValue(req.amountMinor, req.currency);
    const { capture } = await this.completedCapture({ orderNo: req.orderNo, channelTradeNo: req.channelTradeNo }, 'refund');
    const r = await this.client.call<Obj>({
      operation: 'refund',
      method: 'POST',
      path: `/v2/payments/captures/${encodeURIComponent(String(capture.id))}/refund`,
      body: { amount: { value, currency_code: req.currency }, invoice_id: req.refundNo, custom_id: req.orderNo, ...(req.reason ? { note_to_payer: req.reason.slice(0, 255) } : {}) },
      requestId: requestIds.refund(req.refundNo),
      orderNo: req.orderNo,
      refundNo: req.refundNo,
    });
    return refundStateOf(r, this.now);
  }

  async queryRefund(ref: RefundRef): Promise<RefundState> {
    if (ref.channelRefundNo) {
      const r = await this.client.call<Obj>({ operation: 'queryRefund', method: 'GET', path: `/v2/payments/refunds/${encodeURIComponent(ref.channelRefundNo)}`, orderNo: ref.orderNo, refundNo: ref.refundNo });
      return refundStateOf(r, this.now);
    }
    // The refund's answer was lost: the order lists its refunds, ours carries our refund number.
    const order = await this.getOrder(this.orderId(ref), ref.orderNo, 'queryRefund');
    const found = paymentsOf(order, 'refunds').find((r) => r.invoice_id === ref.refundNo);
    if (!found) {
      throw new PayError('ORDER_NOT_FOUND', `PayPal has no refund ${ref.refundNo} on order ${String(order.id)}`, {
        channel: 'paypal',
        hint: 'The refund never reached PayPal; refunding again with the same --refund-no is safe (same PayPal-Request-Id).',
      });
    }
    return refundStateOf(found, this.now);
  }

  async payout(req: PayoutRequest): Promise<OrderState> {
    const value = toPaypalValue(req.amountMinor, req.currency);
    const payee = req.payee.trim();
    if (payee === '') throw invalid('a PayPal payout needs --to (an email, a phone number or a PayPal id)');
    const type = recipientType(payee);
    const batch = await this.client.call<Obj>({
      operation: 'payout',
      method: 'POST',
      path: '/v1/payments/payouts',
      body: {
        sender_batch_header: { sender_batch_id: req.orderNo, email_subject: 'You have a payout', recipient_type: type },
        items: [
          {
            recipient_type: type,
            amount: { value, currency: req.currency },
            receiver: payee,
            sender_item_id: req.orderNo,
            ...(req.remark ? { note: req.remark.slice(0, 4000) } : {}),
            ...(req.payeeName ? { recipient_name: { full_name: req.payeeName } } : {}),
          },
        ],
      },
      requestId: requestIds.payout(req.orderNo),
      orderNo: req.orderNo,
    });
    const state = payoutStateOf(batch, this.now);
    if (state.amountMinor === undefined) {
      state.amountMinor = req.amountMinor;
      state.currency = req.currency;
    }
    return state;
  }

  async queryPayout(ref: OrderRef): Promise<OrderState> {
    if (!ref.channelTradeNo) {
      throw new PayError('ORDER_NOT_FOUND', `no PayPal payout batch id is recorded for ${ref.orderNo}`, {
        channel: 'paypal',
        hint: 'The payout never got an answer: run `pay payout` again with the same --order-no; PayPal returns the same batch for the same PayPal-Request-Id and refuses a second batch with the same sender_batch_id.',
      });
    }
    const batch = await this.client.call<Obj>({ operation: 'queryPayout', method: 'GET', path: `/v1/payments/payouts/${encodeURIComponent(ref.channelTradeNo)}`, orderNo: ref.orderNo });
    return payoutStateOf(batch, this.now);
  }

  async balance(): Promise<BalanceEntry[]> {
    const res = await this.client.call<{ balances?: Obj[] }>({ operation: 'balance', method: 'GET', path: '/v1/reporting/balances' });
    const out: BalanceEntry[] = [];
    for (const b of arr(res.balances)) {
      const available = money(b.available_balance);
      const withheld = money(b.withheld_balance);
      const currency = str(b.currency) ?? available.currency;
      if (!currency || available.amountMinor === undefined) continue;
      out.push({ currency, availableMinor: available.amountMinor, pendingMinor: withheld.amountMinor ?? 0 });
    }
    return out.sort((a, z) => a.currency.localeCompare(z.currency));
  }

  async verifyCallback(request: RawRequest, options: VerifyOptions): Promise<CallbackVerdict> {
    return paypalCallbacks.verify(request, this.config, options);
  }

  readBill(source: BillSource, options: ReadBillOptions): AsyncIterable<BillRow> {
    return readPaypalBill(source, { merchantId: this.config.merchantId, ...options });
  }

  /** Saves the business day's transactions (GET /v1/reporting/transactions, every page) as the JSON-lines bill. */
  async downloadBill(options: { date: string; dir: string; type?: string }): Promise<DownloadedBill> {
    parseDate(options.date);
    const { start, end } = businessDayRange(options.date, this.config.timeZone);
    const fmt = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}+0000`;
    const path = join(options.dir, `paypal-transactions-${options.date}.jsonl`);
    const client = this.client;
    async function* pages(): AsyncGenerator<Obj> {
      for (let page = 1; page <= 10_000; page++) {
        const res = await client.call<Obj>({
          operation: 'downloadBill',
          method: 'GET',
          path: '/v1/reporting/transactions',
          query: { start_date: fmt(start), end_date: fmt(end - 1000), fields: 'all', page_size: 500, page },
        });
        for (const t of arr(res.transaction_details)) yield t;
        const total = typeof res.total_pages === 'number' ? res.total_pages : 1;
        if (page >= total) return;
      }
    }
    await writeTransactions(path, pages(), { date: options.date, timeZone: this.config.timeZone, account: this.config.merchantId });
    return { path, format: FORMAT_TRANSACTIONS };
  }

  async check(): Promise<CheckResult> {
    const started = performance.now();
    await this.client.accessToken();
    return { ok: true, detail: `${this.config.baseUrl} issued an OAuth2 token for the configured app`, latencyMs: performance.now() - started };
  }
}

/**
 * The Alipay adapter: pay's contract over Alipay's OpenAPI gateway.
 *
 *   collect       qr: alipay.trade.precreate (a QR payload); page/wap: a signed
 *                 alipay.trade.page.pay / alipay.trade.wap.pay URL for the payer (no call)
 *   queryCollect  alipay.trade.query
 *   closeCollect  alipay.trade.close; alipay.trade.cancel when the create's outcome is unknown
 *   refund        alipay.trade.refund (partial; out_request_no = our refund number)
 *   queryRefund   alipay.trade.fastpay.refund.query
 *   payout        alipay.fund.trans.uni.transfer   / queryPayout alipay.fund.trans.common.query
 *   balance       alipay.fund.account.query
 *   downloadBill  alipay.data.dataservice.bill.downloadurl.query, then the zip it points to
 *
 * Amounts leave as yuan decimals (`12.34`) and come back to minor units here. A QR or page trade
 * exists at Alipay only once the payer opens it, so until then `alipay.trade.query` answers
 * ACQ.TRADE_NOT_EXIST: within the payable window that means "pending", not "unknown order".
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  BalanceEntry,
  BillRow,
  BillSource,
  CallbackVerdict,
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
import { isZip } from '../../src/channel/zip.js';
import { invalid, isPayError, PayError } from '../../src/core/errors.js';
import { formatAmount, parseAmount } from '../../src/core/money.js';
import { isoUtc, parseDate } from '../../src/core/time.js';
import { billFileName, readAlipayBill } from './bill.js';
import { alipayCallbacks, alipayTimeToIso, tradeStatus } from './callback.js';
import { AlipayClient } from './client.js';
import type { AlipayConfig } from './config.js';

/** How long a QR / page trade stays payable (the timeout_express we send), plus clock slack. */
export const PAYABLE_MINUTES = 120;
const PAYABLE_WINDOW_MS = (PAYABLE_MINUTES + 5) * 60_000;

/** `--method` values: the first is the default. */
export const ALIPAY_METHODS = ['qr', 'page', 'wap'] as const;

const PAGE_METHODS: Record<string, { method: string; productCode: string }> = {
  page: { method: 'alipay.trade.page.pay', productCode: 'FAST_INSTANT_TRADE_PAY' },
  wap: { method: 'alipay.trade.wap.pay', productCode: 'QUICK_WAP_WAY' },
};

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function yuan(v: unknown, currency: string, label: string): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  try {
    return parseAmount(s, currency, { allowZero: true, label });
  } catch (err) {
    throw new PayError('CHANNEL_ERROR', `Alipay sent an unreadable ${label}: ${(err as Error).message}`, { channel: 'alipay' });
  }
}

/** Payees: a 2088… user id, otherwise a login id (e-mail or phone). */
function payeeInfo(payee: string, name: string | undefined): Record<string, string> {
  if (/^2088\d{12}$/.test(payee)) return { identity: payee, identity_type: 'ALIPAY_USER_ID', ...(name ? { name } : {}) };
  if (!name) {
    throw invalid('an Alipay payout to a login id (e-mail or phone) needs the account holder’s name', { hint: 'Add --name "<real name>", or pay out to a 2088… user id.' });
  }
  return { identity: payee, identity_type: 'ALIPAY_LOGON_ID', name };
}

/** Subjects longer than Alipay's 256 characters are cut (Alipay would refuse them). */
function subjectOf(s: string): string {
  return [...s].slice(0, 256).join('');
}

/** The Alipay adapter. */
export class AlipayAdapter implements ChannelAdapter {
  private readonly client: AlipayClient;

  constructor(
    private readonly config: AlipayConfig,
    private readonly deps: ChannelDeps,
  ) {
    this.client = new AlipayClient(config, { http: () => deps.http(), clock: deps.clock, record: (e) => deps.record(e) });
  }

  private amount(amountMinor: number, currency: string): { total: string; extra: Record<string, string> } {
    // Cross-border merchants price in a foreign currency through trans_currency.
    return { total: formatAmount(amountMinor, currency), extra: currency === 'CNY' ? {} : { trans_currency: currency } };
  }

  async collect(req: CollectRequest): Promise<CollectResult> {
    const method = req.method ?? 'qr';
    const { total, extra } = this.amount(req.amountMinor, req.currency);
    const biz: Record<string, unknown> = {
      out_trade_no: req.orderNo,
      total_amount: total,
      subject: subjectOf(req.subject),
      timeout_express: `${PAYABLE_MINUTES}m`,
      ...extra,
      ...(req.extra ?? {}),
    };
    const notifyUrl = req.notifyUrl ?? this.config.notifyUrl;
    if (method === 'qr') {
      let answer;
      try {
        answer = await this.client.call('alipay.trade.precreate', biz, { idempotent: true, orderNo: req.orderNo, params: notifyUrl ? { notify_url: notifyUrl } : {} });
      } catch (err) {
        // The same out_trade_no again: Alipay says what became of the first one.
        if (isPayError(err) && err.providerCode === 'ACQ.TRADE_HAS_SUCCESS') return this.fromState(await this.queryCollect(this.refOf(req)));
        if (isPayError(err) && err.providerCode === 'ACQ.TRADE_HAS_CLOSE') return { status: 'closed', failure: { code: 'closed', message: err.message, providerCode: err.providerCode } };
        throw err;
      }
      const qr = str(answer.body.qr_code);
      if (!qr) throw new PayError('CHANNEL_ERROR', 'Alipay accepted the precreate but sent no qr_code', { channel: 'alipay' });
      return { status: 'pending', payload: { qrCode: qr } };
    }
    const page = PAGE_METHODS[method];
    if (!page) throw invalid(`Alipay has no collect method "${method}"`, { hint: `Methods: ${ALIPAY_METHODS.join(', ')}.` });
    const returnUrl = req.returnUrl ?? this.config.returnUrl;
    const params: Record<string, string> = {};
    if (notifyUrl) params.notify_url = notifyUrl;
    if (returnUrl) params.return_url = returnUrl;
    const url = this.client.pageUrl(page.method, { ...biz, product_code: page.productCode }, params);
    this.deps.record({ operation: page.method, orderNo: req.orderNo, request: { method: page.method, out_trade_no: req.orderNo, total_amount: total }, response: { redirect: true }, durationMs: 0 });
    return { status: 'pending', payload: { redirectUrl: url } };
  }

  private refOf(req: CollectRequest): OrderRef {
    return { orderNo: req.orderNo, amountMinor: req.amountMinor, currency: req.currency, method: req.method, createdAt: isoUtc(this.deps.clock()) };
  }

  private fromState(s: OrderState): CollectResult {
    return { status: s.status, channelTradeNo: s.channelTradeNo, paidAt: s.paidAt, failure: s.failure };
  }

  async queryCollect(ref: OrderRef): Promise<OrderState> {
    let answer;
    try {
      answer = await this.client.call('alipay.trade.query', { out_trade_no: ref.orderNo }, { idempotent: true, orderNo: ref.orderNo });
    } catch (err) {
      if (isPayError(err) && err.providerCode === 'ACQ.TRADE_NOT_EXIST') {
        // A create pay never saw answered may never have arrived: not "pending" (it could never
        // be paid), but unknown here, so the order stays re-sendable with the same number.
        if (ref.createConfirmed === false) {
          throw new PayError('ORDER_NOT_FOUND', `Alipay has no trade ${ref.orderNo}`, { channel: 'alipay', providerCode: err.providerCode, providerMessage: err.providerMessage });
        }
        const age = this.deps.clock() - Date.parse(ref.createdAt);
        if (age < PAYABLE_WINDOW_MS) return { status: 'pending', providerStatus: 'TRADE_NOT_EXIST' };
        throw new PayError('ORDER_NOT_FOUND', `Alipay has no trade ${ref.orderNo}: the payer never opened it and its ${PAYABLE_MINUTES}-minute payable window has passed`, {
          channel: 'alipay',
          providerCode: err.providerCode,
          hint: 'Nothing was paid. Create a new order for a new payment.',
        });
      }
      throw err;
    }
    const b = answer.body;
    const providerStatus = str(b.trade_status);
    const paidAt = alipayTimeToIso(str(b.send_pay_date));
    let status = tradeStatus(providerStatus);
    // A paid trade refunded in full is TRADE_CLOSED at Alipay; it was paid all the same.
    if (providerStatus === 'TRADE_CLOSED' && paidAt) status = 'succeeded';
    if (!status) throw new PayError('CHANNEL_ERROR', `Alipay reported an unknown trade_status "${String(providerStatus).slice(0, 40)}" for ${ref.orderNo}`, { channel: 'alipay', providerCode: providerStatus });
    const currency = str(b.trans_currency) ?? ref.currency;
    return {
      status: status as OrderState['status'],
      channelTradeNo: str(b.trade_no),
      amountMinor: yuan(b.total_amount, currency, 'total_amount'),
      currency,
      paidAt: status === 'succeeded' ? paidAt : undefined,
      providerStatus,
    };
  }

  /**
   * alipay.trade.close; for an order whose create never got an answer (pay's status `created`),
   * and for a QR the payer never opened (close answers ACQ.TRADE_NOT_EXIST, yet the QR would still
   * work), alipay.trade.cancel, which Alipay provides for exactly that: it closes an unpaid trade
   * and refunds a paid one (reported as a {@link OrderState.reversal}).
   */
  async closeCollect(ref: OrderRef): Promise<OrderState> {
    if (ref.status === 'created') return this.cancelTrade(ref);
    try {
      const answer = await this.client.call('alipay.trade.close', { out_trade_no: ref.orderNo }, { idempotent: true, orderNo: ref.orderNo });
      return { status: 'closed', channelTradeNo: str(answer.body.trade_no), providerStatus: 'TRADE_CLOSED' };
    } catch (err) {
      // Never opened by the payer: close has nothing to act on, cancel retires the QR itself.
      if (isPayError(err) && err.providerCode === 'ACQ.TRADE_NOT_EXIST') return this.cancelTrade(ref);
      // Paid (or closed) meanwhile: the trade's real state is the answer.
      if (isPayError(err) && err.providerCode === 'ACQ.TRADE_STATUS_ERROR') return this.queryCollect(ref);
      throw err;
    }
  }

  /** alipay.trade.cancel: `action` says whether Alipay closed the trade or refunded a paid one. */
  private async cancelTrade(ref: OrderRef): Promise<OrderState> {
    let answer;
    try {
      answer = await this.client.call('alipay.trade.cancel', { out_trade_no: ref.orderNo }, { idempotent: true, orderNo: ref.orderNo });
    } catch (err) {
      // Alipay never saw the create: nothing exists there to close or to pay.
      if (isPayError(err) && err.providerCode === 'ACQ.TRADE_NOT_EXIST') return { status: 'closed', providerStatus: 'TRADE_NOT_EXIST' };
      if (isPayError(err) && err.providerCode === 'ACQ.TRADE_STATUS_ERROR') return this.queryCollect(ref);
      throw err;
    }
    const b = answer.body;
    if (b.retry_flag === 'Y') {
      throw new PayError('SYSTEM_ERROR', `Alipay could not cancel ${ref.orderNo} yet (retry_flag=Y)`, { channel: 'alipay', hint: `Run \`pay cancel ${ref.orderNo}\` again.` });
    }
    const action = str(b.action);
    if (action === 'refund') {
      const state = await this.queryCollect(ref).catch(() => undefined);
      return {
        status: 'succeeded',
        channelTradeNo: str(b.trade_no),
        paidAt: state?.paidAt ?? alipayTimeToIso(str(b.gmt_refund_pay)) ?? isoUtc(this.deps.clock()),
        providerStatus: 'TRADE_CANCEL_REFUND',
        reversal: { amountMinor: ref.amountMinor, refundedAt: alipayTimeToIso(str(b.gmt_refund_pay)) ?? isoUtc(this.deps.clock()) },
      };
    }
    return { status: 'closed', channelTradeNo: str(b.trade_no), providerStatus: action ? `TRADE_CANCEL_${action.toUpperCase()}` : 'TRADE_CLOSED' };
  }

  async refund(req: RefundRequest): Promise<RefundState> {
    const biz: Record<string, unknown> = {
      out_trade_no: req.orderNo,
      refund_amount: formatAmount(req.amountMinor, req.currency),
      out_request_no: req.refundNo,
      ...(req.reason ? { refund_reason: req.reason.slice(0, 256) } : {}),
    };
    // The same out_request_no is one refund at Alipay, so a retry cannot refund twice.
    const answer = await this.client.call('alipay.trade.refund', biz, { idempotent: true, orderNo: req.orderNo, refundNo: req.refundNo });
    const b = answer.body;
    if (b.fund_change === 'Y') return { status: 'succeeded', refundedAt: alipayTimeToIso(str(b.gmt_refund_pay)) ?? isoUtc(this.deps.clock()), providerStatus: 'REFUND_SUCCESS' };
    // "N" also answers a repeated request: the refund query says what really happened.
    return this.queryRefund({ orderNo: req.orderNo, refundNo: req.refundNo, amountMinor: req.amountMinor, totalMinor: req.totalMinor, currency: req.currency });
  }

  async queryRefund(ref: RefundRef): Promise<RefundState> {
    const answer = await this.client.call(
      'alipay.trade.fastpay.refund.query',
      { out_trade_no: ref.orderNo, out_request_no: ref.refundNo, query_options: ['gmt_refund_pay'] },
      { idempotent: true, orderNo: ref.orderNo, refundNo: ref.refundNo },
    );
    const b = answer.body;
    const status = str(b.refund_status);
    // Alipay answers 10000 with no refund fields when it has no such refund: for a refund pay never
    // saw answered, that may be "never arrived", so it stays re-sendable rather than pending.
    if (!str(b.refund_amount) && !status) {
      if (ref.createConfirmed === false) throw new PayError('ORDER_NOT_FOUND', `Alipay has no refund ${ref.refundNo}`, { channel: 'alipay', providerCode: 'REFUND_NOT_FOUND' });
      return { status: 'pending', providerStatus: 'REFUND_NOT_FOUND' };
    }
    if (status === undefined || status === 'REFUND_SUCCESS') {
      const amount = yuan(b.refund_amount, ref.currency, 'refund_amount');
      if (amount !== undefined && amount !== ref.amountMinor) {
        throw new PayError('CHANNEL_ERROR', `Alipay holds refund ${ref.refundNo} for ${formatAmount(amount, ref.currency)} ${ref.currency}, not ${formatAmount(ref.amountMinor, ref.currency)}`, { channel: 'alipay' });
      }
      return { status: 'succeeded', refundedAt: alipayTimeToIso(str(b.gmt_refund_pay)), providerStatus: 'REFUND_SUCCESS' };
    }
    return { status: 'pending', providerStatus: status };
  }

  async payout(req: PayoutRequest): Promise<OrderState> {
    if (req.currency !== 'CNY') throw invalid(`Alipay pays out in CNY only, not ${req.currency}`);
    const biz = {
      out_biz_no: req.orderNo,
      trans_amount: formatAmount(req.amountMinor, req.currency),
      product_code: 'TRANS_ACCOUNT_NO_PWD',
      biz_scene: 'DIRECT_TRANSFER',
      order_title: (req.remark ?? 'pay payout').slice(0, 64),
      payee_info: payeeInfo(req.payee, req.payeeName),
      ...(req.remark ? { remark: req.remark.slice(0, 200) } : {}),
    };
    let answer;
    try {
      answer = await this.client.call('alipay.fund.trans.uni.transfer', biz, { idempotent: true, orderNo: req.orderNo });
    } catch (err) {
      // A payee Alipay cannot pay is a final answer for this payout, not an unknown outcome.
      if (isPayError(err) && err.code === 'INVALID_REQUEST' && /^(PAYEE_|EXCEED_LIMIT)/.test(err.providerCode ?? '')) {
        return { status: 'failed', failure: { code: 'PAYEE_REJECTED', message: err.message, providerCode: err.providerCode } };
      }
      throw err;
    }
    return this.payoutState(answer.body, req.orderNo);
  }

  private payoutState(b: Record<string, unknown>, orderNo: string): OrderState {
    const providerStatus = str(b.status);
    const map: Record<string, OrderState['status']> = { SUCCESS: 'succeeded', DEALING: 'pending', WAIT_PAY: 'pending', INIT: 'pending', FAIL: 'failed', REFUND: 'failed', CLOSED: 'failed' };
    const status = providerStatus ? map[providerStatus] : undefined;
    if (!status) throw new PayError('CHANNEL_ERROR', `Alipay reported an unknown transfer status "${String(providerStatus).slice(0, 40)}" for ${orderNo}`, { channel: 'alipay', providerCode: providerStatus });
    const state: OrderState = {
      status,
      channelTradeNo: str(b.order_id),
      providerStatus,
      amountMinor: yuan(b.trans_amount, 'CNY', 'trans_amount'),
      currency: 'CNY',
    };
    if (status === 'succeeded') state.paidAt = alipayTimeToIso(str(b.trans_date) ?? str(b.pay_date)) ?? isoUtc(this.deps.clock());
    if (status === 'failed') state.failure = { code: 'PAYOUT_FAILED', message: `Alipay transfer ${providerStatus}${str(b.fail_reason) ? `: ${str(b.fail_reason)}` : ''}`, providerCode: str(b.error_code) ?? providerStatus };
    return state;
  }

  async queryPayout(ref: OrderRef): Promise<OrderState> {
    const answer = await this.client.call(
      'alipay.fund.trans.common.query',
      { out_biz_no: ref.orderNo, product_code: 'TRANS_ACCOUNT_NO_PWD', biz_scene: 'DIRECT_TRANSFER' },
      { idempotent: true, orderNo: ref.orderNo },
    );
    return this.payoutState(answer.body, ref.orderNo);
  }

  async balance(): Promise<BalanceEntry[]> {
    const biz: Record<string, unknown> = { account_type: 'ACCTRANS_ACCOUNT' };
    if (this.config.sellerId) biz.alipay_user_id = this.config.sellerId;
    const answer = await this.client.call('alipay.fund.account.query', biz, { idempotent: true });
    const available = yuan(answer.body.available_amount, 'CNY', 'available_amount');
    if (available === undefined) throw new PayError('CHANNEL_ERROR', 'Alipay answered the balance query without available_amount', { channel: 'alipay' });
    const frozen = yuan(answer.body.freeze_amount, 'CNY', 'freeze_amount');
    return [{ currency: 'CNY', availableMinor: available, ...(frozen !== undefined ? { pendingMinor: frozen } : {}), account: 'ACCTRANS_ACCOUNT' }];
  }

  async downloadBill(options: { date: string; dir: string; type?: string }): Promise<DownloadedBill> {
    const date = parseDate(options.date);
    const type = options.type ?? 'trade';
    if (type !== 'trade') throw invalid(`pay reads Alipay's trade bill only, not "${type}"`);
    let answer;
    try {
      answer = await this.client.call('alipay.data.dataservice.bill.downloadurl.query', { bill_type: type, bill_date: date }, { idempotent: true });
    } catch (err) {
      if (isPayError(err) && /bill_not_exist|BILL_NOT_EXIST/i.test(err.providerCode ?? '')) {
        throw new PayError('INVALID_REQUEST', `Alipay has no trade bill for ${date}`, { channel: 'alipay', providerCode: err.providerCode, hint: "A day's bill is ready after 09:00 (Beijing time) the next day; bills are kept for a limited time." });
      }
      throw err;
    }
    const url = str(answer.body.bill_download_url);
    if (!url) throw new PayError('CHANNEL_ERROR', 'Alipay answered the bill query without bill_download_url', { channel: 'alipay' });
    const bytes = await this.client.download(url, 'alipay.bill.download');
    if (!isZip(bytes)) throw new PayError('CHANNEL_ERROR', `the bill Alipay served for ${date} is not a zip`, { channel: 'alipay', hint: 'Run the download again; the URL is valid for 30 seconds.' });
    await mkdir(options.dir, { recursive: true });
    const path = join(options.dir, billFileName(this.config.sellerId, date));
    await writeFile(path, bytes);
    return { path, format: 'alipay-trade-zip' };
  }

  verifyCallback(request: RawRequest, options: VerifyOptions): Promise<CallbackVerdict> {
    const keys = this.config.cert ? { alipayPublicCert: this.config.alipayPublicKey } : { alipayPublicKey: this.config.alipayPublicKey };
    return alipayCallbacks.verify(request, { ...keys, appId: this.config.appId, sellerId: this.config.sellerId, signType: this.config.signType }, options);
  }

  readBill(source: BillSource, options: ReadBillOptions): AsyncIterable<BillRow> {
    return readAlipayBill(source, options);
  }

  async check(): Promise<CheckResult> {
    const started = performance.now();
    const probe = `PAYCHECK${Date.now()}`;
    try {
      await this.client.call('alipay.trade.query', { out_trade_no: probe }, { idempotent: true });
      return { ok: true, detail: 'credentials accepted', latencyMs: performance.now() - started };
    } catch (err) {
      const latencyMs = performance.now() - started;
      // An unknown order is the expected answer: the request was signed and accepted.
      if (isPayError(err) && err.providerCode === 'ACQ.TRADE_NOT_EXIST') return { ok: true, detail: `credentials accepted (${this.config.gateway})`, latencyMs };
      return { ok: false, detail: isPayError(err) ? `${err.code}: ${err.message}` : String(err), latencyMs };
    }
  }
}

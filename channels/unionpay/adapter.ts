/**
 * The UnionPay adapter: the contract's operations over the online gateway (5.1.0).
 *
 * - collect: `web` builds the signed front-consume form (frontTransReq.do) for the payer's
 *   browser, with no call from pay; `app` posts appTransReq.do and returns the `tn`.
 * - queryCollect: queryTrans.do by orderId + the txnTime sent. `origRespCode` decides the state.
 *   UnionPay answers 34 (no such transaction) until the payer has paid, so 34 means "pending"
 *   while the payer still may pay (payTimeout), and "closed" after.
 * - refund / queryRefund: backTransReq.do (04; 31 void for full same-day refunds when configured),
 *   accepted first (respCode 00) and final later (query or back notification).
 * - closeCollect: no such call in 5.1.0 for an unpaid order: the query decides, an unpaid order is
 *   closed in pay's books only (see README.md).
 * - downloadBill: file transfer (txnType 76): the zip of the ZM detail and RD summary files.
 * Pending answers (03/04/05) lead to a query, never to a failure.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import type {
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
  RawRequest,
  ReadBillOptions,
  RefundRef,
  RefundRequest,
  RefundState,
  VerifyOptions,
} from '../../src/channel/contract.js';
import { configError, invalid, isPayError, PayError } from '../../src/core/errors.js';
import { isoUtc, parseDate } from '../../src/core/time.js';
import { readUnionPayBill } from './bill.js';
import { verifyUnionPayCallback } from './callback.js';
import { PATHS, UnionPayClient } from './client.js';
import { classify, currencyNumber, errorCodeFor, respError } from './codes.js';
import type { UnionPayConfig } from './config.js';
import { SqliteJournal, type SentJournal, type SentRecord } from './state.js';
import { beijingDate, fromMonthDayTime, fromTxnTime, toTxnTime } from './wire-time.js';

/** Grace after payTimeout before a never-seen order counts as closed (clock skew, slow payers). */
const CLOSE_GRACE_MS = 5 * 60_000;
/** How long a refund UnionPay does not know yet stays pending before it counts as failed. */
const REFUND_UNSEEN_MS = 60 * 60_000;

/** Options for {@link UnionPayAdapter} beyond the contract's deps (tests, load tests). */
export interface UnionPayAdapterOptions {
  journal?: SentJournal;
}

function providerStatus(code: string | undefined, msg: string | undefined): string | undefined {
  return code ? `${code}${msg ? ` ${msg}` : ''}` : undefined;
}

/** Strips what UnionPay does not allow inside riskRateInfo's braces. */
function commodityName(subject: string): string {
  return subject.replace(/[{}&=\r\n]/g, ' ').slice(0, 60).trim();
}

/** The settlement day of an instant: Beijing date, cut off at 23:00. */
function settlementDay(ms: number): string {
  return beijingDate(ms + 3600_000);
}

export class UnionPayAdapter implements ChannelAdapter {
  private readonly client: UnionPayClient;
  private journalCache?: SentJournal;

  constructor(
    private readonly config: UnionPayConfig,
    private readonly deps: ChannelDeps,
    private readonly options: UnionPayAdapterOptions = {},
  ) {
    this.client = new UnionPayClient(config, { http: () => deps.http(), record: (e) => deps.record(e), clock: () => deps.clock() });
  }

  private get journal(): SentJournal {
    this.journalCache ??= this.options.journal ?? new SqliteJournal(this.deps.stateDir);
    return this.journalCache;
  }

  private url(path: string): string {
    return `${this.config.baseUrl}${path}`;
  }

  /** Records the txnTime before sending (so a lost answer can still be queried); reuses a known one. */
  private sent(orderId: string, txnType: string, backUrl: string): SentRecord {
    return this.journal.putIfAbsent({ orderId, txnTime: toTxnTime(this.deps.clock()), txnType, backUrl });
  }

  private backUrl(given: string | undefined, fallback?: string): string {
    const url = given ?? this.config.backUrl ?? fallback;
    if (!url) {
      throw configError('UnionPay needs a back notification URL (backUrl)', { hint: 'Set channels.unionpay.backUrl, or pass --notify-url.' });
    }
    return url;
  }

  async collect(req: CollectRequest): Promise<CollectResult> {
    const currencyCode = currencyNumber(req.currency);
    if (req.currency !== 'CNY' || !currencyCode) throw invalid(`UnionPay's gateway collects CNY, not ${req.currency}`, { hint: 'Use --currency CNY.' });
    const method = req.method ?? 'app';
    if (method !== 'web' && method !== 'app') throw invalid(`UnionPay has no method "${method}"`, { hint: 'Methods: web (browser form), app (tn for the UnionPay app SDK).' });
    const backUrl = this.backUrl(req.notifyUrl);
    const sent = this.sent(req.orderNo, '01', backUrl);
    const sentMs = fromTxnTime(sent.txnTime)!;
    const fields: Record<string, string> = {
      txnType: '01',
      txnSubType: '01',
      bizType: '000201',
      channelType: method === 'web' ? '07' : '08',
      orderId: req.orderNo,
      txnTime: sent.txnTime,
      txnAmt: String(req.amountMinor),
      currencyCode,
      backUrl,
      payTimeout: toTxnTime(sentMs + this.config.payTimeoutMinutes * 60_000),
      riskRateInfo: `{commodityName=${commodityName(req.subject)}}`,
    };
    if (method === 'web') {
      const frontUrl = req.returnUrl ?? this.config.frontUrl;
      if (frontUrl) fields.frontUrl = frontUrl;
      const form = this.client.frontForm(fields, req.orderNo);
      // The form must be POSTed by the payer's browser; a local page that submits it gives people a link to open.
      const page = join(this.deps.stateDir, 'forms', `${req.orderNo}.html`);
      mkdirSync(dirname(page), { recursive: true });
      writeFileSync(page, form.html);
      return {
        status: 'pending',
        payload: { form: form.html, action: form.action, redirectUrl: pathToFileURL(page).href, txnTime: sent.txnTime, payBy: toTxnTime(sentMs + this.config.payTimeoutMinutes * 60_000) },
      };
    }
    const answer = await this.client.call({ operation: 'appTransReq', url: this.url(PATHS.app), fields, orderNo: req.orderNo, idempotent: true });
    const cls = classify(answer.respCode);
    if (cls === 'success') return { status: 'pending', payload: { tn: answer.tn, txnTime: sent.txnTime } };
    if (cls === 'pending') return { status: 'pending', payload: { txnTime: sent.txnTime } };
    if (cls === 'declined') return { status: 'failed', failure: { code: 'DECLINED', message: answer.respMsg ?? 'declined', providerCode: answer.respCode } };
    if (answer.respCode === '12') {
      // UnionPay already has this orderId + txnTime: an earlier attempt got through. Its state is the answer.
      const state = await this.queryCollect({ orderNo: req.orderNo, amountMinor: req.amountMinor, currency: req.currency, method, createdAt: isoUtc(sentMs) });
      return { status: state.status === 'succeeded' || state.status === 'failed' || state.status === 'closed' ? state.status : 'pending', channelTradeNo: state.channelTradeNo, paidAt: state.paidAt, payload: { txnTime: sent.txnTime } };
    }
    throw respError(answer.respCode, answer.respMsg, 'the app consume (appTransReq)');
  }

  /** Asks queryTrans.do about one transaction by orderId + txnTime (or by queryId). */
  private query(ids: { orderId?: string; txnTime?: string; queryId?: string }, orderNo: string, refundNo?: string): Promise<Record<string, string>> {
    const fields: Record<string, string> = { txnType: '00', bizType: '000000' };
    if (ids.queryId && !ids.txnTime) {
      fields.txnSubType = '02';
      fields.queryId = ids.queryId;
    } else {
      fields.txnSubType = '00';
      fields.orderId = ids.orderId!;
      fields.txnTime = ids.txnTime!;
    }
    return this.client.call({ operation: 'queryTrans', url: this.url(PATHS.query), fields, orderNo, refundNo, idempotent: true });
  }

  /** When UnionPay's answer says the transaction happened (trace time, else the send time). */
  private when(a: Record<string, string>): string | undefined {
    const sent = fromTxnTime(a.txnTime);
    const traced = a.traceTime && sent !== undefined ? fromMonthDayTime(a.traceTime, sent) : undefined;
    const t = traced ?? sent;
    return t === undefined ? undefined : isoUtc(t);
  }

  async queryCollect(ref: OrderRef): Promise<OrderState> {
    const known = this.journal.get(ref.orderNo);
    const createdMs = Date.parse(ref.createdAt);
    // Without a record (another machine sent it), the send time is the order's creation second
    // or one of the next ones: the order row is written just before the channel is called.
    const candidates = known ? [known.txnTime] : [0, 1000, 2000].map((d) => toTxnTime(createdMs + d));
    let answer: Record<string, string> | undefined;
    for (const txnTime of candidates) {
      answer = await this.query({ orderId: ref.orderNo, txnTime }, ref.orderNo);
      if (answer.respCode !== '34') break;
    }
    const a = answer!;
    const cls = classify(a.respCode);
    if (a.respCode === '34') {
      // 34 is "not paid yet" for an order UnionPay accepted, but for a create pay never saw
      // answered it may be "never arrived": unknown here, so the order stays re-sendable.
      if (ref.createConfirmed === false) throw respError('34', a.respMsg, `the query for ${ref.orderNo}`);
      const sentMs = known ? fromTxnTime(known.txnTime)! : createdMs;
      const deadline = sentMs + this.config.payTimeoutMinutes * 60_000 + CLOSE_GRACE_MS;
      return this.deps.clock() < deadline
        ? { status: 'pending', providerStatus: providerStatus('34', a.respMsg ?? 'not paid yet') }
        : { status: 'closed', providerStatus: providerStatus('34', `${a.respMsg ?? 'no such transaction'}; never paid before payTimeout`) };
    }
    if (cls === 'pending') return { status: 'pending', providerStatus: providerStatus(a.respCode, a.respMsg) };
    if (cls !== 'success') throw respError(a.respCode, a.respMsg, `the query for ${ref.orderNo}`);
    const state: OrderState = { status: 'pending', providerStatus: providerStatus(a.origRespCode, a.origRespMsg) };
    if (a.queryId) state.channelTradeNo = a.queryId;
    const amount = a.txnAmt && /^\d{1,15}$/.test(a.txnAmt) ? Number(a.txnAmt) : undefined;
    if (amount !== undefined) {
      state.amountMinor = amount;
      state.currency = 'CNY';
    }
    const orig = classify(a.origRespCode);
    if (orig === 'success') {
      state.status = 'succeeded';
      state.paidAt = this.when(a);
    } else if (orig === 'pending') {
      state.status = 'pending';
    } else {
      state.status = 'failed';
      state.failure = { code: orig === 'declined' ? 'DECLINED' : errorCodeFor(a.origRespCode ?? ''), message: a.origRespMsg ?? 'the payment failed', providerCode: a.origRespCode };
    }
    return state;
  }

  /**
   * `pay cancel`. Gateway 5.1.0 has no close for an unpaid consumption (消费撤销, txnType 31,
   * voids a PAID same-day order: that is a refund and goes through `pay refund`). So: the query
   * decides; a paid, failed or expired order is reported as it is, and an unpaid one is closed in
   * pay's books only. The payer's form stays payable at UnionPay until its payTimeout: a payment
   * made after the cancel shows up in `pay query` and reconciliation and must be refunded.
   */
  async closeCollect(ref: OrderRef): Promise<OrderState> {
    const state = await this.queryCollect(ref);
    if (state.status !== 'pending' && state.status !== 'created') return state;
    const payBy = typeof ref.payload?.payBy === 'string' ? ref.payload.payBy : undefined;
    return {
      ...state,
      status: 'closed',
      localOnly: `UnionPay 5.1.0 has no close for an unpaid order; closed in the order book only. The payer can still pay until payTimeout${payBy ? ` (${payBy}, Beijing time)` : ''}; such a payment must be refunded`,
    };
  }

  private refundState(a: Record<string, string>): RefundState {
    const state: RefundState = { status: 'pending', providerStatus: providerStatus(a.origRespCode, a.origRespMsg) };
    if (a.queryId) state.channelRefundNo = a.queryId;
    const orig = classify(a.origRespCode);
    if (orig === 'success') {
      state.status = 'succeeded';
      state.refundedAt = this.when(a);
    } else if (orig !== 'pending') {
      state.status = 'failed';
      state.failure = { code: errorCodeFor(a.origRespCode ?? ''), message: a.origRespMsg ?? 'the refund failed', providerCode: a.origRespCode };
    }
    return state;
  }

  async refund(req: RefundRequest): Promise<RefundState> {
    if (req.currency !== 'CNY') throw invalid(`UnionPay refunds CNY, not ${req.currency}`);
    const backUrl = this.backUrl(req.notifyUrl, this.journal.get(req.orderNo)?.backUrl);
    let origQryId = req.channelTradeNo;
    if (!origQryId) {
      // The refund names the payment by UnionPay's query id, learnt from a query or notification.
      const state = await this.queryCollect({ orderNo: req.orderNo, amountMinor: req.totalMinor, currency: req.currency, createdAt: req.orderCreatedAt });
      if (state.status !== 'succeeded' || !state.channelTradeNo) {
        throw invalid(`UnionPay has no paid transaction for ${req.orderNo} to refund (it says: ${state.providerStatus ?? state.status})`);
      }
      origQryId = state.channelTradeNo;
    }
    const now = this.deps.clock();
    const useVoid = this.config.voidSameDay && req.amountMinor === req.totalMinor && settlementDay(Date.parse(req.orderCreatedAt)) === settlementDay(now);
    const sent = this.sent(req.refundNo, useVoid ? '31' : '04', backUrl);
    const what = sent.txnType === '31' ? 'the void (consume undo)' : 'the refund';
    const answer = await this.client.call({
      operation: 'backTransReq',
      url: this.url(PATHS.back),
      fields: {
        txnType: sent.txnType,
        txnSubType: '00',
        bizType: '000201',
        channelType: '07',
        orderId: req.refundNo,
        origQryId,
        txnTime: sent.txnTime,
        txnAmt: String(req.amountMinor),
        backUrl,
        reqReserved: `payOrderNo=${req.orderNo}`,
      },
      orderNo: req.orderNo,
      refundNo: req.refundNo,
      idempotent: true,
    });
    const cls = classify(answer.respCode);
    if (cls === 'success' || cls === 'pending') {
      const state: RefundState = { status: 'pending', providerStatus: providerStatus(answer.respCode, answer.respMsg ?? 'accepted') };
      if (answer.queryId) state.channelRefundNo = answer.queryId;
      return state;
    }
    if (answer.respCode === '12') return this.queryRefund({ orderNo: req.orderNo, refundNo: req.refundNo, amountMinor: req.amountMinor, totalMinor: req.totalMinor, currency: req.currency });
    if (cls === 'declined') return { status: 'failed', providerStatus: providerStatus(answer.respCode, answer.respMsg), failure: { code: 'DECLINED', message: answer.respMsg ?? 'refused', providerCode: answer.respCode } };
    throw respError(answer.respCode, answer.respMsg, what);
  }

  async queryRefund(ref: RefundRef): Promise<RefundState> {
    const known = this.journal.get(ref.refundNo);
    if (!known && !ref.channelRefundNo) {
      throw new PayError('ORDER_NOT_FOUND', `pay has no record of when refund ${ref.refundNo} was sent to UnionPay, and no UnionPay query id for it`, {
        channel: 'unionpay',
        hint: 'UnionPay finds a transaction by order id and send time; query it from the machine (database) that sent it.',
      });
    }
    const a = await this.query(known ? { orderId: ref.refundNo, txnTime: known.txnTime } : { queryId: ref.channelRefundNo }, ref.orderNo, ref.refundNo);
    if (a.respCode === '34') {
      // Not seen: for a refund pay never saw accepted, "never arrived" is as likely; re-sendable.
      if (ref.createConfirmed === false) throw respError('34', a.respMsg, `the query for refund ${ref.refundNo}`);
      const sentMs = known ? fromTxnTime(known.txnTime)! : 0;
      return this.deps.clock() - sentMs < REFUND_UNSEEN_MS
        ? { status: 'pending', providerStatus: providerStatus('34', a.respMsg ?? 'not seen yet') }
        : { status: 'failed', providerStatus: providerStatus('34', a.respMsg), failure: { code: 'ORDER_NOT_FOUND', message: 'UnionPay never received this refund', providerCode: '34' } };
    }
    const cls = classify(a.respCode);
    if (cls === 'pending') return { status: 'pending', providerStatus: providerStatus(a.respCode, a.respMsg) };
    if (cls !== 'success') throw respError(a.respCode, a.respMsg, `the query for refund ${ref.refundNo}`);
    return this.refundState(a);
  }

  async verifyCallback(request: RawRequest, options: VerifyOptions): Promise<CallbackVerdict> {
    return verifyUnionPayCallback(request, this.config, options);
  }

  readBill(source: BillSource, options: ReadBillOptions): AsyncIterable<BillRow> {
    return readUnionPayBill(source, { merchantId: this.config.merId, ...options });
  }

  async downloadBill(options: { date: string; dir: string; type?: string }): Promise<DownloadedBill> {
    const date = parseDate(options.date, 'bill date');
    const answer = await this.client.call({
      operation: 'fileTransfer',
      url: `${this.config.fileBaseUrl}/`,
      fields: { txnType: '76', txnSubType: '01', bizType: '000000', settleDate: date.slice(5, 7) + date.slice(8, 10), txnTime: toTxnTime(this.deps.clock()), fileType: options.type ?? '00' },
      idempotent: true,
    });
    if (answer.respCode === '98') {
      throw new PayError('ORDER_NOT_FOUND', `UnionPay has no reconciliation file for settlement date ${date}`, {
        channel: 'unionpay',
        providerCode: '98',
        providerMessage: answer.respMsg,
        hint: 'Files are ready the morning after the settlement date; weekends and holidays roll into the next one.',
      });
    }
    if (classify(answer.respCode) !== 'success') throw respError(answer.respCode, answer.respMsg, `the reconciliation file download for ${date}`);
    if (!answer.fileContent) throw new PayError('CHANNEL_ERROR', 'UnionPay answered the file download without fileContent', { channel: 'unionpay' });
    let zip: Buffer;
    try {
      // fileContent is base64 of the zlib-deflated zip (what the official SDKs inflate).
      zip = inflateSync(Buffer.from(answer.fileContent, 'base64'));
    } catch (err) {
      throw new PayError('CHANNEL_ERROR', `UnionPay's fileContent does not inflate: ${(err as Error).message}`, { channel: 'unionpay' });
    }
    const name = (answer.fileName ?? '').replace(/^.*[\\/]/, '');
    const safe = /^[A-Za-z0-9_.-]{1,100}$/.test(name) && name !== '.' && name !== '..' ? name : `${this.config.merId}_${date.replace(/-/g, '')}.zip`;
    const path = join(options.dir, safe);
    await writeFile(path, zip);
    return { path, format: 'unionpay-zm-zip' };
  }

  async check(): Promise<CheckResult> {
    const started = performance.now();
    try {
      // A query for an order that cannot exist: 34 proves the gateway is there and took our signature.
      const a = await this.query({ orderId: `PAYCHECK${Date.now()}`, txnTime: toTxnTime(this.deps.clock()) }, 'check');
      const ok = a.respCode === '34' || classify(a.respCode) === 'success';
      return { ok, detail: ok ? `gateway ${this.config.baseUrl} answered a signed probe query (respCode ${a.respCode})` : `gateway answered respCode ${a.respCode} ${a.respMsg ?? ''}`.trim(), latencyMs: performance.now() - started };
    } catch (err) {
      return { ok: false, detail: isPayError(err) ? `${err.code}: ${err.message}` : String(err), latencyMs: performance.now() - started };
    }
  }

  async close(): Promise<void> {
    this.journalCache?.close();
    this.journalCache = undefined;
  }
}

/**
 * The UnionPay simulator for `pay sandbox`: the online gateway's real paths and form fields,
 * merchant signatures checked (a bad one gets respCode 11; accessType 0/1/2 with acqInsCode for
 * 1, consume txnSubType 01/02/03, else respCode 10 or 13), answers (refusals included) and back notifications
 * signed 5.1.0-style with a signing certificate under a root -> middle chain it generates, and
 * the reconciliation file served by file transfer (txnType 76) as UnionPay's zip.
 *
 * Behaviour (as the real gateway, where known):
 * - frontTransReq.do (the payer's browser posts the form pay built) and appTransReq.do (returns a
 *   tn) register the order; it stays unknown to queries (respCode 34) until the payer pays.
 * - The payer pays through `simulatePayment` (`POST /__sandbox/pay`); a back notification goes
 *   to the order's backUrl and is resent, on a compressed schedule, until it is answered 200.
 * - backTransReq.do: refunds (04) and voids (31) are accepted (respCode 00) and succeed shortly
 *   after, with a back notification; over-refunds and refunds of unpaid orders are refused.
 * - queryTrans.do: by orderId + txnTime (both must match) or by queryId (txnSubType 02).
 * - File transfer (POST / or /gateway/api/fileTransfer.do): the day's ZM + RD zip, deflated and
 *   base64-encoded in fileContent. The simulator settles by calendar day in Beijing time
 *   (UnionPay's own cut-off is 23:00).
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import type { BillRow } from '../../src/channel/contract.js';
import type { ChannelSimulator, SimulatorDeps, SimulatorModule, SimulatorRequest, SimulatorResponse, TamperKind } from '../../src/sandbox/contract.js';
import { feeInBasisPoints, htmlPage, randomDigits } from '../../src/sandbox/helpers.js';
import { invalid } from '../../src/core/errors.js';
import { isoUtc } from '../../src/core/time.js';
import { billFileNames, writeUnionPayBill } from './bill.js';
import { PATHS } from './client.js';
import { encodeForm, fieldsToRecord, parseForm, parseRawKv, serializeRawKv } from './form.js';
import { buildPkcs12, generateMerchantCert, generateTestChain, type Issued, type TestChain } from './pki.js';
import { certIdOf, signAsUnionPay, verifyRsa, type UnionPayVersion } from './signature.js';
import { beijingDate, fromTxnTime, toMonthDayTime } from './wire-time.js';

/** UnionPay resends an unanswered back notification at growing intervals (about 1, 2, 4, 8 and 16 minutes); compressed 600x here. */
export const UNIONPAY_RETRY_DELAYS_MS = [100, 200, 400, 800, 1600];

/** Options for the simulator (tests). */
export interface UnionPaySimulatorOptions {
  /** Time from an accepted refund to its success, ms (default 300). */
  refundSettleMs?: number;
  retryDelaysMs?: number[];
  /** Fee on each payment, basis points (default 60). */
  feeBps?: number;
}

interface SimOrder {
  orderId: string;
  txnTime: string;
  amount: number;
  channelType: string;
  backUrl: string;
  createdMs: number;
  tn?: string;
  status: 'unpaid' | 'paid' | 'failed';
  queryId?: string;
  paidMs?: number;
  traceNo?: string;
  refunded: number;
}

interface SimRefund {
  orderId: string;
  txnTime: string;
  txnType: '04' | '31';
  amount: number;
  origQryId: string;
  origOrderId: string;
  backUrl: string;
  reqReserved?: string;
  queryId: string;
  traceNo: string;
  createdMs: number;
  settleMs: number;
  fee: number;
  notified: boolean;
}

const OK_MSG = '成功[0000000]';
/** A stand-in merchant endpoint that acknowledges notifications (not a UnionPay path). */
const NOTIFY_SINK = '/sandbox/notify-sink';
const SIGN_FAILED = '验证签名失败';

class Refusal extends Error {
  constructor(
    readonly respCode: string,
    readonly respMsg: string,
  ) {
    super(`${respCode} ${respMsg}`);
  }
}

/** The UnionPay simulator. */
export class UnionPaySimulator implements ChannelSimulator {
  readonly id = 'unionpay';
  readonly merId = `777${randomDigits(12)}`;
  /** UnionPay's chain: answers are signed with `chain.sign`. */
  readonly chain: TestChain;
  /** The merchant's sign certificate, handed out in the profile as a PKCS#12. */
  readonly merchant: Issued;
  readonly merchantCertId: string;
  private readonly pfxPassword = `sandbox-test-only-${randomBytes(6).toString('hex')}`;
  private readonly pfx: Buffer;
  readonly orders = new Map<string, SimOrder>();
  readonly refunds = new Map<string, SimRefund>();
  private readonly byQueryId = new Map<string, SimOrder | SimRefund>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly refundSettleMs: number;
  private readonly retryDelaysMs: number[];
  private readonly feeBps: number;

  constructor(
    private readonly deps: SimulatorDeps,
    options: UnionPaySimulatorOptions = {},
  ) {
    this.chain = generateTestChain({ now: deps.clock() });
    this.merchant = generateMerchantCert(this.merId, deps.clock());
    this.merchantCertId = certIdOf(this.merchant.cert);
    this.pfx = buildPkcs12(this.merchant.privateKey, [this.merchant.pem], this.pfxPassword);
    this.refundSettleMs = options.refundSettleMs ?? 300;
    this.retryDelaysMs = options.retryDelaysMs ?? UNIONPAY_RETRY_DELAYS_MS;
    this.feeBps = options.feeBps ?? 60;
  }

  private now(): number {
    return this.deps.clock();
  }

  profile(baseUrl: string): Record<string, unknown> {
    return {
      merId: this.merId,
      signCert: this.pfx.toString('base64'),
      signCertPassword: this.pfxPassword,
      middleCert: this.chain.middle.pem,
      rootCert: this.chain.root.pem,
      baseUrl,
      fileBaseUrl: baseUrl,
      // Where notifications go unless an order names its own: `pay sandbox --webhook-url`, else a sink here.
      backUrl: this.deps.webhookUrl?.() ?? `${baseUrl}${NOTIFY_SINK}`,
    };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  /** Signs fields as UnionPay does and orders them as its answers are (sorted, certificate and signature last). */
  private signed(fields: Record<string, string>, key: KeyObject = this.chain.sign.privateKey, certPem = this.chain.sign.pem): Record<string, string> {
    const s = signAsUnionPay(fields, key, certPem);
    const out: Record<string, string> = {};
    for (const k of Object.keys(s).filter((k) => k !== 'signPubKeyCert' && k !== 'signature').sort()) out[k] = s[k];
    out.signPubKeyCert = s.signPubKeyCert;
    out.signature = s.signature;
    return out;
  }

  private answer(fields: Record<string, string>): SimulatorResponse {
    return { status: 200, headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: serializeRawKv(this.signed(fields)) };
  }

  tamper(res: SimulatorResponse, kind: TamperKind): SimulatorResponse {
    const text = res.body === undefined ? '' : Buffer.isBuffer(res.body) ? res.body.toString('utf8') : res.body;
    if (!/(^|&)signature=/.test(text)) return res;
    let fields: Record<string, string>;
    try {
      fields = fieldsToRecord(parseRawKv(text)).record;
    } catch {
      return res;
    }
    if (kind === 'missingSignature') delete fields.signature;
    else {
      const sig = fields.signature;
      fields.signature = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    }
    return { ...res, body: serializeRawKv(fields) };
  }

  // ------------------------------------------------------------------------------------ HTTP

  async handle(req: SimulatorRequest): Promise<SimulatorResponse | undefined> {
    if (req.method !== 'POST') return undefined;
    const path = req.path;
    if (path === NOTIFY_SINK) return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
    const route = path === PATHS.front ? 'front' : path === PATHS.app ? 'app' : path === PATHS.back ? 'back' : path === PATHS.query ? 'query' : path === '/' || path === '/gateway/api/fileTransfer.do' ? 'file' : undefined;
    if (!route) return undefined;
    let f: Record<string, string> = {};
    try {
      f = this.verifyRequest(req.body);
      switch (route) {
        case 'front':
          return this.front(f);
        case 'app':
          return this.answer(this.consume(f, '08'));
        case 'back':
          return this.answer(this.back(f));
        case 'query':
          return this.answer(this.query(f));
        case 'file':
          return this.answer(await this.file(f));
      }
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      const fields: Record<string, string> = { version: f.version ?? '5.1.0', encoding: 'UTF-8', respCode: err.respCode, respMsg: err.respMsg };
      for (const k of ['bizType', 'txnType', 'txnSubType', 'accessType', 'merId', 'orderId', 'txnTime']) if (f[k]) fields[k] = f[k];
      if (route === 'front') return htmlPage(`交易失败 (respCode ${err.respCode})`, err.respMsg);
      return this.answer(fields);
    }
  }

  /** Parses and checks a merchant request: form, merchant, certificate id and signature. */
  private verifyRequest(body: Buffer): Record<string, string> {
    let f: Record<string, string>;
    try {
      const parsed = parseForm(body);
      const r = fieldsToRecord(parsed.fields);
      if (r.duplicate) throw new Error(`${r.duplicate} twice`);
      f = r.record;
    } catch (err) {
      throw new Refusal('10', `报文格式错误 (${(err as Error).message})`);
    }
    for (const k of ['version', 'encoding', 'signMethod', 'txnType', 'merId', 'accessType', 'signature']) {
      if (!f[k]) throw new Refusal('13', `报文交易要素缺失 [${k}]`);
    }
    if (!['0', '1', '2'].includes(f.accessType)) throw new Refusal('10', `报文格式错误 [accessType ${f.accessType}]`);
    // An acquirer (1) or platform (2) sends on behalf of a merchant and names itself.
    if (f.accessType === '1' && !f.acqInsCode) throw new Refusal('13', '报文交易要素缺失 [acqInsCode]');
    if (f.merId !== this.merId) throw new Refusal('31', `商户状态不正确 (unknown merId ${f.merId})`);
    if (f.signMethod !== '01' || (f.version !== '5.1.0' && f.version !== '5.0.0')) throw new Refusal('11', `${SIGN_FAILED} (the sandbox checks signMethod 01, version 5.1.0 or 5.0.0)`);
    if (f.certId !== this.merchantCertId) throw new Refusal('11', `${SIGN_FAILED} (unknown certId)`);
    if (!verifyRsa(f, this.merchant.publicKey, f.version as UnionPayVersion, 'utf-8')) throw new Refusal('11', SIGN_FAILED);
    return f;
  }

  private need(f: Record<string, string>, ...keys: string[]): void {
    for (const k of keys) if (!f[k]) throw new Refusal('13', `报文交易要素缺失 [${k}]`);
  }

  private amountOf(s: string): number {
    if (!/^[1-9]\d{0,11}$/.test(s)) throw new Refusal('10', `报文格式错误 [txnAmt ${s}]`);
    return Number(s);
  }

  /** The payer's browser posted the front-consume form: show the (sandbox) cashier. */
  private front(f: Record<string, string>): SimulatorResponse {
    const fields = this.consume(f, '07');
    return htmlPage('银联在线支付 (pay sandbox cashier)', `Order ${fields.orderId}, ${(Number(f.txnAmt) / 100).toFixed(2)} CNY. The sandbox payer pays with POST /__sandbox/pay {"orderNo":"${fields.orderId}"}.`);
  }

  private consume(f: Record<string, string>, channelType: string): Record<string, string> {
    this.need(f, 'orderId', 'txnTime', 'txnAmt', 'currencyCode', 'backUrl', 'txnSubType', 'bizType', 'channelType');
    if (f.txnType !== '01') throw new Refusal('10', `报文格式错误 [txnType ${f.txnType} on a consume path]`);
    // Consume sub-types: 01 self-service, 02 subscription, 03 instalments.
    if (!['01', '02', '03'].includes(f.txnSubType)) throw new Refusal('10', `报文格式错误 [txnSubType ${f.txnSubType}]`);
    if (f.channelType !== channelType) throw new Refusal('10', `报文格式错误 [channelType ${f.channelType}]`);
    if (f.currencyCode !== '156') throw new Refusal('10', `报文格式错误 [currencyCode ${f.currencyCode}]`);
    if (!/^[0-9A-Za-z]{8,40}$/.test(f.orderId)) throw new Refusal('10', `报文格式错误 [orderId]`);
    const sentMs = fromTxnTime(f.txnTime);
    if (sentMs === undefined) throw new Refusal('10', `报文格式错误 [txnTime]`);
    const amount = this.amountOf(f.txnAmt);
    if (this.orders.has(f.orderId) || this.refunds.has(f.orderId)) throw new Refusal('12', '重复交易');
    const order: SimOrder = { orderId: f.orderId, txnTime: f.txnTime, amount, channelType, backUrl: f.backUrl, createdMs: this.now(), status: 'unpaid', refunded: 0 };
    if (channelType === '08') order.tn = randomDigits(21);
    this.orders.set(order.orderId, order);
    const out: Record<string, string> = { version: f.version, encoding: 'UTF-8', bizType: f.bizType, txnType: '01', txnSubType: f.txnSubType, accessType: '0', merId: this.merId, orderId: f.orderId, txnTime: f.txnTime, respCode: '00', respMsg: OK_MSG };
    if (order.tn) out.tn = order.tn;
    return out;
  }

  private fee(amount: number): number {
    return feeInBasisPoints(amount, this.feeBps);
  }

  private back(f: Record<string, string>): Record<string, string> {
    this.need(f, 'orderId', 'txnTime', 'txnAmt', 'origQryId', 'backUrl', 'txnSubType', 'bizType');
    if (f.txnType !== '04' && f.txnType !== '31') throw new Refusal('10', `报文格式错误 [txnType ${f.txnType} on backTransReq]`);
    if (!/^[0-9A-Za-z]{8,40}$/.test(f.orderId) || fromTxnTime(f.txnTime) === undefined) throw new Refusal('10', '报文格式错误 [orderId/txnTime]');
    const amount = this.amountOf(f.txnAmt);
    if (this.orders.has(f.orderId) || this.refunds.has(f.orderId)) throw new Refusal('12', '重复交易');
    const orig = this.byQueryId.get(f.origQryId);
    if (!orig || !('status' in orig) || orig.status !== 'paid') throw new Refusal('35', '原交易不存在或状态不正确');
    const now = this.now();
    if (f.txnType === '31') {
      if (amount !== orig.amount) throw new Refusal('36', '与原交易信息不符 (a void undoes the whole amount)');
      if (orig.refunded > 0 || beijingDate(orig.paidMs!) !== beijingDate(now)) throw new Refusal('35', '原交易状态不正确 (a void is only for an untouched payment of the same day)');
    }
    if (amount > orig.amount - orig.refunded) throw new Refusal('33', '交易金额超限 (退货金额超过原交易可退金额)');
    orig.refunded += amount;
    const refund: SimRefund = {
      orderId: f.orderId,
      txnTime: f.txnTime,
      txnType: f.txnType as '04' | '31',
      amount,
      origQryId: f.origQryId,
      origOrderId: orig.orderId,
      backUrl: f.backUrl,
      reqReserved: f.reqReserved,
      queryId: randomDigits(21),
      traceNo: randomDigits(6),
      createdMs: now,
      settleMs: now + this.refundSettleMs,
      // A void returns the whole fee; a refund keeps it.
      fee: f.txnType === '31' ? -this.fee(orig.amount) : 0,
      notified: false,
    };
    this.refunds.set(refund.orderId, refund);
    this.byQueryId.set(refund.queryId, refund);
    this.later(this.refundSettleMs, () => this.notifyRefund(refund));
    const out: Record<string, string> = { version: f.version, encoding: 'UTF-8', bizType: f.bizType, txnType: f.txnType, txnSubType: f.txnSubType, accessType: '0', merId: this.merId, orderId: f.orderId, txnTime: f.txnTime, txnAmt: f.txnAmt, origQryId: f.origQryId, queryId: refund.queryId, respCode: '00', respMsg: OK_MSG };
    if (f.reqReserved) out.reqReserved = f.reqReserved;
    return out;
  }

  private query(f: Record<string, string>): Record<string, string> {
    if (f.txnType !== '00') throw new Refusal('10', `报文格式错误 [txnType ${f.txnType} on queryTrans]`);
    let found: SimOrder | SimRefund | undefined;
    if (f.txnSubType === '02') {
      this.need(f, 'queryId');
      found = this.byQueryId.get(f.queryId);
    } else {
      this.need(f, 'orderId', 'txnTime');
      const t = this.orders.get(f.orderId) ?? this.refunds.get(f.orderId);
      // merId + orderId + txnTime identify a transaction: a different txnTime is another (unknown) one.
      if (t && t.txnTime === f.txnTime) found = t;
    }
    const base: Record<string, string> = { version: f.version, encoding: 'UTF-8', bizType: f.bizType ?? '000000', txnType: '00', txnSubType: f.txnSubType ?? '00', accessType: '0', merId: this.merId };
    if (f.orderId) base.orderId = f.orderId;
    if (f.txnTime) base.txnTime = f.txnTime;
    // An order the payer has not paid is not a transaction yet.
    if (!found || ('status' in found && found.status === 'unpaid')) return { ...base, respCode: '34', respMsg: '查无此交易' };
    const out: Record<string, string> = { ...base, respCode: '00', respMsg: OK_MSG, orderId: found.orderId, txnTime: found.txnTime, txnAmt: String(found.amount), currencyCode: '156', queryId: found.queryId! };
    if ('status' in found) {
      out.txnType = '01';
      out.txnSubType = '01';
      out.bizType = '000201';
      if (found.status === 'paid') {
        Object.assign(out, { origRespCode: '00', origRespMsg: OK_MSG, traceNo: found.traceNo!, traceTime: toMonthDayTime(found.paidMs!), settleAmt: String(found.amount), settleCurrencyCode: '156', settleDate: toMonthDayTime(found.paidMs!).slice(0, 4) });
      } else {
        Object.assign(out, { origRespCode: '01', origRespMsg: '交易失败' });
      }
    } else {
      out.txnType = found.txnType;
      out.txnSubType = '00';
      out.bizType = '000201';
      out.origQryId = found.origQryId;
      if (found.reqReserved) out.reqReserved = found.reqReserved;
      if (this.now() >= found.settleMs) {
        Object.assign(out, { origRespCode: '00', origRespMsg: OK_MSG, traceNo: found.traceNo, traceTime: toMonthDayTime(found.settleMs), settleAmt: String(found.amount), settleCurrencyCode: '156', settleDate: toMonthDayTime(found.settleMs).slice(0, 4) });
      } else {
        Object.assign(out, { origRespCode: '05', origRespMsg: '交易已受理，请稍后查询交易结果' });
      }
    }
    return out;
  }

  /** Rows of the reconciliation file for a Beijing calendar date. */
  billRows(date: string): BillRow[] {
    const rows: BillRow[] = [];
    for (const o of this.orders.values()) {
      if (o.status !== 'paid' || beijingDate(o.paidMs!) !== date) continue;
      rows.push({ line: 0, orderNo: o.orderId, channelTradeNo: o.queryId, kind: 'payment', amountMinor: o.amount, feeMinor: this.fee(o.amount), currency: 'CNY', time: isoUtc(o.paidMs!) });
    }
    const now = this.now();
    for (const r of this.refunds.values()) {
      if (r.settleMs > now || beijingDate(r.settleMs) !== date) continue;
      rows.push({ line: 0, orderNo: r.origOrderId, refundNo: r.orderId, channelTradeNo: r.origQryId, kind: 'refund', amountMinor: -r.amount, feeMinor: r.fee, currency: 'CNY', time: isoUtc(r.settleMs) });
    }
    return rows.sort((a, b) => a.time.localeCompare(b.time));
  }

  private async file(f: Record<string, string>): Promise<Record<string, string>> {
    if (f.txnType !== '76') throw new Refusal('10', `报文格式错误 [txnType ${f.txnType} on file transfer]`);
    this.need(f, 'settleDate', 'txnTime', 'fileType');
    if (!/^\d{4}$/.test(f.settleDate)) throw new Refusal('10', '报文格式错误 [settleDate]');
    const today = beijingDate(this.now());
    // MMDD names the most recent such date that is not in the future.
    let year = Number(today.slice(0, 4));
    if (`${year}-${f.settleDate.slice(0, 2)}-${f.settleDate.slice(2)}` > today) year--;
    const date = `${year}-${f.settleDate.slice(0, 2)}-${f.settleDate.slice(2)}`;
    const base = { version: f.version, encoding: 'UTF-8', bizType: f.bizType ?? '000000', txnType: '76', txnSubType: f.txnSubType ?? '01', accessType: '0', merId: this.merId, txnTime: f.txnTime, settleDate: f.settleDate, fileType: f.fileType };
    if (Number.isNaN(Date.parse(`${date}T00:00:00Z`))) return { ...base, respCode: '98', respMsg: '文件不存在' };
    const names = billFileNames(date, this.merId);
    const path = join(this.deps.workDir, `${names.zip}.${randomBytes(4).toString('hex')}`);
    try {
      await writeUnionPayBill(path, this.billRows(date), { date, merchantId: this.merId });
      const zip = await readFile(path);
      return { ...base, respCode: '00', respMsg: OK_MSG, fileName: names.zip, fileContent: deflateSync(zip).toString('base64') };
    } finally {
      await rm(path, { force: true });
    }
  }

  // ------------------------------------------------------------------------------ payer side

  async simulatePayment(orderNo: string, outcome: 'succeeded' | 'failed' = 'succeeded'): Promise<void> {
    const o = this.orders.get(orderNo);
    if (!o) {
      throw invalid(`the UnionPay simulator has no order ${orderNo}`, {
        hint: 'An app order exists once appTransReq.do answered; a web order once the payer\'s browser posted its form to frontTransReq.do.',
      });
    }
    if (o.status !== 'unpaid') throw invalid(`order ${orderNo} is already ${o.status} at the UnionPay simulator`);
    const now = this.now();
    if (outcome === 'failed') {
      o.status = 'failed';
      o.queryId = randomDigits(21);
      this.byQueryId.set(o.queryId, o);
      return;
    }
    o.status = 'paid';
    o.paidMs = now;
    o.queryId = randomDigits(21);
    o.traceNo = randomDigits(6);
    this.byQueryId.set(o.queryId, o);
    this.notify(
      o.backUrl,
      {
        accessType: '0',
        bizType: '000201',
        currencyCode: '156',
        encoding: 'UTF-8',
        merId: this.merId,
        orderId: o.orderId,
        queryId: o.queryId,
        respCode: '00',
        respMsg: 'success',
        settleAmt: String(o.amount),
        settleCurrencyCode: '156',
        settleDate: toMonthDayTime(now).slice(0, 4),
        traceNo: o.traceNo,
        traceTime: toMonthDayTime(now),
        txnAmt: String(o.amount),
        txnSubType: '01',
        txnTime: o.txnTime,
        txnType: '01',
        version: '5.1.0',
      },
      `unionpay consume ${o.orderId}`,
    );
  }

  private notifyRefund(r: SimRefund): void {
    if (r.notified) return;
    r.notified = true;
    const fields: Record<string, string> = {
      accessType: '0',
      bizType: '000201',
      currencyCode: '156',
      encoding: 'UTF-8',
      merId: this.merId,
      orderId: r.orderId,
      origQryId: r.origQryId,
      queryId: r.queryId,
      respCode: '00',
      respMsg: 'success',
      settleAmt: String(r.amount),
      settleCurrencyCode: '156',
      settleDate: toMonthDayTime(r.settleMs).slice(0, 4),
      traceNo: r.traceNo,
      traceTime: toMonthDayTime(r.settleMs),
      txnAmt: String(r.amount),
      txnSubType: '00',
      txnTime: r.txnTime,
      txnType: r.txnType,
      version: '5.1.0',
    };
    if (r.reqReserved) fields.reqReserved = r.reqReserved;
    this.notify(r.backUrl, fields, `unionpay ${r.txnType === '31' ? 'void' : 'refund'} ${r.orderId}`);
  }

  private notify(url: string, fields: Record<string, string>, description: string): void {
    this.deps.notify({
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
      body: encodeForm(this.signed(fields), 'utf-8'),
      retryDelaysMs: this.retryDelaysMs,
      // UnionPay counts HTTP 200 as received; any other status (or none) is resent.
      accepted: (status) => status === 200,
      description,
    });
  }
}

/** What `pay sandbox` loads. */
export const simulator: SimulatorModule = {
  id: 'unionpay',
  create: (deps) => new UnionPaySimulator(deps),
};


/**
 * A local simulator of Alipay's OpenAPI gateway, served by the sandbox framework.
 *
 * As Alipay does: `POST|GET /gateway.do` with parameters in the query and/or a form body (UTF-8
 * or GBK by `charset`), the request signature checked with `sign_type` kept (a bad one answers
 * 40002 isv.invalid-signature; a missing `version` 40001 isv.missing-version; errors signed like
 * any answer, except gateway-level `error_response`s), answers `{"<method>_response":{...},"sign":"..."}` signed over
 * the raw member text (slashes escaped as Alipay's JSON writer does), certificate mode with
 * `app_cert_sn`/`alipay_root_cert_sn` checked and `alipay_cert_sn` sent. Trades: a precreated or
 * page trade does not exist for queries until the payer opens it (`ACQ.TRADE_NOT_EXIST`); the payer
 * pays on demand (`simulatePayment`, `POST /__sandbox/pay`) or after `autoPayAfterMs`; unpaid
 * trades close after their `timeout_express`; `alipay.trade.close` closes an opened unpaid trade,
 * `alipay.trade.cancel` closes an unpaid one (opened or not) or refunds a paid one. Refunds (partial, `out_request_no` idempotent,
 * bounded by what is left and by the balance), transfers, the balance, and the day's trade bill
 * as a GBK zip behind a short-lived download URL. Async notifies are signed form POSTs to the
 * order's notify_url in its charset, retried on Alipay's schedule (compressed) until the merchant
 * answers `success`.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TextDecoder } from 'node:util';
import type { BillRow } from '../../src/channel/contract.js';
import type { ChannelSimulator, SimulatorDeps, SimulatorModule, SimulatorRequest, SimulatorResponse, TamperKind } from '../../src/sandbox/contract.js';
import { feeInBasisPoints, htmlPage, randomDigits } from '../../src/sandbox/helpers.js';
import { invalid } from '../../src/core/errors.js';
import { formatAmount, parseAmount } from '../../src/core/money.js';
import { isoUtc, parseDate } from '../../src/core/time.js';
import { beijingToUtc, utcToBeijing } from './beijing-time.js';
import { billFileName, writeAlipayBill } from './bill.js';
import { buildNotify, encoderFor } from './callback.js';
import { certSn, rootCertSn } from './cert.js';
import { isSignType, loadPrivateKey, loadPublicKey, parseForm, signedBytes, signResponse, verifyContent, type AlipaySignType, type FormField } from './signature.js';

/** Alipay retries an unanswered notify at 4m, 10m, 10m, 1h, 2h, 6h, 15h; here in ms, 1000x faster. */
export const ALIPAY_NOTIFY_RETRY_MS = [240, 600, 600, 3_600, 7_200, 21_600, 54_000];

/** Simulator knobs (tests pass their own through {@link createAlipaySimulator}). */
export interface AlipaySimulatorOptions {
  /** The app id the simulator knows (default 2021000000000001). */
  appId?: string;
  /** The merchant PID (default 2088000000000001). */
  sellerId?: string;
  /** Certificate mode: test-made certificates and their private keys. */
  certs?: { appCert: string; alipayPublicCert: string; alipayRootCert: string; appPrivateKey: string; alipayPrivateKey: string };
  /** The payer pays this long after the trade is created (ms); absent: only on demand. */
  autoPayAfterMs?: number;
  /** Delays between notify attempts, ms. */
  retryDelaysMs?: number[];
  /** Opening balance of the merchant's account, fen (default 1,000,000.00 CNY). */
  openingBalanceMinor?: number;
  /** Alipay's service fee, basis points of each payment (default 60 = 0.6%). */
  feeBps?: number;
  /** Refuse the bill of the day in progress, as Alipay does (default false: served so far). */
  strictBillDays?: boolean;
}

type TradeStatus = 'NOT_OPENED' | 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED' | 'TRADE_FINISHED';

interface Trade {
  outTradeNo: string;
  tradeNo: string;
  totalMinor: number;
  subject: string;
  status: TradeStatus;
  notifyUrl?: string;
  charset: string;
  signType: AlipaySignType;
  createdMs: number;
  timeoutMs: number;
  paidMs?: number;
  closedMs?: number;
  feeMinor: number;
  buyerId: string;
  buyerLogonId: string;
  qrToken: string;
  /** An unopened trade past its timeout: its QR no longer works. */
  expired?: boolean;
  refunds: Map<string, { outRequestNo: string; amountMinor: number; feeMinor: number; ms: number; reason?: string }>;
  refundedMinor: number;
}

interface Transfer {
  outBizNo: string;
  orderId: string;
  payFundOrderId: string;
  amountMinor: number;
  identity: string;
  status: 'SUCCESS' | 'FAIL';
  ms: number;
}

/** An Alipay error answer. */
class GatewayError extends Error {
  constructor(
    readonly code: string,
    readonly msg: string,
    readonly subCode?: string,
    readonly subMsg?: string,
    /** Gateway-level errors come as an unsigned `error_response`. */
    readonly errorResponse = false,
  ) {
    super(subMsg ?? msg);
  }
}

const MISSING = (sub: string, what: string) => new GatewayError('40001', 'Missing Required Arguments', sub, `缺少必选参数${what}`);
const INVALID = (sub: string, what: string) => new GatewayError('40002', 'Invalid Arguments', sub, what);
const BUSINESS = (sub: string, what: string) => new GatewayError('40004', 'Business Failed', sub, what);

const METHODS = new Set([
  'alipay.trade.precreate',
  'alipay.trade.page.pay',
  'alipay.trade.wap.pay',
  'alipay.trade.query',
  'alipay.trade.close',
  'alipay.trade.cancel',
  'alipay.trade.refund',
  'alipay.trade.fastpay.refund.query',
  'alipay.fund.trans.uni.transfer',
  'alipay.fund.trans.common.query',
  'alipay.fund.account.query',
  'alipay.data.dataservice.bill.downloadurl.query',
]);

/** Alipay's JSON writer escapes `/`: the signed text is not what JSON.stringify gives. */
function alipayJson(value: unknown): string {
  return JSON.stringify(value).replaceAll('/', '\\/');
}

function yuanOf(text: unknown, field: string): number {
  if (typeof text !== 'string' || !/^\d+(\.\d{1,2})?$/.test(text)) throw INVALID('isv.invalid-parameter', `参数${field}不合法`);
  const minor = parseAmount(text, 'CNY', { allowZero: true });
  if (minor < 1 || minor > 10_000_000_000) throw INVALID('isv.invalid-parameter', `参数${field}超出范围`);
  return minor;
}

function need(biz: Record<string, unknown>, key: string, max = 64): string {
  const v = biz[key];
  if (v === undefined || v === null || v === '') throw INVALID('isv.invalid-parameter', `缺少必选参数${key}`);
  if (typeof v !== 'string' || [...v].length > max) throw INVALID('isv.invalid-parameter', `参数${key}不合法`);
  return v;
}

/** The Alipay simulator. */
export class AlipaySimulator implements ChannelSimulator {
  readonly id = 'alipay';
  readonly appId: string;
  readonly sellerId: string;
  private readonly appKey: KeyObject;
  private readonly appPrivatePem: string;
  private readonly alipayKey: KeyObject;
  private readonly alipayPublicPem: string;
  private readonly cert?: { appCertSn: string; alipayCertSn: string; rootSn: string; texts: NonNullable<AlipaySimulatorOptions['certs']> };
  /** Trades by out_trade_no (one per number, as at Alipay; tests count them). */
  readonly trades = new Map<string, Trade>();
  private readonly byQrToken = new Map<string, Trade>();
  private readonly transfers = new Map<string, Transfer>();
  private readonly bills = new Map<string, { path: string; name: string; expiresMs: number }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private balanceMinor: number;
  private readonly feeBps: number;
  private readonly retryDelaysMs: number[];

  constructor(
    private readonly deps: SimulatorDeps,
    private readonly options: AlipaySimulatorOptions = {},
  ) {
    this.appId = options.appId ?? '2021000000000001';
    this.sellerId = options.sellerId ?? '2088000000000001';
    this.balanceMinor = options.openingBalanceMinor ?? 100_000_000;
    this.feeBps = options.feeBps ?? 60;
    this.retryDelaysMs = options.retryDelaysMs ?? ALIPAY_NOTIFY_RETRY_MS;
    if (options.certs) {
      const c = options.certs;
      this.appKey = loadPublicKey(c.appCert);
      this.appPrivatePem = c.appPrivateKey;
      this.alipayKey = loadPrivateKey(c.alipayPrivateKey);
      this.alipayPublicPem = c.alipayPublicCert;
      this.cert = { appCertSn: certSn(c.appCert), alipayCertSn: certSn(c.alipayPublicCert), rootSn: rootCertSn(c.alipayRootCert), texts: c };
    } else {
      // Test-only key pairs, made fresh for every simulator.
      const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const ali = generateKeyPairSync('rsa', { modulusLength: 2048 });
      this.appKey = app.publicKey;
      this.appPrivatePem = app.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      this.alipayKey = ali.privateKey;
      this.alipayPublicPem = ali.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    }
  }

  profile(baseUrl: string): Record<string, unknown> {
    const p: Record<string, unknown> = { appId: this.appId, privateKey: this.appPrivatePem, gateway: `${baseUrl}/gateway.do`, sellerId: this.sellerId };
    if (this.cert) {
      p.appCert = this.cert.texts.appCert;
      p.alipayPublicCert = this.cert.texts.alipayPublicCert;
      p.alipayRootCert = this.cert.texts.alipayRootCert;
    } else p.alipayPublicKey = this.alipayPublicPem;
    return p;
  }

  private now(): number {
    return this.deps.clock();
  }

  private base(req: SimulatorRequest): string {
    return this.deps.baseUrl?.() || `http://${req.headers.host ?? '127.0.0.1'}`;
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  async handle(req: SimulatorRequest): Promise<SimulatorResponse | undefined> {
    if (req.path === '/gateway.do' && (req.method === 'POST' || req.method === 'GET')) return this.gateway(req);
    if (req.path === '/downloadBillFile.resource' && req.method === 'GET') return this.serveBill(req);
    const qr = /^\/qr\/([A-Za-z0-9]+)$/.exec(req.path);
    if (qr && req.method === 'GET') return this.openQr(qr[1]);
    return undefined;
  }

  private answer(member: string, body: Record<string, unknown>, signed = true): SimulatorResponse {
    const content = alipayJson(body);
    const text = signed ? signResponse(member, content, this.alipayKey, { certSn: this.cert?.alipayCertSn }) : `{${JSON.stringify(member)}:${content}}`;
    return { status: 200, headers: { 'content-type': 'application/json;charset=utf-8' }, body: text };
  }

  /** The gateway's parameters: the query's, overridden by a form body's. */
  private gatewayFields(req: SimulatorRequest): FormField[] {
    const fields: FormField[] = [...parseForm(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '')];
    const ctype = req.headers['content-type'] ?? '';
    if (req.method === 'POST' && req.body.length && /x-www-form-urlencoded/i.test(ctype)) {
      for (const f of parseForm(req.body)) {
        const i = fields.findIndex((g) => g.key === f.key);
        if (i >= 0) fields[i] = f;
        else fields.push(f);
      }
    }
    return fields;
  }

  /** The OpenAPI method a gateway request calls (faults match it by name). */
  operation(req: SimulatorRequest): string | undefined {
    if (req.path !== '/gateway.do') return undefined;
    try {
      return this.gatewayFields(req).find((f) => f.key === 'method')?.value.toString('latin1');
    } catch {
      return undefined;
    }
  }

  private async gateway(req: SimulatorRequest): Promise<SimulatorResponse> {
    const fields = this.gatewayFields(req);
    const raw = (k: string) => fields.find((f) => f.key === k)?.value.toString('latin1');
    const method = raw('method');
    const member = method && METHODS.has(method) ? `${method.replaceAll('.', '_')}_response` : 'error_response';
    try {
      const charset = (raw('charset') || 'utf-8').toLowerCase();
      if (!['utf-8', 'utf8', 'gbk', 'gb2312'].includes(charset)) throw new GatewayError('40002', 'Invalid Arguments', 'isv.invalid-charset', '字符集错误', true);
      const dec = new TextDecoder(charset.startsWith('gb') ? 'gb18030' : 'utf-8');
      const p: Record<string, string> = {};
      for (const f of fields) p[f.key] = dec.decode(f.value);
      if (!p.app_id) throw Object.assign(MISSING('isv.missing-app-id', 'app_id'), { errorResponse: member === 'error_response' });
      if (!method) throw new GatewayError('40001', 'Missing Required Arguments', 'isv.missing-method', '缺少方法名参数', true);
      if (!METHODS.has(method)) throw new GatewayError('40002', 'Invalid Arguments', 'isv.invalid-method', '不存在的方法名', true);
      if (p.app_id !== this.appId) throw INVALID('isv.invalid-app-id', '无效的AppID参数');
      if (p.format && p.format.toUpperCase() !== 'JSON') throw INVALID('isv.invalid-format', '无效的数据格式');
      if (!p.sign) throw MISSING('isv.missing-signature', 'sign');
      if (!p.sign_type) throw MISSING('isv.missing-signature-type', 'sign_type');
      if (!isSignType(p.sign_type)) throw INVALID('isv.invalid-signature-type', '无效的签名类型');
      if (!p.timestamp) throw MISSING('isv.missing-timestamp', 'timestamp');
      if (!p.version) throw new GatewayError('40001', 'Missing Required Arguments', 'isv.missing-version', '缺少版本参数');
      if (p.version !== '1.0') throw INVALID('isv.invalid-parameter', `参数version不合法 (${p.version.slice(0, 10)})`);
      if (Number.isNaN(beijingToUtc(p.timestamp))) throw INVALID('isv.invalid-timestamp', '非法的时间戳参数');
      if (this.cert) {
        if (!p.app_cert_sn) throw MISSING('isv.missing-app-cert-sn', 'app_cert_sn');
        if (p.app_cert_sn !== this.cert.appCertSn) throw INVALID('isv.invalid-app-cert-sn', '应用公钥证书序列号不匹配');
        if (!p.alipay_root_cert_sn) throw MISSING('isv.missing-alipay-root-cert-sn', 'alipay_root_cert_sn');
        if (p.alipay_root_cert_sn !== this.cert.rootSn) throw INVALID('isv.invalid-alipay-root-cert-sn', '支付宝根证书序列号不匹配');
      }
      const content = signedBytes(fields, true);
      if (!verifyContent(content, p.sign, this.appKey, p.sign_type)) {
        throw INVALID('isv.invalid-signature', `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${dec.decode(content)}`);
      }
      let biz: Record<string, unknown> = {};
      if (p.biz_content) {
        try {
          const v = JSON.parse(p.biz_content) as unknown;
          if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
          biz = v as Record<string, unknown>;
        } catch {
          throw INVALID('isv.invalid-parameter', 'biz_content不是合法的JSON');
        }
      }
      const ctx = { p, biz, charset: charset.startsWith('gb') ? 'gbk' : 'utf-8', signType: p.sign_type as AlipaySignType, base: this.base(req) };
      if (method === 'alipay.trade.page.pay' || method === 'alipay.trade.wap.pay') return this.pagePay(ctx);
      const result = await this.dispatch(method, ctx);
      return this.answer(member, { code: '10000', msg: 'Success', ...result });
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      const body: Record<string, unknown> = { code: err.code, msg: err.msg };
      if (err.subCode) body.sub_code = err.subCode;
      if (err.subMsg) body.sub_msg = err.subMsg;
      if (method === 'alipay.trade.page.pay' || method === 'alipay.trade.wap.pay') return { ...htmlPage('支付宝 - 错误', `${err.subCode ?? err.code}: ${err.subMsg ?? err.msg}`), status: 200 };
      return this.answer(err.errorResponse ? 'error_response' : member, body, !err.errorResponse);
    }
  }

  private async dispatch(method: string, ctx: Ctx): Promise<Record<string, unknown>> {
    switch (method) {
      case 'alipay.trade.precreate':
        return this.precreate(ctx);
      case 'alipay.trade.query':
        return this.query(ctx.biz);
      case 'alipay.trade.close':
        return this.closeTrade(ctx.biz);
      case 'alipay.trade.cancel':
        return this.cancelTrade(ctx.biz);
      case 'alipay.trade.refund':
        return this.refund(ctx.biz);
      case 'alipay.trade.fastpay.refund.query':
        return this.refundQuery(ctx.biz);
      case 'alipay.fund.trans.uni.transfer':
        return this.transfer(ctx.biz);
      case 'alipay.fund.trans.common.query':
        return this.transferQuery(ctx.biz);
      case 'alipay.fund.account.query':
        return this.accountQuery(ctx.biz);
      case 'alipay.data.dataservice.bill.downloadurl.query':
        return this.billUrl(ctx.biz, ctx.base);
      default:
        throw new GatewayError('40002', 'Invalid Arguments', 'isv.invalid-method', '不存在的方法名', true);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Trades

  /**
   * Applies the passage of time: an opened, unpaid trade closes at its timeout; an unopened one
   * simply expires (it never existed for Alipay's queries).
   */
  private settle(t: Trade): Trade {
    if (this.now() < t.createdMs + t.timeoutMs) return t;
    if (t.status === 'WAIT_BUYER_PAY') {
      t.status = 'TRADE_CLOSED';
      t.closedMs = t.createdMs + t.timeoutMs;
    } else if (t.status === 'NOT_OPENED') t.expired = true;
    return t;
  }

  private find(biz: Record<string, unknown>): Trade | undefined {
    const out = typeof biz.out_trade_no === 'string' ? biz.out_trade_no : undefined;
    const tn = typeof biz.trade_no === 'string' ? biz.trade_no : undefined;
    if (!out && !tn) throw INVALID('isv.invalid-parameter', 'out_trade_no和trade_no不能同时为空');
    const t = out ? this.trades.get(out) : [...this.trades.values()].find((x) => x.tradeNo === tn);
    return t ? this.settle(t) : undefined;
  }

  /** A trade the payer has opened (an unopened QR is unknown to Alipay's queries). */
  private existing(biz: Record<string, unknown>): Trade {
    const t = this.find(biz);
    if (!t || t.status === 'NOT_OPENED') throw BUSINESS('ACQ.TRADE_NOT_EXIST', '交易不存在');
    return t;
  }

  private timeoutOf(biz: Record<string, unknown>): number {
    const te = typeof biz.timeout_express === 'string' ? /^(\d+)([mhdc])$/.exec(biz.timeout_express) : null;
    if (!te) return 120 * 60_000;
    const n = Number(te[1]);
    return n * ({ m: 60_000, h: 3_600_000, d: 86_400_000, c: 86_400_000 } as Record<string, number>)[te[2]];
  }

  private newTrade(ctx: Ctx, status: TradeStatus): Trade {
    const { biz } = ctx;
    const outTradeNo = need(biz, 'out_trade_no');
    const totalMinor = yuanOf(biz.total_amount, 'total_amount');
    const subject = need(biz, 'subject', 256);
    const found = this.trades.get(outTradeNo);
    const existing = found && !this.settle(found).expired ? found : undefined;
    if (existing) {
      if (existing.status === 'TRADE_SUCCESS' || existing.status === 'TRADE_FINISHED') throw BUSINESS('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
      if (existing.status === 'TRADE_CLOSED') throw BUSINESS('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
      if (existing.totalMinor !== totalMinor || existing.subject !== subject) throw BUSINESS('ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改');
      if (status === 'WAIT_BUYER_PAY' && existing.status === 'NOT_OPENED') this.open(existing);
      return existing;
    }
    const now = this.now();
    const t: Trade = {
      outTradeNo,
      tradeNo: `${utcToBeijing(now).slice(0, 10).replaceAll('-', '')}22001${randomDigits(15)}`,
      totalMinor,
      subject,
      status: 'NOT_OPENED',
      notifyUrl: ctx.p.notify_url || this.deps.webhookUrl?.(),
      charset: ctx.charset,
      signType: ctx.signType,
      createdMs: now,
      timeoutMs: this.timeoutOf(biz),
      feeMinor: feeInBasisPoints(totalMinor, this.feeBps),
      buyerId: '',
      buyerLogonId: '',
      qrToken: randomBytes(12).toString('hex'),
      refunds: new Map(),
      refundedMinor: 0,
    };
    this.trades.set(outTradeNo, t);
    this.byQrToken.set(t.qrToken, t);
    if (status === 'WAIT_BUYER_PAY') this.open(t);
    if (this.options.autoPayAfterMs !== undefined) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.simulatePayment(outTradeNo).catch((err) => this.deps.log(`auto-pay of ${outTradeNo} failed: ${(err as Error).message}`));
      }, this.options.autoPayAfterMs);
      timer.unref?.();
      this.timers.add(timer);
    }
    return t;
  }

  /** The payer opens the trade (scans the QR or loads the cashier page). */
  private open(t: Trade): void {
    if (t.status !== 'NOT_OPENED') return;
    t.status = 'WAIT_BUYER_PAY';
    t.buyerId = `2088${randomDigits(12)}`;
    t.buyerLogonId = `sb***@sandbox.example`;
  }

  private precreate(ctx: Ctx): Record<string, unknown> {
    const t = this.newTrade(ctx, 'NOT_OPENED');
    return { out_trade_no: t.outTradeNo, qr_code: `${ctx.base}/qr/${t.qrToken}` };
  }

  private pagePay(ctx: Ctx): SimulatorResponse {
    const t = this.newTrade(ctx, 'WAIT_BUYER_PAY');
    return htmlPage('支付宝 - 网上支付 收银台 (sandbox)', `订单 ${t.outTradeNo}: ${formatAmount(t.totalMinor, 'CNY')} 元, ${t.subject}. POST /__sandbox/pay {"orderNo":"${t.outTradeNo}"} to pay.`);
  }

  private openQr(token: string): SimulatorResponse {
    const t = this.byQrToken.get(token);
    if (!t || this.settle(t).expired) return { status: 404, headers: { 'content-type': 'text/plain;charset=utf-8' }, body: '二维码已失效' };
    this.open(t);
    return htmlPage('支付宝 - 扫码支付 (sandbox)', `订单 ${t.outTradeNo}: ${formatAmount(t.totalMinor, 'CNY')} 元, 状态 ${t.status}.`);
  }

  private query(biz: Record<string, unknown>): Record<string, unknown> {
    const t = this.existing(biz);
    const out: Record<string, unknown> = {
      trade_no: t.tradeNo,
      out_trade_no: t.outTradeNo,
      buyer_logon_id: t.buyerLogonId,
      trade_status: t.status,
      total_amount: formatAmount(t.totalMinor, 'CNY'),
      buyer_pay_amount: t.paidMs ? formatAmount(t.totalMinor, 'CNY') : '0.00',
      point_amount: '0.00',
      invoice_amount: t.paidMs ? formatAmount(t.totalMinor, 'CNY') : '0.00',
      receipt_amount: t.paidMs ? formatAmount(t.totalMinor, 'CNY') : '0.00',
      buyer_user_id: t.buyerId,
    };
    if (t.paidMs) {
      out.send_pay_date = utcToBeijing(t.paidMs);
      out.fund_bill_list = [{ fund_channel: 'ALIPAYACCOUNT', amount: formatAmount(t.totalMinor, 'CNY') }];
    }
    return out;
  }

  private closeTrade(biz: Record<string, unknown>): Record<string, unknown> {
    const t = this.existing(biz);
    if (t.status !== 'WAIT_BUYER_PAY') throw BUSINESS('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    t.status = 'TRADE_CLOSED';
    t.closedMs = this.now();
    return { trade_no: t.tradeNo, out_trade_no: t.outTradeNo };
  }

  /**
   * alipay.trade.cancel: for a trade whose create got no answer. An unpaid trade (opened or not)
   * is closed (its QR stops working), a paid one is refunded in full; `action` says which.
   */
  private cancelTrade(biz: Record<string, unknown>): Record<string, unknown> {
    const t = this.find(biz);
    if (!t || t.expired) throw BUSINESS('ACQ.TRADE_NOT_EXIST', '交易不存在');
    const base = { trade_no: t.tradeNo, out_trade_no: t.outTradeNo, retry_flag: 'N' };
    if (t.status === 'NOT_OPENED' || t.status === 'WAIT_BUYER_PAY') {
      t.status = 'TRADE_CLOSED';
      t.closedMs = this.now();
      return { ...base, action: 'close' };
    }
    if (t.status === 'TRADE_CLOSED') return { ...base, action: t.paidMs ? 'refund' : 'close' };
    if (t.status !== 'TRADE_SUCCESS' || t.refundedMinor > 0) throw BUSINESS('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    const now = this.now();
    t.refunds.set(t.outTradeNo, { outRequestNo: t.outTradeNo, amountMinor: t.totalMinor, feeMinor: t.feeMinor, ms: now, reason: 'cancel' });
    t.refundedMinor = t.totalMinor;
    this.balanceMinor -= t.totalMinor - t.feeMinor;
    t.status = 'TRADE_CLOSED';
    t.closedMs = now;
    return { ...base, action: 'refund', gmt_refund_pay: utcToBeijing(now) };
  }

  private refund(biz: Record<string, unknown>): Record<string, unknown> {
    const t = this.existing(biz);
    const amount = yuanOf(biz.refund_amount, 'refund_amount');
    const outRequestNo = typeof biz.out_request_no === 'string' && biz.out_request_no !== '' ? biz.out_request_no : t.outTradeNo;
    const base = { trade_no: t.tradeNo, out_trade_no: t.outTradeNo, buyer_logon_id: t.buyerLogonId, buyer_user_id: t.buyerId };
    const seen = t.refunds.get(outRequestNo);
    if (seen) {
      // The same request again: its original result, with no funds moved this time.
      if (seen.amountMinor !== amount) throw BUSINESS('ACQ.DISCORDANT_REPEAT_REQUEST', '请求信息不一致');
      return { ...base, fund_change: 'N', refund_fee: formatAmount(t.refundedMinor, 'CNY'), gmt_refund_pay: utcToBeijing(seen.ms) };
    }
    if (!t.paidMs || (t.status !== 'TRADE_SUCCESS' && !(t.status === 'TRADE_CLOSED' && t.refundedMinor > 0))) throw BUSINESS('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    if (t.refundedMinor + amount > t.totalMinor) throw BUSINESS('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限');
    if (this.balanceMinor < amount) throw BUSINESS('ACQ.SELLER_BALANCE_NOT_ENOUGH', '卖家余额不足');
    const now = this.now();
    // Alipay gives back the service fee in proportion to what is refunded.
    const fee = t.refundedMinor + amount === t.totalMinor ? t.feeMinor - [...t.refunds.values()].reduce((s, r) => s + r.feeMinor, 0) : feeInBasisPoints(amount, this.feeBps);
    t.refunds.set(outRequestNo, { outRequestNo, amountMinor: amount, feeMinor: fee, ms: now, reason: typeof biz.refund_reason === 'string' ? biz.refund_reason : undefined });
    t.refundedMinor += amount;
    this.balanceMinor -= amount - fee;
    if (t.refundedMinor === t.totalMinor) {
      t.status = 'TRADE_CLOSED';
      t.closedMs = now;
    }
    void this.notifyTrade(t, { out_biz_no: outRequestNo, refund_fee: formatAmount(t.refundedMinor, 'CNY'), gmt_refund: `${utcToBeijing(now)}.000` });
    return { ...base, fund_change: 'Y', refund_fee: formatAmount(t.refundedMinor, 'CNY'), gmt_refund_pay: utcToBeijing(now) };
  }

  private refundQuery(biz: Record<string, unknown>): Record<string, unknown> {
    const t = this.existing(biz);
    const outRequestNo = need(biz, 'out_request_no');
    const r = t.refunds.get(outRequestNo);
    const base = { trade_no: t.tradeNo, out_trade_no: t.outTradeNo, out_request_no: outRequestNo };
    if (!r) return base;
    const out: Record<string, unknown> = { ...base, total_amount: formatAmount(t.totalMinor, 'CNY'), refund_amount: formatAmount(r.amountMinor, 'CNY'), refund_status: 'REFUND_SUCCESS' };
    if (Array.isArray(biz.query_options) && biz.query_options.includes('gmt_refund_pay')) out.gmt_refund_pay = utcToBeijing(r.ms);
    if (r.reason) out.refund_reason = r.reason;
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Transfers and balance

  private transfer(biz: Record<string, unknown>): Record<string, unknown> {
    const outBizNo = need(biz, 'out_biz_no');
    const amount = yuanOf(biz.trans_amount, 'trans_amount');
    if (biz.product_code !== 'TRANS_ACCOUNT_NO_PWD') throw BUSINESS('INVALID_PARAMETER', 'product_code不支持');
    const payee = biz.payee_info as Record<string, unknown> | undefined;
    if (!payee || typeof payee.identity !== 'string' || typeof payee.identity_type !== 'string') throw BUSINESS('INVALID_PARAMETER', '收款方信息不完整');
    const seen = this.transfers.get(outBizNo);
    if (seen) {
      if (seen.amountMinor !== amount || seen.identity !== payee.identity) throw BUSINESS('INVALID_PARAMETER', '同一外部订单号的请求参数不一致');
      return this.transferAnswer(seen);
    }
    if (amount < 10) throw BUSINESS('EXCEED_LIMIT_SM_MIN_AMOUNT', '单笔最低转账金额0.1元');
    if (payee.identity_type === 'ALIPAY_LOGON_ID' && !payee.name) throw BUSINESS('PAYEE_USER_INFO_ERROR', '支付宝账号和姓名不匹配，请确认姓名是否正确');
    if (/notexist|nobody/i.test(payee.identity)) throw BUSINESS('PAYEE_NOT_EXIST', '收款账号不存在');
    if (payee.identity_type === 'ALIPAY_USER_ID' && !/^2088\d{12}$/.test(payee.identity)) throw BUSINESS('PAYEE_NOT_EXIST', '收款账号不存在');
    if (payee.name === 'WRONG NAME') throw BUSINESS('PAYEE_USER_INFO_ERROR', '支付宝账号和姓名不匹配，请确认姓名是否正确');
    if (this.balanceMinor < amount) throw BUSINESS('BALANCE_IS_NOT_ENOUGH', '付款方余额不足');
    this.balanceMinor -= amount;
    const now = this.now();
    const day = utcToBeijing(now).slice(0, 10).replaceAll('-', '');
    const t: Transfer = { outBizNo, orderId: `${day}110070000${randomDigits(13)}`, payFundOrderId: `${day}110070001${randomDigits(13)}`, amountMinor: amount, identity: payee.identity, status: 'SUCCESS', ms: now };
    this.transfers.set(outBizNo, t);
    return this.transferAnswer(t);
  }

  private transferAnswer(t: Transfer): Record<string, unknown> {
    return { out_biz_no: t.outBizNo, order_id: t.orderId, pay_fund_order_id: t.payFundOrderId, status: t.status, trans_date: utcToBeijing(t.ms) };
  }

  private transferQuery(biz: Record<string, unknown>): Record<string, unknown> {
    const outBizNo = typeof biz.out_biz_no === 'string' ? biz.out_biz_no : undefined;
    const orderId = typeof biz.order_id === 'string' ? biz.order_id : undefined;
    if (!outBizNo && !orderId) throw INVALID('isv.invalid-parameter', 'out_biz_no和order_id不能同时为空');
    const t = outBizNo ? this.transfers.get(outBizNo) : [...this.transfers.values()].find((x) => x.orderId === orderId);
    if (!t) throw BUSINESS('ORDER_NOT_EXIST', '转账订单不存在');
    return { order_id: t.orderId, pay_fund_order_id: t.payFundOrderId, out_biz_no: t.outBizNo, trans_amount: formatAmount(t.amountMinor, 'CNY'), status: t.status, pay_date: utcToBeijing(t.ms), order_fee: '0.00' };
  }

  private accountQuery(biz: Record<string, unknown>): Record<string, unknown> {
    if (biz.alipay_user_id !== undefined && biz.alipay_user_id !== this.sellerId) throw BUSINESS('INVALID_PARAMETER', '用户ID不合法');
    return { available_amount: formatAmount(this.balanceMinor, 'CNY'), freeze_amount: '0.00' };
  }

  // -------------------------------------------------------------------------------------------
  // Bills

  /** The day's trade rows (Beijing day): payments when paid, refunds when refunded. */
  billRows(date: string): BillRow[] {
    const start = beijingToUtc(`${date} 00:00:00`);
    const end = start + 86_400_000;
    const rows: BillRow[] = [];
    for (const t of this.trades.values()) {
      if (t.paidMs !== undefined && t.paidMs >= start && t.paidMs < end) {
        rows.push({ line: 0, orderNo: t.outTradeNo, channelTradeNo: t.tradeNo, kind: 'payment', amountMinor: t.totalMinor, feeMinor: t.feeMinor, currency: 'CNY', time: isoUtc(t.paidMs), status: 'succeeded' });
      }
      for (const r of t.refunds.values()) {
        if (r.ms >= start && r.ms < end) {
          rows.push({ line: 0, orderNo: t.outTradeNo, channelTradeNo: t.tradeNo, kind: 'refund', refundNo: r.outRequestNo, amountMinor: -r.amountMinor, feeMinor: -r.feeMinor, currency: 'CNY', time: isoUtc(r.ms), status: 'succeeded' });
        }
      }
    }
    return rows.sort((a, b) => a.time.localeCompare(b.time));
  }

  private async billUrl(biz: Record<string, unknown>, base: string): Promise<Record<string, unknown>> {
    const type = need(biz, 'bill_type');
    const dateText = need(biz, 'bill_date');
    if (type !== 'trade' && type !== 'signcustomer') throw INVALID('isv.invalid-parameter', 'bill_type不合法');
    let date: string;
    try {
      date = parseDate(dateText);
    } catch {
      throw INVALID('isv.invalid-parameter', 'bill_date格式不正确');
    }
    // Alipay has a day's bill once the day is over in Beijing; the sandbox also serves the day in
    // progress (so far), so a demo can reconcile today, unless `strictBillDays` asks for realism.
    const dayStart = beijingToUtc(`${date} 00:00:00`);
    if (dayStart > this.now() || (this.options.strictBillDays && dayStart + 86_400_000 > this.now())) throw BUSINESS('isp.bill_not_exist', '账单不存在');
    if (type !== 'trade') throw BUSINESS('isp.bill_not_exist', '账单不存在');
    const name = billFileName(this.sellerId, date);
    const fileId = randomBytes(16).toString('hex');
    const path = join(this.deps.workDir, `${fileId}.zip`);
    await writeAlipayBill(path, this.billRows(date), { date, merchantId: this.sellerId, variant: 'zip' });
    // Alipay's download links are valid for 30 seconds.
    this.bills.set(fileId, { path, name, expiresMs: this.now() + 30_000 });
    const q = new URLSearchParams({ bizType: type, userId: this.sellerId, fileType: 'csv.zip', bizDates: date.replaceAll('-', ''), downloadFileName: name, fileId, timestamp: String(this.now()), token: randomBytes(16).toString('hex') });
    return { bill_download_url: `${base}/downloadBillFile.resource?${q.toString()}` };
  }

  private async serveBill(req: SimulatorRequest): Promise<SimulatorResponse> {
    const bill = this.bills.get(req.query.get('fileId') ?? '');
    if (!bill || this.now() > bill.expiresMs) return { status: 404, headers: { 'content-type': 'text/plain;charset=utf-8' }, body: '下载链接已失效' };
    return {
      status: 200,
      headers: { 'content-type': 'application/oct-stream;charset=UTF-8', 'content-disposition': `attachment;filename=${encodeURIComponent(bill.name)}` },
      body: await readFile(bill.path),
    };
  }

  // -------------------------------------------------------------------------------------------
  // The payer, notifications, faults

  async simulatePayment(orderNo: string, outcome: 'succeeded' | 'failed' = 'succeeded'): Promise<void> {
    const t = this.trades.get(orderNo);
    if (!t) throw invalid(`the Alipay simulator has no trade ${orderNo}`, { hint: 'Create it first (precreate, or open the page pay URL).' });
    if (this.settle(t).expired) throw invalid(`Alipay trade ${orderNo} expired unopened; its QR code no longer works`);
    if (t.status !== 'NOT_OPENED' && t.status !== 'WAIT_BUYER_PAY') throw invalid(`Alipay trade ${orderNo} is ${t.status}; only a trade waiting for payment can be paid`);
    this.open(t);
    const now = this.now();
    if (outcome === 'failed') {
      // Alipay has no "failed" trade: an abandoned one is closed.
      t.status = 'TRADE_CLOSED';
      t.closedMs = now;
      await this.notifyTrade(t, { gmt_close: utcToBeijing(now) });
      return;
    }
    t.status = 'TRADE_SUCCESS';
    t.paidMs = now;
    this.balanceMinor += t.totalMinor - t.feeMinor;
    await this.notifyTrade(t, {});
  }

  /** Sends a trade_status_sync notify for the trade's current state (plus `extra` fields). */
  private async notifyTrade(t: Trade, extra: Record<string, string>): Promise<void> {
    if (!t.notifyUrl) {
      this.deps.log(`no notify_url for ${t.outTradeNo}; notification not sent`);
      return;
    }
    const now = this.now();
    const amount = formatAmount(t.totalMinor, 'CNY');
    const fields: Record<string, string> = {
      gmt_create: utcToBeijing(t.createdMs),
      charset: t.charset,
      seller_email: 'sandbox-seller@example.com',
      subject: t.subject,
      buyer_id: t.buyerId,
      invoice_amount: amount,
      notify_id: `${utcToBeijing(now).slice(0, 10).replaceAll('-', '')}00222${randomDigits(23)}`,
      fund_bill_list: JSON.stringify([{ amount, fundChannel: 'ALIPAYACCOUNT' }]),
      notify_type: 'trade_status_sync',
      trade_status: t.status,
      receipt_amount: amount,
      app_id: this.appId,
      buyer_pay_amount: amount,
      sign_type: t.signType,
      seller_id: this.sellerId,
      notify_time: utcToBeijing(now),
      version: '1.0',
      out_trade_no: t.outTradeNo,
      total_amount: amount,
      trade_no: t.tradeNo,
      auth_app_id: this.appId,
      buyer_logon_id: t.buyerLogonId,
      point_amount: '0.00',
      ...extra,
    };
    if (t.paidMs) fields.gmt_payment = utcToBeijing(t.paidMs);
    if (this.cert) fields.alipay_cert_sn = this.cert.alipayCertSn;
    const encode = await encoderFor(t.charset);
    const req = buildNotify(fields, this.alipayKey, { charset: t.charset, encode, signType: t.signType });
    this.deps.notify({
      url: t.notifyUrl,
      headers: req.headers,
      body: req.body,
      retryDelaysMs: this.retryDelaysMs,
      accepted: (status, body) => status === 200 && body.trim() === 'success',
      description: `alipay trade_status_sync ${t.outTradeNo} ${t.status}${extra.out_biz_no ? ` refund ${extra.out_biz_no}` : ''}`,
    });
  }

  tamper(res: SimulatorResponse, kind: TamperKind): SimulatorResponse {
    const text = typeof res.body === 'string' ? res.body : Buffer.isBuffer(res.body) ? res.body.toString('utf8') : '';
    const m = /,"sign":"([^"]*)"/.exec(text);
    if (!m) return res;
    if (kind === 'missingSignature') return { ...res, body: text.replace(m[0], '') };
    // Another valid-looking signature: same length, one character changed.
    const sig = m[1];
    const i = Math.floor(sig.length / 2);
    const spoiled = sig.slice(0, i) + (sig[i] === 'A' ? 'B' : 'A') + sig.slice(i + 1);
    return { ...res, body: text.replace(m[0], `,"sign":"${spoiled}"`) };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

interface Ctx {
  p: Record<string, string>;
  biz: Record<string, unknown>;
  charset: string;
  signType: AlipaySignType;
  base: string;
}

/** Creates an Alipay simulator with options (tests); the framework uses {@link simulator}. */
export function createAlipaySimulator(deps: SimulatorDeps, options: AlipaySimulatorOptions = {}): AlipaySimulator {
  return new AlipaySimulator(deps, options);
}

/** What the sandbox framework loads. */
export const simulator: SimulatorModule = {
  id: 'alipay',
  create: (deps) => new AlipaySimulator(deps),
};

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
 *
 * This file holds the simulator's keys, the gateway (common parameters, signature, dispatch by
 * OpenAPI method through a table) and the paths it serves; each resource lives in its own file
 * (trades, refunds, funds, bills, notify) and shares common.ts.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { TextDecoder } from 'node:util';
import type { ChannelSimulator, SimulatorDeps, SimulatorModule, SimulatorRequest, SimulatorResponse, TamperKind } from '../../../src/sandbox/contract.js';
import { htmlPage } from '../../../src/sandbox/helpers.js';
import { Ledger } from '../../../src/sandbox/ledger.js';
import { SimulatedPayer } from '../../../src/sandbox/payer.js';
import { Router } from '../../../src/sandbox/router.js';
import { Timers } from '../../../src/sandbox/ticker.js';
import { invalid } from '../../../src/core/errors.js';
import { beijingToUtc, utcToBeijing } from '../beijing-time.js';
import { certSn, rootCertSn } from '../cert.js';
import { isSignType, loadPrivateKey, loadPublicKey, parseForm, signedBytes, signResponse, verifyContent, type AlipaySignType, type FormField } from '../signature.js';
import { billMethods, serveBill } from './bills.js';
import { alipayJson, GatewayError, INVALID, MISSING, type AlipayHandler, type Trade, type Transfer } from './common.js';
import { fundMethods } from './funds.js';
import { notifyTrade } from './notify.js';
import { refundMethods } from './refunds.js';
import { openQr, openTrade, pagePay, settle, tradeMethods } from './trades.js';

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

/** The gateway's OpenAPI methods, by name (page and wap pay answer a page and are served by gateway()). */
const HANDLERS: Record<string, AlipayHandler> = { ...tradeMethods, ...refundMethods, ...fundMethods, ...billMethods };
const PAGE_METHODS = ['alipay.trade.page.pay', 'alipay.trade.wap.pay'];
const METHODS = new Set([...Object.keys(HANDLERS), ...PAGE_METHODS]);

/** The paths besides the gateway: the bill download and the QR landing page. */
const PATHS = new Router<(sim: AlipaySimulator, req: SimulatorRequest, params: Record<string, string>) => Promise<SimulatorResponse> | SimulatorResponse>()
  .post('/gateway.do', (sim, req) => sim.gateway(req))
  .get('/gateway.do', (sim, req) => sim.gateway(req))
  .get('/downloadBillFile.resource', (sim, req) => serveBill(sim, req))
  .get('/qr/:token', (sim, _req, { token }) => openQr(sim, token));

/** The Alipay simulator. */
export class AlipaySimulator implements ChannelSimulator {
  readonly id = 'alipay';
  readonly appId: string;
  readonly sellerId: string;
  private readonly appKey: KeyObject;
  private readonly appPrivatePem: string;
  readonly alipayKey: KeyObject;
  private readonly alipayPublicPem: string;
  readonly cert?: { appCertSn: string; alipayCertSn: string; rootSn: string; texts: NonNullable<AlipaySimulatorOptions['certs']> };
  /** Trades by out_trade_no (one per number, as at Alipay; tests count them). */
  readonly trades = new Map<string, Trade>();
  readonly byQrToken = new Map<string, Trade>();
  readonly transfers = new Map<string, Transfer>();
  readonly bills = new Map<string, { path: string; name: string; expiresMs: number }>();
  readonly timers = new Timers();
  /** The payer paying on its own (`autoPayAfterMs`). */
  readonly payer: SimulatedPayer;
  /** The merchant's account (CNY, fen): payments net of fees in, refunds and transfers out. */
  readonly ledger: Ledger;
  readonly feeBps: number;
  readonly retryDelaysMs: number[];

  constructor(
    readonly deps: SimulatorDeps,
    readonly options: AlipaySimulatorOptions = {},
  ) {
    this.appId = options.appId ?? '2021000000000001';
    this.sellerId = options.sellerId ?? '2088000000000001';
    const opening = options.openingBalanceMinor ?? 100_000_000;
    this.ledger = new Ledger((currency) => (currency === 'CNY' ? opening : 0));
    this.feeBps = options.feeBps ?? 60;
    this.retryDelaysMs = options.retryDelaysMs ?? ALIPAY_NOTIFY_RETRY_MS;
    this.payer = new SimulatedPayer({ payAfterMs: options.autoPayAfterMs, clock: deps.clock, timers: this.timers, pay: (orderNo) => this.simulatePayment(orderNo), log: deps.log });
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

  now(): number {
    return this.deps.clock();
  }

  /** What the merchant's account holds now, fen. */
  get balanceMinor(): number {
    return this.ledger.available('CNY', this.now());
  }

  /** Books `net` fen (negative: out) against the merchant's account now. */
  book(net: number): void {
    this.ledger.post({ currency: 'CNY', net, atMs: this.now() });
  }

  private base(req: SimulatorRequest): string {
    return this.deps.baseUrl?.() || `http://${req.headers.host ?? '127.0.0.1'}`;
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  async handle(req: SimulatorRequest): Promise<SimulatorResponse | undefined> {
    this.payer.advance();
    const found = PATHS.match(req.method, req.path);
    return found?.handler(this, req, found.params);
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

  /** The OpenAPI gateway: common parameters, signature, then the method's handler. */
  async gateway(req: SimulatorRequest): Promise<SimulatorResponse> {
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
      if (PAGE_METHODS.includes(method)) return pagePay(this, ctx);
      const result = await HANDLERS[method](this, ctx);
      return this.answer(member, { code: '10000', msg: 'Success', ...result });
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      const body: Record<string, unknown> = { code: err.code, msg: err.msg };
      if (err.subCode) body.sub_code = err.subCode;
      if (err.subMsg) body.sub_msg = err.subMsg;
      if (method && PAGE_METHODS.includes(method)) return { ...htmlPage('支付宝 - 错误', `${err.subCode ?? err.code}: ${err.subMsg ?? err.msg}`), status: 200 };
      return this.answer(err.errorResponse ? 'error_response' : member, body, !err.errorResponse);
    }
  }

  // -------------------------------------------------------------------------------------------
  // The payer, notifications, faults

  async simulatePayment(orderNo: string, outcome: 'succeeded' | 'failed' = 'succeeded'): Promise<void> {
    const t = this.trades.get(orderNo);
    if (!t) throw invalid(`the Alipay simulator has no trade ${orderNo}`, { hint: 'Create it first (precreate, or open the page pay URL).' });
    if (settle(this, t).expired) throw invalid(`Alipay trade ${orderNo} expired unopened; its QR code no longer works`);
    if (t.status !== 'NOT_OPENED' && t.status !== 'WAIT_BUYER_PAY') throw invalid(`Alipay trade ${orderNo} is ${t.status}; only a trade waiting for payment can be paid`);
    openTrade(this, t);
    const now = this.now();
    if (outcome === 'failed') {
      // Alipay has no "failed" trade: an abandoned one is closed.
      t.status = 'TRADE_CLOSED';
      t.closedMs = now;
      await notifyTrade(this, t, { gmt_close: utcToBeijing(now) });
      return;
    }
    t.status = 'TRADE_SUCCESS';
    t.paidMs = now;
    this.book(t.totalMinor - t.feeMinor);
    await notifyTrade(this, t, {});
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
    this.timers.clear();
  }
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

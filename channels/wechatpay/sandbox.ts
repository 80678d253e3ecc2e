/**
 * A local simulator of WeChat Pay API v3 (the sandbox framework serves it on its own port).
 *
 * Real paths, field names, signing and error shapes: every request's Authorization header is
 * checked against the merchant key the simulator generated (a bad one gets WeChat Pay's 401
 * SIGN_ERROR body); required fields checked (appid on every order: PARAM_ERROR with detail
 * field/location); an unknown /v3 path is a 404 NOT_FOUND; every answer, errors included, is signed with the simulator's platform key, whose certificate
 * GET /v3/certificates serves encrypted with the APIv3 key (or, in public-key mode, the key is
 * named `PUB_KEY_ID_...` and handed to pay in the profile). State is in memory.
 *
 * Orders wait (NOTPAY) until the payer pays (`simulatePayment`, `POST /__sandbox/pay`, or opening
 * an H5 order's h5_url); `payAfterMs` makes them pay themselves. Refunds and transfers settle
 * after `settleMs`. Successes are notified to the notify_url, signed and encrypted, on WeChat
 * Pay's retry schedule (15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h) compressed a
 * thousand times. Without a notify URL of its own, pay is pointed at a sink on the simulator.
 *
 * Test conventions: a transfer to an openid ending in `_fail` fails (fail_reason
 * PAYEE_ACCOUNT_ABNORMAL); `expireCertificate()` swaps in an expired platform certificate.
 */
import { createHash, generateKeyPair as generateKeyPairCb, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { ChannelSimulator, SimulatorDeps, SimulatorModule, SimulatorRequest, SimulatorResponse, TamperKind } from '../../src/sandbox/contract.js';
import { feeInBasisPoints, randomDigits } from '../../src/sandbox/helpers.js';
import { buildCertificate } from '../../src/channel/x509.js';
import { invalid } from '../../src/core/errors.js';
import { writeFundFlowBill, writeTradeBill, type WechatBillRow } from './bill.js';
import { buildV3Notification } from './callback.js';
import { toWireTime } from './client.js';
import {
  encryptResource,
  H,
  nonce,
  oaepDecrypt,
  parseAuthorization,
  privateKeyPem,
  publicKeyPem,
  PUBLIC_KEY_ID_PREFIX,
  requestMessage,
  rsaVerify,
  signResponse,
} from './signature.js';

const generateKeyPair = promisify(generateKeyPairCb);

/** WeChat Pay's notification retry schedule, compressed 1000x (15 s -> 15 ms). */
export const NOTIFY_RETRY_DELAYS_MS = [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600];

/** Simulator options (tests; `pay sandbox` uses the defaults). */
export interface WechatpaySimulatorOptions {
  /** `certificate` (default): serials are certificate serials and /v3/certificates serves them. `publicKey`: PUB_KEY_ID_ mode. */
  keyMode?: 'certificate' | 'publicKey';
  /** Orders pay themselves this long after creation (default: never; the payer is simulated). */
  payAfterMs?: number;
  /** Refunds and transfers settle after this long (default 200 ms). */
  settleMs?: number;
  /** Opening balance of the BASIC account, fen (default 1,000,000.00 CNY). */
  openingBalance?: number;
  /** Fee rate in basis points (default 60 = 0.60%). */
  feeBps?: number;
}

interface Order {
  outTradeNo: string;
  appid: string;
  mchid: string;
  description: string;
  notifyUrl: string;
  total: number;
  currency: string;
  tradeType: 'NATIVE' | 'JSAPI' | 'MWEB';
  attach?: string;
  openid?: string;
  /** Fingerprint of the create parameters: a repeat with the same ones gets the same answer. */
  fingerprint: string;
  answer: Record<string, string>;
  state: 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'PAYERROR';
  transactionId?: string;
  createdMs: number;
  expireMs: number;
  paidMs?: number;
  fee: number;
}

interface Refund {
  refundId: string;
  outRefundNo: string;
  outTradeNo: string;
  transactionId: string;
  refund: number;
  total: number;
  reason?: string;
  notifyUrl?: string;
  createdMs: number;
  settleMs: number;
  status: 'PROCESSING' | 'SUCCESS';
  successMs?: number;
  /** Fee given back, fen. */
  feeBack: number;
}

interface Transfer {
  outBillNo: string;
  transferBillNo: string;
  appid: string;
  openid: string;
  userName?: string;
  amount: number;
  remark: string;
  notifyUrl?: string;
  createdMs: number;
  settleMs: number;
  state: 'WAIT_USER_CONFIRM' | 'SUCCESS' | 'FAIL';
  updateMs: number;
  failReason?: string;
}

interface BillFile {
  path: string;
  gzip: boolean;
  expiresMs: number;
}

/** A platform signing identity. */
interface Platform {
  privateKey: KeyObject;
  publicKey: KeyObject;
  serial: string;
  certificatePem: string;
  notBefore: number;
  notAfter: number;
}

const json = { 'content-type': 'application/json' };

function shanghaiDate(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);
}

function compactDate(ms: number): string {
  return shanghaiDate(ms).replace(/-/g, '');
}

class HttpError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly detail?: unknown,
  ) {}
}

/** The WeChat Pay simulator. */
export class WechatpaySimulator implements ChannelSimulator {
  readonly id = 'wechatpay';
  readonly mchId = '1900009191';
  readonly appId = 'wxd678efh567hg6787';
  readonly merchantSerial: string;
  readonly apiV3Key: string;
  readonly apiKey: string;
  private platform!: Platform;
  private merchantKey!: { privateKey: KeyObject; publicKey: KeyObject };
  /** Orders by out_trade_no (one per number, as at WeChat Pay; tests count them). */
  readonly orders = new Map<string, Order>();
  private readonly ordersByTxn = new Map<string, Order>();
  private readonly refunds = new Map<string, Refund>();
  private readonly transfers = new Map<string, Transfer>();
  private readonly bills = new Map<string, BillFile>();
  /** H5 prepay ids -> order numbers, for the cashier page. */
  private readonly h5Prepays = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly options: Required<Omit<WechatpaySimulatorOptions, 'payAfterMs'>> & { payAfterMs?: number };
  private publicKeyId: string;

  private constructor(
    private readonly deps: SimulatorDeps,
    options: WechatpaySimulatorOptions,
  ) {
    this.options = { keyMode: 'certificate', settleMs: 200, openingBalance: 100_000_000, feeBps: 60, ...options };
    this.merchantSerial = randomBytes(20).toString('hex').toUpperCase();
    // Test-only secrets, generated per run.
    this.apiV3Key = nonce(32);
    this.apiKey = nonce(32);
    this.publicKeyId = `${PUBLIC_KEY_ID_PREFIX}01${randomDigits(30)}`;
  }

  /** Creates a simulator with fresh merchant and platform keys. */
  static async create(deps: SimulatorDeps, options: WechatpaySimulatorOptions = {}): Promise<WechatpaySimulator> {
    const sim = new WechatpaySimulator(deps, options);
    const [merchant, platform] = await Promise.all([generateKeyPair('rsa', { modulusLength: 2048 }), generateKeyPair('rsa', { modulusLength: 2048 })]);
    sim.merchantKey = merchant;
    const now = deps.clock();
    sim.platform = sim.makePlatform(platform, now - 86400_000, now + 5 * 365 * 86400_000);
    return sim;
  }

  private makePlatform(pair: { privateKey: KeyObject; publicKey: KeyObject }, notBefore: number, notAfter: number): Platform {
    const serial = randomBytes(20).toString('hex').toUpperCase().replace(/^0/, '1');
    const certificatePem = buildCertificate({
      publicKey: pair.publicKey,
      signingKey: pair.privateKey,
      serial: BigInt(`0x${serial}`),
      subject: [
        ['C', 'CN'],
        ['O', '财付通支付科技有限公司'],
        ['OU', 'Tenpay.com CA Center (sandbox, test only)'],
        ['CN', 'Tenpay.com sandbox platform certificate'],
      ],
      notBefore,
      notAfter,
    });
    return { ...pair, serial, certificatePem, notBefore, notAfter };
  }

  /** The serial the simulator signs with (certificate serial or PUB_KEY_ID_...). */
  get signingSerial(): string {
    return this.options.keyMode === 'publicKey' ? this.publicKeyId : this.platform.serial;
  }

  /** PEM of the current platform certificate. */
  get platformCertificate(): string {
    return this.platform.certificatePem;
  }

  /** The merchant's private key (test-only; the profile hands it to pay). */
  get merchantPrivateKey(): KeyObject {
    return this.merchantKey.privateKey;
  }

  /** The platform private key (tests sign notifications with it). */
  get platformPrivateKey(): KeyObject {
    return this.platform.privateKey;
  }

  /** Replaces the platform certificate with a new key pair whose certificate expired yesterday. */
  async expireCertificate(): Promise<void> {
    const pair = await generateKeyPair('rsa', { modulusLength: 2048 });
    const now = this.deps.clock();
    this.platform = this.makePlatform(pair, now - 2 * 365 * 86400_000, now - 86400_000);
  }

  /** Rotates to a fresh, valid platform certificate (a new serial). */
  async rotateCertificate(): Promise<void> {
    const pair = await generateKeyPair('rsa', { modulusLength: 2048 });
    const now = this.deps.clock();
    this.platform = this.makePlatform(pair, now - 86400_000, now + 5 * 365 * 86400_000);
  }

  private base(): string {
    return this.deps.baseUrl?.() ?? '';
  }

  profile(baseUrl: string): Record<string, unknown> {
    const p: Record<string, unknown> = {
      mchId: this.mchId,
      appId: this.appId,
      serialNo: this.merchantSerial,
      privateKey: privateKeyPem(this.merchantKey.privateKey),
      apiV3Key: this.apiV3Key,
      apiKey: this.apiKey,
      baseUrl,
      notifyUrl: this.deps.webhookUrl?.() ?? `${baseUrl}/sandbox/notify-sink`,
    };
    // The platform key lets `pay verify` and `pay listen` check notifications offline.
    if (this.options.keyMode === 'publicKey') {
      p.platformPublicKey = publicKeyPem(this.platform.publicKey);
      p.platformSerial = this.publicKeyId;
    } else p.platformCertificate = this.platform.certificatePem;
    return p;
  }

  // -------------------------------------------------------------------------------------------
  // Signing, errors

  private sign(status: number, body: string | Buffer, headers: Record<string, string> = {}): SimulatorResponse {
    const now = Math.floor(this.deps.clock() / 1000);
    return {
      status,
      headers: {
        ...headers,
        'request-id': `08${randomDigits(10)}-${randomUUID()}`,
        ...signResponse({ privateKey: this.platform.privateKey, serial: this.signingSerial, body, timestamp: now }),
      },
      body,
    };
  }

  private ok(value: unknown, status = 200): SimulatorResponse {
    return this.sign(status, JSON.stringify(value), json);
  }

  private error(e: HttpError): SimulatorResponse {
    const body: Record<string, unknown> = { code: e.code, message: e.message };
    if (e.detail !== undefined) body.detail = e.detail;
    return this.sign(e.status, JSON.stringify(body), json);
  }

  tamper(res: SimulatorResponse, kind: TamperKind): SimulatorResponse {
    const headers = { ...(res.headers ?? {}) };
    if (kind === 'missingSignature') {
      delete headers[H.signature];
    } else if (headers[H.signature]) {
      const sig = Buffer.from(headers[H.signature], 'base64');
      sig[sig.length >> 1] ^= 0x01;
      headers[H.signature] = sig.toString('base64');
    }
    return { ...res, headers };
  }

  /** Checks the merchant's Authorization header; throws WeChat Pay's 401 SIGN_ERROR when it fails. */
  private authenticate(req: SimulatorRequest): void {
    const auth = parseAuthorization(req.headers.authorization);
    const info = (issue: string) => ({
      detail: { issue },
      field: 'signature',
      location: 'authorization',
      sign_information: {
        method: req.method,
        sign_message_length: requestMessage(req.method, req.url, auth?.timestamp ?? '', auth?.nonce_str ?? '', req.body).length,
        truncated_sign_message: `${req.method}\n${req.url}\n${auth?.timestamp ?? ''}\n`,
        url: req.url,
      },
    });
    if (!auth) throw new HttpError(401, 'SIGN_ERROR', 'Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》', info('authorization is missing or malformed'));
    if (auth.mchid !== this.mchId) throw new HttpError(401, 'SIGN_ERROR', '商户号与证书不匹配', info('mchid mismatch'));
    if (auth.serial_no.toUpperCase() !== this.merchantSerial) throw new HttpError(401, 'SIGN_ERROR', '商户证书序列号有误。请使用签名私钥匹配的证书序列号', info('serial_no mismatch'));
    const ts = Number(auth.timestamp);
    if (!/^\d{1,12}$/.test(auth.timestamp) || Math.abs(Math.floor(this.deps.clock() / 1000) - ts) > 300) {
      throw new HttpError(401, 'SIGN_ERROR', 'Http头Authorization中的timestamp已过期', info('timestamp expired'));
    }
    if (!rsaVerify(requestMessage(req.method, req.url, auth.timestamp, auth.nonce_str, req.body), auth.signature, this.merchantKey.publicKey)) {
      throw new HttpError(401, 'SIGN_ERROR', '签名错误，请检查后再试', info('sign not match'));
    }
  }

  private body(req: SimulatorRequest): Record<string, unknown> {
    try {
      const v = JSON.parse(req.body.toString('utf8')) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* below */
    }
    throw new HttpError(400, 'PARAM_ERROR', '输入源“/body”映射到值字段失败');
  }

  // -------------------------------------------------------------------------------------------
  // Progress and notifications

  private schedule(ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.advance();
    }, Math.max(0, ms) + 5);
    t.unref?.();
    this.timers.add(t);
  }

  /** Moves everything due by now and notifies what changed. */
  advance(): void {
    const now = this.deps.clock();
    if (this.options.payAfterMs !== undefined) {
      for (const o of this.orders.values()) if (o.state === 'NOTPAY' && now >= o.createdMs + this.options.payAfterMs && now < o.expireMs) this.pay(o, 'succeeded', o.createdMs + this.options.payAfterMs);
    }
    for (const r of this.refunds.values()) {
      if (r.status === 'PROCESSING' && now >= r.settleMs) {
        r.status = 'SUCCESS';
        r.successMs = r.settleMs;
        const o = this.orders.get(r.outTradeNo);
        const url = r.notifyUrl ?? o?.notifyUrl;
        if (url) this.notify(url, 'REFUND.SUCCESS', 'refund', '退款成功', this.refundResource(r, true), `wechatpay REFUND.SUCCESS ${r.outRefundNo}`);
      }
    }
    for (const t of this.transfers.values()) {
      if (t.state === 'WAIT_USER_CONFIRM' && now >= t.settleMs) {
        // The payee confirms receipt in WeChat; an account marked _fail cannot take the money.
        if (t.openid.endsWith('_fail')) {
          t.state = 'FAIL';
          t.failReason = 'PAYEE_ACCOUNT_ABNORMAL';
        } else t.state = 'SUCCESS';
        t.updateMs = t.settleMs;
        if (t.notifyUrl) this.notify(t.notifyUrl, 'MCHTRANSFER.BILL.FINISHED', 'mch_payment', '商家转账单据终态通知', this.transferResource(t, true), `wechatpay MCHTRANSFER.BILL.FINISHED ${t.outBillNo}`);
      }
    }
  }

  private notify(url: string, eventType: string, originalType: string, summary: string, resource: object, description: string): void {
    const n = buildV3Notification({
      eventType,
      originalType,
      resource,
      summary,
      apiV3Key: this.apiV3Key,
      privateKey: this.platform.privateKey,
      serial: this.signingSerial,
      nowMs: this.deps.clock(),
    });
    this.deps.notify({
      url,
      headers: n.headers,
      body: n.body,
      retryDelaysMs: NOTIFY_RETRY_DELAYS_MS,
      // WeChat Pay counts 200 and 204 as received; anything else is retried.
      accepted: (status) => status === 200 || status === 204,
      description,
    });
  }

  private pay(o: Order, outcome: 'succeeded' | 'failed', at: number): void {
    if (outcome === 'failed') {
      o.state = 'PAYERROR';
      return;
    }
    o.state = 'SUCCESS';
    o.paidMs = at;
    o.transactionId = `4200${randomDigits(4)}${compactDate(at)}${randomDigits(12)}`;
    o.openid ??= `oUpF8u${randomBytes(16).toString('base64url').slice(0, 22)}`;
    o.fee = feeInBasisPoints(o.total, this.options.feeBps);
    this.ordersByTxn.set(o.transactionId, o);
    this.notify(o.notifyUrl, 'TRANSACTION.SUCCESS', 'transaction', '支付成功', this.transaction(o), `wechatpay TRANSACTION.SUCCESS ${o.outTradeNo}`);
  }

  async simulatePayment(orderNo: string, outcome: 'succeeded' | 'failed' = 'succeeded'): Promise<void> {
    this.advance();
    const o = this.orders.get(orderNo);
    if (!o) throw invalid(`the WeChat Pay simulator has no order ${orderNo}`);
    if (o.state !== 'NOTPAY') throw invalid(`order ${orderNo} is ${o.state}; only an unpaid (NOTPAY) order can be paid`);
    if (this.deps.clock() >= o.expireMs) throw invalid(`order ${orderNo} expired at ${new Date(o.expireMs).toISOString()}`);
    this.pay(o, outcome, this.deps.clock());
  }

  // -------------------------------------------------------------------------------------------
  // Resources

  private transaction(o: Order): Record<string, unknown> {
    const refunded = [...this.refunds.values()].some((r) => r.outTradeNo === o.outTradeNo);
    const state = o.state === 'SUCCESS' && refunded ? 'REFUND' : o.state;
    const t: Record<string, unknown> = {
      appid: o.appid,
      mchid: o.mchid,
      out_trade_no: o.outTradeNo,
      trade_state: state,
      trade_state_desc: { NOTPAY: '未支付', SUCCESS: '支付成功', REFUND: '转入退款', CLOSED: '已关闭', PAYERROR: '支付失败' }[state],
      amount: { total: o.total, currency: o.currency, ...(o.paidMs ? { payer_total: o.total, payer_currency: o.currency } : {}) },
      attach: o.attach ?? '',
    };
    if (o.transactionId) {
      t.transaction_id = o.transactionId;
      t.trade_type = o.tradeType;
      t.bank_type = 'OTHERS';
      t.success_time = toWireTime(o.paidMs!);
      t.payer = { openid: o.openid };
    }
    return t;
  }

  private refundResource(r: Refund, notification: boolean): Record<string, unknown> {
    const o = this.orders.get(r.outTradeNo)!;
    const out: Record<string, unknown> = {
      refund_id: r.refundId,
      out_refund_no: r.outRefundNo,
      transaction_id: r.transactionId,
      out_trade_no: r.outTradeNo,
      user_received_account: '支付用户零钱',
    };
    if (notification) {
      out.mchid = o.mchid;
      out.refund_status = r.status;
      out.amount = { total: r.total, refund: r.refund, payer_total: r.total, payer_refund: r.refund };
    } else {
      Object.assign(out, {
        channel: 'ORIGINAL',
        create_time: toWireTime(r.createdMs),
        status: r.status,
        funds_account: 'AVAILABLE',
        amount: { total: r.total, refund: r.refund, payer_total: r.total, payer_refund: r.refund, settlement_refund: r.refund, settlement_total: r.total, discount_refund: 0, currency: 'CNY', refund_fee: r.feeBack },
      });
    }
    if (r.successMs !== undefined) out.success_time = toWireTime(r.successMs);
    return out;
  }

  private transferResource(t: Transfer, notification: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {
      out_bill_no: t.outBillNo,
      transfer_bill_no: t.transferBillNo,
      state: t.state,
      mch_id: this.mchId,
      transfer_amount: t.amount,
      openid: t.openid,
      create_time: toWireTime(t.createdMs),
      update_time: toWireTime(t.updateMs),
    };
    if (t.failReason) out.fail_reason = t.failReason;
    if (!notification) {
      out.appid = t.appid;
      out.transfer_remark = t.remark;
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Handlers

  async handle(req: SimulatorRequest): Promise<SimulatorResponse | undefined> {
    // Pages and sinks a browser or the sandbox itself uses: no merchant signature.
    if (req.method === 'POST' && req.path === '/sandbox/notify-sink') return { status: 204 };
    if (req.method === 'GET' && req.path === '/sandbox/checkmweb') return this.h5Page(req);
    if (!req.path.startsWith('/v3/')) return undefined;
    this.advance();
    try {
      this.authenticate(req);
      return await this.route(req);
    } catch (err) {
      if (err instanceof HttpError) return this.error(err);
      throw err;
    }
  }

  private async route(req: SimulatorRequest): Promise<SimulatorResponse | undefined> {
    const p = req.path;
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && p === '/v3/certificates') return this.certificates();
    if (req.method === 'POST' && (m = /^\/v3\/pay\/transactions\/(native|jsapi|h5|app)$/.exec(p))) return this.createOrder(req, m[1]);
    if (req.method === 'GET' && (m = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/.exec(p))) return this.queryOrder(req, this.orders.get(decodeURIComponent(m[1])));
    if (req.method === 'GET' && (m = /^\/v3\/pay\/transactions\/id\/([^/]+)$/.exec(p))) return this.queryOrder(req, this.ordersByTxn.get(decodeURIComponent(m[1])));
    if (req.method === 'POST' && (m = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/.exec(p))) return this.closeOrder(req, decodeURIComponent(m[1]));
    if (req.method === 'POST' && p === '/v3/refund/domestic/refunds') return this.createRefund(req);
    if (req.method === 'GET' && (m = /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/.exec(p))) return this.queryRefund(decodeURIComponent(m[1]));
    if (req.method === 'POST' && p === '/v3/fund-app/mch-transfer/transfer-bills') return this.createTransfer(req);
    if (req.method === 'GET' && (m = /^\/v3\/fund-app\/mch-transfer\/transfer-bills\/out-bill-no\/([^/]+)$/.exec(p))) return this.queryTransfer(decodeURIComponent(m[1]));
    if (req.method === 'GET' && (m = /^\/v3\/merchant\/fund\/balance\/([A-Z]+)$/.exec(p))) return this.balance(m[1]);
    if (req.method === 'GET' && p === '/v3/bill/tradebill') return this.applyBill(req, 'trade');
    if (req.method === 'GET' && p === '/v3/bill/fundflowbill') return this.applyBill(req, 'fund');
    if (req.method === 'GET' && p === '/v3/billdownload/file') return this.downloadBill(req);
    // Like every other v3 answer, an unknown path gets a signed {code, message}.
    throw new HttpError(404, 'NOT_FOUND', `请求的资源不存在 (${req.method} ${p})`);
  }

  private certificates(): SimulatorResponse {
    const enc = encryptResource(this.platform.certificatePem, this.apiV3Key, 'certificate', 'certificate');
    return this.ok({
      data: [
        {
          serial_no: this.platform.serial,
          effective_time: toWireTime(this.platform.notBefore),
          expire_time: toWireTime(this.platform.notAfter),
          encrypt_certificate: { algorithm: enc.algorithm, nonce: enc.nonce, associated_data: enc.associated_data, ciphertext: enc.ciphertext },
        },
      ],
    });
  }

  private checkMerchant(b: Record<string, unknown>, field = 'mchid'): void {
    if (b[field] !== this.mchId) throw new HttpError(400, 'PARAM_ERROR', `${field}与请求头中的商户号不一致`);
    if (b.appid !== undefined && b.appid !== this.appId) throw new HttpError(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
  }

  private createOrder(req: SimulatorRequest, kind: string): SimulatorResponse {
    const b = this.body(req);
    // appid is required on every direct-merchant order (JSAPI, Native, H5, App).
    if (typeof b.appid !== 'string' || b.appid === '') {
      throw new HttpError(400, 'PARAM_ERROR', '输入源“/body/appid”映射到值字段“应用ID”必填性规则校验失败，此字段为必填项', { field: '/appid', location: 'body', value: b.appid ?? null });
    }
    this.checkMerchant(b);
    const outTradeNo = b.out_trade_no;
    if (typeof outTradeNo !== 'string' || !/^[A-Za-z0-9_*|-]{6,32}$/.test(outTradeNo)) throw new HttpError(400, 'PARAM_ERROR', '商户订单号out_trade_no格式错误');
    if (typeof b.description !== 'string' || b.description === '' || Buffer.byteLength(b.description) > 127) throw new HttpError(400, 'PARAM_ERROR', 'description长度不符合要求');
    if (typeof b.notify_url !== 'string' || !/^https?:\/\//.test(b.notify_url)) throw new HttpError(400, 'PARAM_ERROR', 'notify_url格式错误');
    const amount = b.amount as { total?: unknown; currency?: unknown } | undefined;
    if (!amount || !Number.isSafeInteger(amount.total) || (amount.total as number) < 1) throw new HttpError(400, 'PARAM_ERROR', '订单金额amount.total必须为大于0的整数');
    if (amount.currency !== undefined && amount.currency !== 'CNY') throw new HttpError(400, 'PARAM_ERROR', '境内商户仅支持人民币CNY');
    const payer = b.payer as { openid?: unknown } | undefined;
    if (kind === 'jsapi' && (typeof payer?.openid !== 'string' || payer.openid === '')) throw new HttpError(400, 'PARAM_ERROR', 'JSAPI下单payer.openid必填');
    if (kind === 'h5' && typeof (b.scene_info as { payer_client_ip?: unknown } | undefined)?.payer_client_ip !== 'string') throw new HttpError(400, 'PARAM_ERROR', 'H5下单scene_info.payer_client_ip必填');
    const fingerprint = createHash('sha256').update(JSON.stringify([kind, b.appid, b.description, amount.total, payer?.openid ?? null])).digest('hex');
    const existing = this.orders.get(outTradeNo);
    if (existing) {
      if (existing.state === 'SUCCESS') throw new HttpError(403, 'ORDERPAID', '该订单已支付');
      if (existing.state === 'CLOSED') throw new HttpError(400, 'ORDER_CLOSED', '该订单已关闭');
      if (existing.fingerprint !== fingerprint) throw new HttpError(403, 'OUT_TRADE_NO_USED', '商户订单号重复');
      return this.ok(existing.answer);
    }
    const now = this.deps.clock();
    let expireMs = now + 2 * 3600_000;
    if (typeof b.time_expire === 'string') {
      const t = Date.parse(b.time_expire);
      if (Number.isNaN(t)) throw new HttpError(400, 'PARAM_ERROR', 'time_expire格式错误');
      expireMs = t;
    }
    const prepay = `wx${compactDate(now)}${randomBytes(12).toString('hex')}`;
    const answer: Record<string, string> =
      kind === 'native'
        ? { code_url: `weixin://wxpay/bizpayurl?pr=${randomBytes(6).toString('base64url')}` }
        : kind === 'h5'
          ? { h5_url: `${this.base()}/sandbox/checkmweb?prepay_id=${prepay}&package=${randomDigits(10)}` }
          : { prepay_id: prepay };
    const o: Order = {
      outTradeNo,
      appid: b.appid as string,
      mchid: this.mchId,
      description: b.description,
      notifyUrl: b.notify_url,
      total: amount.total as number,
      currency: 'CNY',
      tradeType: kind === 'native' ? 'NATIVE' : kind === 'h5' ? 'MWEB' : 'JSAPI',
      attach: typeof b.attach === 'string' ? b.attach : undefined,
      openid: typeof payer?.openid === 'string' ? payer.openid : undefined,
      fingerprint,
      answer,
      state: 'NOTPAY',
      createdMs: now,
      expireMs,
      fee: 0,
    };
    if (kind === 'h5') this.h5Prepays.set(prepay, outTradeNo);
    this.orders.set(outTradeNo, o);
    if (this.options.payAfterMs !== undefined) this.schedule(this.options.payAfterMs);
    return this.ok(answer);
  }

  /** The H5 cashier page: opening it pays the order (the payer confirms in WeChat). */
  private async h5Page(req: SimulatorRequest): Promise<SimulatorResponse> {
    const orderNo = this.h5Prepays.get(req.query.get('prepay_id') ?? '');
    const o = orderNo ? this.orders.get(orderNo) : undefined;
    if (!o) return { status: 404, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<p>prepay_id expired or unknown</p>' };
    if (o.state === 'NOTPAY' && this.deps.clock() < o.expireMs) this.pay(o, 'succeeded', this.deps.clock());
    return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: `<p>WeChat Pay sandbox: order ${o.outTradeNo} is ${o.state}.</p>` };
  }

  private queryOrder(req: SimulatorRequest, o: Order | undefined): SimulatorResponse {
    if (req.query.get('mchid') !== this.mchId) throw new HttpError(400, 'PARAM_ERROR', 'mchid参数错误');
    if (!o) throw new HttpError(404, 'ORDER_NOT_EXIST', '订单不存在');
    return this.ok(this.transaction(o));
  }

  private closeOrder(req: SimulatorRequest, orderNo: string): SimulatorResponse {
    const b = this.body(req);
    this.checkMerchant(b);
    const o = this.orders.get(orderNo);
    if (!o) throw new HttpError(404, 'ORDER_NOT_EXIST', '订单不存在');
    if (o.state === 'SUCCESS') throw new HttpError(400, 'ORDERPAID', '订单已支付，不能关单');
    o.state = o.state === 'PAYERROR' ? o.state : 'CLOSED';
    return this.sign(204, '');
  }

  private createRefund(req: SimulatorRequest): SimulatorResponse {
    const b = this.body(req);
    const outRefundNo = b.out_refund_no;
    if (typeof outRefundNo !== 'string' || !/^[A-Za-z0-9_*@|-]{1,64}$/.test(outRefundNo)) throw new HttpError(400, 'PARAM_ERROR', 'out_refund_no格式错误');
    if (typeof b.out_trade_no !== 'string' && typeof b.transaction_id !== 'string') {
      throw new HttpError(400, 'PARAM_ERROR', 'transaction_id和out_trade_no必须二选一进行传参', { location: 'body' });
    }
    const o = typeof b.out_trade_no === 'string' ? this.orders.get(b.out_trade_no) : typeof b.transaction_id === 'string' ? this.ordersByTxn.get(b.transaction_id) : undefined;
    if (!o) throw new HttpError(404, 'RESOURCE_NOT_EXISTS', '订单不存在');
    const amount = b.amount as { refund?: unknown; total?: unknown; currency?: unknown } | undefined;
    if (!amount || !Number.isSafeInteger(amount.refund) || (amount.refund as number) < 1 || !Number.isSafeInteger(amount.total)) throw new HttpError(400, 'PARAM_ERROR', 'amount.refund和amount.total必须为正整数');
    if (amount.currency !== 'CNY') throw new HttpError(400, 'PARAM_ERROR', 'amount.currency必须为CNY');
    const existing = this.refunds.get(outRefundNo);
    if (existing) {
      if (existing.outTradeNo !== o.outTradeNo || existing.refund !== amount.refund) throw new HttpError(400, 'INVALID_REQUEST', '退款单号已存在，请使用新的商户退款单号');
      return this.ok(this.refundResource(existing, false));
    }
    if (o.state !== 'SUCCESS') throw new HttpError(403, 'TRADE_ERROR', '订单未支付，不能退款');
    if (amount.total !== o.total) throw new HttpError(400, 'INVALID_REQUEST', '订单金额与原订单金额不一致');
    const refunded = [...this.refunds.values()].filter((r) => r.outTradeNo === o.outTradeNo).reduce((s, r) => s + r.refund, 0);
    if (refunded + (amount.refund as number) > o.total) throw new HttpError(400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额');
    const now = this.deps.clock();
    const r: Refund = {
      refundId: `5030${randomDigits(4)}${compactDate(now)}${randomDigits(13)}`,
      outRefundNo,
      outTradeNo: o.outTradeNo,
      transactionId: o.transactionId!,
      refund: amount.refund as number,
      total: o.total,
      reason: typeof b.reason === 'string' ? b.reason : undefined,
      notifyUrl: typeof b.notify_url === 'string' ? b.notify_url : undefined,
      createdMs: now,
      settleMs: now + this.options.settleMs,
      status: 'PROCESSING',
      feeBack: feeInBasisPoints(amount.refund as number, this.options.feeBps),
    };
    this.refunds.set(outRefundNo, r);
    this.schedule(this.options.settleMs);
    return this.ok(this.refundResource(r, false));
  }

  private queryRefund(outRefundNo: string): SimulatorResponse {
    const r = this.refunds.get(outRefundNo);
    if (!r) throw new HttpError(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
    return this.ok(this.refundResource(r, false));
  }

  private basicBalance(): number {
    let bal = this.options.openingBalance;
    for (const o of this.orders.values()) if (o.paidMs !== undefined) bal += o.total - o.fee;
    for (const r of this.refunds.values()) bal -= r.refund - r.feeBack;
    for (const t of this.transfers.values()) if (t.state !== 'FAIL') bal -= t.amount;
    return bal;
  }

  private createTransfer(req: SimulatorRequest): SimulatorResponse {
    const b = this.body(req);
    if (b.appid !== this.appId) throw new HttpError(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
    const outBillNo = b.out_bill_no;
    if (typeof outBillNo !== 'string' || !/^[A-Za-z0-9]{5,32}$/.test(outBillNo)) throw new HttpError(400, 'PARAM_ERROR', 'out_bill_no格式错误');
    if (typeof b.transfer_scene_id !== 'string' || b.transfer_scene_id === '') throw new HttpError(400, 'PARAM_ERROR', 'transfer_scene_id必填');
    if (typeof b.openid !== 'string' || b.openid === '') throw new HttpError(400, 'PARAM_ERROR', 'openid必填');
    if (typeof b.transfer_remark !== 'string' || b.transfer_remark === '') throw new HttpError(400, 'PARAM_ERROR', 'transfer_remark必填');
    const amount = b.transfer_amount;
    if (!Number.isSafeInteger(amount) || (amount as number) < 10) throw new HttpError(400, 'PARAM_ERROR', '转账金额不能低于0.1元');
    if (b.transfer_scene_id === '1000' && (!Array.isArray(b.transfer_scene_report_infos) || b.transfer_scene_report_infos.length < 2)) {
      throw new HttpError(400, 'PARAM_ERROR', '转账场景报备信息transfer_scene_report_infos不完整');
    }
    let userName: string | undefined;
    if (b.user_name !== undefined) {
      if (req.headers[H.serial] !== this.signingSerial) throw new HttpError(400, 'PARAM_ERROR', 'Wechatpay-Serial与加密所用的平台证书不一致');
      try {
        userName = oaepDecrypt(String(b.user_name), this.platform.privateKey);
      } catch {
        throw new HttpError(400, 'PARAM_ERROR', 'user_name解密失败，请使用微信支付平台公钥加密');
      }
    } else if ((amount as number) >= 200_000) throw new HttpError(400, 'PARAM_ERROR', '转账金额>=2000元时，user_name必填');
    const existing = this.transfers.get(outBillNo);
    if (existing) {
      if (existing.amount !== amount || existing.openid !== b.openid) throw new HttpError(400, 'INVALID_REQUEST', '商户单号重复，请使用新的out_bill_no');
      return this.ok({ out_bill_no: existing.outBillNo, transfer_bill_no: existing.transferBillNo, create_time: toWireTime(existing.createdMs), state: existing.state });
    }
    if (this.basicBalance() < (amount as number)) throw new HttpError(403, 'NOT_ENOUGH', '商户运营账户资金不足');
    const now = this.deps.clock();
    const t: Transfer = {
      outBillNo,
      transferBillNo: `1330${randomDigits(36)}`,
      appid: this.appId,
      openid: b.openid,
      userName,
      amount: amount as number,
      remark: b.transfer_remark,
      notifyUrl: typeof b.notify_url === 'string' ? b.notify_url : undefined,
      createdMs: now,
      settleMs: now + this.options.settleMs,
      state: 'WAIT_USER_CONFIRM',
      updateMs: now,
    };
    this.transfers.set(outBillNo, t);
    this.schedule(this.options.settleMs);
    return this.ok({ out_bill_no: t.outBillNo, transfer_bill_no: t.transferBillNo, create_time: toWireTime(now), state: t.state, package_info: randomBytes(24).toString('base64') });
  }

  private queryTransfer(outBillNo: string): SimulatorResponse {
    const t = this.transfers.get(outBillNo);
    if (!t) throw new HttpError(404, 'NOT_FOUND', '记录不存在');
    return this.ok(this.transferResource(t, false));
  }

  private balance(account: string): SimulatorResponse {
    if (!['BASIC', 'OPERATION', 'FEES'].includes(account)) throw new HttpError(400, 'PARAM_ERROR', 'account_type参数错误');
    return this.ok({ available_amount: account === 'BASIC' ? this.basicBalance() : 0, pending_amount: 0 });
  }

  /** The day's money movements as bill rows (UTC+8 day), payments by paid time, refunds by success time. */
  private dayRows(date: string): WechatBillRow[] {
    const rows: WechatBillRow[] = [];
    for (const o of this.orders.values()) {
      if (o.paidMs === undefined || shanghaiDate(o.paidMs) !== date) continue;
      rows.push({
        line: 0,
        kind: 'payment',
        orderNo: o.outTradeNo,
        channelTradeNo: o.transactionId,
        transactionId: o.transactionId,
        amountMinor: o.total,
        feeMinor: o.fee,
        currency: o.currency,
        time: new Date(o.paidMs).toISOString(),
        status: 'SUCCESS',
        appId: o.appid,
        openid: o.openid,
        tradeType: o.tradeType,
        productName: o.description,
        feeRate: `${(this.options.feeBps / 100).toFixed(2)}%`,
      });
    }
    for (const r of this.refunds.values()) {
      if (r.status !== 'SUCCESS' || shanghaiDate(r.successMs!) !== date) continue;
      const o = this.orders.get(r.outTradeNo)!;
      rows.push({
        line: 0,
        kind: 'refund',
        orderNo: r.outTradeNo,
        channelTradeNo: r.refundId,
        transactionId: r.transactionId,
        refundNo: r.outRefundNo,
        amountMinor: -r.refund,
        feeMinor: -r.feeBack,
        currency: 'CNY',
        time: new Date(r.successMs!).toISOString(),
        refundApplyTime: new Date(r.createdMs).toISOString(),
        paidTime: new Date(o.paidMs!).toISOString(),
        status: 'SUCCESS',
        appId: o.appid,
        openid: o.openid,
        tradeType: o.tradeType,
        productName: o.description,
        feeRate: `${(this.options.feeBps / 100).toFixed(2)}%`,
      });
    }
    rows.sort((a, b) => a.time.localeCompare(b.time));
    return rows;
  }

  private async applyBill(req: SimulatorRequest, kind: 'trade' | 'fund'): Promise<SimulatorResponse> {
    const date = req.query.get('bill_date') ?? '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) throw new HttpError(400, 'PARAM_ERROR', 'bill_date格式错误，应为yyyy-MM-DD');
    const tar = req.query.get('tar_type');
    if (tar !== null && tar !== 'GZIP') throw new HttpError(400, 'PARAM_ERROR', 'tar_type仅支持GZIP');
    let rows: WechatBillRow[] = this.dayRows(date);
    const token = randomBytes(16).toString('hex');
    const path = join(this.deps.workDir, `bill-${token}.csv`);
    if (kind === 'trade') {
      const type = req.query.get('bill_type') ?? 'ALL';
      if (!['ALL', 'SUCCESS', 'REFUND'].includes(type)) throw new HttpError(400, 'PARAM_ERROR', 'bill_type参数错误');
      rows = rows.filter((r) => type === 'ALL' || (type === 'SUCCESS' ? r.kind === 'payment' : r.kind === 'refund'));
      if (rows.length === 0) throw new HttpError(400, 'NO_STATEMENT_EXIST', '当前商户号没有已成功的交易');
      await writeTradeBill(path, rows, { date, merchantId: this.mchId, variant: type });
    } else {
      const account = req.query.get('account_type') ?? 'BASIC';
      if (!['BASIC', 'OPERATION', 'FEES'].includes(account)) throw new HttpError(400, 'PARAM_ERROR', 'account_type参数错误');
      const flows = account === 'BASIC' ? [...rows, ...this.dayTransfers(date)] : [];
      if (flows.length === 0) throw new HttpError(400, 'NO_STATEMENT_EXIST', '当前账户没有资金流水');
      await writeFundFlowBill(path, flows, { date, merchantId: this.mchId, variant: 'FUNDFLOW' });
    }
    const plain = await readFile(path);
    this.bills.set(token, { path, gzip: tar === 'GZIP', expiresMs: this.deps.clock() + 5 * 60_000 });
    const base = this.base() || `http://${req.headers.host ?? '127.0.0.1'}`;
    return this.ok({ hash_type: 'SHA1', hash_value: createHash('sha1').update(plain).digest('hex'), download_url: `${base}/v3/billdownload/file?token=${token}` });
  }

  private dayTransfers(date: string): WechatBillRow[] {
    return [...this.transfers.values()]
      .filter((t) => t.state === 'SUCCESS' && shanghaiDate(t.updateMs) === date)
      .map((t) => ({ line: 0, kind: 'payout' as const, orderNo: t.outBillNo, channelTradeNo: t.transferBillNo, amountMinor: -t.amount, feeMinor: 0, currency: 'CNY', time: new Date(t.updateMs).toISOString(), status: 'SUCCESS' }));
  }

  private async downloadBill(req: SimulatorRequest): Promise<SimulatorResponse> {
    const bill = this.bills.get(req.query.get('token') ?? '');
    if (!bill || this.deps.clock() > bill.expiresMs) throw new HttpError(400, 'INVALID_REQUEST', '下载链接已过期或不存在，请重新申请');
    const plain = await readFile(bill.path);
    // The file itself is not signed: its integrity comes from the SHA-1 in the signed apply answer.
    return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: bill.gzip ? gzipSync(plain) : plain };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** The module the sandbox framework loads. */
export const simulator: SimulatorModule = {
  id: 'wechatpay',
  create: (deps) => WechatpaySimulator.create(deps),
};

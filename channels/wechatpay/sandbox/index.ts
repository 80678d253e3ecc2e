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
 *
 * This file holds the simulator's keys and certificates, signing and the route table; the
 * merchant's signature is checked in auth.ts; each resource lives in its own file (transactions,
 * refunds, transfers, bills, progress) and shares common.ts.
 */
import { generateKeyPair as generateKeyPairCb, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { ChannelSimulator, SimulatorDeps, SimulatorModule, SimulatorRequest, SimulatorResponse, TamperKind } from '../../../src/sandbox/contract.js';
import { ProviderError } from '../../../src/sandbox/errors.js';
import { randomDigits } from '../../../src/sandbox/helpers.js';
import { Ledger } from '../../../src/sandbox/ledger.js';
import { SimulatedPayer } from '../../../src/sandbox/payer.js';
import { Router } from '../../../src/sandbox/router.js';
import { Timers } from '../../../src/sandbox/ticker.js';
import { invalid } from '../../../src/core/errors.js';
import { toWireTime } from '../client.js';
import { encryptResource, H, nonce, privateKeyPem, publicKeyPem, PUBLIC_KEY_ID_PREFIX, signResponse } from '../signature.js';
import { authenticate } from './auth.js';
import { billRoutes } from './bills.js';
import { json, notFound, wxError, type BillFile, type Order, makePlatform, type Platform, type Refund, type Transfer, type WechatHandler } from './common.js';
import { advanceAll, pay, payOnTime } from './progress.js';
import { refundRoutes } from './refunds.js';
import { h5Page, transactionRoutes } from './transactions.js';
import { transferRoutes } from './transfers.js';

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

/** Every v3 endpoint, one line per route in the resource files (the merchant's signature is checked first). */
const ROUTES = new Router<WechatHandler>();
ROUTES.get('/v3/certificates', (sim) => sim.certificates());
transactionRoutes(ROUTES);
refundRoutes(ROUTES);
transferRoutes(ROUTES);
billRoutes(ROUTES);

/** The WeChat Pay simulator. */
export class WechatpaySimulator implements ChannelSimulator {
  readonly id = 'wechatpay';
  readonly mchId = '1900009191';
  readonly appId = 'wxd678efh567hg6787';
  readonly merchantSerial: string;
  readonly apiV3Key: string;
  readonly apiKey: string;
  platform!: Platform;
  private merchantKey!: { privateKey: KeyObject; publicKey: KeyObject };
  /** Orders by out_trade_no (one per number, as at WeChat Pay; tests count them). */
  readonly orders = new Map<string, Order>();
  readonly ordersByTxn = new Map<string, Order>();
  readonly refunds = new Map<string, Refund>();
  readonly transfers = new Map<string, Transfer>();
  readonly bills = new Map<string, BillFile>();
  /** H5 prepay ids -> order numbers, for the cashier page. */
  readonly h5Prepays = new Map<string, string>();
  readonly timers = new Timers();
  /** The payer paying on its own (`payAfterMs`). */
  readonly payer: SimulatedPayer;
  /** The BASIC account (CNY, fen): payments net of fees in, refunds and transfers out. */
  readonly ledger: Ledger;
  readonly options: Required<Omit<WechatpaySimulatorOptions, 'payAfterMs'>> & { payAfterMs?: number };
  private publicKeyId: string;

  private constructor(
    readonly deps: SimulatorDeps,
    options: WechatpaySimulatorOptions,
  ) {
    this.options = { keyMode: 'certificate', settleMs: 200, openingBalance: 100_000_000, feeBps: 60, ...options };
    const opening = this.options.openingBalance;
    this.ledger = new Ledger((currency) => (currency === 'CNY' ? opening : 0));
    this.payer = new SimulatedPayer({ payAfterMs: options.payAfterMs, clock: deps.clock, timers: this.timers, pay: (orderNo, at) => payOnTime(this, orderNo, at), log: deps.log });
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
    sim.platform = makePlatform(platform, now - 86400_000, now + 5 * 365 * 86400_000);
    return sim;
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
    this.platform = makePlatform(pair, now - 2 * 365 * 86400_000, now - 86400_000);
  }

  /** Rotates to a fresh, valid platform certificate (a new serial). */
  async rotateCertificate(): Promise<void> {
    const pair = await generateKeyPair('rsa', { modulusLength: 2048 });
    const now = this.deps.clock();
    this.platform = makePlatform(pair, now - 86400_000, now + 5 * 365 * 86400_000);
  }

  base(): string {
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

  sign(status: number, body: string | Buffer, headers: Record<string, string> = {}): SimulatorResponse {
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

  ok(value: unknown, status = 200): SimulatorResponse {
    return this.sign(status, JSON.stringify(value), json);
  }

  private error(e: ProviderError): SimulatorResponse {
    return this.sign(e.status, JSON.stringify(e.body), json);
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

  body(req: SimulatorRequest): Record<string, unknown> {
    try {
      const v = JSON.parse(req.body.toString('utf8')) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* below */
    }
    throw wxError(400, 'PARAM_ERROR', '输入源“/body”映射到值字段失败');
  }

  // -------------------------------------------------------------------------------------------
  // Progress and notifications

  /** Moves everything due by now and notifies what changed. */
  advance(): void {
    advanceAll(this);
  }

  async simulatePayment(orderNo: string, outcome: 'succeeded' | 'failed' = 'succeeded'): Promise<void> {
    this.advance();
    const o = this.orders.get(orderNo);
    if (!o) throw invalid(`the WeChat Pay simulator has no order ${orderNo}`);
    if (o.state !== 'NOTPAY') throw invalid(`order ${orderNo} is ${o.state}; only an unpaid (NOTPAY) order can be paid`);
    if (this.deps.clock() >= o.expireMs) throw invalid(`order ${orderNo} expired at ${new Date(o.expireMs).toISOString()}`);
    pay(this, o, outcome, this.deps.clock());
  }

  // -------------------------------------------------------------------------------------------
  // Handlers

  async handle(req: SimulatorRequest): Promise<SimulatorResponse | undefined> {
    // Pages and sinks a browser or the sandbox itself uses: no merchant signature.
    if (req.method === 'POST' && req.path === '/sandbox/notify-sink') return { status: 204 };
    if (req.method === 'GET' && req.path === '/sandbox/checkmweb') return h5Page(this, req);
    if (!req.path.startsWith('/v3/')) return undefined;
    this.advance();
    try {
      authenticate(this, req, this.merchantKey.publicKey);
      return await this.route(req);
    } catch (err) {
      if (err instanceof ProviderError) return this.error(err);
      throw err;
    }
  }

  private async route(req: SimulatorRequest): Promise<SimulatorResponse | undefined> {
    const found = ROUTES.match(req.method, req.path);
    if (found) return found.handler(this, req, found.params);
    // Like every other v3 answer, an unknown path gets a signed {code, message}.
    throw notFound(req);
  }

  /** GET /v3/certificates: the platform certificates, encrypted with the APIv3 key. */
  certificates(): SimulatorResponse {
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

  checkMerchant(b: Record<string, unknown>, field = 'mchid'): void {
    if (b[field] !== this.mchId) throw wxError(400, 'PARAM_ERROR', `${field}与请求头中的商户号不一致`);
    if (b.appid !== undefined && b.appid !== this.appId) throw wxError(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
  }
  async close(): Promise<void> {
    this.timers.clear();
  }
}

/** The module the sandbox framework loads. */
export const simulator: SimulatorModule = {
  id: 'wechatpay',
  create: (deps) => WechatpaySimulator.create(deps),
};

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
 *
 * This file holds the simulator's identity and keys, request checks, signing and the route table;
 * transactions, files (bills) and notify live in their own files and share common.ts.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type { BillRow } from '../../../src/channel/contract.js';
import type { ChannelSimulator, SimulatorDeps, SimulatorModule, SimulatorRequest, SimulatorResponse, TamperKind } from '../../../src/sandbox/contract.js';
import { htmlPage, randomDigits } from '../../../src/sandbox/helpers.js';
import { invalid } from '../../../src/core/errors.js';
import { PATHS } from '../client.js';
import { fieldsToRecord, parseForm, parseRawKv, serializeRawKv } from '../form.js';
import { buildPkcs12, generateMerchantCert, generateTestChain, type Issued, type TestChain } from '../pki.js';
import { certIdOf, signAsUnionPay, verifyRsa, type UnionPayVersion } from '../signature.js';
import { toMonthDayTime } from '../wire-time.js';
import { Router } from '../../../src/sandbox/router.js';
import { Timers } from '../../../src/sandbox/ticker.js';
import { NOTIFY_SINK, Refusal, SIGN_FAILED, type SimOrder, type SimRefund } from './common.js';
import { billRows, file } from './files.js';
import { notify } from './notify.js';
import { back, consume, front, query } from './transactions.js';

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

type Route = { name: 'front' | 'app' | 'back' | 'query' | 'file'; run: (sim: UnionPaySimulator, f: Record<string, string>) => SimulatorResponse | Promise<SimulatorResponse> };

/** The gateway's paths (POST only), each to its transaction. */
const ROUTES = new Router<Route>()
  .post(PATHS.front, { name: 'front', run: (sim, f) => front(sim, f) })
  .post(PATHS.app, { name: 'app', run: (sim, f) => sim.answer(consume(sim, f, '08')) })
  .post(PATHS.back, { name: 'back', run: (sim, f) => sim.answer(back(sim, f)) })
  .post(PATHS.query, { name: 'query', run: (sim, f) => sim.answer(query(sim, f)) })
  .post('/', { name: 'file', run: async (sim, f) => sim.answer(await file(sim, f)) })
  .post('/gateway/api/fileTransfer.do', { name: 'file', run: async (sim, f) => sim.answer(await file(sim, f)) });

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
  readonly byQueryId = new Map<string, SimOrder | SimRefund>();
  readonly timers = new Timers();
  readonly refundSettleMs: number;
  readonly retryDelaysMs: number[];
  readonly feeBps: number;

  constructor(
    readonly deps: SimulatorDeps,
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

  now(): number {
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
    this.timers.clear();
  }

  /** Signs fields as UnionPay does and orders them as its answers are (sorted, certificate and signature last). */
  signed(fields: Record<string, string>, key: KeyObject = this.chain.sign.privateKey, certPem = this.chain.sign.pem): Record<string, string> {
    const s = signAsUnionPay(fields, key, certPem);
    const out: Record<string, string> = {};
    for (const k of Object.keys(s).filter((k) => k !== 'signPubKeyCert' && k !== 'signature').sort()) out[k] = s[k];
    out.signPubKeyCert = s.signPubKeyCert;
    out.signature = s.signature;
    return out;
  }

  answer(fields: Record<string, string>): SimulatorResponse {
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
    const route = ROUTES.match(req.method, path)?.handler;
    if (!route) return undefined;
    let f: Record<string, string> = {};
    try {
      f = this.verifyRequest(req.body);
      return await route.run(this, f);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      const fields: Record<string, string> = { version: f.version ?? '5.1.0', encoding: 'UTF-8', respCode: err.respCode, respMsg: err.respMsg };
      for (const k of ['bizType', 'txnType', 'txnSubType', 'accessType', 'merId', 'orderId', 'txnTime']) if (f[k]) fields[k] = f[k];
      if (route.name === 'front') return htmlPage(`交易失败 (respCode ${err.respCode})`, err.respMsg);
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

  /** Rows of the reconciliation file for a Beijing calendar date. */
  billRows(date: string): BillRow[] {
    return billRows(this, date);
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
    notify(this, 
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

}

/** What `pay sandbox` loads. */
export const simulator: SimulatorModule = {
  id: 'unionpay',
  create: (deps) => new UnionPaySimulator(deps),
};

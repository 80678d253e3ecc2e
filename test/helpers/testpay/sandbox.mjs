/**
 * The testpay simulator (a SimulatorModule for the sandbox framework): checks the API key, keeps
 * orders, refunds, payouts and balances in memory, signs every answer, moves refunds and payouts
 * to SUCCESS after `settleMs`, notifies payments with retries, and serves the day's bill.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PayError, invalid } from '../../../dist/src/core/errors.js';
import { formatAmount, parseAmount } from '../../../dist/src/core/money.js';
import { businessDayRange, isoUtc } from '../../../dist/src/core/time.js';
import { bill } from './index.mjs';
import { SIGNATURE_HEADER, TIME_ZONE, signBody } from './protocol.mjs';

/** Opening balance of every currency, minor units. */
const OPENING_MINOR = 100_000_000;
/** Notification retry schedule (compressed). */
export const RETRY_DELAYS_MS = [100, 300, 1000];

function feeFor(amountMinor) {
  // 0.6%, rounded half up, in integers.
  return Number((BigInt(amountMinor) * 60n + 5000n) / 10000n);
}

class TestpaySimulator {
  id = 'testpay';

  constructor(deps, options = {}) {
    this.deps = deps;
    this.settleMs = options.settleMs ?? 150;
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.apiKey = `tp_test_${randomBytes(16).toString('hex')}`;
    this.merchantId = 'M100001';
    this.orders = new Map();
    this.refunds = new Map();
    this.payouts = new Map();
    this.spent = new Map();
  }

  profile(baseUrl) {
    return { baseUrl, merchantId: this.merchantId, apiKey: this.apiKey, platformPublicKey: this.publicKeyPem };
  }

  reply(status, value, headers = {}) {
    const body = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
    return { status, headers: { 'content-type': typeof value === 'string' ? 'text/csv' : 'application/json', ...headers, [SIGNATURE_HEADER]: signBody(this.privateKey, body, this.deps.clock()) }, body };
  }

  error(status, code, message) {
    return this.reply(status, { error: { code, message } });
  }

  tamper(res, kind) {
    const headers = { ...(res.headers ?? {}) };
    if (kind === 'missingSignature') delete headers[SIGNATURE_HEADER];
    else {
      const h = headers[SIGNATURE_HEADER] ?? '';
      const i = h.indexOf('s=') + 2;
      const c = h[i] === 'A' ? 'B' : 'A';
      headers[SIGNATURE_HEADER] = h.slice(0, i) + c + h.slice(i + 1);
    }
    return { ...res, headers };
  }

  settle(m) {
    if (m.status === 'PROCESSING' && this.deps.clock() >= m.createdMs + this.settleMs) {
      m.status = 'SUCCESS';
      m.done_at = isoUtc(m.createdMs + this.settleMs);
    }
    return m;
  }

  orderJson(o) {
    return { order_no: o.orderNo, trade_no: o.tradeNo, amount: formatAmount(o.amountMinor, o.currency), currency: o.currency, subject: o.subject, status: o.status, paid_at: o.paidMs ? isoUtc(o.paidMs) : undefined, qr_code: `testpay://pay/${o.tradeNo}` };
  }

  moveJson(m) {
    this.settle(m);
    return { ...m.wire, status: m.status, done_at: m.done_at };
  }

  refundedMinor(orderNo) {
    let sum = 0;
    for (const r of this.refunds.values()) if (r.orderNo === orderNo && r.status !== 'FAILED') sum += r.amountMinor;
    return sum;
  }

  available(currency) {
    let minor = OPENING_MINOR;
    for (const o of this.orders.values()) if (o.status === 'PAID' && o.currency === currency) minor += o.amountMinor - feeFor(o.amountMinor);
    for (const r of this.refunds.values()) if (r.currency === currency && r.status !== 'FAILED') minor -= r.amountMinor;
    for (const p of this.payouts.values()) if (p.currency === currency && p.status !== 'FAILED') minor -= p.amountMinor;
    return minor;
  }

  async handle(req) {
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return this.error(401, 'UNAUTHORIZED', 'invalid API key');
    let body = {};
    if (req.method === 'POST' && req.body.length) {
      try {
        body = JSON.parse(req.body.toString('utf8'));
      } catch {
        return this.error(400, 'BAD_REQUEST', 'body is not JSON');
      }
    }
    const amount = (text, currency) => parseAmount(String(text), String(currency));
    let m;
    try {
      if (req.method === 'POST' && req.path === '/v1/orders') {
        const existing = this.orders.get(body.order_no);
        const amountMinor = amount(body.amount, body.currency);
        if (existing) {
          if (existing.amountMinor !== amountMinor || existing.currency !== body.currency) return this.error(409, 'ORDER_NO_REUSED', 'order_no was used for a different order');
          return this.reply(200, this.orderJson(existing));
        }
        const o = { orderNo: body.order_no, tradeNo: `T${Date.now()}${randomBytes(4).toString('hex')}`, amountMinor, currency: body.currency, subject: body.subject, notifyUrl: body.notify_url, status: 'WAITING', createdMs: this.deps.clock() };
        this.orders.set(o.orderNo, o);
        return this.reply(200, this.orderJson(o));
      }
      if ((m = /^\/v1\/orders\/([^/]+)(\/close)?$/.exec(req.path))) {
        const o = this.orders.get(decodeURIComponent(m[1]));
        if (!o) return this.error(404, 'ORDER_NOT_FOUND', 'no such order');
        if (m[2] && req.method === 'POST' && o.status === 'WAITING') o.status = 'CLOSED';
        return this.reply(200, this.orderJson(o));
      }
      if (req.method === 'POST' && req.path === '/v1/refunds') {
        const existing = this.refunds.get(body.refund_no);
        if (existing) return this.reply(200, this.moveJson(existing));
        const o = this.orders.get(body.order_no);
        if (!o) return this.error(404, 'ORDER_NOT_FOUND', 'no such order');
        if (o.status !== 'PAID') return this.error(400, 'ORDER_NOT_PAID', 'the order is not paid');
        const amountMinor = amount(body.amount, o.currency);
        if (this.refundedMinor(o.orderNo) + amountMinor > o.amountMinor) return this.error(400, 'REFUND_EXCEEDS_REMAINDER', 'refund amount exceeds what is left');
        const r = { orderNo: o.orderNo, amountMinor, currency: o.currency, status: 'PROCESSING', createdMs: this.deps.clock(), wire: { refund_no: body.refund_no, order_no: o.orderNo, trade_no: o.tradeNo, channel_refund_no: `RF${randomBytes(6).toString('hex')}`, amount: body.amount, currency: o.currency } };
        this.refunds.set(body.refund_no, r);
        return this.reply(200, this.moveJson(r));
      }
      if (req.method === 'GET' && (m = /^\/v1\/refunds\/([^/]+)$/.exec(req.path))) {
        const r = this.refunds.get(decodeURIComponent(m[1]));
        return r ? this.reply(200, this.moveJson(r)) : this.error(404, 'ORDER_NOT_FOUND', 'no such refund');
      }
      if (req.method === 'POST' && req.path === '/v1/payouts') {
        const existing = this.payouts.get(body.payout_no);
        if (existing) return this.reply(200, this.moveJson(existing));
        const amountMinor = amount(body.amount, body.currency);
        if (this.available(body.currency) < amountMinor) return this.error(400, 'INSUFFICIENT_BALANCE', 'balance too low');
        const p = { orderNo: body.payout_no, amountMinor, currency: body.currency, status: 'PROCESSING', createdMs: this.deps.clock(), wire: { payout_no: body.payout_no, trade_no: `PO${randomBytes(6).toString('hex')}`, amount: body.amount, currency: body.currency, payee: body.payee } };
        this.payouts.set(body.payout_no, p);
        return this.reply(200, this.moveJson(p));
      }
      if (req.method === 'GET' && (m = /^\/v1\/payouts\/([^/]+)$/.exec(req.path))) {
        const p = this.payouts.get(decodeURIComponent(m[1]));
        return p ? this.reply(200, this.moveJson(p)) : this.error(404, 'ORDER_NOT_FOUND', 'no such payout');
      }
      if (req.method === 'GET' && req.path === '/v1/balance') {
        const currencies = new Set(['CNY', ...[...this.orders.values()].map((o) => o.currency)]);
        return this.reply(200, { balances: [...currencies].map((c) => ({ currency: c, available: formatAmount(this.available(c), c), pending: formatAmount(0, c) })) });
      }
      if (req.method === 'GET' && (m = /^\/v1\/bills\/(\d{4}-\d{2}-\d{2})$/.exec(req.path))) {
        const path = join(this.deps.workDir, `bill-${m[1]}.csv`);
        await bill.write(path, this.billRows(m[1]), { date: m[1], merchantId: this.merchantId });
        return this.reply(200, await readFile(path, 'utf8'));
      }
    } catch (err) {
      if (err?.code === 'INVALID_REQUEST') return this.error(400, 'BAD_REQUEST', err.message);
      throw err;
    }
    return undefined;
  }

  billRows(date) {
    const { start, end } = businessDayRange(date, TIME_ZONE);
    const rows = [];
    const inDay = (ms) => ms >= start && ms < end;
    for (const o of this.orders.values()) {
      if (o.status === 'PAID' && inDay(o.paidMs)) rows.push({ line: 0, orderNo: o.orderNo, channelTradeNo: o.tradeNo, kind: 'payment', amountMinor: o.amountMinor, feeMinor: feeFor(o.amountMinor), currency: o.currency, time: isoUtc(o.paidMs) });
    }
    for (const [refundNo, r] of this.refunds) {
      this.settle(r);
      if (r.status === 'SUCCESS' && inDay(r.createdMs)) rows.push({ line: 0, orderNo: r.orderNo, channelTradeNo: r.wire.trade_no, kind: 'refund', refundNo, amountMinor: -r.amountMinor, feeMinor: 0, currency: r.currency, time: isoUtc(r.createdMs + this.settleMs) });
    }
    for (const p of this.payouts.values()) {
      this.settle(p);
      if (p.status === 'SUCCESS' && inDay(p.createdMs)) rows.push({ line: 0, orderNo: p.orderNo, channelTradeNo: p.wire.trade_no, kind: 'payout', amountMinor: -p.amountMinor, feeMinor: 0, currency: p.currency, time: isoUtc(p.createdMs + this.settleMs) });
    }
    return rows;
  }

  async simulatePayment(orderNo, outcome = 'succeeded') {
    const o = this.orders.get(orderNo);
    if (!o) throw new PayError('ORDER_NOT_FOUND', `testpay has no order ${orderNo}`);
    if (o.status !== 'WAITING') throw invalid(`testpay order ${orderNo} is ${o.status}, not waiting for payment`);
    o.status = outcome === 'failed' ? 'FAILED' : 'PAID';
    o.paidMs = this.deps.clock();
    const url = o.notifyUrl ?? this.deps.webhookUrl?.();
    if (!url) return;
    const created = Math.floor(this.deps.clock() / 1000);
    const body = Buffer.from(
      JSON.stringify({
        id: `evt_${randomBytes(8).toString('hex')}`,
        type: outcome === 'failed' ? 'payment.failed' : 'payment.succeeded',
        created,
        data: { order_no: o.orderNo, trade_no: o.tradeNo, amount: formatAmount(o.amountMinor, o.currency), currency: o.currency, status: o.status },
      }),
    );
    this.deps.notify({
      url,
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signBody(this.privateKey, body, this.deps.clock()) },
      body,
      retryDelaysMs: RETRY_DELAYS_MS,
      accepted: (status, text) => status === 200 && text.trim() === 'SUCCESS',
      description: `testpay ${outcome === 'failed' ? 'payment.failed' : 'payment.succeeded'} ${orderNo}`,
    });
  }
}

/** The testpay SimulatorModule. */
export const simulator = {
  id: 'testpay',
  create: (deps) => new TestpaySimulator(deps),
};

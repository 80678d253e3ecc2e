/**
 * The test-only "testpay" channel module (see protocol.mjs): adapter over the shared HTTP client,
 * offline callback verification, and a streaming bill reader/writer. Loaded by path in tests:
 * `channels.testpay.module` in a temporary config, or imported directly.
 */
import { createPublicKey } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { PayError, configError, invalid } from '../../../dist/src/core/errors.js';
import { formatAmount, parseAmount } from '../../../dist/src/core/money.js';
import { isoUtc, utcToWallTime, wallTimeToUtc } from '../../../dist/src/core/time.js';
import { MOVE_STATUS, NOTIFY_TOLERANCE_SEC, ORDER_STATUS, SIGNATURE_HEADER, TIME_ZONE, verifyBody } from './protocol.mjs';

const CONFIG = [
  { key: 'baseUrl', type: 'url', required: true, description: 'Base URL of the testpay API (the sandbox prints it).' },
  { key: 'merchantId', type: 'string', required: true, description: 'Merchant id testpay issued.' },
  { key: 'apiKey', type: 'string', required: true, secret: true, description: 'API key sent as a Bearer token.' },
  { key: 'platformPublicKey', type: 'pem', required: true, description: "testpay's Ed25519 public key (PEM) that signs answers and notifications." },
  { key: 'notifyUrl', type: 'url', description: 'Default notify URL for payments.' },
];

function excerpt(text, max = 120) {
  const t = text.replace(/[\u0000-\u001f]/g, ' ');
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

const ERROR_CODES = {
  UNAUTHORIZED: 'AUTHENTICATION_FAILED',
  ORDER_NOT_FOUND: 'ORDER_NOT_FOUND',
  REFUND_EXCEEDS_REMAINDER: 'INVALID_REQUEST',
  ORDER_NOT_PAID: 'INVALID_REQUEST',
  ORDER_NO_REUSED: 'INVALID_REQUEST',
  BAD_REQUEST: 'INVALID_REQUEST',
  INSUFFICIENT_BALANCE: 'INSUFFICIENT_BALANCE',
  RATE_LIMITED: 'RATE_LIMITED',
};

class TestpayAdapter {
  constructor(config, deps) {
    this.config = config;
    this.deps = deps;
  }

  async call(operation, method, path, body, opts = {}) {
    const started = performance.now();
    const record = { operation, orderNo: opts.orderNo, refundNo: opts.refundNo, request: { method, path } };
    try {
      const http = await this.deps.http();
      const res = await http.request({
        method,
        url: this.config.baseUrl.replace(/\/$/, '') + path,
        headers: { authorization: `Bearer ${this.config.apiKey}`, 'content-type': 'application/json', 'testpay-merchant': this.config.merchantId },
        body: body === undefined ? undefined : JSON.stringify(body),
        idempotent: opts.idempotent ?? method === 'GET',
        operation: `testpay.${operation}`,
        orderNo: opts.orderNo,
        refundNo: opts.refundNo,
        saveTo: opts.saveTo,
      });
      const out = await this.answer(res, operation, opts.saveTo);
      this.deps.record({ ...record, httpStatus: res.status, attempts: res.attempts, durationMs: performance.now() - started });
      return out;
    } catch (err) {
      this.deps.record({ ...record, error: { code: err.code ?? 'SYSTEM_ERROR', message: err.message, providerCode: err.providerCode }, httpStatus: err.httpStatus, durationMs: performance.now() - started });
      throw err;
    }
  }

  /** Parses, then checks the signature (never trusting an unsigned answer), then maps errors. */
  async answer(res, operation, saveTo) {
    const raw = saveTo && res.status < 300 ? await readFile(saveTo) : res.body;
    const text = raw.toString('utf8');
    if (res.status >= 500) {
      throw new PayError('SYSTEM_ERROR', `testpay ${operation}: HTTP ${res.status}`, { channel: 'testpay', httpStatus: res.status, details: { bodyExcerpt: excerpt(text) } });
    }
    let json;
    if (!saveTo || res.status >= 300) {
      try {
        json = JSON.parse(text);
      } catch {
        throw new PayError('CHANNEL_ERROR', `testpay ${operation}: the answer is not JSON: "${excerpt(text)}"`, {
          channel: 'testpay',
          httpStatus: res.status,
          details: { bodyExcerpt: excerpt(text) },
          hint: 'The channel sent a damaged answer; retry, and query before creating again.',
        });
      }
    }
    this.platformKey ??= createPublicKey(this.config.platformPublicKey);
    const check = verifyBody(this.platformKey, res.headers[SIGNATURE_HEADER], raw, this.deps.clock());
    if (!check.ok) {
      // Exit 3: the channel's answer cannot be trusted, so the outcome is unknown (not a "no").
      throw new PayError('SIGNATURE_INVALID', `testpay ${operation}: answer rejected: ${check.message}`, {
        channel: 'testpay',
        httpStatus: res.status,
        exitCode: 3,
        hint: 'Never trust an unsigned answer: check platformPublicKey, then query the order again.',
      });
    }
    if (res.status >= 400) {
      const e = json?.error ?? {};
      throw new PayError(ERROR_CODES[e.code] ?? 'CHANNEL_ERROR', `testpay ${operation}: ${e.message ?? `HTTP ${res.status}`}`, {
        channel: 'testpay',
        httpStatus: res.status,
        providerCode: e.code,
        providerMessage: e.message,
      });
    }
    return json;
  }

  orderState(o) {
    return {
      status: ORDER_STATUS[o.status] ?? 'pending',
      channelTradeNo: o.trade_no,
      amountMinor: parseAmount(o.amount, o.currency),
      currency: o.currency,
      paidAt: o.paid_at,
      providerStatus: o.status,
    };
  }

  moveState(m) {
    return { status: MOVE_STATUS[m.status] ?? 'pending', channelTradeNo: m.trade_no, channelRefundNo: m.channel_refund_no, refundedAt: m.done_at, paidAt: m.done_at, providerStatus: m.status };
  }

  async collect(req) {
    const o = await this.call(
      'collect',
      'POST',
      '/v1/orders',
      { order_no: req.orderNo, amount: formatAmount(req.amountMinor, req.currency), currency: req.currency, subject: req.subject, notify_url: req.notifyUrl ?? this.config.notifyUrl },
      // Same order number, same order at testpay: a retried create cannot charge twice.
      { idempotent: true, orderNo: req.orderNo },
    );
    return { ...this.orderState(o), payload: { qrCode: o.qr_code } };
  }

  async queryCollect(ref) {
    return this.orderState(await this.call('queryCollect', 'GET', `/v1/orders/${encodeURIComponent(ref.orderNo)}`, undefined, { orderNo: ref.orderNo }));
  }

  async closeCollect(ref) {
    return this.orderState(await this.call('closeCollect', 'POST', `/v1/orders/${encodeURIComponent(ref.orderNo)}/close`, {}, { idempotent: true, orderNo: ref.orderNo }));
  }

  async refund(req) {
    const r = await this.call(
      'refund',
      'POST',
      '/v1/refunds',
      { order_no: req.orderNo, refund_no: req.refundNo, amount: formatAmount(req.amountMinor, req.currency), currency: req.currency, reason: req.reason },
      { idempotent: true, orderNo: req.orderNo, refundNo: req.refundNo },
    );
    return this.moveState(r);
  }

  async queryRefund(ref) {
    return this.moveState(await this.call('queryRefund', 'GET', `/v1/refunds/${encodeURIComponent(ref.refundNo)}`, undefined, { orderNo: ref.orderNo, refundNo: ref.refundNo }));
  }

  async payout(req) {
    const p = await this.call(
      'payout',
      'POST',
      '/v1/payouts',
      { payout_no: req.orderNo, amount: formatAmount(req.amountMinor, req.currency), currency: req.currency, payee: req.payee, payee_name: req.payeeName },
      { idempotent: true, orderNo: req.orderNo },
    );
    return this.moveState(p);
  }

  async queryPayout(ref) {
    return this.moveState(await this.call('queryPayout', 'GET', `/v1/payouts/${encodeURIComponent(ref.orderNo)}`, undefined, { orderNo: ref.orderNo }));
  }

  async balance() {
    const b = await this.call('balance', 'GET', '/v1/balance');
    return b.balances.map((x) => ({ currency: x.currency, availableMinor: parseAmount(x.available, x.currency, { allowZero: true }), pendingMinor: parseAmount(x.pending, x.currency, { allowZero: true }) }));
  }

  verifyCallback(request, options) {
    return callback.verify(request, this.config, options);
  }

  readBill(source, options) {
    return bill.read(source, options);
  }

  async downloadBill({ date, dir }) {
    const path = `${dir}/testpay-${date}.csv`;
    await this.call('downloadBill', 'GET', `/v1/bills/${date}`, undefined, { saveTo: path });
    return { path, format: 'testpay-csv' };
  }

  async check() {
    const started = performance.now();
    await this.balance();
    return { ok: true, detail: `reached ${this.config.baseUrl}`, latencyMs: performance.now() - started };
  }
}

const FAIL_REPLY = { status: 400, headers: { 'content-type': 'text/plain' }, body: 'FAIL' };
const OK_REPLY = { status: 200, headers: { 'content-type': 'text/plain' }, body: 'SUCCESS' };

/** Offline notification verification. Settings: platformPublicKey. */
export const callback = {
  detect(request) {
    return request.headers[SIGNATURE_HEADER] ? 1 : 0;
  },
  async verify(request, settings, options) {
    const base = { channel: 'testpay', scheme: 'testpay-ed25519' };
    if (typeof settings.platformPublicKey !== 'string' || !settings.platformPublicKey) {
      return { ...base, valid: false, reasonCode: 'MISSING_KEY', reason: 'channels.testpay.platformPublicKey is not configured', reply: FAIL_REPLY };
    }
    const check = verifyBody(settings.platformPublicKey, request.headers[SIGNATURE_HEADER], request.body, options.at, options.toleranceSec ?? NOTIFY_TOLERANCE_SEC);
    if (!check.ok) return { ...base, valid: false, reasonCode: check.reason, reason: check.message, reply: FAIL_REPLY };
    let e;
    try {
      e = JSON.parse(request.body.toString('utf8'));
    } catch {
      return { ...base, valid: false, reasonCode: 'MALFORMED', reason: 'body is not JSON', reply: FAIL_REPLY };
    }
    const d = e.data ?? {};
    const event = {
      type: e.type,
      kind: String(e.type).startsWith('payment.') ? 'payment' : String(e.type).startsWith('refund.') ? 'refund' : 'other',
      orderNo: d.order_no,
      channelTradeNo: d.trade_no,
      currency: d.currency,
      amountMinor: d.amount && d.currency ? parseAmount(d.amount, d.currency) : undefined,
      status: ORDER_STATUS[d.status],
      providerStatus: d.status,
      occurredAt: typeof e.created === 'number' ? isoUtc(e.created * 1000) : undefined,
    };
    return { ...base, valid: true, event, reply: OK_REPLY, dedupKey: e.id };
  },
};

const HEADER = ['order_no', 'trade_no', 'kind', 'refund_no', 'amount', 'fee', 'currency', 'time'];

function signedDecimal(minor, currency) {
  return (minor < 0 ? '-' : '') + formatAmount(Math.abs(minor), currency);
}

/** The testpay daily bill: a comment header, CSV rows, and a footer with the row count and checksum. */
export const bill = {
  async *read(source, options = {}) {
    const lines = createInterface({ input: createReadStream(source.path, { encoding: 'utf8' }), crlfDelay: Infinity });
    let n = 0;
    let rows = 0;
    let sum = 0;
    let footer;
    let header = false;
    for await (const line of lines) {
      n++;
      if (n === 1) {
        const m = /^# testpay bill,date=(\d{4}-\d{2}-\d{2}),merchant=(\S*)$/.exec(line);
        if (!m) throw invalid(`${source.path} is not a testpay bill (line 1)`);
        if (options.date && m[1] !== options.date) throw invalid(`${source.path} is the bill for ${m[1]}, not ${options.date}`);
        if (options.merchantId && m[2] !== options.merchantId) throw invalid(`${source.path} belongs to merchant ${m[2]}, not ${options.merchantId}`);
        continue;
      }
      if (!header) {
        if (line !== HEADER.join(',')) throw invalid(`${source.path} line ${n}: unexpected header`);
        header = true;
        continue;
      }
      if (line.startsWith('# end')) {
        footer = /^# end,rows=(\d+),checksum=(-?\d+)$/.exec(line);
        if (!footer) throw invalid(`${source.path} line ${n}: damaged footer`);
        continue;
      }
      if (footer) throw invalid(`${source.path} line ${n}: data after the footer`);
      const f = line.split(',');
      if (f.length !== HEADER.length) throw invalid(`${source.path} line ${n}: expected ${HEADER.length} fields`);
      const [orderNo, tradeNo, kind, refundNo, amount, fee, currency, time] = f;
      const amountMinor = parseAmount(amount, currency, { allowNegative: true, allowZero: true, label: `line ${n} amount` });
      rows++;
      sum += amountMinor;
      yield {
        line: n,
        orderNo: orderNo || undefined,
        channelTradeNo: tradeNo || undefined,
        kind,
        refundNo: refundNo || undefined,
        amountMinor,
        feeMinor: parseAmount(fee, currency, { allowZero: true, label: `line ${n} fee` }),
        currency,
        time: isoUtc(wallTimeToUtc(time, TIME_ZONE)),
      };
    }
    if (!footer) throw invalid(`${source.path} is truncated: no footer`);
    if (Number(footer[1]) !== rows || Number(footer[2]) !== sum) throw invalid(`${source.path}: footer says ${footer[1]} rows / ${footer[2]}, the file has ${rows} / ${sum}`);
  },
  async write(path, rows, options) {
    const out = [`# testpay bill,date=${options.date},merchant=${options.merchantId ?? ''}`, HEADER.join(',')];
    let sum = 0;
    for (const r of rows) {
      sum += r.amountMinor;
      out.push([r.orderNo ?? '', r.channelTradeNo ?? '', r.kind, r.refundNo ?? '', signedDecimal(r.amountMinor, r.currency), formatAmount(r.feeMinor, r.currency), r.currency, utcToWallTime(Date.parse(r.time), TIME_ZONE)].join(','));
    }
    out.push(`# end,rows=${rows.length},checksum=${sum}`);
    await writeFile(path, `${out.join('\n')}\n`);
  },
};

const testpay = {
  id: 'testpay',
  description: {
    id: 'testpay',
    name: 'testpay (test-only protocol)',
    version: '1.0.0',
    capabilities: ['collect', 'queryCollect', 'closeCollect', 'refund', 'queryRefund', 'payout', 'queryPayout', 'balance', 'verifyCallback', 'readBill', 'downloadBill'],
    config: CONFIG,
    timeZone: TIME_ZONE,
    methods: ['qr'],
  },
  validateConfig(settings) {
    for (const f of CONFIG) {
      if (f.required && (typeof settings[f.key] !== 'string' || settings[f.key] === '')) throw configError(`channels.testpay.${f.key} is missing`);
    }
    if (!/^https?:\/\//.test(settings.baseUrl)) throw configError('channels.testpay.baseUrl must be an http(s) URL');
    return { ...settings };
  },
  create(config, deps) {
    return new TestpayAdapter(config, deps);
  },
  callback,
  bill,
};

export default testpay;

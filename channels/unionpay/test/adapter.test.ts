/**
 * UnionPay-specific behaviour against the simulator: the web (front form) flow, 34 as "not paid
 * yet" then closed after payTimeout, retried creates, queries from another machine, voids,
 * signature refusals both ways, config validation, and nothing secret in call records.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateId } from '../../../src/core/ids.js';
import { PayError } from '../../../src/core/errors.js';
import { eventually, notifyReceiver, type NotifyReceiver } from '../../../test/helpers/contract-suite.js';
import { readUnionPayBill } from '../bill.js';
import { validateUnionPayConfig } from '../config.js';
import { encodeForm, readAutoSubmitForm } from '../form.js';
import unionpay from '../index.js';
import { generateTestChain } from '../pki.js';
import { readPkcs12 } from '../pkcs12.js';
import { verifyRsa } from '../signature.js';
import { MemoryJournal } from '../state.js';
import { startUnionPayHarness, type UnionPayHarness } from './harness.js';

let h: UnionPayHarness;
let rx: NotifyReceiver;

beforeAll(async () => {
  h = await startUnionPayHarness();
  rx = await notifyReceiver(unionpay, h.profile);
});
afterAll(async () => {
  await rx?.close();
  await h?.close();
});

const order = (overrides: Partial<{ orderNo: string; amountMinor: number; method: string }> = {}) => ({
  orderNo: overrides.orderNo ?? generateId('payment'),
  amountMinor: overrides.amountMinor ?? 1234,
  currency: 'CNY',
  subject: 'Sandbox {tea} & cakes = good',
  method: overrides.method ?? 'web',
  notifyUrl: rx.url,
});

async function payAtBrowser(html: string): Promise<string> {
  const form = readAutoSubmitForm(html);
  const res = await fetch(form.action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: encodeForm(form.fields, 'utf-8') });
  return res.text();
}

describe('web (front consume) flow', () => {
  it('builds a signed auto-submitting form; no call is made; the payer posts it; paid, notified, queried', async () => {
    const a = await h.adapter();
    const req = order();
    const before = h.sandbox.requests('unionpay').length;
    const r = await a.collect(req);
    expect(h.sandbox.requests('unionpay').length).toBe(before);
    expect(r.status).toBe('pending');
    const html = r.payload!.form as string;
    // A page that submits the form, for people to open in a browser.
    expect(readFileSync(fileURLToPath(r.payload!.redirectUrl as string), 'utf8')).toBe(html);
    expect(html).toContain(`action="${h.baseUrl}/gateway/api/frontTransReq.do"`);
    const { fields } = readAutoSubmitForm(html);
    expect(fields).toMatchObject({ txnType: '01', txnSubType: '01', bizType: '000201', channelType: '07', txnAmt: '1234', currencyCode: '156', version: '5.1.0', signMethod: '01', backUrl: rx.url });
    // The merchant signature in the form verifies with the sandbox merchant certificate.
    const p12 = readPkcs12(Buffer.from(h.profile.signCert as string, 'base64'), h.profile.signCertPassword as string);
    expect(verifyRsa(fields, p12.certificate.publicKey, '5.1.0', 'utf-8')).toBe(true);
    expect(fields.riskRateInfo).toBe('{commodityName=Sandbox  tea    cakes   good}');

    // Before the payer submits the form, UnionPay has no such transaction: pending.
    const q0 = await a.queryCollect({ orderNo: req.orderNo, amountMinor: 1234, currency: 'CNY', createdAt: new Date().toISOString() });
    expect(q0.status).toBe('pending');
    expect(q0.providerStatus).toMatch(/^34/);

    const page = await payAtBrowser(html);
    expect(page).toContain(req.orderNo);
    await h.sandbox.pay('unionpay', req.orderNo);
    const got = await eventually('the back notification', () => rx.received.find((x) => x.verdict.event?.orderNo === req.orderNo));
    expect(got.verdict.valid).toBe(true);
    expect(got.verdict.event).toMatchObject({ kind: 'payment', amountMinor: 1234, status: 'succeeded' });
    const q = await a.queryCollect({ orderNo: req.orderNo, amountMinor: 1234, currency: 'CNY', createdAt: new Date().toISOString() });
    expect(q).toMatchObject({ status: 'succeeded', amountMinor: 1234, currency: 'CNY', channelTradeNo: got.verdict.event!.channelTradeNo });
    expect(Date.parse(q.paidAt!)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('a web order never paid is pending until payTimeout (plus grace), then closed', async () => {
    const a = await h.adapter({ payTimeoutMinutes: 1 });
    const req = order();
    await a.collect(req);
    const ref = { orderNo: req.orderNo, amountMinor: 1234, currency: 'CNY', createdAt: new Date().toISOString() };
    expect((await a.queryCollect(ref)).status).toBe('pending');
    h.skewMs = 7 * 60_000;
    try {
      const q = await a.queryCollect(ref);
      expect(q.status).toBe('closed');
      expect(q.providerStatus).toMatch(/^34 .*payTimeout/);
    } finally {
      h.skewMs = 0;
    }
  });

  it('the browser posting a tampered form gets UnionPay\'s signature error page', async () => {
    const a = await h.adapter();
    const r = await a.collect(order());
    const html = (r.payload!.form as string).replace('name="txnAmt" value="1234"', 'name="txnAmt" value="1"');
    const page = await payAtBrowser(html);
    expect(page).toContain('respCode 11');
    expect(page).toContain('验证签名失败');
  });
});

describe('app (back consume) specifics', () => {
  it('returns the tn; a retried create (lost answer) reuses the txnTime and resolves through 12 -> query', async () => {
    const a = await h.adapter();
    const req = order({ method: 'app' });
    const first = await a.collect(req);
    expect(first.status).toBe('pending');
    expect(first.payload!.tn).toMatch(/^\d{21}$/);
    const again = await a.collect(req);
    expect(again.status).toBe('pending');
    const sent = h.sandbox.requests('unionpay').filter((r) => r.url === '/gateway/api/appTransReq.do' && r.body.includes(req.orderNo));
    expect(sent).toHaveLength(2);
    // The same orderId + txnTime both times: one order at UnionPay.
    const txnTimes = sent.map((r) => /txnTime=(\d{14})/.exec(r.body)![1]);
    expect(new Set(txnTimes).size).toBe(1);
    expect(h.sim.orders.get(req.orderNo)).toBeDefined();
  });

  it('another machine (no record of the txnTime) still finds the order from its creation time', async () => {
    const a = await h.adapter();
    const createdAt = new Date().toISOString();
    const req = order({ method: 'app' });
    await a.collect(req);
    await h.sandbox.pay('unionpay', req.orderNo);
    const elsewhere = await h.adapter({}, undefined);
    const q = await elsewhere.queryCollect({ orderNo: req.orderNo, amountMinor: 1234, currency: 'CNY', createdAt });
    expect(q.status).toBe('succeeded');
  });

  it('a payment the payer fails is failed with the raw origRespCode kept', async () => {
    const a = await h.adapter();
    const req = order({ method: 'app' });
    await a.collect(req);
    await h.sandbox.pay('unionpay', req.orderNo, 'failed');
    const q = await a.queryCollect({ orderNo: req.orderNo, amountMinor: 1234, currency: 'CNY', createdAt: new Date().toISOString() });
    expect(q.status).toBe('failed');
    expect(q.failure).toMatchObject({ code: 'DECLINED', providerCode: '01' });
  });

  it('refuses non-CNY amounts and unknown methods before any call', async () => {
    const a = await h.adapter();
    await expect(a.collect({ ...order(), currency: 'USD' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(a.collect({ ...order(), method: 'qr' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

describe('refunds and voids', () => {
  async function paidOrder(a: Awaited<ReturnType<UnionPayHarness['adapter']>>, amountMinor = 5000) {
    const req = order({ method: 'app', amountMinor });
    await a.collect(req);
    await h.sandbox.pay('unionpay', req.orderNo);
    const q = await a.queryCollect({ orderNo: req.orderNo, amountMinor, currency: 'CNY', createdAt: new Date().toISOString() });
    return { req, tradeNo: q.channelTradeNo! };
  }

  it('a refund is accepted, then succeeds; its notification names the refund and (via reqReserved) the order', async () => {
    const a = await h.adapter();
    const { req, tradeNo } = await paidOrder(a);
    const refundNo = generateId('refund');
    const r = await a.refund({ orderNo: req.orderNo, refundNo, channelTradeNo: tradeNo, amountMinor: 1500, totalMinor: 5000, currency: 'CNY', notifyUrl: rx.url, orderCreatedAt: new Date().toISOString() });
    expect(r.status).toBe('pending');
    expect(r.channelRefundNo).toMatch(/^\d{21}$/);
    const done = await eventually('the refund to succeed', async () => {
      const s = await a.queryRefund({ orderNo: req.orderNo, refundNo, amountMinor: 1500, totalMinor: 5000, currency: 'CNY' });
      return s.status === 'succeeded' ? s : undefined;
    });
    expect(done.refundedAt).toBeDefined();
    const note = await eventually('the refund notification', () => rx.received.find((x) => x.verdict.event?.refundNo === refundNo));
    expect(note.verdict.valid).toBe(true);
    expect(note.verdict.event).toMatchObject({ kind: 'refund', type: 'refund', orderNo: req.orderNo, channelTradeNo: tradeNo, amountMinor: 1500, status: 'succeeded' });
    // Queried by UnionPay's query id when this machine has no record of the refund.
    const other = await h.adapter();
    expect((await other.queryRefund({ orderNo: req.orderNo, refundNo, channelRefundNo: r.channelRefundNo, amountMinor: 1500, totalMinor: 5000, currency: 'CNY' })).status).toBe('succeeded');
  });

  it('a refund without the channel trade number asks UnionPay for it first', async () => {
    const a = await h.adapter();
    const { req } = await paidOrder(a);
    const r = await a.refund({ orderNo: req.orderNo, refundNo: generateId('refund'), amountMinor: 5000, totalMinor: 5000, currency: 'CNY', orderCreatedAt: new Date().toISOString() });
    expect(r.status).toBe('pending');
  });

  it('with voidSameDay, a full refund on the day of payment is a void (txnType 31)', async () => {
    const a = await h.adapter({ voidSameDay: true });
    const { req, tradeNo } = await paidOrder(a);
    const refundNo = generateId('refund');
    await a.refund({ orderNo: req.orderNo, refundNo, channelTradeNo: tradeNo, amountMinor: 5000, totalMinor: 5000, currency: 'CNY', orderCreatedAt: new Date().toISOString() });
    expect(h.sim.refunds.get(refundNo)?.txnType).toBe('31');
    const s = await eventually('the void to succeed', async () => {
      const x = await a.queryRefund({ orderNo: req.orderNo, refundNo, amountMinor: 5000, totalMinor: 5000, currency: 'CNY' });
      return x.status === 'succeeded' ? x : undefined;
    });
    expect(s.status).toBe('succeeded');
    // A partial refund stays a refund.
    const { req: r2, tradeNo: t2 } = await paidOrder(a);
    const partial = generateId('refund');
    await a.refund({ orderNo: r2.orderNo, refundNo: partial, channelTradeNo: t2, amountMinor: 100, totalMinor: 5000, currency: 'CNY', orderCreatedAt: new Date().toISOString() });
    expect(h.sim.refunds.get(partial)?.txnType).toBe('04');
  });

  it('refunding an unpaid order: UnionPay refuses (35) with the raw code kept', async () => {
    const a = await h.adapter();
    const err = (await a
      .refund({ orderNo: 'P000000000000X', refundNo: generateId('refund'), channelTradeNo: '999999999999999999999', amountMinor: 1, totalMinor: 1, currency: 'CNY', orderCreatedAt: new Date().toISOString() })
      .catch((e) => e)) as PayError;
    expect(err.code).toBe('INVALID_REQUEST');
    expect(err.providerCode).toBe('35');
  });
});

describe('signatures both ways', () => {
  it('a request signed with another key is refused by UnionPay (11 -> AUTHENTICATION_FAILED)', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const p12 = readPkcs12(Buffer.from(h.profile.signCert as string, 'base64'), h.profile.signCertPassword as string);
    const { certIdOf } = await import('../signature.js');
    const a = await h.adapter({ signCert: undefined, signCertPassword: undefined, privateKey: stranger, certId: certIdOf(p12.certificate) });
    const err = (await a.collect(order({ method: 'app' })).catch((e) => e)) as PayError;
    expect(err.code).toBe('AUTHENTICATION_FAILED');
    expect(err.providerCode).toBe('11');
    expect(err.exitCode).toBe(3);
  });

  it('privateKey + certId (instead of the .pfx) signs requests UnionPay accepts', async () => {
    const p12 = readPkcs12(Buffer.from(h.profile.signCert as string, 'base64'), h.profile.signCertPassword as string);
    const { certIdOf } = await import('../signature.js');
    const pem = p12.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const a = await h.adapter({ signCert: undefined, signCertPassword: undefined, privateKey: pem, certId: certIdOf(p12.certificate) });
    expect((await a.collect(order({ method: 'app' }))).status).toBe('pending');
    expect((await a.check()).ok).toBe(true);
  });

  it('an answer from a certificate outside the configured chain is not trusted (SIGNATURE_INVALID)', async () => {
    const other = generateTestChain();
    const a = await h.adapter({ middleCert: other.middle.pem, rootCert: other.root.pem });
    const err = (await a.collect(order({ method: 'app' })).catch((e) => e)) as PayError;
    expect(err.code).toBe('SIGNATURE_INVALID');
    expect(err.message).toMatch(/UNTRUSTED_CERT/);
  });
});

describe('bill download', () => {
  it('downloads the zip by file transfer and reads the day\'s rows (fees included)', async () => {
    const a = await h.adapter();
    const req = order({ method: 'app', amountMinor: 10000 });
    await a.collect(req);
    await h.sandbox.pay('unionpay', req.orderNo);
    const { beijingDate } = await import('../wire-time.js');
    const dir = h.tempDir();
    const bill = await a.downloadBill({ date: beijingDate(Date.now()), dir });
    expect(bill.format).toBe('unionpay-zm-zip');
    expect(readdirSync(dir)).toEqual([`${h.profile.merId}_${beijingDate(Date.now()).replace(/-/g, '')}.zip`]);
    const rows = [];
    for await (const r of a.readBill({ path: bill.path }, { date: beijingDate(Date.now()) })) rows.push(r);
    expect(rows.find((r) => r.orderNo === req.orderNo)).toMatchObject({ kind: 'payment', amountMinor: 10000, feeMinor: 60, currency: 'CNY' });
    // Another merchant's reader refuses it.
    const foreign = readUnionPayBill({ path: bill.path }, { merchantId: '777000000000000' });
    await expect((async () => {
      for await (const _ of foreign) void _;
    })()).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

describe('config validation (CONFIG_ERROR naming the field, before any call)', () => {
  const base = () => ({ ...h.profile });
  const code = (settings: Record<string, unknown>) => {
    try {
      validateUnionPayConfig(settings);
      return 'ok';
    } catch (err) {
      return `${(err as PayError).code}: ${(err as PayError).message}`;
    }
  };

  it('accepts the sandbox profile', () => {
    expect(code(base())).toBe('ok');
  });
  it.each([
    [{ merId: undefined }, /merId is missing/],
    [{ merId: '12345' }, /merId must be the 15-character/],
    [{ signCertPassword: 'wrong password' }, /signCertPassword does not open signCert/],
    [{ signCertPassword: undefined }, /signCertPassword is missing/],
    [{ signCert: 'not-a-pfx!\uFFFD\uFFFD' }, /signCert must be the \.pfx file as base64/],
    [{ signCert: Buffer.from('hello world').toString('base64') }, /signCert cannot be read/],
    [{ signCert: undefined, signCertPassword: undefined }, /signCert is missing/],
    [{ signCert: undefined, privateKey: 'garbage' , certId: '123' }, /privateKey is not an RSA private key/],
    [{ middleCert: undefined }, /middleCert is missing/],
    [{ rootCert: 'xyz' }, /rootCert is not a certificate/],
    [{ version: '5.0.0' }, /verifyCert is missing/],
    [{ signMethod: '11' }, /secureKey is missing/],
    [{ signMethod: '12' }, /signMethod must be 01/],
    [{ baseUrl: 'ftp://x' }, /baseUrl must be an http/],
    [{ payTimeoutMinutes: 0 }, /payTimeoutMinutes/],
  ])('%j', (over, pattern) => {
    const s = { ...base(), ...over } as Record<string, unknown>;
    for (const [k, v] of Object.entries(over)) if (v === undefined) delete s[k];
    const out = code(s);
    expect(out).toMatch(/^CONFIG_ERROR: /);
    expect(out).toMatch(pattern);
    // Never the secret values themselves.
    expect(out).not.toContain(h.profile.signCertPassword as string);
  });

  it('derives the file-transfer host from the real gateways', () => {
    const { fileBaseUrl: _f, ...noFile } = base();
    expect(validateUnionPayConfig({ ...noFile, baseUrl: 'https://gateway.test.95516.com' }).fileBaseUrl).toBe('https://filedownload.test.95516.com');
    expect(validateUnionPayConfig({ ...noFile, baseUrl: 'http://127.0.0.1:9' }).fileBaseUrl).toBe('http://127.0.0.1:9');
    expect(validateUnionPayConfig({ ...noFile, baseUrl: 'https://gateway.95516.com' }).fileBaseUrl).toBe('https://filedownload.95516.com');
  });
});

describe('records', () => {
  it('call records carry operations and order numbers, never keys or the password', () => {
    expect(h.records.length).toBeGreaterThan(5);
    const text = JSON.stringify(h.records);
    expect(text).toContain('unionpay.appTransReq');
    expect(text).not.toContain(h.profile.signCertPassword as string);
    expect(text).not.toContain((h.profile.signCert as string).slice(0, 40));
    expect(text).not.toMatch(/signature|BEGIN CERTIFICATE|PRIVATE KEY/);
  });

  it('the in-memory journal works like the SQLite one (load tests)', async () => {
    const { UnionPayAdapter } = await import('../adapter.js');
    const config = validateUnionPayConfig(h.profile);
    const a = new UnionPayAdapter(config, { stateDir: h.tempDir(), record: () => {}, clock: Date.now, http: async () => h.http, env: {}, debug: () => {} }, { journal: new MemoryJournal() });
    const req = order({ method: 'app' });
    await a.collect(req);
    await h.sandbox.pay('unionpay', req.orderNo);
    expect((await a.queryCollect({ orderNo: req.orderNo, amountMinor: 1234, currency: 'CNY', createdAt: '2000-01-01T00:00:00Z' })).status).toBe('succeeded');
    expect(createPublicKey(createPrivateKey(config.signer!.privateKey.export({ type: 'pkcs8', format: 'pem' }))).type).toBe('public');
  });
});

/**
 * The Alipay adapter against its simulator, beyond the shared suites: page/wap pay URLs, trades
 * that exist only once opened and expire, close, refund idempotency and full refunds, refund
 * notifies, transfers and their refusals, credentials errors, certificate mode (and a rotated
 * Alipay certificate), GBK requests and notifies, and the day's bill.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelCallRecord, ChannelDeps } from '../../../src/channel/contract.js';
import type { HttpClient } from '../../../src/channel/http-client.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/server.js';
import { createHttpClient } from '../../../src/channel/undici-http-client.js';
import { isPayError, type PayError } from '../../../src/core/errors.js';
import { isoUtc } from '../../../src/core/time.js';
import { caught } from '../../../test/helpers/errors.js';
import { eventually, notifyReceiver, type NotifyReceiver } from '../../../test/helpers/contract-suite.js';
import { AlipayAdapter } from '../adapter.js';
import { utcToBeijing } from '../beijing-time.js';
import { readAlipayBill } from '../bill.js';
import { encoderFor } from '../callback.js';
import { validateAlipayConfig } from '../config.js';
import alipay from '../index.js';
import { createAlipaySimulator, type AlipaySimulator, type AlipaySimulatorOptions } from '../sandbox/index.js';
import { encodeForm, fieldsOf, loadPrivateKey, signParams } from '../signature.js';
import { testCertSet, rsaKeyPair, type TestCertSet } from './keys.js';

let now = Date.parse('2026-11-23T02:00:00.000Z'); // 10:00 in Beijing
const clock = () => now;
let http: HttpClient;
const records: ChannelCallRecord[] = [];

interface Env {
  sandbox: RunningSandbox;
  sim: AlipaySimulator;
  settings: Record<string, unknown>;
  adapter: AlipayAdapter;
  rx: NotifyReceiver;
}

async function environment(options: AlipaySimulatorOptions = {}, overrides: Record<string, unknown> = {}): Promise<Env> {
  let sim!: AlipaySimulator;
  const sandbox = await startSandbox({
    channels: ['alipay'],
    clock,
    simulators: { alipay: { id: 'alipay', create: (deps) => (sim = createAlipaySimulator(deps, { retryDelaysMs: [50, 100, 200], ...options })) } },
  });
  const settings = { ...sandbox.profile('alipay'), ...overrides };
  const rx = await notifyReceiver(alipay, settings);
  const adapter = adapterFor({ ...settings, notifyUrl: rx.url });
  return { sandbox, sim, settings, adapter, rx };
}

function adapterFor(settings: Record<string, unknown>): AlipayAdapter {
  const deps: ChannelDeps = {
    stateDir: mkdtempSync(join(tmpdir(), 'pay-alipay-state-')),
    record: (e) => records.push(e),
    clock,
    http: async () => http,
    env: {},
    debug: () => {},
  };
  return new AlipayAdapter(validateAlipayConfig(settings), deps);
}

let serial = 0;
const orderNo = () => `P${Date.now()}${String(serial++).padStart(4, '0')}`;
const ref = (no: string, amountMinor = 10000) => ({ orderNo: no, amountMinor, currency: 'CNY', createdAt: isoUtc(now) });

beforeAll(() => {
  http = createHttpClient({ headersTimeoutMs: 5_000, backoffMs: 20 });
});
afterAll(async () => {
  await http.close();
});

describe('public-key mode', () => {
  let env: Env;
  beforeAll(async () => {
    env = await environment({ strictBillDays: true });
  });
  afterAll(async () => {
    await env.rx.close();
    await env.sandbox.close();
  });

  it('page and wap pay: a signed URL for the payer, no call; the trade exists once the payer opens it', async () => {
    for (const method of ['page', 'wap'] as const) {
      const no = orderNo();
      const before = records.length;
      const r = await env.adapter.collect({ orderNo: no, amountMinor: 8800, currency: 'CNY', subject: '网页支付 page', method, returnUrl: 'https://merchant.example/return' });
      expect(r.status).toBe('pending');
      const url = new URL(r.payload!.redirectUrl!);
      expect(url.searchParams.get('method')).toBe(method === 'page' ? 'alipay.trade.page.pay' : 'alipay.trade.wap.pay');
      expect(JSON.parse(url.searchParams.get('biz_content')!)).toMatchObject({ out_trade_no: no, total_amount: '88.00', product_code: method === 'page' ? 'FAST_INSTANT_TRADE_PAY' : 'QUICK_WAP_WAY' });
      expect(url.searchParams.get('return_url')).toBe('https://merchant.example/return');
      expect(env.sandbox.requests('alipay').filter((q) => q.body.includes(no) || q.url.includes(no))).toHaveLength(0);
      expect(records.length).toBe(before + 1);
      expect((await env.adapter.queryCollect(ref(no, 8800))).providerStatus).toBe('TRADE_NOT_EXIST');
      // The payer's browser opens the cashier: the simulator checks the URL's signature.
      const page = await fetch(url);
      expect(await page.text()).toContain('收银台');
      expect(await env.adapter.queryCollect(ref(no, 8800))).toMatchObject({ status: 'pending', providerStatus: 'WAIT_BUYER_PAY' });
      await env.sandbox.pay('alipay', no);
      expect(await env.adapter.queryCollect(ref(no, 8800))).toMatchObject({ status: 'succeeded', amountMinor: 8800, currency: 'CNY' });
    }
    // A spoiled URL signature is refused by the cashier.
    const no = orderNo();
    const r = await env.adapter.collect({ orderNo: no, amountMinor: 100, currency: 'CNY', subject: 'x', method: 'page' });
    const spoiled = r.payload!.redirectUrl!.replace(/total_amount%22%3A%221\.00/, 'total_amount%22%3A%220.01');
    expect(spoiled).not.toBe(r.payload!.redirectUrl);
    expect(await (await fetch(spoiled)).text()).toContain('isv.invalid-signature');
  });

  it('a QR trade is pending until opened, then paid; the notify verifies with the channel settings', async () => {
    const no = orderNo();
    const r = await env.adapter.collect({ orderNo: no, amountMinor: 1234, currency: 'CNY', subject: 'QR 订单' });
    expect(r).toMatchObject({ status: 'pending' });
    expect(r.payload!.qrCode).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/qr\/[0-9a-f]+$/);
    // The same create again (a retry) gives the same QR, and no second trade.
    expect((await env.adapter.collect({ orderNo: no, amountMinor: 1234, currency: 'CNY', subject: 'QR 订单' })).payload!.qrCode).toBe(r.payload!.qrCode);
    // The same number with another amount is refused.
    const changed = await caught(env.adapter.collect({ orderNo: no, amountMinor: 999, currency: 'CNY', subject: 'QR 订单' }));
    expect(changed).toMatchObject({ code: 'INVALID_REQUEST', providerCode: 'ACQ.CONTEXT_INCONSISTENT' });
    expect(await env.adapter.queryCollect(ref(no, 1234))).toMatchObject({ status: 'pending', providerStatus: 'TRADE_NOT_EXIST' });
    await fetch(r.payload!.qrCode!);
    expect((await env.adapter.queryCollect(ref(no, 1234))).providerStatus).toBe('WAIT_BUYER_PAY');
    await env.sandbox.pay('alipay', no);
    const got = await eventually('the notify', () => env.rx.received.find((x) => x.verdict.event?.orderNo === no));
    expect(got.verdict).toMatchObject({ valid: true, event: { kind: 'payment', amountMinor: 1234, status: 'succeeded' } });
    expect((await env.adapter.verifyCallback(got.request, { at: now })).valid).toBe(true);
    const paid = await env.adapter.queryCollect(ref(no, 1234));
    expect(paid).toMatchObject({ status: 'succeeded', amountMinor: 1234, paidAt: isoUtc(Math.floor(now / 1000) * 1000) });
    // A paid order's create again reports the paid trade rather than failing.
    expect(await env.adapter.collect({ orderNo: no, amountMinor: 1234, currency: 'CNY', subject: 'QR 订单' })).toMatchObject({ status: 'succeeded', channelTradeNo: paid.channelTradeNo });
  });

  it('close: an unopened trade (cancelled, its QR retired), an opened one, and a paid one (its state)', async () => {
    const a = orderNo();
    await env.adapter.collect({ orderNo: a, amountMinor: 100, currency: 'CNY', subject: 'a' });
    expect(await env.adapter.closeCollect(ref(a, 100))).toMatchObject({ status: 'closed', providerStatus: 'TRADE_CANCEL_CLOSE' });
    await expect(env.sandbox.pay('alipay', a)).rejects.toThrow(/TRADE_CLOSED/);
    const b = orderNo();
    const rb = await env.adapter.collect({ orderNo: b, amountMinor: 100, currency: 'CNY', subject: 'b' });
    await fetch(rb.payload!.qrCode!);
    expect(await env.adapter.closeCollect(ref(b, 100))).toMatchObject({ status: 'closed', providerStatus: 'TRADE_CLOSED' });
    expect(await env.adapter.queryCollect(ref(b, 100))).toMatchObject({ status: 'closed' });
    await expect(env.sandbox.pay('alipay', b)).rejects.toThrow(/TRADE_CLOSED/);
    const c = orderNo();
    await env.adapter.collect({ orderNo: c, amountMinor: 100, currency: 'CNY', subject: 'c' });
    await env.sandbox.pay('alipay', c);
    expect(await env.adapter.closeCollect(ref(c, 100))).toMatchObject({ status: 'succeeded', providerStatus: 'TRADE_SUCCESS' });
  });

  it('trades expire: an unopened one becomes unknown after its window, an opened one closes', async () => {
    const a = orderNo();
    const b = orderNo();
    const created = isoUtc(now);
    await env.adapter.collect({ orderNo: a, amountMinor: 100, currency: 'CNY', subject: 'a' });
    const rb = await env.adapter.collect({ orderNo: b, amountMinor: 100, currency: 'CNY', subject: 'b' });
    await fetch(rb.payload!.qrCode!);
    now += 126 * 60_000;
    try {
      const gone = await caught(env.adapter.queryCollect({ orderNo: a, amountMinor: 100, currency: 'CNY', createdAt: created }));
      expect(gone).toMatchObject({ code: 'ORDER_NOT_FOUND', providerCode: 'ACQ.TRADE_NOT_EXIST' });
      expect(gone.hint).toMatch(/Nothing was paid/);
      expect(await env.adapter.queryCollect({ orderNo: b, amountMinor: 100, currency: 'CNY', createdAt: created })).toMatchObject({ status: 'closed', providerStatus: 'TRADE_CLOSED' });
      await expect(env.sandbox.pay('alipay', a)).rejects.toThrow(/expired/);
    } finally {
      now -= 126 * 60_000;
    }
  });

  it('refunds: partial, repeated (idempotent), discordant, full (TRADE_CLOSED yet paid), with refund notifies', async () => {
    const no = orderNo();
    await env.adapter.collect({ orderNo: no, amountMinor: 10000, currency: 'CNY', subject: 'refund me' });
    await env.sandbox.pay('alipay', no);
    const req = (refundNo: string, amountMinor: number) => ({ orderNo: no, refundNo, amountMinor, totalMinor: 10000, currency: 'CNY', orderCreatedAt: isoUtc(now), reason: '退货' });
    expect(await env.adapter.refund(req('R1', 3000))).toMatchObject({ status: 'succeeded', providerStatus: 'REFUND_SUCCESS' });
    // The same refund number again: no second refund, the first one's state.
    expect(await env.adapter.refund(req('R1', 3000))).toMatchObject({ status: 'succeeded' });
    expect(await caught(env.adapter.refund(req('R1', 2000)))).toMatchObject({ code: 'INVALID_REQUEST', providerCode: 'ACQ.DISCORDANT_REPEAT_REQUEST' });
    expect(await caught(env.adapter.refund(req('R2', 7001)))).toMatchObject({ code: 'INVALID_REQUEST', providerCode: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL' });
    expect(await env.adapter.queryRefund({ orderNo: no, refundNo: 'R1', amountMinor: 3000, totalMinor: 10000, currency: 'CNY' })).toMatchObject({ status: 'succeeded' });
    expect(await env.adapter.queryRefund({ orderNo: no, refundNo: 'R9', amountMinor: 3000, totalMinor: 10000, currency: 'CNY' })).toMatchObject({ status: 'pending', providerStatus: 'REFUND_NOT_FOUND' });
    expect(await env.adapter.refund(req('R2', 7000))).toMatchObject({ status: 'succeeded' });
    expect(await env.adapter.queryCollect(ref(no))).toMatchObject({ status: 'succeeded', providerStatus: 'TRADE_CLOSED' });
    const refunds = await eventually('two refund notifies', () => {
      const r = env.rx.received.filter((x) => x.verdict.event?.orderNo === no && x.verdict.event.kind === 'refund');
      return r.length === 2 ? r : undefined;
    });
    expect(refunds.map((r) => r.verdict.event?.refundNo).sort()).toEqual(['R1', 'R2']);
    expect(refunds.every((r) => r.verdict.valid)).toBe(true);
    const unpaid = orderNo();
    await env.adapter.collect({ orderNo: unpaid, amountMinor: 100, currency: 'CNY', subject: 'u' });
    expect(await caught(env.adapter.refund({ ...req('R3', 100), orderNo: unpaid }))).toMatchObject({ code: 'ORDER_NOT_FOUND' });
  });

  it('transfers: to a user id and a login id, refused payees as failed results, balance limits, queries', async () => {
    const before = (await env.adapter.balance())[0];
    const t1 = orderNo();
    expect(await env.adapter.payout({ orderNo: t1, amountMinor: 500, currency: 'CNY', payee: '2088123412341234' })).toMatchObject({ status: 'succeeded', amountMinor: undefined });
    expect(await env.adapter.queryPayout(ref(t1, 500))).toMatchObject({ status: 'succeeded', amountMinor: 500, providerStatus: 'SUCCESS' });
    // Repeated with the same number: the same transfer, not a second one.
    const again = await env.adapter.payout({ orderNo: t1, amountMinor: 500, currency: 'CNY', payee: '2088123412341234' });
    expect(again.status).toBe('succeeded');
    expect((await env.adapter.balance())[0].availableMinor).toBe(before.availableMinor - 500);
    expect(await caught(env.adapter.payout({ orderNo: orderNo(), amountMinor: 500, currency: 'CNY', payee: 'someone@example.com' }))).toMatchObject({ code: 'INVALID_REQUEST' });
    const refused = await env.adapter.payout({ orderNo: orderNo(), amountMinor: 500, currency: 'CNY', payee: 'nobody@example.com', payeeName: '张三' });
    expect(refused).toMatchObject({ status: 'failed', failure: { providerCode: 'PAYEE_NOT_EXIST' } });
    const poor = await caught(env.adapter.payout({ orderNo: orderNo(), amountMinor: 10_000_000_000, currency: 'CNY', payee: '2088123412341234' }));
    expect(poor).toMatchObject({ code: 'INSUFFICIENT_BALANCE', providerCode: 'BALANCE_IS_NOT_ENOUGH' });
    expect(await caught(env.adapter.queryPayout(ref('T-unknown', 1)))).toMatchObject({ code: 'ORDER_NOT_FOUND', providerCode: 'ORDER_NOT_EXIST' });
    expect(await caught(env.adapter.payout({ orderNo: orderNo(), amountMinor: 500, currency: 'USD', payee: '2088123412341234' }))).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('the bill: refused for the day in progress, then downloaded as a GBK zip and parsed', async () => {
    const today = utcToBeijing(now).slice(0, 10);
    const dir = mkdtempSync(join(tmpdir(), 'pay-alipay-dl-'));
    const early = await caught(env.adapter.downloadBill({ date: today, dir }));
    expect(early).toMatchObject({ code: 'INVALID_REQUEST', providerCode: 'isp.bill_not_exist' });
    expect(early.hint).toMatch(/09:00/);
    now += 86_400_000;
    try {
      const bill = await env.adapter.downloadBill({ date: today, dir });
      expect(bill.path.endsWith(`20880000000000010156_${today.replaceAll('-', '')}.csv.zip`)).toBe(true);
      const rows = [];
      for await (const row of readAlipayBill({ path: bill.path }, { date: today, merchantId: '2088000000000001' })) rows.push(row);
      const payments = rows.filter((r) => r.kind === 'payment');
      const refunds = rows.filter((r) => r.kind === 'refund');
      expect(payments.length).toBeGreaterThanOrEqual(4);
      const big = payments.find((r) => r.amountMinor === 10000)!;
      expect(big.feeMinor).toBe(60);
      const mine = refunds.filter((r) => r.orderNo === big.orderNo);
      expect(mine.map((r) => [r.refundNo, r.amountMinor, r.feeMinor])).toEqual([
        ['R1', -3000, -18],
        ['R2', -7000, -42],
      ]);
      expect(await caught(env.adapter.downloadBill({ date: utcToBeijing(now + 86_400_000).slice(0, 10), dir }))).toMatchObject({ code: 'INVALID_REQUEST' });
    } finally {
      now -= 86_400_000;
    }
  });

  it('check: credentials accepted; wrong keys and app ids are named', async () => {
    expect(await env.adapter.check()).toMatchObject({ ok: true });
    const other = rsaKeyPair();
    const badKey = adapterFor({ ...env.settings, privateKey: other.privatePem });
    const e1 = await caught(badKey.queryCollect(ref('P1')));
    expect(e1).toMatchObject({ code: 'AUTHENTICATION_FAILED', providerCode: 'isv.invalid-signature', exitCode: 3 });
    expect(e1.hint).toMatch(/privateKey/);
    expect((await badKey.check()).ok).toBe(false);
    const badApp = adapterFor({ ...env.settings, appId: '2021999999999999' });
    expect(await caught(badApp.queryCollect(ref('P1')))).toMatchObject({ code: 'AUTHENTICATION_FAILED', providerCode: 'isv.invalid-app-id' });
    const badAlipayKey = adapterFor({ ...env.settings, alipayPublicKey: other.publicPem });
    expect(await caught(badAlipayKey.queryCollect(ref('P1')))).toMatchObject({ code: 'SIGNATURE_INVALID' });
  });

  it('never puts the private key in a call record', () => {
    const key = String(env.settings.privateKey).replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '').slice(0, 60);
    expect(records.length).toBeGreaterThan(10);
    expect(JSON.stringify(records)).not.toContain(key);
  });

  it('GBK: a request in GBK is checked over its GBK bytes, and its notify comes back in GBK', async () => {
    const encode = await encoderFor('gbk');
    const no = orderNo();
    const params: Record<string, string> = {
      app_id: String(env.settings.appId),
      method: 'alipay.trade.precreate',
      format: 'JSON',
      charset: 'GBK',
      sign_type: 'RSA2',
      timestamp: utcToBeijing(now),
      version: '1.0',
      notify_url: env.rx.url,
      biz_content: JSON.stringify({ out_trade_no: no, total_amount: '9.90', subject: '语雀空间 会员' }),
    };
    params.sign = signParams(params, loadPrivateKey(String(env.settings.privateKey)), 'RSA2', encode);
    const body = encodeForm(fieldsOf(params, encode));
    expect(body).toContain('%D3%EF%C8%B8'); // 语雀 in GBK
    const res = await fetch(String(env.settings.gateway), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=GBK' }, body });
    const text = await res.text();
    expect(text).toContain('"code":"10000"');
    await env.sandbox.pay('alipay', no);
    const got = await eventually('the GBK notify', () => env.rx.received.find((x) => x.verdict.event?.orderNo === no));
    expect(got.request.body.toString('latin1')).toContain('subject=%D3%EF%C8%B8');
    expect(got.request.headers['content-type']).toMatch(/charset=gbk/);
    expect(got.verdict).toMatchObject({ valid: true, event: { amountMinor: 990 } });
  });
});

describe('the payer paying on its own (autoPayAfterMs)', () => {
  let env: Env;
  beforeAll(async () => {
    env = await environment({ autoPayAfterMs: 60_000 });
  });
  afterAll(async () => {
    await env.rx.close();
    await env.sandbox.close();
  });

  it('pays a trade that long after it was made, as the clock moves; a trade closed before then stays closed', async () => {
    const no = orderNo();
    await env.adapter.collect({ orderNo: no, amountMinor: 500, currency: 'CNY', subject: 'auto' });
    const closed = orderNo();
    await env.adapter.collect({ orderNo: closed, amountMinor: 600, currency: 'CNY', subject: 'auto, cancelled' });
    await fetch(`${env.sandbox.baseUrl('alipay')}/qr/${env.sim.trades.get(closed)!.qrToken}`);
    expect(await env.adapter.closeCollect(ref(closed, 600))).toMatchObject({ status: 'closed' });
    expect((await env.adapter.queryCollect(ref(no, 500))).providerStatus).toBe('TRADE_NOT_EXIST');
    now += 60_000;
    expect(await env.adapter.queryCollect(ref(no, 500))).toMatchObject({ status: 'succeeded', amountMinor: 500 });
    expect(await env.adapter.queryCollect(ref(closed, 600))).toMatchObject({ status: 'closed', providerStatus: 'TRADE_CLOSED' });
  });
});

describe('certificate mode', () => {
  let certs: TestCertSet;
  let env: Env;
  beforeAll(async () => {
    certs = testCertSet();
    env = await environment({ certs: { appCert: certs.appCert, alipayPublicCert: certs.alipayPublicCert, alipayRootCert: certs.alipayRootCert, appPrivateKey: certs.app.privatePem, alipayPrivateKey: certs.alipay.privatePem } });
  });
  afterAll(async () => {
    await env.rx.close();
    await env.sandbox.close();
  });

  it('sends the SNs, checks alipay_cert_sn on answers and notifies, and runs a payment through', async () => {
    expect(env.settings.alipayPublicKey).toBeUndefined();
    const no = orderNo();
    await env.adapter.collect({ orderNo: no, amountMinor: 500, currency: 'CNY', subject: 'cert mode' });
    await env.sandbox.pay('alipay', no);
    expect(await env.adapter.queryCollect(ref(no, 500))).toMatchObject({ status: 'succeeded' });
    const got = await eventually('the notify', () => env.rx.received.find((x) => x.verdict.event?.orderNo === no));
    expect(got.verdict).toMatchObject({ valid: true, scheme: 'alipay-RSA2-cert' });
    expect(got.request.body.toString()).toContain('alipay_cert_sn=');
    const last = env.sandbox.requests('alipay').at(-1)!;
    expect(last.url + last.body).toContain('app_cert_sn=');
    expect(last.body).toContain('alipay_root_cert_sn=');
    // The same signed request again (a query is safe to repeat): the answer names its certificate.
    const again = await (await fetch(String(env.settings.gateway), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' }, body: last.body })).text();
    expect(again).toMatch(/,"alipay_cert_sn":"[0-9a-f]{32}","sign":/);
  });

  it('a rotated Alipay certificate is named, not silently trusted; a foreign app cert is a config error', async () => {
    const other = testCertSet();
    const rotated = adapterFor({ ...env.settings, alipayPublicCert: other.alipayPublicCert });
    const e = await caught(rotated.queryCollect(ref('P1')));
    expect(e.code).toBe('SIGNATURE_INVALID');
    expect(e.hint).toMatch(/rotated/);
    expect(() => validateAlipayConfig({ ...env.settings, appCert: other.appCert })).toThrow(/appCert does not belong to channels.alipay.privateKey/);
    // An app certificate the gateway does not know: its SN is refused.
    const foreign = adapterFor({ ...env.settings, appCert: other.appCert, privateKey: other.app.privatePem });
    expect(await caught(foreign.queryCollect(ref('P1')))).toMatchObject({ code: 'AUTHENTICATION_FAILED', providerCode: 'isv.invalid-app-cert-sn' });
  });
});

describe('config validation', () => {
  const key = rsaKeyPair();
  const base = { appId: '2021000000000001', privateKey: key.privatePem, alipayPublicKey: key.publicBase64 };
  const fails = (settings: Record<string, unknown>, pattern: RegExp) => {
    let thrown: unknown;
    try {
      validateAlipayConfig(settings);
    } catch (err) {
      thrown = err;
    }
    expect(isPayError(thrown)).toBe(true);
    expect((thrown as PayError).code).toBe('CONFIG_ERROR');
    expect((thrown as PayError).exitCode).toBe(2);
    expect((thrown as PayError).message).toMatch(pattern);
    expect((thrown as PayError).message).not.toContain('MII');
  };

  it('accepts public-key mode with defaults', () => {
    expect(validateAlipayConfig(base)).toMatchObject({ gateway: 'https://openapi.alipay.com/gateway.do', signType: 'RSA2', cert: undefined });
  });

  it('names the missing or malformed field, never its value', () => {
    fails({ ...base, appId: undefined }, /channels\.alipay\.appId is missing/);
    fails({ ...base, appId: 'abc' }, /appId must be the numeric APPID/);
    fails({ ...base, privateKey: undefined }, /privateKey is missing/);
    fails({ ...base, privateKey: 'MIIxxxx-not-a-key' }, /privateKey is not an RSA private key/);
    fails({ ...base, alipayPublicKey: undefined }, /alipayPublicKey is missing/);
    fails({ ...base, alipayPublicKey: 'MIInot' }, /alipayPublicKey is not an RSA public key/);
    fails({ ...base, appCert: '-----BEGIN CERTIFICATE-----' }, /certificate mode needs channels\.alipay\.alipayPublicCert and channels\.alipay\.alipayRootCert/);
    fails({ ...base, gateway: 'not a url' }, /gateway is not a URL/);
    fails({ ...base, gateway: 'ftp://x' }, /gateway must be an http/);
    fails({ ...base, signType: 'MD5' }, /signType must be RSA2 or RSA/);
    fails({ ...base, sellerId: '123' }, /sellerId must be a merchant PID/);
  });

  it('describes every field with a sentence and marks the private key secret', () => {
    const fields = alipay.description.config;
    expect(fields.find((f) => f.key === 'privateKey')?.secret).toBe(true);
    for (const f of fields) expect(f.description).toMatch(/[.)]$/);
    expect(alipay.description.capabilities).toHaveLength(11);
  });
});

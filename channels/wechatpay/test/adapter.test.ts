/**
 * The WeChat Pay adapter against the simulator over real loopback HTTP: every operation, error
 * mapping with the raw code kept, response signatures (bad, missing, expired certificate,
 * rotation), both platform-key modes, bill downloads with the SHA-1 check, and the official
 * community client (wechatpay-axios-plugin) driving the simulator with its own signature checks.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRequest } from '../../../src/channel/contract.js';
import type { PayError } from '../../../src/core/errors.js';
import { generateId } from '../../../src/core/ids.js';
import { caught } from '../../../test/helpers/errors.js';
import { readWechatBill } from '../bill.js';
import { errorFromResponse } from '../client.js';
import wechatpay from '../index.js';
import { privateKeyPem, publicKeyPem, rsaVerify } from '../signature.js';
import { startWechatpayHarness, type WechatpayHarness } from './harness.js';

const require = createRequire(import.meta.url);

const today = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
const ref = (orderNo: string, amountMinor = 1234) => ({ orderNo, amountMinor, currency: 'CNY', createdAt: new Date().toISOString() });
const eventually = async <T>(fn: () => Promise<T | undefined>, ms = 5000): Promise<T> => {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

let h: WechatpayHarness;
beforeAll(async () => {
  h = await startWechatpayHarness({ sim: { settleMs: 100 } });
});
afterAll(async () => {
  await h?.close();
});

describe('collect, query, close', () => {
  it('native: a QR code_url, pending until the payer pays, then paid with the transaction id', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    const c = await a.collect({ orderNo, amountMinor: 1234, currency: 'CNY', subject: '测试商品 pay' });
    expect(c).toMatchObject({ status: 'pending', payload: { qrCode: expect.stringMatching(/^weixin:\/\/wxpay\/bizpayurl\?pr=/) } });
    expect(await a.queryCollect(ref(orderNo))).toMatchObject({ status: 'pending', providerStatus: 'NOTPAY', amountMinor: 1234, currency: 'CNY' });
    await h.sandbox.pay('wechatpay', orderNo);
    const q = await a.queryCollect(ref(orderNo));
    expect(q).toMatchObject({ status: 'succeeded', providerStatus: 'SUCCESS', amountMinor: 1234, channelTradeNo: expect.stringMatching(/^4200\d{24}$/) });
    expect(Date.now() - Date.parse(q.paidAt!)).toBeLessThan(60_000);
    // The create went out signed, carrying the order in fen.
    const create = h.sandbox.requests('wechatpay').find((r) => r.url === '/v3/pay/transactions/native' && r.body.includes(orderNo))!;
    expect(JSON.parse(create.body)).toMatchObject({ appid: h.profile.appId, mchid: h.profile.mchId, out_trade_no: orderNo, amount: { total: 1234, currency: 'CNY' }, notify_url: h.profile.notifyUrl });
  });

  it('a repeated create with the same number is the same order (no second charge); other parameters are refused', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    const first = await a.collect({ orderNo, amountMinor: 500, currency: 'CNY', subject: 'same' });
    const again = await a.collect({ orderNo, amountMinor: 500, currency: 'CNY', subject: 'same' });
    expect(again.payload?.qrCode).toBe(first.payload?.qrCode);
    const e = await caught(a.collect({ orderNo, amountMinor: 501, currency: 'CNY', subject: 'same' }));
    expect(e).toMatchObject({ code: 'INVALID_REQUEST', providerCode: 'OUT_TRADE_NO_USED', httpStatus: 403, channel: 'wechatpay' });
    // Retried after it was paid: the real state comes back instead of an error.
    await h.sandbox.pay('wechatpay', orderNo);
    expect(await a.collect({ orderNo, amountMinor: 500, currency: 'CNY', subject: 'same' })).toMatchObject({ status: 'succeeded', channelTradeNo: expect.any(String) });
  });

  it('jsapi: needs the payer openid; returns prepay_id and a paySign the merchant key verifies', async () => {
    const a = await h.adapter();
    const before = h.sandbox.requests('wechatpay').length;
    const missing = await caught(a.collect({ orderNo: generateId('payment'), amountMinor: 100, currency: 'CNY', subject: 'x', method: 'jsapi' }));
    expect(missing).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(missing.message).toMatch(/openid/);
    expect(h.sandbox.requests('wechatpay').length).toBe(before);
    const c = await a.collect({ orderNo: generateId('payment'), amountMinor: 100, currency: 'CNY', subject: 'x', method: 'jsapi', extra: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } });
    const p = c.payload as { prepayId: string; jsapi: Record<string, string> };
    expect(p.prepayId).toMatch(/^wx\d{8}/);
    expect(p.jsapi).toMatchObject({ appId: h.profile.appId, package: `prepay_id=${p.prepayId}`, signType: 'RSA' });
    const merchantPublic = createPublicKey(h.profile.privateKey as string);
    expect(rsaVerify(`${p.jsapi.appId}\n${p.jsapi.timeStamp}\n${p.jsapi.nonceStr}\n${p.jsapi.package}\n`, p.jsapi.paySign, merchantPublic)).toBe(true);
  });

  it('h5: an h5_url; opening it pays the order', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    const c = await a.collect({ orderNo, amountMinor: 88, currency: 'CNY', subject: 'h5', method: 'h5', extra: { payer_client_ip: '203.0.113.7' } });
    expect(c.payload?.redirectUrl).toMatch(/\/sandbox\/checkmweb\?prepay_id=/);
    const res = await fetch(c.payload!.redirectUrl!);
    expect(res.status).toBe(200);
    expect((await a.queryCollect(ref(orderNo, 88))).status).toBe('succeeded');
  });

  it('refuses before any network call: another currency, an unknown method, no notify URL', async () => {
    const a = await h.adapter();
    const before = h.sandbox.requests('wechatpay').length;
    expect(await caught(a.collect({ orderNo: generateId('payment'), amountMinor: 100, currency: 'USD', subject: 'x' }))).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(await caught(a.collect({ orderNo: generateId('payment'), amountMinor: 100, currency: 'CNY', subject: 'x', method: 'app' }))).toMatchObject({ code: 'INVALID_REQUEST' });
    const noNotify = await h.adapter({ notifyUrl: undefined });
    expect(await caught(noNotify.collect({ orderNo: generateId('payment'), amountMinor: 100, currency: 'CNY', subject: 'x' }))).toMatchObject({ code: 'CONFIG_ERROR' });
    expect(h.sandbox.requests('wechatpay').length).toBe(before);
  });

  it('an unknown order: ORDER_NOT_FOUND with the raw code', async () => {
    const a = await h.adapter();
    expect(await caught(a.queryCollect(ref(generateId('payment'))))).toMatchObject({ code: 'ORDER_NOT_FOUND', providerCode: 'ORDER_NOT_EXIST', httpStatus: 404 });
  });

  it('close: an unpaid order closes; a paid one reports its state', async () => {
    const a = await h.adapter();
    const open = generateId('payment');
    await a.collect({ orderNo: open, amountMinor: 100, currency: 'CNY', subject: 'close me' });
    expect(await a.closeCollect(ref(open, 100))).toMatchObject({ status: 'closed' });
    expect(await a.queryCollect(ref(open, 100))).toMatchObject({ status: 'closed', providerStatus: 'CLOSED' });
    const paid = generateId('payment');
    await a.collect({ orderNo: paid, amountMinor: 100, currency: 'CNY', subject: 'paid' });
    await h.sandbox.pay('wechatpay', paid);
    expect(await a.closeCollect(ref(paid, 100))).toMatchObject({ status: 'succeeded' });
  });

  it('a payment error is a failed order with the provider status', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    await a.collect({ orderNo, amountMinor: 100, currency: 'CNY', subject: 'x' });
    await h.sandbox.pay('wechatpay', orderNo, 'failed');
    expect(await a.queryCollect(ref(orderNo, 100))).toMatchObject({ status: 'failed', providerStatus: 'PAYERROR', failure: { providerCode: 'PAYERROR' } });
  });
});

describe('refunds', () => {
  it('partial refunds settle; over the remainder is refused by the channel; a repeat is the same refund', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    await a.collect({ orderNo, amountMinor: 1000, currency: 'CNY', subject: 'r' });
    const early = await caught(a.refund({ orderNo, refundNo: generateId('refund'), amountMinor: 100, totalMinor: 1000, currency: 'CNY', orderCreatedAt: '' }));
    expect(early).toMatchObject({ code: 'CHANNEL_ERROR', providerCode: 'TRADE_ERROR' });
    await h.sandbox.pay('wechatpay', orderNo);
    const refundNo = generateId('refund');
    const r = await a.refund({ orderNo, refundNo, amountMinor: 300, totalMinor: 1000, currency: 'CNY', reason: '部分退款', orderCreatedAt: '' });
    expect(r).toMatchObject({ status: 'pending', providerStatus: 'PROCESSING', channelRefundNo: expect.stringMatching(/^5030\d+/) });
    const repeat = await a.refund({ orderNo, refundNo, amountMinor: 300, totalMinor: 1000, currency: 'CNY', orderCreatedAt: '' });
    expect(repeat.channelRefundNo).toBe(r.channelRefundNo);
    const done = await eventually(async () => {
      const s = await a.queryRefund({ orderNo, refundNo, amountMinor: 300, totalMinor: 1000, currency: 'CNY' });
      return s.status === 'succeeded' ? s : undefined;
    });
    expect(done).toMatchObject({ providerStatus: 'SUCCESS', refundedAt: expect.any(String) });
    const over = await caught(a.refund({ orderNo, refundNo: generateId('refund'), amountMinor: 701, totalMinor: 1000, currency: 'CNY', orderCreatedAt: '' }));
    expect(over).toMatchObject({ code: 'INVALID_REQUEST', providerCode: 'INVALID_REQUEST' });
    expect((await a.refund({ orderNo, refundNo: generateId('refund'), amountMinor: 700, totalMinor: 1000, currency: 'CNY', orderCreatedAt: '' })).status).toBe('pending');
    // The order reads REFUND at WeChat Pay, which is still a paid order to pay.
    expect(await a.queryCollect(ref(orderNo, 1000))).toMatchObject({ status: 'succeeded', providerStatus: 'REFUND' });
    expect(await caught(a.queryRefund({ orderNo, refundNo: generateId('refund'), amountMinor: 1, totalMinor: 1000, currency: 'CNY' }))).toMatchObject({ code: 'ORDER_NOT_FOUND', providerCode: 'RESOURCE_NOT_EXISTS' });
  });
});

describe('payouts (商家转账) and balance', () => {
  it('transfers to an openid with the name encrypted for the platform key; a failing payee fails; balance moves', async () => {
    const a = await h.adapter();
    const [before] = await a.balance();
    expect(before).toMatchObject({ currency: 'CNY', account: 'BASIC', pendingMinor: 0 });
    const orderNo = generateId('payout');
    const p = await a.payout({ orderNo, amountMinor: 500, currency: 'CNY', payee: 'oPayee0001', payeeName: '张三', remark: '佣金' });
    expect(p).toMatchObject({ status: 'pending', providerStatus: 'WAIT_USER_CONFIRM', amountMinor: 500, channelTradeNo: expect.stringMatching(/^1330/) });
    const sent = JSON.parse(h.sandbox.requests('wechatpay').filter((r) => r.url === '/v3/fund-app/mch-transfer/transfer-bills').at(-1)!.body);
    expect(sent.user_name).not.toContain('张三');
    expect(sent).toMatchObject({ out_bill_no: orderNo, openid: 'oPayee0001', transfer_amount: 500, transfer_scene_id: '1000', transfer_scene_report_infos: [{ info_type: '活动名称' }, { info_type: '奖励说明' }] });
    const done = await eventually(async () => {
      const s = await a.queryPayout(ref(orderNo, 500));
      return s.status === 'succeeded' ? s : undefined;
    });
    expect(done).toMatchObject({ providerStatus: 'SUCCESS', paidAt: expect.any(String) });
    const [after] = await a.balance();
    expect(before.availableMinor - after.availableMinor).toBe(500);
    const failing = generateId('payout');
    await a.payout({ orderNo: failing, amountMinor: 100, currency: 'CNY', payee: 'oPayee_fail' });
    const failed = await eventually(async () => {
      const s = await a.queryPayout(ref(failing, 100));
      return s.status === 'failed' ? s : undefined;
    });
    expect(failed.failure).toMatchObject({ providerCode: 'PAYEE_ACCOUNT_ABNORMAL' });
    // A failed transfer gives its money back to the account.
    expect((await a.balance())[0].availableMinor).toBe(after.availableMinor);
    expect(await caught(a.queryPayout(ref(generateId('payout'), 1)))).toMatchObject({ code: 'ORDER_NOT_FOUND', providerCode: 'NOT_FOUND' });
  });

  it('a transfer beyond the balance: INSUFFICIENT_BALANCE (NOT_ENOUGH)', async () => {
    const a = await h.adapter();
    const [bal] = await a.balance();
    const e = await caught(a.payout({ orderNo: generateId('payout'), amountMinor: bal.availableMinor + 1, currency: 'CNY', payee: 'oPayee0002', payeeName: '李四' }));
    expect(e).toMatchObject({ code: 'INSUFFICIENT_BALANCE', providerCode: 'NOT_ENOUGH', exitCode: 1 });
  });
});

describe('signatures and keys', () => {
  it('a request signed with the wrong merchant key: AUTHENTICATION_FAILED (401 SIGN_ERROR), the raw code kept', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const a = await h.adapter({ privateKey: privateKeyPem(other.privateKey) });
    const e = await caught(a.queryCollect(ref(generateId('payment'))));
    expect(e).toMatchObject({ code: 'AUTHENTICATION_FAILED', providerCode: 'SIGN_ERROR', httpStatus: 401, exitCode: 3 });
    expect(e.hint).toMatch(/privateKey/);
  });

  it('without configured certificates, downloads them once and caches them in the state directory', async () => {
    const dir = h.tempDir();
    const count = () => h.paths().filter((p) => p === 'GET /v3/certificates').length;
    const start = count();
    const a = await h.adapter({ platformCertificate: undefined }, dir);
    await a.balance();
    await a.balance();
    expect(count()).toBe(start + 1);
    expect(readdirSync(dir).some((f) => f.startsWith('platform-certificates-'))).toBe(true);
    const b = await h.adapter({ platformCertificate: undefined }, dir);
    await b.balance();
    expect(count()).toBe(start + 1);
    // With the certificate configured (the sandbox profile), nothing is downloaded.
    await (await h.adapter()).balance();
    expect(count()).toBe(start + 1);
  });

  it('check(): a signed request accepted, in both key setups; wrong credentials fail', async () => {
    expect(await (await h.adapter()).check()).toMatchObject({ ok: true, detail: expect.stringMatching(/accepted/) });
    expect(await (await h.adapter({ platformCertificate: undefined })).check()).toMatchObject({ ok: true, detail: expect.stringMatching(/1 platform certificate\(s\) downloaded and verified/) });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(await caught((await h.adapter({ privateKey: privateKeyPem(other.privateKey) })).check())).toMatchObject({ code: 'AUTHENTICATION_FAILED' });
  });

  it('a wrong APIv3 key cannot open the platform certificates: CONFIG_ERROR naming apiV3Key', async () => {
    const a = await h.adapter({ apiV3Key: 'W'.repeat(32), platformCertificate: undefined });
    const e = await caught(a.balance());
    expect(e).toMatchObject({ code: 'CONFIG_ERROR' });
    expect(e.message).toMatch(/apiV3Key/);
  });

  it('answers with a bad or missing signature are never trusted (SIGNATURE_INVALID)', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    await a.collect({ orderNo, amountMinor: 100, currency: 'CNY', subject: 'x' });
    for (const kind of ['badSignature', 'missingSignature'] as const) {
      h.sandbox.fault('wechatpay', { kind, match: `out-trade-no/${orderNo}` });
      const e = await caught(a.queryCollect(ref(orderNo, 100)));
      expect(e).toMatchObject({ code: 'SIGNATURE_INVALID', details: { reason: kind === 'badSignature' ? 'BAD_SIGNATURE' : 'MALFORMED' } });
    }
    h.sandbox.fault('wechatpay', { kind: 'malformed', match: `out-trade-no/${orderNo}` });
    const m = await caught(a.queryCollect(ref(orderNo, 100)));
    expect(m).toMatchObject({ code: 'CHANNEL_ERROR' });
    expect(m.message).toMatch(/not JSON: «\{"appid"/);
    expect(await a.queryCollect(ref(orderNo, 100))).toMatchObject({ status: 'pending' });
  });

  it('follows a certificate rotation, and refuses an expired platform certificate', async () => {
    const dir = h.tempDir();
    const a = await h.adapter({}, dir);
    await a.balance();
    const downloads = h.paths().filter((p) => p === 'GET /v3/certificates').length;
    await h.sim.rotateCertificate();
    // The configured certificate does not know the new serial: the set is downloaded once.
    expect((await a.balance()).length).toBe(1);
    expect(h.paths().filter((p) => p === 'GET /v3/certificates').length).toBe(downloads + 1);
    await h.sim.expireCertificate();
    const e = await caught(a.balance());
    expect(e).toMatchObject({ code: 'SIGNATURE_INVALID', details: { reason: 'UNTRUSTED_CERT' } });
    expect(e.message).toMatch(/expired/);
    // A fresh adapter downloading the expired certificate refuses it just the same.
    expect(await caught((await h.adapter({ platformCertificate: undefined })).balance())).toMatchObject({ code: 'SIGNATURE_INVALID', details: { reason: 'UNTRUSTED_CERT' } });
    await h.sim.rotateCertificate();
    expect((await a.balance()).length).toBe(1);
  });

  it('verifies notifications the simulator sends, through the adapter (downloaded certificates)', async () => {
    const received: RawRequest[] = [];
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method, target: req.url, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) });
        res.writeHead(received.length === 1 ? 500 : 204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/notify`;
      const a = await h.adapter({ notifyUrl: url });
      const orderNo = generateId('payment');
      await a.collect({ orderNo, amountMinor: 4321, currency: 'CNY', subject: 'n' });
      await h.sandbox.pay('wechatpay', orderNo);
      // The first attempt got a 500: WeChat Pay's schedule retries (15 ms compressed).
      await eventually(async () => (received.length >= 2 ? true : undefined));
      const v = await a.verifyCallback!(received[1], { at: Date.now() });
      expect(v).toMatchObject({ valid: true, event: { kind: 'payment', orderNo, amountMinor: 4321, status: 'succeeded' } });
      expect(received[1].body.equals(received[0].body)).toBe(true);
      const attempts = h.sandbox.deliveries('wechatpay').filter((d) => d.url === url);
      expect(attempts.map((d) => [d.attempt, d.status, d.accepted])).toEqual([
        [1, 500, false],
        [2, 204, true],
      ]);
    } finally {
      server.close();
    }
  });
});

describe('bills', () => {
  it('downloads the trade bill (gzip, SHA-1 checked) with the day rows, and the fund-flow bill with the payout', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    await a.collect({ orderNo, amountMinor: 2000, currency: 'CNY', subject: 'bill' });
    await h.sandbox.pay('wechatpay', orderNo);
    const refundNo = generateId('refund');
    await a.refund({ orderNo, refundNo, amountMinor: 500, totalMinor: 2000, currency: 'CNY', orderCreatedAt: '' });
    const payoutNo = generateId('payout');
    await a.payout({ orderNo: payoutNo, amountMinor: 300, currency: 'CNY', payee: 'oBill' });
    await new Promise((r) => setTimeout(r, 250));
    const dir = h.tempDir();
    const all = await a.downloadBill({ date: today(), dir });
    expect(all).toMatchObject({ format: 'wechatpay-tradebill', path: expect.stringMatching(/tradebill-.*-ALL\.csv\.gz$/) });
    const rows = [];
    for await (const r of a.readBill({ path: all.path }, { date: today() })) rows.push(r);
    expect(rows.find((r) => r.orderNo === orderNo && r.kind === 'payment')).toMatchObject({ amountMinor: 2000, feeMinor: 12 });
    expect(rows.find((r) => r.refundNo === refundNo)).toMatchObject({ kind: 'refund', amountMinor: -500, feeMinor: -3 });
    const refundsOnly = await a.downloadBill({ date: today(), dir, type: 'REFUND' });
    const kinds = new Set<string>();
    for await (const r of readWechatBill({ path: refundsOnly.path })) kinds.add(r.kind);
    expect([...kinds]).toEqual(['refund']);
    const flow = await a.downloadBill({ date: today(), dir, type: 'FUNDFLOW' });
    expect(flow.format).toBe('wechatpay-fundflow');
    const flows = [];
    for await (const r of readWechatBill({ path: flow.path }, { date: today() })) flows.push(r);
    expect(flows.find((r) => r.orderNo === payoutNo)).toMatchObject({ kind: 'payout', amountMinor: -300 });
    expect(readdirSync(dir).some((f) => f.endsWith('.part'))).toBe(false);
  });

  it('a download that does not match its SHA-1 is refused and not kept; an empty day has no bill', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    await a.collect({ orderNo, amountMinor: 100, currency: 'CNY', subject: 'bill' });
    await h.sandbox.pay('wechatpay', orderNo);
    const dir = h.tempDir();
    h.sandbox.fault('wechatpay', { kind: 'malformed', match: '^GET /v3/billdownload/file', body: '交易时间,x\n' });
    const e = await caught(a.downloadBill({ date: today(), dir }));
    expect(e).toMatchObject({ code: 'CHANNEL_ERROR' });
    expect(e.message).toMatch(/SHA-1/);
    expect(readdirSync(dir)).toEqual([]);
    const none = await caught(a.downloadBill({ date: '2001-01-01', dir }));
    expect(none).toMatchObject({ code: 'INVALID_REQUEST', providerCode: 'NO_STATEMENT_EXIST' });
    expect(await caught(a.downloadBill({ date: '2026-13-01', dir }))).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(await caught(a.downloadBill({ date: today(), dir, type: 'WEEKLY' }))).toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

describe('the WeChat Pay public-key mode (PUB_KEY_ID_)', () => {
  let pk: WechatpayHarness;
  beforeAll(async () => {
    pk = await startWechatpayHarness({ sim: { keyMode: 'publicKey', settleMs: 50 } });
  });
  afterAll(async () => {
    await pk?.close();
  });

  it('verifies answers with the configured public key and never downloads certificates', async () => {
    expect(pk.profile.platformSerial).toMatch(/^PUB_KEY_ID_/);
    const a = await pk.adapter();
    const orderNo = generateId('payment');
    await a.collect({ orderNo, amountMinor: 100, currency: 'CNY', subject: 'pk' });
    await a.payout({ orderNo: generateId('payout'), amountMinor: 100, currency: 'CNY', payee: 'oPk', payeeName: '王五' });
    expect(pk.paths()).not.toContain('GET /v3/certificates');
    const sent = pk.sandbox.requests('wechatpay').find((r) => r.url.includes('transfer-bills'))!;
    expect(sent.status).toBe(200);
    // The configured key is the only one trusted: another public key under the same id fails.
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const wrong = await pk.adapter({ platformPublicKey: publicKeyPem(other.publicKey) });
    expect(await caught(wrong.queryCollect(ref(orderNo, 100)))).toMatchObject({ code: 'SIGNATURE_INVALID', details: { reason: 'BAD_SIGNATURE' } });
    const serial = await pk.adapter({ platformSerial: 'PUB_KEY_ID_0000' });
    expect(await caught(serial.queryCollect(ref(orderNo, 100)))).toMatchObject({ code: 'SIGNATURE_INVALID', details: { reason: 'UNKNOWN_KEY' } });
  });
});

describe('wechatpay-axios-plugin (the community SDK) against the simulator', () => {
  it('creates, queries and refunds with its own request signing and response verification', async () => {
    const { Wechatpay } = require('wechatpay-axios-plugin') as { Wechatpay: new (c: Record<string, unknown>) => any };
    const a = await h.adapter();
    await a.balance(); // makes sure the simulator's current certificate is the one in the profile below
    const wxpay = new Wechatpay({
      mchid: h.profile.mchId,
      serial: h.profile.serialNo,
      privateKey: h.profile.privateKey,
      certs: { [h.sim.signingSerial]: h.sim.platformCertificate },
      baseURL: `${h.baseUrl}/`,
    });
    const orderNo = generateId('payment');
    const created = await wxpay.v3.pay.transactions.native.post({ mchid: h.profile.mchId, appid: h.profile.appId, out_trade_no: orderNo, description: 'SDK', notify_url: 'https://example.com/notify', amount: { total: 1, currency: 'CNY' } });
    expect(created.data.code_url).toMatch(/^weixin:/);
    await h.sandbox.pay('wechatpay', orderNo);
    const q = await wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.get({ params: { mchid: h.profile.mchId }, out_trade_no: orderNo });
    expect(q.data).toMatchObject({ trade_state: 'SUCCESS', out_trade_no: orderNo });
    const refund = await wxpay.v3.refund.domestic.refunds.post({ out_trade_no: orderNo, out_refund_no: generateId('refund'), amount: { refund: 1, total: 1, currency: 'CNY' } });
    expect(refund.data.status).toBe('PROCESSING');
    // Our adapter sees the order the SDK made.
    expect(await a.queryCollect(ref(orderNo, 1))).toMatchObject({ status: 'succeeded', providerStatus: 'REFUND' });
    // And the SDK rejects a tampered answer, as we do.
    h.sandbox.fault('wechatpay', { kind: 'badSignature', match: `out-trade-no/${orderNo}` });
    await expect(wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.get({ params: { mchid: h.profile.mchId }, out_trade_no: orderNo })).rejects.toThrow();
  });
});

describe('configuration and error mapping', () => {
  it('names the missing or malformed field before any call', () => {
    const base = { ...h.profile };
    for (const key of ['mchId', 'appId', 'serialNo', 'privateKey', 'apiV3Key']) {
      expect(() => wechatpay.validateConfig({ ...base, [key]: undefined })).toThrow(new RegExp(`channels\\.wechatpay\\.${key} is missing`));
    }
    expect(() => wechatpay.validateConfig({ ...base, apiV3Key: 'short' })).toThrow(/32 characters/);
    expect(() => wechatpay.validateConfig({ ...base, privateKey: 'garbage' })).toThrow(/privateKey is not a readable private key/);
    expect(() => wechatpay.validateConfig({ ...base, platformSerial: 'PUB_KEY_ID_1' })).toThrow(/without platformPublicKey/);
    expect(() => wechatpay.validateConfig({ ...base, platformPublicKey: publicKeyPem(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey) })).toThrow(/platformSerial is missing/);
    expect(() => wechatpay.validateConfig({ ...base, baseUrl: 'ftp://x' })).toThrow(/baseUrl/);
    expect(() => wechatpay.validateConfig({ ...base, balanceAccounts: ['SAVINGS'] })).toThrow(/balanceAccounts/);
    try {
      wechatpay.validateConfig({ ...base, privateKey: 'garbage' });
    } catch (err) {
      expect((err as PayError).code).toBe('CONFIG_ERROR');
      expect((err as PayError).exitCode).toBe(2);
    }
  });

  it('maps error bodies onto the standard codes and keeps the raw one', () => {
    const e = (status: number, body: string) => errorFromResponse(status, Buffer.from(body), 'query');
    const cases: Array<[number, string, string]> = [
      [404, 'ORDER_NOT_EXIST', 'ORDER_NOT_FOUND'],
      [404, 'RESOURCE_NOT_EXISTS', 'ORDER_NOT_FOUND'],
      [401, 'SIGN_ERROR', 'AUTHENTICATION_FAILED'],
      [429, 'FREQUENCY_LIMITED', 'RATE_LIMITED'],
      [500, 'SYSTEM_ERROR', 'SYSTEM_ERROR'],
      [403, 'NOT_ENOUGH', 'INSUFFICIENT_BALANCE'],
      [400, 'PARAM_ERROR', 'INVALID_REQUEST'],
      [403, 'RULE_LIMIT', 'CHANNEL_ERROR'],
      [403, 'SOMETHING_NEW', 'CHANNEL_ERROR'],
      [400, 'SOMETHING_NEW', 'INVALID_REQUEST'],
    ];
    for (const [status, code, want] of cases) {
      const err = e(status, JSON.stringify({ code, message: '说明' }));
      expect([code, err.code, err.providerCode, err.providerMessage]).toEqual([code, want, code, '说明']);
    }
    const html = e(502, '<html><body>Bad Gateway</body></html>');
    expect(html).toMatchObject({ code: 'SYSTEM_ERROR', httpStatus: 502 });
    expect(html.message).toContain('<html><body>Bad Gateway');
  });

  it('keeps keys out of the event-log records', () => {
    const text = JSON.stringify(h.records);
    expect(h.records.length).toBeGreaterThan(10);
    expect(text).not.toContain(h.profile.apiV3Key as string);
    expect(text).not.toContain((h.profile.privateKey as string).split('\n')[1]);
    expect(text).not.toContain('张三');
  });
});

describe('the payer paying on its own (payAfterMs)', () => {
  it('pays an order that long after it was made, with the balance credited; a closed order stays closed', async () => {
    const auto = await startWechatpayHarness({ sim: { payAfterMs: 150 } });
    try {
      const a = await auto.adapter();
      const [before] = await a.balance();
      const orderNo = generateId('payment');
      const closed = generateId('payment');
      await a.collect({ orderNo, amountMinor: 10_000, currency: 'CNY', subject: 'auto' });
      await a.collect({ orderNo: closed, amountMinor: 700, currency: 'CNY', subject: 'auto, closed' });
      expect(await a.closeCollect(ref(closed, 700))).toMatchObject({ status: 'closed' });
      const paid = await eventually(async () => {
        const q = await a.queryCollect(ref(orderNo, 10_000));
        return q.status === 'succeeded' ? q : undefined;
      });
      const o = auto.sim.orders.get(orderNo)!;
      // Paid as of its due time (WeChat Pay's times carry whole seconds).
      expect(paid.paidAt).toBe(new Date(Math.floor((o.createdMs + 150) / 1000) * 1000).toISOString());
      const [after] = await a.balance();
      expect(after.availableMinor - before.availableMinor).toBe(10_000 - o.fee);
      expect(await a.queryCollect(ref(closed, 700))).toMatchObject({ status: 'closed' });
    } finally {
      await auto.close();
    }
  });
});

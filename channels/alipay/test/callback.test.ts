/**
 * Alipay callback verification: the published vectors (notify with and without sign_type in the
 * signed string, certificate-mode return URL), our signer against the official SDK's
 * `checkNotifySignV2` and back, GBK notifies, certificate mode, sync answers, refund and payout
 * notifies, and every way a message can be wrong.
 */
import { AlipaySdk } from 'alipay-sdk';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RawRequest } from '../../../src/channel/contract.js';
import { isPayError } from '../../../src/core/errors.js';
import { HAS_SHARED, SHARED_DIR, sharedNotice } from '../../../test/helpers/cli.js';
import { alipayCallbacks, buildNotify, buildReturnQuery, encoderFor } from '../callback.js';
import { certSn } from '../cert.js';
import { signContent, signResponse } from '../signature.js';
import { rsaKeyPair, testCertSet, type TestCertSet, type TestKeyPair } from './keys.js';

const AT = { at: Date.parse('2026-01-01T00:00:00Z') };

let alipay: TestKeyPair;
let app: TestKeyPair;
let certs: TestCertSet;

beforeAll(() => {
  alipay = rsaKeyPair();
  app = rsaKeyPair();
  certs = testCertSet();
});

/** A paid trade notify, as Alipay sends it. */
function tradeFields(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    gmt_create: '2026-11-23 10:00:00',
    charset: 'utf-8',
    seller_email: 'seller@example.com',
    subject: '测试订单 100% 真',
    buyer_id: '2088102534368455',
    invoice_amount: '12.34',
    notify_id: '2026112300222100000000000000000001',
    fund_bill_list: '[{"amount":"12.34","fundChannel":"ALIPAYACCOUNT"}]',
    notify_type: 'trade_status_sync',
    trade_status: 'TRADE_SUCCESS',
    receipt_amount: '12.34',
    app_id: '2021000000000001',
    buyer_pay_amount: '12.34',
    seller_id: '2088000000000001',
    gmt_payment: '2026-11-23 10:00:05',
    notify_time: '2026-11-23 10:00:06',
    version: '1.0',
    out_trade_no: 'P20261123100000000ABCDEFGHJKMN',
    total_amount: '12.34',
    trade_no: '2026112322001400000000000001',
    auth_app_id: '2021000000000001',
    buyer_logon_id: 'bu***@example.com',
    point_amount: '0.00',
    ...overrides,
  };
}

function withBody(req: RawRequest, body: Buffer | string): RawRequest {
  return { ...req, body: typeof body === 'string' ? Buffer.from(body, 'latin1') : body };
}

describe.skipIf(!HAS_SHARED)('published vectors', () => {
  const files = HAS_SHARED ? readdirSync(join(SHARED_DIR, 'vectors')).filter((f) => /^alipay-.*\.json$/.test(f)) : [];
  sharedNotice('Alipay callback vectors');

  function load(file: string): { req: RawRequest; settings: Record<string, unknown> } {
    const v = JSON.parse(readFileSync(join(SHARED_DIR, 'vectors', file), 'utf8')) as Record<string, unknown>;
    const settings: Record<string, unknown> = {};
    for (const k of ['alipayPublicKey', 'alipayPublicCert', 'alipayRootCert']) {
      const val = v[k];
      if (typeof val !== 'string') continue;
      settings[k] = k === 'alipayPublicKey' ? val : readFileSync(join(SHARED_DIR, 'vectors', val), 'utf8');
    }
    const req: RawRequest =
      typeof v.body === 'string'
        ? { method: 'POST', target: '/notify', headers: v.headers as Record<string, string>, body: Buffer.from(v.body, 'utf8') }
        : { method: 'GET', target: `/return?${v.query as string}`, headers: {}, body: Buffer.alloc(0) };
    return { req, settings };
  }

  it('finds the Alipay vectors', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  for (const file of files) {
    it(`${file} verifies, is detected, and fails after a one-byte change`, async () => {
      const { req, settings } = load(file);
      expect(alipayCallbacks.detect(req)).toBeGreaterThanOrEqual(0.7);
      const verdict = await alipayCallbacks.verify(req, settings, AT);
      expect(verdict.reason).toBeUndefined();
      expect(verdict.valid).toBe(true);
      // Flip one character of a signed value (not the signature) and of the signature itself.
      const text = req.body.length ? req.body.toString('latin1') : req.target!.slice(req.target!.indexOf('?') + 1);
      const spoilValue = text.replace(/(out_trade_no|notify_id)=(\w)/, (_m, k: string, c: string) => `${k}=${c === '1' ? '2' : '1'}`);
      const spoilSign = text.replace(/sign=([A-Za-z0-9])/, (_m, c: string) => `sign=${c === 'A' ? 'B' : 'A'}`);
      expect(spoilValue).not.toBe(text);
      for (const spoiled of [spoilValue, spoilSign]) {
        const r2 = req.body.length ? withBody(req, spoiled) : { ...req, target: `/return?${spoiled}` };
        const bad = await alipayCallbacks.verify(r2, settings, AT);
        expect(bad.valid).toBe(false);
        expect(bad.reasonCode).toBe('BAD_SIGNATURE');
      }
    });
  }

  it('reads what the trade vector claims', async () => {
    const { req, settings } = load('alipay-notify-trade.json');
    const v = await alipayCallbacks.verify(req, settings, AT);
    expect(v.event).toMatchObject({
      type: 'trade_status_sync',
      kind: 'payment',
      orderNo: '20190815155618536-564-57',
      channelTradeNo: '2019081522001468450512505578',
      amountMinor: 10,
      currency: 'CNY',
      status: 'succeeded',
      providerStatus: 'TRADE_SUCCESS',
      occurredAt: '2019-08-15T07:56:24.000Z',
    });
    expect(v.dedupKey).toBe('2019081500222155624068450559358070');
    expect(v.reply).toMatchObject({ status: 200, body: 'success' });
  });
});

describe('notify signer and verifier', () => {
  it('our signed notify passes the official SDK checkNotifySignV2, and only unchanged', async () => {
    const req = buildNotify(tradeFields(), alipay.privateKey);
    const sdk = new AlipaySdk({ appId: '2021000000000001', privateKey: app.privatePem, alipayPublicKey: alipay.publicBase64 });
    const postData = Object.fromEntries(new URLSearchParams(req.body.toString('latin1')));
    expect(sdk.checkNotifySignV2(postData)).toBe(true);
    expect(sdk.checkNotifySignV2({ ...postData, total_amount: '99.99' })).toBe(false);
    const verdict = await alipayCallbacks.verify(req, { alipayPublicKey: alipay.publicPem, appId: '2021000000000001' }, AT);
    expect(verdict).toMatchObject({ valid: true, scheme: 'alipay-RSA2', reply: { body: 'success' } });
    expect(verdict.event?.amountMinor).toBe(1234);
  });

  it('accepts a notify the SDK accepts (signed with sign_type kept, as fund notifies are)', async () => {
    // The SDK signs parameter maps with sign_type included: the second variant of the check.
    const sdk = new AlipaySdk({ appId: '2021000000000001', privateKey: alipay.privatePem, alipayPublicKey: alipay.publicBase64 });
    const query = sdk.sdkExecute('alipay.fund.trans.order.changed', { notifyId: 'n1', msgMethod: 'alipay.fund.trans.order.changed', bizContent: { outBizNo: 'T1', status: 'SUCCESS', transAmount: '5.00', orderId: '2026' } });
    const postData = Object.fromEntries(new URLSearchParams(query));
    expect(sdk.checkNotifySignV2(postData)).toBe(true);
    const req: RawRequest = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(query, 'latin1') };
    const verdict = await alipayCallbacks.verify(req, { alipayPublicKey: alipay.publicBase64 }, AT);
    expect(verdict.valid).toBe(true);
    expect(verdict.event).toMatchObject({ kind: 'payout', orderNo: 'T1', amountMinor: 500, status: 'succeeded', channelTradeNo: '2026' });
  });

  it('verifies GBK notifies over the GBK bytes, percent-encoded as Alipay sends them', async () => {
    const encode = await encoderFor('gbk');
    const req = buildNotify(tradeFields({ charset: 'gbk', subject: '语雀空间 100%' }), alipay.privateKey, { charset: 'gbk', encode });
    const body = req.body.toString('latin1');
    expect(body).toContain('subject=%D3%EF%C8%B8'); // 语雀 in GBK
    expect(body).toContain('100%25');
    const verdict = await alipayCallbacks.verify(req, { alipayPublicKey: alipay.publicPem }, AT);
    expect(verdict.valid).toBe(true);
    expect((verdict.event?.data as Record<string, unknown>) ?? {}).toBeDefined();
    // The same text re-encoded as UTF-8 is a different message: the signature no longer matches.
    const utf8 = body.replace('%D3%EF%C8%B8', encodeURIComponent('语雀'));
    expect((await alipayCallbacks.verify(withBody(req, utf8), { alipayPublicKey: alipay.publicPem }, AT)).reasonCode).toBe('BAD_SIGNATURE');
  });

  it('keeps empty values in the signed string', async () => {
    const req = buildNotify(tradeFields({ body: '', passback_params: '' }), alipay.privateKey);
    expect(req.body.toString('latin1')).toContain('&body=&');
    expect((await alipayCallbacks.verify(req, { alipayPublicKey: alipay.publicPem }, AT)).valid).toBe(true);
    const dropped = req.body.toString('latin1').replace('&body=', '');
    expect((await alipayCallbacks.verify(withBody(req, dropped), { alipayPublicKey: alipay.publicPem }, AT)).valid).toBe(false);
  });

  it('reports refunds as their own events (refund_fee is cumulative, so it goes under data)', async () => {
    const req = buildNotify(tradeFields({ out_biz_no: 'R1', refund_fee: '2.00', gmt_refund: '2026-11-23 11:00:00.123', trade_status: 'TRADE_SUCCESS' }), alipay.privateKey);
    const v = await alipayCallbacks.verify(req, { alipayPublicKey: alipay.publicPem }, AT);
    expect(v.valid).toBe(true);
    expect(v.event).toMatchObject({ kind: 'refund', refundNo: 'R1', orderNo: 'P20261123100000000ABCDEFGHJKMN', status: 'succeeded', occurredAt: '2026-11-23T03:00:00.123Z', data: { refundFeeTotalMinor: 200 } });
    expect(v.event?.amountMinor).toBeUndefined();
  });

  it('maps trade statuses: waiting is pending, closed is closed', async () => {
    for (const [status, want] of [['WAIT_BUYER_PAY', 'pending'], ['TRADE_CLOSED', 'closed'], ['TRADE_FINISHED', 'succeeded']] as const) {
      const v = await alipayCallbacks.verify(buildNotify(tradeFields({ trade_status: status }), alipay.privateKey), { alipayPublicKey: alipay.publicPem }, AT);
      expect(v.event?.status).toBe(want);
    }
  });

  it('names every failure: missing key, bad key, no sign, bad sign_type, duplicate field, other app, other seller', async () => {
    const req = buildNotify(tradeFields(), alipay.privateKey);
    const missing = await alipayCallbacks.verify(req, {}, AT);
    expect(missing).toMatchObject({ valid: false, reasonCode: 'MISSING_KEY', reply: { body: 'fail' } });
    expect(missing.reason).toMatch(/alipayPublicKey/);

    await expect(alipayCallbacks.verify(req, { alipayPublicKey: 'definitely-not-a-key' }, AT)).rejects.toSatisfy((e) => isPayError(e) && e.code === 'CONFIG_ERROR' && !e.message.includes('definitely'));

    const body = req.body.toString('latin1');
    const noSign = body.replace(/&sign=[^&]*/, '');
    expect((await alipayCallbacks.verify(withBody(req, noSign), { alipayPublicKey: alipay.publicPem }, AT)).reasonCode).toBe('MALFORMED');
    const md5 = body.replace('sign_type=RSA2', 'sign_type=MD5');
    expect((await alipayCallbacks.verify(withBody(req, md5), { alipayPublicKey: alipay.publicPem }, AT)).reasonCode).toBe('MALFORMED');
    const dup = `${body}&out_trade_no=OTHER`;
    expect((await alipayCallbacks.verify(withBody(req, dup), { alipayPublicKey: alipay.publicPem }, AT)).reasonCode).toBe('MALFORMED');
    const wrongKey = await alipayCallbacks.verify(req, { alipayPublicKey: app.publicPem }, AT);
    expect(wrongKey).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE', reply: { body: 'fail' } });
    // The event is still reported (what it claims), but the verdict is invalid.
    expect(wrongKey.event?.orderNo).toBe('P20261123100000000ABCDEFGHJKMN');

    const otherApp = await alipayCallbacks.verify(req, { alipayPublicKey: alipay.publicPem, appId: '2021999999999999' }, AT);
    expect(otherApp).toMatchObject({ valid: false, reasonCode: 'UNKNOWN_KEY' });
    const otherSeller = await alipayCallbacks.verify(req, { alipayPublicKey: alipay.publicPem, sellerId: '2088999999999999' }, AT);
    expect(otherSeller).toMatchObject({ valid: false, reasonCode: 'UNKNOWN_KEY' });

    const empty = await alipayCallbacks.verify({ method: 'POST', headers: {}, body: Buffer.alloc(0) }, { alipayPublicKey: alipay.publicPem }, AT);
    expect(empty.reasonCode).toBe('MALFORMED');
  });
});

describe('certificate mode', () => {
  it('selects the key by alipay_cert_sn and refuses an unknown certificate', async () => {
    const settings = { alipayPublicCert: certs.alipayPublicCert, alipayRootCert: certs.alipayRootCert };
    const sn = certSn(certs.alipayPublicCert);
    const ok = await alipayCallbacks.verify(buildNotify(tradeFields({ alipay_cert_sn: sn }), certs.alipay.privateKey), settings, AT);
    expect(ok).toMatchObject({ valid: true, scheme: 'alipay-RSA2-cert' });
    const other = await alipayCallbacks.verify(buildNotify(tradeFields({ alipay_cert_sn: 'f'.repeat(32) }), certs.alipay.privateKey), settings, AT);
    expect(other).toMatchObject({ valid: false, reasonCode: 'UNKNOWN_KEY' });
    const forged = await alipayCallbacks.verify(buildNotify(tradeFields({ alipay_cert_sn: sn }), alipay.privateKey), settings, AT);
    expect(forged.reasonCode).toBe('BAD_SIGNATURE');
  });

  it('verifies a return URL, from the request target or as a bare query body', async () => {
    const query = buildReturnQuery({ charset: 'utf-8', out_trade_no: 'P1', method: 'alipay.trade.page.pay.return', total_amount: '0.01', trade_no: '2026', auth_app_id: '2021000000000001', version: '1.0', app_id: '2021000000000001', seller_id: '2088000000000001', timestamp: '2026-11-23 10:00:00' }, certs.alipay.privateKey);
    const settings = { alipayPublicCert: certs.alipayPublicCert };
    const viaTarget: RawRequest = { method: 'GET', target: `/return?${query}`, headers: {}, body: Buffer.alloc(0) };
    expect(alipayCallbacks.detect(viaTarget)).toBeGreaterThan(0.5);
    const v = await alipayCallbacks.verify(viaTarget, settings, AT);
    expect(v).toMatchObject({ valid: true, event: { type: 'alipay.trade.page.pay.return', orderNo: 'P1', amountMinor: 1 }, reply: { body: '' } });
    const viaBody: RawRequest = { headers: {}, body: Buffer.from(query) };
    expect((await alipayCallbacks.verify(viaBody, settings, AT)).valid).toBe(true);
  });
});

describe('saved synchronous answers', () => {
  const content = '{"code":"10000","msg":"Success","trade_no":"2026112322001","out_trade_no":"P1","total_amount":"88.88","trade_status":"TRADE_SUCCESS","send_pay_date":"2026-11-23 10:00:05"}';

  it('verifies the raw member text and reports what it says', async () => {
    const body = Buffer.from(signResponse('alipay_trade_query_response', content, alipay.privateKey));
    const req: RawRequest = { headers: { 'content-type': 'application/json;charset=utf-8' }, body };
    expect(alipayCallbacks.detect(req)).toBeGreaterThan(0.5);
    const v = await alipayCallbacks.verify(req, { alipayPublicKey: alipay.publicBase64 }, AT);
    expect(v).toMatchObject({ valid: true, scheme: 'alipay-RSA2-response', event: { orderNo: 'P1', amountMinor: 8888, status: 'succeeded', occurredAt: '2026-11-23T02:00:05.000Z' } });
    const spaced = Buffer.from(body.toString().replace('"code":"10000"', '"code" : "10000"'));
    expect((await alipayCallbacks.verify({ ...req, body: spaced }, { alipayPublicKey: alipay.publicBase64 }, AT)).reasonCode).toBe('BAD_SIGNATURE');
    const unsigned = Buffer.from(`{"alipay_trade_query_response":${content}}`);
    expect((await alipayCallbacks.verify({ ...req, body: unsigned }, { alipayPublicKey: alipay.publicBase64 }, AT)).reasonCode).toBe('MALFORMED');
    expect((await alipayCallbacks.verify({ ...req, body: Buffer.from('{"x":') }, { alipayPublicKey: alipay.publicBase64 }, AT)).reasonCode).toBe('MALFORMED');
  });

  it('verifies a GBK answer over its GBK bytes', async () => {
    const encode = await encoderFor('gbk');
    const gbkContent = '{"code":"10000","msg":"Success","out_trade_no":"P1","subject":"语雀"}';
    const sign = signContent(encode(gbkContent), alipay.privateKey);
    const body = encode(`{"alipay_trade_query_response":${gbkContent},"sign":"${sign}"}`);
    const v = await alipayCallbacks.verify({ headers: { 'content-type': 'application/json;charset=GBK' }, body }, { alipayPublicKey: alipay.publicPem }, AT);
    expect(v.valid).toBe(true);
  });
});

describe('detection', () => {
  it('does not claim other channels’ messages', () => {
    const stripe: RawRequest = { headers: { 'stripe-signature': 't=1,v1=abc' }, body: Buffer.from('{"id":"evt_1","object":"event"}') };
    const unionpay: RawRequest = { headers: {}, body: Buffer.from('accessType=0&bizType=000201&certId=1&signature=abc&merId=777') };
    const wechat: RawRequest = { headers: { 'wechatpay-signature': 'x' }, body: Buffer.from('{"id":"1","resource":{}}') };
    for (const r of [stripe, unionpay, wechat]) expect(alipayCallbacks.detect(r)).toBe(0);
  });
});

/**
 * Offline verification of WeChat Pay notifications (the channel's CallbackHandler): the published
 * v3 vector and one-byte changes to it, notifications built by our signer and by the plugin's
 * helpers, every reason code, the normalised events, v2 XML (MD5/HMAC-SHA256, req_info), and
 * detection.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RawRequest, VerifyOptions } from '../../../src/channel/contract.js';
import { buildCertificate } from '../../../src/channel/x509.js';
import { HAS_SHARED, SHARED_DIR, sharedNotice } from '../../../test/helpers/cli.js';
import { buildFlatXml, buildV2PayNotify, buildV2RefundNotify, buildV3Notification, parseFlatXml, wechatpayCallbacks } from '../callback.js';
import { publicKeyPem } from '../signature.js';

const require = createRequire(import.meta.url);
const { Rsa, Formatter, Aes, Hash } = require('wechatpay-axios-plugin') as {
  Rsa: { sign(m: string, k: unknown): string };
  Formatter: { response(t: number | string, n: string, b?: string): string; nonce(n?: number): string };
  Aes: { AesGcm: { encrypt(p: string, k: string, iv: string, aad?: string): string } };
  Hash: { sign(type: string, data: Record<string, string>, key: string): string };
};

const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
const NOW = Date.UTC(2026, 10, 23, 6, 0, 0);
const API_V3_KEY = 'v3key-test-only-0123456789abcdef';
const API_KEY = 'v2key-test-only-0123456789abcdef';
const PUB_ID = 'PUB_KEY_ID_0114232134912410000000000000000042';
const settings = { platformPublicKey: publicKeyPem(platform.publicKey), platformSerial: PUB_ID, apiV3Key: API_V3_KEY, apiKey: API_KEY };
const at = { at: NOW };

const transaction = {
  appid: 'wxd678efh567hg6787',
  mchid: '1900009191',
  out_trade_no: 'P20261123060000000ABCDEFGHJKM',
  transaction_id: '4200000925202611234997714292',
  trade_type: 'NATIVE',
  trade_state: 'SUCCESS',
  trade_state_desc: '支付成功',
  bank_type: 'OTHERS',
  success_time: '2026-11-23T13:59:58+08:00',
  payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
  amount: { total: 1234, payer_total: 1234, currency: 'CNY', payer_currency: 'CNY' },
};

function notification(overrides: Partial<Parameters<typeof buildV3Notification>[0]> = {}): RawRequest {
  return buildV3Notification({
    eventType: 'TRANSACTION.SUCCESS',
    originalType: 'transaction',
    resource: transaction,
    apiV3Key: API_V3_KEY,
    privateKey: platform.privateKey,
    serial: PUB_ID,
    nowMs: NOW,
    ...overrides,
  });
}

const verify = (r: RawRequest, s: Record<string, unknown> = settings, o: VerifyOptions = at) => wechatpayCallbacks.verify(r, s, o);

describe('v3 notifications', () => {
  it('verifies a payment notification and normalises it', async () => {
    const req = notification({ id: 'EV-2018022511223320873' });
    const v = await verify(req);
    expect(v).toMatchObject({ valid: true, channel: 'wechatpay', scheme: 'wechatpay-v3', dedupKey: 'EV-2018022511223320873', reply: { status: 200, body: '' } });
    expect(v.event).toMatchObject({
      type: 'TRANSACTION.SUCCESS',
      kind: 'payment',
      orderNo: transaction.out_trade_no,
      channelTradeNo: transaction.transaction_id,
      amountMinor: 1234,
      currency: 'CNY',
      status: 'succeeded',
      providerStatus: 'SUCCESS',
      occurredAt: '2026-11-23T05:59:58.000Z',
    });
  });

  it('verifies a notification built with the plugin helpers (GCM resource, RSA signature)', async () => {
    const nonce = Formatter.nonce(32);
    const ts = Math.floor(NOW / 1000);
    const iv = 'p1ugin-nonce';
    const body = JSON.stringify({
      id: randomUUID(),
      create_time: '2026-11-23T14:00:00+08:00',
      resource_type: 'encrypt-resource',
      event_type: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      resource: { original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM', ciphertext: Aes.AesGcm.encrypt(JSON.stringify(transaction), API_V3_KEY, iv, 'transaction'), associated_data: 'transaction', nonce: iv },
    });
    const headers = {
      'wechatpay-timestamp': String(ts),
      'wechatpay-nonce': nonce,
      'wechatpay-signature': Rsa.sign(Formatter.response(ts, nonce, body), platform.privateKey),
      'wechatpay-serial': PUB_ID,
      'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
    };
    const v = await verify({ headers, body: Buffer.from(body) });
    expect(v.valid).toBe(true);
    expect(v.event?.amountMinor).toBe(1234);
  });

  it('maps refund and transfer notifications', async () => {
    const refund = await verify(
      notification({
        eventType: 'REFUND.SUCCESS',
        originalType: 'refund',
        resource: { mchid: '1900009191', out_trade_no: 'P1000001', transaction_id: '42000', out_refund_no: 'R1000001', refund_id: '50300', refund_status: 'SUCCESS', success_time: '2026-11-23T14:00:01+08:00', amount: { total: 1234, refund: 234, payer_total: 1234, payer_refund: 234 } },
      }),
    );
    expect(refund.event).toMatchObject({ kind: 'refund', orderNo: 'P1000001', refundNo: 'R1000001', amountMinor: 234, currency: 'CNY', status: 'succeeded', occurredAt: '2026-11-23T06:00:01.000Z' });
    const abnormal = await verify(notification({ eventType: 'REFUND.ABNORMAL', originalType: 'refund', resource: { out_trade_no: 'P1', out_refund_no: 'R1', refund_id: '5', refund_status: 'ABNORMAL', amount: { total: 2, refund: 1 } } }));
    expect(abnormal.event).toMatchObject({ kind: 'refund', status: 'pending', providerStatus: 'ABNORMAL' });
    const transfer = await verify(
      notification({
        eventType: 'MCHTRANSFER.BILL.FINISHED',
        originalType: 'mch_payment',
        resource: { out_bill_no: 'T1000001', transfer_bill_no: '1330000', state: 'FAIL', mch_id: '1900009191', transfer_amount: 500, openid: 'o_x', fail_reason: 'PAYEE_ACCOUNT_ABNORMAL', create_time: '2026-11-23T14:00:00+08:00', update_time: '2026-11-23T14:00:02+08:00' },
      }),
    );
    expect(transfer.event).toMatchObject({ kind: 'payout', orderNo: 'T1000001', channelTradeNo: '1330000', amountMinor: 500, status: 'failed', providerStatus: 'FAIL' });
  });

  it('names every failure, with the failure reply WeChat Pay retries on', async () => {
    const req = notification();
    const sig = req.headers['wechatpay-signature'];
    const cases: Array<[string, RawRequest, Record<string, unknown>, string]> = [
      ['probe', { ...req, headers: { ...req.headers, 'wechatpay-signature': `WECHATPAY/SIGNTEST/${sig}` } }, settings, 'PROBE'],
      ['unknown serial', { ...req, headers: { ...req.headers, 'wechatpay-serial': 'PUB_KEY_ID_OTHER' } }, settings, 'UNKNOWN_KEY'],
      ['no platform key', req, { apiV3Key: API_V3_KEY }, 'MISSING_KEY'],
      ['no APIv3 key', req, { ...settings, apiV3Key: undefined }, 'MISSING_KEY'],
      ['wrong APIv3 key', req, { ...settings, apiV3Key: 'W'.repeat(32) }, 'DECRYPT_FAILED'],
      ['missing header', { ...req, headers: { ...req.headers, 'wechatpay-nonce': '' } }, settings, 'MALFORMED'],
      ['body', { ...req, body: Buffer.from(req.body.toString().replace('"TRANSACTION.SUCCESS"', '"TRANSACTION.SUCCESs"')) }, settings, 'BAD_SIGNATURE'],
    ];
    for (const [name, r, s, reason] of cases) {
      const v = await verify(r, s);
      expect({ name, valid: v.valid, reason: v.reasonCode }).toEqual({ name, valid: false, reason });
      expect(v.reason).toBeTruthy();
      expect(v.reply.status).toBeGreaterThanOrEqual(400);
      expect(JSON.parse(v.reply.body)).toMatchObject({ code: 'FAIL' });
      // Key material never appears in a verdict.
      expect(JSON.stringify(v)).not.toContain(API_V3_KEY);
    }
    expect((await verify(req, settings, { at: NOW + 301_000 })).reasonCode).toBe('EXPIRED');
    expect((await verify(req, settings, { at: NOW + 301_000, toleranceSec: 600 })).valid).toBe(true);
  });

  it('refuses a notification signed under an expired platform certificate', async () => {
    const pem = buildCertificate({ publicKey: platform.publicKey, signingKey: platform.privateKey, serial: 0x7abc01n, subject: [['CN', 'expired, test only']], notBefore: NOW - 400 * 86400_000, notAfter: NOW - 86400_000 });
    const v = await verify(notification({ serial: '7ABC01' }), { platformCertificate: pem, apiV3Key: API_V3_KEY });
    expect(v).toMatchObject({ valid: false, reasonCode: 'UNTRUSTED_CERT' });
    expect(v.reason).toMatch(/expired/);
  });

  it('throws CONFIG_ERROR for a key in the wrong format (a config problem, not a verdict)', async () => {
    await expect(verify(notification(), { platformPublicKey: 'not a key', platformSerial: PUB_ID, apiV3Key: API_V3_KEY })).rejects.toMatchObject({ code: 'CONFIG_ERROR' });
    await expect(verify(notification(), { platformCertificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', apiV3Key: API_V3_KEY })).rejects.toMatchObject({ code: 'CONFIG_ERROR' });
  });
});

describe('the published v3 vector', () => {
  if (!HAS_SHARED) sharedNotice('the published WeChat Pay vectors');
  const load = () => {
    const v = JSON.parse(readFileSync(join(SHARED_DIR, 'vectors', 'wechatpay-v3-notify.json'), 'utf8'));
    const headers: Record<string, string> = Object.fromEntries(Object.entries(v.headers as Record<string, string>).map(([k, x]) => [k.toLowerCase(), x]));
    const s = { platformCertificate: readFileSync(join(SHARED_DIR, 'vectors', v.platformCertificate), 'utf8'), apiV3Key: v.apiV3Key };
    return { v, req: { method: 'POST', headers, body: Buffer.from(v.body, 'utf8') } as RawRequest, s, o: { at: v.at * 1000 } };
  };

  it.skipIf(!HAS_SHARED)('is valid with the config keys it names, as of its moment', async () => {
    const { req, s, o } = load();
    const verdict = await verify(req, s, o);
    expect(verdict).toMatchObject({ valid: true, dedupKey: '3119dfba-e649-5eec-ab1e-3412bc4d2e17', event: { type: 'PAYSCORE.USER_OPEN_SERVICE', kind: 'other' } });
    expect(verdict.event?.data).toMatchObject({ out_contract_code: '21640bdbd08e473e828f3206a2741c6e' });
    expect(wechatpayCallbacks.detect(req)).toBe(1);
  });

  it.skipIf(!HAS_SHARED)('turns invalid on a one-byte change to the body, the signature or a header, and when old', async () => {
    const { req, s, o } = load();
    const body = Buffer.from(req.body);
    body[body.indexOf('签')] ^= 1;
    expect((await verify({ ...req, body }, s, o)).reasonCode).toBe('BAD_SIGNATURE');
    const sig = req.headers['wechatpay-signature'];
    const flipped = (sig[10] === 'A' ? 'B' : 'A');
    expect((await verify({ ...req, headers: { ...req.headers, 'wechatpay-signature': sig.slice(0, 10) + flipped + sig.slice(11) } }, s, o)).reasonCode).toBe('BAD_SIGNATURE');
    expect((await verify({ ...req, headers: { ...req.headers, 'wechatpay-nonce': `${req.headers['wechatpay-nonce'].slice(0, -1)}X` } }, s, o)).reasonCode).toBe('BAD_SIGNATURE');
    expect((await verify({ ...req, headers: { ...req.headers, 'wechatpay-serial': 'D7CE59D1F522D702' } }, s, o)).reasonCode).toBe('UNKNOWN_KEY');
    expect((await verify(req, s, { at: o.at + 300_000 })).reasonCode).toBe('EXPIRED');
    expect((await verify(req, { ...s, apiV3Key: 'testMchAPIv3Key1' }, o)).reasonCode).toBe('DECRYPT_FAILED');
  });
});

describe('v2 XML notifications', () => {
  const fields = {
    appid: 'wx2421b1c4370ec43b',
    bank_type: 'CFT',
    cash_fee: '1234',
    fee_type: 'CNY',
    is_subscribe: 'Y',
    mch_id: '10000100',
    nonce_str: '5d2b6c2a8db53831f7eda20af46e531c',
    openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
    out_trade_no: 'P1000001',
    result_code: 'SUCCESS',
    return_code: 'SUCCESS',
    time_end: '20261123140000',
    total_fee: '1234',
    trade_type: 'JSAPI',
    transaction_id: '1004400740201409030005092168',
  };

  it('verifies MD5 and HMAC-SHA256 notifications (sign_type absent: told apart by length)', async () => {
    for (const type of ['MD5', 'HMAC-SHA256'] as const) {
      for (const includeSignType of [false, true]) {
        const v = await verify(buildV2PayNotify(fields, API_KEY, type, { includeSignType }), { apiKey: API_KEY });
        expect(v).toMatchObject({ valid: true, scheme: 'wechatpay-v2', dedupKey: 'v2:1004400740201409030005092168' });
        expect(v.event).toMatchObject({ kind: 'payment', orderNo: 'P1000001', amountMinor: 1234, currency: 'CNY', status: 'succeeded', occurredAt: '2026-11-23T06:00:00.000Z' });
        expect(v.reply.body).toContain('<return_code><![CDATA[SUCCESS]]></return_code>');
      }
    }
  });

  it('accepts a sign computed by the plugin, and refuses a changed field', async () => {
    const sign = Hash.sign('HMAC-SHA256', fields, API_KEY);
    const body = Buffer.from(buildFlatXml({ ...fields, sign }));
    expect((await verify({ headers: {}, body }, { apiKey: API_KEY })).valid).toBe(true);
    const tampered = Buffer.from(body.toString().replace('<total_fee>1234</total_fee>', '<total_fee>1</total_fee>'));
    const v = await verify({ headers: {}, body: tampered }, { apiKey: API_KEY });
    expect(v).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE' });
    expect(v.reply.body).toContain('FAIL');
    expect((await verify({ headers: {}, body }, {})).reasonCode).toBe('MISSING_KEY');
    expect((await verify({ headers: {}, body: Buffer.from('<xml><a>1</a><b>') }, { apiKey: API_KEY })).reasonCode).toBe('MALFORMED');
  });

  it('decrypts refund req_info, and a wrong key fails', async () => {
    const req = buildV2RefundNotify({ appid: 'wx2421b1c4370ec43b', mch_id: '10000100', nonce_str: 'n' }, {
      out_refund_no: 'R1000001',
      out_trade_no: 'P1000001',
      refund_id: '50000408942018111907145868882',
      refund_fee: '234',
      refund_status: 'SUCCESS',
      settlement_refund_fee: '234',
      settlement_total_fee: '1234',
      success_time: '2026-11-23 14:00:01',
      total_fee: '1234',
      transaction_id: '4200000215201811190261405420',
    }, API_KEY);
    const v = await verify(req, { apiKey: API_KEY });
    expect(v).toMatchObject({ valid: true, scheme: 'wechatpay-v2-req_info', event: { kind: 'refund', refundNo: 'R1000001', orderNo: 'P1000001', amountMinor: 234, status: 'succeeded', occurredAt: '2026-11-23T06:00:01.000Z' } });
    expect((await verify(req, { apiKey: 'another-key-test-only-0123456789' })).reasonCode).toBe('DECRYPT_FAILED');
  });

  it('parses flat XML strictly (CDATA, entities, no DTD)', () => {
    expect(parseFlatXml('<?xml version="1.0"?><xml><a><![CDATA[x<y]]></a><b>1 &amp; 2</b></xml>')).toEqual({ a: 'x<y', b: '1 & 2' });
    expect(parseFlatXml('<!DOCTYPE x [<!ENTITY e "v">]><xml><a>&e;</a></xml>')).toBeUndefined();
    expect(parseFlatXml('<xml><a>1</a>junk</xml>')).toBeUndefined();
  });
});

describe('detection', () => {
  it('is certain for v3 headers, likely for v2 XML, and ignores other channels', () => {
    expect(wechatpayCallbacks.detect(notification())).toBe(1);
    expect(wechatpayCallbacks.detect(buildV2PayNotify({ return_code: 'SUCCESS', mch_id: '1', appid: 'wx' }, API_KEY))).toBeGreaterThan(0.5);
    expect(wechatpayCallbacks.detect({ headers: { 'stripe-signature': 't=1,v1=ab' }, body: Buffer.from('{"id":"evt_1"}') })).toBe(0);
    expect(wechatpayCallbacks.detect({ headers: {}, body: Buffer.from('trade_status=TRADE_SUCCESS&sign=abc') })).toBe(0);
  });
});

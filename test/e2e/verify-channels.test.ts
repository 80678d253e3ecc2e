/**
 * `pay verify` across the real channels through the binary, with keys generated here and each
 * channel's own signer: every notification lands on its own channel by detection alone (no ties
 * between schemes that look alike, such as Alipay and UnionPay forms), and the config-side
 * failures are exit 2, never "invalid": a wrong APIv3 key (AES-GCM tag failure after a valid
 * signature) and keys in the wrong format. Channels not registered yet are skipped visibly.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRequest } from '../../src/channel/contract.js';
import { builtinChannelIds } from '../../src/channel/registry.js';
import { formatRawHttp } from '../../src/verify/request-file.js';
import { runPayJson, tempDir } from '../helpers/cli.js';

const registered = new Set(builtinChannelIds());
const missing = ['alipay', 'wechatpay', 'stripe'].filter((c) => !registered.has(c));
if (missing.length) process.stderr.write(`NOTICE: verify-channels: not registered yet, skipped: ${missing.join(', ')}\n`);

let dir = '';
let cleanup = () => {};
let rsa: { publicKey: KeyObject; privateKey: KeyObject };
const NOW = Date.now();
const WX_SERIAL = 'PUB_KEY_ID_0114232134912410000000000000TEST';
const WX_V3_KEY = 'apiV3KeyForTestsOnly0123456789ab';
const WX_V2_KEY = 'apiV2KeyForTestsOnly0123456789ab';
const STRIPE_SECRET = 'whsec_verify_channels_test_only';
const MOCK_SECRET = 'whsec_mock_channels_test_only';

function save(name: string, r: RawRequest): string {
  const raw: string[] = [];
  for (const [k, v] of Object.entries(r.headers)) raw.push(k, v);
  if (r.body.length) raw.push('Content-Length', String(r.body.length));
  const path = join(dir, name);
  writeFileSync(path, formatRawHttp({ method: r.method ?? 'POST', target: r.target ?? '/', rawHeaders: raw, body: r.body }));
  return path;
}

function config(name: string, channels: Record<string, Record<string, unknown>>): Record<string, string> {
  const path = join(dir, `${name}.config.json`);
  writeFileSync(path, JSON.stringify({ channels }));
  return { PAY_CONFIG: path, PAY_DB: join(dir, 'pay.db') };
}

const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;

async function wechatV3(apiV3Key = WX_V3_KEY): Promise<RawRequest> {
  const { buildV3Notification } = await import('../../channels/wechatpay/callback.js');
  return buildV3Notification({
    eventType: 'TRANSACTION.SUCCESS',
    originalType: 'transaction',
    resource: { mchid: '1900000001', appid: 'wxtest', out_trade_no: 'WXORDER0001', transaction_id: '4200000001', trade_state: 'SUCCESS', amount: { total: 1234, currency: 'CNY', payer_total: 1234, payer_currency: 'CNY' }, success_time: '2026-01-01T10:00:00+08:00' },
    apiV3Key,
    privateKey: rsa.privateKey,
    serial: WX_SERIAL,
    nowMs: NOW,
  });
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir('pay-verify-channels-'));
  rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
});
afterAll(() => cleanup());

describe('detection across channels', () => {
  it('each channel’s signed notification is detected as that channel and valid', async () => {
    const files: { file: string; channel: string; orderNo: string }[] = [];
    const settings: Record<string, Record<string, unknown>> = { mock: { webhookSecret: MOCK_SECRET } };
    const { buildCallback } = await import('../../channels/mock/callback.js');
    files.push({ file: save('mock.http', buildCallback(MOCK_SECRET, 'payment.succeeded', { orderNo: 'MOCKORDER001', amount: '1.00', currency: 'CNY', status: 'succeeded' }, { nowMs: NOW })), channel: 'mock', orderNo: 'MOCKORDER001' });
    if (registered.has('alipay')) {
      const { buildNotify, buildReturnQuery } = await import('../../channels/alipay/callback.js');
      settings.alipay = { alipayPublicKey: pem(rsa.publicKey) };
      const params = { notify_type: 'trade_status_sync', notify_id: 'nid001', notify_time: '2026-01-01 10:00:00', app_id: '2021000000000000', out_trade_no: 'ALIORDER0001', trade_no: '2026010122001', trade_status: 'TRADE_SUCCESS', total_amount: '12.34', seller_id: '2088000000000000', version: '1.0' };
      files.push({ file: save('alipay-notify.http', buildNotify(params, rsa.privateKey)), channel: 'alipay', orderNo: 'ALIORDER0001' });
      const query = buildReturnQuery({ out_trade_no: 'ALIORDER0002', trade_no: '2026010122002', total_amount: '5.00', method: 'alipay.trade.page.pay.return', app_id: '2021000000000000', charset: 'utf-8', timestamp: '2026-01-01 10:00:00', version: '1.0', seller_id: '2088000000000000' }, rsa.privateKey);
      writeFileSync(join(dir, 'alipay-return.txt'), `https://shop.example/return?${query}\n`);
      files.push({ file: join(dir, 'alipay-return.txt'), channel: 'alipay', orderNo: 'ALIORDER0002' });
    }
    if (registered.has('wechatpay')) {
      const { buildV2PayNotify } = await import('../../channels/wechatpay/callback.js');
      settings.wechatpay = { platformPublicKey: pem(rsa.publicKey), platformSerial: WX_SERIAL, apiV3Key: WX_V3_KEY, apiKey: WX_V2_KEY };
      files.push({ file: save('wechat-v3.http', await wechatV3()), channel: 'wechatpay', orderNo: 'WXORDER0001' });
      const v2 = buildV2PayNotify({ return_code: 'SUCCESS', result_code: 'SUCCESS', appid: 'wxtest', mch_id: '1900000001', nonce_str: 'n1', out_trade_no: 'WXORDER0002', transaction_id: '4200000002', total_fee: '500', fee_type: 'CNY', time_end: '20260101100000', trade_type: 'NATIVE' }, WX_V2_KEY);
      files.push({ file: save('wechat-v2.http', v2), channel: 'wechatpay', orderNo: 'WXORDER0002' });
    }
    if (registered.has('stripe')) {
      const { buildEvent } = await import('../../channels/stripe/callback.js');
      settings.stripe = { webhookSecret: STRIPE_SECRET };
      const ev = buildEvent(STRIPE_SECRET, 'payment_intent.succeeded', { id: 'pi_test1', object: 'payment_intent', amount: 1234, currency: 'usd', status: 'succeeded', metadata: { orderNo: 'STRIPEORDER1' } }, { nowMs: NOW, apiVersion: '2024-06-20' });
      files.push({ file: save('stripe.http', ev), channel: 'stripe', orderNo: 'STRIPEORDER1' });
    }
    const r = await runPayJson(['verify', ...files.map((f) => f.file)], { env: config('all', settings) });
    expect(r.json.map((x: { channel?: string; verdict: string; reason?: string }) => `${x.channel}: ${x.verdict}${x.reason ? ` (${x.reason})` : ''}`)).toEqual(files.map((f) => `${f.channel}: valid`));
    expect(r.code).toBe(0);
    for (let i = 0; i < files.length; i++) {
      if (files[i].channel === 'stripe') continue; // Stripe names orders through metadata, which the channel may or may not map.
      expect(r.json[i].orderNo, files[i].file).toBe(files[i].orderNo);
    }
  });
});

describe.skipIf(!registered.has('wechatpay'))('config errors on a real channel are exit 2', () => {
  it('a wrong APIv3 key (GCM tag failure after a valid signature) is a config error, not "invalid"', async () => {
    const file = save('wechat-wrongkey.http', await wechatV3());
    const env = config('wrongkey', { wechatpay: { platformPublicKey: pem(rsa.publicKey), platformSerial: WX_SERIAL, apiV3Key: 'aDifferentApiV3KeyForTests012345' } });
    const r = await runPayJson(['verify', file], { env });
    expect(r.code).toBe(2);
    expect(r.json[0]).toMatchObject({ verdict: 'error', channel: 'wechatpay', reasonCode: 'DECRYPT_FAILED', error: { code: 'CONFIG_ERROR' } });
    expect(r.json[0].error.hint).toMatch(/signature is valid/);
  });

  it('a platform key in the wrong format is a config error', async () => {
    const file = save('wechat-badkey.http', await wechatV3());
    const env = config('badkey', { wechatpay: { platformPublicKey: '-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----', platformSerial: WX_SERIAL, apiV3Key: WX_V3_KEY } });
    const r = await runPayJson(['verify', file], { env });
    expect(r.code).toBe(2);
    expect(r.json[0]).toMatchObject({ verdict: 'error', error: { code: 'CONFIG_ERROR' } });
    expect(r.json[0].reason).toMatch(/platformPublicKey/);
  });

  it('no key at all is MISSING_KEY, exit 2', async () => {
    const file = save('wechat-nokey.http', await wechatV3());
    const r = await runPayJson(['verify', file], { env: config('nokey', { wechatpay: {} }) });
    expect(r.code).toBe(2);
    expect(r.json[0]).toMatchObject({ verdict: 'error', reasonCode: 'MISSING_KEY', error: { code: 'CONFIG_ERROR' } });
  });
});

describe.skipIf(!registered.has('alipay'))('alipay key in the wrong format', () => {
  it('is a config error (exit 2)', async () => {
    const { buildNotify } = await import('../../channels/alipay/callback.js');
    const file = save('alipay-badkey.http', buildNotify({ notify_type: 'trade_status_sync', notify_id: 'nid9', app_id: '2021000000000000', out_trade_no: 'ALIBAD', trade_status: 'TRADE_SUCCESS', total_amount: '1.00' }, rsa.privateKey));
    const r = await runPayJson(['verify', file], { env: config('alibad', { alipay: { alipayPublicKey: 'MIIBIjANnot-a-key' } }) });
    expect(r.code).toBe(2);
    expect(r.json[0]).toMatchObject({ verdict: 'error', channel: 'alipay', error: { code: 'CONFIG_ERROR' } });
  });
});

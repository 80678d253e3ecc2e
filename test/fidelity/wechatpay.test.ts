/**
 * Fidelity of the WeChat Pay (API v3) simulator, driven by `wechatpay-axios-plugin`, which signs
 * its requests and verifies every answer's Wechatpay-Signature itself: success paths, and
 * refusals as WeChat Pay sends them, `{code, message, detail}` bodies signed like any answer.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateId } from '../../src/core/ids.js';
import { startWechatpayHarness, type WechatpayHarness } from '../../channels/wechatpay/test/harness.js';

const require = createRequire(import.meta.url);
let h: WechatpayHarness;
let wxpay: any;

beforeAll(async () => {
  h = await startWechatpayHarness();
  const { Wechatpay } = require('wechatpay-axios-plugin') as { Wechatpay: new (c: Record<string, unknown>) => any };
  wxpay = new Wechatpay({
    mchid: h.profile.mchId,
    serial: h.profile.serialNo,
    privateKey: h.profile.privateKey,
    certs: { [h.sim.signingSerial]: h.sim.platformCertificate },
    baseURL: `${h.baseUrl}/`,
  });
});
afterAll(async () => {
  await h?.close();
});

/** The plugin's rejection for a refused call: the status and the (verified) body. */
async function refusal(p: Promise<unknown>): Promise<{ status: number; data: Record<string, any>; signed: boolean }> {
  try {
    await p;
  } catch (err) {
    const e = err as { response?: { status: number; data: Record<string, any>; headers: Record<string, string> }; message: string };
    if (!e.response) throw new Error(`no HTTP answer (${e.message}): the plugin could not verify it`);
    return { status: e.response.status, data: e.response.data, signed: Boolean(e.response.headers['wechatpay-signature']) };
  }
  throw new Error('the simulator accepted what WeChat Pay refuses');
}

const order = (extra: Record<string, unknown> = {}) => ({
  mchid: h.profile.mchId,
  appid: h.profile.appId,
  out_trade_no: generateId('payment'),
  description: 'fidelity',
  notify_url: 'https://example.com/notify',
  amount: { total: 100, currency: 'CNY' },
  ...extra,
});

describe('WeChat Pay v3 through wechatpay-axios-plugin', () => {
  it('creates, queries, refunds and queries the refund, every answer verified by the plugin', async () => {
    const o = order();
    expect((await wxpay.v3.pay.transactions.native.post(o)).data.code_url).toMatch(/^weixin:/);
    await h.sandbox.pay('wechatpay', o.out_trade_no);
    const q = await wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.get({ params: { mchid: h.profile.mchId }, out_trade_no: o.out_trade_no });
    expect(q.data.trade_state).toBe('SUCCESS');
    const outRefundNo = generateId('refund');
    expect((await wxpay.v3.refund.domestic.refunds.post({ out_trade_no: o.out_trade_no, out_refund_no: outRefundNo, amount: { refund: 50, total: 100, currency: 'CNY' } })).data.status).toBe('PROCESSING');
    expect((await wxpay.v3.refund.domestic.refunds._out_refund_no_.get({ out_refund_no: outRefundNo })).data.out_refund_no).toBe(outRefundNo);
  });

  it('refusals are {code, message, detail} with Wechatpay-* signature headers the plugin verifies', async () => {
    const noAppid = await refusal(wxpay.v3.pay.transactions.native.post(order({ appid: undefined })));
    expect(noAppid).toMatchObject({ status: 400, signed: true, data: { code: 'PARAM_ERROR', detail: { field: '/appid', location: 'body' } } });
    expect(noAppid.data.message).toContain('/body/appid');
    const notFound = await refusal(wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.get({ params: { mchid: h.profile.mchId }, out_trade_no: 'NOSUCHORDER0001' }));
    expect(notFound).toMatchObject({ status: 404, signed: true, data: { code: 'ORDER_NOT_EXIST', message: expect.any(String) } });
    const unknownPath = await refusal(wxpay.v3.pay.nothing.here.get());
    expect(unknownPath).toMatchObject({ status: 404, signed: true, data: { code: 'NOT_FOUND' } });
    const noOrder = await refusal(wxpay.v3.refund.domestic.refunds.post({ out_refund_no: generateId('refund'), amount: { refund: 1, total: 1, currency: 'CNY' } }));
    expect(noOrder).toMatchObject({ status: 400, signed: true, data: { code: 'PARAM_ERROR' } });
    expect(noOrder.data.message).toContain('out_trade_no');
    const badAmount = await refusal(wxpay.v3.pay.transactions.native.post(order({ amount: { total: 0, currency: 'CNY' } })));
    expect(badAmount).toMatchObject({ status: 400, data: { code: 'PARAM_ERROR' } });
  });
});

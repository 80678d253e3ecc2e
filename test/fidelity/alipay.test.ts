/**
 * Fidelity of the Alipay simulator, driven by the official `alipay-sdk` with its response
 * signature check on: success paths, and refusals that come back as Alipay sends them, signed
 * (`<method>_response` with code/msg/sub_code/sub_msg and `sign`), so the SDK verifies them.
 */
import { AlipaySdk } from 'alipay-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import { simulator } from '../../channels/alipay/sandbox/index.js';

let sandbox: RunningSandbox;
let sdk: AlipaySdk;
let p: Record<string, unknown>;

beforeAll(async () => {
  sandbox = await startSandbox({ channels: ['alipay'], simulators: { alipay: simulator } });
  p = sandbox.profile('alipay');
  sdk = new AlipaySdk({ appId: String(p.appId), privateKey: String(p.privateKey), keyType: 'PKCS8', alipayPublicKey: String(p.alipayPublicKey), gateway: String(p.gateway) });
});
afterAll(async () => {
  await sandbox?.close();
});

const checked = { validateSign: true };

describe('Alipay through alipay-sdk', () => {
  it('precreate, pay, query, refund and refund query succeed, every answer signed', async () => {
    const outTradeNo = `FID${Date.now()}`;
    expect(await sdk.exec('alipay.trade.precreate', { bizContent: { outTradeNo, totalAmount: '10.00', subject: 'fidelity' } }, checked)).toMatchObject({ code: '10000' });
    await sandbox.pay('alipay', outTradeNo);
    expect(await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo } }, checked)).toMatchObject({ code: '10000', tradeStatus: 'TRADE_SUCCESS' });
    expect(await sdk.exec('alipay.trade.refund', { bizContent: { outTradeNo, refundAmount: '4.00', outRequestNo: 'FID-R1' } }, checked)).toMatchObject({ code: '10000', refundFee: '4.00' });
    expect(await sdk.exec('alipay.trade.fastpay.refund.query', { bizContent: { outTradeNo, outRequestNo: 'FID-R1' } }, checked)).toMatchObject({ code: '10000' });
  });

  it('business refusals (40004) are signed answers the SDK verifies', async () => {
    const outTradeNo = `FID${Date.now()}B`;
    await sdk.exec('alipay.trade.precreate', { bizContent: { outTradeNo, totalAmount: '10.00', subject: 'fidelity' } }, checked);
    expect(await sdk.exec('alipay.trade.refund', { bizContent: { outTradeNo, refundAmount: '1.00' } }, checked)).toMatchObject({ code: '40004', msg: 'Business Failed', subCode: 'ACQ.TRADE_NOT_EXIST' });
    await sandbox.pay('alipay', outTradeNo);
    const over = await sdk.exec('alipay.trade.refund', { bizContent: { outTradeNo, refundAmount: '10.01', outRequestNo: 'FID-R2' } }, checked);
    expect(over).toMatchObject({ code: '40004', subCode: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL' });
  });

  it('argument refusals (40001/40002) are signed too: a bad amount, a missing or wrong version', async () => {
    const bad = await sdk.exec('alipay.trade.precreate', { bizContent: { outTradeNo: `FID${Date.now()}C`, totalAmount: '1.234', subject: 'x' } }, checked);
    expect(bad).toMatchObject({ code: '40002', msg: 'Invalid Arguments', subCode: 'isv.invalid-parameter' });
    const noVersion = new AlipaySdk({ ...sdk.config, version: '' } as unknown as ConstructorParameters<typeof AlipaySdk>[0]);
    const missing = await noVersion.exec('alipay.trade.query', { bizContent: { outTradeNo: 'x' } }, checked);
    expect(missing).toMatchObject({ code: '40001', msg: 'Missing Required Arguments', subCode: 'isv.missing-version' });
    const wrong = await sdk.exec('alipay.trade.query', { version: '2.0', bizContent: { outTradeNo: 'x' } }, checked);
    expect(wrong).toMatchObject({ code: '40002', subCode: 'isv.invalid-parameter' });
  });
});

/**
 * The official `alipay-sdk` against our Alipay simulator, its response-signature check ON:
 * precreate, query and refund, in public-key and certificate mode. The SDK signs its own requests
 * (so the simulator's request check is exercised by an independent signer) and verifies our
 * answers with its own code; a tampered answer must make it throw.
 */
import { AlipaySdk } from 'alipay-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/server.js';
import { createAlipaySimulator, type AlipaySimulatorOptions } from '../sandbox/index.js';
import { rsaKeyPair, testCertSet } from './keys.js';

async function sandboxWith(options: AlipaySimulatorOptions = {}): Promise<RunningSandbox> {
  return startSandbox({ channels: ['alipay'], simulators: { alipay: { id: 'alipay', create: (deps) => createAlipaySimulator(deps, options) } } });
}

function lifecycle(name: string, make: () => Promise<{ sandbox: RunningSandbox; sdk: AlipaySdk }>): void {
  describe(name, () => {
    let sandbox: RunningSandbox;
    let sdk: AlipaySdk;
    beforeAll(async () => {
      ({ sandbox, sdk } = await make());
    });
    afterAll(async () => {
      await sandbox?.close();
    });

    it('precreate, query and refund through the SDK, with its response-signature check on', async () => {
      const outTradeNo = `SDK${Date.now()}`;
      const pre = await sdk.exec('alipay.trade.precreate', { bizContent: { outTradeNo, totalAmount: '66.60', subject: 'SDK 订单' } }, { validateSign: true });
      expect(pre.code).toBe('10000');
      expect(pre.outTradeNo).toBe(outTradeNo);
      expect(pre.qrCode).toMatch(/\/qr\//);
      const before = await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo } }, { validateSign: true });
      expect(before).toMatchObject({ code: '40004', subCode: 'ACQ.TRADE_NOT_EXIST' });
      await sandbox.pay('alipay', outTradeNo);
      const q = await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo } }, { validateSign: true });
      expect(q).toMatchObject({ code: '10000', tradeStatus: 'TRADE_SUCCESS', totalAmount: '66.60', outTradeNo });
      const r = await sdk.exec('alipay.trade.refund', { bizContent: { outTradeNo, refundAmount: '6.66', outRequestNo: 'SDK-R1' } }, { validateSign: true });
      expect(r).toMatchObject({ code: '10000', fundChange: 'Y', refundFee: '6.66' });
      const rq = await sdk.exec('alipay.trade.fastpay.refund.query', { bizContent: { outTradeNo, outRequestNo: 'SDK-R1' } }, { validateSign: true });
      expect(rq).toMatchObject({ code: '10000', refundStatus: 'REFUND_SUCCESS', refundAmount: '6.66' });
    });

    it('a tampered answer fails the SDK’s own signature check', async () => {
      // The SDK sends the common parameters (method included) in the query string.
      sandbox.fault('alipay', { kind: 'badSignature', match: 'method=alipay\\.trade\\.query' });
      await expect(sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: 'whatever' } }, { validateSign: true })).rejects.toThrow(/验签失败/);
    });

    it('the simulator refuses a request the SDK signed with another key, with Alipay’s error', async () => {
      const cfg = sdk.config;
      const stranger = new AlipaySdk({ appId: cfg.appId, privateKey: rsaKeyPair().privatePkcs8Pem, keyType: 'PKCS8', alipayPublicKey: cfg.alipayPublicKey, gateway: cfg.gateway, ...(cfg.appCertSn ? { appCertSn: cfg.appCertSn, alipayRootCertSn: cfg.alipayRootCertSn } : {}) } as ConstructorParameters<typeof AlipaySdk>[0]);
      const res = await stranger.exec('alipay.trade.query', { bizContent: { outTradeNo: 'x' } }, { validateSign: true });
      expect(res).toMatchObject({ code: '40002', msg: 'Invalid Arguments', subCode: 'isv.invalid-signature' });
    });
  });
}

lifecycle('alipay-sdk against the simulator (public-key mode)', async () => {
  const sandbox = await sandboxWith();
  const p = sandbox.profile('alipay');
  const sdk = new AlipaySdk({ appId: String(p.appId), privateKey: String(p.privateKey), keyType: 'PKCS8', alipayPublicKey: String(p.alipayPublicKey), gateway: String(p.gateway) });
  return { sandbox, sdk };
});

lifecycle('alipay-sdk against the simulator (certificate mode)', async () => {
  const certs = testCertSet();
  const sandbox = await sandboxWith({ certs: { appCert: certs.appCert, alipayPublicCert: certs.alipayPublicCert, alipayRootCert: certs.alipayRootCert, appPrivateKey: certs.app.privatePkcs8Pem, alipayPrivateKey: certs.alipay.privatePem } });
  const p = sandbox.profile('alipay');
  const sdk = new AlipaySdk({
    appId: String(p.appId),
    privateKey: String(p.privateKey),
    keyType: 'PKCS8',
    appCertContent: String(p.appCert),
    alipayPublicCertContent: String(p.alipayPublicCert),
    alipayRootCertContent: String(p.alipayRootCert),
    gateway: String(p.gateway),
  });
  return { sandbox, sdk };
});

/**
 * Alipay signatures and certificate serial numbers, cross-checked against the official
 * `alipay-sdk` (its constructor computes the SNs; its `sdkExecute` signs request parameters; its
 * `checkResponseSign` verifies answers).
 */
import { AlipaySdk } from 'alipay-sdk';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, SHARED_DIR, sharedNotice } from '../../../test/helpers/cli.js';
import { certSn, parseCertificatePem, rootCertSn } from '../cert.js';
import {
  extractResponse,
  loadPrivateKey,
  loadPublicKey,
  parseForm,
  percentDecode,
  signedBytes,
  signParams,
  signResponse,
  topLevelMembers,
  verifyContent,
  verifyFields,
  verifyResponse,
} from '../signature.js';
import { rsaKeyPair, testCertSet, type TestCertSet, type TestKeyPair } from './keys.js';

let app: TestKeyPair;
let alipay: TestKeyPair;
let certs: TestCertSet;

beforeAll(() => {
  app = rsaKeyPair();
  alipay = rsaKeyPair();
  certs = testCertSet();
});

describe('key loading', () => {
  it('takes PKCS#1 PEM, PKCS#8 PEM and bare base64 private keys alike', () => {
    const bare = app.privatePkcs8Pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const bare1 = app.privatePem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const sig = signParams({ a: '1' }, loadPrivateKey(app.privatePem));
    for (const text of [app.privatePkcs8Pem, bare, bare1]) expect(signParams({ a: '1' }, loadPrivateKey(text))).toBe(sig);
  });

  it('takes PEM, bare base64 SPKI and certificates as public keys', () => {
    // signParams({k: 'v'}) signs exactly the bytes "k=v".
    const content = Buffer.from('k=v');
    const s = signParams({ k: 'v' }, app.privateKey);
    expect(verifyContent(Buffer.from('k=w'), s, app.publicKey)).toBe(false);
    for (const text of [app.publicPem, app.publicBase64]) expect(verifyContent(content, s, loadPublicKey(text))).toBe(true);
    const certKey = loadPublicKey(certs.appCert);
    expect(verifyContent(content, signParams({ k: 'v' }, certs.app.privateKey), certKey)).toBe(true);
    expect(verifyContent(content, s, certKey)).toBe(false);
  });

  it('refuses keys of the wrong kind without echoing them', () => {
    expect(() => loadPrivateKey('not a key at all')).toThrow(/not an RSA private key/);
    expect(() => loadPrivateKey(app.publicPem)).toThrow(/not an RSA private key/);
    expect(() => loadPublicKey('MIIB' + 'A'.repeat(100))).toThrow(/not an RSA public key/);
    try {
      loadPrivateKey(app.publicPem);
    } catch (err) {
      expect((err as Error).message).not.toContain('MII');
    }
  });
});

describe('certificate serial numbers', () => {
  it('match the official SDK for generated certificates (app, Alipay, root bundle)', () => {
    const sdk = new AlipaySdk({
      appId: '2021000000000001',
      privateKey: certs.app.privatePem,
      appCertContent: certs.appCert,
      alipayPublicCertContent: certs.alipayPublicCert,
      alipayRootCertContent: certs.alipayRootCert,
    });
    expect(certSn(certs.appCert)).toBe(sdk.config.appCertSn);
    expect(certSn(certs.alipayPublicCert)).toBe(sdk.config.alipayCertSn);
    expect(rootCertSn(certs.alipayRootCert)).toBe(sdk.config.alipayRootCertSn);
    expect(rootCertSn(certs.alipayRootCert).split('_')).toHaveLength(2);
  });

  it('reads the issuer in reverse order with non-ASCII values intact', () => {
    const info = parseCertificatePem(certs.appCert);
    expect(info.issuer).toBe('CN=Pay Test Root R1,OU=Certification Authority test,O=Pay Test CA,C=CN');
    expect(info.serial).toBe(BigInt(`0x${certs.appSerialHex}`).toString(10));
  });

  it.skipIf(!HAS_SHARED)('computes the published root SN of alipay-cert-root.crt (RSA roots only)', () => {
    sharedNotice('Alipay certificate vectors');
    const root = readFileSync(join(SHARED_DIR, 'vectors', 'alipay-cert-root.crt'), 'utf8');
    const pub = readFileSync(join(SHARED_DIR, 'vectors', 'alipay-cert-public.crt'), 'utf8');
    expect(rootCertSn(root)).toBe('687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6');
    const sdk = new AlipaySdk({ appId: '9021000122682882', privateKey: app.privatePem, appCertContent: pub, alipayPublicCertContent: pub, alipayRootCertContent: root });
    expect(certSn(pub)).toBe(sdk.config.alipayCertSn);
  });
});

describe('parameter signatures', () => {
  it('decodes each form component once: a literal % survives, + is a space', () => {
    expect(percentDecode(Buffer.from('100%25+off%zz%4')).toString()).toBe('100% off%zz%4');
    const fields = parseForm('b=2&a=%E4%B8%AD&c=&d=x%3Dy');
    expect(fields.map((f) => [f.key, f.value.toString('utf8')])).toEqual([
      ['b', '2'],
      ['a', '中'],
      ['c', ''],
      ['d', 'x=y'],
    ]);
    expect(signedBytes(fields, false).toString('utf8')).toBe('a=中&b=2&c=&d=x=y');
    // Plain ASCII values come as text too; raw non-ASCII bytes and decoded ones only as bytes.
    const raw = parseForm(Buffer.from('z=中&y=plain&x=a%20b&w', 'utf8'));
    expect(raw.map((f) => [f.key, f.text, f.value.toString('utf8')])).toEqual([
      ['z', undefined, '中'],
      ['y', 'plain', 'plain'],
      ['x', undefined, 'a b'],
      ['w', '', ''],
    ]);
    expect(signedBytes(raw, false).toString('utf8')).toBe('w=&x=a b&y=plain&z=中');
  });

  it('sorts by byte order and keeps or drops sign_type as asked', () => {
    const fields = parseForm('sign_type=RSA2&b=1&a_b=2&aB=3&sign=xyz');
    expect(signedBytes(fields, false).toString()).toBe('aB=3&a_b=2&b=1');
    expect(signedBytes(fields, true).toString()).toBe('aB=3&a_b=2&b=1&sign_type=RSA2');
  });

  it('signs requests exactly as the official SDK does (RSA PKCS#1 v1.5 is deterministic)', async () => {
    const sdk = new AlipaySdk({ appId: '2021000000000001', privateKey: app.privatePem, alipayPublicKey: alipay.publicBase64 });
    const query = sdk.sdkExecute('alipay.trade.precreate', { notifyUrl: 'https://merchant.example/notify', bizContent: { outTradeNo: 'P1', totalAmount: '0.01', subject: '测试 100%' } });
    const fields = parseForm(query);
    const params = Object.fromEntries(fields.filter((f) => f.key !== 'sign').map((f) => [f.key, f.value.toString('utf8')]));
    const sdkSign = fields.find((f) => f.key === 'sign')!.value.toString();
    expect(signParams(params, loadPrivateKey(app.privatePem))).toBe(sdkSign);
    // And the SDK's signature passes our verifier (requests are signed with sign_type kept).
    expect(await verifyFields(fields, sdkSign, app.publicKey)).toEqual({ ok: true, signTypeSigned: true });
  });

  it('supports the legacy RSA (SHA-1) sign type', async () => {
    const fields = parseForm('a=1&sign_type=RSA');
    const sig = signParams({ a: '1', sign_type: 'RSA' }, app.privateKey, 'RSA');
    expect((await verifyFields(fields, sig, app.publicKey, 'RSA')).ok).toBe(true);
    expect((await verifyFields(fields, sig, app.publicKey, 'RSA2')).ok).toBe(false);
  });
});

describe('synchronous answers', () => {
  const content = '{"code":"10000","msg":"Success","out_trade_no":"P1","qr_code":"https:\\/\\/qr.alipay.com\\/bax1","note":"支付 \\"ok\\" {}"}';

  it('finds the raw member text without re-serialising it', () => {
    const text = `{"alipay_trade_precreate_response":${content},"sign":"abc"}`;
    const parts = extractResponse(text, 'alipay.trade.precreate');
    expect(parts.content).toBe(content);
    expect(parts.sign).toBe('abc');
    expect(topLevelMembers(' { "a" : [1,{"b":"]"}] , "c":null } ').get('c')).toBeDefined();
    expect(() => topLevelMembers('{"a":1} trailing')).toThrow();
    expect(() => extractResponse('{"other":1}', 'alipay.trade.query')).toThrow(/alipay_trade_query_response/);
  });

  it('verifies byte for byte: whitespace the signer did not see breaks it', () => {
    const signed = signResponse('alipay_trade_precreate_response', content, alipay.privateKey);
    const parts = extractResponse(signed, 'alipay.trade.precreate');
    expect(verifyResponse(parts, alipay.publicKey)).toBe(true);
    const spaced = signed.replace('"code":"10000"', '"code": "10000"');
    expect(verifyResponse(extractResponse(spaced, 'alipay.trade.precreate'), alipay.publicKey)).toBe(false);
    expect(verifyResponse(parts, app.publicKey)).toBe(false);
  });

  it('produces answers the official SDK accepts with its response-signature check', () => {
    const sdk = new AlipaySdk({ appId: '2021000000000001', privateKey: app.privatePem, alipayPublicKey: alipay.publicBase64 });
    const signed = signResponse('alipay_trade_precreate_response', content, alipay.privateKey, { certSn: 'abc123' });
    expect(() => sdk.checkResponseSign(signed, 'alipay_trade_precreate_response', JSON.parse(signed).sign, 'trace')).not.toThrow();
    const bad = signed.replace('P1', 'P2');
    expect(() => sdk.checkResponseSign(bad, 'alipay_trade_precreate_response', JSON.parse(bad).sign, 'trace')).toThrow();
    expect(extractResponse(signed, 'alipay.trade.precreate').certSn).toBe('abc123');
  });
});

import { createHash, createPrivateKey, createVerify, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRequest } from '../../../src/channel/contract.js';
import { buildCertificate, randomSerial, type DistinguishedName } from '../../../src/channel/x509.js';
import { HAS_SHARED, SHARED_DIR, sharedNotice, tempDir } from '../../../test/helpers/cli.js';
import { detectUnionPay, verifyUnionPayCallback } from '../callback.js';
import { encodeForm, parseForm } from '../form.js';
import { certIdOf, signAsUnionPay, signFields, signingString, verifyRsa, verifySecureKey } from '../signature.js';
import { opensslChain, type OpensslChain } from './pki-helpers.js';

const VECTORS = join(SHARED_DIR, 'vectors');
sharedNotice('UnionPay published vectors');

interface Vector {
  body: string;
  middleCert: string;
  rootCert: string;
  at: string;
  expect: string;
}

function loadVector(name: string): { vector: Vector; settings: Record<string, string>; at: number; request: RawRequest } {
  const vector = JSON.parse(readFileSync(join(VECTORS, name), 'utf8')) as Vector;
  const settings = {
    middleCert: readFileSync(join(VECTORS, vector.middleCert), 'utf8'),
    rootCert: readFileSync(join(VECTORS, vector.rootCert), 'utf8'),
  };
  return {
    vector,
    settings,
    at: Date.parse(vector.at),
    request: { method: 'POST', target: '/notify', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(vector.body, 'latin1') },
  };
}

/** Replaces one field's raw (encoded) value in a form body. */
function withField(body: string, key: string, rawValue: string): string {
  return body.replace(new RegExp(`(^|&)${key}=[^&]*`), `$1${key}=${rawValue}`);
}

describe.skipIf(!HAS_SHARED)('published UnionPay vectors', () => {
  for (const name of ['unionpay-back-notify.json', 'unionpay-refund-response.json']) {
    describe(name, () => {
      it('verifies as valid at its moment, with the vector middle/root certificates', async () => {
        const { settings, at, request, vector } = loadVector(name);
        expect(vector.expect).toBe('valid');
        const v = await verifyUnionPayCallback(request, settings, { at });
        expect(v.reason).toBeUndefined();
        expect(v.valid).toBe(true);
        expect(v.scheme).toBe('unionpay-5.1.0-01');
        expect(v.reply).toEqual({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'ok' });
        expect(v.dedupKey).toMatch(/^unionpay:\d+/);
      });

      it('agrees with a plain node:crypto check of the same bytes (sorted string, sha256 hex, SHA256withRSA)', () => {
        const { request } = loadVector(name);
        const params = new URLSearchParams(request.body.toString('utf8'));
        const { fields } = parseForm(request.body);
        const ours = signingString(Object.fromEntries(fields));
        const plain = [...params.entries()]
          .filter(([k]) => k !== 'signature')
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => `${k}=${v}`)
          .join('&');
        expect(ours).toBe(plain);
        const hex = createHash('sha256').update(plain, 'utf8').digest('hex');
        const ok = createVerify('RSA-SHA256').update(hex).verify(params.get('signPubKeyCert')!, params.get('signature')!, 'base64');
        expect(ok).toBe(true);
      });

      it('a one-byte change to a signed field is BAD_SIGNATURE', async () => {
        const { settings, at, request } = loadVector(name);
        const body = request.body.toString('latin1');
        const txnAmt = /(?:^|&)txnAmt=(\d+)/.exec(body)![1];
        const tampered = withField(body, 'txnAmt', String(Number(txnAmt) + 1));
        const v = await verifyUnionPayCallback({ ...request, body: Buffer.from(tampered, 'latin1') }, settings, { at });
        expect(v.valid).toBe(false);
        expect(v.reasonCode).toBe('BAD_SIGNATURE');
        expect(v.reply.status).not.toBe(200);
      });

      it('a one-byte change to the signature is BAD_SIGNATURE', async () => {
        const { settings, at, request } = loadVector(name);
        const body = request.body.toString('latin1');
        const sig = decodeURIComponent(/(?:^|&)signature=([^&]*)/.exec(body)![1]);
        const flipped = sig.slice(0, 5) + (sig[5] === 'A' ? 'B' : 'A') + sig.slice(6);
        const tampered = withField(body, 'signature', encodeURIComponent(flipped));
        const v = await verifyUnionPayCallback({ ...request, body: Buffer.from(tampered, 'latin1') }, settings, { at });
        expect(v.reasonCode).toBe('BAD_SIGNATURE');
      });

      it('after the signing certificate expired it is EXPIRED (checked against --at)', async () => {
        const { settings, request } = loadVector(name);
        const v = await verifyUnionPayCallback(request, settings, { at: Date.parse('2025-08-01T00:00:00Z') });
        expect(v.reasonCode).toBe('EXPIRED');
        expect(v.reason).toMatch(/2025-07-31/);
      });

      it('without middleCert or rootCert it is MISSING_KEY naming the config key', async () => {
        const { settings, at, request } = loadVector(name);
        const v1 = await verifyUnionPayCallback(request, { rootCert: settings.rootCert }, { at });
        expect(v1.reasonCode).toBe('MISSING_KEY');
        expect(v1.reason).toContain('channels.unionpay.middleCert');
        const v2 = await verifyUnionPayCallback(request, { middleCert: settings.middleCert }, { at });
        expect(v2.reason).toContain('channels.unionpay.rootCert');
        const v3 = await verifyUnionPayCallback(request, { ...settings, middleCert: 'not a certificate' }, { at });
        expect(v3.reasonCode).toBe('MISSING_KEY');
        expect(v3.reason).toMatch(/middleCert is not a certificate/);
      });

      it('certificates given as bare base64 DER work too', async () => {
        const { settings, at, request } = loadVector(name);
        const bare = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
        const v = await verifyUnionPayCallback(request, { middleCert: bare(settings.middleCert), rootCert: bare(settings.rootCert) }, { at });
        expect(v.valid).toBe(true);
      });
    });
  }

  it('the back-notify vector claims a paid consume of 0.01 CNY', async () => {
    const { settings, at, request } = loadVector('unionpay-back-notify.json');
    const v = await verifyUnionPayCallback(request, settings, { at });
    expect(v.event).toMatchObject({
      type: 'consume',
      kind: 'payment',
      orderNo: 'yansongda20220908132206',
      channelTradeNo: '782209081322060674028',
      amountMinor: 1,
      currency: 'CNY',
      status: 'succeeded',
    });
    expect(v.event?.occurredAt).toBe('2022-09-08T05:22:06.000Z');
  });

  it('the refund-answer vector is a refund of 0.01 against the original query id', async () => {
    const { settings, at, request } = loadVector('unionpay-refund-response.json');
    const v = await verifyUnionPayCallback(request, settings, { at });
    expect(v.event).toMatchObject({ type: 'refund', kind: 'refund', refundNo: 'refundpay20240105165842', channelTradeNo: '052401051658427862748', amountMinor: 1 });
  });

  it('a chain to a different root is UNTRUSTED_CERT', async () => {
    const t = tempDir('pay-unionpay-sig-');
    try {
      const other = opensslChain(t.dir);
      const { settings, at, request } = loadVector('unionpay-back-notify.json');
      const v = await verifyUnionPayCallback(request, { middleCert: settings.middleCert, rootCert: other.rootPem }, { at });
      expect(v.reasonCode).toBe('UNTRUSTED_CERT');
      const v2 = await verifyUnionPayCallback(request, { middleCert: other.middlePem, rootCert: settings.rootCert }, { at });
      expect(v2.reasonCode).toBe('UNTRUSTED_CERT');
    } finally {
      t.cleanup();
    }
  });

  it('detects the vectors as UnionPay', () => {
    expect(detectUnionPay(loadVector('unionpay-back-notify.json').request)).toBe(1);
    expect(detectUnionPay({ headers: {}, body: Buffer.from('{"id":"evt_1","type":"x"}') })).toBe(0);
  });
});

describe('signing and verifying with keys the test makes', () => {
  let tmp: { dir: string; cleanup: () => void };
  let chain: OpensslChain;
  let settings: Record<string, string>;
  const now = Date.now();
  beforeAll(() => {
    tmp = tempDir('pay-unionpay-sig-');
    chain = opensslChain(tmp.dir);
    settings = { middleCert: chain.middlePem, rootCert: chain.rootPem };
  });
  afterAll(() => tmp.cleanup());

  const notifyFields = () => ({
    accessType: '0',
    bizType: '000201',
    currencyCode: '156',
    encoding: 'UTF-8',
    merId: '777290058110097',
    orderId: 'P20261123000000000ABCDEFGHJKMN',
    queryId: '722611230000000000001',
    respCode: '00',
    respMsg: 'success',
    settleAmt: '1234',
    settleCurrencyCode: '156',
    settleDate: '1123',
    traceNo: '000001',
    traceTime: '1123080000',
    txnAmt: '1234',
    txnSubType: '01',
    txnTime: '20261123080000',
    txnType: '01',
    version: '5.1.0',
    reqReserved: '',
  });

  const post = (fields: Record<string, string>, charset: 'utf-8' | 'gbk' = 'utf-8'): RawRequest => ({
    method: 'POST',
    headers: { 'content-type': `application/x-www-form-urlencoded; charset=${charset}` },
    body: encodeForm(fields, charset),
  });

  it('signAsUnionPay -> verify (chain, CN, validity, SHA-256) round trip, empty values included', async () => {
    const signed = signAsUnionPay(notifyFields(), createPrivateKey(chain.signKeyPem), chain.signPem);
    expect(signed.reqReserved).toBe('');
    const v = await verifyUnionPayCallback(post(signed), settings, { at: now });
    expect(v.valid).toBe(true);
    expect(v.event).toMatchObject({ kind: 'payment', orderNo: 'P20261123000000000ABCDEFGHJKMN', amountMinor: 1234, currency: 'CNY', status: 'succeeded' });
    // Dropping the empty field changes the signed string.
    const { reqReserved: _drop, ...rest } = signed;
    expect((await verifyUnionPayCallback(post(rest), settings, { at: now })).reasonCode).toBe('BAD_SIGNATURE');
  });

  it('GBK notifications are decoded and verified in GBK', async () => {
    const fields = { ...notifyFields(), encoding: 'GBK', respMsg: '成功[0000000]' };
    const signed = signAsUnionPay(fields, createPrivateKey(chain.signKeyPem), chain.signPem, 'gbk');
    const req = post(signed, 'gbk');
    expect(req.body.toString('latin1')).toContain('respMsg=%B3%C9%B9%A6'); // 成功 in GBK
    const v = await verifyUnionPayCallback(req, settings, { at: now });
    expect(v.valid).toBe(true);
    expect(v.event?.providerStatus).toBe('00 成功[0000000]');
  });

  it('a certificate whose CN is not UnionPay is UNTRUSTED_CERT', async () => {
    const t = tempDir('pay-unionpay-cn-');
    try {
      const wrong = opensslChain(t.dir, { signCn: '041@8310000000083040@Some Other Company@00016495' });
      const signed = signAsUnionPay(notifyFields(), createPrivateKey(wrong.signKeyPem), wrong.signPem);
      const v = await verifyUnionPayCallback(post(signed), { middleCert: wrong.middlePem, rootCert: wrong.rootPem }, { at: now });
      expect(v.reasonCode).toBe('UNTRUSTED_CERT');
      expect(v.reason).toMatch(/CN/);
    } finally {
      t.cleanup();
    }
  });

  it('an expired signing certificate is EXPIRED; at an earlier --at it is valid', async () => {
    const t = tempDir('pay-unionpay-exp-');
    try {
      const old = opensslChain(t.dir, { startDaysAgo: 30, validDays: -2 });
      const signed = signAsUnionPay(notifyFields(), createPrivateKey(old.signKeyPem), old.signPem);
      const trust = { middleCert: old.middlePem, rootCert: old.rootPem };
      expect((await verifyUnionPayCallback(post(signed), trust, { at: now })).reasonCode).toBe('EXPIRED');
      expect((await verifyUnionPayCallback(post(signed), trust, { at: now - 10 * 86_400_000 })).valid).toBe(true);
    } finally {
      t.cleanup();
    }
  });

  it('5.0.0: SHA-1 both steps, certificate chosen by certId from verifyCert', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const dn: DistinguishedName = [['CN', 'test-only 5.0.0 verify']];
    const pem = buildCertificate({ subject: dn, issuer: dn, serial: randomSerial(), notBefore: now - 86_400_000, notAfter: now + 86_400_000, publicKey, signingKey: privateKey });
    const certId = certIdOf(new (await import('node:crypto')).X509Certificate(pem));
    const signed = signFields({ ...notifyFields(), version: '5.0.0' }, { version: '5.0.0', signMethod: '01', charset: 'utf-8', signer: { privateKey, certId } });
    expect(signed.certId).toBe(certId);
    const ok = await verifyUnionPayCallback(post(signed), { verifyCert: `${chain.rootPem}\n${pem}` }, { at: now });
    expect(ok.valid).toBe(true);
    expect(ok.scheme).toBe('unionpay-5.0.0-01');
    // SHA-1 really is used: the SHA-256 variant of the same key does not verify.
    expect(verifyRsa(signed, publicKey, '5.1.0', 'utf-8')).toBe(false);
    expect((await verifyUnionPayCallback(post({ ...signed, certId: '12345' }), { verifyCert: pem }, { at: now })).reasonCode).toBe('UNKNOWN_KEY');
    expect((await verifyUnionPayCallback(post(signed), {}, { at: now })).reason).toContain('channels.unionpay.verifyCert');
  });

  it('signMethod 11: sha256hex(string & sha256hex(secureKey)), constant-time compare', async () => {
    const secureKey = 'test-only-secure-key-0123456789';
    const signed = signFields(notifyFields(), { version: '5.1.0', signMethod: '11', charset: 'utf-8', secureKey });
    const expected = createHash('sha256')
      .update(`${signingString(signed)}&${createHash('sha256').update(secureKey).digest('hex')}`)
      .digest('hex');
    expect(signed.signature).toBe(expected);
    expect(verifySecureKey(signed, secureKey, 'utf-8')).toBe(true);
    expect((await verifyUnionPayCallback(post(signed), { secureKey }, { at: now })).valid).toBe(true);
    expect((await verifyUnionPayCallback(post(signed), { secureKey: 'another-key-entirely' }, { at: now })).reasonCode).toBe('BAD_SIGNATURE');
    expect((await verifyUnionPayCallback(post(signed), {}, { at: now })).reasonCode).toBe('MISSING_KEY');
  });

  it('malformed bodies are MALFORMED with the failure reply', async () => {
    for (const body of ['', 'garbage', 'a=1&a=2&signature=x', '\u0000\u0001binary', 'encoding=EBCDIC&signature=x']) {
      const v = await verifyUnionPayCallback({ headers: {}, body: Buffer.from(body, 'latin1') }, settings, { at: now });
      expect(v.valid).toBe(false);
      expect(v.reasonCode).toBe('MALFORMED');
      expect(v.reply.status).toBe(400);
    }
    const unsigned = { ...notifyFields() };
    expect((await verifyUnionPayCallback(post(unsigned), settings, { at: now })).reasonCode).toBe('MALFORMED');
    expect((await verifyUnionPayCallback(post({ ...notifyFields(), signMethod: '12', signature: 'x' }), settings, { at: now })).reason).toMatch(/signMethod 12/);
  });

  it('merchant request signing (5.1.0) verifies with the merchant certificate', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signed = signFields({ txnType: '01', orderId: 'P1', blank: '  ' }, { version: '5.1.0', signMethod: '01', charset: 'utf-8', signer: { privateKey, certId: '69629715588' } });
    expect(signed.blank).toBeUndefined();
    expect(signed.certId).toBe('69629715588');
    expect(verifyRsa(signed, publicKey, '5.1.0', 'utf-8')).toBe(true);
    expect(verifyRsa({ ...signed, orderId: 'P2' }, publicKey, '5.1.0', 'utf-8')).toBe(false);
  });
});

describe('form decoding', () => {
  it('decodes once: percent escapes, plus as space, raw UTF-8 bytes, a literal % kept when escaped', () => {
    const body = Buffer.concat([Buffer.from('encoding=UTF-8&a=%E6%88%90%E5%8A%9F&b=x+y%2Bz&c=100%25&d='), Buffer.from('成功', 'utf8')]);
    const { fields } = parseForm(body);
    expect(Object.fromEntries(fields)).toEqual({ encoding: 'UTF-8', a: '成功', b: 'x y+z', c: '100%', d: '成功' });
  });

  it('refuses invalid UTF-8 and broken escapes', () => {
    expect(() => parseForm(Buffer.from('encoding=UTF-8&a=%E6%88'))).toThrow(/not valid utf-8/);
    expect(() => parseForm(Buffer.from('encoding=UTF-8&a=%ZZ'))).toThrow(/percent escape/);
  });
});

/**
 * WeChat Pay signature primitives: v3 request and response signatures, serial/key selection,
 * freshness, probes, AEAD_AES_256_GCM resources, v2 MD5/HMAC-SHA256 and req_info, the
 * simulator's certificates — checked against the published vectors and, both ways, against
 * wechatpay-axios-plugin's helpers (Rsa, Formatter, Aes, Hash).
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCertificate } from '../../../src/channel/x509.js';
import { HAS_SHARED, SHARED_DIR, sharedNotice, tempDir } from '../../../test/helpers/cli.js';
import {
  buildAuthorization,
  decryptReqInfo,
  encryptReqInfo,
  gcmDecrypt,
  gcmEncrypt,
  keyFromCertificate,
  normalizeSerial,
  oaepDecrypt,
  oaepEncrypt,
  parseAuthorization,
  privateKeyFrom,
  privateKeyPem,
  publicKeyFrom,
  publicKeyPem,
  requestMessage,
  responseMessage,
  rsaSign,
  rsaVerify,
  signResponse,
  v2Sign,
  v2SignString,
  verifyV3,
  type PlatformKey,
} from '../signature.js';

const require = createRequire(import.meta.url);
// The community SDK the brief names as the oracle (CommonJS).
const { Rsa, Formatter, Aes, Hash } = require('wechatpay-axios-plugin') as {
  Rsa: { sign(m: string, k: unknown): string; verify(m: string, s: string, k: unknown): boolean; encrypt(p: string, k: unknown): string; decrypt(c: string, k: unknown): string };
  Formatter: { request(m: string, u: string, t: number | string, n: string, b?: string): string; response(t: number | string, n: string, b?: string): string; authorization(mchid: string, nonce: string, sig: string, ts: number | string, serial: string): string };
  Aes: { AesGcm: { encrypt(p: string, k: string, iv: string, aad?: string): string; decrypt(c: string, k: string, iv: string, aad?: string): string }; AesEcb: { encrypt(p: string, k: string): string; decrypt(c: string, k: string): string } };
  Hash: { sign(type: string, data: Record<string, string>, key: string): string; md5(s: string): string };
};

const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
const NOW = Date.UTC(2026, 10, 23, 6, 0, 0);
const API_V3_KEY = 'K'.repeat(16) + 'test-only-v3key!';
const platformKey: PlatformKey = { serial: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1', key: platform.publicKey, kind: 'publicKey' };

describe('v3 request signing', () => {
  const params = {
    mchId: '1900009191',
    serialNo: '408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB',
    privateKey: merchant.privateKey,
    method: 'POST',
    url: '/v3/pay/transactions/native',
    body: '{"appid":"wxd678efh567hg6787","amount":{"total":1}}',
    timestamp: 1763877600,
    nonce: 'nonceNONCEnonce0123456789ABCDEFG',
  };

  it('signs METHOD\\nURL\\nts\\nnonce\\nbody\\n exactly as the official formatter builds it', () => {
    const ours = requestMessage(params.method, params.url, params.timestamp, params.nonce, params.body).toString('utf8');
    expect(ours).toBe(Formatter.request(params.method, params.url, params.timestamp, params.nonce, params.body));
    expect(ours).toBe(`POST\n/v3/pay/transactions/native\n1763877600\n${params.nonce}\n${params.body}\n`);
    // GET: empty body, still the trailing newline.
    expect(requestMessage('GET', '/v3/certificates', 1, 'n').toString()).toBe(Formatter.request('GET', '/v3/certificates', 1, 'n', ''));
  });

  it('produces an Authorization header the plugin verifies, and parses one the plugin builds', () => {
    const header = buildAuthorization(params);
    const parsed = parseAuthorization(header)!;
    expect(parsed).toMatchObject({ mchid: params.mchId, serial_no: params.serialNo, timestamp: '1763877600', nonce_str: params.nonce });
    const message = Formatter.request(params.method, params.url, params.timestamp, params.nonce, params.body);
    expect(Rsa.verify(message, parsed.signature, merchant.publicKey)).toBe(true);
    // And the other way: the plugin's signature and header verify with ours.
    const theirs = Rsa.sign(message, merchant.privateKey);
    const theirHeader = Formatter.authorization(params.mchId, params.nonce, theirs, params.timestamp, params.serialNo);
    const p2 = parseAuthorization(theirHeader)!;
    expect(p2.signature).toBe(theirs);
    expect(rsaVerify(requestMessage(params.method, params.url, p2.timestamp, p2.nonce_str, params.body), p2.signature, merchant.publicKey)).toBe(true);
    // A different body does not verify.
    expect(rsaVerify(requestMessage(params.method, params.url, p2.timestamp, p2.nonce_str, `${params.body} `), p2.signature, merchant.publicKey)).toBe(false);
  });

  it('rejects headers that are not WECHATPAY2-SHA256-RSA2048 or lack a field', () => {
    expect(parseAuthorization(undefined)).toBeUndefined();
    expect(parseAuthorization('Bearer abc')).toBeUndefined();
    expect(parseAuthorization('WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="1",serial_no="S"')).toBeUndefined();
  });

  it('signs and verifies UTF-8 bodies byte for byte', () => {
    const body = '{"description":"Image形象店-深圳腾大-QQ公仔"}';
    const sig = rsaSign(requestMessage('POST', '/v3/x', 1, 'n', body), merchant.privateKey);
    expect(Rsa.verify(Formatter.request('POST', '/v3/x', 1, 'n', body), sig, merchant.publicKey)).toBe(true);
  });
});

describe('v3 response and notification signatures', () => {
  const body = Buffer.from('{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}');
  const ts = Math.floor(NOW / 1000);

  it('signResponse headers verify with the plugin and with verifyV3', () => {
    const h = signResponse({ privateKey: platform.privateKey, serial: platformKey.serial!, body, timestamp: ts, nonce: 'abc' });
    expect(Rsa.verify(Formatter.response(ts, 'abc', body.toString()), h['wechatpay-signature'], platform.publicKey)).toBe(true);
    const check = verifyV3(h, body, { keys: [platformKey] }, NOW);
    expect(check.ok).toBe(true);
  });

  it('accepts a signature made by the plugin', () => {
    const sig = Rsa.sign(Formatter.response(ts, 'n0nce', body.toString()), platform.privateKey);
    const h = { 'wechatpay-timestamp': String(ts), 'wechatpay-nonce': 'n0nce', 'wechatpay-signature': sig, 'wechatpay-serial': platformKey.serial! };
    expect(verifyV3(h, body, { keys: [platformKey] }, NOW)).toMatchObject({ ok: true });
    expect(responseMessage(ts, 'n0nce', body).toString()).toBe(Formatter.response(ts, 'n0nce', body.toString()));
  });

  const headers = () => signResponse({ privateKey: platform.privateKey, serial: platformKey.serial!, body, timestamp: ts });

  it('names each failure', () => {
    const h = headers();
    expect(verifyV3({ ...h, 'wechatpay-signature': 'WECHATPAY/SIGNTEST/' + h['wechatpay-signature'] }, body, { keys: [platformKey] }, NOW)).toMatchObject({ ok: false, reason: 'PROBE' });
    expect(verifyV3({ ...h, 'wechatpay-nonce': '' }, body, { keys: [platformKey] }, NOW)).toMatchObject({ ok: false, reason: 'MALFORMED' });
    expect(verifyV3({ ...h, 'wechatpay-signature-type': 'WECHATPAY2-SM2-WITH-SM3' }, body, { keys: [platformKey] }, NOW)).toMatchObject({ ok: false, reason: 'MALFORMED' });
    expect(verifyV3({ ...h, 'wechatpay-serial': 'DEADBEEF' }, body, { keys: [platformKey] }, NOW)).toMatchObject({ ok: false, reason: 'UNKNOWN_KEY' });
    expect(verifyV3(h, body, { keys: [] }, NOW)).toMatchObject({ ok: false, reason: 'MISSING_KEY' });
    const tampered = Buffer.from(body);
    tampered[5] ^= 1;
    expect(verifyV3(h, tampered, { keys: [platformKey] }, NOW)).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verifyV3({ ...h, 'wechatpay-timestamp': String(ts + 1) }, body, { keys: [platformKey] }, NOW)).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  it('checks freshness: |now - timestamp| >= 300 s is expired, 299 s is not, --at moves now', () => {
    const h = headers();
    expect(verifyV3(h, body, { keys: [platformKey] }, NOW + 299_000).ok).toBe(true);
    expect(verifyV3(h, body, { keys: [platformKey] }, NOW + 300_000)).toMatchObject({ ok: false, reason: 'EXPIRED' });
    expect(verifyV3(h, body, { keys: [platformKey] }, NOW - 300_000)).toMatchObject({ ok: false, reason: 'EXPIRED' });
    expect(verifyV3(h, body, { keys: [platformKey] }, NOW + 3600_000, 7200).ok).toBe(true);
  });

  it('selects the key by serial: PUB_KEY_ID_ public keys, certificate serials, never the wrong key', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pubId = 'PUB_KEY_ID_0114232134912410000000000000000001';
    const keys: PlatformKey[] = [
      { serial: 'AAAA', key: other.publicKey, kind: 'certificate' },
      { serial: pubId, key: platform.publicKey, kind: 'publicKey' },
    ];
    const h = signResponse({ privateKey: platform.privateKey, serial: pubId, body, timestamp: ts });
    expect(verifyV3(h, body, { keys }, NOW)).toMatchObject({ ok: true, serial: pubId });
    // Signed by the platform key but claiming the other serial: the other key is used, and fails.
    expect(verifyV3({ ...h, 'wechatpay-serial': 'AAAA' }, body, { keys }, NOW)).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(normalizeSerial('0x00ab12')).toBe('AB12');
    expect(normalizeSerial(pubId)).toBe(pubId);
  });

  it('refuses an expired or not-yet-valid certificate (validity checked at the verify moment)', () => {
    const pem = buildCertificate({ publicKey: platform.publicKey, signingKey: platform.privateKey, serial: 0xab01n, subject: [['CN', 'test only']], notBefore: NOW - 86400_000 * 30, notAfter: NOW - 1000 });
    const k = keyFromCertificate(new X509Certificate(pem));
    const h = signResponse({ privateKey: platform.privateKey, serial: 'AB01', body, timestamp: ts });
    expect(verifyV3(h, body, { keys: [k] }, NOW)).toMatchObject({ ok: false, reason: 'UNTRUSTED_CERT' });
    // The same file verified as of a moment inside the window passes.
    const hOld = signResponse({ privateKey: platform.privateKey, serial: 'AB01', body, timestamp: Math.floor((NOW - 86400_000) / 1000) });
    expect(verifyV3(hOld, body, { keys: [k] }, NOW - 86400_000).ok).toBe(true);
    expect(verifyV3(hOld, body, { keys: [k] }, NOW - 86400_000 * 31)).toMatchObject({ ok: false, reason: 'UNTRUSTED_CERT' });
  });
});

describe('published v3 notification vector', () => {
  it.skipIf(!HAS_SHARED)('verifies with the published platform certificate at its moment, and decrypts with AES-128-GCM (16-byte key)', () => {
    const v = JSON.parse(readFileSync(join(SHARED_DIR, 'vectors', 'wechatpay-v3-notify.json'), 'utf8'));
    const headers = Object.fromEntries(Object.entries(v.headers as Record<string, string>).map(([k, x]) => [k.toLowerCase(), x]));
    const key = publicKeyFrom(readFileSync(join(SHARED_DIR, 'vectors', v.platformCertificate), 'utf8'));
    expect(key.serial).toBe('D7CE59D1F522D701');
    expect(verifyV3(headers, Buffer.from(v.body), { keys: [key] }, v.at * 1000)).toMatchObject({ ok: true });
    const r = JSON.parse(v.body).resource;
    const ours = gcmDecrypt(r.ciphertext, v.apiV3Key, r.nonce, r.associated_data).toString('utf8');
    // The plugin is AES-256 only, so it cannot open this 16-byte-key vector: it refuses the key.
    expect(() => Aes.AesGcm.decrypt(r.ciphertext, v.apiV3Key, r.nonce, r.associated_data)).toThrow(/key length/i);
    expect(JSON.parse(ours)).toMatchObject({ mchid: '1234567890', out_contract_code: '21640bdbd08e473e828f3206a2741c6e' });
  });
  if (!HAS_SHARED) sharedNotice('the published WeChat Pay vectors');
});

describe('AEAD_AES_256_GCM resources', () => {
  it('decrypts what the plugin encrypts and the plugin decrypts ours', () => {
    const plaintext = '{"out_trade_no":"P1","amount":{"total":1234}}';
    const theirs = Aes.AesGcm.encrypt(plaintext, API_V3_KEY, 'abcdefghijkl', 'transaction');
    expect(gcmDecrypt(theirs, API_V3_KEY, 'abcdefghijkl', 'transaction').toString()).toBe(plaintext);
    const ours = gcmEncrypt(plaintext, API_V3_KEY, '0123456789ab', 'transaction');
    expect(Aes.AesGcm.decrypt(ours, API_V3_KEY, '0123456789ab', 'transaction')).toBe(plaintext);
  });

  it('fails on a wrong key, a changed AAD or a flipped ciphertext byte (the tag is checked)', () => {
    const ct = gcmEncrypt('hello', API_V3_KEY, '0123456789ab', 'aad');
    expect(() => gcmDecrypt(ct, 'x'.repeat(32), '0123456789ab', 'aad')).toThrow(/authentication tag/);
    expect(() => gcmDecrypt(ct, API_V3_KEY, '0123456789ab', 'aae')).toThrow(/authentication tag/);
    const buf = Buffer.from(ct, 'base64');
    buf[0] ^= 1;
    expect(() => gcmDecrypt(buf.toString('base64'), API_V3_KEY, '0123456789ab', 'aad')).toThrow(/authentication tag/);
    expect(() => gcmDecrypt(ct, 'short', '0123456789ab', 'aad')).toThrow(/must be 32/);
  });
});

describe('sensitive fields (RSA-OAEP)', () => {
  it('interoperates with the plugin both ways', () => {
    expect(Rsa.decrypt(oaepEncrypt('张三', platform.publicKey), platform.privateKey)).toBe('张三');
    expect(oaepDecrypt(Rsa.encrypt('李四', platform.publicKey), platform.privateKey)).toBe('李四');
  });
});

describe('v2 signatures', () => {
  it.skipIf(!HAS_SHARED)('reproduces the published MD5 and HMAC-SHA256 example', () => {
    const v = JSON.parse(readFileSync(join(SHARED_DIR, 'vectors', 'wechatpay-v2-sign.json'), 'utf8'));
    expect(v2Sign(v.params, v.apiKey, 'MD5')).toBe(v.expectMD5);
    expect(v2Sign(v.params, v.apiKey, 'HMAC-SHA256')).toBe(v.expectHMACSHA256);
  });

  it('agrees with the plugin Hash.sign, drops empty fields and sign, sorts by byte order', () => {
    const fields = { mch_id: '10000100', appid: 'wxd930ea5d5a258f4f', body: '测试', nonce_str: 'n', empty: '', sign: 'X', Zeta: '1' };
    expect(v2SignString(fields)).toBe('Zeta=1&appid=wxd930ea5d5a258f4f&body=测试&mch_id=10000100&nonce_str=n');
    for (const type of ['MD5', 'HMAC-SHA256'] as const) expect(v2Sign(fields, 'k'.repeat(32), type)).toBe(Hash.sign(type, fields, 'k'.repeat(32)));
  });

  it('req_info: AES-256-ECB with md5(key); interoperates with the plugin and refuses a wrong key', () => {
    const apiKey = '192006250b4c09247ec02edce69f6a2d';
    const xml = '<root><out_refund_no><![CDATA[R1]]></out_refund_no></root>';
    const ours = encryptReqInfo(xml, apiKey);
    expect(Aes.AesEcb.decrypt(ours, Hash.md5(apiKey))).toBe(xml);
    expect(decryptReqInfo(Aes.AesEcb.encrypt(xml, Hash.md5(apiKey)), apiKey)).toBe(xml);
    expect(() => decryptReqInfo(ours, 'another-key-another-key-another-k')).toThrow();
    expect(() => decryptReqInfo('abc', apiKey)).toThrow(/AES blocks/);
  });
});

describe('keys and certificates', () => {
  const { dir, cleanup } = tempDir('pay-wx-keys-');
  afterAll(cleanup);
  let certPem = '';
  beforeAll(() => {
    certPem = buildCertificate({
      publicKey: platform.publicKey,
      signingKey: platform.privateKey,
      serial: 0xf1d2e3a4b5c6d7e8f9001122334455667788aabbn,
      subject: [['C', 'CN'], ['O', '财付通支付科技有限公司'], ['CN', 'Tenpay sandbox (test only)']],
      notBefore: NOW - 1000,
      notAfter: Date.UTC(2060, 0, 1),
    });
  });

  it('mints certificates openssl accepts, with the serial and validity asked for', () => {
    const path = join(dir, 'platform.pem');
    writeFileSync(path, certPem);
    const text = execFileSync('openssl', ['x509', '-in', path, '-noout', '-serial', '-dates', '-subject', '-nameopt', 'utf8']).toString();
    expect(text).toContain('serial=F1D2E3A4B5C6D7E8F9001122334455667788AABB');
    expect(text).toContain('notAfter=Jan  1 00:00:00 2060 GMT');
    expect(text).toContain('财付通支付科技有限公司');
    expect(execFileSync('openssl', ['verify', '-CAfile', path, path]).toString()).toContain('OK');
    const k = publicKeyFrom(certPem);
    expect(k).toMatchObject({ serial: 'F1D2E3A4B5C6D7E8F9001122334455667788AABB', kind: 'certificate', notAfter: Date.UTC(2060, 0, 1) });
  });

  it('reads keys as PEM or bare base64 (PKCS#8, PKCS#1, SPKI)', () => {
    const pkcs8 = privateKeyPem(merchant.privateKey);
    const pkcs1 = merchant.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const bare = pkcs8.replace(/-----[A-Z ]+-----|\s/g, '');
    for (const k of [pkcs8, pkcs1, bare]) expect(privateKeyFrom(k).asymmetricKeyDetails?.modulusLength).toBe(2048);
    const spki = publicKeyPem(platform.publicKey);
    expect(publicKeyFrom(spki, 'PUB_KEY_ID_1').serial).toBe('PUB_KEY_ID_1');
    expect(publicKeyFrom(spki.replace(/-----[A-Z ]+-----|\s/g, '')).kind).toBe('publicKey');
    expect(() => privateKeyFrom('not a key!')).toThrow();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => publicKeyFrom(publicKeyPem(ec.publicKey))).toThrow(/not RSA/);
  });
});

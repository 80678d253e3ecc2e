/**
 * WeChat Pay signature primitives, pure: keys, clock values and nonces are passed in.
 *
 * API v3 (SHA256withRSA, PKCS#1 v1.5, base64):
 * - the merchant signs each request: `METHOD\nURL-path-and-query\ntimestamp\nnonce\nbody\n`, sent
 *   as `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="",nonce_str="",signature="",timestamp="",serial_no=""`;
 * - WeChat Pay signs responses and notifications: `timestamp\nnonce\nbody\n`, sent in the
 *   `Wechatpay-Timestamp/Nonce/Signature/Serial` headers; the serial picks the key (a platform
 *   certificate's uppercase hex serial, or `PUB_KEY_ID_...` for the WeChat Pay public key);
 * - encrypted resources (notifications, platform certificates) are AEAD_AES_256_GCM with the
 *   APIv3 key: ciphertext = base64(ct || 16-byte tag), IV = the ASCII nonce, AAD = associated_data.
 *
 * API v2 (legacy XML): `k=v&...` of the non-empty fields except `sign`, sorted, `&key=<APIv2 key>`
 * appended; MD5 (uppercase hex) or HMAC-SHA256 keyed with the APIv2 key over that same string.
 * Refund notifications carry `req_info`: AES-256-ECB, PKCS#7, key = md5 hex (lowercase) of the key.
 *
 * Each verifier has a signer here, used by the simulator and the tests.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSign,
  constants,
  publicEncrypt,
  privateDecrypt,
  randomBytes,
  timingSafeEqual,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { readPrivateKey, readPublicKey } from '../../src/channel/pem.js';
import { verifyRsa, verifyRsaAsync } from '../../src/channel/rsa.js';

/** The only signature type WeChat Pay v3 uses (header `Wechatpay-Signature-Type`). */
export const SIGNATURE_TYPE = 'WECHATPAY2-SHA256-RSA2048';
/** Signatures starting with this are WeChat Pay's deliberate probes: they must never verify. */
export const PROBE_PREFIX = 'WECHATPAY/SIGNTEST/';
/** Serial prefix of the WeChat Pay public key (as opposed to a platform certificate serial). */
export const PUBLIC_KEY_ID_PREFIX = 'PUB_KEY_ID_';
/** Freshness window of v3 signatures, seconds: rejected when |now - timestamp| >= this. */
export const DEFAULT_TOLERANCE_SEC = 300;

const NONCE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A random nonce of [0-9A-Za-z] (32 characters by default), as the official SDKs make them. */
export function nonce(size = 32): string {
  let out = '';
  while (out.length < size) {
    // Bytes >= 248 (= 4 * 62) are dropped so every character is equally likely.
    for (const b of randomBytes(size)) if (b < 248 && out.length < size) out += NONCE_ALPHABET[b % 62];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Keys

/** Wraps bare base64 in PEM armour with 64-character lines. */
function armour(base64: string, label: string): string {
  const body = base64.replace(/\s+/g, '');
  return `-----BEGIN ${label}-----\n${body.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/**
 * Reads a private key given as PEM (PKCS#8 or PKCS#1) or bare base64 of PKCS#8/PKCS#1 DER, as
 * merchants receive `apiclient_key.pem`. Throws a plain Error (callers name the config field).
 */
export function privateKeyFrom(text: string | KeyObject): KeyObject {
  if (typeof text !== 'string') {
    if (text.type !== 'private') throw new Error('not a private key');
    return text;
  }
  return readPrivateKey(text);
}

/** A verification key and where it came from. */
export interface PlatformKey {
  /** Serial the key answers to (uppercase hex of a certificate, or `PUB_KEY_ID_...`); undefined: any. */
  serial?: string;
  key: KeyObject;
  /** Validity window of the certificate it came from, ms since the epoch. */
  notBefore?: number;
  notAfter?: number;
  /** `certificate` or `publicKey`, for messages. */
  kind: 'certificate' | 'publicKey';
}

/** Parses every certificate in a PEM text (one or a bundle). */
export function certificatesFrom(text: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)) out.push(new X509Certificate(m[0]));
  return out;
}

/** A platform key from an X.509 certificate (serial and validity taken from it). */
export function keyFromCertificate(cert: X509Certificate): PlatformKey {
  return {
    serial: normalizeSerial(cert.serialNumber),
    key: cert.publicKey,
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    kind: 'certificate',
  };
}

/**
 * Reads a public key given as a PEM public key (SPKI or PKCS#1), a PEM certificate, or bare
 * base64 of SPKI DER (how the WeChat Pay public key is often pasted). A certificate yields its
 * serial and validity.
 */
export function publicKeyFrom(text: string, serial?: string): PlatformKey {
  const t = text.trim();
  if (t.includes('-----BEGIN CERTIFICATE-----')) {
    // A certificate names its own serial; a configured serial beside it is not needed.
    const [cert] = certificatesFrom(t);
    return keyFromCertificate(cert);
  }
  const key = readPublicKey(t);
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`an ${key.asymmetricKeyType} key, not RSA`);
  return { serial: serial ? normalizeSerial(serial) : undefined, key, kind: 'publicKey' };
}

/** Uppercase, without a `0x` or leading zeros (certificate serials print with and without). */
export function normalizeSerial(serial: string): string {
  const s = serial.trim();
  if (s.toUpperCase().startsWith(PUBLIC_KEY_ID_PREFIX)) return s;
  return s.replace(/^0x/i, '').toUpperCase().replace(/^0+(?=.)/, '');
}

/** PEM of a public key (SPKI), e.g. to hand the WeChat Pay public key to a config. */
export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }) as string;
}

/** PEM of a private key (PKCS#8). */
export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export { armour as pemArmour };

// ---------------------------------------------------------------------------------------------
// v3 request signing (merchant -> WeChat Pay)

/** The string a merchant signs for a request. `url` is the path and query, as sent. */
export function requestMessage(method: string, url: string, timestamp: number | string, nonceStr: string, body: string | Buffer = ''): Buffer {
  return Buffer.concat([Buffer.from(`${method.toUpperCase()}\n${url}\n${timestamp}\n${nonceStr}\n`, 'utf8'), toBuffer(body), Buffer.from('\n')]);
}

/** The string WeChat Pay signs for a response or notification. */
export function responseMessage(timestamp: number | string, nonceStr: string, body: string | Buffer = ''): Buffer {
  // One allocation: this runs for every notification `pay verify` reads.
  const head = `${timestamp}\n${nonceStr}\n`;
  const bytes = toBuffer(body);
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + bytes.length + 1);
  out.write(head, 0, 'utf8');
  out.set(bytes, headLength);
  out[out.length - 1] = 0x0a;
  return out;
}

function toBuffer(b: string | Buffer): Buffer {
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
}

/** SHA256withRSA (PKCS#1 v1.5), base64. */
export function rsaSign(message: Buffer | string, privateKey: KeyObject): string {
  return createSign('sha256WithRSAEncryption').update(toBuffer(message)).sign(privateKey, 'base64');
}

/** Verifies a base64 SHA256withRSA signature; false (never a throw) for garbage input. */
export function rsaVerify(message: Buffer | string, signatureB64: string, publicKey: KeyObject): boolean {
  return verifyRsa('sha256', toBuffer(message), publicKey, signatureB64);
}

/** What goes into an Authorization header. */
export interface AuthorizationParams {
  mchId: string;
  serialNo: string;
  privateKey: KeyObject;
  method: string;
  /** Path and query exactly as sent (`/v3/pay/transactions/out-trade-no/P1?mchid=1900000109`). */
  url: string;
  body?: string | Buffer;
  /** Unix seconds. */
  timestamp: number;
  nonce: string;
}

/** Builds the `Authorization` header value for a v3 request. */
export function buildAuthorization(p: AuthorizationParams): string {
  const signature = rsaSign(requestMessage(p.method, p.url, p.timestamp, p.nonce, p.body ?? ''), p.privateKey);
  return `${SIGNATURE_TYPE} mchid="${p.mchId}",nonce_str="${p.nonce}",signature="${signature}",timestamp="${p.timestamp}",serial_no="${p.serialNo}"`;
}

/** The fields of an Authorization header. */
export interface ParsedAuthorization {
  mchid: string;
  nonce_str: string;
  signature: string;
  timestamp: string;
  serial_no: string;
}

/** Parses an Authorization header; undefined when it is not a v3 WECHATPAY2 header. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  if (!header) return undefined;
  const t = header.trim();
  if (!t.startsWith(`${SIGNATURE_TYPE} `)) return undefined;
  const out: Record<string, string> = {};
  // Values are quoted and never contain quotes (base64, digits, hex, [0-9A-Za-z]).
  for (const m of t.slice(SIGNATURE_TYPE.length + 1).matchAll(/\s*([a-z_]+)="([^"]*)"\s*(?:,|$)/g)) out[m[1]] = m[2];
  const need = ['mchid', 'nonce_str', 'signature', 'timestamp', 'serial_no'] as const;
  if (need.some((k) => out[k] === undefined)) return undefined;
  return out as unknown as ParsedAuthorization;
}

// ---------------------------------------------------------------------------------------------
// v3 response / notification signatures (WeChat Pay -> merchant)

/** Header names (lowercase) WeChat Pay signs with. */
export const H = {
  timestamp: 'wechatpay-timestamp',
  nonce: 'wechatpay-nonce',
  signature: 'wechatpay-signature',
  serial: 'wechatpay-serial',
  signatureType: 'wechatpay-signature-type',
} as const;

/** Signs a response or notification body: the Wechatpay-* headers (lowercase names). */
export function signResponse(p: { privateKey: KeyObject; serial: string; body: string | Buffer; timestamp: number; nonce?: string }): Record<string, string> {
  const n = p.nonce ?? nonce();
  return {
    [H.timestamp]: String(p.timestamp),
    [H.nonce]: n,
    [H.signature]: rsaSign(responseMessage(p.timestamp, n, p.body), p.privateKey),
    [H.serial]: p.serial,
    [H.signatureType]: SIGNATURE_TYPE,
  };
}

/** Why a v3 signature check failed (the verdict reason codes of the channel contract). */
export type V3Failure = 'MALFORMED' | 'PROBE' | 'UNKNOWN_KEY' | 'UNTRUSTED_CERT' | 'BAD_SIGNATURE' | 'EXPIRED' | 'MISSING_KEY';

/** Outcome of {@link verifyV3}. */
export type V3Check =
  | { ok: true; timestamp: number; serial: string; key: PlatformKey }
  | { ok: false; reason: V3Failure; message: string; serial?: string };

/** Keys the verifier may use. */
export interface Keyring {
  keys: PlatformKey[];
}

/**
 * Picks the key for a serial: an exact serial match, else a key configured without a serial
 * (a bare public key: the signature check still decides).
 */
export function selectKey(keyring: Keyring, serial: string): PlatformKey | undefined {
  const want = normalizeSerial(serial);
  return keyring.keys.find((k) => k.serial !== undefined && k.serial === want) ?? keyring.keys.find((k) => k.serial === undefined);
}

/** A v3 message whose headers passed, ready for the RSA check. */
interface V3Ready {
  ready: true;
  key: PlatformKey;
  message: Buffer;
  signature: string;
  timestamp: number;
  serial: string;
}

/**
 * Verifies the Wechatpay-* headers over `body` at moment `nowMs`. Order of checks: probe,
 * headers present, signature type, key, certificate validity, signature, freshness — so a
 * tampered old file says "bad signature" rather than "expired".
 */
export function verifyV3(headers: Record<string, string | undefined>, body: Buffer, keyring: Keyring, nowMs: number, toleranceSec = DEFAULT_TOLERANCE_SEC): V3Check {
  const r = prepareV3(headers, body, keyring, nowMs);
  return r.ready ? afterSignature(r, verifyRsa('sha256', r.message, r.key.key, r.signature), nowMs, toleranceSec) : r;
}

/** {@link verifyV3} for callbacks: the RSA check may run in another thread (src/channel/rsa.ts). */
export async function verifyV3Async(headers: Record<string, string | undefined>, body: Buffer, keyring: Keyring, nowMs: number, toleranceSec = DEFAULT_TOLERANCE_SEC): Promise<V3Check> {
  const r = prepareV3(headers, body, keyring, nowMs);
  return r.ready ? afterSignature(r, await verifyRsaAsync('sha256', r.message, r.key.key, r.signature), nowMs, toleranceSec) : r;
}

function prepareV3(headers: Record<string, string | undefined>, body: Buffer, keyring: Keyring, nowMs: number): (V3Check & { ready?: undefined }) | V3Ready {
  const signature = headers[H.signature]?.trim();
  const ts = headers[H.timestamp]?.trim();
  const n = headers[H.nonce]?.trim();
  const serial = headers[H.serial]?.trim();
  const type = headers[H.signatureType]?.trim();
  if (signature?.startsWith(PROBE_PREFIX)) {
    return { ok: false, reason: 'PROBE', message: 'this is a WeChat Pay signature probe (WECHATPAY/SIGNTEST/): it must fail verification by design', serial };
  }
  if (!signature || !ts || !n || !serial) {
    const missing = [!signature && 'Wechatpay-Signature', !ts && 'Wechatpay-Timestamp', !n && 'Wechatpay-Nonce', !serial && 'Wechatpay-Serial'].filter(Boolean);
    return { ok: false, reason: 'MALFORMED', message: `missing ${missing.join(', ')} header${missing.length > 1 ? 's' : ''}`, serial };
  }
  if (type && type !== SIGNATURE_TYPE) {
    return { ok: false, reason: 'MALFORMED', message: `Wechatpay-Signature-Type ${type.slice(0, 40)} is not ${SIGNATURE_TYPE}`, serial };
  }
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'MALFORMED', message: `Wechatpay-Timestamp "${ts.slice(0, 20)}" is not unix seconds`, serial };
  if (keyring.keys.length === 0) return { ok: false, reason: 'MISSING_KEY', message: 'no WeChat Pay platform certificate or public key is configured', serial };
  const key = selectKey(keyring, serial);
  if (!key) {
    const known = keyring.keys.map((k) => k.serial).filter(Boolean).join(', ');
    return { ok: false, reason: 'UNKNOWN_KEY', message: `Wechatpay-Serial ${serial} matches no configured key (configured: ${known || 'none'})`, serial };
  }
  if (key.notAfter !== undefined && nowMs > key.notAfter) {
    return { ok: false, reason: 'UNTRUSTED_CERT', message: `platform certificate ${key.serial} expired at ${new Date(key.notAfter).toISOString()}`, serial };
  }
  if (key.notBefore !== undefined && nowMs < key.notBefore) {
    return { ok: false, reason: 'UNTRUSTED_CERT', message: `platform certificate ${key.serial} is not valid before ${new Date(key.notBefore).toISOString()}`, serial };
  }
  return { ready: true, key, message: responseMessage(ts, n, body), signature, timestamp: Number(ts), serial };
}

function afterSignature(r: V3Ready, signatureOk: boolean, nowMs: number, toleranceSec: number): V3Check {
  if (!signatureOk) {
    return { ok: false, reason: 'BAD_SIGNATURE', message: `signature does not match the body (key ${r.key.serial ?? 'configured public key'})`, serial: r.serial };
  }
  const age = Math.floor(nowMs / 1000) - r.timestamp;
  if (Math.abs(age) >= toleranceSec) {
    return {
      ok: false,
      reason: 'EXPIRED',
      message: `Wechatpay-Timestamp is ${Math.abs(age)} s ${age >= 0 ? 'old' : 'in the future'} (tolerance ${toleranceSec} s); verify an old file with --at`,
      serial: r.serial,
    };
  }
  return { ok: true, timestamp: r.timestamp, serial: r.serial, key: r.key };
}

// ---------------------------------------------------------------------------------------------
// AEAD_AES_256_GCM resources

/** An encrypted resource as WeChat Pay sends it. */
export interface EncryptedResource {
  algorithm?: string;
  ciphertext: string;
  nonce: string;
  associated_data?: string;
  original_type?: string;
}

function gcmAlgorithm(key: Buffer): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  // Real APIv3 keys are 32 bytes; the published vector uses 16 (the cipher follows the key size).
  if (key.length === 32) return 'aes-256-gcm';
  if (key.length === 16) return 'aes-128-gcm';
  if (key.length === 24) return 'aes-192-gcm';
  throw new Error(`the APIv3 key is ${key.length} bytes; it must be 32`);
}

/** Encrypts a resource (the simulator and tests use it). Returns base64(ct || tag). */
export function gcmEncrypt(plaintext: string | Buffer, apiV3Key: string | Buffer, nonceStr: string, aad = ''): string {
  const key = typeof apiV3Key === 'string' ? Buffer.from(apiV3Key, 'utf8') : apiV3Key;
  const cipher = createCipheriv(gcmAlgorithm(key), key, Buffer.from(nonceStr, 'utf8'));
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  return Buffer.concat([cipher.update(toBuffer(plaintext)), cipher.final(), cipher.getAuthTag()]).toString('base64');
}

/**
 * Decrypts a resource; throws a plain Error (with no key material) when the tag does not verify:
 * a wrong APIv3 key or a tampered ciphertext.
 */
export function gcmDecrypt(ciphertextB64: string, apiV3Key: string | Buffer, nonceStr: string, aad = ''): Buffer {
  const key = typeof apiV3Key === 'string' ? Buffer.from(apiV3Key, 'utf8') : apiV3Key;
  const buf = Buffer.from(ciphertextB64, 'base64');
  if (buf.length < 17) throw new Error('ciphertext is shorter than its 16-byte tag');
  const decipher = createDecipheriv(gcmAlgorithm(key), key, Buffer.from(nonceStr, 'utf8'));
  decipher.setAuthTag(buf.subarray(buf.length - 16));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  try {
    const plain = decipher.update(buf.subarray(0, buf.length - 16));
    // GCM is a stream mode: final() only checks the tag and adds no bytes, so no concat (a copy).
    const rest = decipher.final();
    return rest.length ? Buffer.concat([plain, rest]) : plain;
  } catch {
    throw new Error('authentication tag does not verify (wrong APIv3 key, or the resource was altered)');
  }
}

/** Encrypts a resource object into WeChat Pay's resource shape. */
export function encryptResource(plaintext: string, apiV3Key: string, originalType: string, aad = originalType, nonceStr = nonce(12)): Required<EncryptedResource> {
  return { original_type: originalType, algorithm: 'AEAD_AES_256_GCM', ciphertext: gcmEncrypt(plaintext, apiV3Key, nonceStr, aad), associated_data: aad, nonce: nonceStr };
}

// ---------------------------------------------------------------------------------------------
// Sensitive fields (RSA-OAEP with the platform key), e.g. a payee's name in a transfer

/** Encrypts a sensitive field for WeChat Pay (RSA-OAEP, SHA-1, base64). */
export function oaepEncrypt(plaintext: string, publicKey: KeyObject): string {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from(plaintext, 'utf8')).toString('base64');
}

/** Decrypts a sensitive field (the simulator uses it). */
export function oaepDecrypt(ciphertextB64: string, privateKey: KeyObject): string {
  return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from(ciphertextB64, 'base64')).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// v2 (legacy XML)

/** v2 sign types. */
export type V2SignType = 'MD5' | 'HMAC-SHA256';

/** The v2 string to sign: non-empty fields except `sign`, sorted by key (byte order), `k=v&...`. */
export function v2SignString(fields: Record<string, string | undefined>): string {
  return Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== undefined && fields[k] !== '')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
}

/** Computes a v2 signature (uppercase hex). */
export function v2Sign(fields: Record<string, string | undefined>, apiKey: string, type: V2SignType = 'MD5'): string {
  const text = `${v2SignString(fields)}&key=${apiKey}`;
  const digest = type === 'MD5' ? createHash('md5').update(text, 'utf8') : createHmac('sha256', apiKey).update(text, 'utf8');
  return digest.digest('hex').toUpperCase();
}

/** Constant-time comparison of two hex signatures, case-insensitive. */
export function hexEquals(a: string, b: string): boolean {
  const x = Buffer.from(a.toUpperCase(), 'utf8');
  const y = Buffer.from(b.toUpperCase(), 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The AES-256-ECB key of refund notifications: lowercase md5 hex of the APIv2 key (32 bytes). */
function reqInfoKey(apiKey: string): Buffer {
  return Buffer.from(createHash('md5').update(apiKey, 'utf8').digest('hex'), 'utf8');
}

/** Encrypts a refund notification's `req_info` (the signer side, for tests). */
export function encryptReqInfo(plaintext: string, apiKey: string): string {
  const cipher = createCipheriv('aes-256-ecb', reqInfoKey(apiKey), null);
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

/** Decrypts `req_info`; throws a plain Error when the padding is wrong (wrong key, damaged data). */
export function decryptReqInfo(ciphertextB64: string, apiKey: string): string {
  const buf = Buffer.from(ciphertextB64, 'base64');
  if (buf.length === 0 || buf.length % 16 !== 0) throw new Error('req_info is not a whole number of AES blocks');
  const decipher = createDecipheriv('aes-256-ecb', reqInfoKey(apiKey), null);
  try {
    return Buffer.concat([decipher.update(buf), decipher.final()]).toString('utf8');
  } catch {
    throw new Error('req_info does not decrypt (wrong APIv2 key, or the data was altered)');
  }
}

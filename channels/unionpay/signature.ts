/**
 * UnionPay (China UnionPay online gateway, "ACP") signatures. Pure: keys, certificates and the
 * moment of verification are passed in.
 *
 * String to sign: every field except `signature` (empty values included), sorted by name, joined
 * as `k=v&k=v`, in the message's charset.
 * - Version 5.1.0, signMethod 01: hex = lowercase hex SHA-256 of the string; signature = base64 of
 *   SHA256withRSA over the ASCII hex. The signer's certificate travels in `signPubKeyCert` (answers
 *   and notifications) and must chain to the configured middle and root certificates, be valid at
 *   the moment of verification, and carry `中国银联股份有限公司` as the third `@` field of its CN.
 *   Merchants name their key with `certId`, the sign certificate's decimal serial number.
 * - Version 5.0.0, signMethod 01: SHA-1 in both steps; the verifying certificate is chosen by
 *   `certId` among locally configured UnionPay certificates.
 * - signMethod 11: signature = sha256hex(string + "&" + sha256hex(secureKey)).
 */
import { createHash, createSign, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';
import { verifyRsa as verifyRsaBytes, verifyRsaAsync as verifyRsaBytesAsync } from '../../src/channel/rsa.js';
import { sortedOrder, type NamesMemo } from '../../src/core/field-names.js';
import { encodeText, type Charset } from './form.js';

/** Gateway versions pay speaks. */
export type UnionPayVersion = '5.1.0' | '5.0.0';
/** Signature methods pay speaks: RSA certificates (01) or the shared secure key (11). */
export type SignMethod = '01' | '11';

/** The third `@` field of the CN that UnionPay's signing certificates carry. */
export const UNIONPAY_CN_COMPANY = '中国银联股份有限公司';

/** A merchant's RSA signing identity. */
export interface RsaSigner {
  privateKey: KeyObject;
  /** Decimal serial number of the sign certificate. */
  certId: string;
}

/** How to sign a request. */
export interface SignOptions {
  version: UnionPayVersion;
  signMethod: SignMethod;
  charset: Charset;
  /** For signMethod 01. */
  signer?: RsaSigner;
  /** For signMethod 11. */
  secureKey?: string;
}

// The signing order of the last list of names (a run's notifications repeat it).
const signingOrder: NamesMemo = {};

/** The string to sign: fields except `signature`, sorted by name (byte order), `k=v` joined by `&`. */
export function signingString(fields: Record<string, string>): string {
  const names = Object.keys(fields);
  let out = '';
  for (const i of sortedOrder(signingOrder, names)) {
    const k = names[i];
    if (k !== 'signature') out += `${out ? '&' : ''}${k}=${fields[k]}`;
  }
  return out;
}

const digestOf = (version: UnionPayVersion): 'sha256' | 'sha1' => (version === '5.0.0' ? 'sha1' : 'sha256');

/** Lowercase hex digest of the string to sign, in the message's charset. */
export function signingDigestHex(fields: Record<string, string>, version: UnionPayVersion, charset: Charset): string {
  const text = signingString(fields);
  // UTF-8 text goes to the hash as is: no intermediate Buffer of a few kilobytes per message.
  const hash = createHash(digestOf(version));
  return (charset === 'utf-8' ? hash.update(text, 'utf8') : hash.update(encodeText(text, charset))).digest('hex');
}

function secureKeySignature(fields: Record<string, string>, secureKey: string, charset: Charset): string {
  const keyHex = createHash('sha256').update(encodeText(secureKey, charset)).digest('hex');
  return createHash('sha256')
    .update(encodeText(`${signingString(fields)}&${keyHex}`, charset))
    .digest('hex');
}

/**
 * Returns `fields` with `version`, `signMethod`, `certId` (RSA) and `signature` set. Blank values
 * are dropped first, as the official SDKs do before signing a request.
 */
export function signFields(fields: Record<string, string>, options: SignOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null && String(v).trim() !== '' && k !== 'signature') out[k] = String(v);
  out.version = options.version;
  out.signMethod = options.signMethod;
  if (options.signMethod === '11') {
    if (!options.secureKey) throw new Error('signMethod 11 needs a secure key');
    delete out.certId;
    out.signature = secureKeySignature(out, options.secureKey, options.charset);
    return out;
  }
  if (!options.signer) throw new Error('signMethod 01 needs a private key and certId');
  out.certId = options.signer.certId;
  const hex = signingDigestHex(out, options.version, options.charset);
  out.signature = createSign(digestOf(options.version) === 'sha1' ? 'RSA-SHA1' : 'RSA-SHA256')
    .update(Buffer.from(hex, 'latin1'))
    .sign(options.signer.privateKey, 'base64');
  return out;
}

/** Signs answers and notifications the way UnionPay does (5.1.0: with `signPubKeyCert`). */
export function signAsUnionPay(fields: Record<string, string>, key: KeyObject, certPem: string, charset: Charset = 'utf-8'): Record<string, string> {
  const out: Record<string, string> = { ...fields, version: fields.version ?? '5.1.0', signMethod: '01', signPubKeyCert: certPem };
  delete out.signature;
  delete out.certId;
  const hex = signingDigestHex(out, '5.1.0', charset);
  out.signature = createSign('RSA-SHA256').update(Buffer.from(hex, 'latin1')).sign(key, 'base64');
  return out;
}

/** Checks an RSA (signMethod 01) signature with `publicKey`. */
export function verifyRsa(fields: Record<string, string>, publicKey: KeyObject, version: UnionPayVersion, charset: Charset): boolean {
  const c = rsaCheckOf(fields, version, charset);
  return c !== undefined && verifyRsaBytes(c.digest, c.text, publicKey, c.signature, c.digest);
}

/**
 * {@link verifyRsa} for callbacks: the RSA check may run in another thread (src/channel/rsa.ts).
 * The signed text goes as it is: the digest step runs with the RSA check, not here.
 */
export async function verifyRsaAsync(fields: Record<string, string>, publicKey: KeyObject, version: UnionPayVersion, charset: Charset): Promise<boolean> {
  const c = rsaCheckOf(fields, version, charset);
  return c !== undefined && (await verifyRsaBytesAsync(c.digest, c.text, publicKey, c.signature, c.digest));
}

/** What an RSA check takes: the digest (both steps), the signed text's bytes, the signature; undefined without one. */
function rsaCheckOf(fields: Record<string, string>, version: UnionPayVersion, charset: Charset): { digest: 'sha256' | 'sha1'; text: Buffer; signature: string } | undefined {
  const signature = fields.signature?.replace(/\s+/g, '');
  return signature ? { digest: digestOf(version), text: encodeText(signingString(fields), charset), signature } : undefined;
}

/** Checks a signMethod 11 signature in constant time. */
export function verifySecureKey(fields: Record<string, string>, secureKey: string, charset: Charset): boolean {
  const sig = fields.signature ?? '';
  if (!/^[0-9a-fA-F]{64}$/.test(sig)) return false;
  const expected = Buffer.from(secureKeySignature(fields, secureKey, charset), 'hex');
  return timingSafeEqual(Buffer.from(sig.toLowerCase(), 'hex'), expected);
}

/** The decimal serial number of a certificate (UnionPay's `certId`). */
export function certIdOf(cert: X509Certificate): string {
  return BigInt(`0x${cert.serialNumber}`).toString(10);
}

/** The CN of a certificate's subject, if any. */
export function commonName(cert: X509Certificate): string | undefined {
  for (const line of cert.subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return undefined;
}

/** The company field of a UnionPay signing certificate's CN (`041@...@<company>@...`). */
export function unionPayCnCompany(cert: X509Certificate): string | undefined {
  const cn = commonName(cert);
  const parts = cn?.split('@');
  return parts && parts.length > 2 ? parts[2] : undefined;
}

/** Outcome of {@link checkSignPubKeyCert}. */
export type CertCheck =
  | { ok: true; cert: X509Certificate }
  | { ok: false; reason: 'MALFORMED' | 'EXPIRED' | 'UNTRUSTED_CERT'; message: string };

function within(cert: X509Certificate, at: number): 'ok' | 'early' | 'late' {
  if (at < Date.parse(cert.validFrom)) return 'early';
  if (at > Date.parse(cert.validTo)) return 'late';
  return 'ok';
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/**
 * Decides whether the certificate UnionPay sent (`signPubKeyCert`) may be trusted at moment `at`:
 * valid then, issued by one of `middle`, which is a CA valid then and issued by one of `root`,
 * and (unless `checkCn` is false) a UnionPay certificate by its CN.
 */
export function checkSignPubKeyCert(pem: string, trust: { middle: X509Certificate[]; root: X509Certificate[]; at: number; checkCn?: boolean }): CertCheck {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return { ok: false, reason: 'MALFORMED', message: 'signPubKeyCert is not a readable certificate' };
  }
  const when = new Date(trust.at).toISOString();
  const w = within(cert, trust.at);
  if (w !== 'ok') {
    return {
      ok: false,
      reason: 'EXPIRED',
      message: w === 'late' ? `the signing certificate expired on ${new Date(cert.validTo).toISOString()} (checked at ${when}; verify an old file with --at)` : `the signing certificate is not valid before ${new Date(cert.validFrom).toISOString()} (checked at ${when})`,
    };
  }
  const middle = trust.middle.find((m) => issuedBy(cert, m));
  if (!middle) return { ok: false, reason: 'UNTRUSTED_CERT', message: 'the signing certificate was not issued by the configured middle certificate' };
  if (!middle.ca) return { ok: false, reason: 'UNTRUSTED_CERT', message: 'the configured middle certificate is not a CA certificate' };
  if (within(middle, trust.at) !== 'ok') return { ok: false, reason: 'EXPIRED', message: `the middle certificate is not valid at ${when}` };
  const root = trust.root.find((r) => issuedBy(middle, r));
  if (!root) return { ok: false, reason: 'UNTRUSTED_CERT', message: 'the middle certificate was not issued by the configured root certificate' };
  if (within(root, trust.at) !== 'ok') return { ok: false, reason: 'EXPIRED', message: `the root certificate is not valid at ${when}` };
  if (trust.checkCn !== false) {
    const company = unionPayCnCompany(cert);
    if (company !== UNIONPAY_CN_COMPANY) {
      return { ok: false, reason: 'UNTRUSTED_CERT', message: `the signing certificate's CN does not name ${UNIONPAY_CN_COMPANY} (found "${commonName(cert) ?? ''}")` };
    }
  }
  return { ok: true, cert };
}

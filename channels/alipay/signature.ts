/**
 * Alipay's signature scheme (RSA2 = SHA256withRSA, RSA = SHA1withRSA, PKCS#1 v1.5), pure: keys
 * are passed in, nothing reads a clock or a file.
 *
 * - Requests and notifications sign the parameters: drop `sign` (and `sign_type` where the
 *   variant says so), sort the keys by byte order, join `k=v` with `&`, encode in the message's
 *   charset. Values are used once form-decoded (never decoded twice: a literal `%` survives).
 * - Synchronous responses sign the raw JSON text of the `<method>_response` member, byte for
 *   byte; `sign` (and in certificate mode `alipay_cert_sn`) sit beside it.
 *
 * Every verifier here has its signer, used by the simulator and the tests.
 */
import { createSign, type KeyObject } from 'node:crypto';
import { verifyRsa, verifyRsaAsync, type RsaDigest } from '../../src/channel/rsa.js';
import { readPrivateKey, readPublicKey } from '../../src/channel/pem.js';
import { sortedOrder, type NamesMemo } from '../../src/core/field-names.js';

/** `sign_type` values. RSA (SHA-1) is legacy; new apps use RSA2. */
export type AlipaySignType = 'RSA2' | 'RSA';

const DIGEST: Record<AlipaySignType, RsaDigest> = { RSA2: 'sha256', RSA: 'sha1' };

/** True for a `sign_type` pay can verify. */
export function isSignType(v: unknown): v is AlipaySignType {
  return v === 'RSA2' || v === 'RSA';
}

/**
 * Loads an RSA private key: PEM (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`) or the bare
 * base64 Alipay's key tool prints (PKCS#8 or PKCS#1 DER). Throws a message-free Error on failure
 * (callers name the config field; the key text never reaches a message).
 */
export function loadPrivateKey(text: string): KeyObject {
  return rsaOnly(text, readPrivateKey, 'not an RSA private key');
}

/**
 * Loads an RSA public key: PEM `PUBLIC KEY`/`RSA PUBLIC KEY`, a PEM certificate (its key), or
 * bare base64 SPKI as Alipay's console shows it.
 */
export function loadPublicKey(text: string): KeyObject {
  return rsaOnly(text, readPublicKey, 'not an RSA public key');
}

function rsaOnly(text: string, read: (text: string) => KeyObject, message: string): KeyObject {
  let key: KeyObject | undefined;
  try {
    key = read(text);
  } catch {
    key = undefined;
  }
  if (!key || key.asymmetricKeyType !== 'rsa') throw new Error(message);
  return key;
}

/** Signs `content` (bytes, or a string taken as UTF-8); returns base64. */
export function signContent(content: Buffer | string, key: KeyObject, signType: AlipaySignType = 'RSA2'): string {
  return createSign(DIGEST[signType]).update(content).sign(key, 'base64');
}

/** Verifies a base64 signature over `content`. A malformed signature is simply false. */
export function verifyContent(content: Buffer | string, signature: string, key: KeyObject, signType: AlipaySignType = 'RSA2'): boolean {
  return verifyRsa(DIGEST[signType], typeof content === 'string' ? Buffer.from(content, 'utf8') : content, key, signature);
}

/** One form field: the key as text, the value as the bytes it decodes to (in its charset). */
export interface FormField {
  key: string;
  value: Buffer;
  /**
   * The value as text when {@link parseForm} found it plain ASCII (nothing percent-encoded), so
   * it reads the same in any charset and needs no decoder; absent otherwise.
   */
  text?: string;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Decodes one form component to bytes: `+` is a space, `%XX` a byte; a stray `%` stays as is. */
export function percentDecode(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x2b) out[n++] = 0x20;
    else if (c === 0x25 && i + 2 < bytes.length && hexVal(bytes[i + 1]) >= 0 && hexVal(bytes[i + 2]) >= 0) {
      out[n++] = hexVal(bytes[i + 1]) * 16 + hexVal(bytes[i + 2]);
      i += 2;
    } else out[n++] = c;
  }
  return out.subarray(0, n);
}

/**
 * A field of a parsed body. Its bytes are cut out (and percent-decoded) only when asked for: a
 * plain ASCII value is read as {@link FormField.text} alone, and a Buffer view per field costs
 * more than the rest of a notify's parsing.
 */
class BodyField implements FormField {
  private bytes: Buffer | undefined;

  constructor(
    readonly key: string,
    readonly text: string | undefined,
    private readonly src: Buffer,
    private readonly start: number,
    private readonly end: number,
    private readonly coded: boolean,
  ) {}

  get value(): Buffer {
    this.bytes ??= this.coded ? percentDecode(this.src.subarray(this.start, this.end)) : this.src.subarray(this.start, this.end);
    return this.bytes;
  }
}

/**
 * Splits an `application/x-www-form-urlencoded` body (or a query string) into fields, decoding
 * each component exactly once, to bytes. Keys are ASCII in every Alipay message. The fields view
 * `body`, which must not change while they are in use.
 */
export function parseForm(body: Buffer | string): FormField[] {
  const buf = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  // One pass in JS over the bytes and one conversion of the whole body to text: per-field
  // Buffer calls (indexOf, toString) cost more than the rest of a notify's parsing.
  const text = buf.toString('latin1');
  const fields: FormField[] = [];
  const n = buf.length;
  let start = 0;
  let eq = -1;
  let keyCoded = false;
  let valueCoded = false;
  let valueAscii = true;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 0x26 : buf[i];
    if (c === 0x26) {
      if (i > start) {
        const keyEnd = eq < 0 ? i : eq;
        const key = keyCoded ? percentDecode(buf.subarray(start, keyEnd)).toString('latin1') : text.slice(start, keyEnd);
        if (eq < 0) fields.push(new BodyField(key, '', buf, i, i, false));
        else fields.push(new BodyField(key, valueCoded || !valueAscii ? undefined : text.slice(eq + 1, i), buf, eq + 1, i, valueCoded));
      }
      start = i + 1;
      eq = -1;
      keyCoded = valueCoded = false;
      valueAscii = true;
    } else if (c === 0x3d && eq < 0) eq = i;
    else if (c === 0x25 || c === 0x2b) {
      if (eq < 0) keyCoded = true;
      else valueCoded = true;
    } else if (c >= 0x80 && eq >= 0) valueAscii = false;
  }
  return fields;
}

// The signing order of the last list of keys, with and without sign_type.
const withSignType: NamesMemo = {};
const withoutSignType: NamesMemo = {};

/** Byte order of UTF-8 keys; for ASCII (every real key) plain code-unit order is the same. */
function byteOrder(a: string, b: string): number {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(a) && /^[\x00-\x7f]*$/.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The bytes a parameter signature covers: every field except `sign` (and `sign_type` unless
 * `keepSignType`), sorted by key in byte order, `k=v` joined by `&`. Values stay in their charset;
 * empty values are kept.
 */
export function signedBytes(fields: readonly FormField[], keepSignType: boolean): Buffer {
  const unsorted = fields.filter((f) => f.key !== 'sign' && (keepSignType || f.key !== 'sign_type'));
  // Byte order (code-unit order for ASCII keys, which every real one is); the order found for the
  // last list of keys is reused when the next list is the same (a run's notifications).
  const order = sortedOrder(keepSignType ? withSignType : withoutSignType, unsorted.map((f) => f.key), byteOrder);
  const kept = order.map((i) => unsorted[i]);
  let size = 0;
  for (const f of kept) size += f.key.length + (f.text !== undefined ? f.text.length : f.value.length) + 2;
  const out = Buffer.allocUnsafe(Math.max(0, size - 1));
  let n = 0;
  // Plain JS copies: a Buffer write/copy call per field costs more than the bytes it moves.
  for (let i = 0; i < kept.length; i++) {
    const { key, text } = kept[i];
    if (i) out[n++] = 0x26;
    // Latin-1, as Buffer#write(key, 'latin1') would: the low byte of each code unit.
    for (let j = 0; j < key.length; j++) out[n++] = key.charCodeAt(j) & 0xff;
    out[n++] = 0x3d;
    if (text !== undefined) {
      // Plain ASCII: the text is the bytes.
      for (let j = 0; j < text.length; j++) out[n++] = text.charCodeAt(j) & 0xff;
    } else {
      const { value } = kept[i];
      out.set(value, n);
      n += value.length;
    }
  }
  return out.subarray(0, n);
}

/** A string encoder for a charset (UTF-8 by default; GBK callers pass iconv-lite's). */
export type Encoder = (text: string) => Buffer;
const utf8: Encoder = (t) => Buffer.from(t, 'utf8');

/** Fields of a plain parameter map, encoded with `encode`. */
export function fieldsOf(params: Record<string, string>, encode: Encoder = utf8): FormField[] {
  return Object.entries(params).map(([key, value]) => ({ key, value: encode(value) }));
}

/**
 * Signs request parameters (the gateway checks them with `sign_type` kept: requests always
 * include it in the signed string).
 */
export function signParams(params: Record<string, string>, key: KeyObject, signType: AlipaySignType = 'RSA2', encode: Encoder = utf8): string {
  return signContent(signedBytes(fieldsOf(params, encode), true), key, signType);
}

/** Outcome of {@link verifyFields}. */
export interface FieldsCheck {
  ok: boolean;
  /** Which variant matched: trade notifies are signed without `sign_type`, others with it. */
  signTypeSigned?: boolean;
}

/**
 * Verifies a notification or return-URL signature: first without `sign_type` in the signed
 * string, then with it (the official SDKs accept both).
 */
export async function verifyFields(fields: readonly FormField[], signature: string, key: KeyObject, signType: AlipaySignType = 'RSA2'): Promise<FieldsCheck> {
  const check = (withSignType: boolean) => verifyRsaAsync(DIGEST[signType], signedBytes(fields, withSignType), key, signature);
  if (await check(false)) return { ok: true, signTypeSigned: false };
  if (fields.some((f) => f.key === 'sign_type') && (await check(true))) return { ok: true, signTypeSigned: true };
  return { ok: false };
}

/** Percent-encodes bytes for a form body (unreserved characters kept, space as `+`). */
export function formEncodeBytes(bytes: Buffer): string {
  let out = '';
  for (const c of bytes) {
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x2a) {
      out += String.fromCharCode(c);
    } else if (c === 0x20) out += '+';
    else out += `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Encodes fields as a form body (or query string). */
export function encodeForm(fields: readonly FormField[]): string {
  return fields.map((f) => `${formEncodeBytes(Buffer.from(f.key, 'latin1'))}=${formEncodeBytes(f.value)}`).join('&');
}

// ---------------------------------------------------------------------------------------------
// Synchronous responses

/** The members of a gateway answer that matter for its signature. */
export interface ResponseParts {
  /** The member name (`alipay_trade_query_response` or `error_response`). */
  member: string;
  /** Its raw JSON text, exactly as received. */
  content: string;
  sign?: string;
  /** Certificate mode: the SN of the certificate whose key signed the answer. */
  certSn?: string;
}

/** Span of one top-level member value in a JSON text. */
interface Span {
  start: number;
  end: number;
}

function skipWs(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i++;
  return i;
}

function skipString(s: string, i: number): number {
  // s[i] is the opening quote.
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '"') return j + 1;
  }
  throw new Error('unterminated string');
}

function skipValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return skipString(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s[j];
      if (d === '"') j = skipString(s, j) - 1;
      else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new Error('unterminated value');
  }
  let j = i;
  while (j < s.length && !/[,}\]\s]/.test(s[j])) j++;
  if (j === i) throw new Error('missing value');
  return j;
}

/**
 * The raw text spans of a JSON object's top-level members, found by scanning (never by
 * re-serialising): the signed content is the received text itself.
 */
export function topLevelMembers(text: string): Map<string, Span> {
  const out = new Map<string, Span>();
  let i = skipWs(text, 0);
  if (text[i] !== '{') throw new Error('not a JSON object');
  i = skipWs(text, i + 1);
  if (text[i] === '}') return out;
  for (;;) {
    if (text[i] !== '"') throw new Error('expected a member name');
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (text[i] !== ':') throw new Error('expected ":"');
    i = skipWs(text, i + 1);
    const end = skipValue(text, i);
    out.set(key, { start: i, end });
    i = skipWs(text, end);
    if (text[i] === ',') {
      i = skipWs(text, i + 1);
      continue;
    }
    if (text[i] === '}') break;
    throw new Error('expected "," or "}"');
  }
  if (skipWs(text, i + 1) !== text.length) throw new Error('text after the JSON object');
  return out;
}

/** The response member name of a gateway method (`alipay.trade.query` -> `alipay_trade_query_response`). */
export function responseMember(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

/**
 * Picks the signed parts of a gateway answer. With `method`, looks for its member (or
 * `error_response`); without, takes the one member ending in `_response`. Throws a plain Error
 * for text that is not such an answer.
 */
export function extractResponse(text: string, method?: string): ResponseParts {
  const members = topLevelMembers(text);
  let member: string | undefined;
  if (method && members.has(responseMember(method))) member = responseMember(method);
  else if (members.has('error_response')) member = 'error_response';
  else if (!method) {
    const candidates = [...members.keys()].filter((k) => k.endsWith('_response'));
    if (candidates.length === 1) member = candidates[0];
  }
  if (!member) throw new Error(method ? `no ${responseMember(method)} member` : 'no *_response member');
  const span = members.get(member)!;
  const str = (k: string): string | undefined => {
    const s = members.get(k);
    if (!s) return undefined;
    const v = JSON.parse(text.slice(s.start, s.end)) as unknown;
    return typeof v === 'string' ? v : undefined;
  };
  return { member, content: text.slice(span.start, span.end), sign: str('sign'), certSn: str('alipay_cert_sn') };
}

/** Verifies the signature of a gateway answer over its raw member text (UTF-8). */
export function verifyResponse(parts: ResponseParts, key: KeyObject, signType: AlipaySignType = 'RSA2'): boolean {
  return parts.sign !== undefined && verifyContent(Buffer.from(parts.content, 'utf8'), parts.sign, key, signType);
}

/**
 * Builds a signed gateway answer, as Alipay lays it out:
 * `{"<member>":<content>,"alipay_cert_sn":"...","sign":"..."}` (cert SN only in certificate mode).
 */
export function signResponse(member: string, content: string, key: KeyObject, options: { signType?: AlipaySignType; certSn?: string } = {}): string {
  const sign = signContent(Buffer.from(content, 'utf8'), key, options.signType ?? 'RSA2');
  const sn = options.certSn ? `,"alipay_cert_sn":${JSON.stringify(options.certSn)}` : '';
  return `{${JSON.stringify(member)}:${content}${sn},"sign":${JSON.stringify(sign)}}`;
}

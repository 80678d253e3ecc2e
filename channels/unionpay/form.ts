/**
 * UnionPay's message shapes on the wire:
 * - requests and back notifications are `application/x-www-form-urlencoded`, in the charset the
 *   `encoding` field names (UTF-8 or GBK);
 * - synchronous answers are a raw `k=v&k=v` string that is NOT URL-encoded (values such as the
 *   PEM in `signPubKeyCert` or a base64 `signature` appear as they are; a value that starts with
 *   `{` or `[` runs to its matching bracket and may contain `&` and `=`).
 * The web collect is an HTML form that the payer's browser submits to the gateway.
 */
import { createRequire } from 'node:module';
import { firstRepeat } from '../../src/core/field-names.js';

/** An ordered list of fields as they came (duplicates kept, so callers can refuse them). */
export type Fields = Array<[string, string]>;

/** Charsets UnionPay uses; anything else is refused. */
export type Charset = 'utf-8' | 'gbk' | 'gb18030';

const requireCjs = createRequire(import.meta.url);
type IconvLite = { encode(text: string, charset: string): Buffer };
let iconv: IconvLite | undefined;

/** Normalises the `encoding` field's value; undefined when unknown. */
export function charsetOf(encoding: string | undefined): Charset | undefined {
  const e = (encoding ?? 'utf-8').trim().toLowerCase().replace(/_/g, '-');
  if (e === 'utf-8' || e === 'utf8') return 'utf-8';
  if (e === 'gbk' || e === 'gb2312' || e === 'cp936') return 'gbk';
  if (e === 'gb18030') return 'gb18030';
  return undefined;
}

/** Text to bytes in `charset` (GBK through iconv-lite, loaded only when a GBK message appears). */
export function encodeText(text: string, charset: Charset): Buffer {
  if (charset === 'utf-8') return Buffer.from(text, 'utf8');
  iconv ??= requireCjs('iconv-lite') as IconvLite;
  return iconv.encode(text, charset);
}

/** Bytes to text in `charset`, refusing invalid sequences. */
export function decodeText(bytes: Buffer, charset: Charset): string {
  return new TextDecoder(charset, { fatal: true }).decode(bytes);
}

function percentDecode(s: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) bytes.push(0x20);
    else if (c === 0x25) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Error(`bad percent escape "%${hex}"`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c > 0xff) throw new Error('non-ASCII byte in a form body');
    else bytes.push(c);
  }
  return Buffer.from(bytes);
}

// eslint-disable-next-line no-control-regex
const NEEDS_DECODING = /[%+\x80-\xff]/;

// The last long value of each field decoded, and what it decoded to: every notification of a run
// carries the same signing certificate (`signPubKeyCert`, over a kilobyte percent-encoded), so
// comparing with the last one costs less than decoding it again.
const lastLong = new Map<string, { raw: string; charset: Charset; decoded: string }>();

/** One form value, decoded exactly once in `charset`. */
function decodeValue(key: string, raw: string, charset: Charset): string {
  // Most values (ids, codes, amounts) have nothing to decode and read the same in every charset.
  if (!NEEDS_DECODING.test(raw)) return raw;
  if (raw.length >= 256) {
    const last = lastLong.get(key);
    if (last && last.raw === raw && last.charset === charset) return last.decoded;
    const decoded = decodeCoded(key, raw, charset);
    if (lastLong.size >= 64 && !last) lastLong.clear();
    lastLong.set(key, { raw, charset, decoded });
    return decoded;
  }
  return decodeCoded(key, raw, charset);
}

function decodeCoded(key: string, raw: string, charset: Charset): string {
  // The native decoder is the hot path (every notification); raw non-ASCII bytes need the byte decoder.
  if (charset === 'utf-8' && !/[\x80-\xff]/.test(raw)) {
    try {
      return decodeURIComponent(raw.includes('+') ? raw.replace(/\+/g, ' ') : raw);
    } catch {
      /* fall through to the byte decoder for the precise error */
    }
  }
  try {
    return decodeText(percentDecode(raw), charset);
  } catch (err) {
    if ((err as Error).message.startsWith('bad percent') || (err as Error).message.startsWith('non-ASCII')) throw err;
    throw new Error(`field ${key} is not valid ${charset}`);
  }
}

/** Result of {@link parseForm}. */
export interface ParsedForm {
  fields: Fields;
  charset: Charset;
}

/** Result of {@link parseFormRecord}. */
export interface ParsedFormRecord {
  record: Record<string, string>;
  charset: Charset;
  /** The first field name that came twice (the record keeps its last value). */
  duplicate?: string;
}

/** True for a field name, `[A-Za-z0-9_.-]+`, checked by hand: faster than a regular expression on a short name. */
function isFieldName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2e || c === 0x2d)) return false;
  }
  return true;
}

/**
 * The fields of a form body as they came: names checked (and percent-decoded when they need it),
 * values still encoded, and the charset its first `encoding` field names.
 */
function rawForm(body: Buffer): { names: string[]; values: string[]; charset: Charset } {
  const text = body.toString('latin1');
  if (text.trim() === '') throw new Error('the body is empty');
  // One trailing line end is not part of the last value (a body saved with a newline after it).
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === 0x0a) end -= end > 1 && text.charCodeAt(end - 2) === 0x0d ? 2 : 1;
  const names: string[] = [];
  const values: string[] = [];
  let encodingRaw: string | undefined;
  let pos = 0;
  while (pos < end) {
    let amp = text.indexOf('&', pos);
    if (amp < 0 || amp > end) amp = end;
    if (amp > pos) {
      const eq = text.indexOf('=', pos);
      if (eq <= pos || eq >= amp) throw new Error(`"${text.slice(pos, Math.min(amp, pos + 30))}" is not key=value`);
      let name = text.slice(pos, eq);
      if (!isFieldName(name)) {
        name = percentDecode(name).toString('latin1');
        if (!isFieldName(name)) throw new Error(`"${name.slice(0, 30)}" is not a field name`);
      }
      const value = text.slice(eq + 1, amp);
      if (encodingRaw === undefined && name === 'encoding') encodingRaw = value;
      names.push(name);
      values.push(value);
    }
    pos = amp + 1;
  }
  const charset = charsetOf(encodingRaw === undefined ? undefined : /[%+]/.test(encodingRaw) ? percentDecode(encodingRaw).toString('latin1') : encodingRaw);
  if (!charset) throw new Error(`unsupported encoding "${encodingRaw}"`);
  return { names, values, charset };
}

/**
 * Decodes an `application/x-www-form-urlencoded` body exactly once, in the charset named by its
 * `encoding` field. Throws Error with a reason on malformed input.
 */
export function parseForm(body: Buffer): ParsedForm {
  const { names, values, charset } = rawForm(body);
  const fields: Fields = new Array(names.length);
  for (let i = 0; i < names.length; i++) fields[i] = [names[i], decodeValue(names[i], values[i], charset)];
  return { fields, charset };
}

/**
 * {@link parseForm} then {@link fieldsToRecord}, without the list in between (a notification is
 * read as a record: this runs for every file of a `pay verify` run).
 */
export function parseFormRecord(body: Buffer): ParsedFormRecord {
  const { names, values, charset } = rawForm(body);
  const record: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) record[names[i]] = decodeValue(names[i], values[i], charset);
  const duplicate = Object.keys(record).length === names.length ? undefined : firstRepeat({}, names);
  return duplicate === undefined ? { record, charset } : { record, charset, duplicate };
}

/**
 * Parses a synchronous answer: raw `k=v&...` without URL-encoding, bracketed values kept whole
 * (the official SDKs read answers the same way).
 */
export function parseRawKv(text: string): Fields {
  const out: Fields = [];
  let i = 0;
  const s = text.replace(/\r?\n$/, '');
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new Error(`"${s.slice(i, i + 30)}" is not key=value`);
    const key = s.slice(i, eq);
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new Error(`"${key.slice(0, 30)}" is not a field name`);
    let j = eq + 1;
    const open = s[j];
    if (open === '{' || open === '[') {
      const close = open === '{' ? '}' : ']';
      let depth = 0;
      for (; j < s.length; j++) {
        if (s[j] === open) depth++;
        else if (s[j] === close && --depth === 0) break;
      }
      if (depth !== 0) throw new Error(`field ${key}: unbalanced ${open}`);
      j++;
      if (j < s.length && s[j] !== '&') {
        // Not a bracketed value after all (e.g. "{x}y"): read to the next separator.
        const amp = s.indexOf('&', j);
        j = amp < 0 ? s.length : amp;
      }
    } else {
      const amp = s.indexOf('&', j);
      j = amp < 0 ? s.length : amp;
    }
    out.push([key, s.slice(eq + 1, j)]);
    i = j + 1;
  }
  return out;
}

/** Decodes a synchronous answer's bytes in the charset its `encoding` field names. */
export function parseAnswer(body: Buffer): ParsedForm {
  const latin = body.toString('latin1');
  const m = /(?:^|&)encoding=([A-Za-z0-9_-]+)/.exec(latin);
  const charset = charsetOf(m?.[1]);
  if (!charset) throw new Error(`unsupported encoding "${m?.[1]}"`);
  let text: string;
  try {
    text = decodeText(body, charset);
  } catch {
    throw new Error(`the answer is not valid ${charset}`);
  }
  return { fields: parseRawKv(text), charset };
}

/** Serialises fields as a raw answer (the simulator's synchronous replies). */
export function serializeRawKv(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function percentEncode(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    // RFC 3986 unreserved characters stay; everything else is escaped (space as %20).
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e) {
      out += String.fromCharCode(b);
    } else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** encodeURIComponent leaves these unescaped; RFC 3986 form encoding escapes them. */
const SUB_DELIMS = /[!'()*]/g;

/** Encodes fields as a form body in `charset`. */
export function encodeForm(fields: Record<string, string>, charset: Charset): Buffer {
  // UTF-8 takes the native encoder (a hot path: every request and notification).
  const slow = (v: string) => percentEncode(encodeText(v, charset));
  const fast = (v: string) => {
    try {
      return encodeURIComponent(v).replace(SUB_DELIMS, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    } catch {
      return slow(v); // a lone surrogate: encoded as U+FFFD, as Buffer would
    }
  };
  const enc = charset === 'utf-8' ? fast : slow;
  return Buffer.from(
    Object.entries(fields)
      .map(([k, v]) => `${enc(k)}=${enc(v)}`)
      .join('&'),
    'latin1',
  );
}

/** Turns a field list into an object, or reports the first duplicated name. */
export function fieldsToRecord(fields: Fields): { record: Record<string, string>; duplicate?: string } {
  const record: Record<string, string> = {};
  // Fewer keys than fields means a name came twice; only then is it looked for, field by field
  // (a lookup per field costs as much as building the record).
  for (const [k, v] of fields) record[k] = v;
  if (Object.keys(record).length === fields.length) return { record };
  const duplicate = firstRepeat({}, fields.map(([k]) => k));
  return duplicate === undefined ? { record } : { record, duplicate };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The auto-submitting HTML form the payer's browser posts to the front gateway. */
export function autoSubmitForm(action: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}"/>`)
    .join('\n');
  return [
    '<!DOCTYPE html>',
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"/><title>UnionPay</title></head><body>',
    `<form id="pay_form" action="${escapeHtml(action)}" method="post" accept-charset="UTF-8">`,
    inputs,
    '</form>',
    '<script type="text/javascript">document.getElementById("pay_form").submit();</script>',
    '</body></html>',
  ].join('\n');
}

/** Reads the action and hidden fields back out of {@link autoSubmitForm}'s HTML (tests, sandbox). */
export function readAutoSubmitForm(html: string): { action: string; fields: Record<string, string> } {
  const unescape = (s: string) => s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
  const action = /<form[^>]*action="([^"]*)"/.exec(html)?.[1];
  if (action === undefined) throw new Error('no form action in the HTML');
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"\/>/g)) fields[unescape(m[1])] = unescape(m[2]);
  return { action: unescape(action), fields };
}

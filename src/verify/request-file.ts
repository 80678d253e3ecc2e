/**
 * Saved callbacks -> {@link RawRequest}s, byte-exact. A file may hold:
 *
 * - a raw HTTP request: request line, headers, blank line, body (CRLF or LF line ends; the body
 *   is cut to Content-Length, or de-chunked when Transfer-Encoding is chunked). This is also what
 *   `pay listen --save-dir` writes.
 * - a JSON envelope: `{ "headers": {...}, "body": "<raw body>" }`, or `"bodyBase64"` for bodies
 *   that are not UTF-8; optional `"method"`, `"url"` and `"query"` (a return URL's query string).
 * - a HAR file: every entry of `log.entries` is one callback (`postData.text`, base64 when
 *   `postData.encoding` says so).
 * - a GET return URL (`https://shop.example/return?...`, `/return?...`, `?...`): a GET request
 *   whose query is the signed content (Alipay and UnionPay return URLs). Its RawRequest has
 *   method GET, the path and query in `target`, an empty body.
 * - a bare form or query string (`a=1&b=2`, one line): a notify body saved on its own, or a
 *   return URL's query. It becomes a form POST body (content-type form-urlencoded), which is how
 *   the form channels read both (Alipay tells a return from a notify by its fields; UnionPay
 *   posts even its front returns). Line ends around it are dropped: a form body cannot hold one.
 * - a bare body (JSON, XML or anything else) whose headers come from `--header` flags.
 *
 * Bodies are sliced from the file's Buffer and never pass through a JS string, so non-UTF-8
 * bytes (GBK forms) survive. Anything else is a PayError INVALID_REQUEST (exit 2) that names
 * the formats expected.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { RawRequest } from '../channel/contract.js';
import { invalid, type PayError } from '../core/errors.js';
import { addLowerHeader, EXPECTED_FORMATS, TOKEN, withFlags, type ParsedRequestFile, type ParseRequestOptions } from './request-types.js';
import { parseJsonFile } from './request-json.js';

export { EXPECTED_FORMATS, parseHeaderFlags, type ParseRequestOptions, type ParsedEntry, type ParsedRequestFile, type RequestFileFormat } from './request-types.js';


const REQUEST_LINE = /^([A-Z][A-Z-]{1,15}) (\S+) HTTP\/(\d(?:\.\d)?)$/;
// A form/query string: k=v pairs joined by &, nothing that cannot appear in one (spaces, quotes).
const QUERY = /^[^\s=&"'<>{}]+=[^\s"'<>{}]*(?:&[^\s=&"'<>{}]*(?:=[^\s"'<>{}]*)?)*$/;
const CR = 0x0d;
const LF = 0x0a;
const LF_LF = Buffer.from('\n\n', 'latin1');
const LF_CR_LF = Buffer.from('\n\r\n', 'latin1');

// One read buffer for every file of a run: readFileSync would stat each file and allocate for it.
let scratch: Buffer | undefined;

/**
 * The bytes of a file, read to its end (pipes and /dev/fd paths included). A file that fits the
 * read buffer comes back as a view of it (`owned: false`), valid until the next read: the parser
 * copies what it keeps, so most files are copied once (their body) instead of twice.
 */
function readWhole(path: string, regular = false): { bytes: Buffer; owned: boolean } {
  const fd = openSync(path, 'r');
  try {
    scratch ??= Buffer.allocUnsafeSlow(64 * 1024);
    let full: Buffer[] | undefined;
    let n = 0;
    for (;;) {
      if (n === scratch.length) {
        (full ??= []).push(Buffer.from(scratch));
        n = 0;
      }
      const room = scratch.length - n;
      const got = readSync(fd, scratch, n, room, null);
      n += got;
      if (got === 0 || (regular && got < room)) break;
    }
    if (!full) return { bytes: scratch.subarray(0, n), owned: false };
    return { bytes: Buffer.concat([...full, scratch.subarray(0, n)]), owned: true };
  } finally {
    closeSync(fd);
  }
}

/** Reads and parses a callback file (see the module comment for the formats). */
export async function readRequestFile(path: string, options: ParseRequestOptions = {}): Promise<ParsedRequestFile> {
  let file: { bytes: Buffer; owned: boolean };
  try {
    // Synchronous on purpose: files are read one after another, and a thread-pool round trip
    // per small file costs more than the read (10,000 files: 3.8 s async, far less sync).
    file = readWhole(path, options.regular);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalid(`cannot read ${options.source ?? path} (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : (code ?? 'error')})`, {
      hint: code === 'ENOENT' ? 'Check the path; quote a glob (\'dir/*.http\') to let pay expand it.' : undefined,
    });
  }
  return parseBytes(file.bytes, { source: options.source ?? path, headers: options.headers }, file.owned);
}

/** Parses the bytes of a callback file. Throws INVALID_REQUEST when the file is none of the formats. */
export function parseRequestFile(bytes: Buffer, options: ParseRequestOptions = {}): ParsedRequestFile {
  return parseBytes(bytes, options, true);
}

/** {@link parseRequestFile}; `owned` false: `bytes` will be reused, so a body that is all of it is copied. */
function parseBytes(bytes: Buffer, options: ParseRequestOptions, owned: boolean): ParsedRequestFile {
  const source = options.source ?? 'input';
  const flagHeaders = options.headers ?? {};
  const hasFlags = Object.keys(flagHeaders).length > 0;
  let start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (start < bytes.length && isSpace(bytes[start])) start++;
  if (start >= bytes.length) {
    throw invalid(`${source} is empty${bytes.length ? ' (only whitespace)' : ''}: there is no callback in it`, {
      hint: `A callback file is ${EXPECTED_FORMATS}.`,
    });
  }
  const first = bytes[start];
  const firstLine = lineAt(bytes, start);
  const requestLine = REQUEST_LINE.exec(firstLine.text);
  if (requestLine) {
    return { format: 'http', entries: [{ request: withFlags(parseRawHttp(bytes, firstLine.next, requestLine, source), flagHeaders) }] };
  }
  if (first === 0x7b /* { */) return parseJsonFile(bytes, start, source, flagHeaders, owned);

  const whole = singleLine(bytes, start);
  if (whole !== undefined && /^(https?:\/\/\S+|[/?]\S*)$/i.test(whole) && whole.includes('?')) {
    return { format: 'url', entries: [{ request: withFlags(fromUrl(whole, source), flagHeaders) }] };
  }
  if (whole !== undefined && QUERY.test(whole)) {
    let end = bytes.length;
    while (end > start && isSpace(bytes[end - 1])) end--;
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    return { format: 'body', entries: [{ request: withFlags({ method: 'POST', headers, body: Buffer.from(bytes.subarray(start, end)), source }, flagHeaders) }] };
  }
  if (hasFlags || first === 0x3c /* < */) {
    if (!hasFlags && looksBinary(bytes)) throw notACallback(source, bytes);
    const headers: Record<string, string> = {};
    if (first === 0x3c) headers['content-type'] = 'text/xml';
    return { format: 'body', entries: [{ request: withFlags({ method: 'POST', headers, body: owned ? bytes : Buffer.from(bytes), source }, flagHeaders) }] };
  }
  throw notACallback(source, bytes);
}

function notACallback(source: string, bytes: Buffer): PayError {
  const what = looksBinary(bytes) ? 'binary data, not a saved callback' : 'not a callback file pay can read';
  return invalid(`${source} is ${what}`, { hint: `Expected ${EXPECTED_FORMATS}.` });
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === CR || b === LF;
}

/** True for bytes no text file has: NULs, other C0 controls, or invalid UTF-8 up front. */
function looksBinary(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 4096);
  let controls = 0;
  for (const b of head) {
    if (b === 0) return true;
    if (b < 0x20 && b !== 0x09 && b !== CR && b !== LF && b !== 0x0c) controls++;
  }
  if (controls > 0) return true;
  try {
    // A cut in the middle of a multi-byte character at the end of the sample is not evidence.
    new TextDecoder('utf-8', { fatal: true }).decode(head.length < bytes.length ? head.subarray(0, head.length - 4) : head);
    return false;
  } catch {
    return true;
  }
}

/** The line starting at `pos` (without its CR/LF) and where the next begins (-1 at EOF without LF). */
function lineAt(bytes: Buffer, pos: number): { text: string; next: number } {
  const nl = bytes.indexOf(LF, pos);
  const end = nl < 0 ? bytes.length : nl;
  const trimmed = end > pos && bytes[end - 1] === CR ? end - 1 : end;
  return { text: bytes.toString('latin1', pos, trimmed), next: nl < 0 ? -1 : nl + 1 };
}

/** The text of the header block that starts at `from` (Latin-1), up to and including its first blank line. */
function headerBlock(bytes: Buffer, from: number): { text: string; offset: number } {
  if (from < 0) return { text: '', offset: 0 };
  // A blank line follows an LF: "\n\n" or "\n\r\n" (a lone CR at the very end is the rest of the file).
  // The second search stops where the first found its blank line (most files have only one kind).
  const b = bytes.indexOf(LF_CR_LF, from - 1);
  const a = (b < 0 ? bytes : bytes.subarray(0, b + 2)).indexOf(LF_LF, from - 1);
  const blank = a < 0 ? b : b < 0 ? a : Math.min(a, b);
  const end = blank < 0 ? bytes.length : blank + (blank === a ? 2 : 3);
  return { text: bytes.toString('latin1', from, end), offset: from };
}

/** The file as one line of text when it is one (trailing line ends ignored), else undefined. */
function singleLine(bytes: Buffer, start: number): string | undefined {
  let end = bytes.length;
  while (end > start && isSpace(bytes[end - 1])) end--;
  const slice = bytes.subarray(start, end);
  if (slice.includes(LF) || slice.includes(CR) || slice.length > 1_000_000) return undefined;
  const text = slice.toString('utf8');
  return text.includes('\uFFFD') ? undefined : text;
}


function fromUrl(text: string, source: string): RawRequest {
  let target = text;
  if (/^https?:\/\//i.test(text)) {
    try {
      const u = new URL(text);
      // The query is taken verbatim from the text: URL would re-encode it.
      target = u.pathname + text.slice(text.indexOf('?'));
    } catch {
      throw invalid(`${source} holds "${text.slice(0, 60)}", which is not a URL`);
    }
  } else if (text.startsWith('?')) target = `/${text}`;
  const q = target.slice(target.indexOf('?') + 1);
  if (q === '') throw invalid(`${source} is a return URL with an empty query string: nothing was signed`);
  return { method: 'GET', target, headers: {}, body: Buffer.alloc(0), source };
}

/**
 * Lowercased header names by their spelling in files, for names that are tokens: a directory of
 * callbacks repeats the same dozen names, and lowercasing each again costs more than the lookup.
 */
const lowerNames = new Map<string, string>();

/** Lowercases a header name; undefined when it is not an HTTP token. */
function headerKey(name: string): string | undefined {
  let key = lowerNames.get(name);
  if (key === undefined) {
    if (!TOKEN.test(name)) return undefined;
    key = name.toLowerCase();
    if (lowerNames.size < 512) lowerNames.set(name, key);
  }
  return key;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * `text` from `from` to `to` without the spaces and tabs around it. Only those: `trim()` would also
 * take 0xA0, which in Latin-1 text can be the last byte of a UTF-8 character (`à` is C3 A0).
 */
function blankTrimmed(text: string, from: number, to: number): string {
  while (from < to && isBlank(text.charCodeAt(from))) from++;
  while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
  return text.slice(from, to);
}

/** Parses a raw HTTP/1.x request: its request line (matched), the headers from `pos` on, the body. */
function parseRawHttp(bytes: Buffer, pos: number, requestLine: RegExpExecArray, source: string): RawRequest {
  const method = requestLine[1];
  const target = requestLine[2];
  const headers: Record<string, string> = {};
  let lastName: string | undefined;
  let lineNo = 1;
  let bodyStart = -1;
  // The header block as one Latin-1 string (its offsets are the file's, shifted by `offset`):
  // lines are cut with string operations instead of Buffer calls. It ends at the first blank line.
  const { text, offset } = headerBlock(bytes, pos);
  let at = pos < 0 ? -1 : 0;
  while (at >= 0 && at < text.length) {
    const nl = text.indexOf('\n', at);
    const lineEnd = nl < 0 ? text.length : nl;
    const end = lineEnd > at && text.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd;
    const next = nl < 0 ? -1 : nl + 1;
    lineNo++;
    if (end === at) {
      bodyStart = next < 0 ? bytes.length : offset + next;
      break;
    }
    const c0 = text.charCodeAt(at);
    if (isBlank(c0) && lastName) {
      // obs-fold: a continuation of the previous header's value.
      headers[lastName] = `${headers[lastName]} ${blankTrimmed(text, at, end)}`;
    } else {
      const colon = text.indexOf(':', at);
      const name = colon >= 0 && colon < end ? blankTrimmed(text, at, colon) : '';
      const key = name ? headerKey(name) : undefined;
      if (key === undefined) {
        const line = text.slice(at, end);
        throw invalid(`${source}: line ${lineNo} ("${line.slice(0, 40)}") is not a header, and no blank line separates the headers from the body`, {
          hint: 'A raw HTTP file is the request line, one "Name: value" header per line, a blank line, then the body.',
        });
      }
      lastName = key;
      addLowerHeader(headers, key, blankTrimmed(text, colon + 1, end));
    }
    at = next;
  }
  if (bodyStart < 0) {
    throw invalid(`${source} has headers without a body: the file ends inside the header section (no blank line after the headers)`, {
      hint: 'Save the whole request: headers, a blank line, then the body exactly as received.',
    });
  }
  let body = bytes.subarray(bodyStart);
  const te = headers['transfer-encoding']?.toLowerCase();
  if (te && te.split(',').map((s) => s.trim()).includes('chunked')) {
    body = dechunk(body, source);
  } else if (headers['content-length'] !== undefined) {
    const cl = headers['content-length'];
    if (!/^\d{1,12}$/.test(cl)) throw invalid(`${source}: Content-Length "${cl.slice(0, 20)}" is not a number`);
    const want = Number(cl);
    if (body.length < want) {
      throw invalid(`${source} is truncated: Content-Length says ${want} bytes, the file has ${body.length} after the headers`, {
        hint: 'The body was cut off when it was saved; save the request again.',
      });
    }
    const extra = body.subarray(want);
    if (extra.some((b) => !isSpace(b))) {
      throw invalid(`${source} has ${extra.length} bytes after the ${want}-byte body that Content-Length announces`, {
        hint: 'One request per file; for several callbacks use one file each, or a HAR file.',
      });
    }
    body = body.subarray(0, want);
  }
  const hasQuery = target.includes('?') && target.indexOf('?') < target.length - 1;
  if (body.length === 0 && !hasQuery) {
    throw invalid(
      method === 'GET'
        ? `${source} is a GET request without a query string: there is nothing signed to verify`
        : `${source} has headers without a body: nothing follows the blank line`,
      { hint: 'Save the request with its body exactly as received.' },
    );
  }
  return { method, target, headers, body: Buffer.from(body), source };
}

/** Decodes a chunked body (RFC 9112 section 7.1); trailers are read and dropped. */
function dechunk(data: Buffer, source: string): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  const truncated = () =>
    invalid(`${source} is truncated: the chunked body ends before its last (zero-size) chunk`, {
      hint: 'The body was cut off when it was saved; save the request again.',
    });
  for (;;) {
    if (pos >= data.length) throw truncated();
    const line = lineAt(data, pos);
    if (line.next < 0) throw truncated();
    const sizeText = line.text.split(';')[0].trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) {
      throw invalid(`${source}: "${line.text.slice(0, 20)}" is not a chunk size, though Transfer-Encoding says chunked`);
    }
    const size = parseInt(sizeText, 16);
    pos = line.next;
    if (size === 0) {
      // Trailer fields until a blank line (or the end of the file).
      while (pos < data.length) {
        const t = lineAt(data, pos);
        if (t.text === '' || t.next < 0) break;
        pos = t.next;
      }
      return Buffer.concat(parts);
    }
    if (pos + size > data.length) throw truncated();
    parts.push(data.subarray(pos, pos + size));
    pos += size;
    if (data[pos] === CR && data[pos + 1] === LF) pos += 2;
    else if (data[pos] === LF) pos += 1;
    else if (pos >= data.length) throw truncated();
    else throw invalid(`${source}: a chunk is not followed by a line end; the chunk sizes do not match the data`);
  }
}

/**
 * Serialises a request in the raw-HTTP file format, byte-exact: `pay listen` saves callbacks
 * this way and `pay verify` reads them back. `rawHeaders` keeps names, case and order as
 * received; a body that arrived chunked is written as one chunk, so the file stays
 * self-consistent with its Transfer-Encoding header.
 */
export function formatRawHttp(request: { method: string; target: string; httpVersion?: string; rawHeaders: string[]; body: Buffer }): Buffer {
  let head = `${request.method} ${request.target} HTTP/${request.httpVersion ?? '1.1'}\r\n`;
  let chunked = false;
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i];
    const value = request.rawHeaders[i + 1];
    if (name.toLowerCase() === 'transfer-encoding' && /chunked/i.test(value)) chunked = true;
    head += `${name}: ${value}\r\n`;
  }
  head += '\r\n';
  // Node hands header values over as latin1 strings: writing them back as latin1 restores the bytes.
  const parts: Buffer[] = [Buffer.from(head, 'latin1')];
  if (chunked) {
    if (request.body.length) parts.push(Buffer.from(`${request.body.length.toString(16)}\r\n`, 'latin1'), request.body, Buffer.from('\r\n'));
    parts.push(Buffer.from('0\r\n\r\n'));
  } else parts.push(request.body);
  return Buffer.concat(parts);
}


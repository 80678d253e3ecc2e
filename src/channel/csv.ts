/**
 * Streaming text and CSV reading for statements and exports: Stripe's itemized reports and
 * balance-transaction lines, PayPal's settlement reports, generic mapped bills and `pay orders
 * import`. A file (plain or gzip) is decoded chunk by chunk, in a declared encoding or one sniffed
 * from its first bytes, and RFC 4180 records (any one-character delimiter; quoted fields with
 * delimiters, doubled quotes and line breaks) or plain lines come out with the 1-based line they
 * start on, counted right across quoted line breaks. A file of millions of rows never sits in
 * memory whole, and bad input is a PayError INVALID_REQUEST naming the file and line.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { createGunzip } from 'node:zlib';
import { invalid, PayError } from '../core/errors.js';

/** Encodings a file may be read in (labels TextDecoder knows). */
export const SUPPORTED_ENCODINGS = ['utf-8', 'gbk', 'gb18030', 'utf-16le', 'utf-16be'] as const;

/** One of {@link SUPPORTED_ENCODINGS}. */
export type TextEncoding = (typeof SUPPORTED_ENCODINGS)[number];

/** Checks an encoding label (case-insensitive, `utf8` accepted), returning the canonical name. */
export function checkEncoding(label: string): TextEncoding {
  const name = String(label ?? '').trim().toLowerCase().replace(/^utf8$/, 'utf-8');
  if (!(SUPPORTED_ENCODINGS as readonly string[]).includes(name)) {
    throw invalid(`unsupported encoding "${String(label).slice(0, 20)}"`, { hint: `Use one of ${SUPPORTED_ENCODINGS.join(', ')}.` });
  }
  return name as TextEncoding;
}

/** One CSV record. */
export interface CsvRecord {
  /** 1-based physical line the record starts on. */
  line: number;
  /** Field values, unquoted. */
  fields: string[];
}

/** The encoding a byte-order mark at the start of `head` announces, and the mark's length. */
function byteOrderMark(head: Uint8Array): { encoding: TextEncoding; bomLength: number } | undefined {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bomLength: 3 };
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bomLength: 2 };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bomLength: 2 };
  return undefined;
}

/** Picks the encoding from the first bytes: a BOM, else the zero-byte pattern of UTF-16 ASCII, else UTF-8. */
export function sniffEncoding(head: Uint8Array): { encoding: 'utf-8' | 'utf-16le' | 'utf-16be'; bomLength: number } {
  const bom = byteOrderMark(head);
  if (bom) return bom as { encoding: 'utf-8' | 'utf-16le' | 'utf-16be'; bomLength: number };
  // BOM-less UTF-16 of ASCII text has a zero in every other byte.
  if (head.length >= 4 && head[1] === 0 && head[3] === 0 && head[0] !== 0) return { encoding: 'utf-16le', bomLength: 0 };
  if (head.length >= 4 && head[0] === 0 && head[2] === 0 && head[1] !== 0) return { encoding: 'utf-16be', bomLength: 0 };
  return { encoding: 'utf-8', bomLength: 0 };
}

/** Turns a file-system error into a clear input error naming the file. */
export function fileError(path: string, err: unknown, label = 'file'): PayError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return invalid(`${path} does not exist`);
  if (code === 'EISDIR') return invalid(`${path} is a directory, not a ${label}`);
  if (code === 'EACCES' || code === 'EPERM') return invalid(`${path} cannot be read (permission denied)`);
  return invalid(`${path} cannot be read (${code ?? (err as Error).message})`, { cause: err });
}

/** How to read a text file. */
export interface TextFileOptions {
  /**
   * The file's encoding. `auto` (the default) sniffs it: a byte-order mark, else UTF-16 by its
   * zero bytes, else UTF-8. A byte-order mark wins over a declared encoding too, and is dropped.
   */
  encoding?: TextEncoding | 'auto';
  /** Whether UTF-16 is acceptable (default true); false makes a UTF-16 file an error. */
  allowUtf16?: boolean;
  /** What the file is, for messages ("Stripe itemized report"). */
  label?: string;
  /** The advice given when the bytes are not valid in the encoding (a default suits most files). */
  encodingHint?: string;
  /** Called with the bytes read so far (compressed bytes for gzip), for progress bars. */
  onBytes?: (bytes: number) => void;
  /**
   * The line on which the next decoded text starts, so that invalid bytes are reported by line
   * (the readers below set it).
   */
  lineHint?: () => number;
}

async function startsWithGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * Streams `path` (plain, or gzip by its magic bytes) as decoded text. Bytes that are not valid in
 * the encoding (a GBK file read as UTF-8) are a PayError naming the file, never mojibake; so are a
 * missing or unreadable file and a damaged gzip stream.
 */
export async function* decodeFile(path: string, options: TextFileOptions = {}): AsyncGenerator<string> {
  const label = options.label ?? 'file';
  const declared = options.encoding === undefined || options.encoding === 'auto' ? 'auto' : checkEncoding(options.encoding);
  let gzip: boolean;
  try {
    gzip = await startsWithGzip(path);
  } catch (err) {
    throw fileError(path, err, label);
  }
  // 256 KiB: larger reads made the per-chunk batches and strings bigger, and reading no faster.
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  const source: Readable = gzip ? file.pipe(createGunzip()) : file;
  if (gzip) file.on('error', (err) => source.destroy(err));
  let decoder: TextDecoder | undefined;
  let encoding: TextEncoding = 'utf-8';
  let head: Buffer | undefined;
  let bytes = 0;

  /** Chooses the encoding from the first bytes; returns them without the BOM. */
  const begin = (chunk: Buffer): Buffer => {
    const bom = byteOrderMark(chunk);
    encoding = bom ? bom.encoding : declared === 'auto' ? sniffEncoding(chunk).encoding : declared;
    if (encoding.startsWith('utf-16') && options.allowUtf16 === false) {
      throw invalid(`${path} is ${encoding.toUpperCase()} text, but a ${label} is UTF-8`, { hint: 'Convert the file to UTF-8 or give the file as downloaded.' });
    }
    decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
    return bom ? chunk.subarray(bom.bomLength) : chunk;
  };
  const decode = (chunk: Buffer | undefined): string => {
    try {
      return chunk ? decoder!.decode(chunk, { stream: true }) : decoder!.decode();
    } catch {
      // Only now, on the error path: the line breaks before the first invalid byte of this chunk.
      let line = options.lineHint?.();
      if (line !== undefined && chunk) {
        const lenient = new TextDecoder(encoding, { ignoreBOM: true }).decode(chunk);
        const bad = lenient.indexOf('\uFFFD');
        for (let k = lenient.indexOf('\n'); k !== -1 && (bad === -1 || k < bad); k = lenient.indexOf('\n', k + 1)) line++;
      }
      const hint =
        options.encodingHint ??
        (declared === 'auto'
          ? `A ${label} is UTF-8${options.allowUtf16 === false ? '' : ' (or UTF-16)'}; give the file exactly as downloaded.`
          : `The file was read as ${encoding.toUpperCase()}; check its encoding.`);
      throw invalid(`${path} is not valid ${encoding.toUpperCase()}${line ? ` (near line ${line})` : ' text (wrong encoding?)'}`, { hint });
    }
  };

  try {
    for await (const raw of source as AsyncIterable<Buffer>) {
      if (options.onBytes) {
        bytes = gzip ? file.bytesRead : bytes + raw.length;
        options.onBytes(bytes);
      }
      let chunk = raw;
      if (!decoder) {
        // Sniff on at least 4 bytes so a tiny first chunk cannot fool the detection.
        chunk = head ? Buffer.concat([head, chunk]) : chunk;
        if (chunk.length < 4) {
          head = chunk;
          continue;
        }
        head = undefined;
        chunk = begin(chunk);
      }
      const text = decode(chunk);
      if (text) yield text;
    }
    if (!decoder && head) {
      const text = decode(begin(head));
      if (text) yield text;
    }
    if (decoder) {
      const tail = decode(undefined);
      if (tail) yield tail;
    }
  } catch (err) {
    if (err instanceof PayError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (gzip && (code?.startsWith('Z_') || /unexpected end of file/i.test((err as Error).message))) {
      throw invalid(`${path} is a damaged gzip file (${(err as Error).message})`, { hint: 'Download the file again.' });
    }
    throw fileError(path, err, label);
  } finally {
    file.destroy();
    if (source !== file) source.destroy();
  }
}

/** The first non-blank character of a text file, undefined when there is none (tells JSON from CSV). */
export async function firstNonBlankChar(path: string, options: TextFileOptions = {}): Promise<string | undefined> {
  for await (const chunk of decodeFile(path, options)) {
    const m = /\S/.exec(chunk);
    if (m) return m[0];
  }
  return undefined;
}

/** Lines of decoded text, a chunk's worth at a time: `lines[i]` is line `first + i` (1-based). */
export interface LineBatch {
  lines: string[];
  first: number;
}

/** Splits decoded text into lines (LF or CRLF), an array per chunk of text. Empty lines are kept. */
export async function* textLineBatches(chunks: AsyncIterable<string>): AsyncGenerator<LineBatch> {
  let buf = '';
  let next = 1;
  for await (const chunk of chunks) {
    buf += chunk;
    const lines: string[] = [];
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf('\n', start)) >= 0) {
      lines.push(buf.slice(start, nl > start && buf.charCodeAt(nl - 1) === CR ? nl - 1 : nl));
      start = nl + 1;
    }
    buf = buf.slice(start);
    if (lines.length) {
      yield { lines, first: next };
      next += lines.length;
    }
  }
  if (buf !== '') yield { lines: [buf.charCodeAt(buf.length - 1) === CR ? buf.slice(0, -1) : buf], first: next };
}

/**
 * Streams the lines of a text file (see {@link decodeFile}) an array per chunk read, so the
 * per-line cost stays low for files of millions of lines; invalid bytes reported by line.
 */
export async function* readTextLineBatches(path: string, options: TextFileOptions = {}): AsyncGenerator<LineBatch> {
  let last = 0;
  for await (const batch of textLineBatches(decodeFile(path, { ...options, lineHint: () => last + 1 }))) {
    last = batch.first + batch.lines.length - 1;
    yield batch;
  }
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Incremental RFC 4180 parser: feed it decoded text in chunks of any size, get whole records.
 * Records end at LF or CRLF; blank lines are skipped. A quote opens a quoted field only at the
 * field's start (elsewhere it is data); inside one, `""` is a quote and line breaks are data.
 */
export class CsvParser {
  private pending = '';
  private nextLine = 1;
  private readonly delim: string;
  private readonly delimCode: number;

  /** `where` (the file) prefixes error messages as `where:line: ...`. */
  constructor(delimiter = ',', private readonly where?: string) {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
      throw invalid(`delimiter ${JSON.stringify(delimiter)} must be one character other than a quote or line break`);
    }
    this.delim = delimiter;
    this.delimCode = delimiter.charCodeAt(0);
  }

  /** The line on which the next text pushed starts. */
  get position(): number {
    let line = this.nextLine;
    for (let k = this.pending.indexOf('\n'); k !== -1; k = this.pending.indexOf('\n', k + 1)) line++;
    return line;
  }

  /** Parses `text` appended to what is pending; `final` (the end of the input) flushes the last record. */
  push(text: string, final = false): CsvRecord[] {
    const s = this.pending ? this.pending + text : text;
    const out: CsvRecord[] = [];
    let pos = 0;
    // The next quote at or after pos, found once per stretch so quote-free lines stay linear.
    let quote = s.indexOf('"');
    while (pos < s.length) {
      if (quote !== -1 && quote < pos) quote = s.indexOf('"', pos);
      const nl = s.indexOf('\n', pos);
      if (quote === -1 || (nl !== -1 && quote > nl)) {
        // No quote on this line: a plain split.
        if (nl === -1 && !final) break;
        const end = nl === -1 ? s.length : nl;
        const lineText = end > pos && s.charCodeAt(end - 1) === CR ? s.slice(pos, end - 1) : s.slice(pos, end);
        const line = this.nextLine++;
        pos = end + 1;
        if (lineText !== '') out.push({ line, fields: lineText.split(this.delim) });
        continue;
      }
      const rec = this.quotedRecord(s, pos, final);
      if (!rec) break;
      out.push({ line: this.nextLine, fields: rec.fields });
      this.nextLine += rec.newlines + 1;
      pos = rec.next;
    }
    this.pending = pos < s.length ? s.slice(pos) : '';
    return out;
  }

  /** One record holding a quote, from `start`; undefined when more text is needed to finish it. */
  private quotedRecord(s: string, start: number, final: boolean): { fields: string[]; next: number; newlines: number } | undefined {
    const fields: string[] = [];
    const n = s.length;
    let i = start;
    let newlines = 0;
    // The next line break at or after i (n when none): a quoted part ending before it holds none.
    let nl = s.indexOf('\n', start);
    if (nl === -1) nl = n;
    record: for (;;) {
      let field = '';
      if (i < n && s.charCodeAt(i) === QUOTE) {
        i++;
        for (;;) {
          const q = s.indexOf('"', i);
          if (q === -1) {
            if (!final) return undefined;
            throw invalid(`${this.where ? `${this.where}:` : 'line '}${this.nextLine}: a quoted field is never closed (the file is truncated?)`, {
              hint: 'The file is truncated, or a quote inside a quoted field is not doubled.',
            });
          }
          if (q > nl) {
            // Line breaks inside the quotes: data, counted toward the record's lines.
            for (let k = nl; k < q; k = s.indexOf('\n', k + 1)) {
              if (k === -1) break;
              newlines++;
            }
            nl = s.indexOf('\n', q);
            if (nl === -1) nl = n;
          }
          field += s.slice(i, q);
          // A quote at the very end of the text may be the first half of `""`.
          if (q + 1 >= n && !final) return undefined;
          const next = s.charCodeAt(q + 1);
          if (next === QUOTE) {
            field += '"';
            i = q + 2;
            continue;
          }
          if (next === this.delimCode) {
            // The usual case: the closing quote ends the field.
            fields.push(field);
            i = q + 2;
            continue record;
          }
          i = q + 1;
          break;
        }
      }
      // The unquoted field, or what follows a closing quote: up to the delimiter or the line end.
      let j = i;
      let c = -1;
      while (j < n) {
        c = s.charCodeAt(j);
        if (c === this.delimCode || c === LF) break;
        j++;
      }
      if (j >= n) {
        if (!final) return undefined;
        c = -1;
      }
      const endOfRecord = c !== this.delimCode;
      let rest = s.slice(i, j);
      if (endOfRecord && rest.charCodeAt(rest.length - 1) === CR) rest = rest.slice(0, -1);
      fields.push(field + rest);
      if (endOfRecord) return { fields, next: j >= n ? n : j + 1, newlines };
      i = j + 1;
    }
  }
}

/** Parses CSV records from decoded text chunks (see {@link CsvParser}); `where` names the source in errors. */
export async function* csvRecords(chunks: AsyncIterable<string>, where: string, delimiter = ','): AsyncGenerator<CsvRecord> {
  const parser = new CsvParser(delimiter, where);
  for await (const chunk of chunks) yield* parser.push(chunk);
  yield* parser.push('', true);
}

/** How to read a CSV file. */
export interface CsvReadOptions extends TextFileOptions {
  /** Field separator (one character); default `,`. */
  delimiter?: string;
}

/**
 * Streams the records of a CSV file in batches (one per chunk read, so the per-record cost stays
 * low for files of millions of lines). Throws INVALID_REQUEST for an unreadable file, bytes not in
 * the encoding, a damaged gzip stream, or an unclosed quote, naming the file and line.
 */
export async function* readCsvBatches(path: string, options: CsvReadOptions = {}): AsyncGenerator<CsvRecord[]> {
  const parser = new CsvParser(options.delimiter ?? ',', path);
  for await (const text of decodeFile(path, { ...options, lineHint: () => parser.position })) {
    const batch = parser.push(text);
    if (batch.length) yield batch;
  }
  const batch = parser.push('', true);
  if (batch.length) yield batch;
}

/** Streams the records of a CSV file one by one (see {@link readCsvBatches}). */
export async function* readCsvRecords(path: string, options: CsvReadOptions = {}): AsyncGenerator<CsvRecord> {
  for await (const batch of readCsvBatches(path, options)) yield* batch;
}

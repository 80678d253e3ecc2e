/**
 * A streaming CSV (RFC 4180) reader for order exports and generic bills: any delimiter, quoted
 * fields with embedded delimiters, quotes and line breaks, CRLF or LF, UTF-8 (BOM tolerated),
 * GBK/GB18030 or UTF-16, plain or gzip. Records come out one at a time with the 1-based line
 * number they start on, so a file of any size is never held in memory whole.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { invalid, PayError } from '../core/errors.js';

/** One record. */
export interface CsvRecord {
  /** 1-based physical line the record starts on. */
  line: number;
  fields: string[];
}

/** Options for {@link readCsvRecords}. */
export interface CsvReadOptions {
  /** Field separator (one character); default `,`. */
  delimiter?: string;
  /** WHATWG encoding label: utf-8 (default), gbk, gb18030, utf-16le, utf-16be. */
  encoding?: string;
  /** Called with the bytes read so far (compressed bytes for gzip), for progress bars. */
  onBytes?: (bytes: number) => void;
}

/** Encodings a file may declare (labels TextDecoder knows, checked up front for a clear error). */
export const SUPPORTED_ENCODINGS = ['utf-8', 'gbk', 'gb18030', 'utf-16le', 'utf-16be'] as const;

/** Checks an encoding label, returning the canonical name. */
export function checkEncoding(label: string): string {
  const name = String(label ?? '').trim().toLowerCase().replace(/^utf8$/, 'utf-8');
  if (!(SUPPORTED_ENCODINGS as readonly string[]).includes(name)) {
    throw invalid(`unsupported encoding "${String(label).slice(0, 20)}"`, { hint: `Use one of ${SUPPORTED_ENCODINGS.join(', ')}.` });
  }
  return name;
}

/**
 * Incremental parser: feed it decoded text, get records. Kept separate from the file reading so
 * tests can drive it chunk by chunk.
 */
export class CsvParser {
  private pending = '';
  private nextLine = 1;
  private readonly delim: string;

  constructor(delimiter = ',') {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
      throw invalid(`delimiter ${JSON.stringify(delimiter)} must be one character other than a quote or line break`);
    }
    this.delim = delimiter;
  }

  /** Parses `text` appended to what is pending; `final` flushes the last record. */
  *push(text: string, final = false): Generator<CsvRecord> {
    const s = this.pending + text;
    let pos = 0;
    // Index of the next quote at or after pos; found once per chunk so quote-free files stay linear.
    let quote = s.indexOf('"');
    while (pos < s.length) {
      if (quote !== -1 && quote < pos) quote = s.indexOf('"', pos);
      const nl = s.indexOf('\n', pos);
      if (quote === -1 || (nl !== -1 && quote > nl)) {
        if (nl === -1 && !final) break;
        const end = nl === -1 ? s.length : nl;
        const lineText = s.charCodeAt(end - 1) === 13 && end > pos ? s.slice(pos, end - 1) : s.slice(pos, end);
        const line = this.nextLine++;
        pos = end + 1;
        if (lineText !== '') yield { line, fields: lineText.split(this.delim) };
        continue;
      }
      // A quote before the end of this line: parse the record character by character.
      const parsed = this.parseQuoted(s, pos, final);
      if (!parsed) break;
      const line = this.nextLine;
      this.nextLine += parsed.newlines + 1;
      pos = parsed.next;
      yield { line, fields: parsed.fields };
    }
    this.pending = pos < s.length ? s.slice(pos) : '';
    if (final && this.pending !== '') throw new PayError('INVALID_REQUEST', `line ${this.nextLine}: incomplete record at the end of the file`);
  }

  private parseQuoted(s: string, start: number, final: boolean): { fields: string[]; next: number; newlines: number } | undefined {
    const fields: string[] = [];
    let field = '';
    let i = start;
    let newlines = 0;
    let quoted = false;
    let wasQuoted = false;
    while (i < s.length) {
      const c = s[i];
      if (quoted) {
        if (c === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          if (i + 1 >= s.length && !final) return undefined; // cannot tell "" from " yet
          quoted = false;
          i++;
          continue;
        }
        if (c === '\n') newlines++;
        field += c;
        i++;
        continue;
      }
      if (c === '"' && field === '' && !wasQuoted) {
        quoted = true;
        wasQuoted = true;
        i++;
        continue;
      }
      if (c === this.delim) {
        fields.push(field);
        field = '';
        wasQuoted = false;
        i++;
        continue;
      }
      if (c === '\n' || (c === '\r' && s[i + 1] === '\n')) {
        fields.push(field);
        return { fields, next: c === '\n' ? i + 1 : i + 2, newlines };
      }
      if (c === '\r' && i + 1 >= s.length && !final) return undefined;
      field += c;
      i++;
    }
    if (!final) return undefined;
    if (quoted) {
      throw new PayError('INVALID_REQUEST', `line ${this.nextLine}: a quoted field is never closed`, {
        hint: 'The file is truncated or a quote is not doubled inside a quoted field.',
      });
    }
    fields.push(field);
    return { fields, next: s.length, newlines };
  }
}

/** True when the first bytes are a gzip header. */
async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Turns a file-system error into a clear input error. */
export function fileError(path: string, err: unknown): PayError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return invalid(`${path} does not exist`);
  if (code === 'EISDIR') return invalid(`${path} is a directory, not a file`);
  if (code === 'EACCES' || code === 'EPERM') return invalid(`${path} cannot be read (permission denied)`);
  return invalid(`${path} cannot be read (${code ?? (err as Error).message})`, { cause: err });
}

/**
 * Streams the records of a CSV file in batches (one per chunk read, so the per-record cost stays
 * low for files of millions of lines). Throws INVALID_REQUEST for an unreadable file, bytes that
 * are not in the declared encoding (a GBK file read as UTF-8), or an unclosed quote.
 */
export async function* readCsvBatches(path: string, options: CsvReadOptions = {}): AsyncGenerator<CsvRecord[]> {
  const encoding = checkEncoding(options.encoding ?? 'utf-8');
  const parser = new CsvParser(options.delimiter ?? ',');
  let gzip: boolean;
  try {
    gzip = await isGzip(path);
  } catch (err) {
    throw fileError(path, err);
  }
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const source = gzip ? file.pipe(createGunzip()) : file;
  if (gzip) file.on('error', (err) => source.destroy(err));
  const decoder = new TextDecoder(encoding, { fatal: true });
  let lastLine = 0;
  let bytes = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (options.onBytes) {
        bytes = gzip ? file.bytesRead : bytes + chunk.length;
        options.onBytes(bytes);
      }
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        throw encodingError(path, encoding, lastLine + 1);
      }
      const batch = [...parser.push(text)];
      if (batch.length) {
        lastLine = batch[batch.length - 1].line;
        yield batch;
      }
    }
    let tail: string;
    try {
      tail = decoder.decode();
    } catch {
      throw encodingError(path, encoding, lastLine + 1);
    }
    const batch = [...parser.push(tail, true)];
    if (batch.length) yield batch;
  } catch (err) {
    if (err instanceof PayError) {
      if (err.message.startsWith('line ')) throw invalid(`${path}:${err.message.slice(5)}`, { hint: err.hint });
      throw err;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || /unexpected end of file/i.test((err as Error).message)) {
      throw invalid(`${path} is a damaged gzip file (${(err as Error).message})`, { hint: 'Download the file again.' });
    }
    throw fileError(path, err);
  } finally {
    file.destroy();
  }
}

/** Streams the records of a CSV file one by one (see {@link readCsvBatches}). */
export async function* readCsvRecords(path: string, options: CsvReadOptions = {}): AsyncGenerator<CsvRecord> {
  for await (const batch of readCsvBatches(path, options)) yield* batch;
}

function encodingError(path: string, encoding: string, line: number): PayError {
  return invalid(`${path} is not valid ${encoding.toUpperCase()} (near line ${line})`, {
    hint: encoding === 'utf-8' ? 'The file is in another encoding: set "encoding" (e.g. "gbk") in the mapping file.' : `Check the file's encoding and set "encoding" accordingly.`,
  });
}

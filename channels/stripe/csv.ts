/**
 * Streaming text and CSV reading for statement files (Stripe's itemized reports, PayPal's
 * settlement reports): the file is decoded chunk by chunk (UTF-8 or UTF-16, by BOM or by its
 * zero bytes), and RFC 4180 records or lines come out one at a time with their 1-based line
 * numbers, so a bill of millions of rows never sits in memory. PayPal's channel reuses this module.
 */
import { createReadStream } from 'node:fs';
import { TextDecoder } from 'node:util';
import { invalid } from '../../src/core/errors.js';

/** Encodings a statement may come in. */
export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

/** One CSV record. */
export interface CsvRecord {
  /** Field values, unquoted. */
  fields: string[];
  /** 1-based line on which the record starts. */
  line: number;
}

/** Picks the encoding from the first bytes: a BOM, else the zero-byte pattern of UTF-16 ASCII. */
export function sniffEncoding(head: Buffer): { encoding: TextEncoding; bomLength: number } {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bomLength: 3 };
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bomLength: 2 };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bomLength: 2 };
  // BOM-less UTF-16 of ASCII text has a zero in every other byte.
  if (head.length >= 4 && head[1] === 0 && head[3] === 0 && head[0] !== 0) return { encoding: 'utf-16le', bomLength: 0 };
  if (head.length >= 4 && head[0] === 0 && head[2] === 0 && head[1] !== 0) return { encoding: 'utf-16be', bomLength: 0 };
  return { encoding: 'utf-8', bomLength: 0 };
}

/** Options for {@link decodeFile}. */
export interface DecodeOptions {
  /** Accept UTF-16 (PayPal reports) besides UTF-8. Default true. */
  allowUtf16?: boolean;
  /** What the file is, for messages ("Stripe itemized report"). */
  label?: string;
  /** Receives the encoding once known. */
  onEncoding?: (encoding: TextEncoding) => void;
}

/**
 * Streams `path` as decoded text. Invalid bytes for the detected encoding (a GBK or Latin-1 file
 * handed over by mistake) are a PayError INVALID_REQUEST naming the file, not mojibake.
 */
export async function* decodeFile(path: string, options: DecodeOptions = {}): AsyncGenerator<string> {
  const label = options.label ?? 'file';
  let decoder: TextDecoder | undefined;
  let encoding: TextEncoding = 'utf-8';
  let pending: Buffer | undefined;
  let sawBytes = false;
  const input = createReadStream(path, { highWaterMark: 256 * 1024 });
  try {
    for await (const raw of input) {
      let chunk = raw as Buffer;
      if (!decoder) {
        // Sniff on at least 4 bytes so a tiny first chunk cannot fool the detection.
        chunk = pending ? Buffer.concat([pending, chunk]) : chunk;
        if (chunk.length < 4) {
          pending = chunk;
          continue;
        }
        pending = undefined;
        const sniffed = sniffEncoding(chunk);
        encoding = sniffed.encoding;
        if (encoding !== 'utf-8' && options.allowUtf16 === false) {
          throw invalid(`${path} is ${encoding.toUpperCase()} text, but a ${label} is UTF-8`, { hint: 'Convert the file to UTF-8 or give the file as downloaded.' });
        }
        options.onEncoding?.(encoding);
        decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
        chunk = chunk.subarray(sniffed.bomLength);
      }
      sawBytes = true;
      yield decode(decoder, chunk, path, label, encoding, true);
    }
    if (!decoder && pending) {
      const sniffed = sniffEncoding(pending);
      encoding = sniffed.encoding;
      options.onEncoding?.(encoding);
      decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
      sawBytes = true;
      yield decode(decoder, pending.subarray(sniffed.bomLength), path, label, encoding, true);
    }
    if (decoder && sawBytes) {
      const tail = decode(decoder, Buffer.alloc(0), path, label, encoding, false);
      if (tail) yield tail;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw invalid(`${path} does not exist`);
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw invalid(`${path} is a directory, not a ${label}`);
    if ((err as NodeJS.ErrnoException).code === 'EACCES') throw invalid(`${path} cannot be read (permission denied)`);
    throw err;
  } finally {
    input.destroy();
  }
}

function decode(decoder: TextDecoder, chunk: Buffer, path: string, label: string, encoding: TextEncoding, stream: boolean): string {
  try {
    return decoder.decode(chunk, { stream });
  } catch {
    throw invalid(`${path} is not valid ${encoding.toUpperCase()} text (wrong encoding?)`, {
      hint: `A ${label} is UTF-8${encoding === 'utf-8' ? ' (or UTF-16 with a byte-order mark)' : ''}; give the file exactly as downloaded.`,
    });
  }
}

/** Splits decoded text into lines (LF or CRLF), with 1-based numbers. Empty lines are kept. */
export async function* textLines(chunks: AsyncIterable<string>): AsyncGenerator<{ text: string; line: number }> {
  let buf = '';
  let line = 0;
  for await (const chunk of chunks) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      yield { text, line: ++line };
    }
  }
  if (buf !== '') yield { text: buf.replace(/\r$/, ''), line: ++line };
}

/**
 * Parses RFC 4180 CSV from decoded text: quoted fields may hold commas, doubled quotes and line
 * breaks. Blank lines are skipped. A quote left open at the end of the file means a truncated
 * file and is an INVALID_REQUEST naming the line where the record began.
 */
export async function* csvRecords(chunks: AsyncIterable<string>, where: string): AsyncGenerator<CsvRecord> {
  // State carried across chunks, so a chunk boundary can fall anywhere (even inside `""`).
  let fields: string[] = [];
  let field = '';
  let inQuotes = false;
  /** Saw `"` inside a quoted field as the last character of a chunk: an escape or the end. */
  let quotePending = false;
  let started = false;
  let afterCr = false;
  let line = 1;
  let recordLine = 1;
  const special = /[,\r\n"]/g;
  const records: CsvRecord[] = [];

  const endRecord = () => {
    if (started || field !== '' || fields.length > 0) {
      fields.push(field);
      records.push({ fields, line: recordLine });
    }
    fields = [];
    field = '';
    started = false;
  };

  for await (const chunk of chunks) {
    let i = 0;
    const n = chunk.length;
    if (afterCr && n > 0) {
      afterCr = false;
      if (chunk[0] === '\n') i = 1;
    }
    if (quotePending && i < n) {
      quotePending = false;
      if (chunk[i] === '"') {
        field += '"';
        inQuotes = true;
        i++;
      }
    }
    while (i < n) {
      if (inQuotes) {
        const q = chunk.indexOf('"', i);
        const end = q < 0 ? n : q;
        const text = chunk.slice(i, end);
        for (let k = text.indexOf('\n'); k >= 0; k = text.indexOf('\n', k + 1)) line++;
        field += text;
        if (q < 0) {
          i = n;
          break;
        }
        inQuotes = false;
        if (q + 1 >= n) {
          quotePending = true;
          i = n;
          break;
        }
        if (chunk[q + 1] === '"') {
          field += '"';
          inQuotes = true;
          i = q + 2;
        } else i = q + 1;
        continue;
      }
      special.lastIndex = i;
      const m = special.exec(chunk);
      const j = m ? m.index : n;
      if (j > i) {
        field += chunk.slice(i, j);
        started = true;
      }
      if (!m) {
        i = n;
        break;
      }
      const ch = chunk[j];
      if (ch === ',') {
        fields.push(field);
        field = '';
        started = true;
      } else if (ch === '"') {
        // A quote opens a quoted field only at its start; elsewhere it is data.
        if (field === '') inQuotes = true;
        else field += '"';
        started = true;
      } else {
        endRecord();
        line++;
        recordLine = line;
        if (ch === '\r') {
          if (j + 1 < n) {
            if (chunk[j + 1] === '\n') {
              i = j + 2;
              if (records.length) yield* records.splice(0);
              continue;
            }
          } else afterCr = true;
        }
      }
      i = j + 1;
      if (records.length) yield* records.splice(0);
    }
    if (records.length) yield* records.splice(0);
  }
  if (inQuotes) throw invalid(`${where}:${recordLine}: a quoted field is never closed (the file is truncated)`);
  endRecord();
  if (records.length) yield* records.splice(0);
}

/**
 * The line grammar WeChat Pay's trade and fund-flow bills share, read fast: lines a chunk at a
 * time from a plain or gzip file (strict UTF-8), backtick cells found without cutting the row up,
 * plain decimals and UTC+8 times parsed without regexes (anything else goes to the exact parsers),
 * and {@link BillLines}, which walks data rows, the summary header and the summary row.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { invalid, isPayError, type PayError } from '../../src/core/errors.js';
import { wallTimeToUtc } from '../../src/core/time.js';
import { TIME_ZONE } from './bill-format.js';

/** A damaged-bill error naming the file and line. */
export function damaged(path: string, line: number, message: string, hint = 'The bill looks damaged or truncated; download it again.'): PayError {
  return invalid(`${path}:${line}: ${message}`, { hint });
}


/**
 * Yields the lines of a plain or gzip file, decoded strictly as UTF-8 (BOM dropped), a chunk's
 * worth at a time (one await per chunk, not per line: the million-row path).
 */
export async function* readLines(path: string): AsyncGenerator<string[]> {
  let head: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      head = Buffer.alloc(2);
      const { bytesRead } = await fh.read(head, 0, 2, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw invalid(`cannot read bill ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const gzip = head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  const input: Readable = gzip ? file.pipe(createGunzip()) : file;
  if (gzip) file.on('error', (err) => input.destroy(err));
  let rest = '';
  let first = true;
  let offset = 0;
  // Strict UTF-8 without a streaming decoder: a character cut by the chunk's end waits for the
  // next chunk, and each whole part is validated (simdutf) before it is turned into text.
  let carry: Buffer | undefined;
  const decode = (chunk?: Buffer): string => {
    let buf = carry ? (chunk ? Buffer.concat([carry, chunk]) : carry) : chunk;
    carry = undefined;
    if (!buf || buf.length === 0) return '';
    if (chunk) {
      let i = buf.length - 1;
      while (i > 0 && buf.length - i < 4 && (buf[i] & 0xc0) === 0x80) i--;
      const lead = buf[i];
      const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
      if (buf.length - i < need) {
        carry = buf.subarray(i);
        buf = buf.subarray(0, i);
      }
    }
    if (!isUtf8(buf)) {
      throw invalid(`${path} is not UTF-8 text (near byte ${offset})`, {
        hint: 'WeChat Pay bills are UTF-8. A file opened and re-saved in Excel is often GBK: use the file as downloaded.',
      });
    }
    return buf.toString('utf8');
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let text = rest + decode(chunk);
      offset += chunk.length;
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      const parts = text.split('\n');
      rest = parts.pop()!;
      for (let i = 0; i < parts.length; i++) if (parts[i].endsWith('\r')) parts[i] = parts[i].slice(0, -1);
      if (parts.length) yield parts;
    }
    const tail = rest + decode();
    if (tail !== '') yield [tail.endsWith('\r') ? tail.slice(0, -1) : tail];
  } catch (err) {
    if (isPayError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (gzip && code?.startsWith('Z_')) throw invalid(`${path} is a damaged gzip file (${code})`, { hint: 'Download the bill again.' });
    throw invalid(`cannot read bill ${path} (${code ?? (err as Error).message})`);
  } finally {
    input.destroy();
    file.destroy();
  }
}

/** Splits a backtick row (`` `a,`b,`c ``) into its fields. */
function splitRow(line: string): string[] {
  return line.slice(1).split(',`').map((c) => c.trim());
}

/**
 * Where a backtick row's cells are, found without cutting the row up; a cell is cut (and trimmed)
 * only when read. The million-row path: a trade row has 27 cells and the reader uses about half.
 */
export class RowScanner {
  private starts = new Int32Array(32);
  private ends = new Int32Array(32);
  private count = 0;
  private line = '';

  /** Finds the cells of a data row (it starts with a backtick); returns how many there are. */
  scan(line: string): number {
    this.line = line;
    let n = 0;
    let start = 1;
    for (;;) {
      if (n === this.starts.length) {
        const grow = (a: Int32Array) => {
          const b = new Int32Array(a.length * 2);
          b.set(a);
          return b;
        };
        this.starts = grow(this.starts);
        this.ends = grow(this.ends);
      }
      const at = line.indexOf(',`', start);
      this.starts[n] = start;
      this.ends[n++] = at < 0 ? line.length : at;
      if (at < 0) break;
      start = at + 2;
    }
    return (this.count = n);
  }

  /** Cell i, trimmed; '' for a column the bill lacks (-1). */
  cell(i: number): string {
    return i >= 0 && i < this.count ? this.line.substring(this.starts[i], this.ends[i]).trim() : '';
  }
}

/**
 * A plain decimal (`-12.34`) with at most `decimals` places as an integer of 10^-decimals;
 * undefined for anything else, which the exact parser then explains (or takes). The fast path of
 * a big bill: no regex, no allocation.
 */
export function plainDecimal(text: string, decimals: number): number | undefined {
  const n = text.length;
  if (n === 0 || n > 17) return undefined;
  let i = 0;
  const neg = text.charCodeAt(0) === 45;
  if (neg) i = 1;
  let v = 0;
  let whole = 0;
  let frac = -1;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      if (frac >= 0) frac++;
      else whole++;
    } else if (c === 46 && frac < 0 && whole > 0) frac = 0;
    else return undefined;
  }
  if (whole === 0 || frac === 0 || frac > decimals) return undefined;
  v *= 10 ** (decimals - (frac < 0 ? 0 : frac));
  if (!Number.isSafeInteger(v)) return undefined;
  return neg ? 0 - v : v;
}

/** {@link wallToMs} without the regex, for `YYYY-MM-DD HH:MM:SS` from 1992 on; undefined otherwise. */
function fastWallToMs(t: string): number | undefined {
  if (t.length !== 19 || t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45 || t.charCodeAt(10) !== 32 || t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58) return undefined;
  const d = (at: number) => {
    const a = t.charCodeAt(at) - 48;
    const b = t.charCodeAt(at + 1) - 48;
    return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
  };
  const hi = d(0);
  const lo = d(2);
  const mo = d(5);
  const dd = d(8);
  const h = d(11);
  const mi = d(14);
  const se = d(17);
  if (hi < 0 || lo < 0 || mo < 0 || dd < 0 || h < 0 || mi < 0 || se < 0) return undefined;
  const y = hi * 100 + lo;
  if (y < 1992) return undefined;
  return Date.UTC(y, mo - 1, dd, h, mi, se) - 8 * 3600_000;
}

/** `2021-01-28 17:07:11` (UTC+8) -> UTC ms; undefined when not a date-time. */
export function wallToMs(text: string): number | undefined {
  const fast = fastWallToMs(text);
  if (fast !== undefined) return fast;
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  const y = Number(m[1]);
  // China has kept UTC+8 without DST since 1992: a fixed offset is exact and fast for big files.
  if (y >= 1992) return Date.UTC(y, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) - 8 * 3600_000;
  return wallTimeToUtc(text, TIME_ZONE);
}


/**
 * The line grammar both WeChat bills share: data rows (each cell prefixed with a backtick, as
 * many as the header), then a summary header line starting with `summaryStart` and one summary
 * row, nothing after. {@link fields} returns a data row's cells, or undefined for a line it took
 * (blank, summary); {@link end} returns the summary once the lines run out.
 */
export class BillLines {
  lineNo: number;
  private summaryHeader: string[] | undefined;
  private summary: string[] | undefined;
  constructor(
    private readonly path: string,
    private readonly width: number,
    private readonly summaryStart: string,
    headerLineNo: number,
  ) {
    this.lineNo = headerLineNo;
  }

  /** Cells of the next line when it is a data row; undefined for a blank or summary line. */
  fields(line: string): string[] | undefined {
    if (!this.isData(line)) return undefined;
    const f = splitRow(line);
    if (f.length !== this.width) throw damaged(this.path, this.lineNo, `expected ${this.width} fields, found ${f.length}`);
    return f;
  }

  /** {@link fields} through a scanner: true when the line is a data row, its cells in `row`. */
  scan(line: string, row: RowScanner): boolean {
    if (!this.isData(line)) return false;
    const n = row.scan(line);
    if (n !== this.width) throw damaged(this.path, this.lineNo, `expected ${this.width} fields, found ${n}`);
    return true;
  }

  /** Takes the next line: true for a data row (not yet split), false for a blank or summary line. */
  private isData(line: string): boolean {
    const lineNo = ++this.lineNo;
    if (line.trim() === '') return false;
    if (this.summary) throw damaged(this.path, lineNo, 'data after the summary row');
    if (this.summaryHeader) {
      if (!line.startsWith('`')) throw damaged(this.path, lineNo, 'the summary header is not followed by a summary row');
      this.summary = splitRow(line);
      if (this.summary.length !== this.summaryHeader.length) throw damaged(this.path, lineNo, `summary has ${this.summary.length} fields, its header ${this.summaryHeader.length}`);
      return false;
    }
    if (line.startsWith(this.summaryStart)) {
      this.summaryHeader = line.split(',').map((h) => h.trim());
      return false;
    }
    if (!line.startsWith('`')) throw damaged(this.path, lineNo, `unexpected line ${JSON.stringify(line.slice(0, 40))}`);
    return true;
  }

  /** The summary row and a column finder over its header; a bill without one is truncated. */
  end(rows: number): { summary: string[]; col: (name: string) => number } {
    if (!this.summaryHeader || !this.summary) {
      throw damaged(this.path, this.lineNo, `no summary section (${this.summaryStart}...) after ${rows} row${rows === 1 ? '' : 's'}: the file is truncated`);
    }
    return { summary: this.summary, col: indexer(this.summaryHeader) };
  }
}

/** Column index by name; amount columns may carry a unit suffix such as "(元)". */
export function indexer(header: string[]): (name: string) => number {
  const map = new Map<string, number>();
  header.forEach((h, i) => {
    map.set(h, i);
    map.set(h.replace(/[（(][^)）]*[)）]$/, ''), i);
  });
  return (name) => map.get(name) ?? -1;
}

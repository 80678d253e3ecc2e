/**
 * The shared streaming text and CSV reader (src/channel/csv.ts) behind Stripe's and PayPal's
 * statements, generic mapped bills and `pay orders import`: RFC 4180 parsing across any chunking,
 * line numbers across quoted line breaks, encodings (declared, sniffed, byte-order marks), gzip,
 * and errors that name the file and the line.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEncoding, CsvParser, csvRecords, decodeFile, readCsvRecords, readTextLineBatches, sniffEncoding, textLineBatches, type CsvRecord, type TextFileOptions } from '../../src/channel/csv.js';
import { isPayError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/cli.js';

/** Feeds `text` to a parser in chunks of `size` characters. */
function parse(text: string, size: number, delimiter = ','): CsvRecord[] {
  const p = new CsvParser(delimiter);
  const out: CsvRecord[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...p.push(text.slice(i, i + size)));
  out.push(...p.push('', true));
  return out;
}

const SAMPLE = 'a,b,c\r\n1,"two, with comma",3\n"multi\nline","say ""hi""",\n\n4,5,6';

describe('CsvParser', () => {
  it('parses quotes, doubled quotes, embedded line breaks, CRLF and a last line without newline', () => {
    expect(parse(SAMPLE, 1 << 20)).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', 'two, with comma', '3'] },
      { line: 3, fields: ['multi\nline', 'say "hi"', ''] },
      { line: 6, fields: ['4', '5', '6'] },
    ]);
  });

  it('gives the same records whatever the chunk boundaries', () => {
    const whole = parse(SAMPLE, 1 << 20);
    for (const size of [1, 2, 3, 5, 7, 11]) expect(parse(SAMPLE, size)).toEqual(whole);
  });

  it('splits on any one-character delimiter and rejects impossible ones', () => {
    expect(parse('x;"y;z"\n', 4, ';')).toEqual([{ line: 1, fields: ['x', 'y;z'] }]);
    expect(parse('x\ty\n', 4, '\t')).toEqual([{ line: 1, fields: ['x', 'y'] }]);
    expect(() => new CsvParser('"')).toThrow(/delimiter/);
    expect(() => new CsvParser(';;')).toThrow(/delimiter/);
  });

  it('reports a quoted field that never closes (a truncated file)', () => {
    expect(() => parse('a,b\n1,"unterminated\n', 3)).toThrow(/line 2: a quoted field is never closed/);
  });

  it('counts lines right across quoted line breaks (LF and CRLF), for any chunking', () => {
    const text = 'h1,h2\r\n"a\r\nb\r\nc",1\r\n\r\nx,"y\n\n"\nlast,"q"\n';
    const expected = [
      { line: 1, fields: ['h1', 'h2'] },
      { line: 2, fields: ['a\r\nb\r\nc', '1'] },
      { line: 6, fields: ['x', 'y\n\n'] },
      { line: 9, fields: ['last', 'q'] },
    ];
    for (const size of [1, 2, 3, 4, 5, 8, 13, 1 << 20]) expect(parse(text, size), `chunks of ${size}`).toEqual(expected);
  });

  it('opens a quote only at the start of a field; elsewhere, and after a closing quote, it is data', () => {
    expect(parse('a"b,c\n', 64)).toEqual([{ line: 1, fields: ['a"b', 'c'] }]);
    expect(parse('"ab"c,d\n', 64)).toEqual([{ line: 1, fields: ['abc', 'd'] }]);
    expect(parse('"",""""\n', 64)).toEqual([{ line: 1, fields: ['', '"'] }]);
    expect(parse('x,"a""b"\n', 64)).toEqual([{ line: 1, fields: ['x', 'a"b'] }]);
  });

  it('keeps empty fields and a last record without a line break, and skips blank lines', () => {
    expect(parse(',,\n\n\r\n"",\n1,2', 64)).toEqual([
      { line: 1, fields: ['', '', ''] },
      { line: 4, fields: ['', ''] },
      { line: 5, fields: ['1', '2'] },
    ]);
  });

  it('holds back a quote that ends a chunk until it knows whether `""` follows', () => {
    const p = new CsvParser(',');
    expect(p.push('"say ""hi"')).toEqual([]);
    expect(p.push('"",2\n')).toEqual([{ line: 1, fields: ['say "hi"', '2'] }]);
    expect(p.push('"x"')).toEqual([]);
    expect(p.push('', true)).toEqual([{ line: 2, fields: ['x'] }]);
  });

  it('names the file and the line the record began on for an unclosed quote', () => {
    const p = new CsvParser(',', 'report.csv');
    expect(p.push('a,b\nc,"open\nmore\n')).toEqual([{ line: 1, fields: ['a', 'b'] }]);
    let err: unknown;
    try {
      p.push('', true);
    } catch (e) {
      err = e;
    }
    expect(isPayError(err) && err.code).toBe('INVALID_REQUEST');
    expect((err as Error).message).toBe('report.csv:2: a quoted field is never closed (the file is truncated?)');
  });

  it('agrees with an independent writer on generated records, whatever the chunking', () => {
    const cells = ['plain', '', 'with,comma', 'say "hi"', 'two\nlines', 'crlf\r\ninside', '商户', ' spaced ', '"'];
    const rows: string[][] = [];
    for (let r = 0; r < 60; r++) rows.push(Array.from({ length: 4 }, (_, c) => cells[(r * 7 + c * 3) % cells.length]));
    const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    const text = `${rows.map((r) => r.map(quote).join(',')).join('\r\n')}\r\n`;
    let line = 1;
    const expected = rows.map((fields) => {
      const rec = { line, fields };
      line += fields.join('').split('\n').length;
      return rec;
    });
    for (const size of [1, 7, 64, 1000, 1 << 20]) expect(parse(text, size), `chunks of ${size}`).toEqual(expected);
  });
});

describe('csvRecords over decoded chunks', () => {
  async function* chars(text: string) {
    for (const c of text) yield c;
  }
  it('parses quoted fields, doubled quotes, CRLF and embedded newlines across any chunking', async () => {
    const text = 'a,b,c\r\n"x, y","say ""hi""","multi\nline"\r\n\r\nlast,,\n';
    const expected = [
      { fields: ['a', 'b', 'c'], line: 1 },
      { fields: ['x, y', 'say "hi"', 'multi\nline'], line: 2 },
      { fields: ['last', '', ''], line: 5 },
    ];
    const one: unknown[] = [];
    for await (const r of csvRecords((async function* () { yield text; })(), 'f')) one.push(r);
    expect(one).toEqual(expected);
    const each: unknown[] = [];
    for await (const r of csvRecords(chars(text), 'f')) each.push(r);
    expect(each).toEqual(expected);
  });
  it('sniffs UTF-16 with and without a BOM', () => {
    expect(sniffEncoding(Buffer.from([0xff, 0xfe, 0x22, 0x00]))).toEqual({ encoding: 'utf-16le', bomLength: 2 });
    expect(sniffEncoding(Buffer.from('"R', 'utf16le'))).toEqual({ encoding: 'utf-16le', bomLength: 0 });
    expect(sniffEncoding(Buffer.from([0xef, 0xbb, 0xbf, 0x22]))).toEqual({ encoding: 'utf-8', bomLength: 3 });
    expect(sniffEncoding(Buffer.from([0xfe, 0xff, 0x00, 0x22]))).toEqual({ encoding: 'utf-16be', bomLength: 2 });
    expect(sniffEncoding(Buffer.from('"R', 'utf16le').swap16())).toEqual({ encoding: 'utf-16be', bomLength: 0 });
    expect(sniffEncoding(Buffer.from('ab,c'))).toEqual({ encoding: 'utf-8', bomLength: 0 });
  });
});

describe('readCsvRecords', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp.cleanup());

  const collect = async (path: string, options = {}) => {
    const out: CsvRecord[] = [];
    for await (const r of readCsvRecords(path, options)) out.push(r);
    return out;
  };
  const failure = async (p: Promise<unknown>): Promise<Error & { code?: string; hint?: string }> => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPayError(err), String(err)).toBe(true);
    return err as Error;
  };

  it('reads UTF-8 with a BOM, gzip, GBK and UTF-16 files', async () => {
    const text = '商户订单号,金额\nP1,12.34\n';
    const expected = [
      { line: 1, fields: ['商户订单号', '金额'] },
      { line: 2, fields: ['P1', '12.34'] },
    ];
    const files: [string, Buffer, string][] = [
      ['bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), 'utf-8'],
      ['plain.csv.gz', gzipSync(Buffer.from(text)), 'utf-8'],
      ['gbk.csv', iconv.encode(text, 'gbk'), 'gbk'],
      ['u16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'utf-16le'],
    ];
    for (const [name, bytes, encoding] of files) {
      writeFileSync(join(tmp.dir, name), bytes);
      expect(await collect(join(tmp.dir, name), { encoding }), name).toEqual(expected);
    }
  });

  it('sniffs the encoding when none is declared; a byte-order mark wins over a declared one', async () => {
    const text = 'order,amount\nP1,1.00\n"multi\nline",2.00\n';
    const expected = [
      { line: 1, fields: ['order', 'amount'] },
      { line: 2, fields: ['P1', '1.00'] },
      { line: 3, fields: ['multi\nline', '2.00'] },
    ];
    const files: [string, Buffer, string | undefined][] = [
      ['auto-utf8.csv', Buffer.from(text), undefined],
      ['auto-u16le.csv', Buffer.from(text, 'utf16le'), undefined],
      ['auto-u16be-bom.csv', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]), undefined],
      ['bom-beats-gbk.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), 'gbk'],
      ['gb18030.csv', iconv.encode(text, 'gb18030'), 'gb18030'],
      ['u16be.csv', Buffer.from(text, 'utf16le').swap16(), 'utf-16be'],
    ];
    for (const [name, bytes, encoding] of files) {
      writeFileSync(join(tmp.dir, name), bytes);
      expect(await collect(join(tmp.dir, name), encoding ? { encoding } : {}), name).toEqual(expected);
    }
    // Refused where a format is UTF-8 only.
    const err = await failure(collect(join(tmp.dir, 'auto-u16le.csv'), { allowUtf16: false, label: 'Stripe balance-transaction file' }));
    expect(err.message).toMatch(/auto-u16le\.csv is UTF-16LE text, but a Stripe balance-transaction file is UTF-8/);
    expect(checkEncoding('UTF8')).toBe('utf-8');
    expect(checkEncoding(' GBK ')).toBe('gbk');
  });

  it('streams a large file record by record, reporting bytes read', async () => {
    const path = join(tmp.dir, 'big.csv');
    const lines = ['n,v'];
    for (let i = 0; i < 50_000; i++) lines.push(`${i},"v ${i}"`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    let bytes = 0;
    let count = 0;
    let last: CsvRecord | undefined;
    for await (const r of readCsvRecords(path, { onBytes: (n) => (bytes = n) })) {
      count++;
      last = r;
    }
    expect(count).toBe(50_001);
    expect(last).toEqual({ line: 50_001, fields: ['49999', 'v 49999'] });
    expect(bytes).toBeGreaterThan(500_000);
  });

  it('fails clearly on a file in another encoding, a damaged gzip, a missing file', async () => {
    writeFileSync(join(tmp.dir, 'wrong.csv'), iconv.encode('订单,金额\nP1,1.00\n', 'gbk'));
    await expect(collect(join(tmp.dir, 'wrong.csv'))).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/not valid UTF-8 \(near line 1\)/) });
    const gz = gzipSync(Buffer.from('a,b\n'.repeat(1000)));
    writeFileSync(join(tmp.dir, 'cut.csv.gz'), gz.subarray(0, gz.length - 10));
    await expect(collect(join(tmp.dir, 'cut.csv.gz'))).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/damaged gzip/) });
    await expect(collect(join(tmp.dir, 'absent.csv'))).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/does not exist/) });
    await expect(collect(join(tmp.dir, 'bom.csv'), { encoding: 'latin9' })).rejects.toMatchObject({ message: expect.stringMatching(/unsupported encoding/) });
    await expect(collect(tmp.dir, { label: 'PayPal settlement report' })).rejects.toMatchObject({ message: expect.stringMatching(/is a directory, not a PayPal settlement report/) });
  });

  it('names the line of invalid bytes, also deep in a large file and after quoted line breaks', async () => {
    const small = join(tmp.dir, 'bad-line-3.csv');
    writeFileSync(small, Buffer.concat([Buffer.from('a,b\n"x\ny",1\n'), iconv.encode('订单,2\n', 'gbk')]));
    const err = await failure(collect(small));
    expect(err.message).toBe(`${small} is not valid UTF-8 (near line 4)`);
    const big = join(tmp.dir, 'bad-deep.csv');
    const head = Array.from({ length: 120_000 }, (_, i) => `${i},row ${i}`).join('\n');
    writeFileSync(big, Buffer.concat([Buffer.from(`${head}\n`), iconv.encode('订单,2\n', 'gbk')]));
    expect((await failure(collect(big))).message).toBe(`${big} is not valid UTF-8 (near line 120001)`);
    expect((await failure(collect(big, { encodingHint: 'Set "encoding" in the mapping.' }))).hint).toBe('Set "encoding" in the mapping.');
  });

  it('names the file and line of an unclosed quote', async () => {
    const path = join(tmp.dir, 'cut.csv');
    writeFileSync(path, 'id,note\n1,ok\n2,"cut here\nand more');
    expect((await failure(collect(path))).message).toBe(`${path}:3: a quoted field is never closed (the file is truncated?)`);
  });
});

/** The lines of a file one by one, numbered, as the statement readers take them. */
async function* readTextLines(path: string, options: TextFileOptions = {}) {
  for await (const { lines, first } of readTextLineBatches(path, options)) for (let i = 0; i < lines.length; i++) yield { text: lines[i], line: first + i };
}

describe('readTextLineBatches and decodeFile', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp.cleanup());

  it('numbers lines (LF or CRLF), keeps empty ones, and drops the BOM', async () => {
    const path = join(tmp.dir, 'lines.jsonl');
    writeFileSync(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}\r\n\r\n{"b":2}\n{"c":3}')]));
    const out: unknown[] = [];
    for await (const l of readTextLines(path)) out.push(l);
    expect(out).toEqual([
      { text: '{"a":1}', line: 1 },
      { text: '', line: 2 },
      { text: '{"b":2}', line: 3 },
      { text: '{"c":3}', line: 4 },
    ]);
  });

  it('hands lines over an array per chunk of text, numbered across chunks, CRLF split between chunks included', async () => {
    async function* chunks() {
      yield* ['a\r', '\nb\n\nc', 'd\r\n', 'e\r'];
    }
    const out: unknown[] = [];
    for await (const b of textLineBatches(chunks())) out.push(b);
    expect(out).toEqual([
      { lines: ['a', 'b', ''], first: 1 },
      { lines: ['cd'], first: 4 },
      { lines: ['e'], first: 5 },
    ]);
  });

  it('decodes gzip files, and reports invalid bytes by line', async () => {
    const gz = join(tmp.dir, 'lines.jsonl.gz');
    writeFileSync(gz, gzipSync(Buffer.from('x\ny\n')));
    let text = '';
    for await (const chunk of decodeFile(gz)) text += chunk;
    expect(text).toBe('x\ny\n');
    const bad = join(tmp.dir, 'bad.jsonl');
    writeFileSync(bad, Buffer.concat([Buffer.from('{"a":1}\n{"b":2}\n'), Buffer.from([0xff, 0x0a])]));
    const lines = async () => {
      for await (const _ of readTextLines(bad, { label: 'Stripe balance-transaction file', allowUtf16: false })) void _;
    };
    await expect(lines()).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: `${bad} is not valid UTF-8 (near line 3)`, hint: expect.stringMatching(/Stripe balance-transaction file is UTF-8/) });
    // Without a line reader on top, the message still names the file.
    const whole = async () => {
      for await (const _ of decodeFile(bad)) void _;
    };
    await expect(whole()).rejects.toMatchObject({ message: `${bad} is not valid UTF-8 text (wrong encoding?)` });
  });
});

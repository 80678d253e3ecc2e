import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvParser, readCsvRecords, type CsvRecord } from '../../src/reconcile/csv-reader.js';
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
  });
});

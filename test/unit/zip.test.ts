/**
 * The shared streaming zip reader and writer (src/channel/zip.ts) that Alipay's and UnionPay's
 * bills use: names by the UTF-8 flag (GBK otherwise), archives from an independent writer
 * (yazl called directly, stored and deflated), our archives read by an independent reader, streaming of a large
 * entry, lazily produced later entries, zip64 directories, and every kind of damage.
 */
import iconv from 'iconv-lite';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeEntryName, isZip, listZip, openEntry, readEntry, writeZip, ZipFormatError, type ZipEntry } from '../../src/channel/zip.js';
import { tempDir } from '../helpers/cli.js';
import { unzipOf, zipOf } from '../helpers/zip.js';

const tmp = tempDir('pay-zip-');
afterAll(() => tmp.cleanup());
let n = 0;
const file = (name: string) => join(tmp.dir, `${n++}-${name}`);
const gbk = (s: string) => iconv.encode(s, 'gbk');

async function failure(p: Promise<unknown>): Promise<ZipFormatError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ZipFormatError);
  return err as ZipFormatError;
}

/** Offset of the central directory, from the end record of a plain zip. */
function cdOffsetOf(bytes: Buffer): number {
  return bytes.readUInt32LE(bytes.length - 22 + 16);
}

/** The DOS time and date fields of the first central directory record, as wall-clock fields. */
function dosStamp(bytes: Buffer): string {
  const cen = cdOffsetOf(bytes);
  const time = bytes.readUInt16LE(cen + 12);
  const date = bytes.readUInt16LE(cen + 14);
  const pad = (v: number) => String(v).padStart(2, '0');
  return `${(date >> 9) + 1980}-${pad((date >> 5) & 15)}-${pad(date & 31)} ${pad(time >> 11)}:${pad((time >> 5) & 63)}:${pad((time & 31) * 2)}`;
}

/**
 * Rewrites a plain single-pass zip (ours) into its zip64 form: saturated sizes and offsets in
 * the central directory with a 0x0001 extra field, a zip64 end record and its locator.
 */
function toZip64(bytes: Buffer): Buffer {
  const count = bytes.readUInt16LE(bytes.length - 22 + 10);
  const cdStart = cdOffsetOf(bytes);
  const body = bytes.subarray(0, cdStart);
  const records: Buffer[] = [];
  let p = cdStart;
  for (let i = 0; i < count; i++) {
    const nameLen = bytes.readUInt16LE(p + 28);
    const cen = Buffer.from(bytes.subarray(p, p + 46));
    const name = bytes.subarray(p + 46, p + 46 + nameLen);
    const extra = Buffer.alloc(4 + 24);
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(24, 2);
    extra.writeBigUInt64LE(BigInt(cen.readUInt32LE(24)), 4);
    extra.writeBigUInt64LE(BigInt(cen.readUInt32LE(20)), 12);
    extra.writeBigUInt64LE(BigInt(cen.readUInt32LE(42)), 20);
    cen.writeUInt32LE(0xffffffff, 20);
    cen.writeUInt32LE(0xffffffff, 24);
    cen.writeUInt32LE(0xffffffff, 42);
    cen.writeUInt16LE(extra.length, 30);
    records.push(cen, name, extra);
    p += 46 + nameLen + bytes.readUInt16LE(p + 30) + bytes.readUInt16LE(p + 32);
  }
  const cd = Buffer.concat(records);
  const rec = Buffer.alloc(56);
  rec.writeUInt32LE(0x06064b50, 0);
  rec.writeBigUInt64LE(44n, 4);
  rec.writeUInt16LE(45, 12);
  rec.writeUInt16LE(45, 14);
  rec.writeBigUInt64LE(BigInt(count), 24);
  rec.writeBigUInt64LE(BigInt(count), 32);
  rec.writeBigUInt64LE(BigInt(cd.length), 40);
  rec.writeBigUInt64LE(BigInt(body.length), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(body.length + cd.length), 8);
  locator.writeUInt32LE(1, 16);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  eocd.writeUInt32LE(0xffffffff, 12);
  eocd.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([body, cd, rec, locator, eocd]);
}

describe('zip: writing', () => {
  it('stores string names as UTF-8 (flagged only when not ASCII) and byte names as given (GBK, unflagged)', async () => {
    const path = file('names.zip');
    await writeZip(
      path,
      [
        { name: 'readme.txt', data: Buffer.from('plain') },
        { name: '账单 über.csv', data: [Buffer.from('utf-8 '), Buffer.from('name')] },
        { name: gbk('2088_20190916_业务明细.csv'), data: [Buffer.from('gbk name')] },
      ],
      Date.UTC(2019, 8, 17, 5, 46, 49),
    );
    const entries = await listZip(path);
    expect(entries.map((e) => e.name)).toEqual(['readme.txt', '账单 über.csv', '2088_20190916_业务明细.csv']);
    expect(entries.map((e) => e.flags & 0x800)).toEqual([0, 0x800, 0]);
    expect(entries.every((e) => e.method === 8 && (e.flags & 0x08) === 0x08)).toBe(true);
    expect(entries.map((e) => e.size)).toEqual([5, 10, 8]);
    // An independent reader sees the same names (its unflagged names are Latin-1 bytes) and data.
    const files = await unzipOf(readFileSync(path));
    expect(Object.keys(files)[1]).toBe('账单 über.csv');
    expect(iconv.decode(Buffer.from(Object.keys(files)[2], 'latin1'), 'gbk')).toBe('2088_20190916_业务明细.csv');
    expect(Object.values(files).map((d) => Buffer.from(d).toString())).toEqual(['plain', 'utf-8 name', 'gbk name']);
    for (const e of entries) expect((await readEntry(path, e)).length).toBe(e.size);
  });

  it('records the modification time given (DOS fields, two-second precision)', async () => {
    const path = file('mtime.zip');
    await writeZip(path, [{ name: 'a', data: Buffer.from('x') }], Date.UTC(2026, 10, 23, 5, 0, 7));
    expect(dosStamp(readFileSync(path))).toBe('2026-11-23 05:00:06');
    const before1980 = file('old.zip');
    await writeZip(before1980, [{ name: 'a', data: Buffer.from('x') }], Date.UTC(1975, 0, 1));
    expect(dosStamp(readFileSync(before1980)).slice(0, 4)).toBe('1980');
  });

  it('produces a later entry only after the earlier ones are written (a summary of the detail)', async () => {
    const path = file('lazy.zip');
    let rows = 0;
    async function* detail() {
      for (let i = 0; i < 1000; i++) {
        rows++;
        yield Buffer.from(`row ${i}\n`);
      }
    }
    function* summary() {
      yield Buffer.from(`rows=${rows}`);
    }
    await writeZip(path, [{ name: 'detail.txt', data: detail() }, { name: 'summary.txt', data: summary() }], Date.now());
    const [, s] = await listZip(path);
    expect((await readEntry(path, s)).toString()).toBe('rows=1000');
  });

  it('writes an empty archive that is still recognised and lists nothing', async () => {
    const path = file('empty.zip');
    await writeZip(path, [], Date.now());
    expect(readFileSync(path).length).toBe(22);
    expect(isZip(readFileSync(path))).toBe(true);
    expect(await listZip(path)).toEqual([]);
  });
});

describe('zip: reading', () => {
  it('tells a zip from a CSV by its first bytes', () => {
    expect(isZip(Buffer.from('PK\x03\x04rest', 'latin1'))).toBe(true);
    expect(isZip(Buffer.from('#支付宝业务明细查询'))).toBe(false);
    expect(isZip(Buffer.from('PK'))).toBe(false);
  });

  it('decodes names by the general-purpose flag: UTF-8 when set, GBK otherwise', () => {
    expect(decodeEntryName(Buffer.from('明细.csv', 'utf8'), 0x800)).toBe('明细.csv');
    expect(decodeEntryName(gbk('明细.csv'), 0)).toBe('明细.csv');
    expect(decodeEntryName(Buffer.from('INN26112288ZM_777290058110097'), 0)).toBe('INN26112288ZM_777290058110097');
  });

  it('reads archives from an independent writer: stored and deflated entries, UTF-8 names', async () => {
    const path = file('independent.zip');
    const big = Buffer.from('0123456789abcdef'.repeat(20_000));
    writeFileSync(path, await zipOf({ 'stored.txt': [Buffer.from('kept as is'), { level: 0 }], 'deflated.bin': [big, { level: 9 }], '对账单.txt': Buffer.from('名') }));
    const entries = await listZip(path);
    expect(entries.map((e) => [e.name, e.method])).toEqual([
      ['stored.txt', 0],
      ['deflated.bin', 8],
      ['对账单.txt', 8],
    ]);
    expect((await readEntry(path, entries[0])).toString()).toBe('kept as is');
    expect((await readEntry(path, entries[1])).equals(big)).toBe(true);
    expect((await readEntry(path, entries[2])).toString()).toBe('名');
  });

  it('streams a large entry in chunks, byte for byte', async () => {
    const path = file('large.zip');
    const hash = createHash('sha256');
    function* source() {
      for (let i = 0; i < 200; i++) {
        const chunk = Buffer.from(`${String(i).padStart(6, '0')},${'x'.repeat(i % 97)},${createHash('md5').update(String(i)).digest('hex')}\n`.repeat(400));
        hash.update(chunk);
        yield chunk;
      }
    }
    await writeZip(path, [{ name: 'big.csv', data: source() }], Date.now());
    const [entry] = await listZip(path);
    expect(entry.size).toBeGreaterThan(4_000_000);
    const back = createHash('sha256');
    let chunks = 0;
    for await (const c of openEntry(path, entry)) {
      back.update(c);
      chunks++;
    }
    expect(chunks).toBeGreaterThan(1);
    expect(back.digest('hex')).toBe(hash.digest('hex'));
  });

  it('stops early without complaint (a reader that breaks out of the loop)', async () => {
    const path = file('early.zip');
    await writeZip(path, [{ name: 'a.txt', data: Buffer.alloc(3_000_000, 0x61) }], Date.now());
    const [entry] = await listZip(path);
    let seen = 0;
    for await (const c of openEntry(path, entry)) {
      seen += c.length;
      break;
    }
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(3_000_000);
  });

  it('reads zip64 directories (saturated sizes and offsets, the zip64 end record)', async () => {
    const plain = file('plain.zip');
    await writeZip(plain, [{ name: 'one.txt', data: Buffer.from('first') }, { name: 'two.txt', data: Buffer.from('second entry') }], Date.now());
    const path = file('zip64.zip');
    writeFileSync(path, toZip64(readFileSync(plain)));
    const entries = await listZip(path);
    expect(entries).toEqual(await listZip(plain));
    expect((await readEntry(path, entries[1])).toString()).toBe('second entry');
  });
});

describe('zip: damage is a ZipFormatError', () => {
  const sample = async () => {
    const path = file('good.zip');
    await writeZip(path, [{ name: 'detail.csv', data: Buffer.from('a,b,c\n'.repeat(2000)) }, { name: 'sum.csv', data: Buffer.from('n=2000\n') }], Date.now());
    return readFileSync(path);
  };
  const saved = (bytes: Buffer) => {
    const path = file('bad.zip');
    writeFileSync(path, bytes);
    return path;
  };
  const firstEntry = async (path: string): Promise<ZipEntry> => (await listZip(path))[0];

  it('not a zip, or too short to be one', async () => {
    expect((await failure(listZip(saved(Buffer.from('order,amount\nP1,1.00\nP2,2.00\nP3,3.00\n'))))).message).toMatch(/end-of-central-directory/);
    expect((await failure(listZip(saved(Buffer.from('PK\x03\x04'))))).message).toMatch(/too short/);
  });

  it('truncated: the directory is cut off, or an entry runs past the end', async () => {
    const bytes = await sample();
    expect((await failure(listZip(saved(bytes.subarray(0, bytes.length - 30))))).message).toMatch(/truncated|end-of-central-directory/);
    const path = saved(bytes);
    const entry = { ...(await firstEntry(path)), compressedSize: bytes.length };
    expect((await failure(readEntry(path, entry))).message).toMatch(/detail\.csv is cut short/);
  });

  it('a flipped byte in deflated data fails inflation or the CRC-32', async () => {
    const bytes = Buffer.from(await sample());
    bytes[60] ^= 0xff;
    const path = saved(bytes);
    expect((await failure(readEntry(path, await firstEntry(path)))).message).toMatch(/detail\.csv (cannot be inflated|fails its CRC-32|is \d+ bytes)/);
  });

  it('a flipped byte in stored data fails the CRC-32 exactly', async () => {
    const bytes = Buffer.from(await zipOf({ 'stored.txt': [Buffer.from('0123456789'), { level: 0 }] }));
    bytes[30 + 'stored.txt'.length + 3] ^= 0x01;
    const path = saved(bytes);
    expect((await failure(readEntry(path, await firstEntry(path)))).message).toBe('stored.txt fails its CRC-32 check (the zip is damaged)');
  });

  it('a directory that lies about the size', async () => {
    const path = saved(await sample());
    const entry = { ...(await firstEntry(path)), size: 5 };
    expect((await failure(readEntry(path, entry))).message).toBe('detail.csv is 12000 bytes, the directory says 5 (the zip is damaged)');
  });

  it('a damaged local header, a damaged directory, an unsupported method', async () => {
    const bytes = await sample();
    const path = saved(bytes);
    const entry = await firstEntry(path);
    expect((await failure(readEntry(path, { ...entry, localOffset: 7 }))).message).toMatch(/damaged local header for detail\.csv/);
    expect((await failure(readEntry(path, { ...entry, method: 12 }))).message).toMatch(/compression method 12/);
    const broken = Buffer.from(bytes);
    broken.writeUInt32LE(0, cdOffsetOf(bytes));
    expect((await failure(listZip(saved(broken)))).message).toMatch(/damaged central directory/);
  });
});

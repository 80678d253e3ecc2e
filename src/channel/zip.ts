/**
 * A small streaming zip reader and writer over node:zlib, for the channels whose statements come
 * zipped (Alipay's trade bill archive, UnionPay's ZM + RD file). Reading uses the central
 * directory (random access, zip64 included) and streams each entry through zlib, checking its
 * CRC-32 and size, so a bill of millions of rows is never held in memory. Entry names are UTF-8
 * when the general-purpose flag (bit 11) says so, else the Chinese legacy code page (GB18030, a
 * superset of the GBK that Alipay writes without the flag; plain ASCII reads the same either way).
 * Writing streams too: each entry's sizes and CRC follow its data in a data descriptor (bit 3).
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { crc32, createDeflateRaw, createInflateRaw, type ZlibOptions } from 'node:zlib';

/** One entry of the central directory. */
export interface ZipEntry {
  /** Name decoded (UTF-8 when flagged, else GB18030/GBK). */
  name: string;
  /** Compression method: 0 stored, 8 deflate (the only two read). */
  method: number;
  /** General-purpose bit flags (bit 3: data descriptor, bit 11: UTF-8 name). */
  flags: number;
  /** CRC-32 of the uncompressed data. */
  crc: number;
  compressedSize: number;
  /** Uncompressed size. */
  size: number;
  /** Offset of the local file header. */
  localOffset: number;
}

/** Anything that is not a readable zip; callers turn it into their own error. */
export class ZipFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipFormatError';
  }
}

const SIG = { EOCD: 0x06054b50, ZIP64_LOCATOR: 0x07064b50, ZIP64_EOCD: 0x06064b50, CEN: 0x02014b50, LOC: 0x04034b50, DESC: 0x08074b50 };
const U32 = 0xffffffff;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;

/** True when `head` starts like a zip file (a local header, or the end record of an empty zip). */
export function isZip(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  const sig = (head[0] | (head[1] << 8) | (head[2] << 16) | (head[3] << 24)) >>> 0;
  return sig === SIG.LOC || sig === SIG.EOCD;
}

async function readAt(path: string, position: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** An entry name: UTF-8 when bit 11 says so, else GB18030 (GBK-compatible; what Alipay writes). */
export function decodeEntryName(bytes: Uint8Array, flags: number): string {
  return new TextDecoder(flags & FLAG_UTF8 ? 'utf-8' : 'gb18030').decode(bytes);
}

/** Lists the entries of the zip at `path` from its central directory. */
export async function listZip(path: string): Promise<ZipEntry[]> {
  const size = (await stat(path)).size;
  if (size < 22) throw new ZipFormatError('too short to be a zip file (truncated, or not a zip)');
  const tailLen = Math.min(size, 22 + 0xffff);
  const tail = await readAt(path, size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG.EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError('no end-of-central-directory record (the zip is truncated or not a zip)');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  // Saturated fields defer to the zip64 record, when its locator is there (65,535 entries
  // exactly is a plain zip's count).
  if ((count === 0xffff || cdSize === U32 || cdOffset === U32) && eocd >= 20 && tail.readUInt32LE(eocd - 20) === SIG.ZIP64_LOCATOR) {
    const recOffset = Number(tail.readBigUInt64LE(eocd - 20 + 8));
    const rec = await readAt(path, recOffset, 56);
    if (rec.length < 56 || rec.readUInt32LE(0) !== SIG.ZIP64_EOCD) throw new ZipFormatError('bad zip64 end-of-central-directory record');
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
  }
  if (cdOffset + cdSize > size) throw new ZipFormatError('the central directory lies past the end of the file (the zip is truncated)');
  const cd = await readAt(path, cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG.CEN) throw new ZipFormatError('damaged central directory');
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    let compressedSize = cd.readUInt32LE(p + 20);
    let uncompressed = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localOffset = cd.readUInt32LE(p + 42);
    const nameBytes = cd.subarray(p + 46, p + 46 + nameLen);
    const extra = cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
    // The zip64 extra field (0x0001) holds, in this order, only the values saturated above.
    for (let e = 0; e + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(e);
      const len = extra.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => {
          if (q + 8 > e + 4 + len) throw new ZipFormatError('damaged zip64 extra field');
          const v = Number(extra.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (uncompressed === U32) uncompressed = next();
        if (compressedSize === U32) compressedSize = next();
        if (localOffset === U32) localOffset = next();
      }
      e += 4 + len;
    }
    entries.push({ name: decodeEntryName(nameBytes, flags), method, flags, crc, compressedSize, size: uncompressed, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

// zlib streams pass their options on to Transform: a deep read-ahead lets the thread pool inflate
// while the caller parses (the typings do not list highWaterMark).
const INFLATE_OPTIONS = { chunkSize: 64 * 1024, highWaterMark: 1024 * 1024 } as ZlibOptions;

/**
 * Streams an entry's uncompressed bytes. Nothing is read until the first chunk is asked for; a
 * damaged header, a failed inflate, or a CRC-32 or size mismatch at the end throws ZipFormatError.
 * Stopping early (break, `return()`) closes the file.
 */
export async function* openEntry(path: string, entry: ZipEntry): AsyncGenerator<Buffer, void, undefined> {
  const loc = await readAt(path, entry.localOffset, 30);
  if (loc.length < 30 || loc.readUInt32LE(0) !== SIG.LOC) throw new ZipFormatError(`damaged local header for ${entry.name}`);
  const start = entry.localOffset + 30 + loc.readUInt16LE(26) + loc.readUInt16LE(28);
  if (entry.method !== 0 && entry.method !== 8) throw new ZipFormatError(`${entry.name} uses compression method ${entry.method} (only stored and deflate are read)`);
  const { size: fileSize } = await stat(path);
  if (start + entry.compressedSize > fileSize) throw new ZipFormatError(`${entry.name} is cut short (the zip is truncated)`);
  let crc = 0;
  let length = 0;
  if (entry.compressedSize > 0) {
    const raw = createReadStream(path, { start, end: start + entry.compressedSize - 1, highWaterMark: 256 * 1024 });
    const source: Readable = entry.method === 0 ? raw : raw.pipe(createInflateRaw(INFLATE_OPTIONS));
    if (source !== raw) raw.on('error', (err) => source.destroy(err));
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        crc = crc32(chunk, crc);
        length += chunk.length;
        yield chunk;
      }
    } catch (err) {
      if (err instanceof ZipFormatError) throw err;
      throw new ZipFormatError(`${entry.name} cannot be inflated (${(err as Error).message})`);
    } finally {
      raw.destroy();
      if (source !== raw) source.destroy();
    }
  }
  if (length !== entry.size) throw new ZipFormatError(`${entry.name} is ${length} bytes, the directory says ${entry.size} (the zip is damaged)`);
  if (crc >>> 0 !== entry.crc >>> 0) throw new ZipFormatError(`${entry.name} fails its CRC-32 check (the zip is damaged)`);
}

/** Reads a whole (small) entry into memory, with the same checks as `openEntry`. */
export async function readEntry(path: string, entry: ZipEntry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of openEntry(path, entry)) chunks.push(c);
  return Buffer.concat(chunks);
}

/** One entry to write. */
export interface ZipInput {
  /**
   * The entry name. A string is stored as UTF-8, with the UTF-8 flag when it is not plain ASCII;
   * bytes are stored exactly as given without the flag (a legacy code page: Alipay's GBK names).
   */
  name: string | Buffer;
  /** The content; an iterable is consumed lazily, so large entries stream. */
  data: Buffer | AsyncIterable<Buffer> | Iterable<Buffer>;
}

function dosDateTime(ms: number): { time: number; date: number } {
  const d = new Date(ms);
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((Math.max(1980, d.getUTCFullYear()) - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/**
 * Writes a deflated zip at `path`, streaming each input in turn (an input's data is not read
 * until the entries before it are written, so a later entry may summarise an earlier one).
 * `mtimeMs` is stored as every entry's modification time, as wall-clock fields of its UTC form.
 */
export async function writeZip(path: string, inputs: ZipInput[], mtimeMs: number): Promise<void> {
  const out = createWriteStream(path);
  let offset = 0;
  const write = async (b: Buffer) => {
    offset += b.length;
    if (!out.write(b)) await once(out, 'drain');
  };
  const { time, date } = dosDateTime(mtimeMs);
  const central: Buffer[] = [];
  try {
    for (const input of inputs) {
      const name = typeof input.name === 'string' ? Buffer.from(input.name, 'utf8') : input.name;
      const utf8 = typeof input.name === 'string' && /[^\x20-\x7e]/.test(input.name);
      const flags = FLAG_DESCRIPTOR | (utf8 ? FLAG_UTF8 : 0);
      const localOffset = offset;
      const loc = Buffer.alloc(30);
      loc.writeUInt32LE(SIG.LOC, 0);
      loc.writeUInt16LE(20, 4);
      loc.writeUInt16LE(flags, 6);
      loc.writeUInt16LE(8, 8);
      loc.writeUInt16LE(time, 10);
      loc.writeUInt16LE(date, 12);
      // CRC and sizes stay zero here: they follow in the data descriptor.
      loc.writeUInt16LE(name.length, 26);
      await write(Buffer.concat([loc, name]));
      let crc = 0;
      let size = 0;
      let compressed = 0;
      const deflate = createDeflateRaw({ level: 6 });
      const drained = (async () => {
        for await (const c of deflate as AsyncIterable<Buffer>) {
          compressed += c.length;
          await write(c);
        }
      })();
      const chunks: AsyncIterable<Buffer> | Iterable<Buffer> = Buffer.isBuffer(input.data) ? [input.data] : input.data;
      for await (const chunk of chunks) {
        crc = crc32(chunk, crc);
        size += chunk.length;
        if (!deflate.write(chunk)) await once(deflate, 'drain');
      }
      deflate.end();
      await drained;
      if (size >= U32 || compressed >= U32 || offset >= U32) throw new ZipFormatError('zip entries over 4 GiB are not written (zip64)');
      const desc = Buffer.alloc(16);
      desc.writeUInt32LE(SIG.DESC, 0);
      desc.writeUInt32LE(crc >>> 0, 4);
      desc.writeUInt32LE(compressed, 8);
      desc.writeUInt32LE(size, 12);
      await write(desc);
      const cen = Buffer.alloc(46);
      cen.writeUInt32LE(SIG.CEN, 0);
      cen.writeUInt16LE(20, 4);
      cen.writeUInt16LE(20, 6);
      cen.writeUInt16LE(flags, 8);
      cen.writeUInt16LE(8, 10);
      cen.writeUInt16LE(time, 12);
      cen.writeUInt16LE(date, 14);
      cen.writeUInt32LE(crc >>> 0, 16);
      cen.writeUInt32LE(compressed, 20);
      cen.writeUInt32LE(size, 24);
      cen.writeUInt16LE(name.length, 28);
      cen.writeUInt32LE(localOffset, 42);
      central.push(cen, name);
    }
    const cdOffset = offset;
    const cd = Buffer.concat(central);
    await write(cd);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(SIG.EOCD, 0);
    eocd.writeUInt16LE(inputs.length, 8);
    eocd.writeUInt16LE(inputs.length, 10);
    eocd.writeUInt32LE(cd.length, 12);
    eocd.writeUInt32LE(cdOffset, 16);
    await write(eocd);
  } finally {
    out.end();
    await once(out, 'close');
  }
}

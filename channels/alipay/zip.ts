/**
 * A small zip reader and writer for Alipay's bill archives. Alipay names the entries in GBK
 * without the zip UTF-8 flag (`2088…0156_20190916_业务明细.csv`), which general zip libraries
 * decode as CP437/Latin-1; this one decodes names by the flag and streams entry data through
 * node:zlib, so a large bill is never held in memory. Reading uses the central directory (random
 * access), and checks each entry's CRC-32 and size as it streams.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { crc32, createDeflateRaw, createInflateRaw, type ZlibOptions } from 'node:zlib';

/** One entry of the central directory. */
export interface ZipEntry {
  /** Name decoded (UTF-8 when flagged, else GBK). */
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Offset of the local file header. */
  localOffset: number;
}

/** Thrown for anything that is not a readable zip; callers turn it into their own error. */
export class ZipFormatError extends Error {}

const EOCD = 0x06054b50;
const CEN = 0x02014b50;
const LOC = 0x04034b50;
const DESC = 0x08074b50;

/** True when the first bytes are a zip local header. */
export function isZipMagic(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32LE(0) === LOC;
}

/** Reads the central directory of the zip at `path`. */
export async function listZip(path: string): Promise<ZipEntry[]> {
  const { size } = await stat(path);
  const fh = await open(path, 'r');
  try {
    const tailLen = Math.min(size, 22 + 65535);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new ZipFormatError('no end-of-central-directory record (the zip is truncated or not a zip)');
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (cdOffset === 0xffffffff || count === 0xffff) throw new ZipFormatError('zip64 archives are not supported');
    if (cdOffset + cdSize > size) throw new ZipFormatError('the central directory lies past the end of the file (truncated)');
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let n = 0; n < count; n++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CEN) throw new ZipFormatError('damaged central directory');
      const flags = cd.readUInt16LE(p + 8);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const nameBytes = cd.subarray(p + 46, p + 46 + nameLen);
      entries.push({
        name: decodeName(nameBytes, flags),
        method: cd.readUInt16LE(p + 10),
        flags,
        crc: cd.readUInt32LE(p + 16),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localOffset: cd.readUInt32LE(p + 42),
      });
      p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
  } finally {
    await fh.close();
  }
}

/** Entry names: UTF-8 when bit 11 says so, else GBK (what Alipay writes). */
export function decodeName(bytes: Buffer, flags: number): string {
  return new TextDecoder(flags & 0x800 ? 'utf-8' : 'gb18030').decode(bytes);
}

// zlib streams pass their options on to Transform: a deep read-ahead lets the thread pool inflate
// while the caller parses (the typings do not list highWaterMark).
const INFLATE_OPTIONS = { chunkSize: 64 * 1024, highWaterMark: 1024 * 1024 } as ZlibOptions;

/** Streams an entry's data, inflated, failing on a CRC or size mismatch at the end. */
export async function* openEntry(path: string, entry: ZipEntry): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  const head = Buffer.alloc(30);
  try {
    await fh.read(head, 0, 30, entry.localOffset);
  } finally {
    await fh.close();
  }
  if (head.readUInt32LE(0) !== LOC) throw new ZipFormatError(`damaged local header for ${entry.name}`);
  const start = entry.localOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
  if (entry.method !== 0 && entry.method !== 8) throw new ZipFormatError(`${entry.name} uses compression method ${entry.method} (only stored and deflate are supported)`);
  const { size } = await stat(path);
  if (start + entry.compressedSize > size) throw new ZipFormatError(`${entry.name} is cut short (the zip is truncated)`);
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
    }
  }
  if (crc >>> 0 !== entry.crc >>> 0 || length !== entry.size) throw new ZipFormatError(`${entry.name} fails its CRC-32/size check (the zip is damaged)`);
}

/** One entry to write. */
export interface ZipInput {
  /** Name bytes exactly as stored (GBK for Alipay). */
  nameBytes: Buffer;
  /** Whether the name is UTF-8 (sets flag bit 11). */
  utf8Name?: boolean;
  /** The content, produced lazily so large entries stream. */
  data: AsyncIterable<Buffer> | Iterable<Buffer>;
}

function dosTime(ms: number): { time: number; date: number } {
  const d = new Date(ms);
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/**
 * Writes a deflated zip, streaming: each entry's sizes and CRC follow its data in a data
 * descriptor (flag bit 3), as streaming zip writers do; the central directory repeats them.
 * `mtimeMs` is stored as the (wall-clock) modification time of every entry.
 */
export async function writeZip(path: string, inputs: ZipInput[], mtimeMs: number): Promise<void> {
  const out = createWriteStream(path);
  let offset = 0;
  const write = async (b: Buffer) => {
    offset += b.length;
    if (!out.write(b)) await once(out, 'drain');
  };
  const { time, date } = dosTime(mtimeMs);
  const central: Buffer[] = [];
  try {
    for (const input of inputs) {
      const flags = 0x08 | (input.utf8Name ? 0x800 : 0);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(LOC, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(flags, 6);
      local.writeUInt16LE(8, 8);
      local.writeUInt16LE(time, 10);
      local.writeUInt16LE(date, 12);
      // crc and sizes are zero here: they follow in the data descriptor.
      local.writeUInt16LE(input.nameBytes.length, 26);
      const localOffset = offset;
      await write(local);
      await write(input.nameBytes);
      let crc = 0;
      let size = 0;
      let compressed = 0;
      const deflate = createDeflateRaw({ level: 6 });
      const drained = (async () => {
        for await (const chunk of deflate as AsyncIterable<Buffer>) {
          compressed += chunk.length;
          await write(chunk);
        }
      })();
      for await (const chunk of input.data) {
        crc = crc32(chunk, crc);
        size += chunk.length;
        if (!deflate.write(chunk)) await once(deflate, 'drain');
      }
      deflate.end();
      await drained;
      if (offset > 0xffffffff || size > 0xffffffff) throw new Error('bill too large for a zip without zip64');
      const desc = Buffer.alloc(16);
      desc.writeUInt32LE(DESC, 0);
      desc.writeUInt32LE(crc >>> 0, 4);
      desc.writeUInt32LE(compressed, 8);
      desc.writeUInt32LE(size, 12);
      await write(desc);
      const cen = Buffer.alloc(46);
      cen.writeUInt32LE(CEN, 0);
      cen.writeUInt16LE(20, 4);
      cen.writeUInt16LE(20, 6);
      cen.writeUInt16LE(flags, 8);
      cen.writeUInt16LE(8, 10);
      cen.writeUInt16LE(time, 12);
      cen.writeUInt16LE(date, 14);
      cen.writeUInt32LE(crc >>> 0, 16);
      cen.writeUInt32LE(compressed, 20);
      cen.writeUInt32LE(size, 24);
      cen.writeUInt16LE(input.nameBytes.length, 28);
      cen.writeUInt32LE(localOffset, 42);
      central.push(cen, input.nameBytes);
    }
    const cdOffset = offset;
    const cd = Buffer.concat(central);
    await write(cd);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(EOCD, 0);
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

/**
 * A small streaming zip reader and writer over node:zlib for UnionPay's reconciliation archives
 * (`<merId>_<yyyyMMdd>.zip` holding the ZM detail file and the RD summary). Reading uses the
 * central directory (zip64 included) and streams each entry through zlib, checking its CRC-32 and
 * size, so a detail file of millions of rows never sits in memory. Writing streams too, with data
 * descriptors (sizes follow the data), as UnionPay's own archives do.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { crc32, createDeflateRaw, createInflateRaw } from 'node:zlib';

/** One entry of the central directory. */
export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
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

/** True when `head` starts like a zip file. */
export function isZip(head: Buffer): boolean {
  return head.length >= 4 && (head.readUInt32LE(0) === SIG.LOC || head.readUInt32LE(0) === SIG.EOCD);
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

/** Lists the entries of the zip at `path`. */
export async function listZip(path: string): Promise<ZipEntry[]> {
  const size = (await stat(path)).size;
  if (size < 22) throw new ZipFormatError('too short to be a zip file');
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
  if ((count === 0xffff || cdSize === U32 || cdOffset === U32) && eocd >= 20 && tail.readUInt32LE(eocd - 20) === SIG.ZIP64_LOCATOR) {
    const recOffset = Number(tail.readBigUInt64LE(eocd - 20 + 8));
    const rec = await readAt(path, recOffset, 56);
    if (rec.length < 56 || rec.readUInt32LE(0) !== SIG.ZIP64_EOCD) throw new ZipFormatError('bad zip64 end-of-central-directory record');
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
  }
  if (cdOffset + cdSize > size) throw new ZipFormatError('the central directory lies past the end of the file (truncated zip)');
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
    for (let e = 0; e + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(e);
      const len = extra.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (uncompressed === U32) (uncompressed = Number(extra.readBigUInt64LE(q)), (q += 8));
        if (compressedSize === U32) (compressedSize = Number(extra.readBigUInt64LE(q)), (q += 8));
        if (localOffset === U32) localOffset = Number(extra.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    // UnionPay's entry names are ASCII; other archives may flag UTF-8 (bit 11).
    const name = flags & 0x800 ? nameBytes.toString('utf8') : nameBytes.toString('latin1');
    entries.push({ name, method, flags, crc, compressedSize, size: uncompressed, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Streams an entry's uncompressed bytes; the stream errors on a CRC or size mismatch. */
export async function openEntry(path: string, entry: ZipEntry): Promise<Readable> {
  const loc = await readAt(path, entry.localOffset, 30);
  if (loc.length < 30 || loc.readUInt32LE(0) !== SIG.LOC) throw new ZipFormatError(`damaged local header for ${entry.name}`);
  const start = entry.localOffset + 30 + loc.readUInt16LE(26) + loc.readUInt16LE(28);
  if (entry.method !== 0 && entry.method !== 8) throw new ZipFormatError(`${entry.name} uses compression method ${entry.method} (only stored and deflate are read)`);
  const raw = entry.compressedSize === 0 ? Readable.from([]) : createReadStream(path, { start, end: start + entry.compressedSize - 1 });
  let crc = 0;
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      if (size !== entry.size) done(new ZipFormatError(`${entry.name} is ${size} bytes, the directory says ${entry.size} (damaged zip)`));
      else if (crc >>> 0 !== entry.crc >>> 0) done(new ZipFormatError(`${entry.name} fails its CRC-32 check (damaged zip)`));
      else done();
    },
  });
  const inflated = entry.method === 8 ? raw.pipe(createInflateRaw()) : raw;
  raw.on('error', (err: Error) => check.destroy(err));
  if (inflated !== raw) inflated.on('error', (err: Error) => check.destroy(new ZipFormatError(`${entry.name} cannot be inflated (${(err as Error).message})`)));
  return inflated.pipe(check);
}

/** Reads a whole (small) entry into memory. */
export async function readEntry(path: string, entry: ZipEntry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await openEntry(path, entry)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** One file to write into a zip. */
export interface ZipInput {
  name: string;
  data: Buffer | AsyncIterable<Buffer> | Iterable<Buffer>;
}

function dosDateTime(ms: number): { time: number; date: number } {
  const d = new Date(ms);
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((Math.max(1980, d.getUTCFullYear()) - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/** Writes a deflate zip at `path`, streaming each input. */
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
      const name = Buffer.from(input.name, 'utf8');
      const flags = 0x0008 | (/[^\x20-\x7e]/.test(input.name) ? 0x800 : 0);
      const localOffset = offset;
      const loc = Buffer.alloc(30);
      loc.writeUInt32LE(SIG.LOC, 0);
      loc.writeUInt16LE(20, 4);
      loc.writeUInt16LE(flags, 6);
      loc.writeUInt16LE(8, 8);
      loc.writeUInt16LE(time, 10);
      loc.writeUInt16LE(date, 12);
      loc.writeUInt16LE(name.length, 26);
      await write(Buffer.concat([loc, name]));
      let crc = 0;
      let size = 0;
      let compressed = 0;
      const deflate = createDeflateRaw({ level: 6 });
      const drained = (async () => {
        for await (const c of deflate) {
          compressed += (c as Buffer).length;
          await write(c as Buffer);
        }
      })();
      const chunks = Buffer.isBuffer(input.data) ? [input.data] : input.data;
      for await (const chunk of chunks as AsyncIterable<Buffer>) {
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
      central.push(Buffer.concat([cen, name]));
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

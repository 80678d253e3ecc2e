/**
 * Zip for the channels whose statements come zipped (Alipay's trade bill archive, UnionPay's ZM +
 * RD file), over yauzl (reading) and yazl (writing). Reading goes through the central directory
 * (random access, zip64 included) and streams each entry, checking its CRC-32 and size, so a bill
 * of millions of rows is never held in memory. Entry names are UTF-8 when the general-purpose flag
 * (bit 11) says so, else the Chinese legacy code page (GB18030, a superset of the GBK that Alipay
 * writes without the flag; plain ASCII reads the same either way). Writing streams too: each
 * entry's sizes and CRC follow its data in a data descriptor. Both libraries load on first use.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { crc32, createInflateRaw, type ZlibOptions } from 'node:zlib';
import type * as Yauzl from 'yauzl';

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

const FLAG_UTF8 = 0x0800;

/** True when `head` starts like a zip file (a local header, or the end record of an empty zip). */
export function isZip(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  const sig = (head[0] | (head[1] << 8) | (head[2] << 16) | (head[3] << 24)) >>> 0;
  return sig === 0x04034b50 || sig === 0x06054b50;
}

/** An entry name: UTF-8 when bit 11 says so, else GB18030 (GBK-compatible; what Alipay writes). */
export function decodeEntryName(bytes: Uint8Array, flags: number): string {
  return new TextDecoder(flags & FLAG_UTF8 ? 'utf-8' : 'gb18030').decode(bytes);
}

async function yauzl(): Promise<typeof Yauzl> {
  const mod = (await import('yauzl')) as typeof Yauzl & { default?: typeof Yauzl };
  return mod.default ?? mod;
}

/** yauzl's messages, in the words the callers and their users have always seen. */
function formatError(err: unknown, name?: string): ZipFormatError {
  if (err instanceof ZipFormatError) return err;
  const message = (err as Error).message ?? String(err);
  const rules: [RegExp, string][] = [
    [/end of central directory record signature not found/i, 'no end-of-central-directory record (the zip is truncated or not a zip)'],
    [/zip64 end of central directory/i, 'bad zip64 end-of-central-directory record'],
    [/central directory file header signature|zip64 extended information/i, 'damaged central directory'],
    [/unexpected EOF/i, 'the central directory lies past the end of the file (the zip is truncated)'],
    [/invalid local file header signature/i, `damaged local header for ${name}`],
    [/unsupported compression method: (\d+)/, `${name} uses compression method $1 (only stored and deflate are read)`],
    [/file data overflows file bounds/i, `${name} is cut short (the zip is truncated)`],
  ];
  for (const [pattern, words] of rules) {
    const m = pattern.exec(message);
    if (m) return new ZipFormatError(words.replace('$1', m[1] ?? ''));
  }
  return new ZipFormatError(name === undefined ? `${message} (the zip is damaged)` : `${name} cannot be inflated (${message})`);
}

async function openZip(path: string): Promise<Yauzl.ZipFile> {
  const size = (await stat(path)).size;
  if (size < 22) throw new ZipFormatError('too short to be a zip file (truncated, or not a zip)');
  try {
    return await (await yauzl()).openPromise(path, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: false });
  } catch (err) {
    throw formatError(err);
  }
}

/** Lists the entries of the zip at `path` from its central directory. */
export async function listZip(path: string): Promise<ZipEntry[]> {
  const zip = await openZip(path);
  const entries: ZipEntry[] = [];
  try {
    for await (const e of zip.eachEntry()) {
      const flags = e.generalPurposeBitFlag;
      entries.push({ name: decodeEntryName(e.fileNameRaw, flags), method: e.compressionMethod, flags, crc: e.crc32, compressedSize: e.compressedSize, size: e.uncompressedSize, localOffset: e.relativeOffsetOfLocalHeader });
    }
  } catch (err) {
    throw formatError(err);
  } finally {
    zip.close();
  }
  return entries;
}

// zlib streams pass their options on to Transform (the typings do not list highWaterMark).
const INFLATE_OPTIONS = { chunkSize: 64 * 1024, highWaterMark: 1024 * 1024 } as ZlibOptions;

/**
 * Streams an entry's uncompressed bytes. Nothing is read until the first chunk is asked for; a
 * damaged header, a failed inflate, or a CRC-32 or size mismatch at the end throws ZipFormatError.
 * Stopping early (break, `return()`) closes the file.
 */
export async function* openEntry(path: string, entry: ZipEntry): AsyncGenerator<Buffer, void, undefined> {
  const lib = await yauzl();
  const zip = await openZip(path);
  // yauzl reads an entry from the directory fields; ours carry the same values.
  const target = Object.assign(new lib.Entry(), {
    fileName: entry.name,
    compressionMethod: entry.method,
    generalPurposeBitFlag: entry.flags,
    crc32: entry.crc,
    compressedSize: entry.compressedSize,
    uncompressedSize: entry.size,
    relativeOffsetOfLocalHeader: entry.localOffset,
  });
  let crc = 0;
  let length = 0;
  let source: Readable | undefined;
  try {
    try {
      const raw = await zip.openReadStreamPromise(target, entry.method === 8 ? { decompress: false } : {});
      // Inflated here rather than by yauzl: a deep read-ahead lets the thread pool inflate while
      // the caller parses (the bill readers run twice as fast as with zlib's defaults).
      source = entry.method === 8 ? raw.pipe(createInflateRaw(INFLATE_OPTIONS)) : raw;
      if (source !== raw) raw.on('error', (err) => source?.destroy(err));
    } catch (err) {
      throw formatError(err, entry.name);
    }
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        crc = crc32(chunk, crc);
        length += chunk.length;
        yield chunk;
      }
    } catch (err) {
      throw formatError(err, entry.name);
    }
  } finally {
    source?.destroy();
    zip.close();
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

/** The part of yazl's entry record that names it (yazl writes every name as flagged UTF-8). */
interface YazlEntry {
  utf8FileName: Buffer;
  getLocalFileHeader(): Buffer;
  getCentralDirectoryRecord(): Buffer;
}

/**
 * yazl flags every name UTF-8. A byte name (GBK, as Alipay writes) or a plain ASCII one is stored
 * unflagged, as before: the name bytes are swapped in and bit 11 is cleared in both headers.
 */
function storeUnflagged(entry: YazlEntry, name: Buffer): void {
  entry.utf8FileName = name;
  const local = entry.getLocalFileHeader.bind(entry);
  const central = entry.getCentralDirectoryRecord.bind(entry);
  const clear = (header: Buffer, at: number) => {
    header.writeUInt16LE(header.readUInt16LE(at) & ~FLAG_UTF8, at);
    return header;
  };
  entry.getLocalFileHeader = () => clear(local(), 6);
  entry.getCentralDirectoryRecord = () => clear(central(), 8);
}

/** `chunks` regrouped into pieces of at least 256 KiB: yazl's stream pipeline costs per chunk. */
async function* batched(chunks: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    pending.push(chunk);
    size += chunk.length;
    if (size >= 256 * 1024) {
      yield Buffer.concat(pending, size);
      pending = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(pending, size);
}

/**
 * Writes a deflated zip at `path`, streaming each input in turn (an input's data is not read
 * until the entries before it are written, so a later entry may summarise an earlier one).
 * `mtimeMs` is stored as every entry's modification time, as wall-clock fields of its UTC form.
 */
export async function writeZip(path: string, inputs: ZipInput[], mtimeMs: number): Promise<void> {
  const { ZipFile } = (await import('yazl')).default;
  const zip = new ZipFile();
  // yazl writes the DOS fields from local time: a local date with the UTC fields stores those.
  const d = new Date(mtimeMs);
  const mtime = new Date(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds());
  const out = createWriteStream(path);
  let fail: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  zip.on('error', fail);
  zip.outputStream.on('error', fail);
  out.on('error', fail);
  const done = once(out, 'close');
  zip.outputStream.pipe(out);
  for (const input of inputs) {
    const name = typeof input.name === 'string' ? input.name : input.name.toString('latin1');
    const data: AsyncIterable<Buffer> | Iterable<Buffer> = Buffer.isBuffer(input.data) ? [input.data] : input.data;
    // The stream is made when yazl reaches the entry, so a later entry's data waits its turn; a
    // failing source (a row the bill cannot hold) fails the write.
    zip.addReadStreamLazy(name, { mtime, forceDosTimestamp: true, compressionLevel: 6 }, (cb) => cb(null, Readable.from(batched(data), { objectMode: false }).on('error', fail)));
    if (typeof input.name !== 'string' || !/[^\x20-\x7e]/.test(input.name)) {
      const entries = (zip as unknown as { entries: YazlEntry[] }).entries;
      storeUnflagged(entries[entries.length - 1], typeof input.name === 'string' ? Buffer.from(input.name) : input.name);
    }
  }
  zip.end();
  try {
    await Promise.race([done, failed]);
  } catch (err) {
    out.destroy();
    throw err;
  }
}

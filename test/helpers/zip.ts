/**
 * An archive writer and reader for tests that stand apart from src/channel/zip.ts: yazl and yauzl
 * called directly, in memory, with no name decoding of ours (names as an independent tool shows
 * them: UTF-8 when flagged, else the raw bytes as Latin-1).
 */
import yauzl from 'yauzl';
import yazl from 'yazl';

/** A zip of `files`, each deflated (level 6) unless given as `[data, { level: 0 }]` (stored). */
export async function zipOf(files: Record<string, Uint8Array | [Uint8Array, { level: number }]>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, value] of Object.entries(files)) {
    const [data, options] = Array.isArray(value) ? value : [value, { level: 6 }];
    zip.addBuffer(Buffer.from(data), name, { compress: options.level > 0, compressionLevel: options.level, forceDosTimestamp: true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Every entry of `bytes`, in order: name (UTF-8 when flagged, else Latin-1 of its bytes) to data. */
export async function unzipOf(bytes: Buffer): Promise<Record<string, Buffer>> {
  const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true, decodeStrings: false });
  const files: Record<string, Buffer> = {};
  for await (const e of zip.eachEntry()) {
    const chunks: Buffer[] = [];
    for await (const c of (await zip.openReadStreamPromise(e)) as AsyncIterable<Buffer>) chunks.push(c);
    files[e.fileNameRaw.toString(e.generalPurposeBitFlag & 0x800 ? 'utf8' : 'latin1')] = Buffer.concat(chunks);
  }
  zip.close();
  return files;
}

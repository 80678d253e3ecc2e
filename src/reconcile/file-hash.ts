/**
 * File fingerprints: a run or an import records the sha256 of the exact bytes it read, so a rerun
 * of the same file is recognised and replaced rather than added.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { fileError } from '../channel/csv.js';

/** Size of a file in bytes. Missing or unreadable files (and folders) are input errors. */
export async function fileSize(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    return s.size;
  } catch (err) {
    throw fileError(path, err);
  }
}

/** sha256 (hex) and size of a file, streamed. Missing or unreadable files are input errors. */
export async function fingerprint(path: string): Promise<{ sha256: string; bytes: number }> {
  const size = await fileSize(path);
  const hash = createHash('sha256');
  // One buffer, read into again and again: a stream's fresh chunk per read would leave hundreds
  // of megabytes of dead buffers to the collector on a big bill, and in the peak RSS.
  const buffer = Buffer.allocUnsafe(1 << 20);
  try {
    const file = await open(path, 'r');
    try {
      for (;;) {
        const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
      }
    } finally {
      await file.close();
    }
  } catch (err) {
    throw fileError(path, err);
  }
  return { sha256: hash.digest('hex'), bytes: size };
}

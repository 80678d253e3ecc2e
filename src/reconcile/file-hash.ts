/**
 * File fingerprints: a run or an import records the sha256 of the exact bytes it read, so a rerun
 * of the same file is recognised and replaced rather than added.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
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
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  } catch (err) {
    throw fileError(path, err);
  }
  return { sha256: hash.digest('hex'), bytes: size };
}

/**
 * Reads a whole body (an HTTP request, a `@file` argument) into memory with a size cap: past
 * `maxBytes` the stream is destroyed and the read fails with the caller's error, so nothing
 * unbounded is ever buffered.
 */
import type { Readable } from 'node:stream';

/** What {@link readBody} needs. */
export interface ReadBodyOptions {
  /** The largest body accepted, bytes. */
  maxBytes: number;
  /** The error to fail with when the body is larger. */
  tooLarge: (maxBytes: number) => Error;
}

/** Collects `stream` into one Buffer, refusing more than `maxBytes`. */
export function readBody(stream: Readable, { maxBytes, tooLarge }: ReadBodyOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    stream.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > maxBytes) {
        failed = true;
        reject(tooLarge(maxBytes));
        stream.destroy();
        return;
      }
      chunks.push(c);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
}

/**
 * RSA PKCS#1 v1.5 signature checks over raw bytes with a base64 signature, as every RSA channel
 * signs its callbacks (Alipay RSA2/RSA, WeChat Pay v3, UnionPay, PayPal). Garbage (a signature
 * that is not base64, a key of the wrong type) is `false`, never a throw.
 *
 * {@link verifyRsaAsync} is what callback verification calls. Normally it checks in this thread.
 * Within {@link checkInWorker} (`pay verify` over a large directory) it queues the check for a
 * worker thread instead, in batches: the worker verifies while this thread reads and parses the
 * next files, so the RSA cost and pay's own per-file cost overlap instead of adding up (until the
 * worker thread has started, this thread does the checks itself rather than wait). Batches
 * travel as one transferred buffer, and each key crosses once: a check costs this thread about a
 * microsecond to hand over, where node:crypto's own callback form (libuv's pool) costs about ten.
 */
import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { Worker } from 'node:worker_threads';

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** 1 for the characters of the standard base64 alphabet (ASCII codes), 0 otherwise. */
const BASE64_CHARS = new Uint8Array(128);
for (let i = 0; i < BASE64_ALPHABET.length; i++) BASE64_CHARS[BASE64_ALPHABET.charCodeAt(i)] = 1;

/**
 * What `/^[A-Za-z0-9+/]+={0,2}$/` says of `s` (at least one alphabet character, then at most two
 * `=`), by a table lookup per character: the regular expression costs about 1.6 us over a
 * 344-character RSA signature, this loop under half that.
 */
export function isBase64(s: string): boolean {
  let n = s.length;
  if (n > 1 && s.charCodeAt(n - 1) === 0x3d) n--;
  if (n > 1 && s.charCodeAt(n - 1) === 0x3d) n--;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f || BASE64_CHARS[c] === 0) return false;
  }
  return true;
}

/** Digest names node:crypto takes. */
export type RsaDigest = 'sha256' | 'sha1';

/**
 * Signed over the lowercase hex digest of the message rather than the message itself (UnionPay:
 * the RSA signature covers the SHA-256 or SHA-1 hex of the signed text).
 */
export type HexOf = RsaDigest | undefined;

/** Verifies a base64 RSA signature over `message` (or over its hex digest, `hexOf`) in this thread. */
export function verifyRsa(digest: RsaDigest, message: Buffer, key: KeyObject, signatureB64: string, hexOf?: HexOf): boolean {
  if (!isBase64(signatureB64)) return false;
  return verifyBytes(digest, message, key, Buffer.from(signatureB64, 'base64'), hexOf);
}

function verifyBytes(digest: RsaDigest, message: Buffer, key: KeyObject, signature: Buffer, hexOf: HexOf): boolean {
  try {
    const signed = hexOf ? Buffer.from(createHash(hexOf).update(message).digest('hex'), 'latin1') : message;
    // One-shot: a streaming Verify object per message costs a third of the RSA check itself.
    return cryptoVerify(digest, signed, key, signature);
  } catch {
    return false;
  }
}

/**
 * {@link verifyRsa}, in the worker thread when {@link checkInWorker} is on: the base64 check and
 * decoding and the digest step go with it.
 */
export function verifyRsaAsync(digest: RsaDigest, message: Buffer, key: KeyObject, signatureB64: string, hexOf?: HexOf): Promise<boolean> {
  if (active) return active.check(digest, message, key, signatureB64, hexOf);
  return Promise.resolve(verifyRsa(digest, message, key, signatureB64, hexOf));
}

let active: RsaWorker | undefined;
let users = 0;

/**
 * Resolves once the worker thread of {@link checkInWorker} has started (true), or at once with
 * false when there is none; from then on checks go to it.
 */
export async function workerStarted(): Promise<boolean> {
  for (;;) {
    const w = active;
    if (!w) return false;
    if (w.isStarted()) return true;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Sends RSA checks to a worker thread until the returned function is called (and awaited): the
 * worker stops when its last user stops it. Checks in flight when the worker fails are done here.
 * Until the worker thread has started (some 30 ms), checks are done in this thread, which would
 * otherwise wait for it.
 */
export async function checkInWorker(debug?: (message: string) => void): Promise<() => Promise<void>> {
  if (users++ === 0) {
    const { Worker } = await import('node:worker_threads');
    // Set by the worker as it starts, read here without waiting for an event: while checks are
    // answered in this thread, their callers never yield to the event loop.
    const started = new Int32Array(new SharedArrayBuffer(4));
    active = new RsaWorker(new Worker(WORKER_SOURCE, { eval: true, workerData: { started } }), started, debug);
  }
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    if (--users === 0 && active) {
      const w = active;
      active = undefined;
      await w.close();
    }
  };
}

// The worker: keys arrive once by id; a batch is one buffer of messages and base64 signatures
// with their offsets; the answer is one byte per check. CommonJS text, so no file has to be found.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash, verify } = require('node:crypto');
Atomics.store(workerData.started, 0, 1);
const keys = new Map();
// This module's isBase64 and its table, by their source. The signature travels as UTF-8 and is
// read back as Latin-1: anything but ASCII becomes characters above 0x7f, which fail it.
const BASE64_CHARS = new Uint8Array(128);
for (const c of '${BASE64_ALPHABET}') BASE64_CHARS[c.charCodeAt(0)] = 1;
${isBase64.toString()}
parentPort.on('message', (m) => {
  if (m.t === 'key') { keys.set(m.id, m.key); return; }
  const bytes = Buffer.from(m.bytes);
  const n = m.keyIds.length;
  const ok = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    try {
      let message = bytes.subarray(m.offsets[o], m.offsets[o + 1]);
      if (m.hexOf[i]) message = Buffer.from(createHash(m.hexOf[i]).update(message).digest('hex'), 'latin1');
      const signature = bytes.toString('latin1', m.offsets[o + 2], m.offsets[o + 3]);
      ok[i] = isBase64(signature) && verify(m.digests[i], message, keys.get(m.keyIds[i]), Buffer.from(signature, 'base64')) ? 1 : 0;
    } catch {
      ok[i] = 0;
    }
  }
  parentPort.postMessage({ id: m.id, ok }, [ok.buffer]);
});
`;

/** Checks per message to the worker: enough to make the hand-over cheap, few enough to keep it busy. */
const BATCH = 32;

interface Check {
  digest: RsaDigest;
  message: Buffer;
  key: KeyObject;
  /** Base64, as received. */
  signature: string;
  hexOf: HexOf;
  resolve: (ok: boolean) => void;
}

class RsaWorker {
  private readonly keyIds = new WeakMap<KeyObject, number>();
  private nextKeyId = 0;
  private queue: Check[] = [];
  private flushScheduled = false;
  private readonly sent = new Map<number, Check[]>();
  private nextBatch = 0;
  private broken = false;

  constructor(
    private readonly worker: Worker,
    private readonly started: Int32Array,
    private readonly debug?: (message: string) => void,
  ) {
    worker.on('message', (m: { id: number; ok: Uint8Array }) => {
      const checks = this.sent.get(m.id);
      if (!checks) return;
      this.sent.delete(m.id);
      for (let i = 0; i < checks.length; i++) checks[i].resolve(m.ok[i] === 1);
      if (this.sent.size === 0) worker.unref();
    });
    worker.on('error', (err) => this.fail(`RSA worker failed: ${err.message}`));
    worker.on('exit', (code) => this.fail(`RSA worker exited (code ${code})`));
    // Referenced only while checks are out: an idle worker never holds the process open. After the
    // listeners: adding the first 'message' listener refs the worker's port again.
    worker.unref();
  }

  /** True once the worker thread runs (its checks then wait for nothing but each other). */
  isStarted(): boolean {
    return Atomics.load(this.started, 0) === 1;
  }

  check(digest: RsaDigest, message: Buffer, key: KeyObject, signature: string, hexOf: HexOf): Promise<boolean> {
    if (this.broken || !this.isStarted()) return Promise.resolve(verifyRsa(digest, message, key, signature, hexOf));
    return new Promise<boolean>((resolve) => {
      this.queue.push({ digest, message, key, signature, hexOf, resolve });
      if (this.queue.length >= BATCH) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const checks = this.queue;
    if (checks.length === 0) return;
    this.queue = [];
    if (this.broken) {
      for (const c of checks) c.resolve(verifyRsa(c.digest, c.message, c.key, c.signature, c.hexOf));
      return;
    }
    let size = 0;
    // UTF-8 takes at most 3 bytes per UTF-16 unit of the signature text.
    for (const c of checks) size += c.message.length + 3 * c.signature.length;
    const bytes = Buffer.allocUnsafeSlow(size);
    const offsets = new Uint32Array(4 * checks.length);
    const keyIds = new Int32Array(checks.length);
    const digests: string[] = new Array(checks.length);
    const hexOf: Array<string | undefined> = new Array(checks.length);
    let at = 0;
    checks.forEach((c, i) => {
      let id = this.keyIds.get(c.key);
      if (id === undefined) {
        id = this.nextKeyId++;
        this.keyIds.set(c.key, id);
        this.worker.postMessage({ t: 'key', id, key: c.key });
      }
      keyIds[i] = id;
      digests[i] = c.digest;
      hexOf[i] = c.hexOf;
      offsets[4 * i] = at;
      bytes.set(c.message, at);
      at += c.message.length;
      offsets[4 * i + 1] = at;
      offsets[4 * i + 2] = at;
      // As UTF-8: anything but ASCII becomes bytes that fail the worker's base64 test.
      at += bytes.write(c.signature, at, 'utf8');
      offsets[4 * i + 3] = at;
    });
    const id = this.nextBatch++;
    this.sent.set(id, checks);
    this.worker.ref();
    this.worker.postMessage({ t: 'check', id, bytes: bytes.buffer, offsets, keyIds, digests, hexOf }, [bytes.buffer, offsets.buffer, keyIds.buffer]);
  }

  /** After a failure every check is done in this thread, those already sent included. */
  private fail(message?: string): void {
    if (this.broken) return;
    this.broken = true;
    if (message) this.debug?.(`${message}; checking signatures in this thread`);
    for (const checks of this.sent.values()) for (const c of checks) c.resolve(verifyRsa(c.digest, c.message, c.key, c.signature, c.hexOf));
    this.sent.clear();
    this.flush();
  }

  /** Stops the worker; anything still queued or out is checked here first. */
  async close(): Promise<void> {
    this.fail();
    await this.worker.terminate();
  }
}

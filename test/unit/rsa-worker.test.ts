/**
 * The worker-thread path of src/channel/rsa.ts (`pay verify` over 200 files or more): inside
 * `checkInWorker()`, `verifyRsaAsync` must give, check for check, the answer the in-thread
 * `verifyRsa` gives and the answer the inputs were built to have — across batches and keys, for
 * digests over the message and over its hex digest (UnionPay), and for every kind of garbage.
 * Also: partial batches (the setImmediate flush), overlapping users, checks still out when the
 * worker stops, a restart, and an idle worker not holding its process open.
 *
 * "Went to the worker" is told apart from "answered in this thread" by timing alone: an
 * in-thread answer is settled after a few microtask turns, a worker's answer needs a message
 * from the worker thread (a macrotask), so none of those can be settled by then.
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkInWorker, isBase64, verifyRsa, verifyRsaAsync, workerStarted, type HexOf, type RsaDigest } from '../../src/channel/rsa.js';
import { ROOT, tempDir } from '../helpers/cli.js';

interface Case {
  what: string;
  digest: RsaDigest;
  message: Buffer;
  key: KeyObject;
  sig: string;
  hexOf?: HexOf;
  /** What the inputs were built to give. */
  expected: boolean;
}

let a: { publicKey: KeyObject; privateKey: KeyObject };
let b: { publicKey: KeyObject; privateKey: KeyObject };
let ed: { publicKey: KeyObject; privateKey: KeyObject };
let cases: Case[] = [];

/** UnionPay's step: the RSA signature covers the lowercase hex digest of the text. */
const hexBytes = (h: RsaDigest, m: Buffer) => Buffer.from(createHash(h).update(m).digest('hex'), 'latin1');
const sign = (digest: RsaDigest, m: Buffer, key: KeyObject, hexOf?: RsaDigest) => cryptoSign(digest, hexOf ? hexBytes(hexOf, m) : m, key).toString('base64');
const flipByte = (buf: Buffer, at: number) => {
  const out = Buffer.from(buf);
  out[at % out.length] ^= 0x01;
  return out;
};
/** A deterministic message of `n` bytes (printable, like the signed strings of the channels). */
const message = (i: number, n: number) => Buffer.from(Array.from({ length: n }, (_, k) => 33 + ((i * 31 + k * 7) % 90)));

/** Case `i` of a varied, deterministic mix: every kind appears many times, in every batch. */
function makeCase(i: number): Case {
  const m = message(i, 1 + ((i * 37) % 700));
  const kind = i % 16;
  switch (kind) {
    case 0:
      return { what: 'sha256 valid (key A)', digest: 'sha256', message: m, key: a.publicKey, sig: sign('sha256', m, a.privateKey), expected: true };
    case 1:
      return { what: 'sha1 valid (key B)', digest: 'sha1', message: m, key: b.publicKey, sig: sign('sha1', m, b.privateKey), expected: true };
    case 2:
      return { what: 'hexOf sha256 valid (UnionPay 5.1.0, key A)', digest: 'sha256', message: m, key: a.publicKey, sig: sign('sha256', m, a.privateKey, 'sha256'), hexOf: 'sha256', expected: true };
    case 3:
      return { what: 'hexOf sha1 valid (UnionPay 5.0.0, key B)', digest: 'sha1', message: m, key: b.publicKey, sig: sign('sha1', m, b.privateKey, 'sha1'), hexOf: 'sha1', expected: true };
    case 4:
      return { what: 'one message byte flipped', digest: 'sha256', message: flipByte(m, i), key: a.publicKey, sig: sign('sha256', m, a.privateKey), expected: false };
    case 5: {
      const sig = flipByte(cryptoSign('sha1', m, b.privateKey), i * 3);
      return { what: 'one signature byte flipped', digest: 'sha1', message: m, key: b.publicKey, sig: sig.toString('base64'), expected: false };
    }
    case 6:
      return { what: 'signature not base64', digest: 'sha256', message: m, key: a.publicKey, sig: `${sign('sha256', m, a.privateKey).slice(0, 40)}*!`, expected: false };
    case 7:
      return { what: 'wrong key (signed with A, checked with B)', digest: 'sha256', message: m, key: b.publicKey, sig: sign('sha256', m, a.privateKey), expected: false };
    case 8:
      return { what: 'empty message, valid', digest: i % 2 ? 'sha1' : 'sha256', message: Buffer.alloc(0), key: a.publicKey, sig: sign(i % 2 ? 'sha1' : 'sha256', Buffer.alloc(0), a.privateKey), expected: true };
    case 9:
      return { what: 'empty message, signature of another', digest: 'sha256', message: Buffer.alloc(0), key: a.publicKey, sig: sign('sha256', m, a.privateKey), expected: false };
    case 10:
      return { what: 'hexOf message byte flipped', digest: 'sha256', message: flipByte(m, i + 1), key: b.publicKey, sig: sign('sha256', m, b.privateKey, 'sha256'), hexOf: 'sha256', expected: false };
    case 11:
      return { what: 'signed over the message, checked over its hex', digest: 'sha256', message: m, key: a.publicKey, sig: sign('sha256', m, a.privateKey), hexOf: 'sha256', expected: false };
    case 12:
      return { what: 'signed over the sha256 hex, checked over the sha1 hex', digest: 'sha256', message: m, key: a.publicKey, sig: sign('sha256', m, a.privateKey, 'sha256'), hexOf: 'sha1', expected: false };
    case 13:
      return { what: 'signed sha256, checked sha1', digest: 'sha1', message: m, key: b.publicKey, sig: sign('sha256', m, b.privateKey), expected: false };
    case 14: {
      // Valid base64 of the wrong length: a truncated signature, or one that decodes to nothing.
      const sig = i % 32 === 14 ? 'A' : sign('sha256', m, a.privateKey).slice(0, 100);
      return { what: `short signature (${sig.length} chars)`, digest: 'sha256', message: m, key: a.publicKey, sig, expected: false };
    }
    default:
      // A key of the wrong type: node:crypto throws; both paths must say false.
      return { what: 'Ed25519 key with an RSA digest', digest: 'sha256', message: m, key: ed.publicKey, sig: sign('sha256', m, a.privateKey), expected: false };
  }
}

const inThread = (cs: readonly Case[]) => cs.map((c) => verifyRsa(c.digest, c.message, c.key, c.sig, c.hexOf));
const sendAll = (cs: readonly Case[]) => cs.map((c) => verifyRsaAsync(c.digest, c.message, c.key, c.sig, c.hexOf));
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * How many of `pending` (only those with base64 signatures: the others are refused before any
 * hand-over) are settled after a few microtask turns. 0: they went to the worker; all: this thread.
 */
async function settledSoon(pending: readonly Promise<boolean>[], cs: readonly Case[]): Promise<number> {
  const done = pending.map(() => false);
  pending.forEach((p, i) => void p.then(() => (done[i] = true)));
  for (let k = 0; k < 5; k++) await Promise.resolve();
  return done.filter((d, i) => d && BASE64.test(cs[i].sig)).length;
}
const toWorker = (cs: readonly Case[]) => cs.filter((c) => BASE64.test(c.sig)).length;

/** All answers, or a clear failure (instead of the test's own timeout) when some never come. */
async function answered(pending: readonly Promise<boolean>[]): Promise<boolean[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${pending.length} checks: no answer within 15 s`)), 15_000);
  });
  try {
    return await Promise.race([Promise.all(pending), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Labelled results, so a failure names the case that differs. */
const labelled = (cs: readonly Case[], results: readonly boolean[]) => results.map((r, i) => `${i} ${cs[i].what}: ${r}`);

const stops: Array<() => Promise<void>> = [];
/**
 * checkInWorker, with its stop remembered for afterEach (stopping twice is a no-op), once its
 * thread runs: until then checks are answered in this thread (see the last test).
 */
async function start(debug?: (m: string) => void): Promise<() => Promise<void>> {
  const stop = await checkInWorker(debug);
  stops.push(stop);
  expect(await workerStarted()).toBe(true);
  return stop;
}
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

beforeAll(() => {
  a = generateKeyPairSync('rsa', { modulusLength: 2048 });
  b = generateKeyPairSync('rsa', { modulusLength: 2048 });
  ed = generateKeyPairSync('ed25519');
  cases = Array.from({ length: 300 }, (_, i) => makeCase(i));
  // The built cases really have the answers they were built for (else the comparisons below
  // would prove little): checked in this thread before any worker exists.
  expect(labelled(cases, inThread(cases))).toEqual(labelled(cases, cases.map((c) => c.expected)));
});

/** Runs a module script in a child node; its exit code (or why it was killed) and what it printed. */
async function runModule(script: string, name: string): Promise<{ code: number | string; out: string; err: string }> {
  // A file, not `node -e`: an --eval'd module exits when its code is done, whatever is referenced.
  const tmp = tempDir('pay-rsa-worker-');
  const file = join(tmp.dir, name);
  writeFileSync(file, script);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | string>((resolve) => {
    // Generous for a busy machine: the child needs well under a second when it exits by itself.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('still running after 20 s: the worker held the process open');
    }, 20_000);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c ?? -1);
    });
  });
  tmp.cleanup();
  return { code, out, err };
}

describe('verifyRsaAsync in the worker thread', () => {
  it('300 concurrent checks (two keys, sha256/sha1, hex-digest step, garbage) answer exactly as verifyRsa does', async () => {
    const debug: string[] = [];
    const stop = await start((m) => debug.push(m));
    try {
      const pending = sendAll(cases);
      expect(await settledSoon(pending, cases)).toBe(0);
      const got = await answered(pending);
      expect(labelled(cases, got)).toEqual(labelled(cases, inThread(cases)));
      expect(got).toEqual(cases.map((c) => c.expected));
      expect(got.filter(Boolean).length).toBeGreaterThan(80);
      expect(got.filter((x) => !x).length).toBeGreaterThan(150);
      // The worker never failed over to this thread.
      expect(debug).toEqual([]);
    } finally {
      await stop();
    }
  });

  it('the same checks in a shuffled order, sent in waves while earlier batches are out, keep their own answers', async () => {
    const stop = await start();
    try {
      const order = cases.map((_, i) => (i * 97) % cases.length);
      expect(new Set(order).size).toBe(cases.length);
      const shuffled = order.map((i) => cases[i]);
      const pending: Promise<boolean>[] = [];
      for (let k = 0; k < shuffled.length; k += 45) {
        pending.push(...sendAll(shuffled.slice(k, k + 45)));
        // Let some batches go out and come back between waves.
        await new Promise((r) => setImmediate(r));
      }
      const got = await answered(pending);
      expect(labelled(shuffled, got)).toEqual(labelled(shuffled, shuffled.map((c) => c.expected)));
    } finally {
      await stop();
    }
  });

  it('fewer checks than a batch are sent by the setImmediate flush, and a next small group too', async () => {
    const stop = await start();
    try {
      for (const group of [cases.slice(0, 3), [cases[4]], cases.slice(16, 19), cases.slice(0, 33)]) {
        const pending = sendAll(group);
        expect(await settledSoon(pending, group)).toBe(0);
        expect(labelled(group, await answered(pending))).toEqual(labelled(group, group.map((c) => c.expected)));
      }
      // Three checks spelled out: valid sha256, a flipped message byte, valid over the sha256 hex.
      expect(await answered(sendAll([cases[0], cases[4], cases[2]]))).toEqual([true, false, true]);
    } finally {
      await stop();
    }
  });

  it('overlapping users: stopping the first (twice) leaves the second on the worker; checks out at the last stop still get their answers; then this thread answers', async () => {
    const debug: string[] = [];
    const stopFirst = await start((m) => debug.push(m));
    const stopSecond = await start();
    const part = cases.slice(0, 64);
    const expected = labelled(part, part.map((c) => c.expected));

    let pending = sendAll(part);
    expect(await settledSoon(pending, part)).toBe(0);
    expect(labelled(part, await answered(pending))).toEqual(expected);

    await stopFirst();
    await stopFirst(); // a second stop of the same user must not take the other user's share
    pending = sendAll(part);
    expect(await settledSoon(pending, part)).toBe(0);
    expect(labelled(part, await answered(pending))).toEqual(expected);

    // The last user stops while 64 checks are queued or out: they are answered all the same.
    pending = sendAll(part);
    await stopSecond();
    expect(labelled(part, await answered(pending))).toEqual(expected);

    // No worker any more: answered in this thread, settled at once, still right.
    pending = sendAll(part);
    expect(await settledSoon(pending, part)).toBe(toWorker(part));
    expect(labelled(part, await answered(pending))).toEqual(expected);
    expect(debug).toEqual([]);
  });

  it('checks made before the worker thread runs are answered in this thread, right; later ones go to the worker', async () => {
    const stop = await checkInWorker();
    stops.push(stop);
    // A worker thread takes tens of milliseconds to start: these come before it can.
    const early = cases.slice(0, 40);
    const pending = sendAll(early);
    expect(await settledSoon(pending, early)).toBe(toWorker(early));
    expect(labelled(early, await answered(pending))).toEqual(labelled(early, early.map((c) => c.expected)));
    expect(await workerStarted()).toBe(true);
    const late = cases.slice(40, 120);
    const sent = sendAll(late);
    expect(await settledSoon(sent, late)).toBe(0);
    expect(labelled(late, await answered(sent))).toEqual(labelled(late, late.map((c) => c.expected)));
    await stop();
    expect(await workerStarted()).toBe(false);
  });

  it('after a stop, a new checkInWorker() starts a worker that answers again', async () => {
    for (let round = 0; round < 2; round++) {
      const stop = await start();
      const part = cases.slice(round * 100, round * 100 + 40);
      const pending = sendAll(part);
      expect(await settledSoon(pending, part)).toBe(0);
      expect(labelled(part, await answered(pending))).toEqual(labelled(part, part.map((c) => c.expected)));
      await stop();
    }
  });
});

// A child process runs the compiled module (dist/, `npm run build`): the eval'd worker is the same
// text there. It starts a worker, checks signatures and never stops it: it must print the right
// answers (the worker is referenced while checks are out) and then exit by itself (an idle worker
// is not).
const DIST_RSA = join(ROOT, 'dist', 'src', 'channel', 'rsa.js');
if (!existsSync(DIST_RSA)) process.stderr.write(`NOTICE: ${DIST_RSA} is absent (run npm run build); skipping the process-exit test.\n`);

describe.skipIf(!existsSync(DIST_RSA))('an idle worker does not hold the process open', () => {
  it('a process that starts the worker and sends it nothing exits by itself (the message listener does not hold it open)', async () => {
    // All checks answered in this thread (the worker had not started yet, as on a busy machine)
    // used to leave the worker's port referenced: the process never ended.
    const script = `
      const rsa = await import(${JSON.stringify(pathToFileURL(DIST_RSA).href)});
      await rsa.checkInWorker();
      process.stdout.write('done');
    `;
    const { code, out } = await runModule(script, 'never-checks.mjs');
    expect({ code, out }).toEqual({ code: 0, out: 'done' });
  });

  it('a process that never stops its worker prints the right answers and exits by itself', async () => {
    const script = `
      const { generateKeyPairSync, sign } = await import('node:crypto');
      const rsa = await import(${JSON.stringify(pathToFileURL(DIST_RSA).href)});
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await rsa.checkInWorker();
      const m = Buffer.from('pay verify worker exit test');
      const sig = sign('sha256', m, privateKey).toString('base64');
      const other = Buffer.from('pay verify worker exit tesT');
      const answers = await Promise.all([0, 1, 2, 3, 4, 5, 6].map((i) => rsa.verifyRsaAsync('sha256', i % 2 ? other : m, publicKey, sig)));
      // Answered after an idle pause too (the worker is referenced again while checks are out).
      await new Promise((r) => setTimeout(r, 50));
      answers.push(await rsa.verifyRsaAsync('sha256', m, publicKey, sig));
      process.stdout.write(JSON.stringify(answers));
    `;
    const { code, out, err } = await runModule(script, 'never-stops.mjs');
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(out)).toEqual([true, false, true, false, true, false, true, true]);
  });
});

describe('the base64 test of a signature', () => {
  it('isBase64 says what /^[A-Za-z0-9+/]+={0,2}$/ says, over edge cases and 20,000 random strings', () => {
    const edges = ['', '=', '==', '===', 'A', 'A=', 'A==', 'A===', '=A', 'A=A', 'AB==', '+/', '-_', 'A B', 'A\n', 'é', 'Aé=', 'A\u0100', '\u{1F600}', 'AAAA'.repeat(86)];
    // Mostly alphabet characters, some padding, now and then a stranger.
    const good = 'ABYZabyz09+/';
    const other = '-_ .\n\u00e9\u0100';
    let seed = 7;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed % n);
    const char = () => {
      const r = rnd(20);
      return r < 16 ? good[rnd(good.length)] : r < 19 ? '=' : other[rnd(other.length)];
    };
    const random = Array.from({ length: 20_000 }, () => Array.from({ length: rnd(8) }, char).join(''));
    const all = [...edges, ...random];
    expect(all.map((x) => [x, isBase64(x)])).toEqual(all.map((x) => [x, BASE64.test(x)]));
    // Both answers occur often enough for the comparison to mean something.
    expect(all.filter((x) => BASE64.test(x)).length).toBeGreaterThan(1000);
  });

  it('the worker thread refuses the same signatures and accepts the same ones as this thread', async () => {
    const m = message(5, 300);
    const good = sign('sha256', m, a.privateKey);
    // 256 bytes: two pads.
    expect(good.endsWith('==')).toBe(true);
    const variants: Array<[string, boolean]> = [
      [good, true],
      // Fewer pads are still base64 of the same bytes; a third is not base64.
      [good.slice(0, -1), true],
      [good.slice(0, -2), true],
      [`${good}=`, false],
      [`${good.slice(0, 10)}é${good.slice(11)}`, false],
      [`${good.slice(0, 10)}-${good.slice(11)}`, false],
      [`${good.slice(0, 10)}_${good.slice(11)}`, false],
      [`${good.slice(0, 10)} ${good.slice(11)}`, false],
      [`=${good}`, false],
      ['', false],
    ];
    const cs: Case[] = variants.map(([sig, expected], i) => ({ what: `variant ${i}`, digest: 'sha256', message: m, key: a.publicKey, sig, expected }));
    expect(inThread(cs)).toEqual(variants.map(([, e]) => e));
    const stop = await start();
    try {
      const pending = sendAll(cs);
      expect(await settledSoon(pending, cs)).toBe(0);
      expect(labelled(cs, await answered(pending))).toEqual(labelled(cs, variants.map(([, e]) => e)));
    } finally {
      await stop();
    }
  });
});

describe('pay verify and its RSA thread', () => {
  it('a large run that fails before verifying (unknown --channel) stops the thread it started', async () => {
    const { createContext } = await import('../../src/commands/context.js');
    const { verify } = await import('../../src/commands/verify.js');
    const { RSA_THREAD_FROM } = await import('../../src/verify/files.js');
    const tmp = tempDir('pay-rsa-thread-');
    try {
      // Enough files for the thread; what is in them does not matter (the run fails first).
      for (let i = 0; i < RSA_THREAD_FROM; i++) writeFileSync(join(tmp.dir, `${String(i).padStart(4, '0')}.http`), 'a=1');
      const ctx = createContext({ db: join(tmp.dir, 'pay.db'), env: {}, cwd: tmp.dir, json: true });
      await expect(verify([tmp.dir], { channel: 'no-such-channel' }, ctx)).rejects.toThrow(/unknown channel "no-such-channel"/);
      // No thread is left running: a later run would otherwise share it, and its users count.
      expect(await workerStarted()).toBe(false);
    } finally {
      tmp.cleanup();
    }
  });
});

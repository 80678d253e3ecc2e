/**
 * `pay verify <named pipe>`: a callback written into a FIFO is read to its end. The file reader
 * keeps one buffer for a whole run and reads until end of file; a pipe delivers the bytes in
 * pieces smaller than the request, so this checks that nothing is cut at a piece or at the
 * buffer's size (a regular file of the same size would come in one read).
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCallback } from '../../channels/mock/callback.js';
import { formatRawHttp } from '../../src/verify/request-file.js';
import { runPayJson, tempDir } from '../helpers/cli.js';

const SECRET = 'whsec_test_only_stdin';
const { dir, cleanup } = tempDir('pay-verify-stdin-');
afterAll(cleanup);

/** Writes `bytes` into the FIFO at `path` from another process, in 7,000-byte pieces. */
function feed(path: string, bytes: Buffer): { done: Promise<void>; stop: () => void } {
  const source = `${path}.source`;
  writeFileSync(source, bytes);
  const child = spawn(
    process.execPath,
    ['-e', `const fs=require('fs');const b=fs.readFileSync(${JSON.stringify(source)});const fd=fs.openSync(${JSON.stringify(path)},'w');for(let i=0;i<b.length;i+=7000)fs.writeSync(fd,b.subarray(i,i+7000));fs.closeSync(fd);`],
    { stdio: 'ignore' },
  );
  return { done: new Promise((resolve) => child.on('close', () => resolve())), stop: () => child.kill('SIGKILL') };
}

let hasFifo = true;
try {
  execFileSync('mkfifo', ['--help'], { stdio: 'ignore' });
} catch {
  hasFifo = false;
}

describe('pay verify <named pipe>', () => {
  it.skipIf(!hasFifo)('verifies a raw HTTP callback larger than the read buffer, and finds it truncated one byte short', async () => {
    writeFileSync(join(dir, 'pay.config.json'), JSON.stringify({ channels: { mock: { webhookSecret: SECRET } } }));
    const nowMs = Date.now();
    // About 150 kB of body: more than the reader's 64 KiB buffer and than one pipe write.
    const cb = buildCallback(SECRET, 'payment.succeeded', { orderNo: 'PIPE1', tradeNo: 'T1', amount: '1.00', currency: 'CNY', status: 'succeeded', note: 'x'.repeat(150_000) } as never, { nowMs });
    const raw: string[] = [];
    for (const [k, v] of Object.entries(cb.headers)) raw.push(k, v);
    raw.push('Content-Length', String(cb.body.length));
    const file = formatRawHttp({ method: 'POST', target: '/notify/mock', rawHeaders: raw, body: cb.body });
    const env = { PAY_DB: join(dir, 'pay.db') };

    for (const [name, bytes, check] of [
      ['whole.fifo', file, (r: { code: number; json: Array<Record<string, unknown>> }) => {
        expect(r.code).toBe(0);
        expect(r.json).toEqual([expect.objectContaining({ file: 'whole.fifo', verdict: 'valid', channel: 'mock', orderNo: 'PIPE1', amountMinor: 100 })]);
      }],
      ['short.fifo', file.subarray(0, file.length - 1), (r: { code: number; json: Array<Record<string, unknown>> }) => {
        expect(r.code).toBe(2);
        expect(r.json[0]).toMatchObject({ verdict: 'error', reason: expect.stringMatching(/truncated: Content-Length says \d+ bytes, the file has \d+/) });
      }],
    ] as const) {
      const fifo = join(dir, name);
      execFileSync('mkfifo', [fifo]);
      const writer = feed(fifo, bytes);
      try {
        const r = await runPayJson<Array<Record<string, unknown>>>(['verify', name], { cwd: dir, env, timeoutMs: 20_000 });
        check(r);
        await writer.done;
      } finally {
        writer.stop();
      }
    }
  });
});

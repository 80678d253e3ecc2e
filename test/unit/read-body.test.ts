/**
 * The one capped body reader (src/core/read-body) used by `pay sandbox`, `pay listen` and
 * `pay loadtest --body @file`: whole bodies under the cap, the caller's error past it, over a
 * real local HTTP server and a real file.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isPayError } from '../../src/core/errors.js';
import { readBody } from '../../src/core/read-body.js';
import { MAX_BODY_FILE_BYTES, openHttpTarget } from '../../src/loadtest/open-http.js';
import { makePlan } from '../../src/loadtest/options.js';

const tooLarge = (max: number) => new Error(`over ${max}`);

describe('readBody', () => {
  it('returns every byte of a body at or under the cap', async () => {
    const parts = [Buffer.from('abc'), Buffer.from('defg')];
    expect((await readBody(Readable.from(parts), { maxBytes: 7, tooLarge })).toString()).toBe('abcdefg');
  });

  it('fails with the caller error one byte past the cap, and stops reading', async () => {
    const stream = Readable.from([Buffer.from('abcd'), Buffer.from('efgh')]);
    await expect(readBody(stream, { maxBytes: 7, tooLarge })).rejects.toThrow('over 7');
    expect(stream.destroyed).toBe(true);
  });

  it('caps a real HTTP request body', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      readBody(req, { maxBytes: 10, tooLarge }).then(
        (b) => {
          seen.push(`ok ${b.length}`);
          res.end('ok');
        },
        (err: Error) => {
          seen.push(err.message);
          res.writeHead(413, { connection: 'close' }).end();
        },
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      expect((await fetch(url, { method: 'POST', body: '0123456789' })).status).toBe(200);
      const big = await fetch(url, { method: 'POST', body: 'x'.repeat(64 * 1024) }).then(
        (r) => r.status,
        () => 'reset',
      );
      expect([413, 'reset']).toContain(big);
      expect(seen).toEqual(['ok 10', 'over 10']);
    } finally {
      server.close();
    }
  });
});

describe('pay loadtest --body @file', () => {
  it('refuses a file larger than the cap as a usage error, and reads one under it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pay-read-body-'));
    try {
      const plan = await makePlan({ concurrency: '1', requests: '1' });
      const small = join(dir, 'small.json');
      writeFileSync(small, '{"a":1}');
      const opened = await openHttpTarget({ url: 'http://127.0.0.1:9/', body: `@${small}` }, plan);
      expect(opened.info.bodyBytes).toBe(7);
      await opened.close();

      const big = join(dir, 'big.json');
      writeFileSync(big, Buffer.alloc(MAX_BODY_FILE_BYTES + 1, 0x20));
      const err = await openHttpTarget({ url: 'http://127.0.0.1:9/', body: `@${big}` }, plan).catch((e: unknown) => e);
      expect(isPayError(err) && err.exitCode).toBe(2);
      expect((err as Error).message).toMatch(/--body file .*big\.json is larger than 16,777,216 bytes/);

      const missing = await openHttpTarget({ url: 'http://127.0.0.1:9/', body: `@${join(dir, 'none.json')}` }, plan).catch((e: unknown) => e);
      expect((missing as Error).message).toMatch(/cannot read --body file .*none\.json \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

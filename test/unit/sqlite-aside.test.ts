// Read-only statements on a worker thread's own connection to an SQLite file: the rows come back
// in order, from one snapshot; a file that is not there is an error, not an empty answer.
// The worker is a compiled module: the test runs dist/ (`npm run build`, which `npm test` does first).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { readAside as ReadAside } from '../../src/store/sqlite-aside.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/cli.js';

const DIST_ASIDE = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'dist', 'src', 'store', 'sqlite-aside.js');
if (!existsSync(DIST_ASIDE)) process.stderr.write(`NOTICE: ${DIST_ASIDE} is absent (run npm run build); skipping the aside-read tests.\n`);

describe.skipIf(!existsSync(DIST_ASIDE))('readAside', () => {
  let store: SqliteStore | undefined;
  const tmp = tempDir('pay-aside-');
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });
  afterAll(() => tmp.cleanup());
  const readAside: typeof ReadAside = async (...args) => ((await import(DIST_ASIDE)) as { readAside: typeof ReadAside }).readAside(...args);

  it('runs each statement with its parameters on another connection and returns the rows in order', async () => {
    const path = join(tmp.dir, 'one.db');
    store = SqliteStore.open(path);
    for (const [no, amount] of [['A1', 100], ['A2', 250], ['B1', 999]] as const) {
      await store.createOrder({ orderNo: no, kind: 'collect', channel: 'mock', amountMinor: amount, currency: 'CNY', status: 'succeeded', paidAt: '2026-11-22T01:00:00.000Z' });
    }
    const [sums, one] = await readAside(path, [
      { sql: "SELECT substr(order_no, 1, 1) AS p, COUNT(*) AS n, SUM(amount_minor) AS total FROM orders GROUP BY p ORDER BY p", params: [] },
      { sql: 'SELECT order_no FROM orders WHERE amount_minor = ?', params: [250] },
    ]);
    expect(sums).toEqual([
      { p: 'A', n: 2, total: 350 },
      { p: 'B', n: 1, total: 999 },
    ]);
    expect(one).toEqual([{ order_no: 'A2' }]);
  });

  it('rejects with the reason when the database cannot be read', async () => {
    await expect(readAside(join(tmp.dir, 'absent.db'), [{ sql: 'SELECT 1', params: [] }])).rejects.toThrow(/unable to open|no such file|does not exist/i);
    const path = join(tmp.dir, 'two.db');
    store = SqliteStore.open(path);
    await expect(readAside(path, [{ sql: 'SELECT nope FROM orders', params: [] }])).rejects.toThrow(/no such column: nope/);
  });
});

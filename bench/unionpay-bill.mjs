#!/usr/bin/env node
/**
 * UnionPay reconciliation file: writes a generated N-row zip (ZM detail + RD summary) with the
 * channel's writer, then streams it back through the reader (every row parsed, totals checked
 * against the summary). Prints write and read wall time, rows/s, file sizes and the reader's peak
 * RSS (the reader runs in a child process so the writer's row array does not count).
 *
 *   npm run build && node bench/unionpay-bill.mjs [--rows 1000000]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const dist = new URL('../dist/channels/unionpay/', import.meta.url);
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const DATE = '2026-11-22';

if (process.argv[2] === '--read') {
  const { readUnionPayBill } = await import(new URL('bill.js', dist));
  const t0 = performance.now();
  let n = 0;
  let sum = 0;
  let peak = 0;
  for await (const row of readUnionPayBill({ path: process.argv[3] }, { date: DATE })) {
    n++;
    sum += row.amountMinor;
    if ((n & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  process.stdout.write(JSON.stringify({ rows: n, sum, ms: performance.now() - t0, peakRss: peak }));
} else {
  const rows = Number(arg('rows', '1000000'));
  const { writeUnionPayBill } = await import(new URL('bill.js', dist));
  const dir = mkdtempSync(join(tmpdir(), 'pay-bench-unionpay-bill-'));
  try {
    const data = new Array(rows);
    for (let i = 0; i < rows; i++) {
      const refund = i % 10 === 9;
      data[i] = {
        line: 0,
        orderNo: `P${String(i).padStart(20, '0')}`,
        refundNo: refund ? `R${String(i).padStart(20, '0')}` : undefined,
        channelTradeNo: String(700000000000000000000n + BigInt(i)),
        kind: refund ? 'refund' : 'payment',
        amountMinor: refund ? -(100 + (i % 5000)) : 100 + (i % 99_999),
        feeMinor: refund ? 0 : 1 + (i % 600),
        currency: 'CNY',
        time: new Date(Date.parse('2026-11-21T16:00:00Z') + (i % 86_400) * 1000).toISOString(),
      };
    }
    const path = join(dir, '777290058110097_20261122.zip');
    const w0 = performance.now();
    await writeUnionPayBill(path, data, { date: DATE, merchantId: '777290058110097' });
    const writeMs = performance.now() - w0;
    const zipBytes = statSync(path).size;
    const child = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--read', path], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (child.status !== 0) throw new Error(`reader failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout);
    const expected = data.reduce((s, x) => s + x.amountMinor, 0);
    if (r.rows !== rows || r.sum !== expected) throw new Error(`reader disagrees: ${r.rows} rows, sum ${r.sum} (expected ${rows}, ${expected})`);
    const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
    console.log(`UnionPay ZM bill, ${rows.toLocaleString('en')} rows (${mb(rows * 609)} of 607-byte records, zip ${mb(zipBytes)}), node ${process.version}`);
    console.log(`write: ${(writeMs / 1000).toFixed(2)} s  ${Math.round(rows / (writeMs / 1000)).toLocaleString('en')} rows/s`);
    console.log(`read:  ${(r.ms / 1000).toFixed(2)} s  ${Math.round(rows / (r.ms / 1000)).toLocaleString('en')} rows/s  peak RSS ${mb(r.peakRss)} (streamed; totals checked against the RD summary)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

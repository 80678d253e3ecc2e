#!/usr/bin/env node
/**
 * Alipay trade bill throughput: writes a generated bill of N rows (zip with GBK entries, as
 * downloaded; and the GBK CSV) with the channel's writer, then streams it back through the
 * reader, printing write time, read rows/s and the process's peak RSS (the reader streams, so
 * RSS should not grow with N).
 *
 *   npm run build && node bench/alipay-bill.mjs [--rows 1000000] [--variant zip|csv]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const ROWS = Number(arg('rows', 1_000_000));
const VARIANT = arg('variant', 'zip');
const { writeAlipayBill, readAlipayBill } = await import(new URL('../dist/channels/alipay/bill.js', import.meta.url));

const date = '2026-11-23';
const start = Date.parse('2026-11-22T16:00:00.000Z');
function* rows() {
  for (let i = 0; i < ROWS; i++) {
    const refund = i % 10 === 9;
    yield {
      line: 0,
      orderNo: `P${String(i).padStart(12, '0')}`,
      channelTradeNo: `2026112322001${String(i).padStart(15, '0')}`,
      kind: refund ? 'refund' : 'payment',
      refundNo: refund ? `R${i}` : undefined,
      amountMinor: refund ? -((i % 500) + 1) : (i % 90000) + 1,
      feeMinor: refund ? 0 : Math.round(((i % 90000) + 1) * 0.006),
      currency: 'CNY',
      time: new Date(start + Math.floor((i * 86_399_000) / ROWS)).toISOString(),
      status: 'succeeded',
    };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'pay-bench-alipay-'));
try {
  const path = join(dir, VARIANT === 'zip' ? 'bill.zip' : 'bill.csv');
  let t = performance.now();
  await writeAlipayBill(path, rows(), { date, merchantId: '2088000000000001', variant: VARIANT });
  const writeMs = performance.now() - t;
  const size = statSync(path).size;
  let peak = process.memoryUsage().rss;
  t = performance.now();
  let n = 0;
  let sum = 0;
  for await (const r of readAlipayBill({ path }, { date })) {
    n++;
    sum += r.amountMinor;
    if ((n & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  const readMs = performance.now() - t;
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(`alipay trade bill, ${VARIANT}, ${ROWS.toLocaleString('en')} rows (${(size / 1048576).toFixed(1)} MiB on disk), node ${process.version}`);
  console.log(`  write  ${(writeMs / 1000).toFixed(2)} s   ${Math.round(ROWS / (writeMs / 1000)).toLocaleString('en')} rows/s`);
  console.log(`  read   ${(readMs / 1000).toFixed(2)} s   ${Math.round(n / (readMs / 1000)).toLocaleString('en')} rows/s   (${n.toLocaleString('en')} rows, net ${sum} fen, footers checked)`);
  console.log(`  peak RSS ${(peak / 1048576).toFixed(0)} MiB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

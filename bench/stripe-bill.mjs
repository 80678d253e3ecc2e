#!/usr/bin/env node
/**
 * Stripe statement throughput: writes a generated statement of N rows (payments with fees,
 * refunds, payouts) with the channel's writer, in both shapes pay reads (the itemized report CSV
 * and the balance-transaction JSON lines of `downloadBill`), streams each back through the
 * channel's reader (net = gross - fee checked per row, end line counted), and prints write time,
 * rows/s read and peak RSS (the reader streams: RSS must not grow with N).
 *
 *   npm run build && node bench/stripe-bill.mjs [--rows 1000000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const N = Number(arg('rows', '1000000'));
const { writeItemized, writeBalanceTransactions, rowToBalanceTransaction, readStripeBill } = await import(new URL('../dist/channels/stripe/bill.js', import.meta.url));

const date = '2026-11-22';
function* rows() {
  const base = Date.parse(`${date}T00:00:00Z`);
  for (let i = 0; i < N; i++) {
    const kind = i % 20 === 19 ? 'payout' : i % 10 === 9 ? 'refund' : 'payment';
    const amount = (i % 100000) + 100;
    yield {
      line: 0,
      kind,
      orderNo: `P${String(i).padStart(20, '0')}`,
      channelTradeNo: kind === 'payment' ? `pi_${String(i).padStart(24, '0')}` : `${kind === 'refund' ? 're' : 'po'}_${String(i).padStart(24, '0')}`,
      refundNo: kind === 'refund' ? `R${String(i).padStart(20, '0')}` : undefined,
      amountMinor: kind === 'payment' ? amount : -amount,
      feeMinor: kind === 'payment' ? Math.round(amount * 0.029) + 30 : 0,
      currency: 'USD',
      time: new Date(base + (i % 86400) * 1000).toISOString(),
      status: 'available',
    };
  }
}
function* txns() {
  let i = 0;
  for (const r of rows()) yield rowToBalanceTransaction(r, i++);
}

const dir = mkdtempSync(join(tmpdir(), 'pay-bench-stripe-'));
try {
  console.log(`stripe statements: ${N} rows (node ${process.version})`);
  for (const shape of ['itemized', 'balance-transactions']) {
    const path = join(dir, shape === 'itemized' ? 'itemized.csv' : 'bt.jsonl');
    let t = performance.now();
    if (shape === 'itemized') await writeItemized(path, rows());
    else await writeBalanceTransactions(path, txns(), { date, timeZone: 'UTC' });
    const writeS = (performance.now() - t) / 1000;
    t = performance.now();
    let n = 0;
    let net = 0;
    for await (const r of readStripeBill({ path }, { date })) {
      n++;
      net += r.amountMinor - r.feeMinor;
    }
    const readS = (performance.now() - t) / 1000;
    console.log(`${shape}: ${(statSync(path).size / 1e6).toFixed(1)} MB; write ${writeS.toFixed(1)} s; read ${readS.toFixed(1)} s (${Math.round(n / readS)} rows/s), ${n} rows, net ${net} cents`);
  }
  console.log(`peak RSS of the process ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

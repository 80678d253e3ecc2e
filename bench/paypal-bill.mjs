#!/usr/bin/env node
/**
 * PayPal statement throughput: writes a generated settlement report (STL) of N rows in UTF-8 and
 * UTF-16, and the transactions JSON lines of `downloadBill`, with the channel's writers, streams
 * each back through the channel's reader (section/report footers and counts cross-checked), and
 * prints write time, rows/s read and peak RSS (the reader streams: RSS must not grow with N).
 *
 *   npm run build && node bench/paypal-bill.mjs [--rows 1000000]
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
const { writeStl, writeTransactions, rowToTransaction, readPaypalBill } = await import(new URL('../dist/channels/paypal/bill.js', import.meta.url));

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
      channelTradeNo: `${String(i).padStart(17, '0')}`,
      refundNo: kind === 'refund' ? `R${String(i).padStart(20, '0')}` : undefined,
      amountMinor: kind === 'payment' ? amount : -amount,
      feeMinor: kind === 'payment' ? Math.round(amount * 0.0349) + 49 : 0,
      currency: 'USD',
      time: new Date(base + (i % 86400) * 1000).toISOString(),
    };
  }
}
function* txns() {
  for (const r of rows()) yield rowToTransaction(r);
}

const dir = mkdtempSync(join(tmpdir(), 'pay-bench-paypal-'));
try {
  console.log(`paypal statements: ${N} rows (node ${process.version})`);
  for (const shape of ['stl-utf8', 'stl-utf16', 'transactions']) {
    const path = join(dir, shape === 'transactions' ? 'tx.jsonl' : `STL-20261122.01.009.${shape}.CSV`);
    let t = performance.now();
    if (shape === 'transactions') await writeTransactions(path, txns(), { date, timeZone: 'UTC' });
    else await writeStl(path, rows(), { date, utf16: shape === 'stl-utf16' });
    const writeS = (performance.now() - t) / 1000;
    t = performance.now();
    let n = 0;
    let net = 0;
    for await (const r of readPaypalBill({ path }, { date })) {
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

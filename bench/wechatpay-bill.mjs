#!/usr/bin/env node
/**
 * WeChat Pay trade-bill throughput: writes a generated bill of N rows (payments, refunds, fees)
 * with the channel's writer, then streams it back through the channel's reader (summary
 * cross-checked, date and merchant checked), and prints write time, rows/s read and the peak RSS
 * (the reader streams: RSS must not grow with N).
 *
 *   npm run build && node bench/wechatpay-bill.mjs [--rows 1000000] [--plain]
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
const gzip = !process.argv.includes('--plain');
const { writeTradeBill, readWechatBill } = await import(new URL('../dist/channels/wechatpay/bill.js', import.meta.url));

const date = '2026-11-22';
const mch = '1900009191';
function* rows() {
  const base = Date.parse(`${date}T00:00:00+08:00`);
  for (let i = 0; i < N; i++) {
    const refund = i % 10 === 9;
    yield {
      line: 0,
      kind: refund ? 'refund' : 'payment',
      orderNo: `P${String(i).padStart(20, '0')}`,
      channelTradeNo: `${refund ? '5030' : '4200'}${String(i).padStart(24, '0')}`,
      refundNo: refund ? `R${String(i).padStart(20, '0')}` : undefined,
      amountMinor: refund ? -((i % 1000) + 1) : (i % 100000) + 1,
      feeMinor: refund ? -(i % 3) : i % 7,
      currency: 'CNY',
      time: new Date(base + (i % 86400) * 1000).toISOString(),
      status: 'SUCCESS',
    };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'pay-bench-wxbill-'));
try {
  const path = join(dir, gzip ? 'tradebill.csv.gz' : 'tradebill.csv');
  let t = performance.now();
  await writeTradeBill(path, rows(), { date, merchantId: mch, variant: 'ALL' });
  const writeS = (performance.now() - t) / 1000;
  const rssBefore = process.memoryUsage().rss;
  t = performance.now();
  let n = 0;
  let net = 0;
  for await (const r of readWechatBill({ path }, { date, merchantId: mch })) {
    n++;
    net += r.amountMinor;
  }
  const readS = (performance.now() - t) / 1000;
  console.log(`wechatpay trade bill: ${N} rows, ${gzip ? 'gzip' : 'plain'} ${(statSync(path).size / 1e6).toFixed(1)} MB (node ${process.version})`);
  console.log(`write: ${writeS.toFixed(1)} s (${Math.round(N / writeS)} rows/s)`);
  console.log(`read:  ${readS.toFixed(1)} s (${Math.round(n / readS)} rows/s), ${n} rows, net ${net} fen`);
  console.log(`RSS before reading ${Math.round(rssBefore / 1048576)} MB; peak RSS of the process ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

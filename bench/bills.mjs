#!/usr/bin/env node
/**
 * Statement throughput for every channel's bill format, through each channel module's public
 * `bill` reader and writer (the same calls the simulators and `pay reconcile` make): writes a
 * generated statement of N rows (payments with fees, refunds) in each format variant, then streams
 * it back in a child process (so the generated rows do not count against the reader's memory), the
 * way reconciliation reads it (a chunk of rows at a time where the reader offers that), and
 * prints write time, read rows/s and the reader's peak RSS, which must not grow with N. The round
 * trip is checked: same row count and net amount.
 *
 *   npm run build && node bench/bills.mjs [--channel alipay|wechatpay|unionpay|stripe|paypal|mock] [--rows 1000000]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const registry = new URL('../dist/src/channel/registry.js', import.meta.url);
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};

/** Per channel: currency, merchant id, trade-number shape, the file names (and variants) to write. */
const CHANNELS = {
  alipay: { currency: 'CNY', zone: '+08:00', merchantId: undefined, trade: (i) => `2026112222001${String(i).padStart(15, '0')}`, files: [['bill.csv.zip'], ['bill.csv', 'csv']] },
  wechatpay: { currency: 'CNY', zone: '+08:00', merchantId: '1900000109', trade: (i) => `42000009${String(i).padStart(20, '0')}`, files: [['bill.csv'], ['bill.csv.gz']] },
  unionpay: { currency: 'CNY', zone: '+08:00', merchantId: '777290058110048', trade: (i) => String(700000000000000000000n + BigInt(i)), files: [['bill.zip']] },
  stripe: { currency: 'USD', zone: 'Z', merchantId: undefined, trade: (i, kind) => `${kind === 'refund' ? 're' : 'ch'}_${String(i).padStart(24, '0')}`, files: [['itemized.csv', 'itemized'], ['balance.jsonl', 'balance-transactions']] },
  paypal: { currency: 'USD', zone: 'Z', merchantId: undefined, trade: (i) => String(i).padStart(17, '0'), files: [['STL.CSV', 'stl'], ['STL.u16.CSV', 'stl-utf16'], ['transactions.jsonl', 'transactions']] },
  mock: { currency: 'CNY', zone: 'Z', merchantId: undefined, trade: (i) => `MT${i}`, files: [['bill.csv']] },
};
const DATE = '2026-11-22';

// Child mode: read one file through the channel's bill reader and report.
if (process.argv[2] === '--read') {
  const [, , , channel, path, merchantId] = process.argv;
  const { loadChannelModule } = await import(registry);
  const { billRowChunks } = await import(new URL('../dist/src/channel/contract.js', import.meta.url));
  const mod = await loadChannelModule(channel);
  const t0 = performance.now();
  let rows = 0;
  let net = 0;
  for await (const chunk of billRowChunks(mod.bill.read({ path }, { date: DATE, ...(merchantId ? { merchantId } : {}) }))) {
    for (const r of chunk) {
      rows++;
      net += r.amountMinor;
    }
  }
  process.stdout.write(JSON.stringify({ rows, net, ms: performance.now() - t0, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const N = Number(arg('rows', '1000000'));
const only = arg('channel');
const { loadChannelModule } = await import(registry);
console.log(`bill formats, ${N.toLocaleString('en')} rows each, node ${process.version}`);
console.log(`${'channel / file'.padEnd(34)}${'MiB'.padStart(7)}${'write s'.padStart(9)}${'read s'.padStart(8)}${'read rows/s'.padStart(13)}${'peak RSS'.padStart(10)}  round trip`);
for (const [id, c] of Object.entries(CHANNELS)) {
  if (only && only !== id) continue;
  const mod = await loadChannelModule(id);
  // Payments through the business day, every tenth row a partial refund of an earlier payment.
  const start = Date.parse(`${DATE}T00:00:00${c.zone}`);
  const rows = new Array(N);
  let expected = 0;
  for (let i = 0; i < N; i++) {
    const refund = i % 10 === 9;
    const amount = refund ? -(100 + (i % 5000)) : 100 + (i % 99_999);
    expected += amount;
    rows[i] = {
      line: 0,
      orderNo: `P${String(refund ? i - 1 : i).padStart(20, '0')}`,
      refundNo: refund ? `R${String(i).padStart(20, '0')}` : undefined,
      channelTradeNo: c.trade(i, refund ? 'refund' : 'payment'),
      kind: refund ? 'refund' : 'payment',
      amountMinor: amount,
      feeMinor: refund ? 0 : 1 + (i % 600),
      currency: c.currency,
      time: new Date(start + Math.floor((i * 86_399_000) / N)).toISOString(),
      status: 'succeeded',
    };
  }
  const dir = mkdtempSync(join(tmpdir(), `pay-bench-bills-${id}-`));
  try {
    for (const [name, variant] of c.files) {
      const path = join(dir, name);
      const t0 = performance.now();
      await mod.bill.write(path, rows, { date: DATE, ...(c.merchantId ? { merchantId: c.merchantId } : {}), ...(variant ? { variant } : {}) });
      const writeS = (performance.now() - t0) / 1000;
      const child = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--read', id, path, c.merchantId ?? ''], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (child.status !== 0) throw new Error(`${id} ${name}: reader failed: ${child.stderr}`);
      const r = JSON.parse(child.stdout);
      const ok = r.rows === N && r.net === expected ? 'ok' : `MISMATCH (${r.rows} rows, net ${r.net}; expected ${N}, ${expected})`;
      console.log(
        `${`${id} ${name}`.padEnd(34)}${(statSync(path).size / 1048576).toFixed(1).padStart(7)}${writeS.toFixed(1).padStart(9)}${(r.ms / 1000).toFixed(1).padStart(8)}${Math.round(r.rows / (r.ms / 1000)).toLocaleString('en').padStart(13)}${`${Math.round(r.peakRssMiB)} MiB`.padStart(10)}  ${ok}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

#!/usr/bin/env node
// Start-up benchmark: whole-process wall time of pay commands against bare `node -e 0`, run
// interleaved in the same session so machine drift hits both sides alike. Prints medians and the
// median of the per-pair ratios. Targets (issue 2): --version <= 1.5x, `orders list` on a
// 100,000-order store <= 2.5x, `create --channel mock` (zero latency) <= 3x.
//
//   node bench/startup.mjs [--runs 21] [--orders 100000]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fillOrderBook } from './measure.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = arg('runs', 21);
const ORDERS = arg('orders', 100000);

const dir = mkdtempSync(join(tmpdir(), 'pay-bench-startup-'));
const db = join(dir, 'pay.db');
const config = join(dir, 'pay.config.json');
writeFileSync(config, JSON.stringify({ channels: { mock: { latencyMs: 0 } } }));

// A 100,000-order store, filled in one transaction through the real schema.
await fillOrderBook(root, db, ORDERS);

const env = { ...process.env, PAY_DB: db, PAY_CONFIG: config, NO_COLOR: '1' };
const bin = join(root, 'bin/pay.js');
const time = (args) => {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const cases = [
  { name: 'pay --version', args: [bin, '--version'], target: 1.5 },
  { name: `pay orders list (${ORDERS.toLocaleString('en')} orders)`, args: [bin, 'orders', 'list'], target: 2.5 },
  { name: 'pay create --channel mock', args: [bin, 'create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY', '-q'], target: 3 },
];
const base = [process.execPath, ...['-e', '0']].slice(1);

console.log(`node ${process.version}, ${RUNS} interleaved runs per case (after 2 warm-ups)`);
console.log('case'.padEnd(44), 'median ms'.padStart(10), 'node -e 0'.padStart(10), 'ratio'.padStart(7), 'target'.padStart(7));
for (const c of cases) {
  for (let i = 0; i < 2; i++) {
    time(base);
    time(c.args);
  }
  const a = [];
  const b = [];
  const ratios = [];
  for (let i = 0; i < RUNS; i++) {
    const x = time(base);
    const y = time(c.args);
    b.push(x);
    a.push(y);
    ratios.push(y / x);
  }
  const ratio = median(ratios);
  console.log(
    c.name.padEnd(44),
    median(a).toFixed(1).padStart(10),
    median(b).toFixed(1).padStart(10),
    `${ratio.toFixed(2)}x`.padStart(7),
    `<=${c.target}x`.padStart(7),
    ratio <= c.target ? 'ok' : 'OVER',
  );
}
rmSync(dir, { recursive: true, force: true });

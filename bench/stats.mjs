#!/usr/bin/env node
/**
 * `pay stats` and routing's health check on a big book: writes a database of N orders (default
 * 1,000,000) and 3N channel-call events (default 3,000,000) spread over 30 days and six channels,
 * then times, each in a fresh process through the binary: `pay stats --json`, `pay stats --since
 * <last day> --by hour`, `pay stats --alert ...`, and `pay routes explain` with a health window
 * (the health query). Prints each time; nothing is asserted.
 *
 *   npm run build && node bench/stats.mjs [--orders 1000000] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const ORDERS = Number(arg('orders', 1_000_000));
const EVENTS = ORDERS * 3;
const dir = mkdtempSync(join(tmpdir(), 'pay-bench-stats-'));
const db = join(dir, 'pay.db');
const bin = new URL('../bin/pay.js', import.meta.url).pathname;

const { SqliteStore } = await import(new URL('../dist/src/store/sqlite-store.js', import.meta.url));
const CHANNELS = ['mock', 'alipay', 'wechatpay', 'stripe', 'paypal', 'unionpay'];
const CURRENCY = { mock: 'CNY', alipay: 'CNY', wechatpay: 'CNY', stripe: 'USD', paypal: 'USD', unionpay: 'CNY' };
const OPS = ['collect', 'queryCollect', 'refund'];
const ERRORS = ['TIMEOUT', 'SYSTEM_ERROR', 'INVALID_REQUEST', 'RATE_LIMITED'];
const START = Date.now() - 30 * 86_400_000;
const SPAN = 30 * 86_400_000;

let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

const t0 = performance.now();
const store = SqliteStore.open(db);
store.db.pragma('synchronous = OFF');
const insOrder = store.db.prepare(
  `INSERT INTO orders (order_no, kind, channel, status, amount_minor, currency, refunded_minor, source, created_at, updated_at, paid_at) VALUES (?, 'collect', ?, ?, ?, ?, 0, 'bench', ?, ?, ?)`,
);
const insEvent = store.db.prepare(`INSERT INTO events (at, type, channel, order_no, data) VALUES (?, 'channel.call', ?, ?, ?)`);
const BATCH = 50_000;
for (let b = 0; b < ORDERS; b += BATCH) {
  store.db.transaction(() => {
    for (let i = b; i < Math.min(ORDERS, b + BATCH); i++) {
      const ch = CHANNELS[i % CHANNELS.length];
      const at = new Date(START + Math.floor((i / ORDERS) * SPAN)).toISOString();
      const status = rnd() < 0.8 ? 'succeeded' : rnd() < 0.5 ? 'failed' : 'pending';
      const no = `B${String(i).padStart(12, '0')}`;
      insOrder.run(no, ch, status, 100 + Math.floor(rnd() * 100_000), CURRENCY[ch], at, at, status === 'succeeded' ? at : null);
      for (let k = 0; k < 3; k++) {
        const r = rnd();
        const data = { operation: `${ch}.${OPS[k]}`, durationMs: Math.round((20 + rnd() * rnd() * 2000) * 100) / 100, attempts: 1 };
        if (r < 0.04) data.error = { code: ERRORS[Math.floor(rnd() * ERRORS.length)], message: 'bench' };
        insEvent.run(at, ch, no, JSON.stringify(data));
      }
    }
  })();
}
store.db.exec('ANALYZE');
await store.close();
console.log(`book: ${ORDERS.toLocaleString('en')} orders, ${EVENTS.toLocaleString('en')} channel-call events, ${(statSync(db).size / 1e6).toFixed(0)} MB, written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const config = join(dir, 'pay.config.json');
writeFileSync(config, JSON.stringify({ routing: { rules: [{ match: { currency: 'CNY' }, targets: [{ channel: 'alipay', weight: 7 }, { channel: 'wechatpay', weight: 3 }] }], health: { window: '1d', minSuccessRate: 0.9, minCalls: 20 } } }));
const env = { ...process.env, PAY_DB: db, PAY_CONFIG: config };

function time(label, args) {
  const s = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const secs = (performance.now() - s) / 1000;
  if (r.status !== 0 && r.status !== 1) throw new Error(`pay ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  console.log(`${label.padEnd(48)} ${secs.toFixed(2)} s  (exit ${r.status})`);
}

time('pay stats --json (whole book)', ['stats', '--json']);
time('pay stats --since <last day> --by hour --json', ['stats', '--since', new Date(START + SPAN - 86_400_000).toISOString(), '--by', 'hour', '--json']);
time('pay stats --channel alipay --by day --json', ['stats', '--channel', 'alipay', '--by', 'day', '--json']);
time("pay stats --alert 'success_rate<0.97' --alert 'p99>1s'", ['stats', '--alert', 'success_rate<0.97', '--alert', 'p99>1s', '--json']);
time('pay routes explain (health over 1 day of calls)', ['routes', 'explain', '--amount', '10.00', '--currency', 'CNY', '--json']);

if (process.argv.includes('--keep')) console.log(`kept ${db}`);
else rmSync(dir, { recursive: true, force: true });

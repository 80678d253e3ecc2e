#!/usr/bin/env node
// Table rendering benchmark: src/output/render.ts (cli-table3, widths by string-width) against the
// hand renderer it replaced (kept below, for comparison only), on tables of 100, 10,000 and 100,000
// rows with ASCII and with CJK (double-width) content; then `pay orders list --limit N` of a
// 10,000-order book through the binary. Prints figures (median of runs, time per row, ratio), no
// assertions. `--base <dir>` also times that checkout's built binary (e.g. main's dist in a temp
// dir) on the same book, for a before/after.
//
//   npm run build && node bench/tables.mjs [--runs 5] [--rows 100,10000,100000] [--orders 10000] [--base /tmp/pay-main]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliArgs, fillOrderBook } from './measure.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { value } = cliArgs();
const RUNS = Number(value('--runs', 5));
const SIZES = String(value('--rows', '100,10000,100000')).split(',').map(Number);
const ORDERS = Number(value('--orders', 10000));
const BASE = value('--base', undefined);

const { formatBlocks } = await import(join(root, 'dist/src/output/render.js'));

// ---- The hand renderer src/output/render.ts had before cli-table3 (comparison only). ----
function handWidth(text) {
  let w = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (cp < 0x20 || (cp >= 0x300 && cp < 0x370)) continue;
    w +=
      (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd)
        ? 2
        : 1;
  }
  return w;
}
function handPad(text, width, align = 'left') {
  const fill = ' '.repeat(Math.max(0, width - handWidth(text)));
  return align === 'right' ? fill + text : text + fill;
}
function handTable(block) {
  const cell = (v) => (v === undefined || v === null ? '' : typeof v === 'object' ? v.text : String(v));
  const lines = [];
  if (block.title) lines.push(block.title);
  const cells = block.rows.map((r) => block.columns.map((col) => cell(r[col.key])));
  const widths = block.columns.map((col, i) => Math.max(handWidth(col.header), ...cells.map((row) => handWidth(row[i]))));
  lines.push(block.columns.map((col, i) => handPad(col.header, widths[i], col.align)).join('  ').trimEnd());
  for (const row of cells) lines.push(row.map((text, i) => handPad(text, widths[i], block.columns[i].align)).join('  ').trimEnd());
  return lines.join('\n');
}
// ----

const columns = [
  { key: 'orderNo', header: 'order no' },
  { key: 'channel', header: 'channel' },
  { key: 'kind', header: 'kind' },
  { key: 'status', header: 'status' },
  { key: 'amount', header: 'amount', align: 'right' },
  { key: 'subject', header: 'subject' },
  { key: 'created', header: 'created' },
];
const SUBJECTS = {
  ascii: ['coffee', 'tea and cake', 'monthly plan', 'refund fee', 'gift card 100'],
  cjk: ['咖啡', '奶茶 large', '月度会员', '退款手续费', '礼品卡 100元'],
};
function table(n, content) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    rows.push({
      orderNo: `P${String(20260101000000 + i * 7919)}`,
      channel: ['alipay', 'wechatpay', 'stripe', 'mock'][i % 4],
      kind: i % 9 ? 'collect' : 'payout',
      status: { text: i % 13 ? 'succeeded' : 'failed', tone: i % 13 ? 'ok' : 'error' },
      amount: `${(100 + ((i * 37) % 100000)) / 100} CNY`,
      subject: SUBJECTS[content][i % 5],
      created: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    });
  }
  return { kind: 'table', title: 'Orders', columns, rows };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const timeIt = (fn, runs) => {
  fn();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
};

console.log(`node ${process.version}; median of ${RUNS} runs after a warm-up (fewer for 100k rows)`);
console.log(
  'rows'.padStart(8), 'content'.padEnd(7), 'hand ms'.padStart(9), 'cli-table3 ms'.padStart(14),
  'hand us/row'.padStart(12), 'table us/row'.padStart(13), 'ratio'.padStart(6), ' same output',
);
for (const n of SIZES) {
  for (const content of ['ascii', 'cjk']) {
    const block = table(n, content);
    const runs = n >= 100000 ? Math.max(1, Math.min(RUNS, 3)) : RUNS;
    const hand = timeIt(() => handTable(block), runs);
    const lib = timeIt(() => formatBlocks([block], false), runs);
    const same = handTable(block) === formatBlocks([block], false);
    console.log(
      String(n).padStart(8), content.padEnd(7), hand.toFixed(1).padStart(9), lib.toFixed(1).padStart(14),
      ((hand * 1000) / n).toFixed(2).padStart(12), ((lib * 1000) / n).toFixed(2).padStart(13),
      (lib / hand).toFixed(2).padStart(6), same ? ' yes' : ' NO',
    );
  }
}

// `pay orders list` of a 10,000-order book through the binary (whole process, NO_COLOR).
const dir = mkdtempSync(join(tmpdir(), 'pay-bench-tables-'));
try {
  const db = join(dir, 'pay.db');
  const config = join(dir, 'pay.config.json');
  writeFileSync(config, JSON.stringify({ channels: { mock: { latencyMs: 0 } } }));
  await fillOrderBook(root, db, ORDERS, (i) => SUBJECTS[i % 2 ? 'cjk' : 'ascii'][i % 5]);
  const env = { ...process.env, PAY_DB: db, PAY_CONFIG: config, NO_COLOR: '1' };
  const run = (bin) => {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [bin, 'orders', 'list', '--limit', String(ORDERS)], { env, maxBuffer: 1 << 30 });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`${bin} orders list exited ${r.status}: ${r.stderr}`);
    return { ms, out: r.stdout.toString() };
  };
  const bins = [['this tree', join(root, 'bin/pay.js')], ...(BASE ? [[`--base ${BASE}`, join(BASE, 'bin/pay.js')]] : [])];
  console.log(`\npay orders list --limit ${ORDERS} (${ORDERS.toLocaleString('en')}-order book, whole process), interleaved runs:`);
  const times = bins.map(() => []);
  const outs = [];
  for (let i = 0; i < RUNS + 1; i++) {
    bins.forEach(([, bin], k) => {
      const { ms, out } = run(bin);
      outs[k] = out;
      if (i > 0) times[k].push(ms);
    });
  }
  bins.forEach(([name], k) => console.log(`  ${name.padEnd(40)} ${median(times[k]).toFixed(0).padStart(6)} ms  (${outs[k].split('\n').length - 1} lines)`));
  if (BASE) console.log(`  same output: ${outs[0] === outs[1] ? 'yes' : 'NO'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

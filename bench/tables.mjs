#!/usr/bin/env node
// Table rendering benchmark: the project's own renderer (dist/src/output/render.js, the hand
// renderer) against cli-table3 0.6.5 drawing the same tables, on 100, 10,000 and 100,000 rows of
// ASCII and of CJK (double-width) text; then `pay orders list --limit 10000` of a 10,000-order book
// through the binary (`--base <dir>` times another built checkout beside it, e.g. a build of the
// cli-table3 commit 0a901f5). Prints both times (median of interleaved runs after a warm-up), time
// per row, the ratio cli-table3 / ours and whether both printed the same bytes, no assertions.
//
// cli-table3 gets the fastest settings found: borderless (no chars but two spaces between
// columns, no padding), explicit colWidths measured beforehand with string-width (the measure it
// pads with, so it truncates nothing), wordWrap off, and slices of 50 rows sharing those widths
// (one cli-table3 table lays itself out in time growing with the square of its rows). It pads the
// last column with blanks: lines are trimmed at the end before comparing, as our renderer ends
// none in blanks.
//
// Rule: the hand renderer stays unless cli-table3 comes within 1.3x of it. Measured on Node 20,
// 2 cores shared with the test suite (load average about 10), cli-table3 against ours, same bytes
// everywhere: 100 rows 20-21 ms against 0.2-0.3 ms (84-91x), 10,000 rows 5.5-7.2 s against
// 0.10-0.27 s (26-54x), 100,000 rows 48-82 s against 0.8-2.1 s (38-59x), i.e. 200-820 µs a row
// against 2-27 µs; `pay orders list --limit 10000` 1.02 s here against 5.11 s for the cli-table3
// build (0a901f5). Earlier, at a load average of 6: 65-105x on 10,000-100,000 rows, 0.37 s
// against 1.9 s. So the hand renderer stays.
//
//   npm run build && node bench/tables.mjs [--runs 5] [--rows 100,10000,100000] [--orders 10000] [--base /tmp/pay-other]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
const WITHIN = 1.3;

const { formatBlocks } = await import(join(root, 'dist/src/output/render.js'));
const require = createRequire(import.meta.url);
const Table = require('cli-table3');
const stringWidth = require('string-width');

// ---- The same table drawn by cli-table3 (comparison only). ----
const CHARS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};
const STYLE = { 'padding-left': 0, 'padding-right': 0, head: [], border: [], compact: true };
const SLICE = 50;
function cliTable3(block) {
  const cell = (v) => (v === undefined || v === null ? '' : typeof v === 'object' ? v.text : String(v));
  const lines = [];
  if (block.title) lines.push(block.title);
  const colWidths = block.columns.map((col) => stringWidth(col.header));
  const cells = block.rows.map((r) =>
    block.columns.map((col, i) => {
      const text = cell(r[col.key]);
      colWidths[i] = Math.max(colWidths[i], stringWidth(text));
      return text;
    }),
  );
  const colAligns = block.columns.map((col) => col.align ?? 'left');
  const head = block.columns.map((col) => col.header);
  for (let at = 0; at < cells.length; at += SLICE) {
    const table = new Table({ chars: CHARS, style: STYLE, colWidths: [...colWidths], colAligns, wordWrap: false, ...(at === 0 ? { head } : {}) });
    for (let r = at; r < Math.min(at + SLICE, cells.length); r++) table.push(cells[r]);
    for (const line of table.toString().split('\n')) lines.push(line.trimEnd());
  }
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
const time = (fn) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};

// Warm both up on a small table first, so neither pays for compiling its code in the first size.
for (let i = 0; i < 20; i++) {
  formatBlocks([table(100, 'cjk')], false);
  cliTable3(table(100, 'cjk'));
}

console.log(`node ${process.version}; median of ${RUNS} interleaved runs (1 for 100,000 rows unless --runs is given)`);
console.log(
  'rows'.padStart(8), 'content'.padEnd(7), 'ours ms'.padStart(9), 'cli-table3 ms'.padStart(14),
  'ours us/row'.padStart(12), 'c-t3 us/row'.padStart(12), 'ratio'.padStart(7), ' same bytes',
);
const ratios = [];
for (const n of SIZES) {
  for (const content of ['ascii', 'cjk']) {
    const block = table(n, content);
    const runs = n >= 100000 && value('--runs', undefined) === undefined ? 1 : RUNS;
    const ours = [];
    const lib = [];
    for (let i = 0; i < runs; i++) {
      ours.push(time(() => formatBlocks([block], false)));
      lib.push(time(() => cliTable3(block)));
    }
    const same = formatBlocks([block], false) === cliTable3(block);
    const [o, l] = [median(ours), median(lib)];
    ratios.push(l / o);
    console.log(
      String(n).padStart(8), content.padEnd(7), o.toFixed(1).padStart(9), l.toFixed(1).padStart(14),
      ((o * 1000) / n).toFixed(2).padStart(12), ((l * 1000) / n).toFixed(2).padStart(12),
      `${(l / o).toFixed(1)}x`.padStart(7), same ? ' yes (cli-table3 lines trimmed)' : ' NO',
    );
  }
}
const best = Math.min(...ratios);
console.log(
  `\nRule: the hand renderer stays unless cli-table3 comes within ${WITHIN}x. Closest here: ${best.toFixed(1)}x,` +
    ` so ${best <= WITHIN ? 'cli-table3 qualifies: time it in context before switching' : 'the hand renderer stays'}.`,
);

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

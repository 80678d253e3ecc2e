#!/usr/bin/env node
// Reconciliation at scale: a generated bill of N rows (default 1,000,000) against N stored
// orders. Prints the wall time, rows/s and peak RSS of `pay reconcile` (the built binary, in a
// child process), and, in the same run, the sqlite3 command-line shell importing the same
// normalised rows (.import) and running the equivalent join, with the ratio of the two.
//
//   npm run build && node bench/reconcile.mjs [--rows 1000000] [--keep] [--import]
//
// --import also times `pay orders import` of an N-row order export into a fresh database.
// Needs /usr/bin/sqlite3 for the comparison (skipped with a notice when absent).
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliArgs, maxRssKb, RSS_PROBE, timed } from './measure.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { flag, value } = cliArgs();
const N = Number(value('--rows', '1000000'));
const DATE = '2026-11-22';
const CHANNEL = 'bench';
const dir = mkdtempSync(join(tmpdir(), 'pay-bench-reconcile-'));
const dbPath = join(dir, 'pay.db');
const billPath = join(dir, 'bill.csv');
const mapPath = join(dir, 'bill.mapping.json');
const dayStart = Date.parse(`${DATE}T00:00:00Z`);

const { SqliteStore } = await import(join(ROOT, 'dist/src/store/sqlite-store.js'));

function fmtMs(ms) {
  return `${(ms / 1000).toFixed(2)} s`;
}
function fmtMb(kb) {
  return `${(kb / 1024).toFixed(0)} MB`;
}
const orderNo = (i) => `B${String(i).padStart(12, '0')}`;
// Amounts from 1.00 to 999.99 CNY, deterministic.
const amountOf = (i) => 100 + ((i * 7919) % 99900);
const paidAt = (i) => new Date(dayStart + Math.floor((i * 86_000_000) / N) + 1000).toISOString();

// Discrepancies sprinkled in: every 10,000th order is missing from the bill, every 10,000th
// (offset) bill row is off by 0.01, and 1 in 10,000 bill rows names an order the books lack.
const missingAtChannel = (i) => i % 10_000 === 17;
const amountOff = (i) => i % 10_000 === 42;
const extraRow = (i) => i % 10_000 === 99;

// 1. The books: N settled orders, bulk-inserted in one transaction.
let t0 = performance.now();
{
  const store = SqliteStore.open(dbPath);
  const db = store.db;
  const insert = db.prepare(
    `INSERT INTO orders (order_no, kind, channel, status, amount_minor, currency, refunded_minor, channel_trade_no, source, created_at, updated_at, paid_at)
     VALUES (?, 'collect', ?, 'succeeded', ?, 'CNY', 0, ?, 'import', ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < N; i++) {
      const paid = paidAt(i);
      insert.run(orderNo(i), CHANNEL, amountOf(i), `T${i}`, paid, paid, paid);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  await store.close();
}
const storeMs = performance.now() - t0;

// 2. The bill: the normalised rows as CSV (minor units, ISO times), and a mapping for pay.
t0 = performance.now();
let billRows = 0;
{
  const out = createWriteStream(billPath);
  let buf = 'order_no,trade_no,kind,refund_no,amount,fee,currency,time\n';
  const flush = async () => {
    if (!out.write(buf)) await once(out, 'drain');
    buf = '';
  };
  for (let i = 0; i < N; i++) {
    if (!missingAtChannel(i)) {
      const amount = amountOf(i) + (amountOff(i) ? 1 : 0);
      buf += `${orderNo(i)},T${i},payment,,${amount},${Math.floor(amount / 167)},CNY,${paidAt(i)}\n`;
      billRows++;
    }
    if (extraRow(i)) {
      buf += `X${String(i).padStart(12, '0')},U${i},payment,,500,3,CNY,${paidAt(i)}\n`;
      billRows++;
    }
    if (buf.length > 1 << 16) await flush();
  }
  await flush();
  out.end();
  await once(out, 'close');
}
writeFileSync(
  mapPath,
  JSON.stringify({
    columns: { order_no: 'orderNo', trade_no: 'channelTradeNo', kind: 'kind', refund_no: 'refundNo', amount: 'amount', fee: 'fee', currency: 'currency', time: 'time' },
    kinds: { payment: ['payment'], refund: ['refund'], payout: ['payout'] },
    amountUnit: 'minor',
    timeFormat: 'iso',
  }),
);
const billMs = performance.now() - t0;
const billBytes = statSync(billPath).size;


// 3. pay reconcile, through the binary. The child reports its own peak RSS at exit.
const pay = await timed(process.execPath, ['--import', RSS_PROBE, join(ROOT, 'bin/pay.js'), '--db', dbPath, 'reconcile', '--channel', CHANNEL, '--date', DATE, '--bill', billPath, '--mapping', mapPath, '--json']);
const payRss = maxRssKb(pay);
let summary;
try {
  const report = JSON.parse(pay.stdout);
  summary = { ...report.summary, carriedOver: report.carriedOver.length };
} catch {
  console.error(`pay reconcile failed (exit ${pay.code}):\n${pay.stderr}`);
  process.exit(1);
}

// 4. The sqlite3 shell: import the same rows and run the equivalent matching in SQL.
const end = new Date(dayStart + 86_400_000).toISOString();
const start = new Date(dayStart).toISOString();
const script = `
.bail on
PRAGMA temp_store = FILE;
CREATE TEMP TABLE bill (order_no TEXT, trade_no TEXT, kind TEXT, refund_no TEXT, amount INTEGER, fee INTEGER, currency TEXT, time TEXT);
.import --csv --skip 1 --schema temp ${billPath} bill
CREATE INDEX temp.bill_k ON bill (kind, order_no);
SELECT class, COUNT(*) FROM (
  SELECT CASE
    WHEN b.rowid <> (SELECT MIN(d.rowid) FROM bill d WHERE d.kind = b.kind AND d.order_no = b.order_no) THEN 'duplicate'
    WHEN o.order_no IS NULL OR o.channel <> '${CHANNEL}' THEN 'missingLocal'
    WHEN o.currency <> b.currency THEN 'currencyMismatch'
    WHEN o.amount_minor <> abs(b.amount) THEN 'amountMismatch'
    WHEN o.status NOT IN ('succeeded', 'refunded') THEN 'statusMismatch'
    ELSE 'matched' END AS class
  FROM bill b LEFT JOIN orders o ON o.order_no = b.order_no
) GROUP BY class ORDER BY class;
SELECT 'missingChannel', COUNT(*) FROM orders o
  WHERE o.channel = '${CHANNEL}' AND o.paid_at >= '${start}' AND o.paid_at < '${end}' AND o.status IN ('succeeded', 'refunded')
    AND NOT EXISTS (SELECT 1 FROM bill b WHERE b.kind = 'payment' AND b.order_no = o.order_no);
SELECT currency, SUM(amount), SUM(fee), COUNT(*) FROM bill GROUP BY currency;
`;
let shell;
if (spawnSync('sqlite3', ['-version']).status === 0) {
  shell = await timed('sqlite3', ['-csv', dbPath], { input: script });
  if (shell.code !== 0) console.error(`sqlite3 failed: ${shell.stderr}`);
} else {
  console.error('NOTICE: sqlite3 is not installed; skipping the shell comparison.');
}

// 5. Optionally: pay orders import of an N-row export into a fresh database.
let imp;
if (flag('--import')) {
  const exportPath = join(dir, 'orders.csv');
  const out = createWriteStream(exportPath);
  let buf = 'order_no,channel,kind,amount,currency,status,created_at,paid_at,channel_trade_no,refund_no\n';
  for (let i = 0; i < N; i++) {
    const a = amountOf(i);
    buf += `${orderNo(i)},${CHANNEL},payment,${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')},CNY,succeeded,${paidAt(i)},${paidAt(i)},T${i},\n`;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'close');
  imp = await timed(process.execPath, ['--import', RSS_PROBE, join(ROOT, 'bin/pay.js'), '--db', join(dir, 'import.db'), 'orders', 'import', exportPath, '--json']);
  imp.rss = maxRssKb(imp);
  if (imp.code !== 0) console.error(`orders import failed (exit ${imp.code}): ${imp.stderr.slice(0, 500)}`);
}

console.log(`reconcile bench: ${N.toLocaleString('en-US')} stored orders, ${billRows.toLocaleString('en-US')}-row bill (${(billBytes / 1048576).toFixed(1)} MB)`);
console.log(`  setup: store bulk insert ${fmtMs(storeMs)}, bill generation ${fmtMs(billMs)}`);
console.log(`  pay reconcile:  wall ${fmtMs(pay.ms)}, ${Math.round(billRows / (pay.ms / 1000)).toLocaleString('en-US')} rows/s, peak RSS ${fmtMb(payRss)} (exit ${pay.code})`);
console.log(`    summary: ${JSON.stringify(summary)}`);
if (shell) {
  console.log(`  sqlite3 shell:  wall ${fmtMs(shell.ms)}, ${Math.round(billRows / (shell.ms / 1000)).toLocaleString('en-US')} rows/s, peak RSS ${fmtMb(shell.hwmKb)} (.import + index + join)`);
  console.log(`    result: ${shell.stdout.trim().split('\n').join(' | ')}`);
  console.log(`  ratio pay / sqlite3: ${(pay.ms / shell.ms).toFixed(2)}x (target <= 2x); peak RSS ${payRss < 512 * 1024 ? 'under' : 'OVER'} 512 MB`);
}
if (imp) {
  console.log(`  pay orders import: wall ${fmtMs(imp.ms)}, ${Math.round(N / (imp.ms / 1000)).toLocaleString('en-US')} rows/s, peak RSS ${fmtMb(imp.rss)} (exit ${imp.code})`);
}
if (flag('--keep')) console.log(`  files kept in ${dir}`);
else rmSync(dir, { recursive: true, force: true });

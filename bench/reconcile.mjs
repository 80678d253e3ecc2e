#!/usr/bin/env node
// Reconciliation at scale: a generated WeChat Pay ALL trade bill of N rows (default 1,000,000, the
// real format, written by pay's own writer) against N stored orders. Prints, for `pay reconcile`
// (the built binary, in a child process), the wall time, rows/s and peak RSS and, in the same
// rounds, two references run by the sqlite3 command-line shell:
//
//  - the floor: importing just the (order number, amount) pairs of both sides and joining them,
//    the least work any reconciliation does;
//  - the reference: importing the bill's 8 normalised columns next to the order book and running
//    the full matching SQL (duplicates, missing on either side, amount, currency and status).
//
// Each round runs the three in turn; the figures are medians over the rounds and the ratios are
// medians of the per-round ratios (paired runs: a busy moment slows all three of a round).
//
//   npm run build && node bench/reconcile.mjs [--rows 1000000] [--rounds 3] [--keep] [--import]
//
// --import also times `pay orders import` of an N-row order export into a fresh database.
// The counts are asserted, not only printed: every pay run must find exactly the discrepancies
// generated (and the import must create every order), else the script exits 1. Under CI=true a
// missing sqlite3 shell also fails it (.ci/run installs it and runs a small size).
// The 10M figures (a large merchant's month, ~2 GB): node bench/reconcile.mjs --rows 10000000 --rounds 1 --import
// Needs /usr/bin/sqlite3 for the references (skipped with a notice when absent).
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliArgs, maxRssKb, median, RSS_PROBE, timed } from './measure.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { flag, value } = cliArgs();
const N = Number(value('--rows', '1000000'));
const ROUNDS = Math.max(1, Number(value('--rounds', '3')));
const DATE = '2026-11-22';
const CHANNEL = 'wechatpay';
const MERCHANT = '1900000109';
// WeChat Pay's business day is the UTC+8 day.
const dayStart = Date.parse(`${DATE}T00:00:00+08:00`);
const dir = mkdtempSync(join(tmpdir(), 'pay-bench-reconcile-'));
const dbPath = join(dir, 'pay.db');
const billPath = join(dir, 'wechat-bill.csv');
const normPath = join(dir, 'bill-normalised.csv');
const billPairsPath = join(dir, 'bill-pairs.csv');
const bookPairsPath = join(dir, 'book-pairs.csv');

const { SqliteStore } = await import(join(ROOT, 'dist/src/store/sqlite-store.js'));
const { writeTradeBill } = await import(join(ROOT, 'dist/channels/wechatpay/bill.js'));

const fmtMs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const fmtMb = (kb) => `${(kb / 1024).toFixed(0)} MB`;
const orderNo = (i) => `B${String(i).padStart(12, '0')}`;
const tradeNo = (i) => `42000${String(i).padStart(23, '0')}`;
// Amounts from 1.00 to 999.99 CNY, deterministic; WeChat Pay's 0.6% fee.
const amountOf = (i) => 100 + ((i * 7919) % 99900);
const feeOf = (a) => Math.floor((a * 6) / 1000);
const paidAt = (i) => new Date(dayStart + Math.floor((i * 86_000_000) / N) + 1000).toISOString();

// Discrepancies sprinkled in: every 10,000th order is missing from the bill, every 10,000th
// (offset) bill row is off by 0.01, and 1 in 10,000 bill rows names an order the books lack.
const missingAtChannel = (i) => i % 10_000 === 17;
const amountOff = (i) => i % 10_000 === 42;
const extraRow = (i) => i % 10_000 === 99;
/** How many i < N satisfy i % 10,000 === r. */
const every10k = (r) => Math.floor(N / 10_000) + (N % 10_000 > r ? 1 : 0);
// What every pay run must report: the figures are timed, the counts asserted (exit 1 otherwise).
// An order missing from the bill is reported missing at the channel, or carried over when it
// settled in the day's last half hour (pay's rule): the two add up to the orders left out.
const EXPECTED = {
  matched: N - every10k(17) - every10k(42),
  missingLocal: every10k(99),
  missingChannelOrCarried: every10k(17),
  amountMismatch: every10k(42),
  statusMismatch: 0,
  currencyMismatch: 0,
  duplicate: 0,
};
/** The differences between a run's summary and {@link EXPECTED} (empty when it is right). */
function wrongCounts(s) {
  const got = { ...s, missingChannelOrCarried: s.missingChannel + s.carriedOver };
  return Object.entries(EXPECTED)
    .filter(([k, v]) => got[k] !== v)
    .map(([k, v]) => `${k} ${got[k]} (expected ${v})`);
}

/** A buffered line writer with back-pressure. */
function lineWriter(path, head) {
  const out = createWriteStream(path);
  let buf = head;
  return {
    async add(line) {
      buf += line;
      if (buf.length > 1 << 16) {
        if (!out.write(buf)) await once(out, 'drain');
        buf = '';
      }
    },
    async end() {
      out.end(buf);
      await once(out, 'close');
    },
  };
}

// 1. The books: N settled orders, bulk-inserted in one transaction; their pairs for the floor.
let t0 = performance.now();
{
  const store = SqliteStore.open(dbPath);
  const db = store.db;
  const insert = db.prepare(
    `INSERT INTO orders (order_no, kind, channel, status, amount_minor, currency, refunded_minor, channel_trade_no, source, created_at, updated_at, paid_at)
     VALUES (?, 'collect', ?, 'succeeded', ?, 'CNY', 0, ?, 'import', ?, ?, ?)`,
  );
  const pairs = lineWriter(bookPairsPath, 'order_no,amount\n');
  const CHUNK = 100_000;
  for (let from = 0; from < N; from += CHUNK) {
    const to = Math.min(N, from + CHUNK);
    db.transaction(() => {
      for (let i = from; i < to; i++) {
        const paid = paidAt(i);
        insert.run(orderNo(i), CHANNEL, amountOf(i), tradeNo(i), paid, paid, paid);
      }
    })();
    for (let i = from; i < to; i++) await pairs.add(`${orderNo(i)},${amountOf(i)}\n`);
  }
  await pairs.end();
  db.pragma('wal_checkpoint(TRUNCATE)');
  await store.close();
}
const storeMs = performance.now() - t0;

// 2. The bill in WeChat Pay's format, and the same rows normalised (8 columns) and as pairs.
t0 = performance.now();
let billRows = 0;
const norm = lineWriter(normPath, 'order_no,trade_no,kind,refund_no,amount,fee,currency,time\n');
const billPairs = lineWriter(billPairsPath, 'order_no,amount\n');
function* rows() {
  for (let i = 0; i < N; i++) {
    if (!missingAtChannel(i)) {
      const a = amountOf(i) + (amountOff(i) ? 1 : 0);
      yield { line: 0, orderNo: orderNo(i), channelTradeNo: tradeNo(i), kind: 'payment', amountMinor: a, feeMinor: feeOf(a), currency: 'CNY', time: paidAt(i), status: 'SUCCESS' };
    }
    if (extraRow(i)) yield { line: 0, orderNo: `X${String(i).padStart(12, '0')}`, channelTradeNo: `43000${String(i).padStart(23, '0')}`, kind: 'payment', amountMinor: 500, feeMinor: 3, currency: 'CNY', time: paidAt(i), status: 'SUCCESS' };
  }
}
await writeTradeBill(billPath, rows(), { date: DATE, merchantId: MERCHANT });
// The same rows again (they are a pure function of i) for the shell's files.
for (const r of rows()) {
  billRows++;
  await norm.add(`${r.orderNo},${r.channelTradeNo},payment,,${r.amountMinor},${r.feeMinor},CNY,${r.time}\n`);
  await billPairs.add(`${r.orderNo},${r.amountMinor}\n`);
}
await norm.end();
await billPairs.end();
const billMs = performance.now() - t0;
const billBytes = statSync(billPath).size;

// 3. The references' scripts.
const end = new Date(dayStart + 86_400_000).toISOString();
const start = new Date(dayStart).toISOString();
const referenceSql = `
.bail on
PRAGMA temp_store = FILE;
CREATE TEMP TABLE bill (order_no TEXT, trade_no TEXT, kind TEXT, refund_no TEXT, amount INTEGER, fee INTEGER, currency TEXT, time TEXT);
.import --csv --skip 1 --schema temp ${normPath} bill
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
// The floor: both sides as bare (order number, amount) pairs in a fresh database; a full outer
// join counts the matches, the amount differences and what each side lacks.
const floorSql = `
.bail on
PRAGMA temp_store = FILE;
CREATE TEMP TABLE bill (order_no TEXT, amount INTEGER);
CREATE TEMP TABLE book (order_no TEXT PRIMARY KEY, amount INTEGER) WITHOUT ROWID;
.import --csv --skip 1 --schema temp ${billPairsPath} bill
.import --csv --skip 1 --schema temp ${bookPairsPath} book
CREATE INDEX temp.bill_no ON bill (order_no);
SELECT SUM(k.amount = b.amount), SUM(k.amount <> b.amount), SUM(k.order_no IS NULL) FROM bill b LEFT JOIN book k ON k.order_no = b.order_no;
SELECT COUNT(*) FROM book k WHERE NOT EXISTS (SELECT 1 FROM bill b WHERE b.order_no = k.order_no);
`;
const haveShell = spawnSync('sqlite3', ['-version']).status === 0;
if (!haveShell) {
  console.error('NOTICE: sqlite3 is not installed; skipping the shell references.');
  // In CI (.ci/run installs the shell) the floor and the reference must be printed.
  if (process.env.CI === 'true') process.exitCode = 1;
}

// 4. Rounds: pay reconcile, the reference, the floor.
const payRuns = [];
const refRuns = [];
const floorRuns = [];
let summary;
for (let round = 0; round < ROUNDS; round++) {
  const pay = await timed(process.execPath, ['--import', RSS_PROBE, join(ROOT, 'bin/pay.js'), '--db', dbPath, 'reconcile', '--channel', CHANNEL, '--date', DATE, '--bill', billPath, '--merchant', MERCHANT, '--json']);
  try {
    const report = JSON.parse(pay.stdout);
    summary = { ...report.summary, carriedOver: report.carriedOver.length };
  } catch {
    console.error(`pay reconcile failed (exit ${pay.code}):\n${pay.stderr.slice(0, 2000)}`);
    process.exit(1);
  }
  const wrong = wrongCounts(summary);
  if (wrong.length) {
    console.error(`pay reconcile reported wrong counts in round ${round + 1}: ${wrong.join(', ')}`);
    process.exit(1);
  }
  payRuns.push({ ms: pay.ms, rssKb: maxRssKb(pay) });
  if (haveShell) {
    const ref = await timed('sqlite3', ['-csv', dbPath], { input: referenceSql });
    if (ref.code !== 0) console.error(`sqlite3 failed: ${ref.stderr}`);
    refRuns.push({ ms: ref.ms, rssKb: ref.hwmKb, out: ref.stdout });
    const floor = await timed('sqlite3', ['-csv', ':memory:'], { input: floorSql });
    if (floor.code !== 0) console.error(`sqlite3 failed: ${floor.stderr}`);
    floorRuns.push({ ms: floor.ms, rssKb: floor.hwmKb, out: floor.stdout });
  }
}

// 5. Optionally: pay orders import of an N-row export into a fresh database.
let imp;
if (flag('--import')) {
  const exportPath = join(dir, 'orders.csv');
  const out = lineWriter(exportPath, 'order_no,channel,kind,amount,currency,status,created_at,paid_at,channel_trade_no,refund_no\n');
  for (let i = 0; i < N; i++) {
    const a = amountOf(i);
    await out.add(`${orderNo(i)},${CHANNEL},payment,${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')},CNY,succeeded,${paidAt(i)},${paidAt(i)},${tradeNo(i)},\n`);
  }
  await out.end();
  imp = await timed(process.execPath, ['--import', RSS_PROBE, join(ROOT, 'bin/pay.js'), '--db', join(dir, 'import.db'), 'orders', 'import', exportPath, '--json']);
  imp.rss = maxRssKb(imp);
  if (imp.code !== 0) {
    console.error(`orders import failed (exit ${imp.code}): ${imp.stderr.slice(0, 500)}`);
    process.exitCode = 1;
  } else {
    const got = JSON.parse(imp.stdout);
    if (got.rows !== N || got.ordersCreated !== N || got.rejected !== 0) {
      console.error(`orders import counted rows ${got.rows}, created ${got.ordersCreated}, rejected ${got.rejected}; expected ${N}, ${N}, 0`);
      process.exitCode = 1;
    }
  }
}

const payMs = median(payRuns.map((r) => r.ms));
const payRss = Math.max(...payRuns.map((r) => r.rssKb));
console.log(`reconcile bench: ${N.toLocaleString('en-US')} stored orders, ${billRows.toLocaleString('en-US')}-row WeChat Pay ALL bill (${(billBytes / 1048576).toFixed(1)} MB), ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}`);
console.log(`  setup: store bulk insert ${fmtMs(storeMs)}, bill generation ${fmtMs(billMs)}`);
console.log(`  pay reconcile:  wall ${fmtMs(payMs)} (median; runs ${payRuns.map((r) => fmtMs(r.ms)).join(', ')}), ${Math.round(billRows / (payMs / 1000)).toLocaleString('en-US')} rows/s, peak RSS ${fmtMb(payRss)}`);
console.log(`    summary: ${JSON.stringify(summary)} (the expected counts, in every round)`);
if (haveShell) {
  const refMs = median(refRuns.map((r) => r.ms));
  const floorMs = median(floorRuns.map((r) => r.ms));
  console.log(`  sqlite3 reference (8-column .import + full matching SQL): wall ${fmtMs(refMs)} (median), peak RSS ${fmtMb(Math.max(...refRuns.map((r) => r.rssKb)))}`);
  console.log(`    result: ${refRuns[0].out.trim().split('\n').join(' | ')}`);
  console.log(`  sqlite3 floor (bare (order no, amount) pairs of both sides + join): wall ${fmtMs(floorMs)} (median), peak RSS ${fmtMb(Math.max(...floorRuns.map((r) => r.rssKb)))}`);
  console.log(`    result (matched, amount differs, bill only | book only): ${floorRuns[0].out.trim().split('\n').join(' | ')}`);
  const vsFloor = median(payRuns.map((p, i) => p.ms / floorRuns[i].ms));
  const vsRef = median(payRuns.map((p, i) => p.ms / refRuns[i].ms));
  console.log(`  ratio pay / floor: ${vsFloor.toFixed(2)}x (goal <= 2x); pay / reference: ${vsRef.toFixed(2)}x (goal <= 1.0x); peak RSS ${payRss < 512 * 1024 ? 'under' : 'OVER'} 512 MB`);
}
if (imp) {
  console.log(`  pay orders import: wall ${fmtMs(imp.ms)}, ${Math.round(N / (imp.ms / 1000)).toLocaleString('en-US')} rows/s, peak RSS ${fmtMb(imp.rss)} (exit ${imp.code})`);
}
if (flag('--keep')) console.log(`  files kept in ${dir}`);
else rmSync(dir, { recursive: true, force: true });

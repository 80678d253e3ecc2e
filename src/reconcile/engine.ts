/**
 * The reconciliation run: stream a bill into a staging table, pair it with the books by key in
 * SQL, classify each pair with the rules of classify.ts, and save the run with its items, in one
 * transaction, replacing an earlier run of the same channel, day and file.
 *
 * Memory stays flat whatever the bill's size: rows are staged in batches, read back in pages, and
 * the book side (entries the bill does not list) is classified and saved by a single SQL
 * statement. Only discrepancies, timing items and out-of-day matches are kept as items; plain
 * matches are counted.
 *
 * Timing differences: book entries settled within the carry window before the end of the day
 * and absent from the bill are `carriedOver`, not discrepancies. Every unmatched item stays open;
 * a later day's run closes it when the bill lists it (book side) or the books catch up (bill
 * side) and reports it as `resolved`. A carried-over item still open when a later day is run
 * becomes a `missingChannel` discrepancy of that run.
 */
import type { BillRow } from '../channel/contract.js';
import { invalid, PayError } from '../core/errors.js';
import { formatAmount } from '../core/money.js';
import { businessDayRange, isoUtc, type Clock } from '../core/time.js';
import type { BillStage, BillSum, CurrencyTotals, NewItem, ReconcileStore, RunCounts, RunRecord, SideTotals } from '../store/reconcile-store.js';
import { bookKey, classifyRow, isSettled, type EntryKind } from './classify.js';
import { packRows, type PackedBill } from './stage-batch.js';

/** Default carry window: a book entry settled in the last 30 minutes of the day may be billed tomorrow. */
export const DEFAULT_CARRY_WINDOW_MS = 30 * 60_000;

/** What the bill came from. */
export interface BillInfo {
  path: string;
  /** The file's sha256 (hex); a promise when it is computed while the bill is read. */
  sha256: string | Promise<string>;
  bytes: number;
  /** Reader used (`mock`, `alipay`, `mapping`...) or the downloaded format. */
  format: string;
  source: 'file' | 'download';
  mappingSha256?: string;
}

/** Input of {@link reconcile}. */
export interface ReconcileInput {
  channel: string;
  /** Business day, YYYY-MM-DD. */
  date: string;
  /** IANA zone of the business day. */
  timeZone: string;
  /** The bill's normalised rows (streamed), unless `packed` gives them already packed. */
  rows?: AsyncIterable<BillRow>;
  /** The bill's rows checked and packed for the stage (by a reading worker: read-worker.ts). */
  packed?: PackedBill;
  bill: BillInfo;
  /** Window before the end of the day in which unbilled entries are timing differences (ms). */
  carryWindowMs?: number;
  clock?: Clock;
  /** Progress: rows read so far (called every few thousand rows). */
  onRows?: (rows: number) => void;
  /** Called when reading is done and matching starts. */
  onMatching?: () => void;
}

/** Outcome of a run. */
export interface ReconcileOutcome {
  run: RunRecord;
  /** Id of the run this one replaced (same channel, day and file). */
  replaced?: number;
  /** Ids of runs of the same day (other files) this one superseded. */
  superseded: number[];
  /** Items of this channel still open after this run (this run's and earlier ones). */
  outstanding: number;
}

const PAGE = 5000;

const zeroSide = (): SideTotals => ({ count: 0, grossMinor: 0, refundsMinor: 0, payoutsMinor: 0, feesMinor: 0, adjustmentsMinor: 0, netMinor: 0 });

function safeAdd(a: number, b: number): number {
  const s = a + b;
  if (!Number.isSafeInteger(s)) throw invalid('bill totals exceed the largest amount pay can hold');
  return s;
}

/**
 * Bill-side totals per currency from the staged sums per (currency, kind), rows marked failed
 * already left out. Amounts are magnitudes except net, which is what reached the merchant: every
 * signed amount less the fees charged on rows.
 */
export function billTotalsFromSums(sums: readonly { currency: string; kind: string; n: number; amount: number; fee: number }[]): Map<string, SideTotals> {
  const totals = new Map<string, SideTotals>();
  for (const s of sums) {
    let t = totals.get(s.currency);
    if (!t) totals.set(s.currency, (t = zeroSide()));
    t.count += s.n;
    switch (s.kind) {
      case 'payment':
        t.grossMinor = safeAdd(t.grossMinor, s.amount);
        break;
      case 'refund':
        t.refundsMinor = safeAdd(t.refundsMinor, -s.amount);
        break;
      case 'payout':
        t.payoutsMinor = safeAdd(t.payoutsMinor, -s.amount);
        break;
      case 'fee':
        t.feesMinor = safeAdd(t.feesMinor, -s.amount);
        break;
      case 'adjustment':
        t.adjustmentsMinor = safeAdd(t.adjustmentsMinor, s.amount);
        break;
    }
    t.feesMinor = safeAdd(t.feesMinor, s.fee);
    t.netMinor = safeAdd(t.netMinor, safeAdd(s.amount, -s.fee));
  }
  return totals;
}

const fmt = (minor: number, currency: string) => {
  try {
    return `${formatAmount(minor, currency)} ${currency}`;
  } catch {
    return `${minor} (minor units) ${currency}`;
  }
};

/**
 * Reconciles one bill against the books and saves the run. Bad input (a reader error, a row pay
 * cannot use) throws before anything is written.
 */
export async function reconcile(rs: ReconcileStore, input: ReconcileInput): Promise<ReconcileOutcome> {
  const clock = input.clock ?? (() => Date.now());
  const startedAt = isoUtc(clock());
  const { start, end } = businessDayRange(input.date, input.timeZone);
  const carryWindowMs = input.carryWindowMs ?? DEFAULT_CARRY_WINDOW_MS;

  const stage = await rs.openStage({ channel: input.channel, start: isoUtc(start), end: isoUtc(end) });
  try {
    // 1. Stream the bill into the stage. Nothing in the order book is touched yet.
    if (!input.packed && !input.rows) throw new Error('reconcile: no bill rows given');
    const packed = input.packed ?? packRows(input.rows!, input.bill.path);
    let early: EarlyBooks | undefined;
    try {
      for await (const batch of packed) {
        await stage.add(batch);
        input.onRows?.(packed.rows());
        // Once the reader runs (on its worker, for a big bill), the books' totals are read in the
        // meantime: on yet another thread where the store can, when the bill comes from a worker,
        // so that this one goes on staging. The run keeps them if the books do not change before it.
        if (!early && rs.booksVersion) {
          const version = await rs.booksVersion();
          const read = input.packed && rs.booksTotalsAside ? rs.booksTotalsAside : rs.booksTotals;
          const books = read.call(rs, input.channel, isoUtc(start), isoUtc(end));
          books.catch(() => {
            /* awaited (and reported) when the run saves its totals */
          });
          early = { version, books };
        }
      }
    } catch (err) {
      // A reader that fails on a damaged file without a PayError still means bad input (exit 2).
      if (err instanceof PayError) throw err;
      throw invalid(`cannot read ${input.bill.path} as a ${input.bill.format} bill: ${(err as Error).message}`, {
        cause: err,
        hint: 'The file is damaged or not this kind of bill (run with -v for details).',
      });
    }
    const rows = packed.rows();
    input.onRows?.(rows);
    input.onMatching?.();
    await stage.seal();

    // 2. Pair, classify and save, in one transaction on the order book.
    const sha256 = await input.bill.sha256;
    return await rs.transaction(() => match(rs, stage, input, { start, end, rows, sums: packed.sums(), sha256, early, startedAt, carryWindowMs, clock }));
  } finally {
    await stage.drop().catch(() => {
      /* the connection is gone; so is the stage */
    });
  }
}

/** The books' totals read while the bill was read, and the books' version then. */
interface EarlyBooks {
  version: number;
  books: Promise<Map<string, SideTotals>>;
}

interface MatchContext {
  start: number;
  end: number;
  rows: number;
  sums: BillSum[];
  sha256: string;
  early?: EarlyBooks;
  startedAt: string;
  carryWindowMs: number;
  clock: Clock;
}

async function match(rs: ReconcileStore, stage: BillStage, input: ReconcileInput, m: MatchContext): Promise<ReconcileOutcome> {
  const { channel, date } = input;
  const now = () => isoUtc(m.clock());

  // Same channel, day and file: replace (delete; items it closed reopen). Other files of the day:
  // superseded by this run, kept in the history.
  const previous = await rs.findRunByFile(channel, date, m.sha256);
  if (previous) await rs.deleteRun(previous.id);
  const others = await rs.currentRuns(channel, date);

  const runId = await rs.insertRun({
    channel,
    date,
    timeZone: input.timeZone,
    source: input.bill.source,
    billPath: input.bill.path,
    billFormat: input.bill.format,
    billSha256: m.sha256,
    billBytes: input.bill.bytes,
    mappingSha256: input.bill.mappingSha256,
    billRows: m.rows,
    startedAt: m.startedAt,
  });
  for (const o of others) await rs.supersede(o.id, runId);

  const counts: RunCounts = { matched: 0, missingLocal: 0, missingChannel: 0, amountMismatch: 0, statusMismatch: 0, currencyMismatch: 0, duplicate: 0, carriedOver: 0, resolved: 0 };
  const startIso = isoUtc(m.start);
  const endIso = isoUtc(m.end);
  // Items and hits are written a page at a time (one round trip each on a server database).
  const items: NewItem[] = [];
  const hits: string[] = [];
  const flush = async () => {
    if (items.length) await rs.insertItems(items.splice(0));
    if (hits.length) await stage.addHits(hits.splice(0));
  };

  // 3. Bill side: plain in-day matches are counted in SQL; every other row is classified here,
  // page by page.
  counts.matched = await stage.markOdd(channel, startIso, endIso);
  let after = 0;
  for (;;) {
    const page = await stage.oddPage(after, PAGE);
    if (page.length === 0) break;
    after = page[page.length - 1].seq;
    for (const pair of page) {
      const { row, key } = pair;
      const billPart = { line: row.line, amountMinor: row.amountMinor, feeMinor: row.feeMinor ?? 0, currency: row.currency, time: row.time, status: row.status };
      const base = { runId, channel, key, kind: row.kind, orderNo: row.orderNo, refundNo: row.refundNo, channelTradeNo: row.channelTradeNo, bill: billPart };

      if (pair.firstSeq !== pair.seq) {
        counts.duplicate++;
        items.push({ ...base, class: 'duplicate', note: 'the channel lists this key more than once' });
        continue;
      }

      let entry = pair.entry;
      let note: string | undefined;
      if (entry && entry.channel !== channel) {
        note = `the books have ${entry.kind === 'refund' ? entry.refundNo : entry.orderNo} under channel ${entry.channel}`;
        entry = undefined;
      }
      if (!entry && row.channelTradeNo) {
        entry = await rs.findByTradeNo(channel, row.kind as EntryKind, row.channelTradeNo);
        if (entry) {
          // A fallback match stands in for the book entry's own key on the book side.
          hits.push(bookKey(entry));
          const ours = entry.kind === 'refund' ? entry.refundNo : entry.orderNo;
          const theirs = entry.kind === 'refund' ? row.refundNo : row.orderNo;
          if (theirs && theirs !== ours) note = `matched by the channel's number ${row.channelTradeNo}: the bill says ${theirs}, the books ${ours}`;
        }
      }

      const verdict = classifyRow(row, entry, fmt);
      const local = entry ? { status: entry.status, amountMinor: entry.amountMinor, currency: entry.currency, time: entry.time } : undefined;
      const item: NewItem = {
        ...base,
        class: verdict.class,
        orderNo: row.orderNo ?? entry?.orderNo,
        refundNo: row.refundNo ?? entry?.refundNo,
        local,
        note: note && verdict.note ? `${verdict.note}; ${note}` : (note ?? verdict.note),
      };
      if (entry) item.key = bookKey(entry);

      // An entry settled in the books on another day: close the open item an earlier day's run
      // left for it (it is billed now), and keep matches so that day's run does not report the
      // entry missing.
      const t = entry?.time ? Date.parse(entry.time) : Number.NaN;
      const outOfDay = entry !== undefined && !(t >= m.start && t < m.end);
      const open = outOfDay ? await rs.openBookItem(channel, item.key, date) : undefined;
      if (open) await rs.closeItem(open.id, runId, now());

      if (verdict.class !== 'matched') {
        counts[verdict.class]++;
        if (open) item.note = `${item.note ?? verdict.class} (open since ${open.runDate} as ${open.class})`;
        items.push(item);
        continue;
      }
      counts.matched++;
      if (open) {
        items.push({ ...item, class: 'resolved', carriedFrom: open.runDate, originItem: open.id, note: `${open.class} on ${open.runDate}; billed on ${date}` });
        counts.resolved++;
      } else if (outOfDay || item.note) {
        // Kept for the audit trail: a match outside its day, or one made by the channel's number.
        const when = outOfDay ? (entry!.time ? `settled in the books at ${entry!.time}, outside this day` : 'the books record no settlement time') : undefined;
        items.push({ ...item, note: [when, item.note].filter(Boolean).join('; ') });
      }
    }
    await flush();
  }

  // 4. Open items of earlier days: close what the books now agree with; a carried-over item
  // the next bill did not list becomes a discrepancy.
  for (const open of await rs.openItemsBefore(channel, date)) {
    const entry = await rs.entryByKey(channel, open.key);
    if (open.class === 'missingChannel' || open.class === 'carriedOver') {
      if (!entry || !isSettled(entry)) {
        await rs.closeItem(open.id, runId, now());
        items.push({
          runId,
          channel,
          class: 'resolved',
          key: open.key,
          kind: open.kind,
          orderNo: open.orderNo,
          refundNo: open.refundNo,
          channelTradeNo: open.channelTradeNo,
          local: entry ? { status: entry.status, amountMinor: entry.amountMinor, currency: entry.currency, time: entry.time } : undefined,
          carriedFrom: open.runDate,
          originItem: open.id,
          note: `${open.class} on ${open.runDate}; the books no longer have it as settled`,
        });
        counts.resolved++;
      } else if (open.class === 'carriedOver') {
        await rs.closeItem(open.id, runId, now());
        items.push({
          runId,
          channel,
          class: 'missingChannel',
          key: open.key,
          kind: open.kind,
          orderNo: open.orderNo,
          refundNo: open.refundNo,
          channelTradeNo: open.channelTradeNo,
          local: open.local,
          carriedFrom: open.runDate,
          originItem: open.id,
          note: `carried over from ${open.runDate} and still not billed`,
        });
        counts.missingChannel++;
      }
      continue;
    }
    // Bill side (missingLocal, statusMismatch): resolved once the books hold it, settled, equal.
    if (entry && open.bill && classifyRow({ kind: open.kind as BillRow['kind'], amountMinor: open.bill.amountMinor, currency: open.bill.currency, status: open.bill.status }, entry, fmt).class === 'matched') {
      await rs.closeItem(open.id, runId, now());
      items.push({
        runId,
        channel,
        class: 'resolved',
        key: bookKey(entry),
        kind: open.kind,
        orderNo: entry.orderNo,
        refundNo: entry.refundNo,
        channelTradeNo: open.channelTradeNo,
        bill: open.bill,
        local: { status: entry.status, amountMinor: entry.amountMinor, currency: entry.currency, time: entry.time },
        carriedFrom: open.runDate,
        originItem: open.id,
        note: `${open.class} on ${open.runDate}; the books now agree`,
      });
      counts.resolved++;
      // The entry is accounted for by that earlier bill: not missing from this one.
      hits.push(bookKey(entry));
    }
  }
  await flush();

  // 5. Book side: settled entries of the day the bill does not list.
  const carryFrom = isoUtc(m.end - m.carryWindowMs);
  const unbilled = await stage.insertUnbilled(channel, startIso, endIso, carryFrom, runId);
  counts.missingChannel += unbilled.missingChannel;
  counts.carriedOver += unbilled.carriedOver;

  // 6. Totals, counts, and an event for the audit trail.
  const billTotals = billTotalsFromSums(m.sums);
  const books = m.early && rs.booksVersion && (await rs.booksVersion()) === m.early.version ? await m.early.books : await rs.booksTotals(channel, startIso, endIso);
  const currencies = [...new Set([...billTotals.keys(), ...books.keys()])].sort();
  const totals: CurrencyTotals[] = currencies.map((currency) => ({ currency, bill: billTotals.get(currency) ?? zeroSide(), books: books.get(currency) ?? zeroSide() }));
  const finishedAt = now();
  await rs.finishRun(runId, counts, totals, finishedAt);
  await rs.event('reconcile.run', channel, { runId, date, billSha256: m.sha256, rows: m.rows, ...counts, ...(previous ? { replaced: previous.id } : {}) }, finishedAt);
  const run = (await rs.getRun(runId))!;
  return { run, replaced: previous?.id, superseded: others.map((o) => o.id), outstanding: await rs.countOpen(channel, date) };
}

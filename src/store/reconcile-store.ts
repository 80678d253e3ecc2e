/**
 * The reconciliation storage contract, beside {@link Store}: a bill is streamed into a
 * {@link BillStage} (temporary, private to one run), paired with the books by SQL on the database
 * side, and the run and its items are saved through {@link ReconcileStore}. The matching rules
 * live in src/reconcile; implementations only fetch and write. SQLite: sqlite-reconcile-store.ts;
 * PostgreSQL: pg-reconcile-store.ts.
 */
import type { BillRow } from '../channel/contract.js';
import type { StageBatch } from '../reconcile/stage-batch.js';
import { CARRYABLE_CLASSES, type BookEntry, type EntryKind, type ItemClass } from '../reconcile/classify.js';

/** Sums of one side for one currency, minor units (amounts are magnitudes; net is signed). */
export interface SideTotals {
  count: number;
  grossMinor: number;
  refundsMinor: number;
  payoutsMinor: number;
  feesMinor: number;
  adjustmentsMinor: number;
  netMinor: number;
}

/** Bill and book totals of one currency. */
export interface CurrencyTotals {
  currency: string;
  bill: SideTotals;
  books: SideTotals;
}

/** Counts of a run. */
export interface RunCounts {
  matched: number;
  missingLocal: number;
  missingChannel: number;
  amountMismatch: number;
  statusMismatch: number;
  currencyMismatch: number;
  duplicate: number;
  carriedOver: number;
  resolved: number;
}

/** A saved run. */
export interface RunRecord extends RunCounts {
  id: number;
  channel: string;
  date: string;
  timeZone: string;
  source: 'file' | 'download';
  billPath: string;
  billFormat: string;
  billSha256: string;
  billBytes: number;
  mappingSha256?: string;
  billRows: number;
  totals: CurrencyTotals[];
  /** Set when a later run of the same channel and day (another file) replaced this one. */
  supersededBy?: number;
  startedAt: string;
  finishedAt: string;
}

/** A new run's header (counts come at the end). */
export type NewRun = Omit<RunRecord, 'id' | keyof RunCounts | 'totals' | 'supersededBy' | 'finishedAt'>;

/** A saved item. */
export interface ItemRecord {
  id: number;
  runId: number;
  channel: string;
  class: ItemClass;
  key: string;
  kind: string;
  orderNo?: string;
  refundNo?: string;
  channelTradeNo?: string;
  bill?: { line: number; amountMinor: number; feeMinor: number; currency: string; time: string; status?: string };
  local?: { status: string; amountMinor: number; currency: string; time?: string };
  note?: string;
  /** Business day of the run the item was first found in (carried or resolved items). */
  carriedFrom?: string;
  originItem?: number;
  closedByRun?: number;
  closedAt?: string;
}

/** A new item. */
export type NewItem = Omit<ItemRecord, 'id' | 'closedByRun' | 'closedAt'>;

/** An open item of an earlier run, with that run's date. */
export interface OpenItem extends ItemRecord {
  runDate: string;
}

/** Sums of a bill for one currency and kind (rows marked failed left out), kept as rows are packed. */
export interface BillSum {
  currency: string;
  kind: string;
  n: number;
  amount: number;
  fee: number;
}

/** A staged bill row that is not a plain match, with what its own key names in the books. */
export interface StagedPair {
  /** Position of the row in the stage (file order), for paging. */
  seq: number;
  /** Position of the first row with the same key; differs from `seq` for a duplicate. */
  firstSeq: number;
  key: string;
  row: BillRow;
  /** The order, payout or refund the row's own number names (same kind), any channel, any day. */
  entry?: BookEntry;
}

/** Counts of the book-side items {@link BillStage.insertUnbilled} saved. */
export interface UnbilledCounts {
  missingChannel: number;
  carriedOver: number;
}

/** The run a stage is for: a backend may pair rows with the books while the bill is still read. */
export interface StageScope {
  channel: string;
  /** Start and end of the business day, ISO UTC. */
  start: string;
  end: string;
}

/**
 * One bill staged for one run: temporary storage private to the run's connection, dropped by
 * {@link BillStage.drop}. Rows arrive in batches (already checked by the engine), in file order.
 */
export interface BillStage {
  /** Appends a batch of packed rows (stage-batch.ts). Nothing in the order book is touched. */
  add(batch: StageBatch): Promise<void>;
  /** Ends loading and indexes the stage by key. */
  seal(): Promise<void>;
  /**
   * Sets aside, in one SQL pass, the staged payment, refund and payout rows that are not plain
   * matches: a plain match is the first row of its key, not marked failed, naming a book entry of
   * this channel and kind with the same currency and amount, settled, and settled in the books
   * within [start, end). Those are exactly the rows classifyRow would call matched with nothing
   * to keep. Every other row is classified by the engine. Returns the plain-match count.
   */
  markOdd(channel: string, start: string, end: string): Promise<number>;
  /** One page of the rows {@link markOdd} set aside, in file order, after position `afterSeq`. */
  oddPage(afterSeq: number, limit: number): Promise<StagedPair[]>;
  /** Records that bill rows account for these book keys (fallback matches, earlier bills). */
  addHits(keys: readonly string[]): Promise<void>;
  /**
   * Saves, as items of run `runId`, the settled book entries whose money moved in [start, end)
   * that no staged row and no hit names and that no other current run matched (a timing
   * difference billed on another day): `carriedOver` when the money moved at or after
   * `carryFrom`, else `missingChannel`. Done in SQL so that a day of any size never passes
   * through memory. Returns the counts per class.
   */
  insertUnbilled(channel: string, start: string, end: string, carryFrom: string, runId: number): Promise<UnbilledCounts>;
  /** Drops the stage. */
  drop(): Promise<void>;
}

/** Reconciliation storage on one database: book lookups, saved runs and items. */
export interface ReconcileStore {
  /** Starts staging a bill (for the run of `scope`, when given). */
  openStage(scope?: StageScope): Promise<BillStage>;
  /**
   * A number that changes whenever another connection commits to the books, on backends that
   * can tell: the engine then reads the books' totals while the bill is still being read, and
   * keeps them in the run's transaction only if this number has not moved.
   */
  booksVersion?(): Promise<number>;
  /**
   * {@link booksTotals} read off the calling thread where the backend can (a connection of its
   * own on a worker thread), for the engine's early read of a big bill; the caller checks
   * {@link booksVersion} before it keeps the result.
   */
  booksTotalsAside?(channel: string, start: string, end: string): Promise<Map<string, SideTotals>>;
  /**
   * Runs `fn` in one transaction on the order book (stage included): everything `fn` writes is
   * saved together or not at all. Not reentrant.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;

  /** The book entry with the channel's trade (or refund) number, for rows without our numbers. */
  findByTradeNo(channel: string, kind: EntryKind, tradeNo: string): Promise<BookEntry | undefined>;
  /** The book entry a key names (`P|`, `T|`, `R|`, or the `X|kind|trade` fallback), any day. */
  entryByKey(channel: string, key: string): Promise<BookEntry | undefined>;
  /** The books' totals for the settled entries of [start, end), per currency. */
  booksTotals(channel: string, start: string, end: string): Promise<Map<string, SideTotals>>;

  /** The run of this channel, day and file, if one was saved. */
  findRunByFile(channel: string, date: string, sha256: string): Promise<RunRecord | undefined>;
  /** Current (not superseded) runs of a channel and day. */
  currentRuns(channel: string, date: string): Promise<RunRecord[]>;
  /** Deletes a run and its items; items it had closed reopen. */
  deleteRun(id: number): Promise<void>;
  /** Marks `oldId` superseded by `newId` and reopens the items `oldId` had closed. */
  supersede(oldId: number, newId: number): Promise<void>;
  /** Inserts a run header (counts zero until {@link finishRun}); returns its id. */
  insertRun(run: NewRun): Promise<number>;
  /** Writes a run's counts and totals. */
  finishRun(id: number, counts: RunCounts, totals: CurrencyTotals[], finishedAt: string): Promise<void>;
  /** Inserts items, in order. */
  insertItems(items: readonly NewItem[]): Promise<void>;
  /** Closes an open item on behalf of run `runId`. */
  closeItem(id: number, runId: number, at: string): Promise<void>;
  /** The open book-side item (missing at the channel or carried over) for a key, from a run before `date`. */
  openBookItem(channel: string, key: string, date: string): Promise<OpenItem | undefined>;
  /** Every open item of this channel's current runs before `date`, oldest first. */
  openItemsBefore(channel: string, date: string): Promise<OpenItem[]>;
  /** Count of open items of this channel's current runs up to and including `date`. */
  countOpen(channel: string, date: string): Promise<number>;
  /** A saved run. */
  getRun(id: number): Promise<RunRecord | undefined>;
  /** Saved runs, newest first. */
  listRuns(filter?: { channel?: string; limit?: number }): Promise<RunRecord[]>;
  /** Items of a run in the given classes, in order found; streamed in pages. */
  items(runId: number, classes: readonly ItemClass[], limit?: number): AsyncIterable<ItemRecord>;
  /** Number of items of a run in the given classes. */
  countItems(runId: number, classes: readonly ItemClass[]): Promise<number>;
  /** Appends an event to the log (inside the caller's transaction when there is one). */
  event(type: string, channel: string, data: Record<string, unknown>, at: string): Promise<void>;
  /** Releases what this store holds (a PostgreSQL connection); the order store stays open. */
  close(): Promise<void>;
}

/** The item classes that stay open across days, as an SQL list (constants, not user input). */
export const CARRYABLE_SQL = CARRYABLE_CLASSES.map((c) => `'${c}'`).join(', ');

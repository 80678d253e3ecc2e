/**
 * Bill rows on their way into a stage: checked, keyed and laid out flat, a batch at a time, with
 * the bill's sums per currency and kind kept on the way. The same packing runs on the main thread
 * (small bills, readers that cannot move) or on the reading worker (read-worker.ts), whose
 * batches cross threads as plain arrays: no per-row objects are rebuilt on the staging side, and
 * the values are bound to the stage's INSERT (or COPY) as they are.
 */
import { billRowChunks, type BillRow } from '../channel/contract.js';
import { invalid, type PayError } from '../core/errors.js';
import type { BillSum } from '../store/reconcile-store.js';
import { copyText, fromCopyText } from '../store/copy-value.js';
import { billKey, billSaysFailed } from './classify.js';

/**
 * Values per staged row, in this order: key, amount, currency, flags ({@link STAGE_FLAG}), and the
 * rest of the row as one text: line, kind, order number, refund number, channel trade number, fee,
 * time and status, each in COPY's text format (\\N for absent), joined by tabs ({@link stageRest}).
 * Pairing reads the first four; the rest is decoded only for the rows the engine looks at, and
 * PostgreSQL's COPY takes it as it is.
 */
export const STAGE_WIDTH = 5;

/** The flags value of a staged row: the kind's code in the low bits, and whether the bill marks the row failed. */
export const STAGE_FLAG = {
  /** Mask of the kind's code (its index in {@link STAGE_KINDS}). */
  kind: 7,
  /** Kind codes below this are paired with the books (payment, refund, payout). */
  pairableBelow: 3,
  /** The row's status says the money did not move (classify.ts's rule). */
  failed: 8,
} as const;

/** Kinds by their code in {@link STAGE_FLAG}.kind; the pairable ones first. */
export const STAGE_KINDS = ['payment', 'refund', 'payout', 'fee', 'adjustment'] as const;
const KIND_CODE = new Map<string, number>(STAGE_KINDS.map((k, i) => [k, i]));

/** The fields of a bill row a staged row's rest text holds (all but the amount and currency). */
export type StageRest = Required<Pick<BillRow, 'line' | 'kind' | 'feeMinor' | 'time'>> & Pick<BillRow, 'orderNo' | 'refundNo' | 'channelTradeNo' | 'status'>;

/** The rest text of a checked row. */
function stageRest(row: BillRow, line: number, fee: number): string {
  return `${line}\t${row.kind}\t${copyText(row.orderNo || null)}\t${copyText(row.refundNo || null)}\t${copyText(row.channelTradeNo || null)}\t${fee}\t${copyText(row.time)}\t${copyText(row.status || null)}`;
}

/** The fields {@link stageRest} wrote. */
export function readStageRest(rest: string): StageRest {
  const f = rest.split('\t');
  return {
    line: Number(f[0]),
    kind: f[1] as BillRow['kind'],
    orderNo: fromCopyText(f[2]!),
    refundNo: fromCopyText(f[3]!),
    channelTradeNo: fromCopyText(f[4]!),
    feeMinor: Number(f[5]),
    time: fromCopyText(f[6]!) ?? '',
    status: fromCopyText(f[7]!),
  };
}

/**
 * Rows per batch: large enough that per-batch costs vanish, small enough that a batch's array
 * stays under V8's large-object threshold (128 KB). Larger arrays go to the large-object space,
 * which only a full collection frees: at 4096 rows (11 values a row then) a 1M-row reconcile
 * peaked ~40 MB higher on SQLite and ~45 MB higher on PostgreSQL, and took ~0.6 s longer there.
 */
export const STAGE_BATCH_ROWS = 1024;

/** Staged rows, {@link STAGE_WIDTH} values each. */
export interface StageBatch {
  values: (string | number)[];
  rows: number;
}

/** A bill's rows as batches; `sums` and `rows` are complete once the batches are. */
export interface PackedBill extends AsyncIterable<StageBatch> {
  /** Sums per currency and kind, leaving out rows marked failed. */
  sums(): BillSum[];
  /** Rows read. */
  rows(): number;
}

const CURRENCY = /^[A-Z]{3}$/;
const UNSEEN = Symbol('unseen');

function damaged(path: string, line: number, message: string): PayError {
  return invalid(`${path}: bill row at line ${line}: ${message}`, { hint: 'The channel reader produced a row pay cannot use; the file may be damaged.' });
}

/** Packs checked rows into batches and keeps the bill's sums. */
export class BatchPacker {
  private values: (string | number)[] = [];
  private count = 0;
  private total = 0;
  private readonly sumsByKey = new Map<string, BillSum>();
  // Rows of one bill repeat their time, currency, status and kind: each is checked (or looked up)
  // once per change, not per row. push() alone over 1M rows, 2026-12-06 on 2 cores: 0.95-1.15 s
  // with a per-row status normalisation, currency test and sum-key string, 0.40-0.80 s without.
  // UNSEEN equals no value a row can hold, so the first row is always checked.
  private lastTime: unknown = UNSEEN;
  private lastCurrency: unknown = UNSEEN;
  private lastStatus: unknown = UNSEEN;
  private lastFailed = false;
  private lastSum: BillSum | undefined;

  constructor(
    private readonly path: string,
    private readonly batchRows = STAGE_BATCH_ROWS,
  ) {}

  /** Checks a reader's row (a reader bug or a damaged file must not slip in) and packs it; returns a full batch. */
  push(row: BillRow): StageBatch | undefined {
    const line = Number.isSafeInteger(row.line) ? row.line : 0;
    const code = KIND_CODE.get(row.kind);
    if (code === undefined) throw damaged(this.path, line, `unknown kind "${String(row.kind)}"`);
    if (!Number.isSafeInteger(row.amountMinor)) throw damaged(this.path, line, 'amount is not an integer of minor units');
    const fee = row.feeMinor ?? 0;
    if (!Number.isSafeInteger(fee)) throw damaged(this.path, line, 'fee is not an integer of minor units');
    if (row.currency !== this.lastCurrency) {
      if (typeof row.currency !== 'string' || !CURRENCY.test(row.currency)) throw damaged(this.path, line, `currency "${String(row.currency)}" is not an ISO 4217 code`);
      this.lastCurrency = row.currency;
    }
    if (row.time !== this.lastTime) {
      if (typeof row.time !== 'string' || Number.isNaN(Date.parse(row.time))) throw damaged(this.path, line, `time "${String(row.time)}" is not a time`);
      this.lastTime = row.time;
    }
    if (row.status !== this.lastStatus) {
      this.lastFailed = billSaysFailed(row.status);
      this.lastStatus = row.status;
    }
    const failed = this.lastFailed;
    if (!failed) this.addSum(row.currency, row.kind, row.amountMinor, fee);
    this.values.push(billKey(row), row.amountMinor, row.currency, failed ? code | STAGE_FLAG.failed : code, stageRest(row, line, fee));
    this.total++;
    if (++this.count >= this.batchRows) return this.take();
    return undefined;
  }

  /** The rows packed since the last batch (undefined when none). */
  take(): StageBatch | undefined {
    if (this.count === 0) return undefined;
    const batch = { values: this.values, rows: this.count };
    this.values = [];
    this.count = 0;
    return batch;
  }

  /** Rows packed so far. */
  rows(): number {
    return this.total;
  }

  /** The sums so far, per currency and kind, sorted as the report lists them. */
  sums(): BillSum[] {
    return [...this.sumsByKey.values()].sort((a, b) => (a.currency === b.currency ? (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) : a.currency < b.currency ? -1 : 1));
  }

  private addSum(currency: string, kind: string, amount: number, fee: number): void {
    let s = this.lastSum;
    if (s === undefined || s.currency !== currency || s.kind !== kind) {
      const key = `${currency}|${kind}`;
      s = this.sumsByKey.get(key);
      if (!s) this.sumsByKey.set(key, (s = { currency, kind, n: 0, amount: 0, fee: 0 }));
      this.lastSum = s;
    }
    s.n++;
    s.amount += amount;
    s.fee += fee;
    if (!Number.isSafeInteger(s.amount) || !Number.isSafeInteger(s.fee)) throw invalid('bill totals exceed the largest amount pay can hold');
  }
}

/** Packs rows read on this thread. */
export function packRows(rows: AsyncIterable<BillRow>, path: string, batchRows = STAGE_BATCH_ROWS): PackedBill {
  const packer = new BatchPacker(path, batchRows);
  return {
    async *[Symbol.asyncIterator]() {
      for await (const chunk of billRowChunks(rows)) {
        for (const row of chunk) {
          const batch = packer.push(row);
          if (batch) yield batch;
        }
      }
      const last = packer.take();
      if (last) yield last;
    },
    sums: () => packer.sums(),
    rows: () => packer.rows(),
  };
}

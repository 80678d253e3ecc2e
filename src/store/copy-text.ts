/**
 * PostgreSQL's COPY text format: values, and a bill's staged rows with the flags the PostgreSQL
 * stage keeps while it sends them (the driver-free half of pg-reconcile-store.ts).
 */
import { billSaysFailed } from '../reconcile/classify.js';
import { STAGE_WIDTH, type StageBatch } from '../reconcile/stage-batch.js';
import { SeenKeys } from './seen-keys.js';

/** A value in COPY's text format: \N for null; backslash, tab, newline and CR escaped. */
export function copyText(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number') return String(v);
  return /[\\\t\n\r]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : v;
}

/** Columns of the stage (rc_bill) in the order {@link BillCopyRenderer} writes them. */
export const BILL_COPY_COLUMNS = 'seq, line, k, kind, order_no, refund_no, trade_no, amount, fee, currency, time, status, failed, maybe';

/** Bits of the filter of keys already staged (8 MiB: the client stays small; a false alarm costs the server a little). */
const SEEN_BITS = 1 << 26;

/** Flagged keys listed for the server at most; past that it finds them by the `maybe` column. */
const MAX_FLAGGED = 100_000;

/** Kinds of rows paired with the books (the others are counted in the totals only). */
const PAIRABLE = new Set(['payment', 'refund', 'payout']);

/** A batch rendered as COPY text lines, with what the stage needs to know of it. */
export interface CopyBatch {
  text: string;
  /** Rows of the kinds paired with the books. */
  pairable: number;
  /** Rows whose key may have been staged before (repeats, and now and then a false alarm). */
  maybe: number;
}

/**
 * Renders a bill's packed batches, in order, as lines of {@link BILL_COPY_COLUMNS}: numbered
 * from 1, flagged `failed` when the row's status says the money did not move (classify.ts's
 * rule, so that SQL and the engine agree) and `maybe` when the key may have come before.
 */
export class BillCopyRenderer {
  private seq = 0;
  private readonly seen = new SeenKeys(SEEN_BITS);
  /** The flagged keys while they are few (undefined past {@link MAX_FLAGGED}): one lookup list for the server. */
  private flaggedKeys: string[] | undefined = [];

  render(batch: StageBatch): CopyBatch {
    const { values, rows } = batch;
    let text = '';
    let pairable = 0;
    let maybe = 0;
    for (let i = 0, at = 0; i < rows; i++, at += STAGE_WIDTH) {
      // line, key, kind, order no, refund no, trade no, amount, fee, currency, time, status
      const k = values[at + 1] as string;
      const kind = values[at + 2] as string;
      if (PAIRABLE.has(kind)) pairable++;
      const seen = this.seen.add(k);
      if (seen) {
        maybe++;
        if (this.flaggedKeys) {
          if (this.flaggedKeys.length < MAX_FLAGGED) this.flaggedKeys.push(k);
          else this.flaggedKeys = undefined;
        }
      }
      const status = values[at + 10] as string | null;
      text += `${++this.seq}\t${values[at]}\t${copyText(k)}\t${kind}\t${copyText(values[at + 3] as string | null)}\t${copyText(values[at + 4] as string | null)}\t${copyText(values[at + 5] as string | null)}\t${values[at + 6]}\t${values[at + 7]}\t${values[at + 8]}\t${copyText(values[at + 9] as string)}\t${copyText(status)}\t${status !== null && billSaysFailed(status) ? 't' : 'f'}\t${seen ? 't' : 'f'}\n`;
    }
    return { text, pairable, maybe };
  }

  /** Keys flagged so far (repeats, and false alarms; a key may be listed more than once), or undefined when too many to list. */
  flagged(): readonly string[] | undefined {
    return this.flaggedKeys;
  }

  /** Frees the filter (the bill is complete). */
  end(): void {
    this.seen.clear();
    this.flaggedKeys = [];
  }
}

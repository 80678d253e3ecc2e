/**
 * A bill's staged rows in PostgreSQL's COPY text format, with the flags the PostgreSQL stage keeps
 * while it sends them (the driver-free half of pg-reconcile-store.ts).
 */
import { STAGE_FLAG, STAGE_WIDTH, type StageBatch } from '../reconcile/stage-batch.js';
import { copyText } from './copy-value.js';
import { SeenKeys } from './seen-keys.js';

/** Columns of the stage (rc_bill) in the order {@link BillCopyRenderer} writes them. */
export const BILL_COPY_COLUMNS = 'seq, k, amount, currency, failed, maybe, line, kind, order_no, refund_no, trade_no, fee, time, status';

/** Bits of the filter of keys already staged (8 MiB: the client stays small; a false alarm costs the server a little). */
const SEEN_BITS = 1 << 26;

/** Flagged keys listed for the server at most; past that it finds them by the `maybe` column. */
const MAX_FLAGGED = 100_000;

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
      // key, amount, currency, flags, rest (already COPY text: line, kind, numbers, fee, time, status)
      const k = values[at] as string;
      const flags = values[at + 3] as number;
      if ((flags & STAGE_FLAG.kind) < STAGE_FLAG.pairableBelow) pairable++;
      const seen = this.seen.add(k);
      if (seen) {
        maybe++;
        if (this.flaggedKeys) {
          if (this.flaggedKeys.length < MAX_FLAGGED) this.flaggedKeys.push(k);
          else this.flaggedKeys = undefined;
        }
      }
      text += `${++this.seq}\t${copyText(k)}\t${values[at + 1]}\t${values[at + 2]}\t${flags & STAGE_FLAG.failed ? 't' : 'f'}\t${seen ? 't' : 'f'}\t${values[at + 4]}\n`;
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

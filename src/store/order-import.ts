/**
 * The bulk order-import contract, beside {@link Store} (`pay orders import`): rows already checked
 * one by one are staged; the checks that need the whole file or the books (duplicates, refunds
 * and their orders, conflicts with what is stored, refund totals) run as SQL over the stage; then
 * everything is written in one transaction, with an event per created or moved order and refund.
 * Nothing is held in memory per row. SQLite: sqlite-order-import.ts; PostgreSQL: pg-order-import.ts.
 */
import { nextOrderStatus, nextRefundStatus, type OrderStatus, type RefundStatus } from '../core/order.js';

/** A row of the export, checked on its own. */
export interface ImportRow {
  line: number;
  kind: 'payment' | 'refund' | 'payout';
  orderNo: string;
  refundNo: string | null;
  channel: string;
  amountMinor: number;
  currency: string;
  status: string;
  /** ISO UTC. */
  createdAt: string;
  /** ISO UTC (refunds: when refunded). */
  paidAt: string | null;
  channelTradeNo: string | null;
}

/** A rejected row. */
export interface ImportProblem {
  line: number;
  orderNo?: string;
  refundNo?: string;
  message: string;
}

/** What an import did (or, for a dry run or a rejected file, would do). */
export interface ImportCounts {
  rows: number;
  ordersCreated: number;
  refundsCreated: number;
  /** Stored orders and refunds moved forward (pending -> succeeded) or given a trade number. */
  updated: number;
  /** Rows identical to what is stored. */
  unchanged: number;
  rejected: number;
}

/** One import of one file. Call begin, stage/problem, check, then counts or apply; end always. */
export interface OrderImport {
  /** Rejected rows counted (all of them, even beyond the ones kept for the report). */
  readonly rejectedRows: number;
  /** Creates the (empty) stage. */
  begin(): Promise<void>;
  /** Stages checked rows, in file order. */
  stage(rows: readonly ImportRow[]): Promise<void>;
  /** Records a problem found while reading (the row was not staged). */
  problem(p: ImportProblem): Promise<void>;
  /** Runs the whole-file checks; decides for each good row whether it creates, updates or leaves unchanged what is stored. */
  check(): Promise<void>;
  /** Problems found, by line (at most a thousand of them). */
  problems(): Promise<ImportProblem[]>;
  /** What applying would do. */
  counts(rows: number): Promise<ImportCounts>;
  /** Writes the good rows in one transaction. */
  apply(file: { path: string; sha256: string }, rows: number): Promise<ImportCounts>;
  /** Drops the stage and releases what the import holds. */
  end(): Promise<void>;
}

/** Problems kept for the report; the rest are only counted. */
export const MAX_PROBLEMS = 1000;

/** Stored statuses treated as the same fact as the file's (pay derives `refunded` from refunds). */
const samePaid = (a: string, b: string) => a === b || ((a === 'succeeded' || a === 'refunded') && (b === 'succeeded' || b === 'refunded'));

type Row = Record<string, unknown>;

/**
 * Why a staged refund cannot stand against its order (file columns `f_`, stored columns `s_`;
 * the row was selected because something is wrong).
 */
export function refundOrderProblem(r: Row): string {
  const no = r.order_no as string;
  if (r.f_line === null && r.s_kind === null) return `refund ${String(r.refund_no)} refers to order ${no}, which is neither in the file nor in the order book`;
  if (r.f_bad === 1) return `refund ${String(r.refund_no)} refers to order ${no} on line ${String(r.f_line)}, which was rejected`;
  if ((r.f_kind ?? (r.s_kind === 'collect' ? 'payment' : 'payout')) !== 'payment') return `${no} is a payout; only payments can be refunded`;
  if ((r.f_channel ?? r.s_channel) !== r.channel) return `refund ${String(r.refund_no)} says channel ${String(r.channel)}, its order ${no} is on ${String(r.f_channel ?? r.s_channel)}`;
  if ((r.f_currency ?? r.s_currency) !== r.currency) return `refund ${String(r.refund_no)} is in ${String(r.currency)}, its order ${no} in ${String(r.f_currency ?? r.s_currency)}`;
  return `refund ${String(r.refund_no)} refers to order ${no}, which is ${String(r.f_status ?? r.s_status)}; only a paid order can be refunded`;
}

/** What is wrong with an order's refund total (refunded, n, amount, status, line), if anything. */
export function refundTotalProblem(t: Row): string | undefined {
  const refunded = t.refunded as number;
  const amount = t.amount as number;
  if (refunded > amount) return `refunds of ${String(t.order_no)} total more than its amount`;
  if (t.status === 'refunded' && (t.n as number) > 0 && refunded !== amount) return `${String(t.order_no)} is refunded, but its succeeded refunds total less than its amount`;
  if (t.status === 'succeeded' && refunded === amount && amount > 0 && t.line !== null) return `the refunds of ${String(t.order_no)} total its whole amount, so its status is refunded, not succeeded`;
  return undefined;
}

/**
 * What a stored order and the file's row (`s_` columns are the stored side) amount to: 'same',
 * undefined for a forward move, or the conflict's message.
 */
export function orderConflict(d: Row): string | 'same' | undefined {
  const no = d.order_no as string;
  const kind = d.kind === 'payment' ? 'collect' : 'payout';
  if (d.s_kind !== kind) return `${no} is already in the order book as a ${d.s_kind === 'collect' ? 'payment' : 'payout'}; the file says ${String(d.kind)}`;
  if (d.s_channel !== d.channel) return `${no} is already in the order book on channel ${String(d.s_channel)}; the file says ${String(d.channel)}`;
  if (d.s_currency !== d.currency) return `${no} is already in the order book in ${String(d.s_currency)}; the file says ${String(d.currency)}`;
  if (d.s_amount !== d.amount) return `${no} is already in the order book with amount ${String(d.s_amount)} (minor units); the file says ${String(d.amount)}`;
  if (d.s_created !== d.created_at) return `${no} is already in the order book created at ${String(d.s_created)}; the file says ${String(d.created_at)}`;
  if (d.s_trade !== null && d.trade_no !== null && d.s_trade !== d.trade_no) return `${no} has channel trade number ${String(d.s_trade)} in the order book; the file says ${String(d.trade_no)}`;
  const sStatus = d.s_status as string;
  const fStatus = d.status as string;
  if (!samePaid(sStatus, fStatus)) {
    const t = nextOrderStatus(sStatus as OrderStatus, fStatus as OrderStatus);
    if (!t.changed) return `${no} is ${sStatus} in the order book; the file says ${fStatus} (${t.ignored ?? 'not a forward move'})`;
    return undefined;
  }
  if (d.s_paid !== null && d.paid_at !== null && d.s_paid !== d.paid_at) return `${no} was paid at ${String(d.s_paid)} in the order book; the file says ${String(d.paid_at)}`;
  if (d.s_trade === null && d.trade_no !== null) return undefined; // a trade number the books lacked
  return 'same';
}

/** As {@link orderConflict}, for a stored refund. */
export function refundConflict(d: Row): string | 'same' | undefined {
  const no = d.refund_no as string;
  if (d.s_order !== d.order_no) return `refund ${no} belongs to order ${String(d.s_order)} in the order book; the file says ${String(d.order_no)}`;
  if (d.s_amount !== d.amount) return `refund ${no} is ${String(d.s_amount)} (minor units) in the order book; the file says ${String(d.amount)}`;
  if (d.s_created !== d.created_at) return `refund ${no} was created at ${String(d.s_created)} in the order book; the file says ${String(d.created_at)}`;
  if (d.s_trade !== null && d.trade_no !== null && d.s_trade !== d.trade_no) return `refund ${no} has channel refund number ${String(d.s_trade)} in the order book; the file says ${String(d.trade_no)}`;
  if (d.s_status !== d.status) {
    const t = nextRefundStatus(d.s_status as RefundStatus, d.status as RefundStatus);
    if (!t.changed) return `refund ${no} is ${String(d.s_status)} in the order book; the file says ${String(d.status)}`;
    return undefined;
  }
  if (d.s_paid !== null && d.paid_at !== null && d.s_paid !== d.paid_at) return `refund ${no} was refunded at ${String(d.s_paid)} in the order book; the file says ${String(d.paid_at)}`;
  if (d.s_trade === null && d.trade_no !== null) return undefined; // a refund number the books lacked
  return 'same';
}

/**
 * The order store contract. Async so that a server database can implement it without touching
 * commands: `sqlite-store.ts` (the zero-setup default) and `pg-store.ts` (PostgreSQL, for teams
 * sharing one order book); `open.ts` picks one from `--db`. Bulk work has contracts of its own
 * beside this one (reconcile-store.ts, order-import.ts, stats-store.ts), reached through the store.
 *
 * Every state change goes through the core state machine inside one transaction and writes an
 * event; the event log is append-only.
 */
import type { Order, OrderKind, OrderStatus, Refund, RefundStatus } from '../core/order.js';
import type { StoreAdmin } from './admin.js';
import type { OrderImport } from './order-import.js';
import type { ReconcileStore } from './reconcile-store.js';
import type { StatsStore } from './stats-store.js';

/** A new order, written before its channel call. */
export interface NewOrder {
  orderNo: string;
  kind: OrderKind;
  channel: string;
  amountMinor: number;
  currency: string;
  subject?: string;
  method?: string;
  payee?: string;
  payeeName?: string;
  /** Default `cli`. */
  source?: string;
  /** Initial status (default `created`; imports bring their own). */
  status?: OrderStatus;
  channelTradeNo?: string;
  /** ISO UTC; defaults to now. */
  createdAt?: string;
  paidAt?: string;
  refundedMinor?: number;
}

/** Fields a channel answer may change. `status` goes through the state machine. */
export interface OrderPatch {
  status?: OrderStatus;
  channelTradeNo?: string;
  payload?: Record<string, unknown>;
  failureCode?: string;
  failureMessage?: string;
  paidAt?: string;
  /**
   * What was captured of an authorization, minor units. When the order moves to succeeded with
   * it and it is less than the order's amount (a partial capture, the rest released), it becomes
   * the order's amount; the authorized amount stays in the `order.captured` event.
   */
  capturedMinor?: number;
}

/** A new refund. */
export interface NewRefund {
  refundNo: string;
  orderNo: string;
  amountMinor: number;
  reason?: string;
  createdAt?: string;
}

/** Fields a channel answer may change on a refund. */
export interface RefundPatch {
  status?: RefundStatus;
  channelRefundNo?: string;
  failureCode?: string;
  failureMessage?: string;
  refundedAt?: string;
}

/** Why something changed, for the event log. */
export interface EventCause {
  /** `cli`, `channel.query`, `callback`, `import`... */
  source: string;
  /** Free-form detail (redacted before writing). */
  detail?: Record<string, unknown>;
}

/** An event-log entry as stored. */
export interface StoredEvent {
  id: number;
  /** ISO UTC. */
  at: string;
  /** `order.created`, `order.status`, `refund.created`, `refund.status`, `channel.call`, `callback.*`... */
  type: string;
  channel?: string;
  orderNo?: string;
  refundNo?: string;
  data: Record<string, unknown>;
}

/** A new event-log entry (redacted by the store before it is written). */
export interface NewEvent {
  type: string;
  channel?: string;
  orderNo?: string;
  refundNo?: string;
  data?: Record<string, unknown>;
  /** ISO UTC; defaults to now. */
  at?: string;
}

/** Result of an order or refund update. */
export interface UpdateResult<T> {
  value: T;
  /** True when anything changed. */
  changed: boolean;
  /** Set when a reported status was not applied (state machine refused it). */
  ignored?: string;
}

/** Filter for listing orders. */
export interface OrderFilter {
  channel?: string;
  status?: OrderStatus;
  kind?: OrderKind;
  /** ISO UTC, inclusive, on createdAt. */
  since?: string;
  /** ISO UTC, exclusive, on createdAt. */
  until?: string;
  limit?: number;
  offset?: number;
}

/** A verified callback, recorded once per dedup key. */
export interface CallbackRecord {
  channel: string;
  dedupKey: string;
  eventType: string;
  orderNo?: string;
  refundNo?: string;
  /** sha256 hex of the raw body. */
  bodySha256: string;
  /** What applying it did (`paid`, `refunded`, `unchanged`, `rejected: ...`). */
  outcome: string;
  receivedAt?: string;
}

/** The store. */
export interface Store {
  /** Path, or URL with the password masked, of the database, for messages. */
  readonly location: string;

  /**
   * Inserts an order. When the order number exists, returns the existing order with
   * `created: false` and changes nothing (callers compare and decide).
   */
  createOrder(input: NewOrder, cause?: EventCause): Promise<{ order: Order; created: boolean }>;
  getOrder(orderNo: string): Promise<Order | undefined>;
  /** Finds an order by the channel's trade number. */
  findOrderByChannelTradeNo(channel: string, channelTradeNo: string): Promise<Order | undefined>;
  listOrders(filter?: OrderFilter): Promise<Order[]>;
  countOrders(filter?: OrderFilter): Promise<number>;
  /**
   * Moves an order nobody has answered for yet (status `created`) from channel `from` to `to`, for
   * routing's fallback after an attempt that certainly did nothing; writes `order.rerouted`.
   * Throws INVALID_REQUEST when the order is not `created` on `from` (another process took it).
   */
  rerouteOrder(orderNo: string, from: string, to: string, cause: EventCause): Promise<Order>;
  /** Applies a channel answer through the state machine; writes `order.status` when it moves. */
  updateOrder(orderNo: string, patch: OrderPatch, cause: EventCause): Promise<UpdateResult<Order>>;

  /**
   * Inserts a refund after checking, in the same transaction, that the order is paid and the
   * amount fits what is left (in-flight refunds count). Throws INVALID_REQUEST otherwise, writing
   * nothing. An existing refund number returns the existing refund with `created: false`.
   */
  createRefund(input: NewRefund, cause?: EventCause): Promise<{ refund: Refund; created: boolean }>;
  getRefund(refundNo: string): Promise<Refund | undefined>;
  listRefunds(orderNo: string): Promise<Refund[]>;
  /** Applies a refund answer; keeps the order's refunded total and status in step. */
  updateRefund(refundNo: string, patch: RefundPatch, cause: EventCause): Promise<UpdateResult<Refund>>;

  /** Appends to the event log. */
  appendEvent(event: NewEvent): Promise<void>;
  /** Events, oldest first. */
  listEvents(filter?: { orderNo?: string; type?: string; limit?: number }): Promise<StoredEvent[]>;

  /**
   * Records a callback once. Returns false (and writes nothing) when its dedup key was seen
   * before, so a replayed callback changes nothing.
   */
  recordCallback(record: CallbackRecord): Promise<{ recorded: boolean; previous?: CallbackRecord }>;
  /** The callback recorded under a dedup key, if any (`pay verify --apply` reports replays). */
  getCallback(channel: string, dedupKey: string): Promise<CallbackRecord | undefined>;

  /**
   * Reconciliation storage on this database (its module loads on first use). Close it when done;
   * on a server database it holds a connection of its own.
   */
  reconciliation(): Promise<ReconcileStore>;
  /** A bulk import of one order export into this database (its module loads on first use). */
  orderImport(): Promise<OrderImport>;
  /** Channel statistics over this database: `pay stats`, routing's health check (its module loads on first use). */
  stats(): Promise<StatsStore>;
  /** Administration (schema version, row counts, copying a book); close it when done. */
  admin(): Promise<StoreAdmin>;

  close(): Promise<void>;
}

/**
 * Channel health figures from the order book and the event log: what `pay stats` reports and what
 * routing's health check reads. A contract beside `Store`: `sqlite-stats-store.ts` and
 * `pg-stats-store.ts`, over the shared queries of `sql-stats-store.ts`; `Store.stats()` gives the
 * one of its database. Commands get one from the context (`ctx.stats()`) and never write SQL.
 *
 * A channel call is a `channel.call` event (one per contract call, recorded by the channel with
 * `operation`, `durationMs` and, when it failed, `error.code`); both stores keep those fields
 * in a table of their own, filled by a trigger (migration 4). A call *fails* when the channel
 * could not give an answer ({@link FAILURE_CODES}); a business refusal (INVALID_REQUEST,
 * ORDER_NOT_FOUND, INSUFFICIENT_BALANCE...) is an answer, so it counts as a success, though its
 * code is listed among the errors.
 */

/** Error codes that mean the channel could not answer: they count against its success rate. */
export const FAILURE_CODES: readonly string[] = ['TIMEOUT', 'CHANNEL_ERROR', 'SYSTEM_ERROR', 'RATE_LIMITED', 'AUTHENTICATION_FAILED', 'SIGNATURE_INVALID', 'CONFIG_ERROR'];

/** Time bucket of a series. */
export type StatsBucket = 'hour' | 'day';

/** Which events and orders to count. */
export interface StatsRange {
  /** ISO UTC, inclusive. */
  since?: string;
  /** ISO UTC, exclusive. */
  until?: string;
  /** Only this channel. */
  channel?: string;
  /** Group by hour or day (UTC) as well. */
  by?: StatsBucket;
}

/** Calls of one channel and operation (and bucket, with `by`). */
export interface CallGroup {
  channel: string;
  operation: string;
  /** `2026-12-04T14` (hour) or `2026-12-04` (day), UTC; absent without `by`. */
  bucket?: string;
  calls: number;
  /** Calls that raised any error. */
  errors: number;
  /** Calls that failed to get an answer (error code in {@link FAILURE_CODES}). */
  failures: number;
}

/** How often an error code came back from one channel and operation. */
export interface ErrorCount {
  channel: string;
  operation: string;
  code: string;
  count: number;
}

/** How many calls of a channel and operation took `ms` (rounded to 0.1 ms). */
export interface LatencyCount {
  channel: string;
  operation: string;
  bucket?: string;
  ms: number;
  count: number;
}

/** Orders (or refunds) of one channel and currency. */
export interface AmountGroup {
  channel: string;
  currency: string;
  kind: 'collect' | 'payout' | 'refund';
  bucket?: string;
  /** Orders (refunds) created. */
  count: number;
  /** Of those, paid (succeeded or refunded orders; succeeded refunds). */
  paidCount: number;
  /** Amount of the paid ones, minor units. */
  paidMinor: number;
  /** Orders by status. */
  byStatus: Record<string, number>;
}

/** Recent calls of a channel, for routing's health check. */
export interface ChannelHealth {
  calls: number;
  failures: number;
}

/** The statistics store. */
export interface StatsStore {
  /** Calls and failures per channel in [since, until) (channels without calls are absent). */
  channelHealth(channels: readonly string[], since: string, until?: string): Promise<Map<string, ChannelHealth>>;
  /** Calls per channel and operation (and bucket). */
  callGroups(range: StatsRange): Promise<CallGroup[]>;
  /** Error codes per channel and operation, most frequent first, at most `limit` per pair. */
  errorCodes(range: StatsRange, limit: number): Promise<ErrorCount[]>;
  /**
   * Call durations in range as a histogram: how many calls of each channel, operation (and
   * bucket) took each duration, durations rounded to 0.1 ms. Percentiles are read from it.
   */
  callLatencies(range: StatsRange): Promise<LatencyCount[]>;
  /** Orders and refunds per channel and currency (and bucket), by creation time. */
  amounts(range: StatsRange): Promise<AmountGroup[]>;
}

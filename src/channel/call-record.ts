/**
 * The event-log record of one channel call. Its own module so the channel contract and the HTTP
 * client (which records every call) both import it without importing each other.
 */

/** A record of one channel call for the event log. The recorder redacts it again. */
export interface ChannelCallRecord {
  /** Contract operation (`collect`, `refund`...) or wire method (`alipay.trade.query`). */
  operation: string;
  orderNo?: string;
  refundNo?: string;
  /** Request summary (wire method, URL path, selected fields); never keys. */
  request?: unknown;
  /** Response summary. */
  response?: unknown;
  /** Set when the call failed. */
  error?: { code: string; message: string; providerCode?: string };
  httpStatus?: number;
  requestId?: string;
  durationMs: number;
  /** Number of attempts (retries included). */
  attempts?: number;
}

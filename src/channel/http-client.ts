/**
 * The shared HTTP client contract. One implementation over undici (`undici-http-client.ts`) serves
 * every real channel: keep-alive pools per origin, timeouts, retries on a named set, network
 * failures classified into standard codes, every call recorded with secrets redacted.
 */

import { isPayError } from '../core/errors.js';
import type { ChannelCallRecord } from './call-record.js';

/** One HTTP request from a channel. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute URL. */
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /**
   * True when repeating the request cannot do harm (queries, or creates carrying the same
   * merchant order number / idempotency key). Only idempotent requests are retried.
   */
  idempotent: boolean;
  /** Contract operation or wire method, for the event log and messages. */
  operation: string;
  /** Order number the call concerns, for the event log. */
  orderNo?: string;
  refundNo?: string;
  /** Overrides the client's default timeouts for this call, ms. */
  timeoutMs?: number;
  /** Maximum attempts for this call (default from the client; 1 disables retries). */
  maxAttempts?: number;
  /**
   * Budget for the whole call, retries and waits included, ms (default from the client). No
   * attempt or backoff starts once it has passed.
   */
  deadlineMs?: number;
  /** Aborts the call (a load test stopping, a user pressing Ctrl-C). */
  signal?: AbortSignal;
  /**
   * Streams a 2xx body to this file instead of memory (bill downloads); the response's `body` is
   * then empty. Other statuses are buffered as usual so the channel can read the error.
   */
  saveTo?: string;
}

/** A response, body unparsed. */
export interface HttpResponse {
  status: number;
  /** Header names lowercased. */
  headers: Record<string, string>;
  body: Buffer;
  /** Wall time of the whole call, retries included, ms. */
  durationMs: number;
  /** How many attempts were made. */
  attempts: number;
}

/** The client every channel uses. */
export interface HttpClient {
  /**
   * Sends a request. Resolves with any HTTP status the retry policy did not retry (the channel
   * maps 4xx/5xx bodies to its own errors). Rejects with a PayError: TIMEOUT, CHANNEL_ERROR
   * (dns, refused, reset), or RATE_LIMITED/SYSTEM_ERROR when retries on 429/5xx ran out.
   */
  request(req: HttpRequest): Promise<HttpResponse>;
  /** Closes pooled connections. */
  close(): Promise<void>;
}

/** Options for creating the client. */
export interface HttpClientOptions {
  /** TCP connect timeout, ms (default 5,000). */
  connectTimeoutMs?: number;
  /** Time to response headers, ms (default 15,000). */
  headersTimeoutMs?: number;
  /** Time between body chunks, ms (default 30,000). */
  bodyTimeoutMs?: number;
  /** Attempts for idempotent requests (default 3). */
  maxAttempts?: number;
  /** Base backoff, ms (default 200; exponential with full jitter). */
  backoffMs?: number;
  /** Keep-alive connections per origin (default 64). */
  connections?: number;
  /** Budget for a whole call, retries included, ms (default 60,000). */
  deadlineMs?: number;
  /** Longest `Retry-After` the client waits for, ms (default 30,000); a longer one ends the retries. */
  maxRetryAfterMs?: number;
  /** Environment for HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
  env?: Record<string, string | undefined>;
  /** Receives a record of every call (the registry wires it to the event log). */
  onCall?: (record: ChannelCallRecord) => void;
}

/** Network failure classes (undici-http-client) in which no request reached the channel. */
const NOT_SENT_CLASSES = new Set(['refused', 'dns', 'unreachable', 'tls']);

/**
 * True only when a failed attempt certainly did nothing at the channel, so another channel may
 * be tried without risk of a second charge: a config error (raised before any call), a refused
 * connection, a name that does not resolve, an unreachable host, a connect timeout, a TLS
 * failure before the request, HTTP 429 (rate limited: refused unprocessed) and 503 (unavailable:
 * not processed). A timeout after sending, a reset connection, other 5xx and every channel answer
 * leave the outcome unknown: the order stays with that channel for `pay query`.
 */
export function certainlyNotSent(err: unknown): boolean {
  if (!isPayError(err)) return false;
  if (err.code === 'CONFIG_ERROR') return true;
  const details = (err.details ?? {}) as { class?: string; phase?: string };
  if (details.class && NOT_SENT_CLASSES.has(details.class)) return true;
  if (details.class === 'timeout' && details.phase === 'connect') return true;
  if (err.httpStatus === 429 && err.code === 'RATE_LIMITED') return true;
  if (err.httpStatus === 503 && (err.code === 'SYSTEM_ERROR' || err.code === 'RATE_LIMITED')) return true;
  return false;
}

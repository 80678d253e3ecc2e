/**
 * The timestamped HMAC scheme Stripe uses and the mock channel mirrors: HMAC-SHA256 over
 * `timestamp + "." + rawBody`, sent as `t=<unix>,v1=<hex>[,v1=<hex>...]`. Each channel keeps its
 * own header name, tolerance rule and messages; the digest and the header grammar live here once.
 */
import { createHmac } from 'node:crypto';

/** The hex HMAC-SHA256 of `timestamp.body` under `secret` (UTF-8). */
export function timestampedHmac(secret: string, timestampSec: number, body: Buffer | string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${timestampSec}.`, 'utf8')
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest('hex');
}

/** A parsed `t=...,v1=...` header. */
export interface TimestampedHeader {
  timestamp: number;
  /** Every `v1` value, lowercase hex. */
  v1: string[];
}

/**
 * Parses `t=<unix>,v1=<64 hex>[,v1=...]`; other keys (`v0`) and malformed parts are ignored.
 * Undefined when there is no usable `t` or no `v1`.
 */
export function parseTimestampedHeader(header: string): TimestampedHeader | undefined {
  let timestamp: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && /^\d{1,12}$/.test(v)) timestamp = Number(v);
    else if (k === 'v1' && /^[0-9a-fA-F]{64}$/.test(v)) v1.push(v.toLowerCase());
  }
  if (timestamp === undefined || v1.length === 0) return undefined;
  return { timestamp, v1 };
}

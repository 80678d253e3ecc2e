/**
 * Stripe webhook signatures (verification.md, "Stripe"): HMAC-SHA256 over `t + "." + rawBody`,
 * keyed with the whole `whsec_...` string as UTF-8, sent as
 * `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...][,v0=<hex>]`. Only `v1` counts and any
 * matching `v1` passes (secret rotation sends several). A timestamp older than the tolerance
 * (300 s by default) is refused; like Stripe's own libraries, a future timestamp is not.
 * Pure: secret and moment are passed in.
 */
import { timingSafeEqual } from 'node:crypto';
import { parseTimestampedHeader, timestampedHmac, type TimestampedHeader } from '../../src/channel/timestamped-hmac.js';

/** The header carrying the signature (lowercase, as RawRequest holds headers). */
export const SIGNATURE_HEADER = 'stripe-signature';
/** Stripe's default tolerance, seconds. */
export const DEFAULT_TOLERANCE_SEC = 300;

/** The hex HMAC of `timestamp.body` under `secret`. */
export function computeSignature(secret: string, timestampSec: number, body: Buffer | string): string {
  return timestampedHmac(secret, timestampSec, body);
}

/**
 * Builds a `Stripe-Signature` header value: one `v1` per secret (the first is the current one,
 * as Stripe signs with every active secret during a rotation).
 */
export function signHeader(secrets: string | string[], body: Buffer | string, timestampSec: number): string {
  const list = Array.isArray(secrets) ? secrets : [secrets];
  return [`t=${timestampSec}`, ...list.map((s) => `v1=${computeSignature(s, timestampSec, body)}`)].join(',');
}

/** A parsed `Stripe-Signature` header. */
export type ParsedHeader = TimestampedHeader;

/** Parses the header; undefined when it has no usable `t` or no `v1`. */
export function parseHeader(header: string): ParsedHeader | undefined {
  return parseTimestampedHeader(header);
}

/** Outcome of {@link verifyHeader}. */
export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'MALFORMED' | 'BAD_SIGNATURE' | 'EXPIRED'; message: string; timestamp?: number };

/** Verifies a `Stripe-Signature` header against the raw body at moment `nowMs`, in constant time. */
export function verifyHeader(header: string | undefined, body: Buffer, secret: string, nowMs: number, toleranceSec = DEFAULT_TOLERANCE_SEC): SignatureCheck {
  if (!header) return { ok: false, reason: 'MALFORMED', message: 'no Stripe-Signature header' };
  const parsed = parseHeader(header);
  if (!parsed) return { ok: false, reason: 'MALFORMED', message: 'Stripe-Signature needs t=<unix seconds> and at least one v1=<64 hex digits>' };
  const expected = Buffer.from(computeSignature(secret, parsed.timestamp, body), 'hex');
  let match = false;
  // Compare every candidate (no early exit) so timing reveals nothing about which one matched.
  for (const candidate of parsed.v1) match = timingSafeEqual(Buffer.from(candidate, 'hex'), expected) || match;
  if (!match) {
    return {
      ok: false,
      reason: 'BAD_SIGNATURE',
      timestamp: parsed.timestamp,
      message: `no v1 signature (of ${parsed.v1.length}) matches the body under the configured webhook secret`,
    };
  }
  const age = Math.floor(nowMs / 1000) - parsed.timestamp;
  if (toleranceSec > 0 && age > toleranceSec) {
    return {
      ok: false,
      reason: 'EXPIRED',
      timestamp: parsed.timestamp,
      message: `signed ${age} s before the verification time (tolerance ${toleranceSec} s); verify an old file with --at`,
    };
  }
  return { ok: true, timestamp: parsed.timestamp };
}

/**
 * The mock channel's callback signature: HMAC-SHA256 over `timestamp + "." + rawBody` with a
 * shared secret, sent as `Pay-Mock-Signature: t=<unix>,v1=<hex>[,v1=<hex>]`. It mirrors Stripe's
 * scheme on purpose, so the mock exercises the same code paths as a real time-bound scheme.
 * Pure: clock and secret are passed in.
 */
import { timingSafeEqual } from 'node:crypto';
import { parseTimestampedHeader, timestampedHmac } from '../../src/channel/timestamped-hmac.js';

/** The header carrying the signature. */
export const SIGNATURE_HEADER = 'pay-mock-signature';
/** Default freshness window, seconds. */
export const DEFAULT_TOLERANCE_SEC = 300;

/** Computes the hex HMAC for a timestamp and raw body. */
export function computeSignature(secret: string, timestamp: number, body: Buffer | string): string {
  return timestampedHmac(secret, timestamp, body);
}

/** Builds the signature header for a body (the signer the tests and the mock use). */
export function signHeader(secret: string, body: Buffer | string, timestampSec: number): string {
  return `t=${timestampSec},v1=${computeSignature(secret, timestampSec, body)}`;
}

/** Outcome of {@link verifySignature}. */
export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'MALFORMED' | 'BAD_SIGNATURE' | 'EXPIRED'; message: string };

/** Verifies a header against the raw body at moment `nowMs`, in constant time. */
export function verifySignature(
  header: string | undefined,
  body: Buffer,
  secret: string,
  nowMs: number,
  toleranceSec = DEFAULT_TOLERANCE_SEC,
): SignatureCheck {
  if (!header) return { ok: false, reason: 'MALFORMED', message: `no ${SIGNATURE_HEADER} header` };
  const parsed = parseTimestampedHeader(header);
  if (!parsed) return { ok: false, reason: 'MALFORMED', message: `${SIGNATURE_HEADER} needs t=<unix> and v1=<hex>` };
  const { timestamp, v1: candidates } = parsed;
  const expected = Buffer.from(computeSignature(secret, timestamp, body), 'hex');
  const match = candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
  if (!match) return { ok: false, reason: 'BAD_SIGNATURE', message: 'signature does not match the body' };
  const age = Math.floor(nowMs / 1000) - timestamp;
  if (Math.abs(age) > toleranceSec) {
    return {
      ok: false,
      reason: 'EXPIRED',
      message: `timestamp is ${Math.abs(age)} s ${age >= 0 ? 'old' : 'in the future'} (tolerance ${toleranceSec} s); verify an old file with --at`,
    };
  }
  return { ok: true, timestamp };
}

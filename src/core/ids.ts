/**
 * Merchant order numbers: at most 32 characters of [A-Za-z0-9] (fits Alipay's out_trade_no,
 * WeChat Pay's out_trade_no and UnionPay's orderId), sortable by creation time, and safe to
 * generate on several machines at once.
 *
 * Shape: a one-letter kind prefix, the UTC time to the millisecond as 17 digits, then 12
 * characters of Crockford base32 (60 random bits). Two machines colliding needs the same
 * millisecond and the same 60 random bits. Within one process the random part is incremented
 * when the clock has not moved, so numbers from one process are strictly increasing (as ULID).
 */
import { randomBytes } from 'node:crypto';
import { invalid } from './errors.js';

/** What a number identifies; its prefix letter. */
export type IdKind = 'payment' | 'refund' | 'payout';

const PREFIX: Record<IdKind, string> = { payment: 'P', refund: 'R', payout: 'T' };
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32: no I, L, O, U
const RANDOM_CHARS = 12;

let lastMs = -1;
let lastRandom: number[] = [];

function freshRandom(): number[] {
  const bytes = randomBytes(RANDOM_CHARS);
  return Array.from(bytes, (b) => b & 31);
}

/** Increments a base32 digit array; returns false when it wraps (astronomically unlikely). */
function increment(digits: number[]): boolean {
  for (let i = digits.length - 1; i >= 0; i--) {
    if (digits[i] < 31) {
      digits[i]++;
      return true;
    }
    digits[i] = 0;
  }
  return false;
}

function stamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${p(d.getUTCMilliseconds(), 3)}`;
}

/** Generates a new order, refund or payout number (30 characters). */
export function generateId(kind: IdKind, now: number = Date.now()): string {
  let ms = Math.max(now, lastMs);
  if (ms === lastMs) {
    if (!increment(lastRandom)) {
      ms = lastMs + 1;
      lastRandom = freshRandom();
    }
  } else {
    lastRandom = freshRandom();
  }
  lastMs = ms;
  return PREFIX[kind] + stamp(ms) + lastRandom.map((n) => ALPHABET[n]).join('');
}

const ORDER_NO = /^[A-Za-z0-9]{6,32}$/;

/**
 * Validates a user-supplied order, refund or payout number against the common channel limits:
 * 6 to 32 characters of [A-Za-z0-9].
 */
export function validateOrderNo(input: string, label = 'order number'): string {
  const value = String(input ?? '').trim();
  if (!ORDER_NO.test(value)) {
    throw invalid(`${label} "${value.length > 40 ? `${value.slice(0, 40)}…` : value}" is not valid`, {
      hint: `Use 6 to 32 letters and digits (the limit every channel accepts), or leave it out and pay generates one.`,
    });
  }
  return value;
}

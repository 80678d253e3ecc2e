/**
 * Money is integer minor units plus an ISO 4217 currency, everywhere inside `pay`. Decimal
 * strings exist only at the edges (CLI input, wire formats, bills) and are converted here, with
 * string arithmetic only: no float ever holds an amount.
 *
 * Currency exponents come from the runtime's ICU data (`Intl`), which is maintained with CLDR,
 * rather than from a hand-typed table. A channel whose API disagrees with ICU for a currency
 * (Stripe sends HUF in "cents", PayPal sends TWD without decimals) passes its own override at its
 * edge; see {@link ExponentOverrides} and {@link convertMinor}.
 */
import { PayError, invalid } from './errors.js';

/** An amount: integer minor units of `currency`. */
export interface Money {
  /** Integer count of the currency's minor unit (fen, cents, yen, fils). */
  amountMinor: number;
  /** ISO 4217 alphabetic code, uppercase. */
  currency: string;
}

/** Per-currency exponent overrides, e.g. `{ HUF: 2 }` for a channel that sends HUF in cents. */
export type ExponentOverrides = Readonly<Record<string, number>>;

let known: Set<string> | undefined;
const exponentCache = new Map<string, number>();

/** True when the runtime knows `code` as an ISO 4217 currency. */
export function isKnownCurrency(code: string): boolean {
  known ??= new Set(Intl.supportedValuesOf('currency'));
  return known.has(code);
}

/**
 * Normalises and validates a currency code: trims, uppercases, and rejects anything the runtime's
 * ISO 4217 list does not know (`JPX`, `RMB`, `usd1`).
 */
export function normalizeCurrency(input: string): string {
  const code = String(input ?? '').trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(code)) {
    throw invalid(`"${truncate(input)}" is not a currency code`, {
      hint: 'Use a three-letter ISO 4217 code such as CNY, USD, JPY or KWD.',
    });
  }
  if (!isKnownCurrency(code)) {
    throw invalid(`unknown currency ${code}`, {
      hint: 'Use an ISO 4217 code such as CNY, USD, EUR, JPY or KWD (RMB is CNY).',
    });
  }
  return code;
}

/**
 * Number of decimal places of the currency's minor unit (JPY 0, CNY 2, KWD 3), from ICU, unless
 * `overrides` names the currency.
 */
export function currencyExponent(currency: string, overrides?: ExponentOverrides): number {
  const override = overrides?.[currency];
  if (override !== undefined) return override;
  let exp = exponentCache.get(currency);
  if (exp === undefined) {
    if (!isKnownCurrency(currency)) throw invalid(`unknown currency ${truncate(currency)}`);
    exp = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits as number;
    exponentCache.set(currency, exp);
  }
  return exp;
}

/**
 * An amount of the usual shape in a bill (`12.34`, `-0.66`, `1500` when `exp` is 0): an optional
 * minus, digits, and exactly `exp` decimals after a point, 15 digits at most, as an integer of
 * 10^-exp in one pass over the characters (no regex, no float). NaN for anything else, which the
 * caller gives to {@link parseAmount}. `-0.00` is -0, as parseAmount makes it.
 */
export function plainMinor(text: string, exp: number): number {
  const n = text.length;
  const neg = text.charCodeAt(0) === 45; // -
  const from = neg ? 1 : 0;
  const point = exp === 0 ? n : n - exp - 1;
  if (point <= from || n - from - (exp === 0 ? 0 : 1) > 15 || (exp !== 0 && text.charCodeAt(point) !== 46)) return Number.NaN;
  let v = 0;
  for (let i = from; i < n; i++) {
    if (i === point) continue;
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

/** Options for {@link parseAmount}. */
export interface ParseAmountOptions {
  /** Accept `0` (default false: a payment of nothing is a mistake). */
  allowZero?: boolean;
  /** Accept a leading `-` (bills have negative refund rows; CLI input never does). */
  allowNegative?: boolean;
  /** Accept surplus decimals when they are all zeros (`100.00` JPY in some bills). */
  allowTrailingZeros?: boolean;
  /** Exponent overrides for a channel's edge. */
  overrides?: ExponentOverrides;
  /** What the amount is, for messages ("refund amount"). Default "amount". */
  label?: string;
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal string into integer minor units of `currency`, exactly.
 *
 * Rejects: non-numbers, exponents (`1e3`), thousands separators (`1,000.00`), more decimals than
 * the currency has (`1.234` CNY), negatives and zero unless allowed, and anything whose minor
 * units would pass `Number.MAX_SAFE_INTEGER`.
 */
export function parseAmount(input: string, currency: string, options: ParseAmountOptions = {}): number {
  const label = options.label ?? 'amount';
  const text = String(input ?? '').trim();
  if (text === '') throw invalid(`${label} is empty`, { hint: 'Give a decimal such as 12.34.' });
  if (text.length > 40) throw invalid(`${label} "${truncate(text)}" is too long to be an amount`);
  const m = DECIMAL.exec(text);
  if (!m) {
    let hint = 'Write a plain decimal such as 12.34 (no exponent, sign, spaces or separators).';
    if (/^[+-]?\d*\.?\d+e[+-]?\d+$/i.test(text)) hint = 'Exponent notation is not accepted: write the amount out in full.';
    else if (/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(text)) hint = 'Thousands separators are not accepted: write 1000.00, not 1,000.00.';
    else if (/^\.\d+$/.test(text)) hint = `Write a leading zero: 0${text}.`;
    throw invalid(`${label} "${truncate(text)}" is not a decimal number`, { hint });
  }
  const [, sign, whole, frac = ''] = m;
  if (sign && !options.allowNegative) {
    throw invalid(`${label} ${text} is negative`, { hint: 'Amounts are positive; to give money back use `pay refund`.' });
  }
  const exp = currencyExponent(currency, options.overrides);
  let digits = frac;
  if (digits.length > exp) {
    const surplus = digits.slice(exp);
    if (!(options.allowTrailingZeros && /^0+$/.test(surplus))) {
      throw invalid(
        `${label} ${text} has ${digits.length} decimal place${digits.length === 1 ? '' : 's'}, but ${currency} has ${exp}`,
        { hint: exp === 0 ? `${currency} has no minor unit: give a whole number.` : `Round to ${exp} decimal place${exp === 1 ? '' : 's'}.` },
      );
    }
    digits = digits.slice(0, exp);
  }
  const minor = BigInt(whole + digits.padEnd(exp, '0'));
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalid(`${label} ${truncate(text)} ${currency} is too large`, {
      hint: `The largest amount pay can hold is ${formatAmount(Number.MAX_SAFE_INTEGER, currency, options.overrides)} ${currency}.`,
    });
  }
  const value = Number(minor);
  if (value === 0 && !options.allowZero) throw invalid(`${label} must be greater than zero`);
  return sign ? -value : value;
}

/** Formats integer minor units as a plain decimal string (`1234`, CNY -> `12.34`). */
export function formatAmount(amountMinor: number, currency: string, overrides?: ExponentOverrides): string {
  assertMinor(amountMinor);
  const exp = currencyExponent(currency, overrides);
  const negative = amountMinor < 0;
  const digits = String(Math.abs(amountMinor));
  if (exp === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(exp + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -exp)}.${padded.slice(-exp)}`;
}

/**
 * Converts minor units between two exponents exactly (e.g. pay's HUF at 0 decimals to Stripe's
 * HUF at 2). Throws when the amount cannot be represented at the target exponent.
 */
export function convertMinor(amountMinor: number, fromExponent: number, toExponent: number): number {
  assertMinor(amountMinor);
  if (fromExponent === toExponent) return amountMinor;
  if (toExponent > fromExponent) {
    const out = BigInt(amountMinor) * 10n ** BigInt(toExponent - fromExponent);
    if (out > BigInt(Number.MAX_SAFE_INTEGER) || out < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw invalid('amount is too large for the channel');
    }
    return Number(out);
  }
  const factor = 10 ** (fromExponent - toExponent);
  if (amountMinor % factor !== 0) {
    throw invalid(`amount cannot be expressed with ${toExponent} decimal place${toExponent === 1 ? '' : 's'} at this channel`);
  }
  return amountMinor / factor;
}

/** Throws unless `n` is a safe integer (the only shape money may take inside pay). */
export function assertMinor(n: number): void {
  if (!Number.isSafeInteger(n)) {
    throw new PayError('INVALID_REQUEST', `internal: amount ${String(n)} is not an integer count of minor units`);
  }
}

/** Adds minor amounts of the same currency, refusing to leave the safe-integer range. */
export function addMinor(a: number, b: number): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw invalid('sum of amounts is too large');
  return sum;
}

/** A money value as it appears in `--json` output: decimal string and minor units. */
export function moneyJson(amountMinor: number, currency: string): { amount: string; amountMinor: number; currency: string } {
  return { amount: formatAmount(amountMinor, currency), amountMinor, currency };
}

function truncate(s: unknown): string {
  const text = String(s);
  return text.length > 24 ? `${text.slice(0, 24)}…` : text;
}

/**
 * Stripe's own currency rules, applied at its edge. Stripe takes amounts as integers in "the
 * smallest currency unit" by its own table, which is not ISO's/ICU's:
 * - zero-decimal currencies (JPY, KRW, VND, ...) are whole units;
 * - three-decimal currencies (BHD, JOD, KWD, OMR, TND) take three decimals, but the last digit
 *   must be 0 (amounts in multiples of 10);
 * - every other currency is two-decimal, even where ISO says zero (ISK, HUF, IDR, COP... are
 *   sent "in cents" for backwards compatibility);
 * - payouts in HUF, ISK and TWD must be whole units (divisible by 100 in Stripe's units).
 * Source: docs.stripe.com/currencies ("Zero-decimal", "Three-decimal", "Special cases").
 */
import { invalid } from '../../src/core/errors.js';
import { convertMinor, currencyExponent, formatAmount, type ExponentOverrides } from '../../src/core/money.js';

/** Currencies Stripe treats as having no minor unit. */
export const STRIPE_ZERO_DECIMAL: readonly string[] = ['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF'];
/** Currencies Stripe takes with three decimals (last digit 0). */
export const STRIPE_THREE_DECIMAL: readonly string[] = ['BHD', 'JOD', 'KWD', 'OMR', 'TND'];
/** Currencies whose payouts must be whole units. */
export const STRIPE_WHOLE_UNIT_PAYOUTS: readonly string[] = ['HUF', 'ISK', 'TWD'];

/**
 * Currencies Stripe supports (presentment), checked against when computing the overrides list;
 * an unlisted currency still gets Stripe's rule, Stripe itself refuses what it does not support.
 */
const STRIPE_CURRENCIES =
  'USD AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CVE CZK DJF DKK DOP DZD EGP ETB EUR FJD FKP GBP GEL GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR ISK JMD JOD JPY KES KGS KHR KMF KRW KWD KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SEK SGD SHP SLE SOS SRD SZL THB TJS TND TOP TRY TTD TWD TZS UAH UGX UYU UZS VND VUV WST XAF XCD XOF XPF YER ZAR ZMW'.split(' ');

/** Stripe's exponent for `currency` (uppercase ISO code). */
export function stripeExponent(currency: string): number {
  if (STRIPE_ZERO_DECIMAL.includes(currency)) return 0;
  if (STRIPE_THREE_DECIMAL.includes(currency)) return 3;
  return 2;
}

let overrides: ExponentOverrides | undefined;

/**
 * Where Stripe's exponent differs from the runtime's ICU data, for the channel description.
 * Computed on first use (it asks ICU about every supported currency, which `pay channels list`
 * should not pay for unless it prints them).
 */
export function stripeExponentOverrides(): ExponentOverrides {
  if (!overrides) {
    const out: Record<string, number> = {};
    const known = new Set(Intl.supportedValuesOf('currency'));
    for (const c of STRIPE_CURRENCIES) {
      if (!known.has(c)) continue;
      const s = stripeExponent(c);
      if (currencyExponent(c) !== s) out[c] = s;
    }
    overrides = Object.freeze(out);
  }
  return overrides;
}

/**
 * Converts pay's minor units to Stripe's integer amount, refusing (INVALID_REQUEST, before any
 * call) what Stripe cannot take: a three-decimal amount not in multiples of 10, a fractional
 * payout in HUF/ISK/TWD, or a pay amount that has no exact Stripe form.
 */
export function toStripeAmount(amountMinor: number, currency: string, options: { payout?: boolean } = {}): number {
  const payExp = currencyExponent(currency);
  const exp = stripeExponent(currency);
  let amount: number;
  try {
    amount = convertMinor(amountMinor, payExp, exp);
  } catch {
    throw invalid(`${formatAmount(amountMinor, currency)} ${currency} cannot be sent to Stripe, which takes ${currency} with ${exp} decimal place${exp === 1 ? '' : 's'}`);
  }
  if (exp === 3 && amount % 10 !== 0) {
    throw invalid(`Stripe takes ${currency} amounts in multiples of 0.010; ${formatAmount(amountMinor, currency)} ${currency} is not one`, {
      hint: `Round the last decimal to 0, e.g. ${formatAmount(Math.round(amountMinor / 10) * 10, currency)}.`,
    });
  }
  if (options.payout && STRIPE_WHOLE_UNIT_PAYOUTS.includes(currency) && amount % 100 !== 0) {
    throw invalid(`Stripe pays out ${currency} in whole units only; ${formatAmount(amountMinor, currency)} ${currency} has a fraction`);
  }
  return amount;
}

/**
 * Converts a Stripe integer amount to pay's minor units. An amount with a fraction pay's
 * exponent cannot hold (HUF "cents" that are not whole forints) is refused rather than rounded.
 */
export function fromStripeAmount(amount: number, currency: string): number {
  if (!Number.isSafeInteger(amount)) throw invalid(`Stripe amount ${String(amount)} ${currency} is not an integer`);
  try {
    return convertMinor(amount, stripeExponent(currency), currencyExponent(currency));
  } catch {
    throw invalid(`Stripe amount ${amount} (${currency}, in Stripe's units) has a fraction pay cannot represent for ${currency}`);
  }
}

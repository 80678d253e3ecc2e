/**
 * PayPal's currency rules at its edge: amounts travel as decimal strings (`"12.34"`), with no
 * decimals at all for HUF, JPY and TWD ("this currency does not support decimals; a decimal
 * amount is an error"), two for every other supported currency. PayPal does not take three-decimal
 * currencies (KWD, BHD...). Source: developer.paypal.com/api/rest/reference/currency-codes.
 */
import { invalid } from '../../src/core/errors.js';
import { convertMinor, currencyExponent, formatAmount, parseAmount, type ExponentOverrides } from '../../src/core/money.js';

/** Currencies PayPal's REST APIs accept. */
export const PAYPAL_CURRENCIES: readonly string[] = ['AUD', 'BRL', 'CAD', 'CNY', 'CZK', 'DKK', 'EUR', 'HKD', 'HUF', 'ILS', 'JPY', 'MYR', 'MXN', 'TWD', 'NZD', 'NOK', 'PHP', 'PLN', 'GBP', 'RUB', 'SGD', 'SEK', 'CHF', 'THB', 'USD'];
/** Currencies PayPal takes without decimals. */
export const PAYPAL_NO_DECIMALS: readonly string[] = ['HUF', 'JPY', 'TWD'];

/** PayPal's exponent for a currency. */
export function paypalExponent(currency: string): number {
  return PAYPAL_NO_DECIMALS.includes(currency) ? 0 : 2;
}

let overrides: ExponentOverrides | undefined;

/** Where PayPal's exponent differs from ICU's (TWD), for the channel description. */
export function paypalExponentOverrides(): ExponentOverrides {
  if (!overrides) {
    const out: Record<string, number> = {};
    for (const c of PAYPAL_CURRENCIES) if (currencyExponent(c) !== paypalExponent(c)) out[c] = paypalExponent(c);
    overrides = Object.freeze(out);
  }
  return overrides;
}

/**
 * pay's minor units as PayPal's decimal string. Refuses (INVALID_REQUEST, before any call) a
 * currency PayPal does not take and an amount with a fraction PayPal cannot express (TWD 100.50).
 */
export function toPaypalValue(amountMinor: number, currency: string): string {
  if (!PAYPAL_CURRENCIES.includes(currency)) {
    throw invalid(`PayPal does not support ${currency}`, { hint: `PayPal currencies: ${PAYPAL_CURRENCIES.join(', ')}.` });
  }
  const exp = paypalExponent(currency);
  let units: number;
  try {
    units = convertMinor(amountMinor, currencyExponent(currency), exp);
  } catch {
    throw invalid(`PayPal takes ${currency} without decimals; ${formatAmount(amountMinor, currency)} ${currency} has a fraction`, { hint: 'Give a whole amount.' });
  }
  return formatAmount(units, currency, { [currency]: exp });
}

/** PayPal's decimal string (with PayPal's exponent) as pay's minor units. */
export function fromPaypalValue(value: string, currency: string, options: { allowNegative?: boolean; label?: string } = {}): number {
  const exp = paypalExponent(currency);
  const units = parseAmount(value, currency, { overrides: { [currency]: exp }, allowZero: true, allowNegative: options.allowNegative, allowTrailingZeros: true, label: options.label });
  try {
    return convertMinor(units, exp, currencyExponent(currency));
  } catch {
    throw invalid(`PayPal amount ${value} ${currency} cannot be represented in pay's units for ${currency}`);
  }
}

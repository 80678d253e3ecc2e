/**
 * What every part of the PayPal simulator shares: errors in PayPal's shape (name, message,
 * details[] with issue/field/location, links), ids, amount strings in PayPal's exponent, the
 * simulated fee, and the handler signature of the route table.
 */
import type { SimulatorRequest } from '../../../src/sandbox/contract.js';
import { ProviderError } from '../../../src/sandbox/errors.js';
import { randomChars } from '../../../src/sandbox/helpers.js';
import type { RouteParams } from '../../../src/sandbox/router.js';
import { paypalExponent, PAYPAL_CURRENCIES } from '../currency.js';
import type { PaypalSimulator } from './index.js';

export type Obj = Record<string, unknown>;

/** One API call as a route handler sees it: the JSON body (`b`: {} unless an object), path segments, the request. */
export interface Call {
  b: Obj;
  body: unknown;
  params: RouteParams;
  req: SimulatorRequest;
}

/** What a handler answers: status and body; `minimal` answers POSTs with id, status and links unless `Prefer: return=representation`. */
export interface Answer {
  status: number;
  body?: unknown;
  minimal?: boolean;
}

export type PaypalHandler = (sim: PaypalSimulator, call: Call) => Answer;

export const INFO_LINK = (anchor: string) => [{ href: `https://developer.paypal.com/docs/api/orders/v2/#error-${anchor}`, rel: 'information_link', method: 'GET' }];

/** Where a detail points: a JSON pointer into the body (or a query/path parameter) and the value found there. */
export interface At {
  field?: string;
  value?: string;
  location?: 'body' | 'query' | 'path';
}

/** One entry of `details[]`, in PayPal's key order. */
export function detail(issue: string, description: string, at: At = {}): Obj {
  return { ...(at.field ? { field: at.field } : {}), ...(at.value !== undefined ? { value: at.value } : {}), ...(at.field ? { location: at.location ?? 'body' } : {}), issue, description };
}

export function unprocessable(issue: string, description: string, at: At = {}): ProviderError {
  return new ProviderError(422, {
    name: 'UNPROCESSABLE_ENTITY',
    details: [detail(issue, description, at)],
    message: 'The requested action could not be performed, semantically incorrect, or failed business validation.',
    links: INFO_LINK(issue),
  });
}

export function invalidRequest(issue: string, description: string, field?: string, at: Omit<At, 'field'> = {}): ProviderError {
  return new ProviderError(400, {
    name: 'INVALID_REQUEST',
    message: 'Request is not well-formed, syntactically incorrect, or violates schema.',
    details: [detail(issue, description, { ...at, field })],
    links: INFO_LINK(issue),
  });
}

export function notFound(): ProviderError {
  return new ProviderError(404, {
    name: 'RESOURCE_NOT_FOUND',
    message: 'The specified resource does not exist.',
    details: [detail('INVALID_RESOURCE_ID', 'Specified resource ID does not exist. Please check the resource ID and try again.')],
    links: INFO_LINK('INVALID_RESOURCE_ID'),
  });
}

export function throwNotFound(): never {
  throw notFound();
}

/** The JSON pointer of the (only) purchase unit, as PayPal names it in `details[].field`. */
export const PU = (ref: string) => `/purchase_units/@reference_id=='${ref}'`;

const ID_CHARS = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';

/** A PayPal-style id: upper-case letters and digits. */
export function pid(n = 17): string {
  return randomChars(ID_CHARS, n);
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
export const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

/** A PayPal decimal string -> integer units of PayPal's exponent, or undefined if malformed. */
export function units(value: unknown, currency: string): number | undefined {
  if (typeof value !== 'string') return undefined;
  const exp = paypalExponent(currency);
  const m = /^(\d{1,10})(?:\.(\d+))?$/.exec(value);
  if (!m) return undefined;
  const frac = m[2] ?? '';
  if (frac.length > exp) return undefined;
  return Number(m[1] + frac.padEnd(exp, '0'));
}

export function fmt(u: number, currency: string): string {
  const exp = paypalExponent(currency);
  const neg = u < 0;
  const digits = String(Math.abs(u)).padStart(exp + 1, '0');
  return (neg ? '-' : '') + (exp === 0 ? digits : `${digits.slice(0, -exp)}.${digits.slice(-exp)}`);
}

export function checkAmount(amount: unknown, field: string, currencyKey: 'currency_code' | 'currency', allowZero = false): { currency: string; units: number } {
  const a = obj(amount);
  if (!a) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'A required field / parameter is missing.', field);
  const currency = str(a[currencyKey]);
  if (!currency) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'A required field / parameter is missing.', `${field}/${currencyKey}`);
  if (!PAYPAL_CURRENCIES.includes(currency)) throw unprocessable('CURRENCY_NOT_SUPPORTED', 'Currency code is not currently supported.');
  const u = units(a.value, currency);
  const at: At = { field: `${field}/value`, value: typeof a.value === 'string' ? a.value : JSON.stringify(a.value ?? null) };
  if (u === undefined) {
    if (typeof a.value === 'string' && /^\d+\.\d+$/.test(a.value)) {
      // Too many decimals for the currency: two at most, none for JPY, HUF and TWD.
      if (paypalExponent(currency) === 0) throw unprocessable('DECIMALS_NOT_SUPPORTED', 'Currency code does not support decimals.', at);
      // Orders v2 and Payments v2 word it differently.
      const description = field.startsWith('/purchase_units') ? 'If the currency supports decimals, only two decimal place precision is supported.' : 'The value of the field should not be more than two decimal places.';
      throw unprocessable('DECIMAL_PRECISION', description, at);
    }
    if (a.value === undefined) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'A required field / parameter is missing.', `${field}/value`);
    throw invalidRequest('INVALID_PARAMETER_SYNTAX', 'The value of a field does not conform to the expected format.', `${field}/value`, { value: at.value });
  }
  if (u < 0 || (u === 0 && !allowZero)) throw unprocessable('AMOUNT_MUST_BE_POSITIVE', 'The amount must be greater than zero.', at);
  return { currency, units: u };
}

/** PayPal's simulated fee in PayPal units: 3.49% plus a fixed 0.49 (40 whole units where there are no decimals). */
export function simulatedFee(u: number, currency: string): number {
  return Math.round((u * 349) / 10000) + (paypalExponent(currency) === 0 ? 40 : 49);
}

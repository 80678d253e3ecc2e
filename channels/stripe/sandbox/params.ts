/**
 * What every part of the Stripe simulator shares: the error answers in Stripe's shape, ids,
 * parameter readers (integers, metadata, currency, expand), the handler signature of the route
 * table, and the canonical form of parameters that idempotency fingerprints use.
 */
import type { RouteParams } from '../../../src/sandbox/router.js';
import { ProviderError } from '../../../src/sandbox/errors.js';
import { randomChars } from '../../../src/sandbox/helpers.js';
import type { FormNode, FormObject } from '../form.js';
import type { StripeSimulator } from './index.js';

export type Obj = Record<string, unknown>;

/** Who asked (for events' `request`): the request id, the Idempotency-Key, the API version. */
export interface Ctx {
  requestId?: string;
  idempotencyKey?: string;
  apiVersion?: string;
}

/** One API call as a route handler sees it: decoded parameters, path segments, expand paths. */
export interface Call {
  p: FormObject;
  params: RouteParams;
  ctx: Ctx;
  expand: string[];
}

/** A route handler: answers the value to serialise, or throws a {@link ProviderError}. */
export type StripeHandler = (sim: StripeSimulator, call: Call) => unknown;

export const SUPPORTED = new Set(
  'usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw'.split(
    ' ',
  ),
);


const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A Stripe-style id: `pi_` and 24 base62 characters. */
export function rid(prefix: string, n = 24): string {
  return `${prefix}_${randomChars(BASE62, n)}`;
}

/** Stripe's `invalid_request_error` (status 400 unless given). */
export const invalidRequest = (message: string, extra: Obj = {}, status = 400) => new ProviderError(status, { type: 'invalid_request_error', message, ...extra });
/** Stripe's 404 for an id it does not know. */
export const missing = (kind: string, id: string, param: string) =>
  invalidRequest(`No such ${kind}: '${id}'`, { code: 'resource_missing', doc_url: 'https://stripe.com/docs/error-codes/resource-missing', param }, 404);

export function str(v: FormNode | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function integer(params: FormObject, name: string, required: boolean): number | undefined {
  const v = params[name];
  if (v === undefined || v === '') {
    if (required) throw invalidRequest(`Missing required param: ${name}.`, { code: 'parameter_missing', param: name });
    return undefined;
  }
  if (typeof v !== 'string' || !/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw invalidRequest(`Invalid integer: ${typeof v === 'string' ? v : '[object]'}`, { code: 'parameter_invalid_integer', param: name });
  }
  return Number(v);
}

export function metadataOf(params: FormObject): Record<string, string> {
  const m = params.metadata;
  if (m === undefined || m === '') return {};
  if (typeof m !== 'object' || Array.isArray(m)) throw invalidRequest('Invalid object', { param: 'metadata' });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string') throw invalidRequest(`Invalid value for metadata[${k}]`, { param: `metadata[${k}]` });
    if (k.length > 40) throw invalidRequest('Metadata keys can be up to 40 characters long.', { param: `metadata[${k}]` });
    if (v.length > 500) throw invalidRequest('Metadata values can be up to 500 characters long.', { param: `metadata[${k}]` });
    out[k] = v;
  }
  return out;
}

export function currencyOf(params: FormObject): string {
  const c = str(params.currency);
  if (!c) throw invalidRequest('Missing required param: currency.', { code: 'parameter_missing', param: 'currency' });
  const lc = c.toLowerCase();
  if (!SUPPORTED.has(lc)) throw invalidRequest(`Invalid currency: ${lc}. Stripe currently supports these currencies: ${[...SUPPORTED].slice(0, 12).join(', ')}, ...`, { param: 'currency' });
  return lc;
}

/** Throws {@link missing} (for `map.get(id) ?? throwMissing(...)`). */
export function throwMissing(kind: string, id: string, param = 'id'): never {
  throw missing(kind, id, param);
}

/** A canonical serialisation of decoded parameters (for idempotency fingerprints). */
export function canonical(node: FormNode | FormObject): string {
  if (typeof node === 'string') return JSON.stringify(node);
  if (Array.isArray(node)) return `[${node.map(canonical).join(',')}]`;
  return `{${Object.keys(node)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(node[k])}`)
    .join(',')}}`;
}

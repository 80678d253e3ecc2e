/**
 * A local simulator of Stripe's API (v1), served by the sandbox framework on its own port so the
 * official `stripe` package works against it with only host/port/protocol changed.
 *
 * What it does as Stripe does: Bearer (or Basic) secret-key auth with Stripe's 401 shape;
 * form-encoded bodies with nested keys; Idempotency-Key on POST (same key and parameters: the
 * same answer, replayed; same key, other parameters: idempotency_error); PaymentIntents (create,
 * confirm with test payment methods such as pm_card_visa or pm_card_chargeDeclined, cancel,
 * retrieve, list, search by metadata; `capture_method=manual` authorizes on confirm and
 * `POST .../capture` with `amount_to_capture` captures, releasing the rest); every endpoint's
 * parameters checked as Stripe checks them (params.ts: parameter_unknown, invalid enum values,
 * parameter_invalid_integer, parameter_invalid_empty, each with `param`); charges with metadata copied from the intent; refunds
 * (partial, bounded by what is left); payouts that progress pending -> in_transit -> paid (or
 * failed) over time and draw on the balance; the balance; balance transactions with fees and
 * `expand[]=data.source`; webhook endpoints; events signed with `Stripe-Signature` (whsec_) sent
 * to the sandbox webhook URL and to registered endpoints, retried on a compressed schedule.
 *
 * Stripe's API answers are not signed (TLS is the integrity check), so `tamper` has nothing to
 * spoil and returns the answer unchanged; webhook signatures are tested through `pay verify`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ChannelSimulator, Notification, SimulatorDeps, SimulatorModule, SimulatorRequest, SimulatorResponse, TamperKind } from '../../src/channel/sandbox.js';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { balanceTransactionRow, writeItemized } from './bill.js';
import { buildEvent } from './callback.js';
import { STRIPE_API_VERSION, usesAllowedTypes } from './config.js';
import { currencyExponent } from '../../src/core/money.js';
import { stripeExponent, STRIPE_WHOLE_UNIT_PAYOUTS } from './currency.js';
import { decodeForm, decodeQuery, type FormNode, type FormObject } from './form.js';
import { checkParams, endpointSchema } from './params.js';

type Obj = Record<string, unknown>;

/** Simulator knobs (tests may pass their own through {@link createStripeSimulator}). */
export interface StripeSimulatorOptions {
  /** Time from payout creation to `paid` (or `failed`), ms. Default 1,500. */
  payoutSettleMs?: number;
  /** Delays between webhook delivery attempts, ms (Stripe retries for 3 days; compressed). */
  retryDelaysMs?: number[];
  /** Opening available balance per currency, in Stripe's units, for currencies not yet touched. */
  openingBalance?: (currency: string) => number;
  /** How often the simulator moves payouts along on its own, ms (0 disables). Default 200. */
  tickMs?: number;
}

/**
 * Events sent to the sandbox webhook URL: those that settle an order, refund or payout (an
 * endpoint registered through the API chooses its own with `enabled_events`, `*` for all).
 */
export const SANDBOX_WEBHOOK_EVENTS: readonly string[] = [
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  'charge.refunded',
  'refund.created',
  'refund.updated',
  'refund.failed',
  'payout.paid',
  'payout.failed',
  'payout.canceled',
];

/** Webhook retry schedule: Stripe backs off exponentially over 3 days; here over seconds. */
export const STRIPE_RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000, 8_000];

const SUPPORTED = new Set(
  'usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw'.split(
    ' ',
  ),
);

/** Minimum charge amounts Stripe enforces, in Stripe's units (a few common currencies). */
const MINIMUM: Record<string, number> = { usd: 50, eur: 50, gbp: 30, jpy: 50, cad: 50, aud: 50, cny: 400, hkd: 400, sgd: 50, chf: 50 };

/** Test payment methods that decline, with the error Stripe gives. */
const DECLINING: Record<string, { code: string; decline_code?: string; message: string }> = {
  pm_card_chargeDeclined: { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
  pm_card_visa_chargeDeclined: { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
  pm_card_chargeDeclinedInsufficientFunds: { code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
  pm_card_chargeDeclinedFraudulent: { code: 'card_declined', decline_code: 'fraudulent', message: 'Your card was declined.' },
  pm_card_chargeDeclinedLostCard: { code: 'card_declined', decline_code: 'lost_card', message: 'Your card was declined.' },
  pm_card_chargeDeclinedStolenCard: { code: 'card_declined', decline_code: 'stolen_card', message: 'Your card was declined.' },
  pm_card_chargeDeclinedExpiredCard: { code: 'expired_card', message: 'Your card has expired.' },
  pm_card_chargeDeclinedIncorrectCvc: { code: 'incorrect_cvc', message: "Your card's security code is incorrect." },
  pm_card_chargeDeclinedProcessingError: { code: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.' },
};

/** Fields holding a reference to another object, which `expand` may replace by the object. */
const EXPANDABLE = new Set(['latest_charge', 'payment_intent', 'charge', 'balance_transaction', 'source', 'customer', 'payment_method', 'destination', 'failure_balance_transaction', 'refunds', 'on_behalf_of', 'application', 'transfer', 'review', 'invoice']);

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function rid(prefix: string, n = 24): string {
  const bytes = randomBytes(n);
  let s = '';
  for (const b of bytes) s += BASE62[b % 62];
  return `${prefix}_${s}`;
}

/** A Stripe API error answer. */
class StripeError extends Error {
  constructor(
    readonly status: number,
    readonly body: Obj,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message ?? 'error'));
  }
}

const invalidRequest = (message: string, extra: Obj = {}, status = 400) => new StripeError(status, { type: 'invalid_request_error', message, ...extra });
const missing = (kind: string, id: string, param: string) =>
  invalidRequest(`No such ${kind}: '${id}'`, { code: 'resource_missing', doc_url: 'https://stripe.com/docs/error-codes/resource-missing', param }, 404);

function str(v: FormNode | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function integer(params: FormObject, name: string, required: boolean): number | undefined {
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

function metadataOf(params: FormObject): Record<string, string> {
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

function currencyOf(params: FormObject): string {
  const c = str(params.currency);
  if (!c) throw invalidRequest('Missing required param: currency.', { code: 'parameter_missing', param: 'currency' });
  const lc = c.toLowerCase();
  if (!SUPPORTED.has(lc)) throw invalidRequest(`Invalid currency: ${lc}. Stripe currently supports these currencies: ${[...SUPPORTED].slice(0, 12).join(', ')}, ...`, { param: 'currency' });
  return lc;
}

function expandList(params: FormObject): string[] {
  const e = params.expand;
  if (e === undefined) return [];
  if (typeof e === 'string') return [e];
  if (Array.isArray(e)) return e.filter((x): x is string => typeof x === 'string');
  return [];
}

/** Stripe's simulated processing fee: 2.9% + 30 (two-decimal), 3.6% (zero-decimal), rounded. */
export function simulatedFee(amount: number, currency: string): number {
  const code = currency.toUpperCase();
  const exp = stripeExponent(code);
  if (exp === 0) return Math.round((amount * 36) / 1000);
  if (exp === 3) return Math.round(((amount * 29) / 1000 + 300) / 10) * 10;
  // Where Stripe sends "cents" of a currency that has none (HUF, ISK...), fees are whole units.
  const step = 10 ** Math.max(0, exp - currencyExponent(code));
  return Math.round(((amount * 29) / 1000 + 30) / step) * step;
}

/** The Stripe simulator. */
export class StripeSimulator implements ChannelSimulator {
  readonly id = 'stripe';
  readonly secretKey = `sk_test_${randomBytes(18).toString('hex')}`;
  readonly webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`;
  readonly accountId = rid('acct', 16);

  readonly paymentIntents = new Map<string, Obj>();
  readonly charges = new Map<string, Obj>();
  readonly refunds = new Map<string, Obj>();
  readonly payouts = new Map<string, Obj>();
  /** Balance transactions in creation order (the bill). */
  readonly balanceTransactions = new Map<string, Obj>();
  readonly events = new Map<string, Obj>();
  readonly webhookEndpoints = new Map<string, Obj & { secret: string }>();
  /** Reporting runs and the files they produced (itemized reports written by the channel's bill writer). */
  readonly reportRuns = new Map<string, Obj>();
  private readonly files = new Map<string, { path: string; object: Obj }>();
  /** Idempotency records: key -> what was asked and answered. */
  private readonly idempotency = new Map<string, { fingerprint: string; method: string; path: string; response: SimulatorResponse }>();
  /** Charges created in this simulator (declined attempts included): tests assert on it. */
  chargeCount = 0;
  private readonly payoutSettleMs: number;
  private readonly retryDelaysMs: number[];
  private readonly opening: (currency: string) => number;
  private readonly tick?: NodeJS.Timeout;

  constructor(
    private readonly deps: SimulatorDeps,
    options: StripeSimulatorOptions = {},
  ) {
    this.payoutSettleMs = options.payoutSettleMs ?? 1_500;
    this.retryDelaysMs = options.retryDelaysMs ?? STRIPE_RETRY_DELAYS_MS;
    this.opening = options.openingBalance ?? ((c) => 1_000_000 * 10 ** stripeExponent(c.toUpperCase()));
    const tickMs = options.tickMs ?? 200;
    if (tickMs > 0) {
      this.tick = setInterval(() => this.advance(), tickMs);
      this.tick.unref();
    }
  }

  private now(): number {
    return this.deps.clock();
  }

  private nowSec(): number {
    return Math.floor(this.now() / 1000);
  }

  profile(baseUrl: string): Record<string, unknown> {
    return { baseUrl, secretKey: this.secretKey, webhookSecret: this.webhookSecret, apiVersion: STRIPE_API_VERSION };
  }

  async close(): Promise<void> {
    if (this.tick) clearInterval(this.tick);
  }

  tamper(res: SimulatorResponse, _kind: TamperKind): SimulatorResponse {
    // Stripe API answers carry no signature to spoil (see the module comment).
    return res;
  }

  // ---------------------------------------------------------------- HTTP

  async handle(req: SimulatorRequest): Promise<SimulatorResponse | undefined> {
    const requestId = rid('req', 14);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'request-id': requestId,
      'stripe-version': req.headers['stripe-version'] ?? STRIPE_API_VERSION,
    };
    try {
      this.authenticate(req);
      this.advance();
      const file = /^\/v1\/files\/(file_[A-Za-z0-9]+)\/contents$/.exec(req.path);
      if (req.method === 'GET' && file) {
        const f = this.files.get(file[1]);
        if (!f) throw missing('file', file[1], 'file');
        return { status: 200, headers: { 'content-type': 'text/csv', 'request-id': requestId }, body: await readFile(f.path) };
      }
      let params: FormObject;
      try {
        params = req.method === 'GET' || req.method === 'DELETE' ? decodeQuery(req.query) : decodeForm(req.body.toString('utf8'));
      } catch (err) {
        throw invalidRequest((err as Error).message);
      }
      const key = req.headers['idempotency-key'];
      if (req.method === 'POST' && key) {
        headers['idempotency-key'] = key;
        const fingerprint = createHash('sha256').update(`${req.method} ${req.path}\n`).update(canonical(params)).digest('hex');
        const seen = this.idempotency.get(key);
        if (seen) {
          if (seen.fingerprint !== fingerprint) {
            throw new StripeError(400, {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            });
          }
          return { ...seen.response, headers: { ...(seen.response.headers ?? {}), 'idempotent-replayed': 'true', 'request-id': requestId } };
        }
        const response = this.respond(req, params, headers, requestId, key);
        // Like Stripe, answers are saved once the endpoint ran (validation errors included),
        // but not server errors, so a retry after a 5xx runs again.
        if (response.status < 500) this.idempotency.set(key, { fingerprint, method: req.method, path: req.path, response });
        return response;
      }
      return this.respond(req, params, headers, requestId, undefined);
    } catch (err) {
      return this.errorResponse(err, headers);
    }
  }

  private errorResponse(err: unknown, headers: Record<string, string>): SimulatorResponse {
    if (err instanceof StripeError) {
      return { status: err.status, headers: { ...headers, ...err.headers }, body: JSON.stringify({ error: { ...err.body, request_log_url: `https://dashboard.stripe.com/test/logs/${headers['request-id']}` } }, null, 2) };
    }
    return {
      status: 500,
      headers,
      body: JSON.stringify({ error: { type: 'api_error', message: `An unknown error occurred (${(err as Error).message})` } }, null, 2),
    };
  }

  private respond(req: SimulatorRequest, params: FormObject, headers: Record<string, string>, requestId: string, idempotencyKey: string | undefined): SimulatorResponse {
    try {
      const value = this.route(req, params, { requestId, idempotencyKey, apiVersion: req.headers['stripe-version'] });
      if (value === undefined) {
        throw invalidRequest(`Unrecognized request URL (${req.method}: ${req.path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`, {}, 404);
      }
      return { status: 200, headers, body: JSON.stringify(value, null, 2) };
    } catch (err) {
      return this.errorResponse(err, headers);
    }
  }

  private authenticate(req: SimulatorRequest): void {
    const auth = req.headers.authorization ?? '';
    let key: string | undefined;
    const bearer = /^Bearer\s+(.+)$/i.exec(auth);
    const basic = /^Basic\s+(.+)$/i.exec(auth);
    if (bearer) key = bearer[1].trim();
    else if (basic) key = Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0];
    const wwwAuth = { 'www-authenticate': 'Bearer realm="Stripe"' };
    if (!key) {
      throw new StripeError(
        401,
        {
          type: 'invalid_request_error',
          message:
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
        },
        wwwAuth,
      );
    }
    if (key !== this.secretKey) {
      const masked = key.length > 12 ? `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}` : '***';
      throw new StripeError(401, { type: 'invalid_request_error', message: `Invalid API Key provided: ${masked}` }, wwwAuth);
    }
  }

  private route(req: SimulatorRequest, p: FormObject, ctx: { requestId: string; idempotencyKey?: string; apiVersion?: string }): unknown {
    const m = req.method;
    const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'v1') return undefined;
    const [, resource, id, action] = parts;
    // Stripe checks every parameter against the endpoint before doing anything.
    const endpoint = resource === 'reporting' ? endpointSchema(m, 'reporting/report_runs', action, parts[4], true) : endpointSchema(m, resource, id, action, usesAllowedTypes(ctx.apiVersion ?? STRIPE_API_VERSION));
    if (endpoint) {
      const problem = checkParams(endpoint.schema, p, endpoint.unsettable);
      if (problem) {
        const code = problem.code ? { code: problem.code, doc_url: `https://stripe.com/docs/error-codes/${problem.code.replace(/_/g, '-')}` } : {};
        throw invalidRequest(problem.message, { ...code, param: problem.param });
      }
    }
    const expand = expandList(p);
    // Like Stripe, a path through a field that is no reference is refused before anything runs
    // (a list's paths start with `data.`).
    const listing = m === 'GET' && (!id || id === 'search');
    for (const path of expand) {
      const segments = path.split('.');
      if (listing && segments[0] === 'data') segments.shift();
      if ((listing && !path.startsWith('data.')) || segments.some((seg) => !EXPANDABLE.has(seg))) throw invalidRequest(`This property cannot be expanded (${path}).`, { param: 'expand' });
    }
    switch (resource) {
      case 'payment_intents':
        if (m === 'POST' && !id) return this.expand(this.createPaymentIntent(p, ctx), expand);
        if (m === 'GET' && id === 'search') return this.searchPaymentIntents(p, expand);
        if (m === 'GET' && !id) return this.list([...this.paymentIntents.values()], p, '/v1/payment_intents', expand);
        if (m === 'GET' && id && !action) return this.expand(this.pi(id), expand);
        if (m === 'POST' && id && action === 'confirm') {
          const pi = this.pi(id);
          if (p.capture_method !== undefined && pi.status !== 'succeeded' && pi.status !== 'canceled' && pi.status !== 'requires_capture') pi.capture_method = str(p.capture_method);
          return this.expand(this.confirm(pi, str(p.payment_method), ctx), expand);
        }
        if (m === 'POST' && id && action === 'capture') return this.expand(this.capture(this.pi(id), p, ctx), expand);
        if (m === 'POST' && id && action === 'cancel') return this.expand(this.cancel(this.pi(id), str(p.cancellation_reason), ctx), expand);
        if (m === 'POST' && id && !action) return this.expand(this.updateMetadata(this.pi(id), p), expand);
        return undefined;
      case 'charges':
        if (m === 'GET' && id) {
          const c = this.charges.get(id);
          if (!c) throw missing('charge', id, 'id');
          return this.expand(c, expand);
        }
        if (m === 'GET' && !id) return this.list([...this.charges.values()].filter((c) => !str(p.payment_intent) || c.payment_intent === p.payment_intent), p, '/v1/charges', expand);
        return undefined;
      case 'refunds':
        if (m === 'POST' && !id) return this.expand(this.createRefund(p, ctx), expand);
        if (m === 'GET' && id) {
          const r = this.refunds.get(id);
          if (!r) throw missing('refund', id, 'refund');
          return this.expand(r, expand);
        }
        if (m === 'GET' && !id) {
          const pi = str(p.payment_intent);
          const charge = str(p.charge);
          return this.list([...this.refunds.values()].filter((r) => (!pi || r.payment_intent === pi) && (!charge || r.charge === charge)), p, '/v1/refunds', expand);
        }
        return undefined;
      case 'payouts':
        if (m === 'POST' && !id) return this.expand(this.createPayout(p, ctx), expand);
        if (m === 'GET' && id && !action) {
          const po = this.payouts.get(id);
          if (!po) throw missing('payout', id, 'payout');
          return this.expand(po, expand);
        }
        if (m === 'GET' && !id) return this.list([...this.payouts.values()].filter((po) => this.createdMatches(po, p.created)), p, '/v1/payouts', expand);
        return undefined;
      case 'balance':
        if (m === 'GET' && !id) return this.balance();
        return undefined;
      case 'balance_transactions':
        if (m === 'GET' && id) {
          const t = this.balanceTransactions.get(id);
          if (!t) throw missing('balance transaction', id, 'id');
          return this.expand(this.withTxnStatus(t), expand);
        }
        if (m === 'GET' && !id) {
          const type = str(p.type);
          const rows = [...this.balanceTransactions.values()].filter((t) => this.createdMatches(t, p.created) && (!type || t.type === type)).map((t) => this.withTxnStatus(t));
          return this.list(rows, p, '/v1/balance_transactions', expand);
        }
        return undefined;
      case 'webhook_endpoints':
        if (m === 'POST' && !id) return this.createWebhookEndpoint(p);
        if (m === 'GET' && !id) return this.list([...this.webhookEndpoints.values()].map(hideSecret), p, '/v1/webhook_endpoints', []);
        if (m === 'GET' && id) {
          const w = this.webhookEndpoints.get(id);
          if (!w) throw missing('webhook endpoint', id, 'webhook_endpoint');
          return hideSecret(w);
        }
        if (m === 'DELETE' && id) {
          if (!this.webhookEndpoints.delete(id)) throw missing('webhook endpoint', id, 'webhook_endpoint');
          return { id, object: 'webhook_endpoint', deleted: true };
        }
        return undefined;
      case 'events':
        if (m === 'GET' && id) {
          const e = this.events.get(id);
          if (!e) throw missing('event', id, 'id');
          return e;
        }
        if (m === 'GET' && !id) return this.list([...this.events.values()].filter((e) => !str(p.type) || e.type === p.type), p, '/v1/events', []);
        return undefined;
      case 'reporting':
        if (id === 'report_runs' && m === 'POST' && !action) return this.createReportRun(p);
        if (id === 'report_runs' && m === 'GET' && action) return this.reportRuns.get(action) ?? this.throwMissing('reporting.report_run', action);
        return undefined;
      case 'files':
        if (m === 'GET' && id) return this.files.get(id)?.object ?? this.throwMissing('file', id);
        return undefined;
      case 'account':
        if (m === 'GET' && !id) return { id: this.accountId, object: 'account', charges_enabled: true, payouts_enabled: true, country: 'US', default_currency: 'usd', type: 'standard' };
        return undefined;
      default:
        return undefined;
    }
  }

  // ---------------------------------------------------------------- lists and expansion

  private createdMatches(o: Obj, filter: FormNode | undefined): boolean {
    if (filter === undefined) return true;
    const created = o.created as number;
    if (typeof filter === 'string') return created === Number(filter);
    if (Array.isArray(filter)) return true;
    const f = filter as FormObject;
    const n = (k: string) => (typeof f[k] === 'string' ? Number(f[k]) : undefined);
    const gte = n('gte');
    const gt = n('gt');
    const lte = n('lte');
    const lt = n('lt');
    return (gte === undefined || created >= gte) && (gt === undefined || created > gt) && (lte === undefined || created <= lte) && (lt === undefined || created < lt);
  }

  /** A Stripe list: newest first, `limit` (1-100), `starting_after` / `ending_before` cursors. */
  private list(items: Obj[], p: FormObject, url: string, expand: string[]): Obj {
    const limit = integer(p, 'limit', false) ?? 10;
    if (limit < 1 || limit > 100) throw invalidRequest('Invalid limit: must be between 1 and 100', { param: 'limit' });
    // Newest first; ties keep creation order reversed, so cursors are stable.
    const sorted = items.map((o, i) => ({ o, i })).sort((a, b) => (b.o.created as number) - (a.o.created as number) || b.i - a.i).map((x) => x.o);
    let start = 0;
    const after = str(p.starting_after);
    const before = str(p.ending_before);
    if (after) {
      const i = sorted.findIndex((o) => o.id === after);
      if (i < 0) throw invalidRequest(`No such object: '${after}'`, { param: 'starting_after', code: 'resource_missing' }, 400);
      start = i + 1;
    }
    let page = sorted.slice(start, start + limit);
    if (before) {
      const i = sorted.findIndex((o) => o.id === before);
      if (i < 0) throw invalidRequest(`No such object: '${before}'`, { param: 'ending_before', code: 'resource_missing' }, 400);
      page = sorted.slice(Math.max(0, i - limit), i);
    }
    const itemExpand = expand.filter((e) => e.startsWith('data.')).map((e) => e.slice(5));
    return {
      object: 'list',
      data: page.map((o) => this.expand(o, itemExpand)),
      has_more: before ? sorted.indexOf(page[0]) > 0 : start + limit < sorted.length,
      url,
    };
  }

  /**
   * Replaces id fields named by `expand` paths (`latest_charge`, `source`, `data.source`) with
   * objects (route() has refused paths through fields that are not references, before anything ran).
   */
  private expand(obj: Obj, paths: string[]): Obj {
    if (paths.length === 0) return obj;
    const out: Obj = { ...obj };
    for (const path of paths) {
      const [head, ...rest] = path.split('.');
      const v = out[head];
      if (typeof v === 'string') {
        const found = this.lookup(v);
        if (found) out[head] = rest.length ? this.expand(found, [rest.join('.')]) : found;
      } else if (v && typeof v === 'object' && rest.length) out[head] = this.expand(v as Obj, [rest.join('.')]);
    }
    return out;
  }

  private lookup(id: string): Obj | undefined {
    const prefix = id.split('_')[0];
    switch (prefix) {
      case 'pi':
        return this.paymentIntents.get(id);
      case 'ch':
        return this.charges.get(id);
      case 're':
        return this.refunds.get(id);
      case 'po':
        return this.payouts.get(id);
      case 'txn':
        return this.balanceTransactions.get(id);
      default:
        return undefined;
    }
  }

  private searchPaymentIntents(p: FormObject, expand: string[]): Obj {
    const query = str(p.query);
    if (!query) throw invalidRequest('Missing required param: query.', { code: 'parameter_missing', param: 'query' });
    const clauses = query.split(/\s+AND\s+/i).map((c) => c.trim());
    const tests: ((pi: Obj) => boolean)[] = [];
    for (const c of clauses) {
      const meta = /^metadata\[\s*(['"])(.+?)\1\s*\]\s*:\s*(['"])((?:\\.|(?!\3).)*)\3$/.exec(c);
      const status = /^status\s*:\s*(['"])(\w+)\1$/.exec(c);
      if (meta) {
        const key = meta[2];
        const value = meta[4].replace(/\\(.)/g, '$1');
        tests.push((pi) => (pi.metadata as Obj)?.[key] === value);
      } else if (status) tests.push((pi) => pi.status === status[2]);
      else throw invalidRequest(`The search query is invalid or unsupported by the sandbox: ${c}`, { param: 'query' });
    }
    const found = [...this.paymentIntents.values()].filter((pi) => tests.every((t) => t(pi)));
    const listed = this.list(found, { limit: p.limit ?? '10' }, '/v1/payment_intents/search', expand);
    return { object: 'search_result', data: listed.data, has_more: listed.has_more, next_page: null, url: '/v1/payment_intents/search' };
  }

  // ---------------------------------------------------------------- payment intents

  private pi(id: string): Obj {
    const pi = this.paymentIntents.get(id);
    if (!pi) throw missing('payment_intent', id, 'intent');
    return pi;
  }

  private createPaymentIntent(p: FormObject, ctx: { requestId: string; idempotencyKey?: string; apiVersion?: string }): Obj {
    const amount = integer(p, 'amount', true)!;
    const currency = currencyOf(p);
    if (amount < 1) throw invalidRequest('This value must be greater than or equal to 1.', { param: 'amount', code: 'parameter_invalid_integer' });
    const exp = stripeExponent(currency.toUpperCase());
    if (exp === 3 && amount % 10 !== 0) {
      throw invalidRequest(`Amounts in ${currency.toUpperCase()} must be rounded to the nearest ten (the last digit must be 0).`, { param: 'amount', code: 'invalid_amount' });
    }
    const min = MINIMUM[currency];
    if (min !== undefined && amount < min) {
      throw invalidRequest(`Amount must be at least ${min} in ${currency} (Stripe's minimum charge).`, { param: 'amount', code: 'amount_too_small' });
    }
    if (amount > 99_999_999 * (exp === 3 ? 10 : 1)) throw invalidRequest('Amount must be no more than 999,999.99', { param: 'amount', code: 'amount_too_large' });
    const legacyTypes = p.payment_method_types;
    const allowedTypes = p.allowed_payment_method_types;
    if (legacyTypes !== undefined && usesAllowedTypes(ctx.apiVersion ?? STRIPE_API_VERSION)) {
      throw invalidRequest('Received unknown parameter: payment_method_types. Did you mean allowed_payment_method_types?', { code: 'parameter_unknown', param: 'payment_method_types' });
    }
    if (allowedTypes !== undefined && !usesAllowedTypes(ctx.apiVersion ?? STRIPE_API_VERSION)) {
      throw invalidRequest('Received unknown parameter: allowed_payment_method_types. Did you mean payment_method_types?', { code: 'parameter_unknown', param: 'allowed_payment_method_types' });
    }
    const typeList = (v: FormNode | undefined) => (Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : undefined);
    const types = typeList(allowedTypes) ?? typeList(legacyTypes);
    const email = str(p.receipt_email);
    if (email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw invalidRequest(`Invalid email address: ${email}`, { code: 'email_invalid', param: 'receipt_email' });
    const automatic = p.automatic_payment_methods;
    if (automatic && typeof automatic === 'object' && (automatic as FormObject).enabled === undefined) {
      throw invalidRequest('Missing required param: automatic_payment_methods[enabled].', { code: 'parameter_missing', param: 'automatic_payment_methods[enabled]' });
    }
    const id = rid('pi');
    const pi: Obj = {
      id,
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      automatic_payment_methods: automatic && typeof automatic === 'object' ? { enabled: (automatic as FormObject).enabled === 'true' } : null,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: str(p.capture_method) ?? 'automatic',
      client_secret: `${id}_secret_${randomBytes(12).toString('base64url')}`,
      created: this.nowSec(),
      currency,
      customer: str(p.customer) ?? null,
      description: str(p.description) ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: metadataOf(p),
      next_action: null,
      payment_method: null,
      allowed_payment_method_types: types ?? null,
      payment_method_types: types ?? ['card'],
      receipt_email: str(p.receipt_email) ?? null,
      setup_future_usage: str(p.setup_future_usage) ?? null,
      statement_descriptor: str(p.statement_descriptor) ?? null,
      statement_descriptor_suffix: str(p.statement_descriptor_suffix) ?? null,
      confirmation_method: str(p.confirmation_method) ?? 'automatic',
      status: 'requires_payment_method',
    };
    this.paymentIntents.set(id, pi);
    this.emit('payment_intent.created', pi, ctx);
    if (p.confirm === 'true') {
      const pm = str(p.payment_method);
      if (!pm) {
        throw invalidRequest('You cannot confirm this PaymentIntent because it\'s missing a payment method. To confirm the PaymentIntent with cus_..., specify a payment method attached to this customer along with the customer ID.', {
          code: 'payment_intent_unexpected_state',
          param: 'payment_method',
        });
      }
      return this.confirm(pi, pm, ctx);
    }
    if (str(p.payment_method)) {
      pi.payment_method = str(p.payment_method);
      pi.status = 'requires_confirmation';
    }
    return pi;
  }

  /** POST /v1/payment_intents/{id}: what the update endpoint takes is applied, not just accepted. */
  private updateMetadata(pi: Obj, p: FormObject): Obj {
    const open = ['requires_payment_method', 'requires_confirmation', 'requires_action'];
    for (const field of ['amount', 'currency', 'capture_method', 'payment_method']) {
      if (p[field] !== undefined && !open.includes(pi.status as string)) {
        throw invalidRequest(
          `This PaymentIntent's ${field} could not be updated because it has a status of ${String(pi.status)}. You may only update the ${field} of a PaymentIntent with one of the following statuses: ${open.join(', ')}.`,
          { code: 'payment_intent_unexpected_state', param: field },
        );
      }
    }
    if (p.amount !== undefined) pi.amount = integer(p, 'amount', true);
    if (p.currency !== undefined) pi.currency = currencyOf(p);
    if (p.metadata !== undefined) pi.metadata = p.metadata === '' ? {} : { ...(pi.metadata as Obj), ...metadataOf(p) };
    // An empty string unsets (the parameter checks allowed it only where Stripe does).
    for (const field of ['description', 'customer', 'receipt_email', 'statement_descriptor', 'statement_descriptor_suffix', 'setup_future_usage', 'capture_method', 'transfer_group']) {
      if (p[field] !== undefined) pi[field] = str(p[field]) || null;
    }
    if (str(p.payment_method)) {
      pi.payment_method = str(p.payment_method);
      if (pi.status === 'requires_payment_method') pi.status = 'requires_confirmation';
    }
    return pi;
  }

  /** Confirms with a test payment method: the charge succeeds or is declined. */
  private confirm(pi: Obj, paymentMethod: string | undefined, ctx: { requestId?: string; idempotencyKey?: string }): Obj {
    const pm = paymentMethod ?? (pi.payment_method as string | null) ?? undefined;
    if (pi.status === 'succeeded' || pi.status === 'canceled' || pi.status === 'requires_capture') {
      throw invalidRequest(`This PaymentIntent's status is ${String(pi.status)}, so it cannot be confirmed.`, { code: 'payment_intent_unexpected_state', payment_intent: pi });
    }
    if (!pm) throw invalidRequest('You cannot confirm this PaymentIntent because it\'s missing a payment method.', { code: 'payment_intent_unexpected_state', param: 'payment_method' });
    if (!/^pm_/.test(pm)) throw missing('PaymentMethod', pm, 'payment_method');
    pi.payment_method = pm;
    const decline = DECLINING[pm];
    // capture_method=manual: the card is authorized now and captured later (POST .../capture).
    const hold = !decline && pi.capture_method === 'manual';
    const chargeId = rid('ch');
    this.chargeCount++;
    const charge: Obj = {
      id: chargeId,
      object: 'charge',
      amount: pi.amount,
      amount_captured: decline || hold ? 0 : pi.amount,
      amount_refunded: 0,
      balance_transaction: null,
      captured: !decline && !hold,
      created: this.nowSec(),
      currency: pi.currency,
      customer: pi.customer,
      description: pi.description,
      failure_code: decline ? decline.code : null,
      failure_message: decline ? decline.message : null,
      livemode: false,
      // Stripe copies the intent's metadata onto the charge when the intent is confirmed.
      metadata: { ...(pi.metadata as Obj) },
      outcome: decline
        ? { network_status: 'declined_by_network', reason: decline.decline_code ?? decline.code, risk_level: 'normal', seller_message: 'The bank did not return any further details with this decline.', type: 'issuer_declined' }
        : { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
      paid: !decline,
      payment_intent: pi.id,
      payment_method: pm,
      refunded: false,
      status: decline ? 'failed' : 'succeeded',
    };
    this.charges.set(chargeId, charge);
    pi.latest_charge = chargeId;
    if (decline) {
      pi.status = 'requires_payment_method';
      pi.last_payment_error = { type: 'card_error', code: decline.code, ...(decline.decline_code ? { decline_code: decline.decline_code } : {}), message: decline.message, charge: chargeId, payment_method: { id: pm, object: 'payment_method', type: 'card' } };
      this.emit('charge.failed', charge, ctx);
      this.emit('payment_intent.payment_failed', pi, ctx);
      throw new StripeError(402, {
        type: 'card_error',
        code: decline.code,
        ...(decline.decline_code ? { decline_code: decline.decline_code } : {}),
        message: decline.message,
        charge: chargeId,
        doc_url: `https://stripe.com/docs/error-codes/${decline.code.replace(/_/g, '-')}`,
        payment_intent: pi,
      });
    }
    pi.last_payment_error = null;
    if (hold) {
      // Authorized, not captured: no money moves and no balance transaction until the capture.
      pi.status = 'requires_capture';
      pi.amount_capturable = pi.amount;
      this.emit('charge.succeeded', charge, ctx);
      this.emit('payment_intent.amount_capturable_updated', pi, ctx);
      return pi;
    }
    this.settleCharge(pi, charge, pi.amount as number);
    this.emit('charge.succeeded', charge, ctx);
    this.emit('payment_intent.succeeded', pi, ctx);
    return pi;
  }

  /** Books a captured charge: its balance transaction (with the fee) and the intent's amounts. */
  private settleCharge(pi: Obj, charge: Obj, amount: number): void {
    const fee = simulatedFee(amount, pi.currency as string);
    const txn = this.addTxn({ amount, fee, currency: pi.currency as string, type: 'charge', reporting_category: 'charge', source: charge.id as string, description: pi.description as string | null, availableAfterSec: 2 * 86400 });
    charge.balance_transaction = txn.id;
    pi.status = 'succeeded';
    pi.amount_received = amount;
    pi.amount_capturable = 0;
  }

  /**
   * POST /v1/payment_intents/{id}/capture: captures `amount_to_capture` (default: all) of an
   * authorized intent. A partial capture releases the rest, as Stripe does: the charge's
   * `amount_refunded` takes the uncaptured remainder, and nothing more can be captured.
   */
  private capture(pi: Obj, p: FormObject, ctx: { requestId?: string; idempotencyKey?: string }): Obj {
    if (pi.status !== 'requires_capture') {
      throw invalidRequest(
        `This PaymentIntent could not be captured because it has a status of ${String(pi.status)}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
        { code: 'payment_intent_unexpected_state', payment_intent: pi },
      );
    }
    const capturable = pi.amount_capturable as number;
    const amount = integer(p, 'amount_to_capture', false) ?? capturable;
    if (amount < 1) throw invalidRequest('This value must be greater than or equal to 1.', { param: 'amount_to_capture' });
    if (amount > capturable) {
      throw invalidRequest('The payment could not be captured because the requested capture amount is greater than the amount you can capture for this charge.', {
        code: 'amount_too_large',
        param: 'amount_to_capture',
      });
    }
    const charge = this.charges.get(pi.latest_charge as string)!;
    if (p.metadata !== undefined) pi.metadata = { ...(pi.metadata as Obj), ...metadataOf(p) };
    charge.captured = true;
    charge.amount_captured = amount;
    // The uncaptured remainder goes back to the card holder; it never reached the balance.
    charge.amount_refunded = (charge.amount as number) - amount;
    charge.metadata = { ...(pi.metadata as Obj) };
    this.settleCharge(pi, charge, amount);
    this.emit('charge.captured', charge, ctx);
    this.emit('payment_intent.succeeded', pi, ctx);
    return pi;
  }

  private cancel(pi: Obj, reason: string | undefined, ctx: { requestId: string; idempotencyKey?: string }): Obj {
    const cancelable = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'];
    if (!cancelable.includes(pi.status as string)) {
      throw invalidRequest(
        `You cannot cancel this PaymentIntent because it has a status of ${String(pi.status)}. Only a PaymentIntent with one of the following statuses may be canceled: ${cancelable.join(', ')}.`,
        { code: 'payment_intent_unexpected_state', payment_intent: pi },
      );
    }
    const reasons = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'];
    if (reason && !reasons.includes(reason)) throw invalidRequest(`Invalid cancellation_reason: must be one of ${reasons.join(', ')}`, { param: 'cancellation_reason' });
    if (pi.status === 'requires_capture') {
      // Canceling an authorization releases the whole hold.
      const charge = this.charges.get(pi.latest_charge as string);
      if (charge) {
        charge.amount_refunded = charge.amount;
        charge.refunded = true;
      }
      pi.amount_capturable = 0;
    }
    pi.status = 'canceled';
    pi.canceled_at = this.nowSec();
    pi.cancellation_reason = reason ?? null;
    this.emit('payment_intent.canceled', pi, ctx);
    return pi;
  }

  // ---------------------------------------------------------------- refunds

  private createRefund(p: FormObject, ctx: { requestId: string; idempotencyKey?: string }): Obj {
    const piId = str(p.payment_intent);
    const chargeParam = str(p.charge);
    if (!piId && !chargeParam) throw invalidRequest('One of the following params should be provided for this request: payment_intent or charge.', { code: 'parameter_missing' });
    let charge: Obj | undefined;
    let pi: Obj | undefined;
    if (piId) {
      pi = this.pi(piId);
      charge = pi.status === 'succeeded' ? this.charges.get(pi.latest_charge as string) : undefined;
      if (!charge) {
        throw invalidRequest(`This PaymentIntent (${piId}) does not have a successful charge to refund.`, { code: 'charge_not_refundable', param: 'payment_intent' });
      }
    } else {
      charge = this.charges.get(chargeParam!);
      if (!charge) throw missing('charge', chargeParam!, 'charge');
      if (charge.status !== 'succeeded') throw invalidRequest(`Charge ${chargeParam} has not succeeded and cannot be refunded.`, { code: 'charge_not_refundable', param: 'charge' });
    }
    const remaining = (charge.amount as number) - (charge.amount_refunded as number);
    if (remaining <= 0) throw invalidRequest(`Charge ${String(charge.id)} has already been refunded.`, { code: 'charge_already_refunded' });
    const amount = integer(p, 'amount', false) ?? remaining;
    if (amount < 1) throw invalidRequest('This value must be greater than or equal to 1.', { param: 'amount' });
    if (amount > remaining) {
      throw invalidRequest(`Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`, { param: 'amount', code: 'amount_too_large' });
    }
    const reason = str(p.reason);
    if (reason && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason)) throw invalidRequest('Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer', { param: 'reason' });
    const id = rid('re');
    const txn = this.addTxn({ amount: -amount, fee: 0, currency: charge.currency as string, type: 'refund', reporting_category: 'refund', source: id, description: 'REFUND FOR CHARGE', availableAfterSec: 0 });
    const refund: Obj = {
      id,
      object: 'refund',
      amount,
      balance_transaction: txn.id,
      charge: charge.id,
      created: this.nowSec(),
      currency: charge.currency,
      metadata: metadataOf(p),
      payment_intent: charge.payment_intent,
      reason: reason ?? null,
      receipt_number: null,
      status: 'succeeded',
    };
    this.refunds.set(id, refund);
    charge.amount_refunded = (charge.amount_refunded as number) + amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    this.emit('refund.created', refund, ctx);
    this.emit('charge.refunded', charge, ctx);
    return refund;
  }

  // ---------------------------------------------------------------- payouts and balance

  private addTxn(t: { amount: number; fee: number; currency: string; type: string; reporting_category: string; source: string; description: string | null; availableAfterSec: number }): Obj {
    const created = this.nowSec();
    const txn: Obj = {
      id: rid('txn'),
      object: 'balance_transaction',
      amount: t.amount,
      available_on: created + t.availableAfterSec,
      created,
      currency: t.currency,
      description: t.description,
      exchange_rate: null,
      fee: t.fee,
      fee_details: t.fee ? [{ amount: t.fee, application: null, currency: t.currency, description: 'Stripe processing fees', type: 'stripe_fee' }] : [],
      net: t.amount - t.fee,
      reporting_category: t.reporting_category,
      source: t.source,
      status: 'pending',
      type: t.type,
    };
    this.balanceTransactions.set(txn.id as string, txn);
    return txn;
  }

  private withTxnStatus(t: Obj): Obj {
    return { ...t, status: (t.available_on as number) <= this.nowSec() ? 'available' : 'pending' };
  }

  private balances(): Map<string, { available: number; pending: number }> {
    const out = new Map<string, { available: number; pending: number }>();
    const get = (c: string) => {
      let b = out.get(c);
      if (!b) {
        b = { available: this.opening(c), pending: 0 };
        out.set(c, b);
      }
      return b;
    };
    get('usd');
    const now = this.nowSec();
    for (const t of this.balanceTransactions.values()) {
      const b = get(t.currency as string);
      if ((t.available_on as number) <= now) b.available += t.net as number;
      else b.pending += t.net as number;
    }
    return out;
  }

  private balance(): Obj {
    const list = [...this.balances()].sort(([a], [b]) => a.localeCompare(b));
    return {
      object: 'balance',
      available: list.map(([currency, b]) => ({ amount: b.available, currency, source_types: { card: b.available } })),
      livemode: false,
      pending: list.map(([currency, b]) => ({ amount: b.pending, currency, source_types: { card: b.pending } })),
    };
  }

  private createPayout(p: FormObject, ctx: { requestId: string; idempotencyKey?: string }): Obj {
    const amount = integer(p, 'amount', true)!;
    const currency = currencyOf(p);
    if (amount < 1) throw invalidRequest('This value must be greater than or equal to 1.', { param: 'amount' });
    if (STRIPE_WHOLE_UNIT_PAYOUTS.includes(currency.toUpperCase()) && amount % 100 !== 0) {
      throw invalidRequest(`Payouts in ${currency.toUpperCase()} must be in whole units: the amount must be divisible by 100.`, { param: 'amount', code: 'invalid_amount' });
    }
    const destination = str(p.destination);
    if (destination && !/^(ba|card)_[A-Za-z0-9]+$/.test(destination)) throw missing('external account', destination, 'destination');
    const method = str(p.method) ?? 'standard';
    if (method !== 'standard' && method !== 'instant') throw invalidRequest('Invalid method: must be one of standard or instant', { param: 'method' });
    const available = this.balances().get(currency)?.available ?? this.opening(currency);
    if (available < amount) {
      throw invalidRequest(
        'You have insufficient funds in your Stripe account for this transfer. Your card balance is too low. You can use the /v1/balance endpoint to view your Stripe balance (for more details, see stripe.com/docs/api#balance).',
        { code: 'balance_insufficient' },
      );
    }
    const id = rid('po');
    // The balance is debited when the payout is created; a failure credits it back.
    const txn = this.addTxn({ amount: -amount, fee: 0, currency, type: 'payout', reporting_category: 'payout', source: id, description: str(p.description) ?? 'STRIPE PAYOUT', availableAfterSec: 0 });
    const created = this.nowSec();
    const payout: Obj = {
      id,
      object: 'payout',
      amount,
      arrival_date: created + Math.ceil(this.payoutSettleMs / 1000),
      automatic: false,
      balance_transaction: txn.id,
      created,
      currency,
      description: str(p.description) ?? null,
      destination: destination ?? 'ba_default',
      failure_balance_transaction: null,
      failure_code: null,
      failure_message: null,
      livemode: false,
      metadata: metadataOf(p),
      method,
      source_type: 'card',
      statement_descriptor: str(p.statement_descriptor) ?? null,
      status: 'pending',
      type: destination?.startsWith('card_') ? 'card' : 'bank_account',
    };
    Object.defineProperty(payout, '_createdMs', { value: this.now(), enumerable: false });
    this.payouts.set(id, payout);
    this.emit('payout.created', payout, ctx);
    return payout;
  }

  /** Moves payouts along by the clock and emits their events (called on every request and tick). */
  advance(): void {
    const now = this.now();
    for (const po of this.payouts.values()) {
      const createdMs = (po as { _createdMs?: number })._createdMs ?? (po.created as number) * 1000;
      if (po.status === 'pending' && now >= createdMs + this.payoutSettleMs / 2) {
        po.status = 'in_transit';
        this.emit('payout.updated', po, {});
      }
      if (po.status === 'in_transit' && now >= createdMs + this.payoutSettleMs) {
        // A destination id containing "closed" plays Stripe's failing test bank account.
        if (String(po.destination).includes('closed')) {
          const back = this.addTxn({ amount: po.amount as number, fee: 0, currency: po.currency as string, type: 'payout_failure', reporting_category: 'payout_reversal', source: po.id as string, description: 'Payout failure', availableAfterSec: 0 });
          po.status = 'failed';
          po.failure_code = 'account_closed';
          po.failure_message = 'The bank account has been closed.';
          po.failure_balance_transaction = back.id;
          this.emit('payout.failed', po, {});
        } else {
          po.status = 'paid';
          this.emit('payout.paid', po, {});
        }
      }
    }
  }

  // ---------------------------------------------------------------- webhooks

  private createWebhookEndpoint(p: FormObject): Obj {
    const url = str(p.url);
    if (!url) throw invalidRequest('Missing required param: url.', { code: 'parameter_missing', param: 'url' });
    if (!/^https?:\/\//.test(url)) throw invalidRequest('Invalid URL: URL must be publicly accessible, and use http or https.', { param: 'url', code: 'url_invalid' });
    const events = p.enabled_events;
    const list = Array.isArray(events) ? events.filter((e): e is string => typeof e === 'string') : typeof events === 'string' ? [events] : [];
    if (list.length === 0) throw invalidRequest('Missing required param: enabled_events.', { code: 'parameter_missing', param: 'enabled_events' });
    const endpoint = {
      id: rid('we'),
      object: 'webhook_endpoint',
      api_version: null,
      created: this.nowSec(),
      enabled_events: list,
      livemode: false,
      metadata: metadataOf(p),
      secret: `whsec_${randomBytes(24).toString('base64url')}`,
      status: 'enabled',
      url,
    };
    this.webhookEndpoints.set(endpoint.id, endpoint);
    return endpoint;
  }

  /** Records an event and queues signed deliveries (sandbox webhook URL + matching endpoints). */
  private emit(type: string, object: Obj, ctx: { requestId?: string; idempotencyKey?: string }): void {
    const snapshot = JSON.parse(JSON.stringify(object)) as Obj;
    const id = rid('evt');
    const targets: { url: string; secret: string }[] = [];
    const sandboxUrl = this.deps.webhookUrl?.();
    if (sandboxUrl && SANDBOX_WEBHOOK_EVENTS.includes(type)) targets.push({ url: sandboxUrl, secret: this.webhookSecret });
    for (const w of this.webhookEndpoints.values()) {
      const events = w.enabled_events as string[];
      if (w.status === 'enabled' && (events.includes('*') || events.includes(type))) targets.push({ url: w.url as string, secret: w.secret });
    }
    let recorded: Obj | undefined;
    for (const t of targets) {
      const request = buildEvent(t.secret, type, snapshot, { nowMs: this.now(), apiVersion: STRIPE_API_VERSION, id, requestId: ctx.requestId, idempotencyKey: ctx.idempotencyKey });
      recorded ??= JSON.parse(request.body.toString('utf8')) as Obj;
      const n: Notification = {
        url: t.url,
        headers: request.headers,
        body: request.body,
        retryDelaysMs: this.retryDelaysMs,
        accepted: (status) => status >= 200 && status < 300,
        description: `stripe ${type} ${String(object.id)}`,
      };
      this.deps.notify(n);
    }
    this.events.set(id, recorded ?? { id, object: 'event', api_version: STRIPE_API_VERSION, created: this.nowSec(), data: { object: snapshot }, livemode: false, pending_webhooks: 0, type });
  }

  // ---------------------------------------------------------------- reporting

  private throwMissing(kind: string, id: string): never {
    throw missing(kind, id, 'id');
  }

  /**
   * POST /v1/reporting/report_runs for the itemized balance report: pending at first, then
   * succeeded with a file written by the channel's own bill writer from the balance transactions
   * of the interval (sources expanded, so order numbers come along).
   */
  private createReportRun(p: FormObject): Obj {
    const type = str(p.report_type);
    if (!type) throw invalidRequest('Missing required param: report_type.', { code: 'parameter_missing', param: 'report_type' });
    if (!/^balance_change_from_activity\.itemized\.[1-4]$/.test(type)) {
      throw invalidRequest(`The pay sandbox produces balance_change_from_activity.itemized.* reports only, not ${type}.`, { param: 'report_type' });
    }
    const params = (p.parameters && typeof p.parameters === 'object' && !Array.isArray(p.parameters) ? p.parameters : {}) as FormObject;
    const start = integer(params, 'interval_start', true)!;
    const end = integer(params, 'interval_end', true)!;
    if (end <= start) throw invalidRequest('interval_end must be after interval_start.', { param: 'parameters[interval_end]' });
    const timezone = str(params.timezone) ?? 'UTC';
    const id = rid('frr');
    const run: Obj = {
      id,
      object: 'reporting.report_run',
      created: this.nowSec(),
      error: null,
      livemode: false,
      parameters: { interval_start: start, interval_end: end, timezone },
      report_type: type,
      result: null,
      status: 'pending',
      succeeded_at: null,
    };
    this.reportRuns.set(id, run);
    const rows = [...this.balanceTransactions.values()]
      .filter((t) => (t.created as number) >= start && (t.created as number) < end)
      .map((t, i) => balanceTransactionRow(this.expand(this.withTxnStatus(t), ['source']), i + 1));
    const fileId = rid('file');
    const path = join(this.deps.workDir, `${fileId}.csv`);
    writeItemized(path, rows, { timeZone: timezone })
      .then(async () => {
        const size = (await readFile(path)).length;
        const object = {
          id: fileId,
          object: 'file',
          created: this.nowSec(),
          expires_at: this.nowSec() + 7 * 86400,
          filename: `${fileId}.csv`,
          purpose: 'finance_report_run',
          size,
          title: `${type} ${id}`,
          type: 'csv',
          url: `${this.deps.baseUrl?.() ?? ''}/v1/files/${fileId}/contents`,
        };
        this.files.set(fileId, { path, object });
        run.result = object;
        run.status = 'succeeded';
        run.succeeded_at = this.nowSec();
        this.emit('reporting.report_run.succeeded', run, {});
      })
      .catch((err: Error) => {
        run.status = 'failed';
        run.error = err.message;
      });
    return run;
  }

  // ---------------------------------------------------------------- the payer

  /** The payer completes (or fails) the order's latest PaymentIntent with a test card. */
  async simulatePayment(orderNo: string, outcome: 'succeeded' | 'failed' = 'succeeded'): Promise<void> {
    const candidates = [...this.paymentIntents.values()].filter((pi) => (pi.metadata as Obj)?.order_no === orderNo);
    const pi = candidates[candidates.length - 1];
    if (!pi) throw new Error(`the Stripe simulator has no PaymentIntent with metadata[order_no]=${orderNo}`);
    if (pi.status === 'succeeded' || pi.status === 'canceled' || pi.status === 'requires_capture') throw new Error(`PaymentIntent ${String(pi.id)} of ${orderNo} is already ${String(pi.status)}`);
    try {
      this.confirm(pi, outcome === 'failed' ? 'pm_card_chargeDeclined' : 'pm_card_visa', {});
    } catch (err) {
      if (!(err instanceof StripeError && err.status === 402)) throw err;
    }
  }
}

function hideSecret(w: Obj): Obj {
  const { secret: _secret, ...rest } = w;
  return rest;
}

/** A canonical serialisation of decoded parameters (for idempotency fingerprints). */
function canonical(node: FormNode | FormObject): string {
  if (typeof node === 'string') return JSON.stringify(node);
  if (Array.isArray(node)) return `[${node.map(canonical).join(',')}]`;
  return `{${Object.keys(node)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(node[k])}`)
    .join(',')}}`;
}

/** Creates a simulator with options (tests). */
export function createStripeSimulator(deps: SimulatorDeps, options?: StripeSimulatorOptions): StripeSimulator {
  return new StripeSimulator(deps, options);
}

export const simulator: SimulatorModule = {
  id: 'stripe',
  create: (deps) => new StripeSimulator(deps),
};

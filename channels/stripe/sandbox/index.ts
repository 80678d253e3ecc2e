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
 *
 * This file holds the simulator's state, authentication, idempotency and the route table; each
 * resource lives in its own file (payment-intents, confirm-capture, refunds, payouts-balance,
 * webhooks, reporting) and shares params.ts and lists.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ChannelSimulator, SimulatorDeps, SimulatorModule, SimulatorRequest, SimulatorResponse, TamperKind } from '../../../src/sandbox/contract.js';
import { ProviderError } from '../../../src/sandbox/errors.js';
import { IdempotencyStore } from '../../../src/sandbox/idempotency.js';
import { Ledger } from '../../../src/sandbox/ledger.js';
import { pathSegments, Router } from '../../../src/sandbox/router.js';
import { startTicker } from '../../../src/sandbox/ticker.js';
import { STRIPE_API_VERSION, usesAllowedTypes } from '../config.js';
import { stripeExponent } from '../currency.js';
import { decodeForm, decodeQuery, type FormObject } from '../form.js';
import { checkParams, endpointSchema } from '../params.js';
import { confirm } from './confirm-capture.js';
import { checkExpand, expandList } from './lists.js';
import { canonical, invalidRequest, missing, rid, type Obj, type StripeHandler } from './params.js';
import { paymentIntentRoutes } from './payment-intents.js';
import { advancePayouts, payoutBalanceRoutes } from './payouts-balance.js';
import { refundRoutes } from './refunds.js';
import { reportingRoutes } from './reporting.js';
import { webhookRoutes } from './webhooks.js';

export { simulatedFee } from './confirm-capture.js';
import { STRIPE_RETRY_DELAYS_MS } from './webhooks.js';

export { SANDBOX_WEBHOOK_EVENTS, STRIPE_RETRY_DELAYS_MS } from './webhooks.js';

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

/** Every Stripe endpoint the simulator serves, one line per route in the resource files. */
const ROUTES = new Router<StripeHandler>();
paymentIntentRoutes(ROUTES);
refundRoutes(ROUTES);
payoutBalanceRoutes(ROUTES);
webhookRoutes(ROUTES);
reportingRoutes(ROUTES);
ROUTES.get('/v1/account', (sim) => ({ id: sim.accountId, object: 'account', charges_enabled: true, payouts_enabled: true, country: 'US', default_currency: 'usd', type: 'standard' }));

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
  /** The balance: opening amounts plus balance transactions in creation order (the bill), each the entry's detail. */
  readonly ledger: Ledger<Obj>;
  readonly events = new Map<string, Obj>();
  readonly webhookEndpoints = new Map<string, Obj & { secret: string }>();
  /** Reporting runs and the files they produced (itemized reports written by the channel's bill writer). */
  readonly reportRuns = new Map<string, Obj>();
  /** Report files by id (resource files only). */
  readonly files = new Map<string, { path: string; object: Obj }>();
  private readonly idempotency = new IdempotencyStore();
  /** Charges created in this simulator (declined attempts included): tests assert on it. */
  chargeCount = 0;
  readonly payoutSettleMs: number;
  readonly retryDelaysMs: number[];
  readonly opening: (currency: string) => number;
  private readonly stopTicker: () => void;

  constructor(
    readonly deps: SimulatorDeps,
    options: StripeSimulatorOptions = {},
  ) {
    this.payoutSettleMs = options.payoutSettleMs ?? 1_500;
    this.retryDelaysMs = options.retryDelaysMs ?? STRIPE_RETRY_DELAYS_MS;
    this.opening = options.openingBalance ?? ((c) => 1_000_000 * 10 ** stripeExponent(c.toUpperCase()));
    this.ledger = new Ledger<Obj>((c) => this.opening(c));
    this.stopTicker = startTicker(options.tickMs ?? 200, () => this.advance());
  }

  now(): number {
    return this.deps.clock();
  }

  nowSec(): number {
    return Math.floor(this.now() / 1000);
  }

  profile(baseUrl: string): Record<string, unknown> {
    return { baseUrl, secretKey: this.secretKey, webhookSecret: this.webhookSecret, apiVersion: STRIPE_API_VERSION };
  }

  async close(): Promise<void> {
    this.stopTicker();
  }

  tamper(res: SimulatorResponse, _kind: TamperKind): SimulatorResponse {
    // Stripe API answers carry no signature to spoil (see the module comment).
    return res;
  }

  /** Moves payouts along by the clock and emits their events (called on every request and tick). */
  advance(): void {
    advancePayouts(this);
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
        const seen = this.idempotency.lookup(key, fingerprint);
        if (seen) {
          if (seen.kind === 'conflict') {
            throw new ProviderError(400, {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            });
          }
          return { ...seen.response, headers: { ...(seen.response.headers ?? {}), 'idempotent-replayed': 'true', 'request-id': requestId } };
        }
        const response = this.respond(req, params, headers, requestId, key);
        // Like Stripe, answers are saved once the endpoint ran (validation errors included),
        // but not server errors, so a retry after a 5xx runs again.
        this.idempotency.save(key, response, fingerprint);
        return response;
      }
      return this.respond(req, params, headers, requestId, undefined);
    } catch (err) {
      return this.errorResponse(err, headers);
    }
  }

  private errorResponse(err: unknown, headers: Record<string, string>): SimulatorResponse {
    if (err instanceof ProviderError) {
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
      throw new ProviderError(
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
      throw new ProviderError(401, { type: 'invalid_request_error', message: `Invalid API Key provided: ${masked}` }, wwwAuth);
    }
  }

  private route(req: SimulatorRequest, p: FormObject, ctx: { requestId: string; idempotencyKey?: string; apiVersion?: string }): unknown {
    const parts = pathSegments(req.path);
    if (parts[0] !== 'v1') return undefined;
    const [, resource, id, action] = parts;
    // Stripe checks every parameter against the endpoint before doing anything.
    const endpoint = resource === 'reporting' ? endpointSchema(req.method, 'reporting/report_runs', action, parts[4], true) : endpointSchema(req.method, resource, id, action, usesAllowedTypes(ctx.apiVersion ?? STRIPE_API_VERSION));
    if (endpoint) {
      const problem = checkParams(endpoint.schema, p, endpoint.unsettable);
      if (problem) {
        const code = problem.code ? { code: problem.code, doc_url: `https://stripe.com/docs/error-codes/${problem.code.replace(/_/g, '-')}` } : {};
        throw invalidRequest(problem.message, { ...code, param: problem.param });
      }
    }
    const expand = expandList(p);
    checkExpand(expand, req.method === 'GET' && (!id || id === 'search'));
    const found = ROUTES.match(req.method, parts);
    return found?.handler(this, { p, params: found.params, ctx, expand });
  }

  // ---------------------------------------------------------------- the payer

  /** The payer completes (or fails) the order's latest PaymentIntent with a test card. */
  async simulatePayment(orderNo: string, outcome: 'succeeded' | 'failed' = 'succeeded'): Promise<void> {
    const candidates = [...this.paymentIntents.values()].filter((pi) => (pi.metadata as Obj)?.order_no === orderNo);
    const pi = candidates[candidates.length - 1];
    if (!pi) throw new Error(`the Stripe simulator has no PaymentIntent with metadata[order_no]=${orderNo}`);
    if (pi.status === 'succeeded' || pi.status === 'canceled' || pi.status === 'requires_capture') throw new Error(`PaymentIntent ${String(pi.id)} of ${orderNo} is already ${String(pi.status)}`);
    try {
      confirm(this, pi, outcome === 'failed' ? 'pm_card_chargeDeclined' : 'pm_card_visa', {});
    } catch (err) {
      if (!(err instanceof ProviderError && err.status === 402)) throw err;
    }
  }
}

/** Creates a simulator with options (tests). */
export function createStripeSimulator(deps: SimulatorDeps, options?: StripeSimulatorOptions): StripeSimulator {
  return new StripeSimulator(deps, options);
}

export const simulator: SimulatorModule = {
  id: 'stripe',
  create: (deps) => new StripeSimulator(deps),
};

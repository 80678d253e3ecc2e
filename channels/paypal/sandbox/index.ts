/**
 * A local simulator of PayPal's REST API, served by the sandbox framework on its own port.
 *
 * As PayPal does: OAuth2 client credentials (POST /v1/oauth2/token, Basic auth; a bad secret is
 * `invalid_client`, a bad or expired token `AUTHENTICATION_FAILURE`); PayPal-Request-Id
 * idempotency (the same id gets the same answer, replayed); Orders v2 (create -> the payer
 * approves, here through `simulatePayment` or the approve link -> capture, with a declined
 * instrument as INSTRUMENT_DECLINED; intent AUTHORIZE -> authorize -> captures or a void of
 * the authorization; PATCH with JSON Patch as PayPal's patchable table allows; amount checked against
 * breakdown and items against item_total; `Prefer: return=minimal` (the default) or
 * return=representation); refunds of captures (partial, bounded); Payouts batches that
 * progress PENDING -> PROCESSING -> SUCCESS (or an item FAILED); balances; the transactions report
 * API; webhooks; and signed webhook events: transmission headers signed SHA256withRSA with a
 * certificate the simulator issues itself, CN `messageverificationcerts.sandbox.paypal.com` under
 * a test CA of its own, so `pay verify` given that certificate (and optionally the CA) accepts
 * them and rejects them with any other. The certificate is served where PAYPAL-CERT-URL points.
 *
 * Every API error has PayPal's shape: name, message, debug_id (also the PayPal-Debug-Id header),
 * details[] (issue, description, and field/value/location where one is at fault) and links; the
 * token endpoint keeps OAuth's {error, error_description}, as PayPal's does.
 *
 * PayPal's API answers are not signed (TLS is the integrity check), so `tamper` returns the
 * answer unchanged.
 *
 * This file holds the simulator's identity and certificates, OAuth, idempotency and the route
 * table; each resource lives in its own file (orders, order-checks, authorizations,
 * captures-refunds, payouts, reporting, webhooks) and shares params.ts.
 */
import { createHash, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import type { ChannelSimulator, SimulatorDeps, SimulatorModule, SimulatorRequest, SimulatorResponse, TamperKind } from '../../../src/sandbox/contract.js';
import { ProviderError } from '../../../src/sandbox/errors.js';
import { IdempotencyStore } from '../../../src/sandbox/idempotency.js';
import { Ledger } from '../../../src/sandbox/ledger.js';
import { Router } from '../../../src/sandbox/router.js';
import { startTicker } from '../../../src/sandbox/ticker.js';
import { buildCertificate, randomSerial, type DistinguishedName } from '../../../src/channel/x509.js';
import { transactionRow } from '../bill.js';
import { writeStl } from '../bill-writer.js';
import { paypalExponent } from '../currency.js';
import { authorizationRoutes } from './authorizations.js';
import { captureRefundRoutes } from './captures-refunds.js';
import { OAuthTokens } from './oauth.js';
import { approve, approvePage, orderRoutes } from './orders.js';
import { detail, invalidRequest, notFound, pid, throwNotFound, units, type Answer, type Obj, type PaypalHandler } from './params.js';
import { advancePayouts, payoutRoutes } from './payouts.js';
import { reportingRoutes } from './reporting.js';
import { webhookRoutes } from './webhooks.js';

export { simulatedFee } from './params.js';

/** Simulator knobs (tests may pass their own through {@link createPaypalSimulator}). */
export interface PaypalSimulatorOptions {
  /** Lifetime of access tokens, seconds (PayPal: 32,400). */
  tokenTtlSec?: number;
  /** Time from payout creation to its final state, ms. Default 1,500. */
  payoutSettleMs?: number;
  /** Delays between webhook delivery attempts, ms (PayPal retries for 3 days; compressed). */
  retryDelaysMs?: number[];
  /** How often payouts move along on their own, ms (0 disables). Default 200. */
  tickMs?: number;
  /** Opening balance per currency, as a PayPal decimal string. Default "1000000.00" ("1000000" for HUF/JPY/TWD). */
  openingBalance?: (currency: string) => string;
}

/** Webhook retry schedule: PayPal retries up to 25 times over 3 days; here over seconds. */
export const PAYPAL_RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000, 8_000];

/** Every PayPal endpoint behind OAuth, one line per route in the resource files. */
const ROUTES = new Router<PaypalHandler>();
orderRoutes(ROUTES);
authorizationRoutes(ROUTES);
captureRefundRoutes(ROUTES);
payoutRoutes(ROUTES);
reportingRoutes(ROUTES);
webhookRoutes(ROUTES);

/** The PayPal simulator. */
export class PaypalSimulator implements ChannelSimulator {
  readonly id = 'paypal';
  readonly clientId = `A${randomBytes(30).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x')}`;
  readonly clientSecret = `E${randomBytes(30).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x')}`;
  readonly webhookId = pid(17);
  readonly accountId = pid(13);
  readonly certId = `CERT-pay-sandbox-${randomBytes(8).toString('hex')}`;
  /** PEM of the sandbox's message-verification certificate (CN messageverificationcerts.sandbox.paypal.com). */
  readonly certificatePem: string;
  /** PEM of the test CA that issued it. */
  readonly caPem: string;
  readonly signingKey: KeyObject;

  readonly orders = new Map<string, Obj>();
  readonly captures = new Map<string, Obj>();
  readonly authorizations = new Map<string, Obj>();
  readonly refunds = new Map<string, Obj>();
  readonly payouts = new Map<string, Obj>();
  readonly webhooks = new Map<string, Obj>();
  /** The balance: opening amounts plus transactions (each a transactions-API element), and holds for payouts in flight. */
  readonly ledger: Ledger<Obj>;
  /** How each approved order will fare at capture. */
  readonly approvalOutcome = new Map<string, 'succeeded' | 'failed'>();
  private readonly oauth: OAuthTokens;
  private readonly requestIds = new IdempotencyStore();
  readonly payoutSettleMs: number;
  readonly retryDelaysMs: number[];
  readonly opening: (currency: string) => string;
  private readonly stopTicker: () => void;

  constructor(
    readonly deps: SimulatorDeps,
    options: PaypalSimulatorOptions = {},
  ) {
    this.oauth = new OAuthTokens(this, options.tokenTtlSec ?? 32_400);
    this.payoutSettleMs = options.payoutSettleMs ?? 1_500;
    this.retryDelaysMs = options.retryDelaysMs ?? PAYPAL_RETRY_DELAYS_MS;
    this.opening = options.openingBalance ?? ((c) => (paypalExponent(c) === 0 ? '1000000' : '1000000.00'));
    this.ledger = new Ledger<Obj>((c) => units(this.opening(c), c) ?? 0);
    const now = deps.clock();
    const day = 86_400_000;
    const ca = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const leaf = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const caDn: DistinguishedName = [['C', 'US'], ['O', 'pay sandbox (test only)'], ['CN', 'pay sandbox PayPal TEST CA']];
    this.caPem = buildCertificate({ subject: caDn, issuer: caDn, serial: randomSerial(), notBefore: now - day, notAfter: now + 3650 * day, publicKey: ca.publicKey, signingKey: ca.privateKey, ca: true });
    // The CN satisfies pay's rule for PayPal certificates, so the sandbox needs no special case;
    // what makes it trusted is that the user configures this very certificate (and CA).
    this.certificatePem = buildCertificate({
      subject: [['C', 'US'], ['O', 'pay sandbox (test only)'], ['OU', 'PayPal webhook simulator'], ['CN', 'messageverificationcerts.sandbox.paypal.com']],
      issuer: caDn,
      serial: randomSerial(),
      notBefore: now - day,
      notAfter: now + 365 * day,
      publicKey: leaf.publicKey,
      signingKey: ca.privateKey,
    });
    this.signingKey = leaf.privateKey;
    this.stopTicker = startTicker(options.tickMs ?? 200, () => this.advance());
  }

  now(): number {
    return this.deps.clock();
  }

  iso(ms = this.now()): string {
    return `${new Date(ms).toISOString().slice(0, 19)}Z`;
  }

  base(): string {
    return this.deps.baseUrl?.() ?? 'http://127.0.0.1';
  }

  profile(baseUrl: string): Record<string, unknown> {
    return { baseUrl, clientId: this.clientId, clientSecret: this.clientSecret, webhookId: this.webhookId, certificate: this.certificatePem, caCertificate: this.caPem, merchantId: this.accountId };
  }

  async close(): Promise<void> {
    this.stopTicker();
  }

  tamper(res: SimulatorResponse, _kind: TamperKind): SimulatorResponse {
    // PayPal API answers carry no signature to spoil (see the module comment).
    return res;
  }

  // ---------------------------------------------------------------- HTTP

  async handle(req: SimulatorRequest): Promise<SimulatorResponse | undefined> {
    const debugId = randomBytes(7).toString('hex');
    const headers: Record<string, string> = { 'content-type': 'application/json', 'paypal-debug-id': debugId };
    try {
      this.advance();
      if (req.method === 'POST' && req.path === '/v1/oauth2/token') return this.oauth.token(req, headers);
      if (req.method === 'GET' && req.path === '/checkoutnow') return approvePage(this, req);
      if (req.method === 'GET' && req.path.startsWith('/v1/notifications/certs/')) {
        if (req.path.slice('/v1/notifications/certs/'.length) !== this.certId) throw notFound();
        return { status: 200, headers: { 'content-type': 'application/x-pem-file' }, body: this.certificatePem };
      }
      this.oauth.authenticate(req);
      let body: unknown;
      if (req.method !== 'GET' && req.body.length > 0) {
        try {
          body = JSON.parse(req.body.toString('utf8'));
        } catch {
          throw invalidRequest('MALFORMED_REQUEST_JSON', 'The request JSON is not well formed.', '/');
        }
      }
      const requestId = req.headers['paypal-request-id'];
      if (req.method === 'POST' && requestId) {
        const key = `${req.path}\n${requestId}`;
        const seen = this.requestIds.lookup(key);
        // PayPal answers a repeated PayPal-Request-Id with the stored answer of the first request.
        if (seen?.kind === 'replay') return { ...seen.response, headers: { ...(seen.response.headers ?? {}), 'paypal-debug-id': debugId } };
        const res = this.respond(req, body, headers);
        if (res === undefined) return undefined;
        this.requestIds.save(key, res);
        return res;
      }
      return this.respond(req, body, headers);
    } catch (err) {
      return this.errorResponse(err, headers, debugId);
    }
  }

  private errorResponse(err: unknown, headers: Record<string, string>, debugId: string): SimulatorResponse {
    if (err instanceof ProviderError) {
      // OAuth answers (the token endpoint) keep OAuth's shape; every API error has PayPal's.
      const body = 'error' in err.body ? err.body : { name: err.body.name, message: err.body.message, debug_id: debugId, details: err.body.details ?? [], links: err.body.links ?? [] };
      return { status: err.status, headers: err.status === 401 && 'error' in err.body ? { ...headers, 'www-authenticate': 'Basic realm="PayPal"' } : headers, body: JSON.stringify(body) };
    }
    return {
      status: 500,
      headers,
      body: JSON.stringify({
        name: 'INTERNAL_SERVER_ERROR',
        message: 'An internal server error has occurred.',
        debug_id: debugId,
        details: [detail('INTERNAL_SERVICE_ERROR', `An internal service error has occurred (${(err as Error).message}).`)],
        links: [{ href: 'https://developer.paypal.com/docs/api/orders/v2/#error-INTERNAL_SERVICE_ERROR', rel: 'information_link', method: 'GET' }],
      }),
    };
  }

  private respond(req: SimulatorRequest, body: unknown, headers: Record<string, string>): SimulatorResponse | undefined {
    const debugId = headers['paypal-debug-id'];
    try {
      // An unknown path or method answers as PayPal does: 404 in its error shape.
      const out = this.route(req, body) ?? throwNotFound();
      if (out.status === 204) return { status: 204, headers: { 'paypal-debug-id': debugId } };
      // Orders and Payments answer POSTs with id, status and links only unless asked for the
      // whole resource with `Prefer: return=representation` (return=minimal is the default).
      if (req.method === 'POST' && out.minimal && !/return=representation/i.test(req.headers.prefer ?? '')) {
        const o = out.body as Obj;
        return { status: out.status, headers, body: JSON.stringify({ id: o.id, status: o.status, links: o.links }) };
      }
      return { status: out.status, headers, body: JSON.stringify(out.body) };
    } catch (err) {
      return this.errorResponse(err, headers, debugId);
    }
  }

  /** Forgets every issued token (tests: the adapter must fetch a new one and carry on). */
  revokeTokens(): void {
    this.oauth.revoke();
  }

  private route(req: SimulatorRequest, body: unknown): Answer | undefined {
    const found = ROUTES.match(req.method, req.path);
    const b = body && typeof body === 'object' && !Array.isArray(body) ? (body as Obj) : {};
    return found?.handler(this, { b, body, params: found.params, req });
  }


  /** Moves payouts along by the clock and emits their events (on every request and tick). */
  advance(): void {
    advancePayouts(this);
  }

  // ---------------------------------------------------------------- the payer

  /** The payer approves the order with this merchant order number (its invoice_id / custom_id). */
  async simulatePayment(orderNo: string, outcome: 'succeeded' | 'failed' = 'succeeded'): Promise<void> {
    const candidates = [...this.orders.values()].filter((o) => {
      const pu = (o.purchase_units as Obj[])[0];
      return pu.invoice_id === orderNo || pu.custom_id === orderNo || pu.reference_id === orderNo;
    });
    const order = candidates[candidates.length - 1];
    if (!order) throw new Error(`the PayPal simulator has no order with invoice_id ${orderNo}`);
    approve(this, order, outcome);
  }

  /**
   * Writes the day's settlement report (STL, as PayPal drops it on its SFTP server) from the
   * simulator's books through the channel's own writer: every transaction of the UTC day.
   */
  async writeSettlementReport(date: string, path: string, options: { utf16?: boolean } = {}): Promise<number> {
    const start = Date.parse(`${date}T00:00:00Z`);
    const rows = this.ledger.between(start, start + 86_400_000).map((l, i) => transactionRow(l.detail, i + 1));
    return writeStl(path, rows, { date, account: this.accountId, utf16: options.utf16, generatedAt: this.now() });
  }

  /** A fingerprint of the simulator's signing certificate (for messages and tests). */
  certificateFingerprint(): string {
    return createHash('sha256').update(new X509Certificate(this.certificatePem).raw).digest('hex');
  }
}

/** Creates a simulator with options (tests). */
export function createPaypalSimulator(deps: SimulatorDeps, options?: PaypalSimulatorOptions): PaypalSimulator {
  return new PaypalSimulator(deps, options);
}

export const simulator: SimulatorModule = {
  id: 'paypal',
  create: (deps) => new PaypalSimulator(deps),
};

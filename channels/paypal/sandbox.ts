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
 */
import { createHash, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import type { ChannelSimulator, Notification, SimulatorDeps, SimulatorModule, SimulatorRequest, SimulatorResponse, TamperKind } from '../../src/sandbox/contract.js';
import { buildCertificate, randomSerial, type DistinguishedName } from '../../src/channel/x509.js';
import { transactionRow, writeStl } from './bill.js';
import { buildEvent } from './callback.js';
import { paypalExponent, PAYPAL_CURRENCIES } from './currency.js';
import { transmissionMessage, verifyTransmission } from './signature.js';

type Obj = Record<string, unknown>;

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

/** An API error answer. */
class PaypalError extends Error {
  constructor(
    readonly status: number,
    readonly body: Obj,
  ) {
    super(String(body.message ?? body.error ?? 'error'));
  }
}

const INFO_LINK = (anchor: string) => [{ href: `https://developer.paypal.com/docs/api/orders/v2/#error-${anchor}`, rel: 'information_link', method: 'GET' }];

/** Where a detail points: a JSON pointer into the body (or a query/path parameter) and the value found there. */
interface At {
  field?: string;
  value?: string;
  location?: 'body' | 'query' | 'path';
}

/** One entry of `details[]`, in PayPal's key order. */
function detail(issue: string, description: string, at: At = {}): Obj {
  return { ...(at.field ? { field: at.field } : {}), ...(at.value !== undefined ? { value: at.value } : {}), ...(at.field ? { location: at.location ?? 'body' } : {}), issue, description };
}

function unprocessable(issue: string, description: string, at: At = {}): PaypalError {
  return new PaypalError(422, {
    name: 'UNPROCESSABLE_ENTITY',
    details: [detail(issue, description, at)],
    message: 'The requested action could not be performed, semantically incorrect, or failed business validation.',
    links: INFO_LINK(issue),
  });
}

function invalidRequest(issue: string, description: string, field?: string, at: Omit<At, 'field'> = {}): PaypalError {
  return new PaypalError(400, {
    name: 'INVALID_REQUEST',
    message: 'Request is not well-formed, syntactically incorrect, or violates schema.',
    details: [detail(issue, description, { ...at, field })],
    links: INFO_LINK(issue),
  });
}

function notFound(): PaypalError {
  return new PaypalError(404, {
    name: 'RESOURCE_NOT_FOUND',
    message: 'The specified resource does not exist.',
    details: [detail('INVALID_RESOURCE_ID', 'Specified resource ID does not exist. Please check the resource ID and try again.')],
    links: INFO_LINK('INVALID_RESOURCE_ID'),
  });
}

/** The JSON pointer of the (only) purchase unit, as PayPal names it in `details[].field`. */
const PU = (ref: string) => `/purchase_units/@reference_id=='${ref}'`;

const ID_CHARS = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';
function pid(n = 17): string {
  let s = '';
  for (const b of randomBytes(n)) s += ID_CHARS[b % ID_CHARS.length];
  return s;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

/** A PayPal decimal string -> integer units of PayPal's exponent, or undefined if malformed. */
function units(value: unknown, currency: string): number | undefined {
  if (typeof value !== 'string') return undefined;
  const exp = paypalExponent(currency);
  const m = /^(\d{1,10})(?:\.(\d+))?$/.exec(value);
  if (!m) return undefined;
  const frac = m[2] ?? '';
  if (frac.length > exp) return undefined;
  return Number(m[1] + frac.padEnd(exp, '0'));
}

function fmt(u: number, currency: string): string {
  const exp = paypalExponent(currency);
  const neg = u < 0;
  const digits = String(Math.abs(u)).padStart(exp + 1, '0');
  return (neg ? '-' : '') + (exp === 0 ? digits : `${digits.slice(0, -exp)}.${digits.slice(-exp)}`);
}

function checkAmount(amount: unknown, field: string, currencyKey: 'currency_code' | 'currency', allowZero = false): { currency: string; units: number } {
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

const BREAKDOWN_PLUS = ['item_total', 'tax_total', 'shipping', 'handling', 'insurance'] as const;
const BREAKDOWN_MINUS = ['shipping_discount', 'discount'] as const;

/**
 * Checks a purchase unit as PayPal does on create and after a PATCH: the amount (and each
 * breakdown amount, in the same currency), `amount.value` equal to the breakdown's sum
 * (AMOUNT_MISMATCH), and items against `item_total` and `tax_total` (ITEM_TOTAL_REQUIRED,
 * ITEM_TOTAL_MISMATCH, TAX_TOTAL_REQUIRED, TAX_TOTAL_MISMATCH).
 */
function checkPurchaseUnit(pu: Obj, ref: string): void {
  const base = PU(ref);
  for (const [key, max] of [['description', 127], ['custom_id', 255], ['invoice_id', 127], ['soft_descriptor', 22], ['reference_id', 256]] as const) {
    const v = pu[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw invalidRequest('INVALID_PARAMETER_SYNTAX', 'The value of a field does not conform to the expected format.', `${base}/${key}`);
    if (v.length < 1 || v.length > max) throw invalidRequest('INVALID_STRING_LENGTH', 'The value of a field is either too short or too long.', `${base}/${key}`, { value: v });
  }
  const { currency, units: total } = checkAmount(pu.amount, `${base}/amount`, 'currency_code');
  const breakdown = obj(obj(pu.amount)?.breakdown);
  const part = (key: string): number | undefined => {
    if (!breakdown || breakdown[key] === undefined) return undefined;
    const field = `${base}/amount/breakdown/${key}`;
    const m = checkAmount(breakdown[key], field, 'currency_code', true);
    if (m.currency !== currency) throw unprocessable('CURRENCY_MISMATCH', 'Currency code should be the same for all amounts in a purchase unit.', { field: `${field}/currency_code`, value: m.currency });
    return m.units;
  };
  const parts: Record<string, number | undefined> = {};
  for (const k of [...BREAKDOWN_PLUS, ...BREAKDOWN_MINUS]) parts[k] = part(k);
  const items = pu.items;
  if (items !== undefined) {
    if (!Array.isArray(items)) throw invalidRequest('INVALID_PARAMETER_SYNTAX', 'The value of a field does not conform to the expected format.', `${base}/items`);
    let itemSum = 0;
    let taxSum = 0;
    let anyTax = false;
    items.forEach((raw, i) => {
      const item = obj(raw) ?? {};
      const field = `${base}/items/${i}`;
      if (!str(item.name)) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'A required field / parameter is missing.', `${field}/name`);
      const q = item.quantity;
      if (typeof q !== 'string' || !/^[1-9]\d{0,9}$/.test(q)) throw invalidRequest('INVALID_PARAMETER_SYNTAX', 'The value of a field does not conform to the expected format.', `${field}/quantity`, { value: String(q) });
      const unit = checkAmount(item.unit_amount, `${field}/unit_amount`, 'currency_code');
      if (unit.currency !== currency) throw unprocessable('CURRENCY_MISMATCH', 'Currency code should be the same for all amounts in a purchase unit.', { field: `${field}/unit_amount/currency_code`, value: unit.currency });
      itemSum += unit.units * Number(q);
      if (item.tax !== undefined) {
        anyTax = true;
        const tax = checkAmount(item.tax, `${field}/tax`, 'currency_code', true).units;
        taxSum += tax * Number(q);
      }
    });
    if (items.length > 0) {
      if (parts.item_total === undefined) {
        throw unprocessable('ITEM_TOTAL_REQUIRED', 'If item details are specified (items.unit_amount and items.quantity) corresponding amount.breakdown.item_total is required.', { field: `${base}/amount/breakdown/item_total` });
      }
      if (parts.item_total !== itemSum) {
        throw unprocessable('ITEM_TOTAL_MISMATCH', 'Should equal sum of (unit_amount * quantity) across all items for a given purchase_unit', {
          field: `${base}/amount/breakdown/item_total/value`,
          value: fmt(parts.item_total, currency),
        });
      }
      if (anyTax && parts.tax_total === undefined) {
        throw unprocessable('TAX_TOTAL_REQUIRED', 'If item details are specified (items.tax_total and items.quantity) corresponding amount.breakdown.tax_total is required.', { field: `${base}/amount/breakdown/tax_total` });
      }
      if (anyTax && parts.tax_total !== taxSum) {
        throw unprocessable('TAX_TOTAL_MISMATCH', 'Should equal sum of (tax * quantity) across all items for a given purchase_unit', { field: `${base}/amount/breakdown/tax_total/value`, value: fmt(parts.tax_total!, currency) });
      }
    }
  }
  if (breakdown) {
    const sum = BREAKDOWN_PLUS.reduce((acc, k) => acc + (parts[k] ?? 0), 0) - BREAKDOWN_MINUS.reduce((acc, k) => acc + (parts[k] ?? 0), 0);
    if (sum !== total) {
      throw unprocessable('AMOUNT_MISMATCH', 'Should equal item_total + tax_total + shipping + handling + insurance - shipping_discount - discount.', { field: `${base}/amount/value`, value: fmt(total, currency) });
    }
  }
}

/** What each patchable field of a purchase unit takes (PayPal's table), by path below the unit. */
const PATCHABLE: Record<string, readonly string[]> = {
  custom_id: ['replace', 'add', 'remove'],
  description: ['replace', 'add', 'remove'],
  invoice_id: ['replace', 'add', 'remove'],
  soft_descriptor: ['replace', 'remove'],
  amount: ['replace'],
  items: ['replace', 'add', 'remove'],
  'payee/email_address': ['replace'],
  'shipping/name': ['replace', 'add'],
  'shipping/address': ['replace', 'add'],
  'shipping/type': ['replace', 'add'],
  'shipping/email_address': ['replace', 'add'],
  'shipping/phone_number': ['replace', 'add'],
  'shipping/options': ['replace', 'add'],
  payment_instruction: ['replace'],
};

const INVALID_PATCH = "The operation cannot be honored. Cannot add a property that's already present, use replace. Cannot remove a property thats not present, use add. Cannot replace a property thats not present, use add.";

/** Applies one JSON Patch operation to a copy of an order (module comment of patchOrder). */
function applyPatch(order: Obj, op: 'add' | 'replace' | 'remove', path: string, value: unknown, index: number): void {
  const at: At = { field: path };
  if (path === '/intent') {
    if (op !== 'replace') throw unprocessable('INVALID_PATCH_OPERATION', INVALID_PATCH, at);
    if (value !== 'CAPTURE' && value !== 'AUTHORIZE') throw invalidRequest('INVALID_PARAMETER_VALUE', 'The value of a field is invalid.', `/${index}/value`, { value: String(value) });
    order.intent = value;
    return;
  }
  const m = /^\/purchase_units\/(?:@reference_id==(['"])(.*?)\1|(\d+))\/(.+)$/.exec(path);
  if (!m) {
    if (!path.startsWith('/') || /\/\//.test(path)) {
      throw invalidRequest('INVALID_JSON_POINTER_FORMAT', 'Path should be a valid JSON Pointer https://tools.ietf.org/html/rfc6901 that references a location within the request where the field or value of a field is invalid.', `/${index}/path`, { value: path });
    }
    throw invalidRequest('FIELD_NOT_PATCHABLE', 'Field cannot be patched.', path);
  }
  const units = order.purchase_units as Obj[];
  const unit = m[3] !== undefined ? units[Number(m[3])] : units.find((u) => u.reference_id === m[2]);
  if (!unit) throw unprocessable('REFERENCE_ID_NOT_FOUND', 'Filter expression value is incorrect. Check the value of the reference_id.', at);
  const rest = m[4];
  const ops = PATCHABLE[rest];
  if (!ops) throw invalidRequest('FIELD_NOT_PATCHABLE', 'Field cannot be patched.', path);
  if (!ops.includes(op)) throw unprocessable('INVALID_PATCH_OPERATION', INVALID_PATCH, at);
  const keys = rest.split('/');
  let holder: Obj = unit;
  for (const k of keys.slice(0, -1)) {
    holder[k] = obj(holder[k]) ?? {};
    holder = holder[k] as Obj;
  }
  const leaf = keys[keys.length - 1];
  const present = holder[leaf] !== undefined && holder[leaf] !== null;
  if ((op === 'add' && present && leaf !== 'items') || ((op === 'replace' || op === 'remove') && !present)) throw unprocessable('INVALID_PATCH_OPERATION', INVALID_PATCH, at);
  if (op === 'remove') delete holder[leaf];
  else holder[leaf] = value;
}

/** PayPal's simulated fee in PayPal units: 3.49% plus a fixed 0.49 (40 whole units where there are no decimals). */
export function simulatedFee(u: number, currency: string): number {
  return Math.round((u * 349) / 10000) + (paypalExponent(currency) === 0 ? 40 : 49);
}

interface Ledger {
  /** Transactions-API element. */
  details: Obj;
  currency: string;
  /** Net units to the balance (gross + fee, fee negative). */
  net: number;
  atMs: number;
}

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
  private readonly signingKey: KeyObject;

  readonly orders = new Map<string, Obj>();
  readonly captures = new Map<string, Obj>();
  readonly authorizations = new Map<string, Obj>();
  readonly refunds = new Map<string, Obj>();
  readonly payouts = new Map<string, Obj>();
  readonly webhooks = new Map<string, Obj>();
  readonly ledger: Ledger[] = [];
  /** How each approved order will fare at capture. */
  private readonly approvalOutcome = new Map<string, 'succeeded' | 'failed'>();
  private readonly tokens = new Map<string, number>();
  private readonly requestIds = new Map<string, SimulatorResponse>();
  private readonly tokenTtlSec: number;
  private readonly payoutSettleMs: number;
  private readonly retryDelaysMs: number[];
  private readonly opening: (currency: string) => string;
  private readonly tick?: NodeJS.Timeout;

  constructor(
    private readonly deps: SimulatorDeps,
    options: PaypalSimulatorOptions = {},
  ) {
    this.tokenTtlSec = options.tokenTtlSec ?? 32_400;
    this.payoutSettleMs = options.payoutSettleMs ?? 1_500;
    this.retryDelaysMs = options.retryDelaysMs ?? PAYPAL_RETRY_DELAYS_MS;
    this.opening = options.openingBalance ?? ((c) => (paypalExponent(c) === 0 ? '1000000' : '1000000.00'));
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
    const tickMs = options.tickMs ?? 200;
    if (tickMs > 0) {
      this.tick = setInterval(() => this.advance(), tickMs);
      this.tick.unref();
    }
  }

  private now(): number {
    return this.deps.clock();
  }

  private iso(ms = this.now()): string {
    return `${new Date(ms).toISOString().slice(0, 19)}Z`;
  }

  private base(): string {
    return this.deps.baseUrl?.() ?? 'http://127.0.0.1';
  }

  profile(baseUrl: string): Record<string, unknown> {
    return { baseUrl, clientId: this.clientId, clientSecret: this.clientSecret, webhookId: this.webhookId, certificate: this.certificatePem, caCertificate: this.caPem, merchantId: this.accountId };
  }

  async close(): Promise<void> {
    if (this.tick) clearInterval(this.tick);
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
      if (req.method === 'POST' && req.path === '/v1/oauth2/token') return this.token(req, headers);
      if (req.method === 'GET' && req.path === '/checkoutnow') return this.approvePage(req);
      if (req.method === 'GET' && req.path.startsWith('/v1/notifications/certs/')) {
        if (req.path.slice('/v1/notifications/certs/'.length) !== this.certId) throw notFound();
        return { status: 200, headers: { 'content-type': 'application/x-pem-file' }, body: this.certificatePem };
      }
      this.authenticate(req);
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
        const seen = this.requestIds.get(key);
        // PayPal answers a repeated PayPal-Request-Id with the stored answer of the first request.
        if (seen) return { ...seen, headers: { ...(seen.headers ?? {}), 'paypal-debug-id': debugId } };
        const res = this.respond(req, body, headers);
        if (res === undefined) return undefined;
        if (res.status < 500) this.requestIds.set(key, res);
        return res;
      }
      return this.respond(req, body, headers);
    } catch (err) {
      return this.errorResponse(err, headers, debugId);
    }
  }

  private errorResponse(err: unknown, headers: Record<string, string>, debugId: string): SimulatorResponse {
    if (err instanceof PaypalError) {
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
      const out = this.route(req, body) ?? this.throwNotFound();
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

  private token(req: SimulatorRequest, headers: Record<string, string>): SimulatorResponse {
    const m = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
    const [id, secret] = m ? Buffer.from(m[1], 'base64').toString('utf8').split(':') : [];
    if (id !== this.clientId || secret !== this.clientSecret) {
      throw new PaypalError(401, { error: 'invalid_client', error_description: 'Client Authentication failed' });
    }
    const grant = new URLSearchParams(req.body.toString('utf8')).get('grant_type');
    if (grant !== 'client_credentials') throw new PaypalError(400, { error: 'unsupported_grant_type', error_description: grant ? `Grant Type ${grant} is not supported` : 'Grant Type is NULL' });
    const token = `A21AA${randomBytes(40).toString('base64url')}`;
    this.tokens.set(token, this.now() + this.tokenTtlSec * 1000);
    return {
      status: 200,
      headers,
      body: JSON.stringify({
        scope: 'https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund https://uri.paypal.com/services/reporting/search/read https://uri.paypal.com/services/payments/payouts',
        access_token: token,
        token_type: 'Bearer',
        app_id: `APP-${pid(17)}`,
        expires_in: this.tokenTtlSec,
        nonce: `${this.iso()}${randomBytes(16).toString('base64url')}`,
      }),
    };
  }

  private authenticate(req: SimulatorRequest): void {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    const expires = m ? this.tokens.get(m[1].trim()) : undefined;
    if (expires === undefined || expires <= this.now()) {
      throw new PaypalError(401, {
        name: 'AUTHENTICATION_FAILURE',
        message: 'Authentication failed due to invalid authentication credentials or a missing Authorization header.',
        details: [],
        links: [{ href: 'https://developer.paypal.com/docs/api/overview/#error', rel: 'information_link' }],
      });
    }
  }

  /** Forgets every issued token (tests: the adapter must fetch a new one and carry on). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  private route(req: SimulatorRequest, body: unknown): { status: number; body?: unknown; minimal?: boolean } | undefined {
    const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    const m = req.method;
    const b = obj(body) ?? {};
    // /v2/checkout/orders[/:id[/capture]]
    if (parts[0] === 'v2' && parts[1] === 'checkout' && parts[2] === 'orders') {
      const [, , , id, action] = parts;
      if (m === 'POST' && !id) return { status: 201, body: this.createOrder(b), minimal: true };
      if (m === 'GET' && id && !action) return { status: 200, body: this.order(id) };
      if (m === 'PATCH' && id && !action) {
        this.patchOrder(this.order(id), body);
        return { status: 204 };
      }
      if (m === 'POST' && id && action === 'capture') return { status: 201, body: this.captureOrder(this.order(id)), minimal: true };
      if (m === 'POST' && id && action === 'authorize') return { status: 201, body: this.authorizeOrder(this.order(id)), minimal: true };
      return undefined;
    }
    if (parts[0] === 'v2' && parts[1] === 'payments') {
      const [, , kind, id, action] = parts;
      if (kind === 'captures' && m === 'GET' && id && !action) return { status: 200, body: this.captures.get(id) ?? this.throwNotFound() };
      if (kind === 'captures' && m === 'POST' && id && action === 'refund') return { status: 201, body: this.refund(this.captures.get(id) ?? this.throwNotFound(), b), minimal: true };
      if (kind === 'refunds' && m === 'GET' && id && !action) return { status: 200, body: this.refunds.get(id) ?? this.throwNotFound() };
      if (kind === 'authorizations' && m === 'GET' && id && !action) return { status: 200, body: this.authorizations.get(id) ?? this.throwNotFound() };
      if (kind === 'authorizations' && m === 'POST' && id && action === 'capture') return { status: 201, body: this.captureAuthorization(this.authorizations.get(id) ?? this.throwNotFound(), b), minimal: true };
      if (kind === 'authorizations' && m === 'POST' && id && action === 'void') return this.voidAuthorization(this.authorizations.get(id) ?? this.throwNotFound(), req.headers.prefer);
      return undefined;
    }
    if (parts[0] === 'v1' && parts[1] === 'payments' && parts[2] === 'payouts') {
      const id = parts[3];
      if (m === 'POST' && !id) return { status: 201, body: this.createPayout(b) };
      if (m === 'GET' && id) return { status: 200, body: this.payoutView(this.payouts.get(id) ?? this.throwNotFound()) };
      return undefined;
    }
    if (parts[0] === 'v1' && parts[1] === 'reporting') {
      if (m === 'GET' && parts[2] === 'balances') return { status: 200, body: this.balances(req.query) };
      if (m === 'GET' && parts[2] === 'transactions') return { status: 200, body: this.transactions(req.query) };
      return undefined;
    }
    if (parts[0] === 'v1' && parts[1] === 'notifications') {
      if (parts[2] === 'webhooks') {
        const id = parts[3];
        if (m === 'POST' && !id) return { status: 201, body: this.createWebhook(b) };
        if (m === 'GET' && !id) return { status: 200, body: { webhooks: [...this.webhooks.values()] } };
        if (m === 'GET' && id) return { status: 200, body: this.webhooks.get(id) ?? this.throwNotFound() };
        if (m === 'DELETE' && id) {
          if (!this.webhooks.delete(id)) this.throwNotFound();
          return { status: 204 };
        }
        return undefined;
      }
      if (parts[2] === 'verify-webhook-signature' && m === 'POST') return { status: 200, body: this.verifyWebhookSignature(b) };
    }
    return undefined;
  }

  private throwNotFound(): never {
    throw notFound();
  }

  // ---------------------------------------------------------------- orders

  private order(id: string): Obj {
    return this.orders.get(id) ?? this.throwNotFound();
  }

  private orderLinks(o: Obj): Obj[] {
    const id = String(o.id);
    const base = this.base();
    const links: Obj[] = [{ href: `${base}/v2/checkout/orders/${id}`, rel: 'self', method: 'GET' }];
    if (o.status === 'CREATED' || o.status === 'PAYER_ACTION_REQUIRED') {
      links.push({ href: `${base}/checkoutnow?token=${id}`, rel: o.status === 'PAYER_ACTION_REQUIRED' ? 'payer-action' : 'approve', method: 'GET' });
      links.push({ href: `${base}/v2/checkout/orders/${id}`, rel: 'update', method: 'PATCH' });
    }
    if (o.status !== 'COMPLETED' && o.status !== 'VOIDED') {
      const action = o.intent === 'AUTHORIZE' ? 'authorize' : 'capture';
      links.push({ href: `${base}/v2/checkout/orders/${id}/${action}`, rel: action, method: 'POST' });
    }
    return links;
  }

  private createOrder(b: Obj): Obj {
    if (b.intent !== 'CAPTURE' && b.intent !== 'AUTHORIZE') {
      if (b.intent === undefined) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'A required field / parameter is missing.', '/intent');
      throw invalidRequest('INVALID_PARAMETER_VALUE', 'The value of a field is invalid.', '/intent');
    }
    const units = Array.isArray(b.purchase_units) ? b.purchase_units : undefined;
    if (!units || units.length === 0) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'A required field / parameter is missing.', '/purchase_units');
    if (units.length > 1) throw unprocessable('MULTI_PURCHASE_UNIT_NOT_SUPPORTED', 'The pay sandbox takes one purchase unit per order.');
    const pu = obj(units[0]) ?? {};
    const ref = str(pu.reference_id) ?? 'default';
    checkPurchaseUnit(pu, ref);
    const invoiceId = str(pu.invoice_id);
    if (invoiceId && [...this.captures.values()].some((c) => c.invoice_id === invoiceId)) {
      throw unprocessable('DUPLICATE_INVOICE_ID', 'Duplicate Invoice ID detected. To avoid a potential duplicate transaction your account setting requires that Invoice Id be unique for each transaction.');
    }
    const id = pid(17);
    const experience = obj(obj(obj(b.payment_source)?.paypal)?.experience_context);
    const order: Obj = {
      id,
      intent: b.intent,
      status: experience ? 'PAYER_ACTION_REQUIRED' : 'CREATED',
      purchase_units: [
        {
          reference_id: ref,
          amount: pu.amount,
          payee: { email_address: 'merchant@pay-sandbox.example', merchant_id: this.accountId },
          description: pu.description,
          custom_id: pu.custom_id,
          invoice_id: pu.invoice_id,
          soft_descriptor: pu.soft_descriptor,
          items: pu.items,
          shipping: pu.shipping,
        },
      ],
      create_time: this.iso(),
    };
    if (experience) order.payment_source = { paypal: {} };
    order.links = this.orderLinks(order);
    this.orders.set(id, order);
    return order;
  }

  /** The payer approves (or approves with an instrument that will be declined). */
  private approve(order: Obj, outcome: 'succeeded' | 'failed'): void {
    if (order.status !== 'CREATED' && order.status !== 'PAYER_ACTION_REQUIRED') throw new Error(`PayPal order ${String(order.id)} is ${String(order.status)}, not waiting for the payer`);
    order.status = 'APPROVED';
    order.payer = { name: { given_name: 'Sandbox', surname: 'Payer' }, email_address: 'payer@pay-sandbox.example', payer_id: pid(13), address: { country_code: 'US' } };
    order.update_time = this.iso();
    order.links = this.orderLinks(order);
    this.approvalOutcome.set(String(order.id), outcome);
    this.emit('CHECKOUT.ORDER.APPROVED', 'checkout-order', order, 'An order has been approved by buyer');
  }

  private approvePage(req: SimulatorRequest): SimulatorResponse {
    const token = req.query.get('token') ?? '';
    const order = this.orders.get(token);
    if (!order) return { status: 404, headers: { 'content-type': 'text/html' }, body: '<h1>Unknown order</h1>' };
    if (order.status === 'CREATED' || order.status === 'PAYER_ACTION_REQUIRED') this.approve(order, req.query.get('outcome') === 'failed' ? 'failed' : 'succeeded');
    return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: `<h1>pay sandbox: PayPal order ${String(order.id)} is ${String(order.status)}</h1>` };
  }

  /**
   * What PayPal checks before it captures (intent CAPTURE) or authorizes (intent AUTHORIZE) an
   * order: the intent matches the action, it was not done already, the payer approved, and the
   * instrument is not declined.
   */
  private checkCompletable(order: Obj, intent: 'CAPTURE' | 'AUTHORIZE'): void {
    const [action, other] = intent === 'CAPTURE' ? ['capture', 'authorize'] : ['authorize', 'capture'];
    if (order.intent !== intent) {
      throw unprocessable(
        'ACTION_DOES_NOT_MATCH_INTENT',
        `Order was created with an intent to '${String(order.intent)}'. Please use v2/checkout/orders/order_id/${other} to complete the transaction or alternately Create an order with an intent of '${intent}'.`,
      );
    }
    if (order.status === 'COMPLETED') {
      const [issue, done] = intent === 'CAPTURE' ? ['ORDER_ALREADY_CAPTURED', 'captured'] : ['ORDER_ALREADY_AUTHORIZED', 'authorized'];
      throw unprocessable(issue, `Order already ${done}.If 'intent=${intent}' only one ${action === 'capture' ? 'capture' : 'authorization'} per order is allowed.`);
    }
    if (order.status !== 'APPROVED') throw unprocessable('ORDER_NOT_APPROVED', 'Payer has not yet approved the Order for payment. Please redirect the payer to the \'rel\':\'approve\' url returned as part of the HATEOAS links within the Create Order call or provide a valid payment_source in the request.');
    const id = String(order.id);
    if (this.approvalOutcome.get(id) === 'failed') {
      const err = unprocessable('INSTRUMENT_DECLINED', 'The instrument presented  was either declined by the processor or bank, or it can\'t be used for this payment.');
      (err.body.links as Obj[]).push({ href: `${this.base()}/checkoutnow?token=${id}`, rel: 'redirect', method: 'GET' });
      throw err;
    }
  }

  private captureOrder(order: Obj): Obj {
    this.checkCompletable(order, 'CAPTURE');
    const id = String(order.id);
    const pu = (order.purchase_units as Obj[])[0];
    const amount = obj(pu.amount)!;
    const currency = String(amount.currency_code);
    this.bookCapture(id, pu, currency, units(amount.value, currency)!, { invoice_id: pu.invoice_id, custom_id: pu.custom_id, final_capture: true });
    order.status = 'COMPLETED';
    order.update_time = this.iso();
    order.links = this.orderLinks(order);
    return order;
  }

  /** A completed capture of `gross` for an order: booked with its fee, listed on the order, announced. */
  private bookCapture(orderId: string, pu: Obj | undefined, currency: string, gross: number, fields: { invoice_id: unknown; custom_id: unknown; final_capture: boolean }): Obj {
    const id = orderId;
    const fee = simulatedFee(gross, currency);
    const captureId = pid(17);
    const now = this.iso();
    const capture: Obj = {
      id: captureId,
      status: 'COMPLETED',
      amount: { currency_code: currency, value: fmt(gross, currency) },
      final_capture: fields.final_capture,
      seller_protection: { status: 'ELIGIBLE', dispute_categories: ['ITEM_NOT_RECEIVED', 'UNAUTHORIZED_TRANSACTION'] },
      seller_receivable_breakdown: {
        gross_amount: { currency_code: currency, value: fmt(gross, currency) },
        paypal_fee: { currency_code: currency, value: fmt(fee, currency) },
        net_amount: { currency_code: currency, value: fmt(gross - fee, currency) },
      },
      invoice_id: fields.invoice_id,
      custom_id: fields.custom_id,
      supplementary_data: { related_ids: { order_id: id } },
      links: [
        { href: `${this.base()}/v2/payments/captures/${captureId}`, rel: 'self', method: 'GET' },
        { href: `${this.base()}/v2/payments/captures/${captureId}/refund`, rel: 'refund', method: 'POST' },
        { href: `${this.base()}/v2/checkout/orders/${id}`, rel: 'up', method: 'GET' },
      ],
      create_time: now,
      update_time: now,
    };
    this.captures.set(captureId, capture);
    if (pu) {
      const payments = obj(pu.payments) ?? {};
      pu.payments = { ...payments, captures: [...((payments.captures as Obj[] | undefined) ?? []), capture] };
    }
    this.record({ id: captureId, code: 'T0006', currency, gross, fee: -fee, invoice: str(fields.invoice_id), custom: str(fields.custom_id), reference: id, referenceType: 'ODR' });
    this.emit('PAYMENT.CAPTURE.COMPLETED', 'capture', capture, `Payment completed for ${fmt(gross, currency)} ${currency}`);
    return capture;
  }

  /**
   * PATCH /v2/checkout/orders/{id}: a JSON Patch array applied as PayPal does, all or nothing, to
   * an order not yet completed: the fields and operations of PayPal's patchable table, purchase
   * units addressed as `/purchase_units/@reference_id=='<ref>'/...`, and the resulting unit checked
   * again (amount against breakdown, items against item_total). Answers 204.
   */
  private patchOrder(order: Obj, body: unknown): void {
    if (!Array.isArray(body)) throw invalidRequest('MALFORMED_REQUEST_JSON', 'The request JSON is not well formed.', '/');
    if (order.status === 'COMPLETED' || order.status === 'VOIDED') throw unprocessable('ORDER_ALREADY_COMPLETED', 'The order cannot be patched after it is completed.');
    const next = JSON.parse(JSON.stringify(order)) as Obj;
    body.forEach((raw, i) => {
      const op = obj(raw) ?? {};
      const kind = op.op;
      if (kind === undefined) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'A required field / parameter is missing.', `/${i}/op`);
      if (kind !== 'add' && kind !== 'replace' && kind !== 'remove') throw invalidRequest('INVALID_PARAMETER_VALUE', 'The value of a field is invalid.', `/${i}/op`, { value: String(kind) });
      const path = str(op.path);
      if (!path) throw invalidRequest('PATCH_PATH_REQUIRED', "Please specify a 'path' for the field for which the operation needs to be performed.", `/${i}/path`);
      if (kind !== 'remove' && op.value === undefined) throw invalidRequest('PATCH_VALUE_REQUIRED', 'Please specify a value to for the field that is being patched.', `/${i}/value`);
      applyPatch(next, kind, path, op.value, i);
    });
    const pu = (next.purchase_units as Obj[])[0];
    checkPurchaseUnit(pu, String(pu.reference_id));
    Object.assign(order, next, { update_time: this.iso() });
    order.links = this.orderLinks(order);
  }

  // ---------------------------------------------------------------- authorizations

  /** POST /v2/checkout/orders/{id}/authorize: an approved AUTHORIZE order holds the payer's funds. */
  private authorizeOrder(order: Obj): Obj {
    this.checkCompletable(order, 'AUTHORIZE');
    const id = String(order.id);
    const pu = (order.purchase_units as Obj[])[0];
    const amount = obj(pu.amount)!;
    const authId = pid(17);
    const now = this.now();
    const authorization: Obj = {
      id: authId,
      status: 'CREATED',
      amount: { currency_code: amount.currency_code, value: amount.value },
      invoice_id: pu.invoice_id,
      custom_id: pu.custom_id,
      seller_protection: { status: 'ELIGIBLE', dispute_categories: ['ITEM_NOT_RECEIVED', 'UNAUTHORIZED_TRANSACTION'] },
      // PayPal honours an authorization for 3 days and keeps it capturable for 29.
      expiration_time: this.iso(now + 29 * 86_400_000),
      supplementary_data: { related_ids: { order_id: id } },
      links: [
        { href: `${this.base()}/v2/payments/authorizations/${authId}`, rel: 'self', method: 'GET' },
        { href: `${this.base()}/v2/payments/authorizations/${authId}/capture`, rel: 'capture', method: 'POST' },
        { href: `${this.base()}/v2/payments/authorizations/${authId}/void`, rel: 'void', method: 'POST' },
        { href: `${this.base()}/v2/payments/authorizations/${authId}/reauthorize`, rel: 'reauthorize', method: 'POST' },
        { href: `${this.base()}/v2/checkout/orders/${id}`, rel: 'up', method: 'GET' },
      ],
      create_time: this.iso(now),
      update_time: this.iso(now),
    };
    this.authorizations.set(authId, authorization);
    pu.payments = { ...(obj(pu.payments) ?? {}), authorizations: [authorization] };
    order.status = 'COMPLETED';
    order.update_time = this.iso(now);
    order.links = this.orderLinks(order);
    this.emit('PAYMENT.AUTHORIZATION.CREATED', 'authorization', authorization, `A payment authorization was created for ${String(amount.value)} ${String(amount.currency_code)}`);
    return order;
  }

  /**
   * POST /v2/payments/authorizations/{id}/capture: all of the authorization, or `amount` of it;
   * with `final_capture` (PayPal's default is false) the rest is released, else more captures may
   * follow up to the authorized amount.
   */
  private captureAuthorization(auth: Obj, b: Obj): Obj {
    if (auth.status === 'CAPTURED') throw unprocessable('AUTHORIZATION_ALREADY_CAPTURED', 'Authorization has been previously captured and hence cannot be captured again.');
    if (auth.status === 'VOIDED') throw unprocessable('AUTHORIZATION_VOIDED', 'A voided authorization cannot be captured or reauthorized.');
    if (auth.status !== 'CREATED' && auth.status !== 'PARTIALLY_CAPTURED') throw unprocessable('CANNOT_BE_CAPTURED', `A ${String(auth.status)} authorization cannot be captured.`);
    const authorized = obj(auth.amount)!;
    const currency = String(authorized.currency_code);
    const total = units(authorized.value, currency)!;
    const already = [...this.captures.values()].filter((c) => c._authorization === auth.id).reduce((sum, c) => sum + units(obj(c.amount)!.value, currency)!, 0);
    let amount = total - already;
    if (b.amount !== undefined) {
      const a = checkAmount(b.amount, '/amount', 'currency_code');
      if (a.currency !== currency) throw unprocessable('CURRENCY_MISMATCH', 'Currency of capture must be the same as currency of authorization.');
      amount = a.units;
    }
    if (b.final_capture !== undefined && typeof b.final_capture !== 'boolean') throw invalidRequest('INVALID_PARAMETER_SYNTAX', 'The value of a field does not conform to the expected format.', '/final_capture');
    if (amount > total - already) throw unprocessable('MAX_CAPTURE_AMOUNT_EXCEEDED', 'Capture amount exceeds allowable limit.');
    const orderId = String(obj(obj(auth.supplementary_data)?.related_ids)?.order_id ?? '');
    const order = this.orders.get(orderId);
    const pu = order ? (order.purchase_units as Obj[])[0] : undefined;
    const finalCapture = b.final_capture === true || already + amount === total;
    const capture = this.bookCapture(orderId, pu, currency, amount, { invoice_id: str(b.invoice_id) ?? auth.invoice_id, custom_id: auth.custom_id, final_capture: finalCapture });
    Object.defineProperty(capture, '_authorization', { value: auth.id, enumerable: false });
    auth.status = finalCapture ? 'CAPTURED' : 'PARTIALLY_CAPTURED';
    auth.update_time = capture.create_time;
    return capture;
  }

  /**
   * POST /v2/payments/authorizations/{id}/void: 204, or 200 with the authorization under
   * `Prefer: return=representation`. An order whose every authorization is voided is VOIDED.
   */
  private voidAuthorization(auth: Obj, prefer: string | undefined): { status: number; body?: unknown } {
    if (auth.status === 'CAPTURED' || auth.status === 'PARTIALLY_CAPTURED') throw unprocessable('PREVIOUSLY_CAPTURED', 'Authorization has been previously captured and hence cannot be voided.');
    if (auth.status === 'VOIDED') throw unprocessable('PREVIOUSLY_VOIDED', 'Authorization has been previously voided and hence cannot be voided again.');
    if (auth.status !== 'CREATED' && auth.status !== 'PENDING') throw unprocessable('CANNOT_BE_VOIDED', `A ${String(auth.status)} authorization cannot be voided.`);
    auth.status = 'VOIDED';
    auth.update_time = this.iso();
    const orderId = str(obj(obj(auth.supplementary_data)?.related_ids)?.order_id);
    const order = orderId ? this.orders.get(orderId) : undefined;
    if (order) {
      order.status = 'VOIDED';
      order.update_time = auth.update_time;
      order.links = this.orderLinks(order);
    }
    this.emit('PAYMENT.AUTHORIZATION.VOIDED', 'authorization', auth, 'A payment authorization was voided');
    return /return=representation/i.test(prefer ?? '') ? { status: 200, body: auth } : { status: 204 };
  }

  // ---------------------------------------------------------------- refunds

  private refund(capture: Obj, b: Obj): Obj {
    if (capture.status === 'REFUNDED') throw unprocessable('CAPTURE_FULLY_REFUNDED', 'The capture has already been fully refunded.');
    if (capture.status !== 'COMPLETED' && capture.status !== 'PARTIALLY_REFUNDED') throw unprocessable('CANNOT_BE_REFUNDED', `A ${String(capture.status)} capture cannot be refunded.`);
    const captured = obj(capture.amount)!;
    const currency = String(captured.currency_code);
    const total = units(captured.value, currency)!;
    const refunded = [...this.refunds.values()].filter((r) => r._capture === capture.id && r.status === 'COMPLETED').reduce((s, r) => s + units(obj(r.amount)!.value, currency)!, 0);
    let amount = total - refunded;
    if (b.amount !== undefined) {
      const a = checkAmount(b.amount, '/amount', 'currency_code');
      if (a.currency !== currency) throw unprocessable('REFUND_CURRENCY_MISMATCH', `Refund must be in the capture currency ${currency}.`);
      amount = a.units;
    }
    if (amount > total - refunded) throw unprocessable('REFUND_AMOUNT_EXCEEDED', 'The refund amount must be less than or equal to the capture amount that has not yet been refunded.');
    const id = pid(17);
    const now = this.iso();
    const refund: Obj = {
      id,
      amount: { currency_code: currency, value: fmt(amount, currency) },
      invoice_id: b.invoice_id,
      custom_id: b.custom_id,
      note_to_payer: b.note_to_payer,
      seller_payable_breakdown: {
        gross_amount: { currency_code: currency, value: fmt(amount, currency) },
        paypal_fee: { currency_code: currency, value: fmt(0, currency) },
        net_amount: { currency_code: currency, value: fmt(amount, currency) },
        total_refunded_amount: { currency_code: currency, value: fmt(refunded + amount, currency) },
      },
      status: 'COMPLETED',
      create_time: now,
      update_time: now,
      links: [
        { href: `${this.base()}/v2/payments/refunds/${id}`, rel: 'self', method: 'GET' },
        { href: `${this.base()}/v2/payments/captures/${String(capture.id)}`, rel: 'up', method: 'GET' },
      ],
    };
    Object.defineProperty(refund, '_capture', { value: capture.id, enumerable: false });
    this.refunds.set(id, refund);
    capture.status = refunded + amount === total ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
    capture.update_time = now;
    const orderId = String(obj(obj(capture.supplementary_data)?.related_ids)?.order_id ?? '');
    const order = this.orders.get(orderId);
    if (order) {
      const pu = (order.purchase_units as Obj[])[0];
      const payments = obj(pu.payments) ?? {};
      payments.refunds = [...((payments.refunds as Obj[] | undefined) ?? []), refund];
      pu.payments = payments;
    }
    // Refund fees: PayPal keeps the fixed fee; the sandbox returns none, so the fee is 0.
    this.record({ id, code: 'T1107', currency, gross: -amount, fee: 0, invoice: str(b.invoice_id), custom: str(b.custom_id), reference: String(capture.id), referenceType: 'TXN' });
    this.emit('PAYMENT.CAPTURE.REFUNDED', 'refund', refund, `A ${fmt(amount, currency)} ${currency} capture payment was refunded`);
    return refund;
  }

  // ---------------------------------------------------------------- payouts

  private balanceUnits(currency: string): number {
    let u = units(this.opening(currency), currency) ?? 0;
    for (const l of this.ledger) if (l.currency === currency) u += l.net;
    for (const p of this.payouts.values()) {
      // A pending batch holds its funds; failed items give them back via no ledger entry.
      if (p._state === 'open') u -= p._units as number;
    }
    return u;
  }

  private createPayout(b: Obj): Obj {
    const header = obj(b.sender_batch_header);
    const senderBatchId = str(header?.sender_batch_id);
    if (!senderBatchId) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'A required field / parameter is missing.', 'sender_batch_header.sender_batch_id');
    if ([...this.payouts.values()].some((p) => obj(obj(p.batch_header)?.sender_batch_header)?.sender_batch_id === senderBatchId)) {
      throw new PaypalError(400, { name: 'USER_BUSINESS_ERROR', message: 'User business error.', details: [{ field: 'SENDER_BATCH_ID', location: 'body', issue: 'Batch with given sender_batch_id already exists' }], links: INFO_LINK('USER_BUSINESS_ERROR') });
    }
    const items = Array.isArray(b.items) ? b.items.map((i) => obj(i) ?? {}) : [];
    if (items.length !== 1) throw invalidRequest('VALIDATION_ERROR', 'The pay sandbox takes payout batches of exactly one item.', 'items');
    const item = items[0];
    const { currency, units: u } = checkAmount(item.amount, 'items[0].amount', 'currency');
    const receiver = str(item.receiver);
    if (!receiver) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'A required field / parameter is missing.', 'items[0].receiver');
    if (this.balanceUnits(currency) < u) throw new PaypalError(422, { name: 'INSUFFICIENT_FUNDS', message: 'Sender does not have sufficient funds. Please add funds and retry.', links: INFO_LINK('INSUFFICIENT_FUNDS') });
    const batchId = pid(13);
    const payout: Obj = {
      batch_header: {
        payout_batch_id: batchId,
        batch_status: 'PENDING',
        time_created: this.iso(),
        sender_batch_header: { sender_batch_id: senderBatchId, email_subject: header?.email_subject, recipient_type: header?.recipient_type },
        amount: { currency, value: fmt(u, currency) },
        fees: { currency, value: fmt(0, currency) },
      },
      items: [
        {
          payout_item_id: pid(13),
          transaction_id: null,
          transaction_status: 'PENDING',
          payout_item_fee: { currency, value: fmt(0, currency) },
          payout_batch_id: batchId,
          payout_item: { recipient_type: item.recipient_type ?? 'EMAIL', amount: { currency, value: fmt(u, currency) }, note: item.note, receiver, sender_item_id: item.sender_item_id, recipient_wallet: 'PAYPAL' },
        },
      ],
    };
    Object.defineProperty(payout, '_createdMs', { value: this.now(), enumerable: false, writable: true });
    Object.defineProperty(payout, '_units', { value: u, enumerable: false });
    Object.defineProperty(payout, '_state', { value: 'open', enumerable: false, writable: true });
    this.payouts.set(batchId, payout);
    return { batch_header: { payout_batch_id: batchId, batch_status: 'PENDING', sender_batch_header: (payout.batch_header as Obj).sender_batch_header }, links: [{ href: `${this.base()}/v1/payments/payouts/${batchId}`, rel: 'self', method: 'GET', encType: 'application/json' }] };
  }

  private payoutView(p: Obj): Obj {
    const id = String(obj(p.batch_header)!.payout_batch_id);
    return { ...p, links: [{ href: `${this.base()}/v1/payments/payouts/${id}`, rel: 'self', method: 'GET', encType: 'application/json' }] };
  }

  /** Moves payouts along by the clock and emits their events (on every request and tick). */
  advance(): void {
    const now = this.now();
    for (const p of this.payouts.values()) {
      const header = p.batch_header as Obj;
      const created = (p as { _createdMs?: number })._createdMs ?? now;
      if (header.batch_status === 'PENDING' && now >= created + this.payoutSettleMs / 2) header.batch_status = 'PROCESSING';
      if (header.batch_status === 'PROCESSING' && now >= created + this.payoutSettleMs) {
        const item = (p.items as Obj[])[0];
        const pi = item.payout_item as Obj;
        const amount = obj(pi.amount)!;
        const currency = String(amount.currency);
        const u = units(amount.value, currency)!;
        // A receiver whose local part contains "fail" plays an unregistered, non-receivable account.
        const fails = /fail/i.test(String(pi.receiver).split('@')[0]);
        header.batch_status = 'SUCCESS';
        header.time_completed = this.iso(now);
        item.time_processed = this.iso(now);
        (p as { _state?: string })._state = 'done';
        if (fails) {
          item.transaction_status = 'FAILED';
          item.errors = { name: 'RECEIVER_UNREGISTERED', message: 'Receiver is unregistered', information_link: 'https://developer.paypal.com/docs/api/payments.payouts-batch/#errors', details: [] };
          this.emit('PAYMENT.PAYOUTS-ITEM.FAILED', 'payouts_item', item, 'A payout item has failed');
        } else {
          item.transaction_status = 'SUCCESS';
          item.transaction_id = pid(17);
          this.record({ id: String(item.transaction_id), code: 'T0001', currency, gross: -u, fee: 0, invoice: undefined, custom: str(pi.sender_item_id), reference: String(header.payout_batch_id), referenceType: 'PAP' });
          this.emit('PAYMENT.PAYOUTS-ITEM.SUCCEEDED', 'payouts_item', item, `Payout item for ${fmt(u, currency)} ${currency} succeeded`);
        }
        this.emit('PAYMENT.PAYOUTSBATCH.SUCCESS', 'payouts', { batch_header: header }, 'Payouts batch completed successfully.');
      }
    }
  }

  // ---------------------------------------------------------------- reporting

  private record(t: { id: string; code: string; currency: string; gross: number; fee: number; invoice?: string; custom?: string; reference?: string; referenceType?: string }): void {
    const at = this.now();
    const iso = `${new Date(at).toISOString().slice(0, 19)}+0000`;
    const info: Obj = {
      paypal_account_id: this.accountId,
      transaction_id: t.id,
      transaction_event_code: t.code,
      transaction_initiation_date: iso,
      transaction_updated_date: iso,
      transaction_amount: { currency_code: t.currency, value: fmt(t.gross, t.currency) },
      transaction_status: 'S',
      protection_eligibility: '01',
    };
    if (t.fee !== 0) info.fee_amount = { currency_code: t.currency, value: fmt(t.fee, t.currency) };
    if (t.invoice) info.invoice_id = t.invoice;
    if (t.custom) info.custom_field = t.custom;
    if (t.reference) {
      info.paypal_reference_id = t.reference;
      info.paypal_reference_id_type = t.referenceType;
    }
    this.ledger.push({ details: { transaction_info: info }, currency: t.currency, net: t.gross + t.fee, atMs: at });
  }

  private balances(query: URLSearchParams): Obj {
    const currencies = new Set(['USD', ...this.ledger.map((l) => l.currency), ...[...this.payouts.values()].map((p) => String(obj(obj(p.batch_header)?.amount)?.currency))]);
    const only = query.get('currency_code');
    const list = [...currencies].filter((c) => PAYPAL_CURRENCIES.includes(c) && (!only || c === only)).sort();
    return {
      balances: list.map((c) => {
        const available = this.balanceUnits(c);
        return { currency: c, primary: c === 'USD', total_balance: { currency_code: c, value: fmt(available, c) }, available_balance: { currency_code: c, value: fmt(available, c) }, withheld_balance: { currency_code: c, value: fmt(0, c) } };
      }),
      account_id: this.accountId,
      as_of_time: this.iso(),
      last_refresh_time: this.iso(),
    };
  }

  private transactions(query: URLSearchParams): Obj {
    const parse = (name: string) => {
      const v = query.get(name);
      if (!v) throw invalidRequest('MISSING_REQUIRED_PARAMETER', `${name} is required.`, name);
      const ms = Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
      if (Number.isNaN(ms)) throw invalidRequest('INVALID_PARAMETER_SYNTAX', `${name} is not an Internet date-time.`, name);
      return ms;
    };
    const start = parse('start_date');
    const end = parse('end_date');
    if (end < start) throw invalidRequest('INVALID_DATE_RANGE', 'end_date must be after start_date.', 'end_date');
    if (end - start > 31 * 86_400_000) throw invalidRequest('INVALID_DATE_RANGE', 'The date range may be at most 31 days.', 'end_date');
    const pageSize = Math.min(500, Math.max(1, Number(query.get('page_size') ?? '100') || 100));
    const page = Math.max(1, Number(query.get('page') ?? '1') || 1);
    const hits = this.ledger.filter((l) => l.atMs >= start && l.atMs <= end + 999);
    const totalPages = Math.max(1, Math.ceil(hits.length / pageSize));
    return {
      transaction_details: hits.slice((page - 1) * pageSize, page * pageSize).map((l) => l.details),
      account_number: this.accountId,
      start_date: query.get('start_date'),
      end_date: query.get('end_date'),
      last_refreshed_datetime: this.iso(),
      page,
      total_items: hits.length,
      total_pages: totalPages,
      links: [{ href: `${this.base()}/v1/reporting/transactions?${query.toString()}`, rel: 'self', method: 'GET' }],
    };
  }

  // ---------------------------------------------------------------- webhooks

  private createWebhook(b: Obj): Obj {
    const url = str(b.url);
    if (!url || !/^https?:\/\//.test(url)) throw invalidRequest('INVALID_PARAMETER_SYNTAX', 'url must be an http(s) URL.', 'url');
    const types = Array.isArray(b.event_types) ? b.event_types.map((t) => str(obj(t)?.name)).filter((t): t is string => Boolean(t)) : [];
    if (types.length === 0) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'event_types is required.', 'event_types');
    const id = pid(17);
    const hook = { id, url, event_types: types.map((name) => ({ name })), links: [{ href: `${this.base()}/v1/notifications/webhooks/${id}`, rel: 'self', method: 'GET' }] };
    this.webhooks.set(id, hook);
    return hook;
  }

  /** The online alternative: PayPal re-checks a transmission for the merchant. */
  private verifyWebhookSignature(b: Obj): Obj {
    const event = b.webhook_event;
    const need = ['transmission_id', 'transmission_time', 'transmission_sig', 'webhook_id', 'cert_url', 'auth_algo'];
    const missing = need.filter((k) => typeof b[k] !== 'string');
    if (missing.length || !event) throw invalidRequest('MISSING_REQUIRED_PARAMETER', `${[...missing, ...(event ? [] : ['webhook_event'])].join(', ')} required.`, missing[0] ?? 'webhook_event');
    const body = Buffer.from(JSON.stringify(event), 'utf8');
    const message = transmissionMessage(String(b.transmission_id), String(b.transmission_time), String(b.webhook_id), body);
    const ok = verifyTransmission(new X509Certificate(this.certificatePem), message, String(b.transmission_sig));
    return { verification_status: ok ? 'SUCCESS' : 'FAILURE' };
  }

  /** Queues signed deliveries of an event: to the sandbox webhook URL and to registered webhooks. */
  private emit(eventType: string, resourceType: string, resource: Obj, summary: string): void {
    const snapshot = JSON.parse(JSON.stringify(resource)) as Obj;
    const targets: { url: string; webhookId: string }[] = [];
    const sandboxUrl = this.deps.webhookUrl?.();
    if (sandboxUrl) targets.push({ url: sandboxUrl, webhookId: this.webhookId });
    for (const w of this.webhooks.values()) {
      const names = (w.event_types as { name: string }[]).map((t) => t.name);
      if (names.includes('*') || names.includes(eventType)) targets.push({ url: String(w.url), webhookId: String(w.id) });
    }
    for (const t of targets) {
      const request = buildEvent(eventType, resourceType, snapshot, summary, {
        webhookId: t.webhookId,
        privateKey: this.signingKey,
        certUrl: `${this.base()}/v1/notifications/certs/${this.certId}`,
        nowMs: this.now(),
      });
      const n: Notification = {
        url: t.url,
        headers: request.headers,
        body: request.body,
        retryDelaysMs: this.retryDelaysMs,
        accepted: (status) => status >= 200 && status < 300,
        description: `paypal ${eventType} ${String(resource.id ?? obj(resource.batch_header)?.payout_batch_id ?? '')}`,
      };
      this.deps.notify(n);
    }
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
    this.approve(order, outcome);
  }

  /**
   * Writes the day's settlement report (STL, as PayPal drops it on its SFTP server) from the
   * simulator's books through the channel's own writer: every transaction of the UTC day.
   */
  async writeSettlementReport(date: string, path: string, options: { utf16?: boolean } = {}): Promise<number> {
    const start = Date.parse(`${date}T00:00:00Z`);
    const rows = this.ledger.filter((l) => l.atMs >= start && l.atMs < start + 86_400_000).map((l, i) => transactionRow(l.details, i + 1));
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

/**
 * Per-endpoint parameter checks for the Stripe simulator, answered the way Stripe answers them:
 * a parameter the endpoint does not take is `parameter_unknown` (with `param`, nested names as
 * `a[b]`), a bad integer `parameter_invalid_integer`, an empty string for a parameter that cannot
 * be unset `parameter_invalid_empty`, and a value outside an enum Stripe's "Invalid x: must be one
 * of a, b, or c" (Stripe gives that one no code; the codes above are Stripe's published list, as
 * in the `stripe` package's types). Code that passes here sends nothing Stripe would refuse for its
 * shape.
 */
import type { FormNode, FormObject } from './form.js';

/** What one parameter accepts. */
export type ParamSpec =
  | { t: 'string' }
  | { t: 'integer' }
  | { t: 'boolean' }
  /** Anything (a structure the simulator does not model; Stripe checks it, we do not). */
  | { t: 'any' }
  /** String keys to string values (metadata). */
  | { t: 'map' }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'object'; fields: Schema }
  | { t: 'array'; of: ParamSpec };

/** The parameters of one endpoint (or of one nested object). */
export type Schema = Record<string, ParamSpec>;

export const S: ParamSpec = { t: 'string' };
export const I: ParamSpec = { t: 'integer' };
export const B: ParamSpec = { t: 'boolean' };
export const ANY: ParamSpec = { t: 'any' };
export const MAP: ParamSpec = { t: 'map' };
export const E = (...values: string[]): ParamSpec => ({ t: 'enum', values });
export const O = (fields: Schema): ParamSpec => ({ t: 'object', fields });
export const A = (of: ParamSpec): ParamSpec => ({ t: 'array', of });

/** A refusal: the simulator turns it into Stripe's 400 invalid_request_error. */
export interface ParamProblem {
  message: string;
  param: string;
  code?: string;
}

/** "a, b, or c" / "a or b", as Stripe lists enum values. */
function oneOf(values: readonly string[]): string {
  if (values.length <= 2) return values.join(' or ');
  return `${values.slice(0, -1).join(', ')}, or ${values[values.length - 1]}`;
}

const emptyMessage = (p: string) =>
  `You passed an empty string for '${p}'. We assume empty values are an attempt to unset a parameter; however '${p}' cannot be unset. You should remove '${p}' from your request or supply a non-empty value.`;

function show(v: FormNode): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function checkValue(spec: ParamSpec, v: FormNode, name: string, unsettable: ReadonlySet<string>): ParamProblem | undefined {
  if (v === '' && spec.t !== 'any') {
    // An empty value unsets a parameter; only some parameters (on updates) can be unset.
    if (unsettable.has(name)) return undefined;
    return { message: emptyMessage(name), param: name, code: 'parameter_invalid_empty' };
  }
  switch (spec.t) {
    case 'any':
      return undefined;
    case 'string':
      return typeof v === 'string' ? undefined : { message: `Invalid string: ${show(v)}`, param: name };
    case 'integer':
      return typeof v === 'string' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))
        ? undefined
        : { message: `Invalid integer: ${show(v)}`, param: name, code: 'parameter_invalid_integer' };
    case 'boolean':
      return v === 'true' || v === 'false' ? undefined : { message: `Invalid boolean: ${show(v)}`, param: name };
    case 'enum':
      return typeof v === 'string' && spec.values.includes(v) ? undefined : { message: `Invalid ${name}: must be one of ${oneOf(spec.values)}`, param: name };
    case 'map':
      if (typeof v !== 'object' || Array.isArray(v)) return { message: 'Invalid object', param: name };
      return undefined;
    case 'array': {
      if (!Array.isArray(v)) return { message: 'Invalid array', param: name };
      for (let i = 0; i < v.length; i++) {
        if (v[i] === undefined) continue;
        const p = checkValue(spec.of, v[i], `${name}[${i}]`, unsettable);
        if (p) return p;
      }
      return undefined;
    }
    case 'object':
      if (typeof v !== 'object' || Array.isArray(v)) return { message: 'Invalid object', param: name };
      return checkObject(spec.fields, v, name, unsettable);
  }
}

function checkObject(schema: Schema, obj: FormObject, prefix: string, unsettable: ReadonlySet<string>): ParamProblem | undefined {
  for (const [key, value] of Object.entries(obj)) {
    const name = prefix ? `${prefix}[${key}]` : key;
    const spec = schema[key];
    if (!spec) return { message: `Received unknown parameter: ${name}`, param: name, code: 'parameter_unknown' };
    const p = checkValue(spec, value, name, unsettable);
    if (p) return p;
  }
  return undefined;
}

/**
 * Checks decoded parameters against an endpoint's schema; `expand` is taken everywhere, as by
 * Stripe. Returns the first problem, in the order the parameters came.
 */
export function checkParams(schema: Schema, params: FormObject, unsettable: readonly string[] = []): ParamProblem | undefined {
  return checkObject({ expand: A(S), ...schema }, params, '', new Set(unsettable));
}

// ------------------------------------------------------------------ endpoint schemas

const LIST: Schema = { limit: I, starting_after: S, ending_before: S };
const RANGE = ANY; // created[gte]=... or created=...: Stripe takes an integer or a range object.
const CAPTURE_METHOD = E('automatic', 'automatic_async', 'manual');
const SETUP_FUTURE_USAGE = E('off_session', 'on_session');

const PI_COMMON: Schema = {
  amount: I,
  currency: S,
  customer: S,
  description: S,
  metadata: MAP,
  payment_method: S,
  payment_method_options: ANY,
  payment_method_data: ANY,
  receipt_email: S,
  setup_future_usage: SETUP_FUTURE_USAGE,
  shipping: ANY,
  statement_descriptor: S,
  statement_descriptor_suffix: S,
  application_fee_amount: I,
  transfer_data: ANY,
  transfer_group: S,
  capture_method: CAPTURE_METHOD,
};

/** `payment_method_types` before API version endive, `allowed_payment_method_types` from it on. */
function typesParam(allowedTypes: boolean): Schema {
  return allowedTypes ? { allowed_payment_method_types: A(S) } : { payment_method_types: A(S) };
}

/** The schema of an endpoint, or undefined for one the simulator does not serve. */
export function endpointSchema(method: string, resource: string | undefined, id: string | undefined, action: string | undefined, allowedTypes: boolean): { schema: Schema; unsettable?: string[] } | undefined {
  const key = `${method} ${resource ?? ''}${id ? (id === 'search' ? '/search' : '/:id') : ''}${action ? `/${action}` : ''}`;
  switch (key) {
    case 'POST payment_intents':
      return {
        schema: {
          ...PI_COMMON,
          // Both are taken here so that createPaymentIntent can say which one the version wants.
          ...typesParam(true),
          ...typesParam(false),
          automatic_payment_methods: O({ enabled: B, allow_redirects: E('always', 'never') }),
          confirm: B,
          confirmation_method: E('automatic', 'manual'),
          error_on_requires_action: B,
          mandate: S,
          mandate_data: ANY,
          off_session: ANY,
          on_behalf_of: S,
          payment_method_configuration: S,
          radar_options: ANY,
          return_url: S,
          use_stripe_sdk: B,
        },
      };
    case 'POST payment_intents/:id':
      return { schema: { ...PI_COMMON, ...typesParam(allowedTypes) }, unsettable: ['description', 'metadata', 'receipt_email', 'shipping', 'setup_future_usage', 'statement_descriptor', 'statement_descriptor_suffix', 'customer', 'transfer_group'] };
    case 'POST payment_intents/:id/confirm':
      return {
        schema: {
          capture_method: CAPTURE_METHOD,
          error_on_requires_action: B,
          mandate: S,
          mandate_data: ANY,
          off_session: ANY,
          payment_method: S,
          payment_method_data: ANY,
          payment_method_options: ANY,
          ...typesParam(allowedTypes),
          radar_options: ANY,
          receipt_email: S,
          return_url: S,
          setup_future_usage: SETUP_FUTURE_USAGE,
          shipping: ANY,
          use_stripe_sdk: B,
        },
      };
    case 'POST payment_intents/:id/capture':
      return { schema: { amount_to_capture: I, application_fee_amount: I, final_capture: B, metadata: MAP, statement_descriptor: S, statement_descriptor_suffix: S, transfer_data: ANY } };
    case 'POST payment_intents/:id/cancel':
      return { schema: { cancellation_reason: E('duplicate', 'fraudulent', 'requested_by_customer', 'abandoned') } };
    case 'GET payment_intents':
      return { schema: { ...LIST, created: RANGE, customer: S } };
    case 'GET payment_intents/search':
      return { schema: { query: S, limit: I, page: S } };
    case 'GET payment_intents/:id':
      return { schema: { client_secret: S } };
    case 'GET charges':
      return { schema: { ...LIST, created: RANGE, customer: S, payment_intent: S, transfer_group: S } };
    case 'GET charges/:id':
    case 'GET refunds/:id':
    case 'GET payouts/:id':
    case 'GET balance_transactions/:id':
    case 'GET webhook_endpoints/:id':
    case 'DELETE webhook_endpoints/:id':
    case 'GET events/:id':
    case 'GET balance':
    case 'GET account':
    case 'GET files/:id':
      return { schema: {} };
    case 'POST refunds':
      return {
        schema: {
          amount: I,
          charge: S,
          currency: S,
          customer: S,
          instructions_email: S,
          metadata: MAP,
          origin: E('customer_balance'),
          payment_intent: S,
          reason: E('duplicate', 'fraudulent', 'requested_by_customer'),
          refund_application_fee: B,
          reverse_transfer: B,
        },
      };
    case 'GET refunds':
      return { schema: { ...LIST, charge: S, created: RANGE, payment_intent: S } };
    case 'POST payouts':
      return { schema: { amount: I, currency: S, description: S, destination: S, metadata: MAP, method: E('standard', 'instant'), payout_method: S, source_type: E('bank_account', 'card', 'fpx'), statement_descriptor: S } };
    case 'GET payouts':
      return { schema: { ...LIST, arrival_date: RANGE, created: RANGE, destination: S, status: S } };
    case 'GET balance_transactions':
      return { schema: { ...LIST, created: RANGE, currency: S, payout: S, source: S, type: S } };
    case 'POST webhook_endpoints':
      return { schema: { url: S, enabled_events: A(S), api_version: S, connect: B, description: S, metadata: MAP } };
    case 'GET webhook_endpoints':
      return { schema: LIST };
    case 'GET events':
      return { schema: { ...LIST, created: RANGE, delivery_success: B, type: S, types: A(S) } };
    case 'POST reporting/report_runs':
      return {
        schema: {
          report_type: S,
          parameters: O({ columns: A(S), connected_account: S, currency: S, interval_end: I, interval_start: I, payout: S, reporting_category: S, timezone: S }),
        },
      };
    default:
      return undefined;
  }
}

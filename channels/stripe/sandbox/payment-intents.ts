/**
 * PaymentIntents: create (with Stripe's amount rules), retrieve, update, list and search by
 * metadata or status; confirm, capture and cancel are in confirm-capture.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Router } from '../../../src/sandbox/router.js';
import { STRIPE_API_VERSION, usesAllowedTypes } from '../config.js';
import { stripeExponent } from '../currency.js';
import type { FormNode, FormObject } from '../form.js';
import { cancel, capture, confirm } from './confirm-capture.js';
import type { StripeSimulator } from './index.js';
import { expandObject, list } from './lists.js';
import { currencyOf, integer, invalidRequest, metadataOf, missing, rid, str, type Ctx, type Obj, type StripeHandler } from './params.js';
import { emit } from './webhooks.js';

/** Minimum charge amounts Stripe enforces, in Stripe's units (a few common currencies). */
const MINIMUM: Record<string, number> = { usd: 50, eur: 50, gbp: 30, jpy: 50, cad: 50, aud: 50, cny: 400, hkd: 400, sgd: 50, chf: 50 };

/** The PaymentIntent routes. */
export function paymentIntentRoutes(r: Router<StripeHandler>): void {
  r.post('/v1/payment_intents', (sim, { p, ctx, expand }) => expandObject(sim, createPaymentIntent(sim, p, ctx), expand));
  r.get('/v1/payment_intents/search', (sim, { p, expand }) => searchPaymentIntents(sim, p, expand));
  r.get('/v1/payment_intents', (sim, { p, expand }) => list(sim, [...sim.paymentIntents.values()], p, '/v1/payment_intents', expand));
  r.get('/v1/payment_intents/:id', (sim, { params, expand }) => expandObject(sim, intent(sim, params.id), expand));
  r.post('/v1/payment_intents/:id/confirm', (sim, { p, params, ctx, expand }) => {
    const pi = intent(sim, params.id);
    if (p.capture_method !== undefined && pi.status !== 'succeeded' && pi.status !== 'canceled' && pi.status !== 'requires_capture') pi.capture_method = str(p.capture_method);
    return expandObject(sim, confirm(sim, pi, str(p.payment_method), ctx), expand);
  });
  r.post('/v1/payment_intents/:id/capture', (sim, { p, params, ctx, expand }) => expandObject(sim, capture(sim, intent(sim, params.id), p, ctx), expand));
  r.post('/v1/payment_intents/:id/cancel', (sim, { p, params, ctx, expand }) => expandObject(sim, cancel(sim, intent(sim, params.id), str(p.cancellation_reason), ctx), expand));
  r.post('/v1/payment_intents/:id', (sim, { p, params, expand }) => expandObject(sim, updatePaymentIntent(sim, intent(sim, params.id), p), expand));
}

export function intent(sim: StripeSimulator, id: string): Obj {
  const pi = sim.paymentIntents.get(id);
  if (!pi) throw missing('payment_intent', id, 'intent');
  return pi;
}

export function createPaymentIntent(sim: StripeSimulator, p: FormObject, ctx: Ctx): Obj {
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
    created: sim.nowSec(),
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
  sim.paymentIntents.set(id, pi);
  emit(sim, 'payment_intent.created', pi, ctx);
  if (p.confirm === 'true') {
    const pm = str(p.payment_method);
    if (!pm) {
      throw invalidRequest('You cannot confirm this PaymentIntent because it\'s missing a payment method. To confirm the PaymentIntent with cus_..., specify a payment method attached to this customer along with the customer ID.', {
        code: 'payment_intent_unexpected_state',
        param: 'payment_method',
      });
    }
    return confirm(sim, pi, pm, ctx);
  }
  if (str(p.payment_method)) {
    pi.payment_method = str(p.payment_method);
    pi.status = 'requires_confirmation';
  }
  return pi;
}

/** POST /v1/payment_intents/{id}: what the update endpoint takes is applied, not just accepted. */
export function updatePaymentIntent(sim: StripeSimulator, pi: Obj, p: FormObject): Obj {
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

export function searchPaymentIntents(sim: StripeSimulator, p: FormObject, expand: string[]): Obj {
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
  const found = [...sim.paymentIntents.values()].filter((pi) => tests.every((t) => t(pi)));
  const listed = list(sim, found, { limit: p.limit ?? '10' }, '/v1/payment_intents/search', expand);
  return { object: 'search_result', data: listed.data, has_more: listed.has_more, next_page: null, url: '/v1/payment_intents/search' };
}

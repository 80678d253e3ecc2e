/**
 * Authorizations: an approved AUTHORIZE order holds the payer's funds; the hold is captured (in
 * part or whole, once or more) or voided.
 */
import type { Router } from '../../../src/sandbox/router.js';
import { bookCapture } from './captures-refunds.js';
import type { PaypalSimulator } from './index.js';
import { checkCompletable, orderLinks } from './orders.js';
import { checkAmount, invalidRequest, obj, pid, str, throwNotFound, unprocessable, units, type Obj, type PaypalHandler } from './params.js';
import { emit } from './webhooks.js';

/** The authorization routes. */
export function authorizationRoutes(r: Router<PaypalHandler>): void {
  r.get('/v2/payments/authorizations/:id', (sim, { params }) => ({ status: 200, body: sim.authorizations.get(params.id) ?? throwNotFound() }));
  r.post('/v2/payments/authorizations/:id/capture', (sim, { params, b }) => ({ status: 201, body: captureAuthorization(sim, sim.authorizations.get(params.id) ?? throwNotFound(), b), minimal: true }));
  r.post('/v2/payments/authorizations/:id/void', (sim, { params, req }) => voidAuthorization(sim, sim.authorizations.get(params.id) ?? throwNotFound(), req.headers.prefer));
}

/** POST /v2/checkout/orders/{id}/authorize: an approved AUTHORIZE order holds the payer's funds. */
export function authorizeOrder(sim: PaypalSimulator, order: Obj): Obj {
  checkCompletable(sim, order, 'AUTHORIZE');
  const id = String(order.id);
  const pu = (order.purchase_units as Obj[])[0];
  const amount = obj(pu.amount)!;
  const authId = pid(17);
  const now = sim.now();
  const authorization: Obj = {
    id: authId,
    status: 'CREATED',
    amount: { currency_code: amount.currency_code, value: amount.value },
    invoice_id: pu.invoice_id,
    custom_id: pu.custom_id,
    seller_protection: { status: 'ELIGIBLE', dispute_categories: ['ITEM_NOT_RECEIVED', 'UNAUTHORIZED_TRANSACTION'] },
    // PayPal honours an authorization for 3 days and keeps it capturable for 29.
    expiration_time: sim.iso(now + 29 * 86_400_000),
    supplementary_data: { related_ids: { order_id: id } },
    links: [
      { href: `${sim.base()}/v2/payments/authorizations/${authId}`, rel: 'self', method: 'GET' },
      { href: `${sim.base()}/v2/payments/authorizations/${authId}/capture`, rel: 'capture', method: 'POST' },
      { href: `${sim.base()}/v2/payments/authorizations/${authId}/void`, rel: 'void', method: 'POST' },
      { href: `${sim.base()}/v2/payments/authorizations/${authId}/reauthorize`, rel: 'reauthorize', method: 'POST' },
      { href: `${sim.base()}/v2/checkout/orders/${id}`, rel: 'up', method: 'GET' },
    ],
    create_time: sim.iso(now),
    update_time: sim.iso(now),
  };
  sim.authorizations.set(authId, authorization);
  pu.payments = { ...(obj(pu.payments) ?? {}), authorizations: [authorization] };
  order.status = 'COMPLETED';
  order.update_time = sim.iso(now);
  order.links = orderLinks(sim, order);
  emit(sim, 'PAYMENT.AUTHORIZATION.CREATED', 'authorization', authorization, `A payment authorization was created for ${String(amount.value)} ${String(amount.currency_code)}`);
  return order;
}

/**
 * POST /v2/payments/authorizations/{id}/capture: all of the authorization, or `amount` of it;
 * with `final_capture` (PayPal's default is false) the rest is released, else more captures may
 * follow up to the authorized amount.
 */
export function captureAuthorization(sim: PaypalSimulator, auth: Obj, b: Obj): Obj {
  if (auth.status === 'CAPTURED') throw unprocessable('AUTHORIZATION_ALREADY_CAPTURED', 'Authorization has been previously captured and hence cannot be captured again.');
  if (auth.status === 'VOIDED') throw unprocessable('AUTHORIZATION_VOIDED', 'A voided authorization cannot be captured or reauthorized.');
  if (auth.status !== 'CREATED' && auth.status !== 'PARTIALLY_CAPTURED') throw unprocessable('CANNOT_BE_CAPTURED', `A ${String(auth.status)} authorization cannot be captured.`);
  const authorized = obj(auth.amount)!;
  const currency = String(authorized.currency_code);
  const total = units(authorized.value, currency)!;
  const already = [...sim.captures.values()].filter((c) => c._authorization === auth.id).reduce((sum, c) => sum + units(obj(c.amount)!.value, currency)!, 0);
  let amount = total - already;
  if (b.amount !== undefined) {
    const a = checkAmount(b.amount, '/amount', 'currency_code');
    if (a.currency !== currency) throw unprocessable('CURRENCY_MISMATCH', 'Currency of capture must be the same as currency of authorization.');
    amount = a.units;
  }
  if (b.final_capture !== undefined && typeof b.final_capture !== 'boolean') throw invalidRequest('INVALID_PARAMETER_SYNTAX', 'The value of a field does not conform to the expected format.', '/final_capture');
  if (amount > total - already) throw unprocessable('MAX_CAPTURE_AMOUNT_EXCEEDED', 'Capture amount exceeds allowable limit.');
  const orderId = String(obj(obj(auth.supplementary_data)?.related_ids)?.order_id ?? '');
  const order = sim.orders.get(orderId);
  const pu = order ? (order.purchase_units as Obj[])[0] : undefined;
  const finalCapture = b.final_capture === true || already + amount === total;
  const capture = bookCapture(sim, orderId, pu, currency, amount, { invoice_id: str(b.invoice_id) ?? auth.invoice_id, custom_id: auth.custom_id, final_capture: finalCapture });
  Object.defineProperty(capture, '_authorization', { value: auth.id, enumerable: false });
  auth.status = finalCapture ? 'CAPTURED' : 'PARTIALLY_CAPTURED';
  auth.update_time = capture.create_time;
  return capture;
}

/**
 * POST /v2/payments/authorizations/{id}/void: 204, or 200 with the authorization under
 * `Prefer: return=representation`. An order whose every authorization is voided is VOIDED.
 */
export function voidAuthorization(sim: PaypalSimulator, auth: Obj, prefer: string | undefined): { status: number; body?: unknown } {
  if (auth.status === 'CAPTURED' || auth.status === 'PARTIALLY_CAPTURED') throw unprocessable('PREVIOUSLY_CAPTURED', 'Authorization has been previously captured and hence cannot be voided.');
  if (auth.status === 'VOIDED') throw unprocessable('PREVIOUSLY_VOIDED', 'Authorization has been previously voided and hence cannot be voided again.');
  if (auth.status !== 'CREATED' && auth.status !== 'PENDING') throw unprocessable('CANNOT_BE_VOIDED', `A ${String(auth.status)} authorization cannot be voided.`);
  auth.status = 'VOIDED';
  auth.update_time = sim.iso();
  const orderId = str(obj(obj(auth.supplementary_data)?.related_ids)?.order_id);
  const order = orderId ? sim.orders.get(orderId) : undefined;
  if (order) {
    order.status = 'VOIDED';
    order.update_time = auth.update_time;
    order.links = orderLinks(sim, order);
  }
  emit(sim, 'PAYMENT.AUTHORIZATION.VOIDED', 'authorization', auth, 'A payment authorization was voided');
  return /return=representation/i.test(prefer ?? '') ? { status: 200, body: auth } : { status: 204 };
}

/**
 * Orders v2: create (one purchase unit, checked as PayPal checks it), retrieve, PATCH, the
 * payer's approval (the approve link or `simulatePayment`), and capture of a CAPTURE order.
 * Authorizing an AUTHORIZE order is in authorizations.ts.
 */
import type { SimulatorRequest, SimulatorResponse } from '../../../src/sandbox/contract.js';
import type { Router } from '../../../src/sandbox/router.js';
import { authorizeOrder } from './authorizations.js';
import { bookCapture } from './captures-refunds.js';
import type { PaypalSimulator } from './index.js';
import { applyPatch, checkPurchaseUnit } from './order-checks.js';
import { invalidRequest, obj, pid, str, throwNotFound, unprocessable, units, type Obj, type PaypalHandler } from './params.js';
import { emit } from './webhooks.js';

/** The order routes. */
export function orderRoutes(r: Router<PaypalHandler>): void {
  r.post('/v2/checkout/orders', (sim, { b }) => ({ status: 201, body: createOrder(sim, b), minimal: true }));
  r.get('/v2/checkout/orders/:id', (sim, { params }) => ({ status: 200, body: orderById(sim, params.id) }));
  r.patch('/v2/checkout/orders/:id', (sim, { params, body }) => {
    patchOrder(sim, orderById(sim, params.id), body);
    return { status: 204 };
  });
  r.post('/v2/checkout/orders/:id/capture', (sim, { params }) => ({ status: 201, body: captureOrder(sim, orderById(sim, params.id)), minimal: true }));
  r.post('/v2/checkout/orders/:id/authorize', (sim, { params }) => ({ status: 201, body: authorizeOrder(sim, orderById(sim, params.id)), minimal: true }));
}

export function orderById(sim: PaypalSimulator, id: string): Obj {
  return sim.orders.get(id) ?? throwNotFound();
}

export function orderLinks(sim: PaypalSimulator, o: Obj): Obj[] {
  const id = String(o.id);
  const base = sim.base();
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

export function createOrder(sim: PaypalSimulator, b: Obj): Obj {
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
  if (invoiceId && [...sim.captures.values()].some((c) => c.invoice_id === invoiceId)) {
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
        payee: { email_address: 'merchant@pay-sandbox.example', merchant_id: sim.accountId },
        description: pu.description,
        custom_id: pu.custom_id,
        invoice_id: pu.invoice_id,
        soft_descriptor: pu.soft_descriptor,
        items: pu.items,
        shipping: pu.shipping,
      },
    ],
    create_time: sim.iso(),
  };
  if (experience) order.payment_source = { paypal: {} };
  order.links = orderLinks(sim, order);
  sim.orders.set(id, order);
  return order;
}

/** The payer approves (or approves with an instrument that will be declined). */
export function approve(sim: PaypalSimulator, order: Obj, outcome: 'succeeded' | 'failed'): void {
  if (order.status !== 'CREATED' && order.status !== 'PAYER_ACTION_REQUIRED') throw new Error(`PayPal order ${String(order.id)} is ${String(order.status)}, not waiting for the payer`);
  order.status = 'APPROVED';
  order.payer = { name: { given_name: 'Sandbox', surname: 'Payer' }, email_address: 'payer@pay-sandbox.example', payer_id: pid(13), address: { country_code: 'US' } };
  order.update_time = sim.iso();
  order.links = orderLinks(sim, order);
  sim.approvalOutcome.set(String(order.id), outcome);
  emit(sim, 'CHECKOUT.ORDER.APPROVED', 'checkout-order', order, 'An order has been approved by buyer');
}

export function approvePage(sim: PaypalSimulator, req: SimulatorRequest): SimulatorResponse {
  const token = req.query.get('token') ?? '';
  const order = sim.orders.get(token);
  if (!order) return { status: 404, headers: { 'content-type': 'text/html' }, body: '<h1>Unknown order</h1>' };
  if (order.status === 'CREATED' || order.status === 'PAYER_ACTION_REQUIRED') approve(sim, order, req.query.get('outcome') === 'failed' ? 'failed' : 'succeeded');
  return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: `<h1>pay sandbox: PayPal order ${String(order.id)} is ${String(order.status)}</h1>` };
}

/**
 * What PayPal checks before it captures (intent CAPTURE) or authorizes (intent AUTHORIZE) an
 * order: the intent matches the action, it was not done already, the payer approved, and the
 * instrument is not declined.
 */
export function checkCompletable(sim: PaypalSimulator, order: Obj, intent: 'CAPTURE' | 'AUTHORIZE'): void {
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
  if (sim.approvalOutcome.get(id) === 'failed') {
    const err = unprocessable('INSTRUMENT_DECLINED', 'The instrument presented  was either declined by the processor or bank, or it can\'t be used for this payment.');
    (err.body.links as Obj[]).push({ href: `${sim.base()}/checkoutnow?token=${id}`, rel: 'redirect', method: 'GET' });
    throw err;
  }
}

export function captureOrder(sim: PaypalSimulator, order: Obj): Obj {
  checkCompletable(sim, order, 'CAPTURE');
  const id = String(order.id);
  const pu = (order.purchase_units as Obj[])[0];
  const amount = obj(pu.amount)!;
  const currency = String(amount.currency_code);
  bookCapture(sim, id, pu, currency, units(amount.value, currency)!, { invoice_id: pu.invoice_id, custom_id: pu.custom_id, final_capture: true });
  order.status = 'COMPLETED';
  order.update_time = sim.iso();
  order.links = orderLinks(sim, order);
  return order;
}

/**
 * PATCH /v2/checkout/orders/{id}: a JSON Patch array applied as PayPal does, all or nothing, to
 * an order not yet completed: the fields and operations of PayPal's patchable table, purchase
 * units addressed as `/purchase_units/@reference_id=='<ref>'/...`, and the resulting unit checked
 * again (amount against breakdown, items against item_total). Answers 204.
 */
export function patchOrder(sim: PaypalSimulator, order: Obj, body: unknown): void {
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
  Object.assign(order, next, { update_time: sim.iso() });
  order.links = orderLinks(sim, order);
}

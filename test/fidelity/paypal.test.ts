/**
 * Fidelity of the PayPal simulator, driven over plain HTTP as PayPal's REST reference describes
 * the requests (OAuth2 client credentials, JSON bodies, JSON Patch): `Prefer` return=minimal vs
 * return=representation, items kept and checked against item_total, amount against breakdown,
 * decimal precision, PATCH of an order, intent AUTHORIZE with authorization captures, and PayPal's
 * error shape (name, message, debug_id, details[], links) on every path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPaypalHarness, type PaypalHarness } from '../../channels/paypal/test/harness.js';

let h: PaypalHarness;
let token: string;

beforeAll(async () => {
  h = await startPaypalHarness();
  const basic = Buffer.from(`${String(h.profile.clientId)}:${String(h.profile.clientSecret)}`).toString('base64');
  const res = await fetch(`${h.baseUrl}/v1/oauth2/token`, { method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
  expect(res.status).toBe(200);
  token = ((await res.json()) as { access_token: string }).access_token;
});

afterAll(async () => {
  await h?.close();
});

type Json = Record<string, any>;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await fetch(`${h.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : {}, headers: res.headers };
}

const FULL = { prefer: 'return=representation' };
const usd = (value: string) => ({ currency_code: 'USD', value });
const order = (unit: Json, intent = 'CAPTURE') => ({ intent, purchase_units: [unit] });
const REF = "/purchase_units/@reference_id=='default'";

/** PayPal's error shape, with the debug id of the answer's header. */
function expectPaypalError(r: { status: number; json: Json; headers: Headers }, status: number, name: string, issue?: string): Json {
  expect(r.status).toBe(status);
  expect(r.json).toMatchObject({ name, message: expect.any(String), debug_id: r.headers.get('paypal-debug-id'), details: expect.any(Array), links: expect.any(Array) });
  if (issue) expect(r.json.details[0].issue).toBe(issue);
  for (const d of r.json.details) expect(d).toMatchObject({ issue: expect.any(String), description: expect.any(String) });
  return r.json.details[0] ?? {};
}

describe('PayPal Prefer header', () => {
  it('answers a create with id, status and links by default (return=minimal) and the whole order with return=representation', async () => {
    const minimal = await call('POST', '/v2/checkout/orders', order({ amount: usd('10.00') }));
    expect(minimal.status).toBe(201);
    expect(Object.keys(minimal.json).sort()).toEqual(['id', 'links', 'status']);
    const explicit = await call('POST', '/v2/checkout/orders', order({ amount: usd('10.00') }), { prefer: 'return=minimal' });
    expect(Object.keys(explicit.json).sort()).toEqual(['id', 'links', 'status']);
    const full = await call('POST', '/v2/checkout/orders', order({ amount: usd('10.00') }), FULL);
    expect(full.json).toMatchObject({ intent: 'CAPTURE', status: 'CREATED', purchase_units: [{ amount: usd('10.00') }] });
  });
});

describe('PayPal amounts, breakdown and items', () => {
  const items = [
    { name: 'Tea', quantity: '2', unit_amount: usd('3.00') },
    { name: 'Cake', quantity: '1', unit_amount: usd('4.50') },
  ];

  it('keeps items and checks them against item_total, and amount against the breakdown', async () => {
    const ok = await call('POST', '/v2/checkout/orders', order({ amount: { ...usd('12.00'), breakdown: { item_total: usd('10.50'), shipping: usd('2.00'), discount: usd('0.50') } }, items }), FULL);
    expect(ok.status).toBe(201);
    const got = await call('GET', `/v2/checkout/orders/${ok.json.id}`);
    expect(got.json.purchase_units[0].items).toEqual(items);

    const itemMismatch = await call('POST', '/v2/checkout/orders', order({ amount: { ...usd('11.00'), breakdown: { item_total: usd('11.00') } }, items }));
    expect(expectPaypalError(itemMismatch, 422, 'UNPROCESSABLE_ENTITY', 'ITEM_TOTAL_MISMATCH')).toMatchObject({ field: `${REF}/amount/breakdown/item_total/value`, value: '11.00', location: 'body' });

    const amountMismatch = await call('POST', '/v2/checkout/orders', order({ amount: { ...usd('12.00'), breakdown: { item_total: usd('10.50'), shipping: usd('2.00') } }, items }));
    const d = expectPaypalError(amountMismatch, 422, 'UNPROCESSABLE_ENTITY', 'AMOUNT_MISMATCH');
    expect(d).toMatchObject({ field: `${REF}/amount/value`, value: '12.00', description: 'Should equal item_total + tax_total + shipping + handling + insurance - shipping_discount - discount.' });
    expect(amountMismatch.json.links[0].href).toContain('#error-AMOUNT_MISMATCH');

    const noTotal = await call('POST', '/v2/checkout/orders', order({ amount: usd('10.50'), items }));
    expectPaypalError(noTotal, 422, 'UNPROCESSABLE_ENTITY', 'ITEM_TOTAL_REQUIRED');

    const empty = await call('POST', '/v2/checkout/orders', order({ amount: usd('1.00'), description: '' }));
    expect(expectPaypalError(empty, 400, 'INVALID_REQUEST', 'INVALID_STRING_LENGTH')).toMatchObject({ field: `${REF}/description`, location: 'body' });
  });

  it('"12.345" USD is DECIMAL_PRECISION with PayPal\'s words; "12.5" JPY is DECIMALS_NOT_SUPPORTED', async () => {
    const r = await call('POST', '/v2/checkout/orders', order({ amount: usd('12.345') }));
    const d = expectPaypalError(r, 422, 'UNPROCESSABLE_ENTITY', 'DECIMAL_PRECISION');
    expect(d).toEqual({ field: `${REF}/amount/value`, value: '12.345', location: 'body', issue: 'DECIMAL_PRECISION', description: 'If the currency supports decimals, only two decimal place precision is supported.' });
    const jpy = await call('POST', '/v2/checkout/orders', order({ amount: { currency_code: 'JPY', value: '12.5' } }));
    expectPaypalError(jpy, 422, 'UNPROCESSABLE_ENTITY', 'DECIMALS_NOT_SUPPORTED');
  });
});

describe('PayPal PATCH /v2/checkout/orders/{id}', () => {
  it('is advertised by the update link and applies replace/add/remove as PayPal allows, answering 204', async () => {
    const created = await call('POST', '/v2/checkout/orders', order({ amount: usd('10.00') }), FULL);
    const update = created.json.links.find((l: Json) => l.rel === 'update');
    expect(update).toMatchObject({ method: 'PATCH' });
    const r = await call('PATCH', new URL(update.href).pathname, [
      { op: 'replace', path: `${REF}/amount`, value: { ...usd('14.00'), breakdown: { item_total: usd('12.00'), shipping: usd('2.00') } } },
      { op: 'add', path: `${REF}/items`, value: [{ name: 'Mug', quantity: '3', unit_amount: usd('4.00') }] },
      { op: 'add', path: `${REF}/invoice_id`, value: 'INV-PATCHED-1' },
      { op: 'add', path: `${REF}/description`, value: 'patched' },
    ]);
    expect(r.status).toBe(204);
    const got = await call('GET', `/v2/checkout/orders/${created.json.id}`);
    expect(got.json.purchase_units[0]).toMatchObject({ amount: { value: '14.00' }, invoice_id: 'INV-PATCHED-1', description: 'patched', items: [{ name: 'Mug' }] });
    const removed = await call('PATCH', `/v2/checkout/orders/${created.json.id}`, [{ op: 'remove', path: `${REF}/description` }]);
    expect(removed.status).toBe(204);
    expect((await call('GET', `/v2/checkout/orders/${created.json.id}`)).json.purchase_units[0].description).toBeUndefined();
    // The intent can be replaced (only replaced); the order then advertises authorize.
    expect((await call('PATCH', `/v2/checkout/orders/${created.json.id}`, [{ op: 'replace', path: '/intent', value: 'AUTHORIZE' }])).status).toBe(204);
    const after = await call('GET', `/v2/checkout/orders/${created.json.id}`);
    expect(after.json.intent).toBe('AUTHORIZE');
    expect(after.json.links.map((l: Json) => l.rel)).toContain('authorize');
    expectPaypalError(await call('PATCH', `/v2/checkout/orders/${created.json.id}`, [{ op: 'add', path: '/intent', value: 'CAPTURE' }]), 422, 'UNPROCESSABLE_ENTITY', 'INVALID_PATCH_OPERATION');
    expectPaypalError(await call('PATCH', `/v2/checkout/orders/${created.json.id}`, [{ op: 'replace', path: 'purchase_units', value: [] }]), 400, 'INVALID_REQUEST', 'INVALID_JSON_POINTER_FORMAT');
  });

  it('refuses what PayPal refuses, all or nothing', async () => {
    const created = await call('POST', '/v2/checkout/orders', order({ amount: usd('10.00'), description: 'before' }), FULL);
    const path = `/v2/checkout/orders/${created.json.id}`;
    // The second operation breaks the amount: the first is not applied either.
    const mismatch = await call('PATCH', path, [
      { op: 'replace', path: `${REF}/description`, value: 'after' },
      { op: 'replace', path: `${REF}/amount`, value: { ...usd('9.00'), breakdown: { item_total: usd('10.00') } } },
    ]);
    expectPaypalError(mismatch, 422, 'UNPROCESSABLE_ENTITY', 'AMOUNT_MISMATCH');
    expect((await call('GET', path)).json.purchase_units[0]).toMatchObject({ description: 'before', amount: usd('10.00') });

    expectPaypalError(await call('PATCH', path, [{ op: 'add', path: `${REF}/amount`, value: usd('1.00') }]), 422, 'UNPROCESSABLE_ENTITY', 'INVALID_PATCH_OPERATION');
    expectPaypalError(await call('PATCH', path, [{ op: 'replace', path: `${REF}/invoice_id`, value: 'X' }]), 422, 'UNPROCESSABLE_ENTITY', 'INVALID_PATCH_OPERATION');
    expectPaypalError(await call('PATCH', path, [{ op: 'replace', path: `${REF}/payee/merchant_id`, value: 'X' }]), 400, 'INVALID_REQUEST', 'FIELD_NOT_PATCHABLE');
    expectPaypalError(await call('PATCH', path, [{ op: 'replace', path: "/purchase_units/@reference_id=='nope'/description", value: 'X' }]), 422, 'UNPROCESSABLE_ENTITY', 'REFERENCE_ID_NOT_FOUND');
    expectPaypalError(await call('PATCH', path, [{ op: 'replace', value: 'X' }]), 400, 'INVALID_REQUEST', 'PATCH_PATH_REQUIRED');
    expectPaypalError(await call('PATCH', path, [{ op: 'replace', path: `${REF}/description` }]), 400, 'INVALID_REQUEST', 'PATCH_VALUE_REQUIRED');
    expectPaypalError(await call('PATCH', path, { op: 'replace' }), 400, 'INVALID_REQUEST', 'MALFORMED_REQUEST_JSON');
    expectPaypalError(await call('PATCH', path, [{ op: 'replace', path: `${REF}/amount`, value: usd('10.001') }]), 422, 'UNPROCESSABLE_ENTITY', 'DECIMAL_PRECISION');

    // Approve through the approve link, capture, and the completed order cannot be patched.
    const approve = created.json.links.find((l: Json) => l.rel === 'approve');
    expect((await fetch(approve.href)).status).toBe(200);
    expect((await call('POST', `${path}/capture`, {}, FULL)).json.status).toBe('COMPLETED');
    expectPaypalError(await call('PATCH', path, [{ op: 'replace', path: `${REF}/description`, value: 'late' }]), 422, 'UNPROCESSABLE_ENTITY', 'ORDER_ALREADY_COMPLETED');
  });
});

describe('PayPal intent AUTHORIZE', () => {
  it('authorizes an approved order and captures the authorization in part, then no more', async () => {
    const created = await call('POST', '/v2/checkout/orders', order({ amount: usd('20.00') }, 'AUTHORIZE'), FULL);
    expect(created.json.links.map((l: Json) => l.rel)).toContain('authorize');
    const path = `/v2/checkout/orders/${created.json.id}`;
    expect((await fetch(created.json.links.find((l: Json) => l.rel === 'approve').href)).status).toBe(200);
    expectPaypalError(await call('POST', `${path}/capture`, {}), 422, 'UNPROCESSABLE_ENTITY', 'ACTION_DOES_NOT_MATCH_INTENT');
    const authorized = await call('POST', `${path}/authorize`, {}, FULL);
    expect(authorized.status).toBe(201);
    const auth = authorized.json.purchase_units[0].payments.authorizations[0];
    expect(auth).toMatchObject({ status: 'CREATED', amount: usd('20.00') });
    const captureLink = new URL(auth.links.find((l: Json) => l.rel === 'capture').href).pathname;
    expectPaypalError(await call('POST', captureLink, { amount: usd('20.01') }), 422, 'UNPROCESSABLE_ENTITY', 'MAX_CAPTURE_AMOUNT_EXCEEDED');
    const part = await call('POST', captureLink, { amount: usd('5.00') }, FULL);
    expect(part.json).toMatchObject({ status: 'COMPLETED', amount: usd('5.00'), final_capture: false });
    expect((await call('GET', `/v2/payments/authorizations/${auth.id}`)).json.status).toBe('PARTIALLY_CAPTURED');
    const last = await call('POST', captureLink, { amount: usd('10.00'), final_capture: true });
    expect(Object.keys(last.json).sort()).toEqual(['id', 'links', 'status']);
    expect((await call('GET', `/v2/payments/authorizations/${auth.id}`)).json.status).toBe('CAPTURED');
    expectPaypalError(await call('POST', captureLink, {}), 422, 'UNPROCESSABLE_ENTITY', 'AUTHORIZATION_ALREADY_CAPTURED');
    const got = await call('GET', path);
    expect(got.json.purchase_units[0].payments.captures.map((c: Json) => c.amount.value)).toEqual(['5.00', '10.00']);
  });
});

describe('PayPal error shape on every path', () => {
  it('401, 404 (resource and path), 400 parse errors and missing fields all carry name, message, debug_id, details and links', async () => {
    const bad = await fetch(`${h.baseUrl}/v2/checkout/orders/X`, { headers: { authorization: 'Bearer not-a-token' } });
    const badJson = (await bad.json()) as Json;
    expectPaypalError({ status: bad.status, json: badJson, headers: bad.headers }, 401, 'AUTHENTICATION_FAILURE');
    expectPaypalError(await call('GET', '/v2/checkout/orders/NOSUCHORDER'), 404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID');
    expectPaypalError(await call('GET', '/v2/checkout/nothing-here'), 404, 'RESOURCE_NOT_FOUND');
    const parse = await call('POST', '/v2/checkout/orders', '{"intent": ');
    expect(expectPaypalError(parse, 400, 'INVALID_REQUEST', 'MALFORMED_REQUEST_JSON')).toMatchObject({ field: '/', location: 'body' });
    const noIntent = await call('POST', '/v2/checkout/orders', { purchase_units: [{ amount: usd('1.00') }] });
    expect(expectPaypalError(noIntent, 400, 'INVALID_REQUEST', 'MISSING_REQUIRED_PARAMETER')).toMatchObject({ field: '/intent', location: 'body' });
    const badIntent = await call('POST', '/v2/checkout/orders', order({ amount: usd('1.00') }, 'SALE'));
    expectPaypalError(badIntent, 400, 'INVALID_REQUEST', 'INVALID_PARAMETER_VALUE');
  });

  it('pay\'s own adapter still works against it (collect, approve, capture, refund)', async () => {
    const adapter = await h.adapter();
    const orderNo = `P${Date.now()}FIDELITY`;
    const c = await adapter.collect({ orderNo, amountMinor: 1234, currency: 'USD', subject: 'fidelity' });
    await h.sim.simulatePayment(orderNo);
    const q = await adapter.queryCollect({ orderNo, channelTradeNo: c.channelTradeNo, amountMinor: 1234, currency: 'USD', createdAt: new Date().toISOString() });
    expect(q.status).toBe('succeeded');
    const r = await adapter.refund({ orderNo, refundNo: `R${Date.now()}FIDELITY`, channelTradeNo: c.channelTradeNo, amountMinor: 234, totalMinor: 1234, currency: 'USD', orderCreatedAt: new Date().toISOString() });
    expect(r.status).toBe('succeeded');
    // An empty subject is left out, not sent as an empty description PayPal refuses.
    expect((await adapter.collect({ orderNo: `P${Date.now()}EMPTYSUBJ`, amountMinor: 100, currency: 'USD', subject: '' })).status).toBe('pending');
  });
});

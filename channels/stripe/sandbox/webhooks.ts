/**
 * Webhooks: endpoints registered through the API, the event log, and events signed with
 * `Stripe-Signature` (whsec_) sent to the sandbox webhook URL and to matching endpoints, retried
 * on a compressed schedule by the sandbox's notifier.
 */
import { randomBytes } from 'node:crypto';
import { webhookNotification } from '../../../src/sandbox/notifier.js';
import type { Router } from '../../../src/sandbox/router.js';
import { buildEvent } from '../callback.js';
import { STRIPE_API_VERSION } from '../config.js';
import type { FormObject } from '../form.js';
import type { StripeSimulator } from './index.js';
import { list } from './lists.js';
import { invalidRequest, metadataOf, missing, rid, str, throwMissing, type Ctx, type Obj, type StripeHandler } from './params.js';

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

/** The webhook endpoint and event routes. */
export function webhookRoutes(r: Router<StripeHandler>): void {
  r.post('/v1/webhook_endpoints', (sim, { p }) => createWebhookEndpoint(sim, p));
  r.get('/v1/webhook_endpoints', (sim, { p }) => list(sim, [...sim.webhookEndpoints.values()].map(hideSecret), p, '/v1/webhook_endpoints', []));
  r.get('/v1/webhook_endpoints/:id', (sim, { params }) => hideSecret(sim.webhookEndpoints.get(params.id) ?? throwMissing('webhook endpoint', params.id, 'webhook_endpoint')));
  r.delete('/v1/webhook_endpoints/:id', (sim, { params }) => {
    if (!sim.webhookEndpoints.delete(params.id)) throw missing('webhook endpoint', params.id, 'webhook_endpoint');
    return { id: params.id, object: 'webhook_endpoint', deleted: true };
  });
  r.get('/v1/events/:id', (sim, { params }) => sim.events.get(params.id) ?? throwMissing('event', params.id));
  r.get('/v1/events', (sim, { p }) => list(sim, [...sim.events.values()].filter((e) => !str(p.type) || e.type === p.type), p, '/v1/events', []));
}

function hideSecret(w: Obj): Obj {
  const { secret: _secret, ...rest } = w;
  return rest;
}

export function createWebhookEndpoint(sim: StripeSimulator, p: FormObject): Obj {
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
    created: sim.nowSec(),
    enabled_events: list,
    livemode: false,
    metadata: metadataOf(p),
    secret: `whsec_${randomBytes(24).toString('base64url')}`,
    status: 'enabled',
    url,
  };
  sim.webhookEndpoints.set(endpoint.id, endpoint);
  return endpoint;
}

/** Records an event and queues signed deliveries (sandbox webhook URL + matching endpoints). */
export function emit(sim: StripeSimulator, type: string, object: Obj, ctx: Ctx): void {
  const snapshot = JSON.parse(JSON.stringify(object)) as Obj;
  const id = rid('evt');
  const targets: { url: string; secret: string }[] = [];
  const sandboxUrl = sim.deps.webhookUrl?.();
  if (sandboxUrl && SANDBOX_WEBHOOK_EVENTS.includes(type)) targets.push({ url: sandboxUrl, secret: sim.webhookSecret });
  for (const w of sim.webhookEndpoints.values()) {
    const events = w.enabled_events as string[];
    if (w.status === 'enabled' && (events.includes('*') || events.includes(type))) targets.push({ url: w.url as string, secret: w.secret });
  }
  let recorded: Obj | undefined;
  for (const t of targets) {
    const request = buildEvent(t.secret, type, snapshot, { nowMs: sim.now(), apiVersion: STRIPE_API_VERSION, id, requestId: ctx.requestId, idempotencyKey: ctx.idempotencyKey });
    recorded ??= JSON.parse(request.body.toString('utf8')) as Obj;
    sim.deps.notify(webhookNotification(t.url, request, sim.retryDelaysMs, `stripe ${type} ${String(object.id)}`));
  }
  sim.events.set(id, recorded ?? { id, object: 'event', api_version: STRIPE_API_VERSION, created: sim.nowSec(), data: { object: snapshot }, livemode: false, pending_webhooks: 0, type });
}

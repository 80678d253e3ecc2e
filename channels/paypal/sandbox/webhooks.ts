/**
 * Webhooks: registrations, PayPal's online signature check, and events whose transmission
 * headers are signed SHA256withRSA with the simulator's certificate, queued for delivery with
 * retries to the sandbox webhook URL and to matching registrations.
 */
import { X509Certificate } from 'node:crypto';
import { webhookNotification } from '../../../src/sandbox/notifier.js';
import type { Router } from '../../../src/sandbox/router.js';
import { buildEvent } from '../callback.js';
import { transmissionMessage, verifyTransmission } from '../signature.js';
import type { PaypalSimulator } from './index.js';
import { invalidRequest, obj, pid, str, throwNotFound, type Obj, type PaypalHandler } from './params.js';

/** The webhook routes. */
export function webhookRoutes(r: Router<PaypalHandler>): void {
  r.post('/v1/notifications/webhooks', (sim, { b }) => ({ status: 201, body: createWebhook(sim, b) }));
  r.get('/v1/notifications/webhooks', (sim) => ({ status: 200, body: { webhooks: [...sim.webhooks.values()] } }));
  r.get('/v1/notifications/webhooks/:id', (sim, { params }) => ({ status: 200, body: sim.webhooks.get(params.id) ?? throwNotFound() }));
  r.delete('/v1/notifications/webhooks/:id', (sim, { params }) => {
    if (!sim.webhooks.delete(params.id)) throwNotFound();
    return { status: 204 };
  });
  r.post('/v1/notifications/verify-webhook-signature', (sim, { b }) => ({ status: 200, body: verifyWebhookSignature(sim, b) }));
}

export function createWebhook(sim: PaypalSimulator, b: Obj): Obj {
  const url = str(b.url);
  if (!url || !/^https?:\/\//.test(url)) throw invalidRequest('INVALID_PARAMETER_SYNTAX', 'url must be an http(s) URL.', 'url');
  const types = Array.isArray(b.event_types) ? b.event_types.map((t) => str(obj(t)?.name)).filter((t): t is string => Boolean(t)) : [];
  if (types.length === 0) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'event_types is required.', 'event_types');
  const id = pid(17);
  const hook = { id, url, event_types: types.map((name) => ({ name })), links: [{ href: `${sim.base()}/v1/notifications/webhooks/${id}`, rel: 'self', method: 'GET' }] };
  sim.webhooks.set(id, hook);
  return hook;
}

/** The online alternative: PayPal re-checks a transmission for the merchant. */
export function verifyWebhookSignature(sim: PaypalSimulator, b: Obj): Obj {
  const event = b.webhook_event;
  const need = ['transmission_id', 'transmission_time', 'transmission_sig', 'webhook_id', 'cert_url', 'auth_algo'];
  const missing = need.filter((k) => typeof b[k] !== 'string');
  if (missing.length || !event) throw invalidRequest('MISSING_REQUIRED_PARAMETER', `${[...missing, ...(event ? [] : ['webhook_event'])].join(', ')} required.`, missing[0] ?? 'webhook_event');
  const body = Buffer.from(JSON.stringify(event), 'utf8');
  const message = transmissionMessage(String(b.transmission_id), String(b.transmission_time), String(b.webhook_id), body);
  const ok = verifyTransmission(new X509Certificate(sim.certificatePem), message, String(b.transmission_sig));
  return { verification_status: ok ? 'SUCCESS' : 'FAILURE' };
}

/** Queues signed deliveries of an event: to the sandbox webhook URL and to registered webhooks. */
export function emit(sim: PaypalSimulator, eventType: string, resourceType: string, resource: Obj, summary: string): void {
  const snapshot = JSON.parse(JSON.stringify(resource)) as Obj;
  const targets: { url: string; webhookId: string }[] = [];
  const sandboxUrl = sim.deps.webhookUrl?.();
  if (sandboxUrl) targets.push({ url: sandboxUrl, webhookId: sim.webhookId });
  for (const w of sim.webhooks.values()) {
    const names = (w.event_types as { name: string }[]).map((t) => t.name);
    if (names.includes('*') || names.includes(eventType)) targets.push({ url: String(w.url), webhookId: String(w.id) });
  }
  for (const t of targets) {
    const request = buildEvent(eventType, resourceType, snapshot, summary, {
      webhookId: t.webhookId,
      privateKey: sim.signingKey,
      certUrl: `${sim.base()}/v1/notifications/certs/${sim.certId}`,
      nowMs: sim.now(),
    });
    sim.deps.notify(webhookNotification(t.url, request, sim.retryDelaysMs, `paypal ${eventType} ${String(resource.id ?? obj(resource.batch_header)?.payout_batch_id ?? '')}`));
  }
}

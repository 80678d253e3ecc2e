/**
 * Stripe webhook events: offline verification (`pay verify`), the normalised event they claim,
 * and a builder for signed events (the simulator and tests).
 *
 * Event body (API shape): {"id":"evt_...","object":"event","api_version":"...","created":<unix>,
 * "type":"payment_intent.succeeded","data":{"object":{...the PaymentIntent...}},"livemode":false,
 * "pending_webhooks":1,"request":{"id":"req_...","idempotency_key":"..."}}.
 * Stripe accepts any 2xx as delivered; we answer 200 {"received":true}, and 400 when invalid so
 * Stripe retries (with its schedule) rather than dropping a real event on a misconfigured key.
 */
import { bodyDedupKey, buildJsonCallback, JSON_RECEIVED_REPLY, jsonErrorReply, newEventId, parseJsonBody } from '../../src/channel/callback-kit.js';
import type { CallbackEvent, CallbackHandler, CallbackVerdict, RawRequest, VerifyOptions } from '../../src/channel/contract.js';
import { hasAscii } from '../../src/channel/detect.js';
import type { OrderStatus, RefundStatus } from '../../src/core/order.js';
import { isKnownCurrency } from '../../src/core/money.js';
import { isoUtc } from '../../src/core/time.js';
import { fromStripeAmount } from './currency.js';
import { DEFAULT_TOLERANCE_SEC, SIGNATURE_HEADER, signHeader, verifyHeader } from './signature.js';

/** A Stripe event as parsed from the body. */
export interface StripeEvent {
  id: string;
  type: string;
  created?: number;
  object: Record<string, unknown>;
}

/** Parses an event body; a string says why it is not one. */
export function parseEvent(body: Buffer): StripeEvent | string {
  const parsed = parseJsonBody(body);
  if (typeof parsed === 'string') return parsed;
  const o = parsed.json as Record<string, unknown>;
  if (!o || typeof o !== 'object' || Array.isArray(o) || typeof o.id !== 'string') return 'body is not a Stripe event (a JSON object with an "id")';
  // Only the signature is authoritative: an event without data (a ping, a test vector) is still
  // genuine, it just claims nothing about an order.
  const data = o.data as Record<string, unknown> | undefined;
  const object = data && typeof data.object === 'object' && data.object !== null ? (data.object as Record<string, unknown>) : {};
  return { id: o.id, type: typeof o.type === 'string' ? o.type : 'unknown', created: typeof o.created === 'number' ? o.created : undefined, object };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function meta(obj: Record<string, unknown>, key: string): string | undefined {
  const m = obj.metadata;
  return m && typeof m === 'object' ? str((m as Record<string, unknown>)[key]) : undefined;
}

/** Maps a PaymentIntent's status to pay's order status. */
export function paymentIntentStatus(pi: Record<string, unknown>): Extract<OrderStatus, 'pending' | 'succeeded' | 'failed' | 'closed'> {
  switch (pi.status) {
    case 'succeeded':
      return 'succeeded';
    case 'canceled':
      return 'closed';
    case 'requires_payment_method':
      // A declined attempt sends the intent back here with last_payment_error set.
      return pi.last_payment_error ? 'failed' : 'pending';
    default:
      return 'pending';
  }
}

/** Maps a Refund's status to pay's refund status. */
export function refundStatus(status: unknown): RefundStatus {
  switch (status) {
    case 'succeeded':
      return 'succeeded';
    case 'failed':
    case 'canceled':
      return 'failed';
    default:
      return 'pending';
  }
}

/** Maps a Payout's status to pay's order status. */
export function payoutStatus(status: unknown): Extract<OrderStatus, 'pending' | 'succeeded' | 'failed'> {
  if (status === 'paid') return 'succeeded';
  if (status === 'failed' || status === 'canceled') return 'failed';
  return 'pending';
}

function money(obj: Record<string, unknown>, amountKey: string): { amountMinor?: number; currency?: string } {
  const currency = str(obj.currency)?.toUpperCase();
  if (!currency || !isKnownCurrency(currency)) return {};
  const amount = obj[amountKey];
  if (typeof amount !== 'number') return { currency };
  try {
    return { currency, amountMinor: fromStripeAmount(amount, currency) };
  } catch {
    return { currency };
  }
}

/** The normalised event of a Stripe event. */
export function toEvent(e: StripeEvent): CallbackEvent {
  const o = e.object;
  const event: CallbackEvent = { type: e.type, kind: 'other' };
  if (e.created) event.occurredAt = isoUtc(e.created * 1000);
  const objectType = str(o.object);
  if (objectType === 'payment_intent') {
    event.kind = 'payment';
    event.orderNo = meta(o, 'order_no');
    event.channelTradeNo = str(o.id);
    Object.assign(event, money(o, e.type === 'payment_intent.succeeded' && typeof o.amount_received === 'number' ? 'amount_received' : 'amount'));
    event.status = paymentIntentStatus(o);
    event.providerStatus = str(o.status);
  } else if (objectType === 'charge') {
    event.kind = 'payment';
    event.orderNo = meta(o, 'order_no');
    event.channelTradeNo = str(o.payment_intent) ?? str(o.id);
    Object.assign(event, money(o, 'amount'));
    event.providerStatus = str(o.status);
    // An authorized, uncaptured charge (capture_method=manual) has status succeeded and
    // captured false: no money has moved yet.
    if (o.status === 'succeeded' && o.captured !== false) event.status = 'succeeded';
    else if (o.status === 'failed') event.status = 'failed';
    else event.status = 'pending';
  } else if (objectType === 'refund') {
    event.kind = 'refund';
    event.orderNo = meta(o, 'order_no');
    event.refundNo = meta(o, 'refund_no');
    event.channelTradeNo = str(o.payment_intent) ?? str(o.charge);
    Object.assign(event, money(o, 'amount'));
    event.status = refundStatus(o.status);
    event.providerStatus = str(o.status);
  } else if (objectType === 'payout') {
    event.kind = 'payout';
    event.orderNo = meta(o, 'order_no');
    event.channelTradeNo = str(o.id);
    Object.assign(event, money(o, 'amount'));
    event.status = payoutStatus(o.status);
    event.providerStatus = str(o.status);
  }
  event.data = { id: e.id, object: objectType, objectId: str(o.id) };
  return event;
}

/** Splits configured secrets: one string, a comma/space-separated list (rotation), or an array. */
export function webhookSecrets(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v.trim() !== '').map((v) => v.trim());
  if (typeof value !== 'string') return [];
  return value.split(/[\s,]+/).filter((s) => s !== '');
}

/** Builds a signed Stripe event as a raw request (what the simulator POSTs). */
export function buildEvent(
  secret: string,
  type: string,
  object: Record<string, unknown>,
  options: { nowMs: number; apiVersion: string; id?: string; target?: string; requestId?: string; idempotencyKey?: string },
): RawRequest {
  const created = Math.floor(options.nowMs / 1000);
  const event = {
    id: options.id ?? newEventId(),
    object: 'event',
    api_version: options.apiVersion,
    created,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: options.requestId ?? null, idempotency_key: options.idempotencyKey ?? null },
    type,
  };
  return buildJsonCallback({
    event,
    // Stripe sends pretty-printed JSON; the exact bytes are what is signed.
    indent: 2,
    target: options.target ?? '/webhooks/stripe',
    headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    sign: (body) => ({ [SIGNATURE_HEADER]: signHeader(secret, body, created) }),
  });
}

/** Stripe's offline verifier. Settings: `webhookSecret` (one secret, or several during a rotation). */
export const stripeCallbacks: CallbackHandler = {
  detect(request: RawRequest): number {
    if (request.headers[SIGNATURE_HEADER]) return 1;
    // A byte search before any decoding: every file of a `pay verify` run is shown to every
    // detector. `vt_` (of `"evt_`) starts with a byte JSON rarely has, so the search skips fast.
    if (!hasAscii(request.body.subarray(0, 512), 'vt_')) return 0;
    const head = request.body.subarray(0, 512).toString('utf8');
    return /"id"\s*:\s*"evt_/.test(head) && /"object"\s*:\s*"event"/.test(head) ? 0.5 : 0;
  },
  async verify(request: RawRequest, settings: Record<string, unknown>, options: VerifyOptions): Promise<CallbackVerdict> {
    const base = { channel: 'stripe', scheme: 'stripe-v1' };
    const secrets = webhookSecrets(settings.webhookSecret);
    const parsed = parseEvent(request.body);
    const event = typeof parsed === 'string' ? undefined : toEvent(parsed);
    const dedupKey = typeof parsed === 'string' ? bodyDedupKey(request.body) : parsed.id;
    if (secrets.length === 0) {
      return {
        ...base,
        valid: false,
        reasonCode: 'MISSING_KEY',
        reason: 'channels.stripe.webhookSecret is not configured (the whsec_... signing secret of the webhook endpoint)',
        event,
        dedupKey,
        reply: jsonErrorReply('webhook secret not configured'),
      };
    }
    const tolerance = options.toleranceSec ?? DEFAULT_TOLERANCE_SEC;
    let check = verifyHeader(request.headers[SIGNATURE_HEADER], request.body, secrets[0], options.at, tolerance);
    // During a rotation either configured secret may be the one that signed.
    for (const s of secrets.slice(1)) {
      if (check.ok || check.reason !== 'BAD_SIGNATURE') break;
      check = verifyHeader(request.headers[SIGNATURE_HEADER], request.body, s, options.at, tolerance);
    }
    if (!check.ok) return { ...base, valid: false, reasonCode: check.reason, reason: check.message, event, dedupKey, reply: jsonErrorReply(check.reason) };
    if (typeof parsed === 'string') return { ...base, valid: false, reasonCode: 'MALFORMED', reason: parsed, dedupKey, reply: jsonErrorReply('malformed event') };
    // A literal, not a spread of `base`: spreading then adding properties costs ~1 us per object here.
    return { channel: 'stripe', scheme: 'stripe-v1', valid: true, event, dedupKey, reply: JSON_RECEIVED_REPLY };
  },
};

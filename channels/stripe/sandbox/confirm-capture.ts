/**
 * Confirming a PaymentIntent with a test payment method (the charge succeeds, is declined, or is
 * authorized for a later capture with `capture_method=manual`), capturing and canceling, and the
 * simulated fee booked when money moves.
 */
import { currencyExponent } from '../../../src/core/money.js';
import { ProviderError } from '../../../src/sandbox/errors.js';
import { stripeExponent } from '../currency.js';
import type { FormObject } from '../form.js';
import type { StripeSimulator } from './index.js';
import { integer, invalidRequest, metadataOf, missing, rid, type Ctx, type Obj } from './params.js';
import { addTxn } from './payouts-balance.js';
import { emit } from './webhooks.js';

/** Test payment methods that decline, with the error Stripe gives. */
const DECLINING: Record<string, { code: string; decline_code?: string; message: string }> = {
  pm_card_chargeDeclined: { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
  pm_card_visa_chargeDeclined: { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
  pm_card_chargeDeclinedInsufficientFunds: { code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
  pm_card_chargeDeclinedFraudulent: { code: 'card_declined', decline_code: 'fraudulent', message: 'Your card was declined.' },
  pm_card_chargeDeclinedLostCard: { code: 'card_declined', decline_code: 'lost_card', message: 'Your card was declined.' },
  pm_card_chargeDeclinedStolenCard: { code: 'card_declined', decline_code: 'stolen_card', message: 'Your card was declined.' },
  pm_card_chargeDeclinedExpiredCard: { code: 'expired_card', message: 'Your card has expired.' },
  pm_card_chargeDeclinedIncorrectCvc: { code: 'incorrect_cvc', message: "Your card's security code is incorrect." },
  pm_card_chargeDeclinedProcessingError: { code: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.' },
};

/** Stripe's simulated processing fee: 2.9% + 30 (two-decimal), 3.6% (zero-decimal), rounded. */
export function simulatedFee(amount: number, currency: string): number {
  const code = currency.toUpperCase();
  const exp = stripeExponent(code);
  if (exp === 0) return Math.round((amount * 36) / 1000);
  if (exp === 3) return Math.round(((amount * 29) / 1000 + 300) / 10) * 10;
  // Where Stripe sends "cents" of a currency that has none (HUF, ISK...), fees are whole units.
  const step = 10 ** Math.max(0, exp - currencyExponent(code));
  return Math.round(((amount * 29) / 1000 + 30) / step) * step;
}

/** Confirms with a test payment method: the charge succeeds or is declined. */
export function confirm(sim: StripeSimulator, pi: Obj, paymentMethod: string | undefined, ctx: Ctx): Obj {
  const pm = paymentMethod ?? (pi.payment_method as string | null) ?? undefined;
  if (pi.status === 'succeeded' || pi.status === 'canceled' || pi.status === 'requires_capture') {
    throw invalidRequest(`This PaymentIntent's status is ${String(pi.status)}, so it cannot be confirmed.`, { code: 'payment_intent_unexpected_state', payment_intent: pi });
  }
  if (!pm) throw invalidRequest('You cannot confirm this PaymentIntent because it\'s missing a payment method.', { code: 'payment_intent_unexpected_state', param: 'payment_method' });
  if (!/^pm_/.test(pm)) throw missing('PaymentMethod', pm, 'payment_method');
  pi.payment_method = pm;
  const decline = DECLINING[pm];
  // capture_method=manual: the card is authorized now and captured later (POST .../capture).
  const hold = !decline && pi.capture_method === 'manual';
  const chargeId = rid('ch');
  sim.chargeCount++;
  const charge: Obj = {
    id: chargeId,
    object: 'charge',
    amount: pi.amount,
    amount_captured: decline || hold ? 0 : pi.amount,
    amount_refunded: 0,
    balance_transaction: null,
    captured: !decline && !hold,
    created: sim.nowSec(),
    currency: pi.currency,
    customer: pi.customer,
    description: pi.description,
    failure_code: decline ? decline.code : null,
    failure_message: decline ? decline.message : null,
    livemode: false,
    // Stripe copies the intent's metadata onto the charge when the intent is confirmed.
    metadata: { ...(pi.metadata as Obj) },
    outcome: decline
      ? { network_status: 'declined_by_network', reason: decline.decline_code ?? decline.code, risk_level: 'normal', seller_message: 'The bank did not return any further details with this decline.', type: 'issuer_declined' }
      : { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
    paid: !decline,
    payment_intent: pi.id,
    payment_method: pm,
    refunded: false,
    status: decline ? 'failed' : 'succeeded',
  };
  sim.charges.set(chargeId, charge);
  pi.latest_charge = chargeId;
  if (decline) {
    pi.status = 'requires_payment_method';
    pi.last_payment_error = { type: 'card_error', code: decline.code, ...(decline.decline_code ? { decline_code: decline.decline_code } : {}), message: decline.message, charge: chargeId, payment_method: { id: pm, object: 'payment_method', type: 'card' } };
    emit(sim, 'charge.failed', charge, ctx);
    emit(sim, 'payment_intent.payment_failed', pi, ctx);
    throw new ProviderError(402, {
      type: 'card_error',
      code: decline.code,
      ...(decline.decline_code ? { decline_code: decline.decline_code } : {}),
      message: decline.message,
      charge: chargeId,
      doc_url: `https://stripe.com/docs/error-codes/${decline.code.replace(/_/g, '-')}`,
      payment_intent: pi,
    });
  }
  pi.last_payment_error = null;
  if (hold) {
    // Authorized, not captured: no money moves and no balance transaction until the capture.
    pi.status = 'requires_capture';
    pi.amount_capturable = pi.amount;
    emit(sim, 'charge.succeeded', charge, ctx);
    emit(sim, 'payment_intent.amount_capturable_updated', pi, ctx);
    return pi;
  }
  settleCharge(sim, pi, charge, pi.amount as number);
  emit(sim, 'charge.succeeded', charge, ctx);
  emit(sim, 'payment_intent.succeeded', pi, ctx);
  return pi;
}

/** Books a captured charge: its balance transaction (with the fee) and the intent's amounts. */
export function settleCharge(sim: StripeSimulator, pi: Obj, charge: Obj, amount: number): void {
  const fee = simulatedFee(amount, pi.currency as string);
  const txn = addTxn(sim, { amount, fee, currency: pi.currency as string, type: 'charge', reporting_category: 'charge', source: charge.id as string, description: pi.description as string | null, availableAfterSec: 2 * 86400 });
  charge.balance_transaction = txn.id;
  pi.status = 'succeeded';
  pi.amount_received = amount;
  pi.amount_capturable = 0;
}

/**
 * POST /v1/payment_intents/{id}/capture: captures `amount_to_capture` (default: all) of an
 * authorized intent. A partial capture releases the rest, as Stripe does: the charge's
 * `amount_refunded` takes the uncaptured remainder, and nothing more can be captured.
 */
export function capture(sim: StripeSimulator, pi: Obj, p: FormObject, ctx: Ctx): Obj {
  if (pi.status !== 'requires_capture') {
    throw invalidRequest(
      `This PaymentIntent could not be captured because it has a status of ${String(pi.status)}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
      { code: 'payment_intent_unexpected_state', payment_intent: pi },
    );
  }
  const capturable = pi.amount_capturable as number;
  const amount = integer(p, 'amount_to_capture', false) ?? capturable;
  if (amount < 1) throw invalidRequest('This value must be greater than or equal to 1.', { param: 'amount_to_capture' });
  if (amount > capturable) {
    throw invalidRequest('The payment could not be captured because the requested capture amount is greater than the amount you can capture for this charge.', {
      code: 'amount_too_large',
      param: 'amount_to_capture',
    });
  }
  const charge = sim.charges.get(pi.latest_charge as string)!;
  if (p.metadata !== undefined) pi.metadata = { ...(pi.metadata as Obj), ...metadataOf(p) };
  charge.captured = true;
  charge.amount_captured = amount;
  // The uncaptured remainder goes back to the card holder; it never reached the balance.
  charge.amount_refunded = (charge.amount as number) - amount;
  charge.metadata = { ...(pi.metadata as Obj) };
  settleCharge(sim, pi, charge, amount);
  emit(sim, 'charge.captured', charge, ctx);
  emit(sim, 'payment_intent.succeeded', pi, ctx);
  return pi;
}

export function cancel(sim: StripeSimulator, pi: Obj, reason: string | undefined, ctx: Ctx): Obj {
  const cancelable = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'];
  if (!cancelable.includes(pi.status as string)) {
    throw invalidRequest(
      `You cannot cancel this PaymentIntent because it has a status of ${String(pi.status)}. Only a PaymentIntent with one of the following statuses may be canceled: ${cancelable.join(', ')}.`,
      { code: 'payment_intent_unexpected_state', payment_intent: pi },
    );
  }
  const reasons = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'];
  if (reason && !reasons.includes(reason)) throw invalidRequest(`Invalid cancellation_reason: must be one of ${reasons.join(', ')}`, { param: 'cancellation_reason' });
  if (pi.status === 'requires_capture') {
    // Canceling an authorization releases the whole hold.
    const charge = sim.charges.get(pi.latest_charge as string);
    if (charge) {
      charge.amount_refunded = charge.amount;
      charge.refunded = true;
    }
    pi.amount_capturable = 0;
  }
  pi.status = 'canceled';
  pi.canceled_at = sim.nowSec();
  pi.cancellation_reason = reason ?? null;
  emit(sim, 'payment_intent.canceled', pi, ctx);
  return pi;
}

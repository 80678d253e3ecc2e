/** Charges (read-only: they are made by confirm) and refunds (partial, bounded by what is left). */
import type { Router } from '../../../src/sandbox/router.js';
import type { FormObject } from '../form.js';
import type { StripeSimulator } from './index.js';
import { expandObject, list } from './lists.js';
import { integer, invalidRequest, metadataOf, missing, rid, str, throwMissing, type Ctx, type Obj, type StripeHandler } from './params.js';
import { intent } from './payment-intents.js';
import { addTxn } from './payouts-balance.js';
import { emit } from './webhooks.js';

/** The charge and refund routes. */
export function refundRoutes(r: Router<StripeHandler>): void {
  r.get('/v1/charges/:id', (sim, { params, expand }) => expandObject(sim, sim.charges.get(params.id) ?? throwMissing('charge', params.id, 'id'), expand));
  r.get('/v1/charges', (sim, { p, expand }) => list(sim, [...sim.charges.values()].filter((c) => !str(p.payment_intent) || c.payment_intent === p.payment_intent), p, '/v1/charges', expand));
  r.post('/v1/refunds', (sim, { p, ctx, expand }) => expandObject(sim, createRefund(sim, p, ctx), expand));
  r.get('/v1/refunds/:id', (sim, { params, expand }) => expandObject(sim, sim.refunds.get(params.id) ?? throwMissing('refund', params.id, 'refund'), expand));
  r.get('/v1/refunds', (sim, { p, expand }) => {
    const pi = str(p.payment_intent);
    const charge = str(p.charge);
    return list(sim, [...sim.refunds.values()].filter((x) => (!pi || x.payment_intent === pi) && (!charge || x.charge === charge)), p, '/v1/refunds', expand);
  });
}

export function createRefund(sim: StripeSimulator, p: FormObject, ctx: Ctx): Obj {
  const piId = str(p.payment_intent);
  const chargeParam = str(p.charge);
  if (!piId && !chargeParam) throw invalidRequest('One of the following params should be provided for this request: payment_intent or charge.', { code: 'parameter_missing' });
  let charge: Obj | undefined;
  let pi: Obj | undefined;
  if (piId) {
    pi = intent(sim, piId);
    charge = pi.status === 'succeeded' ? sim.charges.get(pi.latest_charge as string) : undefined;
    if (!charge) {
      throw invalidRequest(`This PaymentIntent (${piId}) does not have a successful charge to refund.`, { code: 'charge_not_refundable', param: 'payment_intent' });
    }
  } else {
    charge = sim.charges.get(chargeParam!);
    if (!charge) throw missing('charge', chargeParam!, 'charge');
    if (charge.status !== 'succeeded') throw invalidRequest(`Charge ${chargeParam} has not succeeded and cannot be refunded.`, { code: 'charge_not_refundable', param: 'charge' });
  }
  const remaining = (charge.amount as number) - (charge.amount_refunded as number);
  if (remaining <= 0) throw invalidRequest(`Charge ${String(charge.id)} has already been refunded.`, { code: 'charge_already_refunded' });
  const amount = integer(p, 'amount', false) ?? remaining;
  if (amount < 1) throw invalidRequest('This value must be greater than or equal to 1.', { param: 'amount' });
  if (amount > remaining) {
    throw invalidRequest(`Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`, { param: 'amount', code: 'amount_too_large' });
  }
  const reason = str(p.reason);
  if (reason && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason)) throw invalidRequest('Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer', { param: 'reason' });
  const id = rid('re');
  const txn = addTxn(sim, { amount: -amount, fee: 0, currency: charge.currency as string, type: 'refund', reporting_category: 'refund', source: id, description: 'REFUND FOR CHARGE', availableAfterSec: 0 });
  const refund: Obj = {
    id,
    object: 'refund',
    amount,
    balance_transaction: txn.id,
    charge: charge.id,
    created: sim.nowSec(),
    currency: charge.currency,
    metadata: metadataOf(p),
    payment_intent: charge.payment_intent,
    reason: reason ?? null,
    receipt_number: null,
    status: 'succeeded',
  };
  sim.refunds.set(id, refund);
  charge.amount_refunded = (charge.amount_refunded as number) + amount;
  charge.refunded = charge.amount_refunded === charge.amount;
  emit(sim, 'refund.created', refund, ctx);
  emit(sim, 'charge.refunded', charge, ctx);
  return refund;
}

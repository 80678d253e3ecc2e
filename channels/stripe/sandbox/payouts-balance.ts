/**
 * Money at rest: balance transactions (with fees and availability dates), the balance per
 * currency, and payouts that draw on it and progress pending -> in_transit -> paid (or failed,
 * for a destination whose id contains "closed") as the clock moves.
 */
import type { Router } from '../../../src/sandbox/router.js';
import { STRIPE_WHOLE_UNIT_PAYOUTS } from '../currency.js';
import type { FormObject } from '../form.js';
import type { StripeSimulator } from './index.js';
import { createdMatches, expandObject, list } from './lists.js';
import { currencyOf, integer, invalidRequest, metadataOf, missing, rid, str, throwMissing, type Ctx, type Obj, type StripeHandler } from './params.js';
import { emit } from './webhooks.js';

/** The payout, balance and balance transaction routes. */
export function payoutBalanceRoutes(r: Router<StripeHandler>): void {
  r.post('/v1/payouts', (sim, { p, ctx, expand }) => expandObject(sim, createPayout(sim, p, ctx), expand));
  r.get('/v1/payouts/:id', (sim, { params, expand }) => expandObject(sim, sim.payouts.get(params.id) ?? throwMissing('payout', params.id, 'payout'), expand));
  r.get('/v1/payouts', (sim, { p, expand }) => list(sim, [...sim.payouts.values()].filter((po) => createdMatches(po, p.created)), p, '/v1/payouts', expand));
  r.get('/v1/balance', (sim) => balance(sim));
  r.get('/v1/balance_transactions/:id', (sim, { params, expand }) => {
    const t = sim.ledger.get(params.id)?.detail ?? throwMissing('balance transaction', params.id);
    return expandObject(sim, withTxnStatus(sim, t), expand);
  });
  r.get('/v1/balance_transactions', (sim, { p, expand }) => {
    const type = str(p.type);
    const rows = txns(sim).filter((t) => createdMatches(t, p.created) && (!type || t.type === type)).map((t) => withTxnStatus(sim, t));
    return list(sim, rows, p, '/v1/balance_transactions', expand);
  });
}

export function addTxn(sim: StripeSimulator, t: { amount: number; fee: number; currency: string; type: string; reporting_category: string; source: string; description: string | null; availableAfterSec: number }): Obj {
  const created = sim.nowSec();
  const txn: Obj = {
    id: rid('txn'),
    object: 'balance_transaction',
    amount: t.amount,
    available_on: created + t.availableAfterSec,
    created,
    currency: t.currency,
    description: t.description,
    exchange_rate: null,
    fee: t.fee,
    fee_details: t.fee ? [{ amount: t.fee, application: null, currency: t.currency, description: 'Stripe processing fees', type: 'stripe_fee' }] : [],
    net: t.amount - t.fee,
    reporting_category: t.reporting_category,
    source: t.source,
    status: 'pending',
    type: t.type,
  };
  sim.ledger.post({ id: txn.id as string, currency: t.currency, net: txn.net as number, atMs: sim.now(), availableAtMs: (txn.available_on as number) * 1000, detail: txn });
  return txn;
}

/** The balance transactions in creation order. */
export function txns(sim: StripeSimulator): Obj[] {
  return sim.ledger.entries.map((e) => e.detail);
}

export function withTxnStatus(sim: StripeSimulator, t: Obj): Obj {
  return { ...t, status: (t.available_on as number) <= sim.nowSec() ? 'available' : 'pending' };
}

/** Available and pending amounts per currency (USD always, then every currency booked in). */
export function balances(sim: StripeSimulator): Map<string, { available: number; pending: number }> {
  const now = sim.now();
  return new Map(['usd', ...sim.ledger.currencies()].map((c) => [c, sim.ledger.balance(c, now)]));
}

export function balance(sim: StripeSimulator): Obj {
  const list = [...balances(sim)].sort(([a], [b]) => a.localeCompare(b));
  return {
    object: 'balance',
    available: list.map(([currency, b]) => ({ amount: b.available, currency, source_types: { card: b.available } })),
    livemode: false,
    pending: list.map(([currency, b]) => ({ amount: b.pending, currency, source_types: { card: b.pending } })),
  };
}

export function createPayout(sim: StripeSimulator, p: FormObject, ctx: Ctx): Obj {
  const amount = integer(p, 'amount', true)!;
  const currency = currencyOf(p);
  if (amount < 1) throw invalidRequest('This value must be greater than or equal to 1.', { param: 'amount' });
  if (STRIPE_WHOLE_UNIT_PAYOUTS.includes(currency.toUpperCase()) && amount % 100 !== 0) {
    throw invalidRequest(`Payouts in ${currency.toUpperCase()} must be in whole units: the amount must be divisible by 100.`, { param: 'amount', code: 'invalid_amount' });
  }
  const destination = str(p.destination);
  if (destination && !/^(ba|card)_[A-Za-z0-9]+$/.test(destination)) throw missing('external account', destination, 'destination');
  const method = str(p.method) ?? 'standard';
  if (method !== 'standard' && method !== 'instant') throw invalidRequest('Invalid method: must be one of standard or instant', { param: 'method' });
  const available = sim.ledger.available(currency, sim.now());
  if (available < amount) {
    throw invalidRequest(
      'You have insufficient funds in your Stripe account for this transfer. Your card balance is too low. You can use the /v1/balance endpoint to view your Stripe balance (for more details, see stripe.com/docs/api#balance).',
      { code: 'balance_insufficient' },
    );
  }
  const id = rid('po');
  // The balance is debited when the payout is created; a failure credits it back.
  const txn = addTxn(sim, { amount: -amount, fee: 0, currency, type: 'payout', reporting_category: 'payout', source: id, description: str(p.description) ?? 'STRIPE PAYOUT', availableAfterSec: 0 });
  const created = sim.nowSec();
  const payout: Obj = {
    id,
    object: 'payout',
    amount,
    arrival_date: created + Math.ceil(sim.payoutSettleMs / 1000),
    automatic: false,
    balance_transaction: txn.id,
    created,
    currency,
    description: str(p.description) ?? null,
    destination: destination ?? 'ba_default',
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    livemode: false,
    metadata: metadataOf(p),
    method,
    source_type: 'card',
    statement_descriptor: str(p.statement_descriptor) ?? null,
    status: 'pending',
    type: destination?.startsWith('card_') ? 'card' : 'bank_account',
  };
  Object.defineProperty(payout, '_createdMs', { value: sim.now(), enumerable: false });
  sim.payouts.set(id, payout);
  emit(sim, 'payout.created', payout, ctx);
  return payout;
}

/** Moves payouts along by the clock and emits their events (called on every request and tick). */
export function advancePayouts(sim: StripeSimulator): void {
  const now = sim.now();
  for (const po of sim.payouts.values()) {
    const createdMs = (po as { _createdMs?: number })._createdMs ?? (po.created as number) * 1000;
    if (po.status === 'pending' && now >= createdMs + sim.payoutSettleMs / 2) {
      po.status = 'in_transit';
      emit(sim, 'payout.updated', po, {});
    }
    if (po.status === 'in_transit' && now >= createdMs + sim.payoutSettleMs) {
      // A destination id containing "closed" plays Stripe's failing test bank account.
      if (String(po.destination).includes('closed')) {
        const back = addTxn(sim, { amount: po.amount as number, fee: 0, currency: po.currency as string, type: 'payout_failure', reporting_category: 'payout_reversal', source: po.id as string, description: 'Payout failure', availableAfterSec: 0 });
        po.status = 'failed';
        po.failure_code = 'account_closed';
        po.failure_message = 'The bank account has been closed.';
        po.failure_balance_transaction = back.id;
        emit(sim, 'payout.failed', po, {});
      } else {
        po.status = 'paid';
        emit(sim, 'payout.paid', po, {});
      }
    }
  }
}

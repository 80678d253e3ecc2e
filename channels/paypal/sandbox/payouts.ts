/**
 * Payouts: batches of one item that hold their funds and progress PENDING -> PROCESSING ->
 * SUCCESS as the clock moves (an item to a receiver whose local part contains "fail" FAILED).
 */
import { ProviderError } from '../../../src/sandbox/errors.js';
import type { Router } from '../../../src/sandbox/router.js';
import type { PaypalSimulator } from './index.js';
import { checkAmount, fmt, INFO_LINK, invalidRequest, obj, pid, str, throwNotFound, units, type Obj, type PaypalHandler } from './params.js';
import { record } from './reporting.js';
import { emit } from './webhooks.js';

/** The payout routes. */
export function payoutRoutes(r: Router<PaypalHandler>): void {
  r.post('/v1/payments/payouts', (sim, { b }) => ({ status: 201, body: createPayout(sim, b) }));
  r.get('/v1/payments/payouts/:id', (sim, { params }) => ({ status: 200, body: payoutView(sim, sim.payouts.get(params.id) ?? throwNotFound()) }));
}

export function createPayout(sim: PaypalSimulator, b: Obj): Obj {
  const header = obj(b.sender_batch_header);
  const senderBatchId = str(header?.sender_batch_id);
  if (!senderBatchId) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'A required field / parameter is missing.', 'sender_batch_header.sender_batch_id');
  if ([...sim.payouts.values()].some((p) => obj(obj(p.batch_header)?.sender_batch_header)?.sender_batch_id === senderBatchId)) {
    throw new ProviderError(400, { name: 'USER_BUSINESS_ERROR', message: 'User business error.', details: [{ field: 'SENDER_BATCH_ID', location: 'body', issue: 'Batch with given sender_batch_id already exists' }], links: INFO_LINK('USER_BUSINESS_ERROR') });
  }
  const items = Array.isArray(b.items) ? b.items.map((i) => obj(i) ?? {}) : [];
  if (items.length !== 1) throw invalidRequest('VALIDATION_ERROR', 'The pay sandbox takes payout batches of exactly one item.', 'items');
  const item = items[0];
  const { currency, units: u } = checkAmount(item.amount, 'items[0].amount', 'currency');
  const receiver = str(item.receiver);
  if (!receiver) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'A required field / parameter is missing.', 'items[0].receiver');
  if (sim.ledger.available(currency, sim.now()) < u) throw new ProviderError(422, { name: 'INSUFFICIENT_FUNDS', message: 'Sender does not have sufficient funds. Please add funds and retry.', links: INFO_LINK('INSUFFICIENT_FUNDS') });
  const batchId = pid(13);
  const payout: Obj = {
    batch_header: {
      payout_batch_id: batchId,
      batch_status: 'PENDING',
      time_created: sim.iso(),
      sender_batch_header: { sender_batch_id: senderBatchId, email_subject: header?.email_subject, recipient_type: header?.recipient_type },
      amount: { currency, value: fmt(u, currency) },
      fees: { currency, value: fmt(0, currency) },
    },
    items: [
      {
        payout_item_id: pid(13),
        transaction_id: null,
        transaction_status: 'PENDING',
        payout_item_fee: { currency, value: fmt(0, currency) },
        payout_batch_id: batchId,
        payout_item: { recipient_type: item.recipient_type ?? 'EMAIL', amount: { currency, value: fmt(u, currency) }, note: item.note, receiver, sender_item_id: item.sender_item_id, recipient_wallet: 'PAYPAL' },
      },
    ],
  };
  Object.defineProperty(payout, '_createdMs', { value: sim.now(), enumerable: false, writable: true });
  // A batch in flight holds its funds; a failed item gives them back, a paid one books them.
  sim.ledger.hold(batchId, currency, u);
  sim.payouts.set(batchId, payout);
  return { batch_header: { payout_batch_id: batchId, batch_status: 'PENDING', sender_batch_header: (payout.batch_header as Obj).sender_batch_header }, links: [{ href: `${sim.base()}/v1/payments/payouts/${batchId}`, rel: 'self', method: 'GET', encType: 'application/json' }] };
}

export function payoutView(sim: PaypalSimulator, p: Obj): Obj {
  const id = String(obj(p.batch_header)!.payout_batch_id);
  return { ...p, links: [{ href: `${sim.base()}/v1/payments/payouts/${id}`, rel: 'self', method: 'GET', encType: 'application/json' }] };
}

/** Moves payouts along by the clock and emits their events (on every request and tick). */
export function advancePayouts(sim: PaypalSimulator): void {
  const now = sim.now();
  for (const p of sim.payouts.values()) {
    const header = p.batch_header as Obj;
    const created = (p as { _createdMs?: number })._createdMs ?? now;
    if (header.batch_status === 'PENDING' && now >= created + sim.payoutSettleMs / 2) header.batch_status = 'PROCESSING';
    if (header.batch_status === 'PROCESSING' && now >= created + sim.payoutSettleMs) {
      const item = (p.items as Obj[])[0];
      const pi = item.payout_item as Obj;
      const amount = obj(pi.amount)!;
      const currency = String(amount.currency);
      const u = units(amount.value, currency)!;
      // A receiver whose local part contains "fail" plays an unregistered, non-receivable account.
      const fails = /fail/i.test(String(pi.receiver).split('@')[0]);
      header.batch_status = 'SUCCESS';
      header.time_completed = sim.iso(now);
      item.time_processed = sim.iso(now);
      sim.ledger.release(String(header.payout_batch_id));
      if (fails) {
        item.transaction_status = 'FAILED';
        item.errors = { name: 'RECEIVER_UNREGISTERED', message: 'Receiver is unregistered', information_link: 'https://developer.paypal.com/docs/api/payments.payouts-batch/#errors', details: [] };
        emit(sim, 'PAYMENT.PAYOUTS-ITEM.FAILED', 'payouts_item', item, 'A payout item has failed');
      } else {
        item.transaction_status = 'SUCCESS';
        item.transaction_id = pid(17);
        record(sim, { id: String(item.transaction_id), code: 'T0001', currency, gross: -u, fee: 0, invoice: undefined, custom: str(pi.sender_item_id), reference: String(header.payout_batch_id), referenceType: 'PAP' });
        emit(sim, 'PAYMENT.PAYOUTS-ITEM.SUCCEEDED', 'payouts_item', item, `Payout item for ${fmt(u, currency)} ${currency} succeeded`);
      }
      emit(sim, 'PAYMENT.PAYOUTSBATCH.SUCCESS', 'payouts', { batch_header: header }, 'Payouts batch completed successfully.');
    }
  }
}

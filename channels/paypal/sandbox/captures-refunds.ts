/**
 * Captures (booked with PayPal's fee, listed on the order, announced) and refunds of captures
 * (partial, bounded by what is left).
 */
import type { Router } from '../../../src/sandbox/router.js';
import type { PaypalSimulator } from './index.js';
import { checkAmount, fmt, obj, pid, simulatedFee, str, throwNotFound, unprocessable, units, type Obj, type PaypalHandler } from './params.js';
import { record } from './reporting.js';
import { emit } from './webhooks.js';

/** The capture and refund routes. */
export function captureRefundRoutes(r: Router<PaypalHandler>): void {
  r.get('/v2/payments/captures/:id', (sim, { params }) => ({ status: 200, body: sim.captures.get(params.id) ?? throwNotFound() }));
  r.post('/v2/payments/captures/:id/refund', (sim, { params, b }) => ({ status: 201, body: refundCapture(sim, sim.captures.get(params.id) ?? throwNotFound(), b), minimal: true }));
  r.get('/v2/payments/refunds/:id', (sim, { params }) => ({ status: 200, body: sim.refunds.get(params.id) ?? throwNotFound() }));
}

/** A completed capture of `gross` for an order: booked with its fee, listed on the order, announced. */
export function bookCapture(sim: PaypalSimulator, orderId: string, pu: Obj | undefined, currency: string, gross: number, fields: { invoice_id: unknown; custom_id: unknown; final_capture: boolean }): Obj {
  const id = orderId;
  const fee = simulatedFee(gross, currency);
  const captureId = pid(17);
  const now = sim.iso();
  const capture: Obj = {
    id: captureId,
    status: 'COMPLETED',
    amount: { currency_code: currency, value: fmt(gross, currency) },
    final_capture: fields.final_capture,
    seller_protection: { status: 'ELIGIBLE', dispute_categories: ['ITEM_NOT_RECEIVED', 'UNAUTHORIZED_TRANSACTION'] },
    seller_receivable_breakdown: {
      gross_amount: { currency_code: currency, value: fmt(gross, currency) },
      paypal_fee: { currency_code: currency, value: fmt(fee, currency) },
      net_amount: { currency_code: currency, value: fmt(gross - fee, currency) },
    },
    invoice_id: fields.invoice_id,
    custom_id: fields.custom_id,
    supplementary_data: { related_ids: { order_id: id } },
    links: [
      { href: `${sim.base()}/v2/payments/captures/${captureId}`, rel: 'self', method: 'GET' },
      { href: `${sim.base()}/v2/payments/captures/${captureId}/refund`, rel: 'refund', method: 'POST' },
      { href: `${sim.base()}/v2/checkout/orders/${id}`, rel: 'up', method: 'GET' },
    ],
    create_time: now,
    update_time: now,
  };
  sim.captures.set(captureId, capture);
  if (pu) {
    const payments = obj(pu.payments) ?? {};
    pu.payments = { ...payments, captures: [...((payments.captures as Obj[] | undefined) ?? []), capture] };
  }
  record(sim, { id: captureId, code: 'T0006', currency, gross, fee: -fee, invoice: str(fields.invoice_id), custom: str(fields.custom_id), reference: id, referenceType: 'ODR' });
  emit(sim, 'PAYMENT.CAPTURE.COMPLETED', 'capture', capture, `Payment completed for ${fmt(gross, currency)} ${currency}`);
  return capture;
}

export function refundCapture(sim: PaypalSimulator, capture: Obj, b: Obj): Obj {
  if (capture.status === 'REFUNDED') throw unprocessable('CAPTURE_FULLY_REFUNDED', 'The capture has already been fully refunded.');
  if (capture.status !== 'COMPLETED' && capture.status !== 'PARTIALLY_REFUNDED') throw unprocessable('CANNOT_BE_REFUNDED', `A ${String(capture.status)} capture cannot be refunded.`);
  const captured = obj(capture.amount)!;
  const currency = String(captured.currency_code);
  const total = units(captured.value, currency)!;
  const refunded = [...sim.refunds.values()].filter((r) => r._capture === capture.id && r.status === 'COMPLETED').reduce((s, r) => s + units(obj(r.amount)!.value, currency)!, 0);
  let amount = total - refunded;
  if (b.amount !== undefined) {
    const a = checkAmount(b.amount, '/amount', 'currency_code');
    if (a.currency !== currency) throw unprocessable('REFUND_CURRENCY_MISMATCH', `Refund must be in the capture currency ${currency}.`);
    amount = a.units;
  }
  if (amount > total - refunded) throw unprocessable('REFUND_AMOUNT_EXCEEDED', 'The refund amount must be less than or equal to the capture amount that has not yet been refunded.');
  const id = pid(17);
  const now = sim.iso();
  const refund: Obj = {
    id,
    amount: { currency_code: currency, value: fmt(amount, currency) },
    invoice_id: b.invoice_id,
    custom_id: b.custom_id,
    note_to_payer: b.note_to_payer,
    seller_payable_breakdown: {
      gross_amount: { currency_code: currency, value: fmt(amount, currency) },
      paypal_fee: { currency_code: currency, value: fmt(0, currency) },
      net_amount: { currency_code: currency, value: fmt(amount, currency) },
      total_refunded_amount: { currency_code: currency, value: fmt(refunded + amount, currency) },
    },
    status: 'COMPLETED',
    create_time: now,
    update_time: now,
    links: [
      { href: `${sim.base()}/v2/payments/refunds/${id}`, rel: 'self', method: 'GET' },
      { href: `${sim.base()}/v2/payments/captures/${String(capture.id)}`, rel: 'up', method: 'GET' },
    ],
  };
  Object.defineProperty(refund, '_capture', { value: capture.id, enumerable: false });
  sim.refunds.set(id, refund);
  capture.status = refunded + amount === total ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
  capture.update_time = now;
  const orderId = String(obj(obj(capture.supplementary_data)?.related_ids)?.order_id ?? '');
  const order = sim.orders.get(orderId);
  if (order) {
    const pu = (order.purchase_units as Obj[])[0];
    const payments = obj(pu.payments) ?? {};
    payments.refunds = [...((payments.refunds as Obj[] | undefined) ?? []), refund];
    pu.payments = payments;
  }
  // Refund fees: PayPal keeps the fixed fee; the sandbox returns none, so the fee is 0.
  record(sim, { id, code: 'T1107', currency, gross: -amount, fee: 0, invoice: str(b.invoice_id), custom: str(b.custom_id), reference: String(capture.id), referenceType: 'TXN' });
  emit(sim, 'PAYMENT.CAPTURE.REFUNDED', 'refund', refund, `A ${fmt(amount, currency)} ${currency} capture payment was refunded`);
  return refund;
}

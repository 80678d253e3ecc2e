/**
 * Webhooks of intent AUTHORIZE orders: a completed (authorized) order claims no payment until a
 * capture exists, so `pay verify --apply` never marks an uncaptured authorization as paid.
 */
import { describe, expect, it } from 'vitest';
import { toEvent } from '../callback.js';

const order = (intent: string, payments: Record<string, unknown>) => ({
  id: 'WH-1',
  eventType: 'CHECKOUT.ORDER.COMPLETED',
  createTime: '2026-11-23T01:00:00Z',
  resourceType: 'checkout-order',
  resource: { id: 'ORDER1', intent, status: 'COMPLETED', purchase_units: [{ invoice_id: 'P0000000001', amount: { currency_code: 'USD', value: '20.00' }, payments }] },
});

describe('CHECKOUT.ORDER.COMPLETED', () => {
  it('an authorized (uncaptured) AUTHORIZE order is pending, not paid', () => {
    expect(toEvent(order('AUTHORIZE', { authorizations: [{ id: 'A1', status: 'CREATED' }] })).status).toBe('pending');
  });
  it('with a capture, or with intent CAPTURE, it is paid', () => {
    expect(toEvent(order('AUTHORIZE', { authorizations: [{ id: 'A1', status: 'CAPTURED' }], captures: [{ id: 'C1', status: 'COMPLETED' }] })).status).toBe('succeeded');
    expect(toEvent(order('CAPTURE', { captures: [{ id: 'C1', status: 'COMPLETED' }] })).status).toBe('succeeded');
  });
});

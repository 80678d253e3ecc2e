/**
 * Webhooks of manual-capture payments: an authorized charge (status succeeded, captured false)
 * and an intent in requires_capture claim no payment; the capture does.
 */
import { describe, expect, it } from 'vitest';
import { toEvent } from '../callback.js';

const charge = (captured: boolean) => ({ id: 'evt_1', type: 'charge.succeeded', created: 1_790_000_000, object: { object: 'charge', id: 'ch_1', status: 'succeeded', captured, amount: 5000, currency: 'usd', payment_intent: 'pi_1', metadata: { order_no: 'P0000000001' } } });

describe('manual capture events', () => {
  it('an uncaptured charge is pending; a captured one succeeded', () => {
    expect(toEvent(charge(false)).status).toBe('pending');
    expect(toEvent(charge(true)).status).toBe('succeeded');
  });
  it('an intent awaiting capture is pending; once captured it carries the captured amount', () => {
    const held = toEvent({ id: 'evt_2', type: 'payment_intent.amount_capturable_updated', object: { object: 'payment_intent', id: 'pi_1', status: 'requires_capture', amount: 5000, amount_received: 0, currency: 'usd', metadata: { order_no: 'P0000000001' } } });
    expect(held).toMatchObject({ status: 'pending', amountMinor: 5000 });
    const done = toEvent({ id: 'evt_3', type: 'payment_intent.succeeded', object: { object: 'payment_intent', id: 'pi_1', status: 'succeeded', amount: 5000, amount_received: 3000, currency: 'usd', metadata: { order_no: 'P0000000001' } } });
    expect(done).toMatchObject({ status: 'succeeded', amountMinor: 3000 });
  });
});

import { describe, expect, it } from 'vitest';
import { billKey, billSaysFailed, bookKey, classifyRow, classifyUnbilled, isSettled, type BookEntry } from '../../src/reconcile/classify.js';
import { billTotalsFromSums } from '../../src/reconcile/engine.js';
import { formatAmount } from '../../src/core/money.js';

const fmt = (m: number, c: string) => `${formatAmount(m, c)} ${c}`;
const entry = (over: Partial<BookEntry> = {}): BookEntry => ({ kind: 'payment', orderNo: 'P1', channel: 'mock', status: 'succeeded', amountMinor: 1234, currency: 'CNY', time: '2026-11-22T10:00:00.000Z', ...over });
const row = (over: Partial<{ kind: 'payment' | 'refund' | 'payout'; amountMinor: number; currency: string; status?: string }> = {}) => ({ kind: 'payment' as const, amountMinor: 1234, currency: 'CNY', status: 'SUCCESS', ...over });

describe('classifyRow', () => {
  it('matches a settled entry with the same currency and amount', () => {
    expect(classifyRow(row(), entry(), fmt)).toEqual({ class: 'matched' });
    // A fully refunded order was still paid: its payment row matches.
    expect(classifyRow(row(), entry({ status: 'refunded' }), fmt).class).toBe('matched');
  });

  it('compares refunds and payouts by magnitude (bill rows are signed)', () => {
    expect(classifyRow(row({ kind: 'refund', amountMinor: -500 }), entry({ kind: 'refund', refundNo: 'R1', amountMinor: 500 }), fmt).class).toBe('matched');
    expect(classifyRow(row({ kind: 'payout', amountMinor: -9900 }), entry({ kind: 'payout', amountMinor: 9900 }), fmt).class).toBe('matched');
  });

  it('reports a row the books lack as missingLocal', () => {
    expect(classifyRow(row(), undefined, fmt)).toMatchObject({ class: 'missingLocal', note: expect.stringMatching(/books do not have it/) });
  });

  it('checks currency before amount, amount before status', () => {
    expect(classifyRow(row({ currency: 'USD', amountMinor: 1 }), entry({ status: 'pending' }), fmt).class).toBe('currencyMismatch');
    const a = classifyRow(row({ amountMinor: 1235 }), entry({ status: 'pending' }), fmt);
    expect(a.class).toBe('amountMismatch');
    expect(a.note).toBe('the books say 12.34 CNY, the channel 12.35 CNY (+0.01 CNY)');
    expect(classifyRow(row({ amountMinor: 1233 }), entry(), fmt).note).toMatch(/\(-0\.01 CNY\)$/);
  });

  it('reports unsettled books against a settled bill row as statusMismatch, with advice', () => {
    for (const status of ['created', 'pending', 'failed', 'closed']) {
      expect(classifyRow(row(), entry({ status }), fmt).class).toBe('statusMismatch');
    }
    expect(classifyRow(row(), entry({ status: 'pending' }), fmt).note).toMatch(/pay query P1/);
    expect(classifyRow(row({ kind: 'refund', amountMinor: -1234 }), entry({ kind: 'refund', refundNo: 'R1', status: 'pending' }), fmt).note).toMatch(/pay query R1/);
  });

  it('treats a row the channel marks failed as agreeing with unsettled books only', () => {
    expect(classifyRow(row({ status: 'REVOKED' }), entry({ status: 'failed' }), fmt).class).toBe('matched');
    expect(classifyRow(row({ status: ' Failed ' }), entry(), fmt)).toMatchObject({ class: 'statusMismatch', note: expect.stringMatching(/says Failed/) });
  });
});

describe('keys', () => {
  it('keys payments and payouts by order number, refunds by refund number, else the trade number', () => {
    expect(billKey({ kind: 'payment', orderNo: 'P1', line: 3 })).toBe('P|P1');
    expect(billKey({ kind: 'payout', orderNo: 'T1', line: 3 })).toBe('T|T1');
    expect(billKey({ kind: 'refund', orderNo: 'P1', refundNo: 'R1', line: 3 })).toBe('R|R1');
    expect(billKey({ kind: 'refund', orderNo: 'P1', channelTradeNo: 'X9', line: 3 })).toBe('X|refund|X9');
    expect(billKey({ kind: 'payment', line: 7 })).toBe('L|7');
    expect(billKey({ kind: 'fee', orderNo: 'P1', line: 8 })).toBe('F|8');
    expect(bookKey({ kind: 'payment', orderNo: 'P1' })).toBe(billKey({ kind: 'payment', orderNo: 'P1', line: 1 }));
    expect(bookKey({ kind: 'refund', orderNo: 'P1', refundNo: 'R1' })).toBe('R|R1');
  });

  it('knows which statuses are settled and which bill words mean failed', () => {
    expect(isSettled({ kind: 'payment', status: 'refunded' })).toBe(true);
    expect(isSettled({ kind: 'payout', status: 'refunded' })).toBe(false);
    expect(isSettled({ kind: 'refund', status: 'succeeded' })).toBe(true);
    expect(billSaysFailed('CLOSED')).toBe(true);
    expect(billSaysFailed('cancelled')).toBe(true);
    expect(billSaysFailed('SUCCESS')).toBe(false);
    expect(billSaysFailed('REFUND')).toBe(false);
    expect(billSaysFailed(undefined)).toBe(false);
  });
});

describe('classifyUnbilled', () => {
  const end = Date.parse('2026-11-23T00:00:00Z');
  it('carries over entries settled within the window before midnight', () => {
    expect(classifyUnbilled({ time: '2026-11-22T23:45:00.000Z' }, end, 30 * 60_000)).toBe('carriedOver');
    expect(classifyUnbilled({ time: '2026-11-22T23:29:59.999Z' }, end, 30 * 60_000)).toBe('missingChannel');
    expect(classifyUnbilled({ time: '2026-11-22T23:59:00.000Z' }, end, 0)).toBe('missingChannel');
    expect(classifyUnbilled({}, end, 30 * 60_000)).toBe('missingChannel');
  });
});

describe('billTotalsFromSums', () => {
  it('splits gross, refunds, payouts, fees and adjustments per currency; net is after fees', () => {
    const t = billTotalsFromSums([
      { currency: 'CNY', kind: 'payment', n: 3, amount: 10_000, fee: 60 },
      { currency: 'CNY', kind: 'refund', n: 1, amount: -2_000, fee: -12 },
      { currency: 'CNY', kind: 'payout', n: 1, amount: -3_000, fee: 0 },
      { currency: 'CNY', kind: 'fee', n: 1, amount: -100, fee: 0 },
      { currency: 'CNY', kind: 'adjustment', n: 1, amount: 5, fee: 0 },
      { currency: 'JPY', kind: 'payment', n: 1, amount: 1500, fee: 0 },
    ]);
    expect(t.get('CNY')).toEqual({ count: 7, grossMinor: 10_000, refundsMinor: 2_000, payoutsMinor: 3_000, feesMinor: 148, adjustmentsMinor: 5, netMinor: 10_000 - 2_000 - 3_000 - 100 + 5 - 48 });
    expect(t.get('JPY')).toMatchObject({ grossMinor: 1500, netMinor: 1500 });
  });

  it('refuses totals past the safe-integer range rather than lose precision', () => {
    expect(() => billTotalsFromSums([{ currency: 'CNY', kind: 'payment', n: 2, amount: Number.MAX_SAFE_INTEGER, fee: 0 }, { currency: 'CNY', kind: 'adjustment', n: 1, amount: 10, fee: 0 }])).toThrow(/largest amount/);
  });
});

/** The sandbox kit the simulators share (src/sandbox/router.ts, idempotency.ts, ticker.ts, payer.ts, errors.ts). */
import { describe, expect, it, vi } from 'vitest';
import { ProviderError, jsonResponse } from '../../src/sandbox/errors.js';
import { IdempotencyStore } from '../../src/sandbox/idempotency.js';
import { pathSegments, Router } from '../../src/sandbox/router.js';
import { SimulatedPayer } from '../../src/sandbox/payer.js';
import { startTicker, Timers } from '../../src/sandbox/ticker.js';

describe('sandbox router', () => {
  const r = new Router<string>()
    .post('/v1/things', 'create')
    .get('/v1/things/search', 'search')
    .get('/v1/things/:id', 'get')
    .post('/v1/things/:id/confirm', 'confirm')
    .delete('/v1/things/:id', 'delete');

  it('matches method and path, literal routes before parameters added after them', () => {
    expect(r.match('POST', '/v1/things')?.handler).toBe('create');
    expect(r.match('GET', '/v1/things/search')).toEqual({ handler: 'search', params: {} });
    expect(r.match('GET', '/v1/things/th_1')).toEqual({ handler: 'get', params: { id: 'th_1' } });
    expect(r.match('POST', '/v1/things/th_2/confirm')).toEqual({ handler: 'confirm', params: { id: 'th_2' } });
    expect(r.match('DELETE', '/v1/things/th_3/')?.params).toEqual({ id: 'th_3' });
  });

  it('answers undefined for an unknown method, path or length', () => {
    expect(r.match('GET', '/v1/things')).toBeUndefined();
    expect(r.match('PUT', '/v1/things/th_1')).toBeUndefined();
    expect(r.match('POST', '/v1/things/th_1/capture')).toBeUndefined();
    expect(r.match('GET', '/v1/things/th_1/confirm/more')).toBeUndefined();
    expect(r.match('GET', '/v2/things/th_1')).toBeUndefined();
  });

  it('decodes path segments, and keeps a malformed escape as it came', () => {
    expect(r.match('GET', '/v1/things/a%2Fb')?.params.id).toBe('a/b');
    expect(pathSegments('/v1//x/%E4%B8%AD/')).toEqual(['v1', 'x', '中']);
    expect(pathSegments('/v1/%zz')).toEqual(['v1', '%zz']);
  });
});

describe('sandbox idempotency store', () => {
  it('replays the same request, reports a conflict for other parameters, and forgets server errors', () => {
    const s = new IdempotencyStore();
    expect(s.lookup('k1', 'f1')).toBeUndefined();
    s.save('k1', { status: 200, body: 'first' }, 'f1');
    expect(s.lookup('k1', 'f1')).toEqual({ kind: 'replay', response: { status: 200, body: 'first' } });
    expect(s.lookup('k1', 'f2')).toEqual({ kind: 'conflict' });
    s.save('k2', { status: 400, body: 'refused' });
    expect(s.lookup('k2')).toEqual({ kind: 'replay', response: { status: 400, body: 'refused' } });
    s.save('k3', { status: 500, body: 'boom' });
    expect(s.lookup('k3')).toBeUndefined();
    expect(s.size).toBe(2);
  });
});

describe('sandbox ticker and errors', () => {
  it('runs advance on its interval until stopped; 0 never runs', () => {
    vi.useFakeTimers();
    try {
      const advance = vi.fn();
      const stop = startTicker(100, advance);
      vi.advanceTimersByTime(350);
      expect(advance).toHaveBeenCalledTimes(3);
      stop();
      vi.advanceTimersByTime(500);
      expect(advance).toHaveBeenCalledTimes(3);
      const never = vi.fn();
      startTicker(0, never)();
      vi.advanceTimersByTime(500);
      expect(never).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });

  it('runs one-shot timers once, and clears those not yet run', () => {
    vi.useFakeTimers();
    try {
      const timers = new Timers();
      const ran: string[] = [];
      timers.later(100, () => ran.push('a'));
      timers.later(300, () => ran.push('b'));
      expect(timers.size).toBe(2);
      vi.advanceTimersByTime(150);
      expect([ran, timers.size]).toEqual([['a'], 1]);
      timers.clear();
      vi.advanceTimersByTime(500);
      expect([ran, timers.size]).toEqual([['a'], 0]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('carries status, body and headers of a provider error; builds JSON answers', () => {
    const e = new ProviderError(402, { type: 'card_error', message: 'Your card was declined.' }, { 'x-a': '1' });
    expect(e).toBeInstanceOf(Error);
    expect([e.status, e.message, e.headers]).toEqual([402, 'Your card was declined.', { 'x-a': '1' }]);
    expect(new ProviderError(401, { error: 'invalid_client' }).message).toBe('invalid_client');
    expect(jsonResponse(201, { a: 1 }, { 'x-b': '2' })).toEqual({ status: 201, headers: { 'content-type': 'application/json', 'x-b': '2' }, body: '{"a":1}' });
  });
});

describe('sandbox webhook notification', () => {
  it('carries the signed request and counts only 2xx replies as received', async () => {
    const { webhookNotification } = await import('../../src/sandbox/notifier.js');
    const n = webhookNotification('http://127.0.0.1:1/hook', { headers: { 'stripe-signature': 't=1,v1=ab' }, body: Buffer.from('{}') }, [10, 20], 'stripe x evt_1');
    expect(n).toMatchObject({ url: 'http://127.0.0.1:1/hook', headers: { 'stripe-signature': 't=1,v1=ab' }, retryDelaysMs: [10, 20], description: 'stripe x evt_1' });
    expect(n.body.toString()).toBe('{}');
    expect([200, 204, 299].map((s) => n.accepted(s, ''))).toEqual([true, true, true]);
    expect([199, 301, 400, 500].map((s) => n.accepted(s, 'success'))).toEqual([false, false, false, false]);
  });
});

describe('sandbox payer', () => {
  const setup = (payAfterMs: number | undefined, pay: (orderNo: string, atMs: number) => void | Promise<void>) => {
    let now = 1_000;
    const timers = new Timers();
    const log = vi.fn();
    const payer = new SimulatedPayer({ payAfterMs, clock: () => now, timers, pay, log });
    return { payer, timers, log, move: (ms: number) => (now += ms) };
  };

  it('pays each order once, payAfterMs after it was made, as the clock moves', () => {
    const paid: [string, number][] = [];
    const { payer, timers, move } = setup(500, (orderNo, at) => void paid.push([orderNo, at]));
    payer.expect('A1', 1_000);
    payer.expect('B2', 1_200);
    expect(timers.size).toBe(2);
    payer.advance();
    expect(paid).toEqual([]);
    move(500);
    payer.advance();
    payer.advance();
    expect(paid).toEqual([['A1', 1_500]]);
    move(1_000);
    payer.advance();
    expect(paid).toEqual([['A1', 1_500], ['B2', 1_700]]);
    timers.clear();
  });

  it('is woken by its timer at the due time', () => {
    vi.useFakeTimers();
    try {
      const paid: string[] = [];
      let now = 0;
      const timers = new Timers();
      const payer = new SimulatedPayer({ payAfterMs: 200, clock: () => now, timers, pay: (orderNo) => void paid.push(orderNo), log: () => {} });
      payer.expect('C3', 0);
      now = 200;
      vi.advanceTimersByTime(210);
      expect(paid).toEqual(['C3']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does nothing without a delay, and logs a refusal instead of throwing', async () => {
    const never = vi.fn();
    const off = setup(undefined, never);
    off.payer.expect('D4', 0);
    off.move(10_000_000);
    off.payer.advance();
    expect([never.mock.calls.length, off.timers.size]).toEqual([0, 0]);

    const sync = setup(0, () => {
      throw new Error('closed meanwhile');
    });
    sync.payer.expect('E5', 1_000);
    sync.payer.advance();
    expect(sync.log).toHaveBeenCalledWith('auto-pay of E5 failed: closed meanwhile');
    const async = setup(0, async () => {
      throw new Error('expired');
    });
    async.payer.expect('F6', 1_000);
    async.payer.advance();
    await vi.waitFor(() => expect(async.log).toHaveBeenCalledWith('auto-pay of F6 failed: expired'));
    sync.timers.clear();
    async.timers.clear();
  });
});

/** The sandbox kit the simulators share (src/sandbox/router.ts, idempotency.ts, ticker.ts, errors.ts). */
import { describe, expect, it, vi } from 'vitest';
import { ProviderError, jsonResponse } from '../../src/sandbox/errors.js';
import { IdempotencyStore } from '../../src/sandbox/idempotency.js';
import { pathSegments, Router } from '../../src/sandbox/router.js';
import { startTicker } from '../../src/sandbox/ticker.js';

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

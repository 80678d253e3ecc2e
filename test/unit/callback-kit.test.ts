/** The pieces the channels' callback modules share (src/channel/callback-kit.ts). */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bodyDedupKey, buildJsonCallback, JSON_RECEIVED_REPLY, jsonErrorReply, newEventId, parseJsonBody } from '../../src/channel/callback-kit.js';

describe('callback kit', () => {
  it('builds a JSON callback whose signing headers sign its exact bytes, after the sender headers', () => {
    const signed: Buffer[] = [];
    const r = buildJsonCallback({
      event: { id: 'evt_1', n: 1 },
      indent: 2,
      target: '/hooks',
      headers: { 'content-type': 'application/json', 'user-agent': 'x/1' },
      sign: (body) => {
        signed.push(body);
        return { 'x-signature': createHash('sha256').update(body).digest('hex') };
      },
    });
    expect(r.method).toBe('POST');
    expect(r.target).toBe('/hooks');
    expect(r.body.toString('utf8')).toBe('{\n  "id": "evt_1",\n  "n": 1\n}');
    expect(signed).toEqual([r.body]);
    expect(Object.keys(r.headers)).toEqual(['content-type', 'user-agent', 'x-signature']);
    expect(r.headers['x-signature']).toBe(createHash('sha256').update(r.body).digest('hex'));
    expect(buildJsonCallback({ event: { a: 1 }, target: '/', headers: {}, sign: () => ({}) }).body.toString()).toBe('{"a":1}');
  });

  it('keys a body by its hash, reads JSON or says why not, and answers as webhook senders expect', () => {
    expect(bodyDedupKey(Buffer.from('abc'))).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(parseJsonBody(Buffer.from('{"a":[1]}'))).toEqual({ json: { a: [1] } });
    expect(parseJsonBody(Buffer.from('null'))).toEqual({ json: null });
    expect(parseJsonBody(Buffer.from('{'))).toBe('body is not JSON');
    expect(newEventId()).toMatch(/^evt_[0-9a-f]{24}$/);
    expect(JSON_RECEIVED_REPLY).toEqual({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"received":true}' });
    expect(jsonErrorReply('BAD_SIGNATURE')).toEqual({ status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"BAD_SIGNATURE"}' });
  });
});

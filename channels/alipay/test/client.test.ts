/**
 * The gateway client's answer handling, without a network: Alipay's code/sub_code table, signed
 * and unsigned answers, error_response, HTTP failures and bodies that are not gateway answers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../../src/channel/http-client.js';
import { isPayError, type PayError } from '../../../src/core/errors.js';
import { AlipayClient, mapAlipayError } from '../client.js';
import { validateAlipayConfig } from '../config.js';
import { parseForm, signResponse, verifyFields } from '../signature.js';
import { rsaKeyPair, type TestKeyPair } from './keys.js';

let app: TestKeyPair;
let alipay: TestKeyPair;
let client: AlipayClient;

beforeAll(() => {
  app = rsaKeyPair();
  alipay = rsaKeyPair();
  const config = validateAlipayConfig({ appId: '2021000000000001', privateKey: app.privatePem, alipayPublicKey: alipay.publicBase64, gateway: 'http://127.0.0.1:9/gateway.do' });
  client = new AlipayClient(config, { http: () => Promise.reject(new Error('no network in this test')), clock: () => Date.parse('2026-11-23T02:00:00Z'), record: () => {} });
});

function res(body: string, status = 200, contentType = 'application/json;charset=utf-8'): HttpResponse {
  return { status, headers: { 'content-type': contentType }, body: Buffer.from(body), durationMs: 1, attempts: 1 };
}

function failure(fn: () => unknown): PayError {
  try {
    fn();
  } catch (err) {
    expect(isPayError(err), String(err)).toBe(true);
    return err as PayError;
  }
  throw new Error('expected a PayError');
}

describe('code mapping', () => {
  it.each([
    ['40004', 'ACQ.TRADE_NOT_EXIST', 'ORDER_NOT_FOUND'],
    ['40004', 'ORDER_NOT_EXIST', 'ORDER_NOT_FOUND'],
    ['40004', 'ACQ.SYSTEM_ERROR', 'SYSTEM_ERROR'],
    ['20000', 'isp.unknow-error', 'SYSTEM_ERROR'],
    ['40002', 'isv.invalid-signature', 'AUTHENTICATION_FAILED'],
    ['40002', 'isv.invalid-app-id', 'AUTHENTICATION_FAILED'],
    ['40006', 'isv.insufficient-isv-permissions', 'AUTHENTICATION_FAILED'],
    ['40004', 'ACQ.ACCESS_FORBIDDEN', 'AUTHENTICATION_FAILED'],
    ['40004', 'ACQ.SELLER_BALANCE_NOT_ENOUGH', 'INSUFFICIENT_BALANCE'],
    ['40004', 'BALANCE_IS_NOT_ENOUGH', 'INSUFFICIENT_BALANCE'],
    ['40004', 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', 'INVALID_REQUEST'],
    ['40004', 'ACQ.TRADE_HAS_SUCCESS', 'INVALID_REQUEST'],
    ['40004', 'PAYEE_NOT_EXIST', 'INVALID_REQUEST'],
    ['40001', 'isv.missing-signature', 'INVALID_REQUEST'],
    ['40002', 'isv.invalid-parameter', 'INVALID_REQUEST'],
    ['40004', 'isv.app-call-limited', 'RATE_LIMITED'],
    ['40004', 'ACQ.SOMETHING_NEW', 'CHANNEL_ERROR'],
  ])('%s %s -> %s', (code, sub, want) => {
    expect(mapAlipayError(code, sub).code).toBe(want);
  });
});

describe('requests', () => {
  it('signs every parameter with sign_type kept, in Beijing time, biz_content as JSON', async () => {
    const p = client.signed('alipay.trade.query', { out_trade_no: 'P1' }, { notify_url: 'https://m.example/n' });
    expect(p).toMatchObject({ app_id: '2021000000000001', method: 'alipay.trade.query', charset: 'utf-8', sign_type: 'RSA2', timestamp: '2026-11-23 10:00:00', version: '1.0', biz_content: '{"out_trade_no":"P1"}', notify_url: 'https://m.example/n' });
    const fields = parseForm(new URLSearchParams(p).toString());
    expect(await verifyFields(fields, p.sign, app.publicKey)).toEqual({ ok: true, signTypeSigned: true });
  });
});

describe('answers', () => {
  const ok = '{"code":"10000","msg":"Success","out_trade_no":"P1","trade_status":"TRADE_SUCCESS"}';

  it('returns a signed success', () => {
    const a = client.parse('alipay.trade.query', res(signResponse('alipay_trade_query_response', ok, alipay.privateKey)));
    expect(a.body.trade_status).toBe('TRADE_SUCCESS');
    expect(a.raw).toBe(ok);
  });

  it('never trusts an unsigned or wrongly signed success', () => {
    expect(failure(() => client.parse('alipay.trade.query', res(`{"alipay_trade_query_response":${ok}}`))).code).toBe('SIGNATURE_INVALID');
    expect(failure(() => client.parse('alipay.trade.query', res(signResponse('alipay_trade_query_response', ok, app.privateKey)))).code).toBe('SIGNATURE_INVALID');
    // A signature over another member's text does not carry over.
    const moved = signResponse('alipay_trade_query_response', ok, alipay.privateKey).replace('TRADE_SUCCESS', 'TRADE_CLOSED');
    expect(failure(() => client.parse('alipay.trade.query', res(moved))).code).toBe('SIGNATURE_INVALID');
  });

  it('maps a signed business failure, keeping sub_code and sub_msg', () => {
    const body = '{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}';
    const e = failure(() => client.parse('alipay.trade.query', res(signResponse('alipay_trade_query_response', body, alipay.privateKey))));
    expect(e).toMatchObject({ code: 'ORDER_NOT_FOUND', providerCode: 'ACQ.TRADE_NOT_EXIST', providerMessage: '交易不存在', channel: 'alipay' });
  });

  it('accepts an unsigned error_response as the error it is', () => {
    const e = failure(() => client.parse('alipay.trade.query', res('{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"}}')));
    expect(e).toMatchObject({ code: 'AUTHENTICATION_FAILED', providerCode: 'isv.invalid-app-id' });
  });

  it('names HTTP failures and bodies that are not gateway answers, quoting them', () => {
    expect(failure(() => client.parse('alipay.trade.query', res('<html>Bad Gateway</html>', 502, 'text/html')))).toMatchObject({ code: 'SYSTEM_ERROR', httpStatus: 502 });
    expect(failure(() => client.parse('alipay.trade.query', res('not found', 404, 'text/plain'))).code).toBe('CHANNEL_ERROR');
    const garbage = failure(() => client.parse('alipay.trade.query', res('{"alipay_trade_query_response":{"code":"100')));
    expect(garbage.code).toBe('CHANNEL_ERROR');
    expect(garbage.message).toContain('{"alipay_trade_query_response":{"code":"100');
    expect(failure(() => client.parse('alipay.trade.query', res('{"alipay_trade_close_response":{}}'))).code).toBe('CHANNEL_ERROR');
  });
});

/**
 * Fidelity of the UnionPay simulator over plain HTTP, following UnionPay's published gateway
 * format (5.1.0): form fields signed with RSA-SHA256 over the SHA-256 hex of the sorted
 * `k=v&...` string, written here with node:crypto alone, not with pay's UnionPay code. Every
 * answer, refusals included, carries respCode/respMsg and a signature made with the key of
 * `signPubKeyCert`, which is checked the same way.
 */
import { createHash, createSign, createVerify, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAnswer, fieldsToRecord } from '../../channels/unionpay/form.js';
import { toTxnTime } from '../../channels/unionpay/wire-time.js';
import { startUnionPayHarness, type UnionPayHarness } from '../../channels/unionpay/test/harness.js';

let h: UnionPayHarness;

beforeAll(async () => {
  h = await startUnionPayHarness();
});
afterAll(async () => {
  await h?.close();
});

/** UnionPay 5.1.0: sorted `k=v` (signature left out), SHA-256 hex, RSA-SHA256 over the hex. */
function digestHex(fields: Record<string, string>): string {
  const text = Object.keys(fields)
    .filter((k) => k !== 'signature')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

async function send(path: string, fields: Record<string, string>, tamper = false): Promise<Record<string, string>> {
  const all: Record<string, string> = { version: '5.1.0', encoding: 'UTF-8', signMethod: '01', certId: h.sim.merchantCertId, merId: h.sim.merId, accessType: '0', ...fields };
  all.signature = createSign('RSA-SHA256').update(digestHex(all)).sign(h.sim.merchant.privateKey, 'base64');
  if (tamper) all.txnAmt = String(Number(all.txnAmt) + 1);
  const res = await fetch(`${h.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' }, body: new URLSearchParams(all).toString() });
  expect(res.status).toBe(200);
  const answer = fieldsToRecord(parseAnswer(Buffer.from(await res.arrayBuffer())).fields).record;
  // Every answer is signed: the key of signPubKeyCert verifies it.
  expect(answer.signPubKeyCert, JSON.stringify(answer)).toContain('BEGIN CERTIFICATE');
  const key = new X509Certificate(answer.signPubKeyCert).publicKey;
  expect(createVerify('RSA-SHA256').update(digestHex(answer)).verify(key, answer.signature, 'base64'), 'answer signature').toBe(true);
  return answer;
}

const APP = '/gateway/api/appTransReq.do';
const QUERY = '/gateway/api/queryTrans.do';
const consume = (orderId: string, extra: Record<string, string> = {}) => ({
  txnType: '01',
  txnSubType: '01',
  bizType: '000201',
  channelType: '08',
  orderId,
  txnTime: toTxnTime(Date.now()),
  txnAmt: '1000',
  currencyCode: '156',
  backUrl: 'https://example.com/unionpay/back',
  ...extra,
});

describe('UnionPay gateway over plain HTTP', () => {
  it('an app consume gets a tn; once paid the query says 00, every answer signed', async () => {
    const orderId = `FID${Date.now()}`;
    const txnTime = toTxnTime(Date.now());
    const a = await send(APP, consume(orderId, { txnTime }));
    expect(a).toMatchObject({ respCode: '00', orderId });
    expect(a.tn).toMatch(/^\d+$/);
    const before = await send(QUERY, { txnType: '00', txnSubType: '00', bizType: '000000', orderId, txnTime });
    expect(before).toMatchObject({ respCode: '34' });
    await h.sandbox.pay('unionpay', orderId);
    const after = await send(QUERY, { txnType: '00', txnSubType: '00', bizType: '000000', orderId, txnTime });
    expect(after).toMatchObject({ respCode: '00', origRespCode: '00', txnAmt: '1000' });
  });

  it('refusals carry respCode and respMsg, signed: bad signature 11, missing element 13, bad sub-type or access type 10, repeat 12', async () => {
    expect(await send(APP, consume(`FID${Date.now()}S`), true)).toMatchObject({ respCode: '11', respMsg: expect.stringContaining('验证签名失败') });
    const { txnAmt: _drop, ...noAmount } = consume(`FID${Date.now()}M`);
    expect(await send(APP, noAmount)).toMatchObject({ respCode: '13', respMsg: expect.stringContaining('txnAmt') });
    expect(await send(APP, consume(`FID${Date.now()}T`, { txnSubType: '99' }))).toMatchObject({ respCode: '10', respMsg: expect.stringContaining('txnSubType') });
    expect(await send(APP, consume(`FID${Date.now()}A`, { accessType: '7' }))).toMatchObject({ respCode: '10', respMsg: expect.stringContaining('accessType') });
    expect(await send(APP, consume(`FID${Date.now()}Q`, { accessType: '1' }))).toMatchObject({ respCode: '13', respMsg: expect.stringContaining('acqInsCode') });
    const orderId = `FID${Date.now()}R`;
    expect((await send(APP, consume(orderId))).respCode).toBe('00');
    expect(await send(APP, consume(orderId))).toMatchObject({ respCode: '12' });
  });
});

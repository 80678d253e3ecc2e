/** Transactions: create (native, jsapi, h5, app), query by out_trade_no or transaction id, close, and the H5 cashier page. */
import { createHash, randomBytes } from 'node:crypto';
import type { SimulatorRequest, SimulatorResponse } from '../../../src/sandbox/contract.js';
import { randomDigits } from '../../../src/sandbox/helpers.js';
import type { Router } from '../../../src/sandbox/router.js';
import { toWireTime } from '../client.js';
import { compactDate, wxError, type Order, type WechatHandler } from './common.js';
import type { WechatpaySimulator } from './index.js';
import { pay } from './progress.js';

/** The transaction routes. */
export function transactionRoutes(r: Router<WechatHandler>): void {
  for (const kind of ['native', 'jsapi', 'h5', 'app']) r.post(`/v3/pay/transactions/${kind}`, (sim, req) => createOrder(sim, req, kind));
  r.get('/v3/pay/transactions/out-trade-no/:no', (sim, req, { no }) => queryOrder(sim, req, sim.orders.get(no)));
  r.get('/v3/pay/transactions/id/:id', (sim, req, { id }) => queryOrder(sim, req, sim.ordersByTxn.get(id)));
  r.post('/v3/pay/transactions/out-trade-no/:no/close', (sim, req, { no }) => closeOrder(sim, req, no));
}

export function transaction(sim: WechatpaySimulator, o: Order): Record<string, unknown> {
  const refunded = [...sim.refunds.values()].some((r) => r.outTradeNo === o.outTradeNo);
  const state = o.state === 'SUCCESS' && refunded ? 'REFUND' : o.state;
  const t: Record<string, unknown> = {
    appid: o.appid,
    mchid: o.mchid,
    out_trade_no: o.outTradeNo,
    trade_state: state,
    trade_state_desc: { NOTPAY: '未支付', SUCCESS: '支付成功', REFUND: '转入退款', CLOSED: '已关闭', PAYERROR: '支付失败' }[state],
    amount: { total: o.total, currency: o.currency, ...(o.paidMs ? { payer_total: o.total, payer_currency: o.currency } : {}) },
    attach: o.attach ?? '',
  };
  if (o.transactionId) {
    t.transaction_id = o.transactionId;
    t.trade_type = o.tradeType;
    t.bank_type = 'OTHERS';
    t.success_time = toWireTime(o.paidMs!);
    t.payer = { openid: o.openid };
  }
  return t;
}

export function createOrder(sim: WechatpaySimulator, req: SimulatorRequest, kind: string): SimulatorResponse {
  const b = sim.body(req);
  // appid is required on every direct-merchant order (JSAPI, Native, H5, App).
  if (typeof b.appid !== 'string' || b.appid === '') {
    throw wxError(400, 'PARAM_ERROR', '输入源“/body/appid”映射到值字段“应用ID”必填性规则校验失败，此字段为必填项', { field: '/appid', location: 'body', value: b.appid ?? null });
  }
  sim.checkMerchant(b);
  const outTradeNo = b.out_trade_no;
  if (typeof outTradeNo !== 'string' || !/^[A-Za-z0-9_*|-]{6,32}$/.test(outTradeNo)) throw wxError(400, 'PARAM_ERROR', '商户订单号out_trade_no格式错误');
  if (typeof b.description !== 'string' || b.description === '' || Buffer.byteLength(b.description) > 127) throw wxError(400, 'PARAM_ERROR', 'description长度不符合要求');
  if (typeof b.notify_url !== 'string' || !/^https?:\/\//.test(b.notify_url)) throw wxError(400, 'PARAM_ERROR', 'notify_url格式错误');
  const amount = b.amount as { total?: unknown; currency?: unknown } | undefined;
  if (!amount || !Number.isSafeInteger(amount.total) || (amount.total as number) < 1) throw wxError(400, 'PARAM_ERROR', '订单金额amount.total必须为大于0的整数');
  if (amount.currency !== undefined && amount.currency !== 'CNY') throw wxError(400, 'PARAM_ERROR', '境内商户仅支持人民币CNY');
  const payer = b.payer as { openid?: unknown } | undefined;
  if (kind === 'jsapi' && (typeof payer?.openid !== 'string' || payer.openid === '')) throw wxError(400, 'PARAM_ERROR', 'JSAPI下单payer.openid必填');
  if (kind === 'h5' && typeof (b.scene_info as { payer_client_ip?: unknown } | undefined)?.payer_client_ip !== 'string') throw wxError(400, 'PARAM_ERROR', 'H5下单scene_info.payer_client_ip必填');
  const fingerprint = createHash('sha256').update(JSON.stringify([kind, b.appid, b.description, amount.total, payer?.openid ?? null])).digest('hex');
  const existing = sim.orders.get(outTradeNo);
  if (existing) {
    if (existing.state === 'SUCCESS') throw wxError(403, 'ORDERPAID', '该订单已支付');
    if (existing.state === 'CLOSED') throw wxError(400, 'ORDER_CLOSED', '该订单已关闭');
    if (existing.fingerprint !== fingerprint) throw wxError(403, 'OUT_TRADE_NO_USED', '商户订单号重复');
    return sim.ok(existing.answer);
  }
  const now = sim.deps.clock();
  let expireMs = now + 2 * 3600_000;
  if (typeof b.time_expire === 'string') {
    const t = Date.parse(b.time_expire);
    if (Number.isNaN(t)) throw wxError(400, 'PARAM_ERROR', 'time_expire格式错误');
    expireMs = t;
  }
  const prepay = `wx${compactDate(now)}${randomBytes(12).toString('hex')}`;
  const answer: Record<string, string> =
    kind === 'native'
      ? { code_url: `weixin://wxpay/bizpayurl?pr=${randomBytes(6).toString('base64url')}` }
      : kind === 'h5'
        ? { h5_url: `${sim.base()}/sandbox/checkmweb?prepay_id=${prepay}&package=${randomDigits(10)}` }
        : { prepay_id: prepay };
  const o: Order = {
    outTradeNo,
    appid: b.appid as string,
    mchid: sim.mchId,
    description: b.description,
    notifyUrl: b.notify_url,
    total: amount.total as number,
    currency: 'CNY',
    tradeType: kind === 'native' ? 'NATIVE' : kind === 'h5' ? 'MWEB' : 'JSAPI',
    attach: typeof b.attach === 'string' ? b.attach : undefined,
    openid: typeof payer?.openid === 'string' ? payer.openid : undefined,
    fingerprint,
    answer,
    state: 'NOTPAY',
    createdMs: now,
    expireMs,
    fee: 0,
  };
  if (kind === 'h5') sim.h5Prepays.set(prepay, outTradeNo);
  sim.orders.set(outTradeNo, o);
  sim.payer.expect(outTradeNo, now);
  return sim.ok(answer);
}

/** The H5 cashier page: opening it pays the order (the payer confirms in WeChat). */
export async function h5Page(sim: WechatpaySimulator, req: SimulatorRequest): Promise<SimulatorResponse> {
  const orderNo = sim.h5Prepays.get(req.query.get('prepay_id') ?? '');
  const o = orderNo ? sim.orders.get(orderNo) : undefined;
  if (!o) return { status: 404, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<p>prepay_id expired or unknown</p>' };
  if (o.state === 'NOTPAY' && sim.deps.clock() < o.expireMs) pay(sim, o, 'succeeded', sim.deps.clock());
  return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: `<p>WeChat Pay sandbox: order ${o.outTradeNo} is ${o.state}.</p>` };
}

export function queryOrder(sim: WechatpaySimulator, req: SimulatorRequest, o: Order | undefined): SimulatorResponse {
  if (req.query.get('mchid') !== sim.mchId) throw wxError(400, 'PARAM_ERROR', 'mchid参数错误');
  if (!o) throw wxError(404, 'ORDER_NOT_EXIST', '订单不存在');
  return sim.ok(transaction(sim, o));
}

export function closeOrder(sim: WechatpaySimulator, req: SimulatorRequest, orderNo: string): SimulatorResponse {
  const b = sim.body(req);
  sim.checkMerchant(b);
  const o = sim.orders.get(orderNo);
  if (!o) throw wxError(404, 'ORDER_NOT_EXIST', '订单不存在');
  if (o.state === 'SUCCESS') throw wxError(400, 'ORDERPAID', '订单已支付，不能关单');
  o.state = o.state === 'PAYERROR' ? o.state : 'CLOSED';
  return sim.sign(204, '');
}

/** Funds: transfers to an Alipay account drawing on the balance, their query, and the account balance. */
import { randomDigits } from '../../../src/sandbox/helpers.js';
import { formatAmount } from '../../../src/core/money.js';
import { utcToBeijing } from '../beijing-time.js';
import { BUSINESS, INVALID, need, yuanOf, type AlipayHandler, type Transfer } from './common.js';
import type { AlipaySimulator } from './index.js';

/** The fund methods of the gateway. */
export const fundMethods: Record<string, AlipayHandler> = {
  'alipay.fund.trans.uni.transfer': (sim, ctx) => transfer(sim, ctx.biz),
  'alipay.fund.trans.common.query': (sim, ctx) => transferQuery(sim, ctx.biz),
  'alipay.fund.account.query': (sim, ctx) => accountQuery(sim, ctx.biz),
};

export function transfer(sim: AlipaySimulator, biz: Record<string, unknown>): Record<string, unknown> {
  const outBizNo = need(biz, 'out_biz_no');
  const amount = yuanOf(biz.trans_amount, 'trans_amount');
  if (biz.product_code !== 'TRANS_ACCOUNT_NO_PWD') throw BUSINESS('INVALID_PARAMETER', 'product_code不支持');
  const payee = biz.payee_info as Record<string, unknown> | undefined;
  if (!payee || typeof payee.identity !== 'string' || typeof payee.identity_type !== 'string') throw BUSINESS('INVALID_PARAMETER', '收款方信息不完整');
  const seen = sim.transfers.get(outBizNo);
  if (seen) {
    if (seen.amountMinor !== amount || seen.identity !== payee.identity) throw BUSINESS('INVALID_PARAMETER', '同一外部订单号的请求参数不一致');
    return transferAnswer(sim, seen);
  }
  if (amount < 10) throw BUSINESS('EXCEED_LIMIT_SM_MIN_AMOUNT', '单笔最低转账金额0.1元');
  if (payee.identity_type === 'ALIPAY_LOGON_ID' && !payee.name) throw BUSINESS('PAYEE_USER_INFO_ERROR', '支付宝账号和姓名不匹配，请确认姓名是否正确');
  if (/notexist|nobody/i.test(payee.identity)) throw BUSINESS('PAYEE_NOT_EXIST', '收款账号不存在');
  if (payee.identity_type === 'ALIPAY_USER_ID' && !/^2088\d{12}$/.test(payee.identity)) throw BUSINESS('PAYEE_NOT_EXIST', '收款账号不存在');
  if (payee.name === 'WRONG NAME') throw BUSINESS('PAYEE_USER_INFO_ERROR', '支付宝账号和姓名不匹配，请确认姓名是否正确');
  if (sim.balanceMinor < amount) throw BUSINESS('BALANCE_IS_NOT_ENOUGH', '付款方余额不足');
  sim.book(-amount);
  const now = sim.now();
  const day = utcToBeijing(now).slice(0, 10).replaceAll('-', '');
  const t: Transfer = { outBizNo, orderId: `${day}110070000${randomDigits(13)}`, payFundOrderId: `${day}110070001${randomDigits(13)}`, amountMinor: amount, identity: payee.identity, status: 'SUCCESS', ms: now };
  sim.transfers.set(outBizNo, t);
  return transferAnswer(sim, t);
}

export function transferAnswer(sim: AlipaySimulator, t: Transfer): Record<string, unknown> {
  return { out_biz_no: t.outBizNo, order_id: t.orderId, pay_fund_order_id: t.payFundOrderId, status: t.status, trans_date: utcToBeijing(t.ms) };
}

export function transferQuery(sim: AlipaySimulator, biz: Record<string, unknown>): Record<string, unknown> {
  const outBizNo = typeof biz.out_biz_no === 'string' ? biz.out_biz_no : undefined;
  const orderId = typeof biz.order_id === 'string' ? biz.order_id : undefined;
  if (!outBizNo && !orderId) throw INVALID('isv.invalid-parameter', 'out_biz_no和order_id不能同时为空');
  const t = outBizNo ? sim.transfers.get(outBizNo) : [...sim.transfers.values()].find((x) => x.orderId === orderId);
  if (!t) throw BUSINESS('ORDER_NOT_EXIST', '转账订单不存在');
  return { order_id: t.orderId, pay_fund_order_id: t.payFundOrderId, out_biz_no: t.outBizNo, trans_amount: formatAmount(t.amountMinor, 'CNY'), status: t.status, pay_date: utcToBeijing(t.ms), order_fee: '0.00' };
}

export function accountQuery(sim: AlipaySimulator, biz: Record<string, unknown>): Record<string, unknown> {
  if (biz.alipay_user_id !== undefined && biz.alipay_user_id !== sim.sellerId) throw BUSINESS('INVALID_PARAMETER', '用户ID不合法');
  return { available_amount: formatAmount(sim.balanceMinor, 'CNY'), freeze_amount: '0.00' };
}

/** Asynchronous notifications of a trade's change, signed like Alipay's and retried on its schedule. */
import { randomDigits } from '../../../src/sandbox/helpers.js';
import { formatAmount } from '../../../src/core/money.js';
import { utcToBeijing } from '../beijing-time.js';
import { buildNotify, encoderFor } from '../callback.js';
import type { Trade } from './common.js';
import type { AlipaySimulator } from './index.js';

/** Sends a trade_status_sync notify for the trade's current state (plus `extra` fields). */
export async function notifyTrade(sim: AlipaySimulator, t: Trade, extra: Record<string, string>): Promise<void> {
  if (!t.notifyUrl) {
    sim.deps.log(`no notify_url for ${t.outTradeNo}; notification not sent`);
    return;
  }
  const now = sim.now();
  const amount = formatAmount(t.totalMinor, 'CNY');
  const fields: Record<string, string> = {
    gmt_create: utcToBeijing(t.createdMs),
    charset: t.charset,
    seller_email: 'sandbox-seller@example.com',
    subject: t.subject,
    buyer_id: t.buyerId,
    invoice_amount: amount,
    notify_id: `${utcToBeijing(now).slice(0, 10).replaceAll('-', '')}00222${randomDigits(23)}`,
    fund_bill_list: JSON.stringify([{ amount, fundChannel: 'ALIPAYACCOUNT' }]),
    notify_type: 'trade_status_sync',
    trade_status: t.status,
    receipt_amount: amount,
    app_id: sim.appId,
    buyer_pay_amount: amount,
    sign_type: t.signType,
    seller_id: sim.sellerId,
    notify_time: utcToBeijing(now),
    version: '1.0',
    out_trade_no: t.outTradeNo,
    total_amount: amount,
    trade_no: t.tradeNo,
    auth_app_id: sim.appId,
    buyer_logon_id: t.buyerLogonId,
    point_amount: '0.00',
    ...extra,
  };
  if (t.paidMs) fields.gmt_payment = utcToBeijing(t.paidMs);
  if (sim.cert) fields.alipay_cert_sn = sim.cert.alipayCertSn;
  const encode = await encoderFor(t.charset);
  const req = buildNotify(fields, sim.alipayKey, { charset: t.charset, encode, signType: t.signType });
  sim.deps.notify({
    url: t.notifyUrl,
    headers: req.headers,
    body: req.body,
    retryDelaysMs: sim.retryDelaysMs,
    accepted: (status, body) => status === 200 && body.trim() === 'success',
    description: `alipay trade_status_sync ${t.outTradeNo} ${t.status}${extra.out_biz_no ? ` refund ${extra.out_biz_no}` : ''}`,
  });
}

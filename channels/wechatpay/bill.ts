/**
 * WeChat Pay bills: the trade bill (交易账单: ALL, SUCCESS, REFUND) and the fund-flow bill
 * (资金账单), read as streams and written in the real format.
 *
 * Format (UTF-8, sometimes with a BOM; gzip when downloaded with tar_type=GZIP):
 *
 *   交易时间,公众账号ID,商户号,...,费率备注            <- header, plain
 *   `2021-01-28 17:07:11,`wx81be3101902f7cb2,`...       <- one row per line, every field prefixed
 *   总交易单数,应结订单总金额,退款总金额,...             <- summary header
 *   `3,`0.03,`0.00,...                                 <- summary row
 *
 * Fields are split on ",`" (a product name may hold a plain comma). Columns are found by name,
 * not position: the three trade-bill types and their revisions differ (the REFUND bill adds
 * 退款申请时间 and 退款成功时间). Times are wall-clock UTC+8. Amounts are yuan with 2 decimals; fees
 * (手续费) have 5, and are rounded half up to fen per row while the summary is checked exactly.
 *
 * Normalisation (BillRow): a payment row is `payment` with +订单金额 (the order's full amount,
 * as the merchant asked; 应结订单金额 when the column is absent); a refund row (交易状态 REFUND)
 * is `refund` with -申请退款金额 (else -退款金额), refundNo 商户退款单号, channelTradeNo 微信退款单号
 * (the channel's id of the refund, as the mock channel does), dated by 退款成功时间, else
 * 退款申请时间, else 交易时间. Fund-flow rows: 交易 payment, 退款 refund, 企业付款/商家转账
 * payout, fees `fee` (amount 0, feeMinor charged), anything else `adjustment`; sign from 收支类型.
 *
 * Damage is INVALID_REQUEST (exit 2): no summary (truncated), summary totals or counts that
 * disagree with the rows, rows after the summary, a field count off the header, an amount like
 * `1,000.00` or `abc`, bytes that are not UTF-8, a day other than `options.date`, another merchant.
 */
import type { BillReader } from '../../src/channel/contract.js';
import type { WechatBillRow } from './bill-format.js';
import { readWechatBill } from './bill-reader.js';
import { writeFundFlowBill, writeTradeBill } from './bill-writer.js';

export type { WechatBillRow, WechatBillVariant } from './bill-format.js';
export { readWechatBill } from './bill-reader.js';
export { writeFundFlowBill, writeTradeBill } from './bill-writer.js';

/** The channel's bill reader and writer (variant ALL, SUCCESS, REFUND or FUNDFLOW; `.gz` paths are gzip). */
export const wechatpayBills: BillReader = {
  read: readWechatBill,
  write: async (path, rows, options) => {
    if ((options.variant ?? '').toUpperCase() === 'FUNDFLOW') await writeFundFlowBill(path, rows, options);
    else await writeTradeBill(path, rows as WechatBillRow[], options);
  },
};


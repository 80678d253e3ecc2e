/** The UnionPay reconciliation file's layout, as reader and writer share it (the format is described in bill.ts). */

/** The ZM record layout: field name and byte width, in order. */
export const ZM_FIELDS = [
  ['tradeCode', 3], // 交易代码
  ['acqInsCode', 11], // 代理机构标识码
  ['sendInsCode', 11], // 发送机构标识码
  ['traceNo', 6], // 系统跟踪号
  ['txnTime', 10], // 交易传输时间 MMDDhhmmss
  ['accNo', 19], // 帐号 (masked)
  ['txnAmt', 12], // 交易金额 (fen)
  ['merCatCode', 4], // 商户类别
  ['termType', 2], // 终端类型
  ['queryId', 21], // 查询流水号
  ['oldPayType', 2], // 支付方式（旧）
  ['orderId', 32], // 商户订单号
  ['payCardType', 2], // 支付卡类型
  ['origTraceNo', 6], // 原始交易的系统跟踪号
  ['origTxnTime', 10], // 原始交易日期时间
  ['merFee', 13], // 商户手续费 (D/C + fen)
  ['settleAmt', 13], // 结算金额 (D/C + fen)
  ['payType', 4], // 支付方式
  ['groupMerId', 15], // 集团商户代码
  ['txnType', 2], // 交易类型
  ['txnSubType', 2], // 交易子类
  ['bizType', 6], // 业务类型
  ['accType', 2], // 帐号类型
  ['billType', 4], // 账单类型
  ['billNo', 32], // 账单号码
  ['interactMode', 1], // 交互方式
  ['origQryId', 21], // 原交易查询流水号
  ['merId', 15], // 商户代码
  ['splitMode', 1], // 分账入账方式
  ['subMerId', 15], // 二级商户代码
  ['subMerAbbr', 32], // 二级商户简称
  ['subMerAmt', 13], // 二级商户分账入账金额
  ['netAmt', 13], // 清算净额
  ['termId', 8], // 终端号
  ['merReserved', 32], // 商户自定义域
  ['discountAmt', 13], // 优惠金额
  ['invoiceAmt', 13], // 发票金额
  ['instalFee', 12], // 分期付款附加手续费
  ['instalNum', 2], // 分期付款期数
  ['medium', 1], // 交易介质
  ['origOrderId', 32], // 原始交易订单号
  ['reserved', 98], // 保留使用
] as const;

export type ZmField = (typeof ZM_FIELDS)[number][0];

export const OFFSET = {} as Record<ZmField, number>;
export const WIDTH = {} as Record<ZmField, number>;
let cursor = 0;
for (const [name, width] of ZM_FIELDS) {
  OFFSET[name] = cursor;
  WIDTH[name] = width;
  cursor += width + 1;
}
/** Bytes in one ZM record, separators included, line end excluded. */
export const ZM_RECORD_BYTES = cursor - 1;
// A line may be right-trimmed by tools that copy it; everything up to the medium field must be there.
export const ZM_MIN_BYTES = OFFSET.medium + WIDTH.medium;

/** File names inside the archive for a settlement date and merchant. */
export function billFileNames(date: string, merId: string): { zip: string; zm: string; rd: string } {
  const ymd = date.replace(/-/g, '');
  const yymmdd = ymd.slice(2);
  return { zip: `${merId}_${ymd}.zip`, zm: `INN${yymmdd}88ZM_${merId}`, rd: `RD2010${yymmdd}01_${merId}` };
}

export const ZM_NAME = /(?:^|\/)INN(\d{6})\d{2}ZM_([0-9A-Za-z]+)$/;
export const RD_NAME = /(?:^|\/)RD\d{4}(\d{6})\d{2}_([0-9A-Za-z]+)$/;

/** Settlement currency names as the RD summary prints them. */
export const CURRENCY_BY_NAME: Record<string, string> = { 人民币: 'CNY', 港币: 'HKD', 美元: 'USD', 欧元: 'EUR', 日元: 'JPY', 英镑: 'GBP' };
export const NAME_BY_CURRENCY = Object.fromEntries(Object.entries(CURRENCY_BY_NAME).map(([k, v]) => [v, k]));

/** Running totals of rows, in the RD summary's terms. */
export interface Totals {
  count: number;
  amountDebit: number;
  amountCredit: number;
  feeDebit: number;
  feeCredit: number;
  netDebit: number;
  netCredit: number;
}

/** All-zero totals. */
export const emptyTotals = (): Totals => ({ count: 0, amountDebit: 0, amountCredit: 0, feeDebit: 0, feeCredit: 0, netDebit: 0, netCredit: 0 });

/** A number zero-padded to `width` digits. */
export const digits = (n: number, width: number) => String(n).padStart(width, '0');

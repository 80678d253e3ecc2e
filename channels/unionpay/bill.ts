/**
 * UnionPay's merchant reconciliation file (全渠道商户对账文件), as delivered by file transfer
 * (txnType 76): a zip `<merId>_<yyyyMMdd>.zip` holding
 * - `INN<yyMMdd>88ZM_<merId>`: the ZM detail file, one fixed-width GBK record per line (CRLF), 42
 *   fields separated by one space, 607 bytes; widths as published in the official SDKs'
 *   `parseZMFile` (after 《全渠道平台接入接口规范 第3部分 文件接口》 6.1), checked against a real
 *   sample file;
 * - `RD2010<yyMMdd>01_<merId>`: the summary (中国银联全渠道商户交易汇总表), GBK text with the
 *   merchant code, settlement date and currency, and a 总计 line of count, amount debit/credit,
 *   fee debit/credit and net debit/credit.
 *
 * Amounts are fen: `交易金额` 12 digits; `商户手续费`, `结算金额`, `清算净额` a D/C (debit/credit to the
 * merchant) letter and 12 digits. Times are MMDDhhmmss in Beijing time. Rows are classified by
 * `交易类型` (01 consume, 04 refund, 31 void); the 3-letter `交易代码` is kept out of the logic
 * because its values are not publicly tabulated.
 */

export { billFileNames, ZM_FIELDS, ZM_RECORD_BYTES } from './bill-format.js';
export { parseRd, readUnionPayBill, type RdSummary } from './bill-reader.js';
export { encodeRecord, renderRd, writeUnionPayBill } from './bill-writer.js';

/**
 * Alipay's trade bill (`bill_type=trade`, 业务明细): read as downloaded (a zip whose GBK-named
 * entries are the detail CSV `…_业务明细.csv` and the summary `…_业务明细(汇总).csv`) or as the
 * CSV itself, in GBK or UTF-8 (detected). Streaming: rows are yielded as lines arrive.
 *
 * Layout:
 *   #支付宝业务明细查询
 *   #账号：[20880211096256330156]                      (merchant PID + 0156)
 *   #起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]
 *   #-----…业务明细列表…-----
 *   支付宝交易号,商户订单号,业务类型,…                 (mapped by NAME: variants reorder and add columns)
 *   2019091622001458860515315453\t,service_1568601259302\t,交易\t,…   (tabs after text cells)
 *   #-----…业务明细列表结束…-----
 *   #交易合计：6笔，商家实收共0.06元，商家优惠共0.00元
 *   #退款合计：4笔，商家实收退款共-0.04元，商家优惠退款共0.00元
 *   #导出时间：[2019年09月17日 05:46:49]
 *
 * Rows: 交易 -> payment (positive), 退款 -> refund (negative, its own row with the refund request
 * number). Amount is 订单金额; fee is 服务费, charged on payments and returned on refunds, so its
 * sign follows the row kind whatever sign the file prints it with. Times are Beijing time. The
 * footers (and the summary entry's counts, in a zip) are checked against the rows: a mismatch means
 * a damaged or truncated file (INVALID_REQUEST, exit 2).
 */
import type { BillReader } from '../../src/channel/contract.js';
import { readAlipayBill } from './bill-reader.js';
import { writeAlipayBill } from './bill-writer.js';

export { decodeLines, readAlipayBill, splitCells } from './bill-reader.js';
export { billAccount, billFileName, DETAIL_HEADER, writeAlipayBill } from './bill-writer.js';

/** Alipay's bill reader and writer. */
export const alipayBills: BillReader = {
  read: readAlipayBill,
  write: (path, rows, options) => writeAlipayBill(path, rows, options),
};


/**
 * Merchant transfers (商家转账) drawing on the BASIC account, settling after `settleMs` (to an
 * openid ending in `_fail`: FAIL), and the account balances.
 */
import { randomBytes } from 'node:crypto';
import type { SimulatorRequest, SimulatorResponse } from '../../../src/sandbox/contract.js';
import { randomDigits } from '../../../src/sandbox/helpers.js';
import type { Router } from '../../../src/sandbox/router.js';
import { toWireTime } from '../client.js';
import { H, oaepDecrypt } from '../signature.js';
import { notFound, wxError, type Transfer, type WechatHandler } from './common.js';
import type { WechatpaySimulator } from './index.js';
import { schedule } from './progress.js';

/** The transfer and balance routes. */
export function transferRoutes(r: Router<WechatHandler>): void {
  r.post('/v3/fund-app/mch-transfer/transfer-bills', (sim, req) => createTransfer(sim, req));
  r.get('/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/:no', (sim, _req, { no }) => queryTransfer(sim, no));
  r.get('/v3/merchant/fund/balance/:account', (sim, req, { account }) => {
    if (!/^[A-Z]+$/.test(account)) throw notFound(req);
    return balance(sim, account);
  });
}

export function transferResource(sim: WechatpaySimulator, t: Transfer, notification: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    out_bill_no: t.outBillNo,
    transfer_bill_no: t.transferBillNo,
    state: t.state,
    mch_id: sim.mchId,
    transfer_amount: t.amount,
    openid: t.openid,
    create_time: toWireTime(t.createdMs),
    update_time: toWireTime(t.updateMs),
  };
  if (t.failReason) out.fail_reason = t.failReason;
  if (!notification) {
    out.appid = t.appid;
    out.transfer_remark = t.remark;
  }
  return out;
}

/** What the BASIC account holds now, fen. */
export function basicBalance(sim: WechatpaySimulator): number {
  return sim.ledger.available('CNY', sim.deps.clock());
}

export function createTransfer(sim: WechatpaySimulator, req: SimulatorRequest): SimulatorResponse {
  const b = sim.body(req);
  if (b.appid !== sim.appId) throw wxError(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
  const outBillNo = b.out_bill_no;
  if (typeof outBillNo !== 'string' || !/^[A-Za-z0-9]{5,32}$/.test(outBillNo)) throw wxError(400, 'PARAM_ERROR', 'out_bill_no格式错误');
  if (typeof b.transfer_scene_id !== 'string' || b.transfer_scene_id === '') throw wxError(400, 'PARAM_ERROR', 'transfer_scene_id必填');
  if (typeof b.openid !== 'string' || b.openid === '') throw wxError(400, 'PARAM_ERROR', 'openid必填');
  if (typeof b.transfer_remark !== 'string' || b.transfer_remark === '') throw wxError(400, 'PARAM_ERROR', 'transfer_remark必填');
  const amount = b.transfer_amount;
  if (!Number.isSafeInteger(amount) || (amount as number) < 10) throw wxError(400, 'PARAM_ERROR', '转账金额不能低于0.1元');
  if (b.transfer_scene_id === '1000' && (!Array.isArray(b.transfer_scene_report_infos) || b.transfer_scene_report_infos.length < 2)) {
    throw wxError(400, 'PARAM_ERROR', '转账场景报备信息transfer_scene_report_infos不完整');
  }
  let userName: string | undefined;
  if (b.user_name !== undefined) {
    if (req.headers[H.serial] !== sim.signingSerial) throw wxError(400, 'PARAM_ERROR', 'Wechatpay-Serial与加密所用的平台证书不一致');
    try {
      userName = oaepDecrypt(String(b.user_name), sim.platform.privateKey);
    } catch {
      throw wxError(400, 'PARAM_ERROR', 'user_name解密失败，请使用微信支付平台公钥加密');
    }
  } else if ((amount as number) >= 200_000) throw wxError(400, 'PARAM_ERROR', '转账金额>=2000元时，user_name必填');
  const existing = sim.transfers.get(outBillNo);
  if (existing) {
    if (existing.amount !== amount || existing.openid !== b.openid) throw wxError(400, 'INVALID_REQUEST', '商户单号重复，请使用新的out_bill_no');
    return sim.ok({ out_bill_no: existing.outBillNo, transfer_bill_no: existing.transferBillNo, create_time: toWireTime(existing.createdMs), state: existing.state });
  }
  if (basicBalance(sim) < (amount as number)) throw wxError(403, 'NOT_ENOUGH', '商户运营账户资金不足');
  const now = sim.deps.clock();
  const t: Transfer = {
    outBillNo,
    transferBillNo: `1330${randomDigits(36)}`,
    appid: sim.appId,
    openid: b.openid,
    userName,
    amount: amount as number,
    remark: b.transfer_remark,
    notifyUrl: typeof b.notify_url === 'string' ? b.notify_url : undefined,
    createdMs: now,
    settleMs: now + sim.options.settleMs,
    state: 'WAIT_USER_CONFIRM',
    updateMs: now,
  };
  sim.transfers.set(outBillNo, t);
  sim.ledger.post({ currency: 'CNY', net: -t.amount, atMs: now });
  schedule(sim, sim.options.settleMs);
  return sim.ok({ out_bill_no: t.outBillNo, transfer_bill_no: t.transferBillNo, create_time: toWireTime(now), state: t.state, package_info: randomBytes(24).toString('base64') });
}

export function queryTransfer(sim: WechatpaySimulator, outBillNo: string): SimulatorResponse {
  const t = sim.transfers.get(outBillNo);
  if (!t) throw wxError(404, 'NOT_FOUND', '记录不存在');
  return sim.ok(transferResource(sim, t, false));
}

export function balance(sim: WechatpaySimulator, account: string): SimulatorResponse {
  if (!['BASIC', 'OPERATION', 'FEES'].includes(account)) throw wxError(400, 'PARAM_ERROR', 'account_type参数错误');
  return sim.ok({ available_amount: account === 'BASIC' ? basicBalance(sim) : 0, pending_amount: 0 });
}

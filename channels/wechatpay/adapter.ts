/**
 * The WeChat Pay adapter: the channel contract over API v3 (client.ts) and the shared HTTP client.
 *
 * collect      POST /v3/pay/transactions/{native|jsapi|h5}  (--method; jsapi needs --extra openid=...)
 * queryCollect GET  /v3/pay/transactions/out-trade-no/{no}?mchid=
 * closeCollect POST /v3/pay/transactions/out-trade-no/{no}/close
 * refund       POST /v3/refund/domestic/refunds             (partial: amount.refund < amount.total)
 * queryRefund  GET  /v3/refund/domestic/refunds/{out_refund_no}
 * payout       POST /v3/fund-app/mch-transfer/transfer-bills (商家转账 to an openid)
 * queryPayout  GET  /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{no}
 * balance      GET  /v3/merchant/fund/balance/{BASIC|OPERATION|FEES}
 * downloadBill GET  /v3/bill/tradebill | /v3/bill/fundflowbill, then download_url (SHA-1 checked)
 *
 * Creates carry the merchant's own number (out_trade_no, out_refund_no, out_bill_no), which WeChat
 * Pay deduplicates, so they are safe to retry with the same number and are sent as idempotent.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import type {
  BalanceEntry,
  BillRow,
  BillSource,
  CallbackVerdict,
  ChannelAdapter,
  ChannelDeps,
  CheckResult,
  CollectRequest,
  CollectResult,
  DownloadedBill,
  OrderRef,
  OrderState,
  PayoutRequest,
  RawRequest,
  ReadBillOptions,
  RefundRef,
  RefundRequest,
  RefundState,
  VerifyOptions,
} from '../../src/channel/contract.js';
import { configError, invalid, isPayError, PayError } from '../../src/core/errors.js';
import { parseDate } from '../../src/core/time.js';
import { readWechatBill } from './bill.js';
import { verifyV2Notification, verifyV3Notification } from './callback.js';
import {
  excerpt,
  fromWire,
  orderStatusOf,
  payoutStatusOf,
  refundStatusOf,
  toWire,
  WechatpayClient,
  wireTimeToIso,
  type WireBillApply,
  type WireRefund,
  type WireTransaction,
  type WireTransferBill,
} from './client.js';
import type { WechatpayConfig } from './config.js';
import { H, normalizeSerial, oaepEncrypt, rsaSign, nonce as makeNonce } from './signature.js';

/** Collect methods, the first the default. */
export const WECHATPAY_METHODS = ['native', 'jsapi', 'h5'] as const;

/** Cuts a UTF-8 string to at most `max` bytes without splitting a character. */
function cutBytes(s: string, max: number): string {
  if (Buffer.byteLength(s, 'utf8') <= max) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch, 'utf8') > max) break;
    out += ch;
  }
  return out;
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function shape(ok: boolean, what: string, body: unknown): void {
  if (!ok) throw new PayError('CHANNEL_ERROR', `WeChat Pay answered ${what} without the expected fields: ${excerpt(JSON.stringify(body ?? null))}`, { channel: 'wechatpay' });
}

/** The adapter. */
export class WechatpayAdapter implements ChannelAdapter {
  readonly client: WechatpayClient;

  constructor(
    private readonly config: WechatpayConfig,
    private readonly deps: ChannelDeps,
  ) {
    // stateDir is read when a certificate is cached, not before (it is made on first read).
    this.client = new WechatpayClient(config, {
      http: deps.http,
      clock: deps.clock,
      record: deps.record,
      get stateDir() {
        return deps.stateDir;
      },
      debug: deps.debug,
    });
  }

  private notifyUrl(given: string | undefined, what: string): string {
    const url = given ?? this.config.notifyUrl;
    if (!url) {
      throw configError(`WeChat Pay needs a notify URL for ${what}: set channels.wechatpay.notifyUrl`, {
        hint: 'Give an HTTPS URL WeChat Pay can reach (pay listen can receive sandbox notifications locally).',
      });
    }
    return url;
  }

  async collect(req: CollectRequest): Promise<CollectResult> {
    const method = req.method ?? 'native';
    if (!(WECHATPAY_METHODS as readonly string[]).includes(method)) {
      throw invalid(`WeChat Pay has no collect method "${method}"`, { hint: `Methods: ${WECHATPAY_METHODS.join(', ')}.` });
    }
    const extra = req.extra ?? {};
    const body: Record<string, unknown> = {
      appid: this.config.appId,
      mchid: this.config.mchId,
      // description is limited to 127 bytes.
      description: cutBytes(req.subject, 127),
      out_trade_no: req.orderNo,
      notify_url: this.notifyUrl(req.notifyUrl, 'collect'),
      amount: { total: toWire(req.amountMinor, req.currency), currency: 'CNY' },
    };
    if (extra.attach) body.attach = extra.attach;
    if (extra.time_expire) body.time_expire = extra.time_expire;
    if (method === 'jsapi') {
      if (!extra.openid) throw invalid('WeChat Pay JSAPI needs the payer: --extra openid=<the payer openid under appId>');
      body.payer = { openid: extra.openid };
    }
    if (method === 'h5') {
      body.scene_info = { payer_client_ip: extra.payer_client_ip ?? '127.0.0.1', h5_info: { type: extra.h5_type ?? 'Wap' } };
    }
    try {
      const res = await this.client.call<{ code_url?: string; h5_url?: string; prepay_id?: string }>({
        operation: 'collect',
        method: 'POST',
        path: `/v3/pay/transactions/${method}`,
        body,
        idempotent: true,
        orderNo: req.orderNo,
      });
      const d = res.data;
      if (method === 'native') {
        shape(typeof d?.code_url === 'string', 'a native order', d);
        return { status: 'pending', payload: { qrCode: d!.code_url } };
      }
      if (method === 'h5') {
        shape(typeof d?.h5_url === 'string', 'an H5 order', d);
        return { status: 'pending', payload: { redirectUrl: d!.h5_url } };
      }
      shape(typeof d?.prepay_id === 'string', 'a JSAPI order', d);
      return { status: 'pending', payload: { prepayId: d!.prepay_id, jsapi: this.jsapiParams(d!.prepay_id!) } };
    } catch (err) {
      // A retried create of an order that was paid or closed meanwhile: report its real state.
      if (isPayError(err) && (err.providerCode === 'ORDERPAID' || err.providerCode === 'ORDER_CLOSED')) {
        const s = await this.queryCollect({ orderNo: req.orderNo, amountMinor: req.amountMinor, currency: req.currency, createdAt: new Date(this.deps.clock()).toISOString() });
        return { status: s.status === 'created' ? 'pending' : s.status, channelTradeNo: s.channelTradeNo, paidAt: s.paidAt, failure: s.failure };
      }
      throw err;
    }
  }

  /** The signed parameters `wx.requestPayment` / WeixinJSBridge needs for a JSAPI prepay id. */
  jsapiParams(prepayId: string): Record<string, string> {
    const timeStamp = String(Math.floor(this.deps.clock() / 1000));
    const nonceStr = makeNonce();
    const pkg = `prepay_id=${prepayId}`;
    const paySign = rsaSign(`${this.config.appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`, this.config.privateKey);
    return { appId: this.config.appId, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign };
  }

  private orderState(t: WireTransaction): OrderState {
    const status = orderStatusOf(t.trade_state);
    if (!status) throw new PayError('CHANNEL_ERROR', `WeChat Pay reported an unknown trade_state ${excerpt(String(t.trade_state))}`, { channel: 'wechatpay' });
    const state: OrderState = { status, providerStatus: t.trade_state, channelTradeNo: t.transaction_id || undefined };
    if (t.amount && typeof t.amount.total === 'number') {
      state.currency = t.amount.currency ?? 'CNY';
      state.amountMinor = fromWire(t.amount.total, state.currency);
    }
    if (status === 'succeeded') state.paidAt = wireTimeToIso(t.success_time);
    if (status === 'failed') state.failure = { code: 'PAYMENT_FAILED', message: t.trade_state_desc || 'the payment failed', providerCode: t.trade_state };
    return state;
  }

  async queryCollect(ref: OrderRef): Promise<OrderState> {
    const res = await this.client.call<WireTransaction>({
      operation: 'queryCollect',
      method: 'GET',
      path: `/v3/pay/transactions/out-trade-no/${enc(ref.orderNo)}?mchid=${enc(this.config.mchId)}`,
      idempotent: true,
      orderNo: ref.orderNo,
    });
    shape(typeof res.data?.trade_state === 'string' && res.data.out_trade_no === ref.orderNo, 'a query', res.data);
    return this.orderState(res.data!);
  }

  async closeCollect(ref: OrderRef): Promise<OrderState> {
    try {
      await this.client.call({
        operation: 'closeCollect',
        method: 'POST',
        path: `/v3/pay/transactions/out-trade-no/${enc(ref.orderNo)}/close`,
        body: { mchid: this.config.mchId },
        idempotent: true,
        orderNo: ref.orderNo,
      });
    } catch (err) {
      // Closing a paid order is refused: its real state is the answer.
      if (isPayError(err) && err.providerCode === 'ORDERPAID') return this.queryCollect(ref);
      throw err;
    }
    return { status: 'closed', providerStatus: 'CLOSED' };
  }

  private refundState(r: WireRefund): RefundState {
    const word = r.status ?? r.refund_status ?? '';
    const status = refundStatusOf(word);
    if (!status) throw new PayError('CHANNEL_ERROR', `WeChat Pay reported an unknown refund status ${excerpt(word)}`, { channel: 'wechatpay' });
    const state: RefundState = { status, providerStatus: word, channelRefundNo: r.refund_id };
    if (status === 'succeeded') state.refundedAt = wireTimeToIso(r.success_time);
    if (status === 'failed') state.failure = { code: 'REFUND_CLOSED', message: 'WeChat Pay closed the refund', providerCode: word };
    return state;
  }

  async refund(req: RefundRequest): Promise<RefundState> {
    const body: Record<string, unknown> = {
      out_trade_no: req.orderNo,
      out_refund_no: req.refundNo,
      amount: { refund: toWire(req.amountMinor, req.currency), total: toWire(req.totalMinor, req.currency), currency: 'CNY' },
    };
    if (req.reason) body.reason = cutBytes(req.reason, 80);
    const notify = req.notifyUrl ?? this.config.notifyUrl;
    if (notify) body.notify_url = notify;
    const res = await this.client.call<WireRefund>({
      operation: 'refund',
      method: 'POST',
      path: '/v3/refund/domestic/refunds',
      body,
      idempotent: true,
      orderNo: req.orderNo,
      refundNo: req.refundNo,
    });
    shape(typeof res.data?.refund_id === 'string', 'a refund', res.data);
    return this.refundState(res.data!);
  }

  async queryRefund(ref: RefundRef): Promise<RefundState> {
    const res = await this.client.call<WireRefund>({
      operation: 'queryRefund',
      method: 'GET',
      path: `/v3/refund/domestic/refunds/${enc(ref.refundNo)}`,
      idempotent: true,
      orderNo: ref.orderNo,
      refundNo: ref.refundNo,
    });
    shape(typeof res.data?.refund_id === 'string' && res.data.out_refund_no === ref.refundNo, 'a refund query', res.data);
    return this.refundState(res.data!);
  }

  private payoutState(b: WireTransferBill): OrderState {
    const status = payoutStatusOf(b.state);
    if (!status) throw new PayError('CHANNEL_ERROR', `WeChat Pay reported an unknown transfer state ${excerpt(String(b.state))}`, { channel: 'wechatpay' });
    const state: OrderState = { status, providerStatus: b.state, channelTradeNo: b.transfer_bill_no };
    if (typeof b.transfer_amount === 'number') {
      state.amountMinor = fromWire(b.transfer_amount);
      state.currency = 'CNY';
    }
    if (status === 'succeeded') state.paidAt = wireTimeToIso(b.update_time);
    if (status === 'failed') state.failure = { code: 'PAYOUT_FAILED', message: b.fail_reason ? `transfer failed: ${b.fail_reason}` : 'transfer failed', providerCode: b.fail_reason ?? b.state };
    return state;
  }

  async payout(req: PayoutRequest): Promise<OrderState> {
    const amount = toWire(req.amountMinor, req.currency);
    const remark = cutBytes(req.remark ?? 'pay payout', 96);
    const infos = Object.keys(this.config.transferReportInfos).length
      ? this.config.transferReportInfos
      : this.config.transferSceneId === '1000'
        ? { 活动名称: remark, 奖励说明: remark }
        : {};
    const body: Record<string, unknown> = {
      appid: this.config.appId,
      out_bill_no: req.orderNo,
      transfer_scene_id: this.config.transferSceneId,
      openid: req.payee,
      transfer_amount: amount,
      transfer_remark: remark,
      user_recv_perception: this.config.transferPerception,
      transfer_scene_report_infos: Object.entries(infos).map(([info_type, info_content]) => ({ info_type, info_content })),
    };
    if (this.config.notifyUrl) body.notify_url = this.config.notifyUrl;
    const headers: Record<string, string> = {};
    if (req.payeeName) {
      // The payee's name travels encrypted with the platform key that Wechatpay-Serial names.
      const key = await this.client.encryptionKey();
      body.user_name = oaepEncrypt(req.payeeName, key.key);
      headers[H.serial] = key.serial;
    }
    const res = await this.client.call<WireTransferBill>({
      operation: 'payout',
      method: 'POST',
      path: '/v3/fund-app/mch-transfer/transfer-bills',
      body,
      headers,
      idempotent: true,
      orderNo: req.orderNo,
    });
    shape(typeof res.data?.state === 'string', 'a transfer', res.data);
    return this.payoutState({ ...res.data!, transfer_amount: res.data!.transfer_amount ?? amount });
  }

  async queryPayout(ref: OrderRef): Promise<OrderState> {
    const res = await this.client.call<WireTransferBill>({
      operation: 'queryPayout',
      method: 'GET',
      path: `/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/${enc(ref.orderNo)}`,
      idempotent: true,
      orderNo: ref.orderNo,
    });
    shape(typeof res.data?.state === 'string' && res.data.out_bill_no === ref.orderNo, 'a transfer query', res.data);
    return this.payoutState(res.data!);
  }

  async balance(): Promise<BalanceEntry[]> {
    const out: BalanceEntry[] = [];
    for (const account of this.config.balanceAccounts) {
      const res = await this.client.call<{ available_amount: number; pending_amount?: number }>({
        operation: 'balance',
        method: 'GET',
        path: `/v3/merchant/fund/balance/${account}`,
        idempotent: true,
      });
      shape(typeof res.data?.available_amount === 'number', 'a balance query', res.data);
      const entry: BalanceEntry = { currency: 'CNY', availableMinor: fromWire(res.data!.available_amount), account };
      if (typeof res.data!.pending_amount === 'number') entry.pendingMinor = fromWire(res.data!.pending_amount);
      out.push(entry);
    }
    return out;
  }

  async verifyCallback(request: RawRequest, options: VerifyOptions): Promise<CallbackVerdict> {
    if (!request.headers[H.signature] && request.body.subarray(0, 64).toString('utf8').trimStart().startsWith('<')) {
      return verifyV2Notification(request, { platformKeys: [], apiKey: this.config.apiKey });
    }
    let platformKeys = await this.client.platformKeys();
    const serial = request.headers[H.serial];
    // A notification signed with a certificate we have not downloaded yet: fetch the new set once.
    if (this.client.downloadsCertificates && serial && !platformKeys.some((k) => k.serial === normalizeSerial(serial))) {
      platformKeys = await this.client.platformKeys(true);
    }
    return verifyV3Notification(request, { platformKeys, apiV3Key: this.config.apiV3Key, apiKey: this.config.apiKey }, options);
  }

  readBill(source: BillSource, options: ReadBillOptions): AsyncIterable<BillRow> {
    return readWechatBill(source, { merchantId: this.config.mchId, ...options });
  }

  /**
   * Downloads a bill: `type` ALL (default), SUCCESS, REFUND (trade bill) or FUNDFLOW (fund-flow
   * bill of the BASIC account; FUNDFLOW:OPERATION / FUNDFLOW:FEES for the others). Requested
   * gzip-compressed and saved as downloaded; the SHA-1 WeChat Pay gives is checked over the
   * uncompressed bill, and a mismatch deletes the file.
   */
  async downloadBill(options: { date: string; dir: string; type?: string }): Promise<DownloadedBill> {
    const date = parseDate(options.date);
    const type = (options.type ?? 'ALL').toUpperCase();
    let path: string;
    let format: string;
    if (type.startsWith('FUNDFLOW')) {
      const account = type.split(':')[1] ?? 'BASIC';
      if (!['BASIC', 'OPERATION', 'FEES'].includes(account)) throw invalid(`unknown fund account ${account}; use FUNDFLOW, FUNDFLOW:OPERATION or FUNDFLOW:FEES`);
      path = `/v3/bill/fundflowbill?bill_date=${date}&account_type=${account}&tar_type=GZIP`;
      format = 'wechatpay-fundflow';
    } else {
      if (!['ALL', 'SUCCESS', 'REFUND'].includes(type)) throw invalid(`unknown WeChat Pay bill type ${type}; use ALL, SUCCESS, REFUND or FUNDFLOW`);
      path = `/v3/bill/tradebill?bill_date=${date}&bill_type=${type}&tar_type=GZIP`;
      format = 'wechatpay-tradebill';
    }
    const apply = await this.client.call<WireBillApply>({ operation: 'downloadBill', method: 'GET', path, idempotent: true });
    const a = apply.data;
    shape(typeof a?.download_url === 'string' && typeof a?.hash_value === 'string', 'a bill request', a);
    if ((a!.hash_type ?? 'SHA1').toUpperCase() !== 'SHA1') {
      throw new PayError('CHANNEL_ERROR', `WeChat Pay gave a bill hash of type ${excerpt(a!.hash_type)}, which pay does not know`, { channel: 'wechatpay' });
    }
    this.client.assertSameOrigin(a!.download_url, 'bill download URL');
    const stem = join(options.dir, `wechatpay-${format === 'wechatpay-fundflow' ? 'fundflow' : 'tradebill'}-${date}-${type.replace(':', '-')}`);
    const partial = `${stem}.part`;
    let file: string;
    try {
      await this.client.call({ operation: 'downloadBill', method: 'GET', path: '', absoluteUrl: a!.download_url, idempotent: true, unsigned: true, saveTo: partial });
      const { sha1, gzip } = await sha1OfBill(partial);
      file = gzip ? `${stem}.csv.gz` : `${stem}.csv`;
      if (sha1 !== a!.hash_value.toLowerCase()) {
        throw new PayError('CHANNEL_ERROR', `the downloaded bill does not match the SHA-1 WeChat Pay gave (${a!.hash_value.toLowerCase()}, got ${sha1}): it is incomplete or altered`, {
          channel: 'wechatpay',
          hint: 'Download it again; the download URL is valid for 5 minutes.',
        });
      }
      await rename(partial, file);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    return { path: file, format };
  }

  async check(): Promise<CheckResult> {
    const started = performance.now();
    if (this.client.downloadsCertificates) {
      const keys = await this.client.platformKeys(true);
      return { ok: true, detail: `signed request accepted; ${keys.length} platform certificate(s) downloaded and verified`, latencyMs: performance.now() - started };
    }
    try {
      await this.queryCollect({ orderNo: 'PAYCHECK0000000000000000000000', amountMinor: 1, currency: 'CNY', createdAt: new Date(this.deps.clock()).toISOString() });
    } catch (err) {
      // "No such order" means the signed request was accepted: the credentials work.
      if (isPayError(err) && err.code === 'ORDER_NOT_FOUND') return { ok: true, detail: 'signed request accepted (probe order not found, as expected)', latencyMs: performance.now() - started };
      throw err;
    }
    return { ok: true, detail: 'signed request accepted', latencyMs: performance.now() - started };
  }
}

/** SHA-1 (lowercase hex) of a bill's uncompressed bytes, streaming; gzip detected by its magic. */
async function sha1OfBill(path: string): Promise<{ sha1: string; gzip: boolean }> {
  const fh = await open(path, 'r');
  const head = Buffer.alloc(2);
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const hash = createHash('sha1');
  const file = createReadStream(path);
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const input = gzip ? file.pipe(createGunzip()) : file;
  if (gzip) file.on('error', (e) => input.destroy(e));
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) hash.update(chunk);
  } catch (err) {
    throw new PayError('CHANNEL_ERROR', `the downloaded bill is not valid gzip (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { channel: 'wechatpay', hint: 'Download it again.' });
  }
  return { sha1: hash.digest('hex'), gzip };
}

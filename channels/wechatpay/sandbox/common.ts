/**
 * What every part of the WeChat Pay simulator shares: the records it keeps (orders, refunds,
 * transfers, bill files, the platform identity and how one is made), errors in WeChat Pay's `{code, message, detail}`
 * shape, Beijing dates, and the handler signature of the route table.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { buildCertificate } from '../../../src/channel/x509.js';
import type { SimulatorRequest, SimulatorResponse } from '../../../src/sandbox/contract.js';
import { ProviderError } from '../../../src/sandbox/errors.js';
import type { RouteParams } from '../../../src/sandbox/router.js';
import type { WechatpaySimulator } from './index.js';

/** A route handler (the merchant's signature was checked before it runs). */
export type WechatHandler = (sim: WechatpaySimulator, req: SimulatorRequest, params: RouteParams) => SimulatorResponse | Promise<SimulatorResponse>;

/** WeChat Pay's 404 for a path it does not serve (signed like every other v3 answer). */
export function notFound(req: SimulatorRequest): ProviderError {
  return wxError(404, 'NOT_FOUND', `请求的资源不存在 (${req.method} ${req.path})`);
}

/** A WeChat Pay API error: the status and the signed `{code, message, detail?}` body. */
export function wxError(status: number, code: string, message: string, detail?: unknown): ProviderError {
  return new ProviderError(status, { code, message, ...(detail !== undefined ? { detail } : {}) });
}

export interface Order {
  outTradeNo: string;
  appid: string;
  mchid: string;
  description: string;
  notifyUrl: string;
  total: number;
  currency: string;
  tradeType: 'NATIVE' | 'JSAPI' | 'MWEB';
  attach?: string;
  openid?: string;
  /** Fingerprint of the create parameters: a repeat with the same ones gets the same answer. */
  fingerprint: string;
  answer: Record<string, string>;
  state: 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'PAYERROR';
  transactionId?: string;
  createdMs: number;
  expireMs: number;
  paidMs?: number;
  fee: number;
}

export interface Refund {
  refundId: string;
  outRefundNo: string;
  outTradeNo: string;
  transactionId: string;
  refund: number;
  total: number;
  reason?: string;
  notifyUrl?: string;
  createdMs: number;
  settleMs: number;
  status: 'PROCESSING' | 'SUCCESS';
  successMs?: number;
  /** Fee given back, fen. */
  feeBack: number;
}

export interface Transfer {
  outBillNo: string;
  transferBillNo: string;
  appid: string;
  openid: string;
  userName?: string;
  amount: number;
  remark: string;
  notifyUrl?: string;
  createdMs: number;
  settleMs: number;
  state: 'WAIT_USER_CONFIRM' | 'SUCCESS' | 'FAIL';
  updateMs: number;
  failReason?: string;
}

export interface BillFile {
  path: string;
  gzip: boolean;
  expiresMs: number;
}

/** A platform signing identity. */
export interface Platform {
  privateKey: KeyObject;
  publicKey: KeyObject;
  serial: string;
  certificatePem: string;
  notBefore: number;
  notAfter: number;
}

/** The content type of every JSON answer. */
export const json = { 'content-type': 'application/json' };

export function shanghaiDate(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);
}

export function compactDate(ms: number): string {
  return shanghaiDate(ms).replace(/-/g, '');
}

/** A platform key pair with its test-only certificate, valid from `notBefore` to `notAfter`. */
export function makePlatform(pair: { privateKey: KeyObject; publicKey: KeyObject }, notBefore: number, notAfter: number): Platform {
  const serial = randomBytes(20).toString('hex').toUpperCase().replace(/^0/, '1');
  const certificatePem = buildCertificate({
    publicKey: pair.publicKey,
    signingKey: pair.privateKey,
    serial: BigInt(`0x${serial}`),
    subject: [
      ['C', 'CN'],
      ['O', '财付通支付科技有限公司'],
      ['OU', 'Tenpay.com CA Center (sandbox, test only)'],
      ['CN', 'Tenpay.com sandbox platform certificate'],
    ],
    notBefore,
    notAfter,
  });
  return { ...pair, serial, certificatePem, notBefore, notAfter };
}

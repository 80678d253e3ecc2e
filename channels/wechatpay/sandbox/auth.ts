/** The merchant's request signature (the Authorization header of every v3 call), checked as WeChat Pay does. */
import type { KeyObject } from 'node:crypto';
import type { SimulatorRequest } from '../../../src/sandbox/contract.js';
import { parseAuthorization, requestMessage, rsaVerify } from '../signature.js';
import { wxError } from './common.js';
import type { WechatpaySimulator } from './index.js';

/** Checks the merchant's Authorization header against its key; throws WeChat Pay's 401 SIGN_ERROR when it fails. */
export function authenticate(sim: WechatpaySimulator, req: SimulatorRequest, merchantKey: KeyObject): void {
  const auth = parseAuthorization(req.headers.authorization);
  const info = (issue: string) => ({
    detail: { issue },
    field: 'signature',
    location: 'authorization',
    sign_information: {
      method: req.method,
      sign_message_length: requestMessage(req.method, req.url, auth?.timestamp ?? '', auth?.nonce_str ?? '', req.body).length,
      truncated_sign_message: `${req.method}\n${req.url}\n${auth?.timestamp ?? ''}\n`,
      url: req.url,
    },
  });
  if (!auth) throw wxError(401, 'SIGN_ERROR', 'Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》', info('authorization is missing or malformed'));
  if (auth.mchid !== sim.mchId) throw wxError(401, 'SIGN_ERROR', '商户号与证书不匹配', info('mchid mismatch'));
  if (auth.serial_no.toUpperCase() !== sim.merchantSerial) throw wxError(401, 'SIGN_ERROR', '商户证书序列号有误。请使用签名私钥匹配的证书序列号', info('serial_no mismatch'));
  const ts = Number(auth.timestamp);
  if (!/^\d{1,12}$/.test(auth.timestamp) || Math.abs(Math.floor(sim.deps.clock() / 1000) - ts) > 300) {
    throw wxError(401, 'SIGN_ERROR', 'Http头Authorization中的timestamp已过期', info('timestamp expired'));
  }
  if (!rsaVerify(requestMessage(req.method, req.url, auth.timestamp, auth.nonce_str, req.body), auth.signature, merchantKey)) {
    throw wxError(401, 'SIGN_ERROR', '签名错误，请检查后再试', info('sign not match'));
  }
}

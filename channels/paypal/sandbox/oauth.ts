/** OAuth 2.0 client credentials: the token endpoint, and the bearer check in front of every API call. */
import { randomBytes } from 'node:crypto';
import type { SimulatorRequest, SimulatorResponse } from '../../../src/sandbox/contract.js';
import { ProviderError } from '../../../src/sandbox/errors.js';
import type { PaypalSimulator } from './index.js';
import { pid } from './params.js';

export class OAuthTokens {
  /** Issued tokens and when each expires (ms). */
  private readonly tokens = new Map<string, number>();

  constructor(
    private readonly sim: PaypalSimulator,
    private readonly ttlSec: number,
  ) {}

  /** POST /v1/oauth2/token: client credentials (Basic auth) for a bearer token that lives `ttlSec`. */
  token(req: SimulatorRequest, headers: Record<string, string>): SimulatorResponse {
    const m = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
    const [id, secret] = m ? Buffer.from(m[1], 'base64').toString('utf8').split(':') : [];
    if (id !== this.sim.clientId || secret !== this.sim.clientSecret) {
      throw new ProviderError(401, { error: 'invalid_client', error_description: 'Client Authentication failed' });
    }
    const grant = new URLSearchParams(req.body.toString('utf8')).get('grant_type');
    if (grant !== 'client_credentials') throw new ProviderError(400, { error: 'unsupported_grant_type', error_description: grant ? `Grant Type ${grant} is not supported` : 'Grant Type is NULL' });
    const token = `A21AA${randomBytes(40).toString('base64url')}`;
    this.tokens.set(token, this.sim.now() + this.ttlSec * 1000);
    return {
      status: 200,
      headers,
      body: JSON.stringify({
        scope: 'https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund https://uri.paypal.com/services/reporting/search/read https://uri.paypal.com/services/payments/payouts',
        access_token: token,
        token_type: 'Bearer',
        app_id: `APP-${pid(17)}`,
        expires_in: this.ttlSec,
        nonce: `${this.sim.iso()}${randomBytes(16).toString('base64url')}`,
      }),
    };
  }

  /** Every API call: a bearer token issued here and not expired, or PayPal's 401. */
  authenticate(req: SimulatorRequest): void {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    const expires = m ? this.tokens.get(m[1].trim()) : undefined;
    if (expires === undefined || expires <= this.sim.now()) {
      throw new ProviderError(401, {
        name: 'AUTHENTICATION_FAILURE',
        message: 'Authentication failed due to invalid authentication credentials or a missing Authorization header.',
        details: [],
        links: [{ href: 'https://developer.paypal.com/docs/api/overview/#error', rel: 'information_link' }],
      });
    }
  }

  /** Forgets every issued token. */
  revoke(): void {
    this.tokens.clear();
  }
}

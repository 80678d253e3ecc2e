/**
 * `pay balance --channel <id>`: the account balance(s) the channel reports.
 */
import { invalid } from '../core/errors.js';
import { formatAmount } from '../core/money.js';
import type { BalanceEntry } from '../channel/contract.js';
import type { Presentation } from '../output/render.js';
import type { Context } from './context.js';
import { required } from './prompt.js';

export interface BalanceOptions {
  channel?: string;
}

export interface BalanceResult {
  channel: string;
  balances: BalanceEntry[];
}

/** Asks the channel for its balances. */
export async function balance(opts: BalanceOptions, ctx: Context): Promise<BalanceResult> {
  const ref = await required(ctx, opts.channel, { flag: '--channel', message: 'Channel:', choices: ['mock', 'alipay', 'wechatpay', 'stripe', 'paypal', 'unionpay'] });
  const ch = await ctx.channel(ref);
  if (!ch.adapter.balance) throw invalid(`channel ${ch.module.id} cannot report a balance`);
  return { channel: ch.module.id, balances: await ch.adapter.balance() };
}

/** Human and JSON output of balance. */
export function presentBalance(r: BalanceResult): Presentation {
  const hasAccount = r.balances.some((b) => b.account);
  return {
    json: {
      channel: r.channel,
      balances: r.balances.map((b) => ({
        ...(b.account ? { account: b.account } : {}),
        currency: b.currency,
        available: formatAmount(b.availableMinor, b.currency),
        availableMinor: b.availableMinor,
        ...(b.pendingMinor !== undefined ? { pending: formatAmount(b.pendingMinor, b.currency), pendingMinor: b.pendingMinor } : {}),
      })),
    },
    blocks: [
      {
        kind: 'table',
        title: `Balance at ${r.channel}`,
        columns: [
          ...(hasAccount ? [{ key: 'account', header: 'account' }] : []),
          { key: 'currency', header: 'currency' },
          { key: 'available', header: 'available', align: 'right' as const },
          { key: 'pending', header: 'pending', align: 'right' as const },
        ],
        rows: r.balances.map((b) => ({
          account: b.account,
          currency: b.currency,
          available: formatAmount(b.availableMinor, b.currency),
          pending: b.pendingMinor !== undefined ? formatAmount(b.pendingMinor, b.currency) : '',
        })),
        empty: 'The channel reports no balances.',
      },
    ],
  };
}

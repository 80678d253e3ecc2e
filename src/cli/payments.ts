/**
 * Commands that move money at a channel: create, query, refund, cancel, payout, capture, balance.
 * Flags and help only: each action lazy-imports its command module.
 */
import type { Command } from 'commander';
import { collect, execute, type Register } from './run.js';

/** pay create */
export const createCommand: Register = (program, { Option }) => {
  program
    .command('create')
    .description('create a collection (pay-in) order at a channel')
    .option('--channel <id>', 'channel id (mock, alipay, wechatpay, stripe, paypal, unionpay), auto (by the routing rules) or path to a channel module')
    .option('--amount <decimal>', 'amount as a decimal in the currency (12.34; JPY 1200)')
    .option('--currency <ISO>', 'ISO 4217 currency code (CNY, USD, JPY...)')
    .option('--subject <text>', 'what is being paid for (shown to the payer)')
    .option('--order-no <no>', 'merchant order number (6-32 letters/digits); reusing one never charges twice')
    .option('--method <method>', 'payment method of the channel (see pay channels list --json)')
    .option('--notify-url <url>', 'where the channel sends its async notification')
    .option('--return-url <url>', 'where the payer returns after paying (page methods)')
    .option('--extra <key=value>', 'channel-specific field, repeatable', collect)
    .addOption(new Option('--capture <mode>', 'manual: authorize only, take the money later with pay capture (stripe, paypal)').choices(['automatic', 'manual']))
    .option('--seed <n>', 'with --channel auto: seed of the weighted choice (repeatable runs)')
    .addHelpText(
      'after',
      `
Examples:
  $ pay create --channel mock --amount 12.34 --currency CNY --subject "Coffee"
  $ pay create --channel mock --amount 1500 --currency JPY --order-no SHOP20261123001 --json
  $ pay create --channel stripe --amount 50.00 --currency USD --capture manual
  $ pay create --channel auto --amount 120.00 --currency CNY --method qr     # by the routing rules`,
    )
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/create.js');
        return m.presentCreate(await m.create(opts, ctx));
      }),
    );
};

/** pay query */
export const queryCommand: Register = (program) => {
  program
    .command('query')
    .description("ask the channel for an order's state (or a refund's) and update the order book")
    .argument('<order-no>', 'merchant order, payout or refund number')
    .option('--local', 'read the order book only; do not call the channel')
    .addHelpText('after', '\nExamples:\n  $ pay query P20261123055601123ABCDEFGHJKMN\n  $ pay query P20261123055601123ABCDEFGHJKMN --local --json')
    .action(async (orderNo: string, opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/query.js');
        return m.presentQuery(await m.query(orderNo, opts, ctx));
      }),
    );
};

/** pay refund */
export const refundCommand: Register = (program) => {
  program
    .command('refund')
    .description('refund a paid order, fully or in part')
    .argument('<order-no>', 'merchant order number')
    .option('--amount <decimal>', 'amount to refund (default: everything left)')
    .option('--reason <text>', 'reason shown to the payer')
    .option('--refund-no <no>', 'refund number (6-32 letters/digits); reusing one never refunds twice')
    .option('--notify-url <url>', 'where the channel sends the refund notification')
    .addHelpText('after', '\nExamples:\n  $ pay refund P20261123055601123ABCDEFGHJKMN --amount 2.00 --reason "damaged"\n  $ pay refund P20261123055601123ABCDEFGHJKMN            # the rest')
    .action(async (orderNo: string, opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/refund.js');
        return m.presentRefund(await m.refund(orderNo, opts, ctx));
      }),
    );
};

/** pay cancel */
export const cancelCommand: Register = (program) => {
  program
    .command('cancel')
    .description('close an unpaid collection order at its channel (a paid one is refused: refund it)')
    .argument('<order-no>', 'merchant order number')
    .addHelpText(
      'after',
      `
A second cancel changes nothing. PayPal (an unapproved order) and UnionPay close in the order book
only, and say so. Exit 0 closed (or already closed), 1 the channel reports it paid meanwhile,
2 a paid order or a payout, 3 channel or network error (the order is unchanged).

Examples:
  $ pay cancel P20261123055601123ABCDEFGHJKMN
  $ pay cancel P20261123055601123ABCDEFGHJKMN --json`,
    )
    .action(async (orderNo: string, _opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/cancel.js');
        return m.presentCancel(await m.cancel(orderNo, ctx));
      }),
    );
};

/** pay payout */
export const payoutCommand: Register = (program) => {
  program
    .command('payout')
    .description('pay out to an account')
    .option('--channel <id>', 'channel id or path to a channel module')
    .option('--amount <decimal>', 'amount as a decimal in the currency')
    .option('--currency <ISO>', 'ISO 4217 currency code')
    .option('--to <account>', 'destination account (login id, openid, card, email, destination id)')
    .option('--name <name>', "account holder's name, where the channel checks it")
    .option('--order-no <no>', 'payout number (6-32 letters/digits); reusing one never pays twice')
    .option('--remark <text>', 'remark shown to the payee')
    .addHelpText('after', '\nExamples:\n  $ pay payout --channel mock --amount 100.00 --currency CNY --to supplier-001 --name "Zhang San"')
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/payout.js');
        return m.presentPayout(await m.payout(opts, ctx));
      }),
    );
};

/** pay capture */
export const captureCommand: Register = (program) => {
  program
    .command('capture')
    .description('capture an order created with --capture manual (stripe, paypal), fully or in part')
    .argument('<order-no>', 'merchant order number')
    .option('--amount <decimal>', 'amount to capture (default: everything authorized; the rest is released)')
    .addHelpText('after', '\nExamples:\n  $ pay capture P20261123055601123ABCDEFGHJKMN\n  $ pay capture P20261123055601123ABCDEFGHJKMN --amount 30.00 --json   # 30 taken, the rest released')
    .action(async (orderNo: string, opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/capture.js');
        return m.presentCapture(await m.capture(orderNo, opts, ctx));
      }),
    );
};

/** pay balance */
export const balanceCommand: Register = (program) => {
  program
    .command('balance')
    .description('account balance at a channel')
    .option('--channel <id>', 'channel id or path to a channel module')
    .addHelpText('after', '\nExamples:\n  $ pay balance --channel mock --json')
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/balance.js');
        return m.presentBalance(await m.balance(opts, ctx));
      }),
    );
};

/**
 * The flags and help of the commands about orders and the order book: create, query, refund,
 * cancel, capture, payout, balance (money at a channel), db (schema, status, copy), orders (list,
 * show, import) and reconcile (a bill against the book, history, show). Each action lazy-imports
 * its command module. (Two modules hold every command: each file costs start-up ~0.6 ms.)
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

/** pay db */
export const dbCommand: Register = (program) => {
  const db = program.command('db').description('the order book itself: schema, status, copying between SQLite and PostgreSQL');
  db.command('migrate')
    .description('create or upgrade the schema (every command also does on first use)')
    .addHelpText('after', '\nExamples:\n  $ PAY_DB=postgres://pay@db.internal:5432/payments pay db migrate\n  $ pay db migrate --db ./pay.db --json')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/db.js');
        return m.presentStatus(await m.dbMigrate(ctx));
      }),
    );
  db.command('status')
    .description('location (password masked), schema version and row counts')
    .addHelpText('after', '\nExamples:\n  $ pay db status\n  $ pay db status --db "$PAY_DB" --json')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/db.js');
        return m.presentStatus(await m.dbStatus(ctx));
      }),
    );
  db.command('copy')
    .description('copy every order, refund, callback, event and reconciliation run from one book into another (idempotent)')
    .option('--from <path-or-url>', 'the book to copy from (SQLite file or postgres:// URL)')
    .option('--to <path-or-url>', 'the book to copy into (created and migrated as needed)')
    .addHelpText(
      'after',
      `
Rows already in the target (same order, refund or callback number, same run of a day and bill,
same event) are kept as they are, so running the copy again copies nothing twice. The password
comes from the URL, PGPASSWORD, or an env:/file: reference: postgres://pay:env:PAY_PG_PASSWORD@host/db.

Examples:
  $ pay db copy --from ~/.local/share/pay/pay.db --to "$PAY_DB"
  $ pay db copy --from "$PAY_DB" --to ./backup.db --json`,
    )
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/db.js');
        return m.presentCopy(await m.dbCopy(opts, ctx));
      }),
    );
};

/** pay orders */
export const ordersCommand: Register = (program, { Option }) => {
  const orders = program.command('orders').description('the local order book');
  orders
    .command('list')
    .description('list orders, newest first')
    .option('--channel <id>', 'only this channel')
    .addOption(new Option('--status <status>', 'only this status').choices(['created', 'pending', 'succeeded', 'failed', 'closed', 'refunded']))
    .addOption(new Option('--kind <kind>', 'only collects or payouts').choices(['collect', 'payout']))
    .option('--since <time>', 'created at or after (ISO 8601 or unix seconds)')
    .option('--until <time>', 'created before (ISO 8601 or unix seconds)')
    .option('--limit <n>', 'at most n orders (default 50)')
    .addHelpText('after', '\nExamples:\n  $ pay orders list --status pending\n  $ pay orders list --channel mock --since 2026-11-01 --json')
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/orders.js');
        return m.presentList(await m.listOrders(opts, ctx));
      }),
    );
  orders
    .command('show')
    .description('one order with its refunds and event history')
    .argument('<order-no>', 'merchant order or payout number')
    .action(async (orderNo: string, _opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/orders.js');
        return m.presentShow(await m.showOrder(orderNo, ctx));
      }),
    );
  orders
    .command('import')
    .description("import a company's own order export (CSV) so books kept outside pay can be reconciled")
    .argument('<file.csv>', 'columns: order_no, channel, kind, amount, currency, status, created_at, paid_at, channel_trade_no, refund_no')
    .option('--partial', 'import the good rows even when some are rejected (exit status stays 2)')
    .option('--dry-run', 'check every row, write nothing')
    .option('--time-zone <zone>', 'zone of times written without an offset (default: such times are rejected)')
    .addHelpText(
      'after',
      `
kind is payment, refund or payout; a refund row names its order in order_no and its own
refund_no. All or nothing: one bad row rejects the file (lines listed) unless --partial.
Re-importing changes nothing; a later export may move orders forward (pending -> succeeded).

Examples:
  $ pay orders import ./orders-2026-11-22.csv
  $ pay orders import ./export.csv --time-zone Asia/Shanghai --dry-run --json`,
    )
    .action(async (file: string, opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/orders-import.js');
        return m.presentImport(await m.importOrders(file, opts, ctx));
      }),
    );
};

/** pay reconcile */
export const reconcileCommand: Register = (program, { Option }) => {
  const reconcile = program
    .command('reconcile')
    .description("compare a channel's bill for one business day with the order book")
    .option('--channel <id>', 'channel id (mock, alipay, wechatpay, stripe, paypal, unionpay), or any id with --mapping')
    .option('--date <YYYY-MM-DD>', "business day, in the channel's time zone (Asia/Shanghai for alipay, wechatpay, unionpay)")
    .option('--bill <file>', 'the bill file as the channel delivers it (zip, gzip, CSV...)')
    .option('--download', "fetch the day's bill through the channel's API (the sandbox profile too)")
    .option('--mapping <file>', 'read --bill as a generic CSV described by this JSON mapping (any channel or bank)')
    .addOption(new Option('--format <format>', 'report format on stdout (and in --out)').choices(['table', 'json', 'csv']))
    .option('--out <file>', 'also write the full report to a file (format from --format or the extension)')
    .option('--merchant <id>', "merchant account the bill must belong to (default: from the channel's config)")
    .option('--time-zone <zone>', "business-day zone (default: channels.<id>.timeZone, else the channel's own)")
    .option('--carry-window <minutes>', 'unbilled entries settled this close to midnight carry over to the next day (default 30)')
    .option('--report <file>', 'also write the run as a self-contained HTML page (.html) or a workbook (.xlsx)')
    .option('--history-days <n>', "days of the channel's run history in --report (default 30)")
    .addHelpText(
      'after',
      `
Exit status: 0 every row matched, 1 discrepancies remain, 2 bad input (nothing saved).
Rerunning the same channel, day and file replaces that run.

Examples:
  $ pay reconcile --channel alipay --date 2026-11-22 --bill ./20881234_20261122.csv.zip
  $ pay reconcile --channel wechatpay --date 2026-11-22 --download --profile sandbox --json
  $ pay reconcile --channel mybank --date 2026-11-22 --bill ./statement.csv --mapping ./mybank.json --format csv --out items.csv
  $ pay reconcile --channel alipay --date 2026-11-22 --bill ./20881234_20261122.csv.zip --report recon.html
  $ pay reconcile history --channel alipay
  $ pay reconcile show 12 --report recon.xlsx`,
    )
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/reconcile.js');
        return m.presentReconcile(await m.reconcileCommand(opts, ctx));
      }),
    );
  reconcile
    .command('history')
    .description('saved reconciliation runs, newest first')
    .option('--channel <id>', 'only this channel')
    .option('--limit <n>', 'at most n runs (default 20)')
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/reconcile.js');
        // The parent command shares --channel, so it may have taken it: read both levels.
        return m.presentHistory(await m.reconcileHistory({ ...cmd.optsWithGlobals(), ...opts }, ctx));
      }),
    );
  reconcile
    .command('show')
    .description("a saved run's report")
    .argument('<run>', 'run id (see pay reconcile history)')
    .addOption(new Option('--format <format>', 'report format').choices(['table', 'json', 'csv']))
    .option('--out <file>', 'write the full report to a file')
    .option('--report <file>', 'write the run as a self-contained HTML page (.html) or a workbook (.xlsx)')
    .option('--history-days <n>', "days of the channel's run history in --report (default 30)")
    .action(async (run: string, opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/reconcile.js');
        // The parent command shares --format and --out, so it may have taken them.
        return m.presentReconcile(await m.reconcileShow(run, { ...cmd.optsWithGlobals(), ...opts }, ctx));
      }),
    );
};

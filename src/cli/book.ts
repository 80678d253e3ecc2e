/**
 * Commands over the order book itself: db (schema, status, copy), orders (list, show, import) and
 * reconcile (a bill against the book, history, show).
 * Flags and help only: each action lazy-imports its command module.
 */
import type { Command } from 'commander';
import { execute, type Register } from './run.js';

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

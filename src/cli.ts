/**
 * The command-line program: flags and help only. Each action lazy-imports its command module, so
 * start-up loads commander and nothing else; a command is a plain async function whose result a
 * presenter turns into output.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Context, GlobalOptions } from './commands/context.js';
import type { Presentation } from './output/render.js';

let exitCode = 0;

function packageVersion(): string {
  // dist/src/cli.js and src/cli.ts sit at different depths below package.json.
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pay-cli' && pkg.version) return pkg.version;
    } catch {
      /* try the next */
    }
  }
  return '0.0.0';
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Runs a command body with a context, prints its result, and records the exit status. */
async function execute(cmd: Command, body: (ctx: Context) => Promise<Presentation>): Promise<void> {
  const globals = cmd.optsWithGlobals() as GlobalOptions;
  const { createContext } = await import('./commands/context.js');
  const ctx = createContext(globals);
  try {
    const presentation = await body(ctx);
    const { print } = await import('./output/render.js');
    print(presentation, ctx);
    exitCode = presentation.exitCode ?? 0;
  } catch (err) {
    const { reportError } = await import('./output/errors.js');
    exitCode = reportError(err, ctx);
  } finally {
    await ctx.close();
  }
}

type Commander = typeof import('commander');

/** Builds the program (exported for tests and the help snapshot). */
export function buildProgram({ Command, Option }: Commander): Command {
  const program = new Command('pay')
    .description('Payment operations from the command line: create, query, refund and pay out through a channel; verify callbacks; reconcile bills; load-test channels.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--db <path-or-url>', 'order book: a SQLite file or a postgres:// URL; else $PAY_DB, else config "db", else the XDG data dir')
    .option('--config <file>', 'config file; else $PAY_CONFIG, else ./pay.config.json, else the XDG config dir')
    .option('--profile <name>', 'named set of channel settings (e.g. sandbox, live); else $PAY_PROFILE')
    .option('--json', 'one JSON document on stdout, nothing else there')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .option('-q, --quiet', 'print nothing but errors')
    .option('-v, --verbose', 'diagnostics on stderr')
    .showHelpAfterError('(run with --help for usage and examples)')
    .configureHelp({ sortSubcommands: false })
    .exitOverride();

  program.addHelpText(
    'after',
    `
Exit status: 0 success, 1 a negative answer (payment failed, signature invalid,
discrepancies, threshold breached), 2 usage/config/input error, 3 channel or network error.

Start here:
  $ pay demo                                              guided tour: every channel, locally
  $ pay create --channel mock --amount 12.34 --currency CNY
  $ pay orders list`,
  );

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
        const m = await import('./commands/create.js');
        return m.presentCreate(await m.create(opts, ctx));
      }),
    );

  program
    .command('query')
    .description("ask the channel for an order's state (or a refund's) and update the order book")
    .argument('<order-no>', 'merchant order, payout or refund number')
    .option('--local', 'read the order book only; do not call the channel')
    .addHelpText('after', '\nExamples:\n  $ pay query P20261123055601123ABCDEFGHJKMN\n  $ pay query P20261123055601123ABCDEFGHJKMN --local --json')
    .action(async (orderNo: string, opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/query.js');
        return m.presentQuery(await m.query(orderNo, opts, ctx));
      }),
    );

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
        const m = await import('./commands/refund.js');
        return m.presentRefund(await m.refund(orderNo, opts, ctx));
      }),
    );

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
        const m = await import('./commands/cancel.js');
        return m.presentCancel(await m.cancel(orderNo, ctx));
      }),
    );

  const routes = program.command('routes').description('routing rules for --channel auto');
  routes
    .command('list')
    .description('the routing rules in effect (top-level "routing", or the profile\'s own)')
    .addHelpText('after', '\nExamples:\n  $ pay routes list\n  $ pay routes list --profile live --json')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/routes.js');
        return m.presentRoutesList(await m.routesList(ctx));
      }),
    );
  routes
    .command('explain')
    .description('which channel a payment would go to, and why (rule, weights, health)')
    .option('--amount <decimal>', 'amount as a decimal in the currency')
    .option('--currency <ISO>', 'ISO 4217 currency code')
    .option('--method <method>', 'payment method the rules match on (qr, card...)')
    .option('--seed <n>', 'seed of the weighted draw (as pay create --seed)')
    .addHelpText('after', '\nExit 0 when a rule matches, 1 when none does.\n\nExamples:\n  $ pay routes explain --amount 120.00 --currency CNY --method qr\n  $ pay routes explain --amount 99.00 --currency USD --json')
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/routes.js');
        return m.presentRoutesExplain(await m.routesExplain(opts, ctx));
      }),
    );

  program
    .command('stats')
    .description('channel health from the order book: calls, success rate, errors, latency, amounts')
    .option('--since <time>', 'from this time (ISO 8601 or unix seconds)')
    .option('--until <time>', 'before this time')
    .option('--by <bucket>', 'a series per row: hour or day (UTC)')
    .option('--channel <id>', 'only this channel')
    .option('--top <n>', 'error codes shown per row (default 3)')
    .option('--alert <expr>', 'fires (exit 1) when it holds for a row: success_rate<0.95, p99>2s, errors>5%; repeatable', collect)
    .option('--format <format>', 'table (default), json or csv')
    .option('--report <file.html>', 'also write a self-contained HTML page: tables, success rate and p50/p99 over time, alerts')
    .addHelpText(
      'after',
      `
Figures come from the event log's channel.call events (one per channel call, with its duration)
and from orders and refunds. Alerts use pay loadtest's threshold syntax; a firing alert lists the
breaching rows and exits 1, for cron. --report writes a self-contained HTML page (charts by --by,
else by hour for a window up to 3 days and by day beyond); the exit status stays the same.

Examples:
  $ pay stats --since 2026-12-01 --by day
  $ pay stats --channel alipay --since 2026-12-04T00:00:00Z --json
  $ pay stats --since "$(date -u -d '-1 hour' +%FT%TZ)" --alert 'success_rate<0.95' --alert 'p99>2s'
  $ pay stats --format csv > stats.csv
  $ pay stats --since 2026-12-01 --report health.html
  $ pay stats --since 2026-12-04T00:00:00Z --by hour --alert 'success_rate<0.95' --report health.html`,
    )
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/stats.js');
        return m.presentStats(await m.statsCommand(opts, ctx));
      }),
    );

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
        const m = await import('./commands/payout.js');
        return m.presentPayout(await m.payout(opts, ctx));
      }),
    );

  program
    .command('capture')
    .description('capture an order created with --capture manual (stripe, paypal), fully or in part')
    .argument('<order-no>', 'merchant order number')
    .option('--amount <decimal>', 'amount to capture (default: everything authorized; the rest is released)')
    .addHelpText('after', '\nExamples:\n  $ pay capture P20261123055601123ABCDEFGHJKMN\n  $ pay capture P20261123055601123ABCDEFGHJKMN --amount 30.00 --json   # 30 taken, the rest released')
    .action(async (orderNo: string, opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/capture.js');
        return m.presentCapture(await m.capture(orderNo, opts, ctx));
      }),
    );

  program
    .command('balance')
    .description('account balance at a channel')
    .option('--channel <id>', 'channel id or path to a channel module')
    .addHelpText('after', '\nExamples:\n  $ pay balance --channel mock --json')
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/balance.js');
        return m.presentBalance(await m.balance(opts, ctx));
      }),
    );

  const db = program.command('db').description('the order book itself: schema, status, copying between SQLite and PostgreSQL');
  db.command('migrate')
    .description('create or upgrade the schema (every command also does on first use)')
    .addHelpText('after', '\nExamples:\n  $ PAY_DB=postgres://pay@db.internal:5432/payments pay db migrate\n  $ pay db migrate --db ./pay.db --json')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/db.js');
        return m.presentStatus(await m.dbMigrate(ctx));
      }),
    );
  db.command('status')
    .description('location (password masked), schema version and row counts')
    .addHelpText('after', '\nExamples:\n  $ pay db status\n  $ pay db status --db "$PAY_DB" --json')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/db.js');
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
        const m = await import('./commands/db.js');
        return m.presentCopy(await m.dbCopy(opts, ctx));
      }),
    );

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
        const m = await import('./commands/orders.js');
        return m.presentList(await m.listOrders(opts, ctx));
      }),
    );
  orders
    .command('show')
    .description('one order with its refunds and event history')
    .argument('<order-no>', 'merchant order or payout number')
    .action(async (orderNo: string, _opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/orders.js');
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
        const m = await import('./commands/orders-import.js');
        return m.presentImport(await m.importOrders(file, opts, ctx));
      }),
    );

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
        const m = await import('./commands/reconcile.js');
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
        const m = await import('./commands/reconcile.js');
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
        const m = await import('./commands/reconcile.js');
        // The parent command shares --format and --out, so it may have taken them.
        return m.presentReconcile(await m.reconcileShow(run, { ...cmd.optsWithGlobals(), ...opts }, ctx));
      }),
    );

  const channels = program.command('channels').description('channels pay can speak to');
  channels
    .command('list')
    .description('every channel with its capabilities')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/channels.js');
        return m.presentList(await m.listChannels(ctx));
      }),
    );
  channels
    .command('check')
    .description("validate a channel's config and, where it can, reach it (all configured channels by default)")
    .argument('[id]', 'channel id or path')
    .addHelpText('after', '\nExamples:\n  $ pay channels check\n  $ pay channels check alipay --profile sandbox')
    .action(async (id: string | undefined, _opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/channels.js');
        return m.presentCheck(await m.checkChannels(id, ctx));
      }),
    );

  program
    .command('verify')
    .description("check saved callbacks' signatures offline: valid or not and why, what they claim, what to answer")
    .argument('<file...>', 'raw HTTP request, JSON envelope, HAR, return URL, or bare body; directories and quoted globs too')
    .option('--channel <id>', 'channel id or module path (default: detected from headers and body)')
    .option('--apply', 'move local orders as valid callbacks say (amount and currency checked; replays change nothing)')
    .option('--at <time>', 'verify as of this moment (ISO 8601 or unix seconds): old files, expired certificates')
    .option('--tolerance <seconds>', "freshness window for time-bound schemes (default: the scheme's, 300 s)")
    .option('--header <header>', "'Name: value' header for a bare body, repeatable", collect)
    .addHelpText(
      'after',
      `
Exit status: 0 all valid; 1 any invalid, or --apply refused one (unknown order,
amount or currency mismatch); 2 any file not judged (unreadable, unrecognised,
unknown channel, missing or unusable key), which takes precedence.

Examples:
  $ pay verify notify.http
  $ pay verify saved/ 'more/*.json' --json
  $ pay verify old-webhook.http --at 2026-11-23T08:00:00Z
  $ pay verify body.json --channel stripe --header 'Stripe-Signature: t=1700000000,v1=5257a8...'
  $ pay verify notify.http --apply`,
    )
    .action(async (files: string[], opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/verify.js');
        return m.presentVerify(await m.verify(files, opts, ctx));
      }),
    );

  program
    .command('listen')
    .description('receive callbacks locally: save, verify, apply, answer the channel, forward to your app')
    .option('--port <n>', 'port to listen on (0 picks a free one)')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--forward-to <url>', 'forward each request unchanged to this URL (retried with backoff on failure)')
    .option('--save-dir <dir>', 'save each raw request here as a file `pay verify` reads')
    .option('--channel <id>', 'channel id or module path (default: detected per request)')
    .option('--no-apply', 'do not move local orders')
    .option('--tolerance <seconds>', "freshness window for time-bound schemes (default: the scheme's)")
    .addHelpText(
      'after',
      `
One line per callback on stdout (--json: NDJSON). Runs until Ctrl-C (SIGINT) or SIGTERM.
--forward-to keeps the original path unless the URL has a path of its own.

Examples:
  $ pay listen --port 4242 --save-dir callbacks/
  $ pay listen --port 4242 --forward-to http://127.0.0.1:3000/webhooks --json`,
    )
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/listen.js');
        return m.presentListen(await m.listen(opts, ctx), ctx);
      }),
    );

  const loadtest = program
    .command('loadtest')
    .description('load-test a channel (or an HTTP endpoint) with pass/fail thresholds for CI')
    .option('--channel <id>', 'channel id or path: mock runs in-process, the others over HTTP through their adapter')
    .option('--url <url>', 'load-test a raw HTTP endpoint instead of a channel (calibration, any service)')
    .option('--op <op>', 'collect | query | refund | mixed (default collect)')
    .option('--mix <weights>', 'weights for --op mixed (default collect=50,query=40,refund=10)')
    .option('--amount <decimal>', 'amount of each collect (default 100)')
    .option('--currency <ISO>', 'currency of the orders (default CNY; USD for stripe and paypal)')
    .option('--seed-orders <n>', 'orders created before a query/refund run, not measured (default 200)')
    .option('--method <method>', 'HTTP method for --url (default GET, POST with --body)')
    .option('--header <name: value>', 'request header for --url, repeatable', collect)
    .option('--body <text|@file>', 'request body for --url; {{orderNo}} becomes a fresh order number')
    .option('--concurrency <n[,n...]>', 'closed model: n workers; a list runs each level in turn')
    .option('--rate <n/s|a:b/s>', 'open model: requests started per second, or a ramp from a to b')
    .option('--duration <time>', 'how long each level runs (10, 30s, 2m)')
    .option('--requests <n>', 'how many requests each level makes')
    .option('--warmup <time>', 'unmeasured warm-up before each level (default 1s with --duration)')
    .option('--max-in-flight <n>', 'open model: cap on requests in flight (default 256)')
    .option('--timeout <time>', 'per-request timeout (default 30s)')
    .option('--threshold <expr>', "pass/fail rule, repeatable: 'p99<250ms' 'errors<1%' 'rps>1000' 'p99<+10%'", collect)
    .option('--baseline <summary.json>', 'summary of an earlier run for relative thresholds')
    .option('--abort-on-fail', 'stop as soon as a threshold is breached')
    .option('--out <file>', 'write the full summary as JSON')
    .option('--report <file.html>', 'also write the run as a self-contained HTML page (charts, tables, thresholds)')
    .option('--allow-live', 'allow a target that is not on this machine (real orders, real load)')
    .option('--workers <n>', 'with --url: spread the connections over n threads (1 to 4 per core), histograms merged exactly')
    .addHelpText(
      'after',
      `
Load-test orders are kept out of the order book unless --db is given. Exit 0 when every
threshold holds, 1 when one is breached (or the run was stopped), 2 for bad options.

Examples:
  $ pay loadtest --channel mock --concurrency 1,10,50,100 --duration 10s
  $ pay loadtest --channel mock --op mixed --rate 100:1000/s --duration 60s --threshold 'p99<250ms' --threshold 'errors<1%'
  $ pay loadtest --channel alipay --profile sandbox --rate 50/s --requests 1000 --out run.json
  $ pay loadtest --url http://127.0.0.1:8080/ping --concurrency 50 --duration 10s --baseline run.json --threshold 'p99<+10%'
  $ pay loadtest --url http://127.0.0.1:8080/ping --concurrency 200 --duration 10s --workers 2 --threshold 'p99<5ms'
  $ pay loadtest --channel mock --concurrency 1,10,50 --duration 10s --report load.html
  $ pay loadtest report run.json --report load.html`,
    )
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/loadtest.js');
        // Ctrl-C ends the run early and still reports what was measured.
        const stop = new AbortController();
        const onSigint = () => stop.abort();
        process.once('SIGINT', onSigint);
        try {
          const summary = await m.loadtest({ ...opts, db: (cmd.optsWithGlobals() as GlobalOptions).db, signal: stop.signal }, ctx);
          return m.presentLoadtest(summary, opts.out, opts.report);
        } finally {
          process.removeListener('SIGINT', onSigint);
        }
      }),
    );
  loadtest
    .command('report')
    .description('write the HTML page of a summary saved with --out (nothing is run)')
    .argument('<summary.json>', 'a summary written by pay loadtest --out')
    .option('--report <file.html>', 'the page to write')
    .option('--baseline <summary.json>', 'compare with this earlier summary')
    .action(async (file: string, opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/loadtest-report.js');
        // The parent command shares --report and --baseline, so it may have taken them.
        return m.presentLoadtestReport(await m.loadtestReport(file, { ...cmd.optsWithGlobals(), ...opts }, ctx));
      }),
    );

  program
    .command('sandbox')
    .description('run local simulators of the real channels on loopback and write a "sandbox" profile for them')
    .option('--port <n>', 'base port: channel i listens on n+i (default 0: free ports)')
    .option('--channel <id>', 'serve only this channel, repeatable (default: all)', collect)
    .option('--write-profile', 'write profiles.sandbox into the config file (the default unless --print-profile is given alone)')
    .option('--print-profile', 'print the profile (keys as file: references) instead of writing it')
    .option('--webhook-url <url>', 'where simulators send webhooks when a request names no notify URL (Stripe, PayPal)')
    .addHelpText(
      'after',
      `
Runs until Ctrl-C. Generated test keys are saved beside the config in .pay-sandbox/ (mode 0600).

Examples:
  $ pay sandbox
  $ pay sandbox --port 9100 --channel alipay --channel wechatpay
  $ pay create --profile sandbox --channel alipay --amount 0.01 --currency CNY`,
    )
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/sandbox.js');
        await m.sandbox(opts, (cmd.optsWithGlobals() as GlobalOptions).config, ctx);
        return m.stopped();
      }),
    );

  program
    .command('demo')
    .description('guided tour: a whole payment lifecycle on every channel (mock and local simulators), no credentials needed')
    .addHelpText('after', '\nExamples:\n  $ pay demo\n  $ pay demo --db /tmp/demo.db && pay orders list --db /tmp/demo.db')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/demo.js');
        return m.presentDemo(await m.demo(ctx));
      }),
    );

  const config = program.command('config').description('configuration file');
  config
    .command('init')
    .description('write a starter pay.config.json: a commented section per channel, secrets as env: references')
    .option('--channel <id>', 'only this channel (besides mock), repeatable (default: every channel)', collect)
    .option('--force', 'overwrite an existing file')
    .addHelpText('after', '\nExamples:\n  $ pay config init\n  $ pay config init --channel alipay --channel stripe --force')
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/config.js');
        return m.presentInit(await m.configInit(opts, (cmd.optsWithGlobals() as GlobalOptions).config, ctx));
      }),
    );
  config
    .command('show')
    .description('the effective configuration, secrets masked')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('./commands/config.js');
        return m.presentShow(await m.configShow(ctx));
      }),
    );

  return program;
}

/** Entry point: parses argv, runs the command, returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  exitCode = 0;
  // A reader that goes away (`pay orders list | head`) is not an error: stop quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(exitCode);
      throw err;
    });
  }
  const json = wantsJson(argv);
  // `pay --version` answers without loading the argument parser: start-up is most of its cost.
  const args = argv.slice(2);
  if (args.length > 0 && args.length <= 2 && args.every((a) => a === '--version' || a === '-V' || a === '--json') && !args.every((a) => a === '--json')) {
    process.stdout.write(json ? `${JSON.stringify({ version: packageVersion() })}\n` : `${packageVersion()}\n`);
    return 0;
  }
  const commander = await import('commander');
  const program = buildProgram(commander);
  // With --json, commander's own messages (usage errors, the version) become one JSON document.
  let captured = '';
  if (json) forEachCommand(program, (c) => c.configureOutput({ writeErr: () => {}, writeOut: (text) => (captured += text) }));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof commander.CommanderError) {
      // Help and version are successes; anything else commander rejects is a usage error.
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      if (json && err.code === 'commander.version') process.stdout.write(`${JSON.stringify({ version: packageVersion() })}\n`);
      else if (json && ok) process.stdout.write(captured);
      else if (json) await reportUsageError(err.message.replace(/^error: /, ''), err.code);
      return ok ? 0 : 2;
    }
    throw err;
  }
  return exitCode;
}

/** True when `--json` was given (before any `--`): errors commander finds must be JSON too. */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

function forEachCommand(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) forEachCommand(sub, fn);
}

/** A usage error commander found, as `{"error": {...}}` on stdout (exit 2). */
async function reportUsageError(message: string, commanderCode: string): Promise<void> {
  const [{ PayError }, { reportError }] = await Promise.all([import('./core/errors.js'), import('./output/errors.js')]);
  const err = new PayError('INVALID_REQUEST', message, { hint: 'Run the command with --help for its options and examples.', details: { reason: commanderCode.replace(/^commander\./, '') } });
  reportError(err, { json: true, color: false, verbose: false, stdout: process.stdout, stderr: process.stderr });
}

/**
 * Commands about how channels behave: routes (rules for --channel auto), stats (health from the
 * order book) and loadtest (with its report subcommand).
 * Flags and help only: each action lazy-imports its command module.
 */
import type { Command } from 'commander';
import { collect, execute, globalsOf, type Register } from './run.js';

/** pay routes */
export const routesCommand: Register = (program) => {
  const routes = program.command('routes').description('routing rules for --channel auto');
  routes
    .command('list')
    .description('the routing rules in effect (top-level "routing", or the profile\'s own)')
    .addHelpText('after', '\nExamples:\n  $ pay routes list\n  $ pay routes list --profile live --json')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/routes.js');
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
        const m = await import('../commands/routes.js');
        return m.presentRoutesExplain(await m.routesExplain(opts, ctx));
      }),
    );
};

/** pay stats */
export const statsCommand: Register = (program) => {
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
        const m = await import('../commands/stats.js');
        return m.presentStats(await m.statsCommand(opts, ctx));
      }),
    );
};

/** pay loadtest */
export const loadtestCommand: Register = (program) => {
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
  $ pay loadtest --channel mock --concurrency 1,10,50 --duration 10s --report load.html
  $ pay loadtest report run.json --report load.html`,
    )
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/loadtest.js');
        // Ctrl-C ends the run early and still reports what was measured.
        const stop = new AbortController();
        const onSigint = () => stop.abort();
        process.once('SIGINT', onSigint);
        try {
          const summary = await m.loadtest({ ...opts, db: globalsOf(cmd).db, signal: stop.signal }, ctx);
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
        const m = await import('../commands/loadtest-report.js');
        // The parent command shares --report and --baseline, so it may have taken them.
        return m.presentLoadtestReport(await m.loadtestReport(file, { ...cmd.optsWithGlobals(), ...opts }, ctx));
      }),
    );
};

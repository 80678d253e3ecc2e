/**
 * The flags and help of the other commands: routes (rules for --channel auto), stats (health from
 * the order book), loadtest (with its report), verify and listen (callbacks), channels, sandbox,
 * demo and config. Each action lazy-imports its command module.
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

/** pay verify */
export const verifyCommand: Register = (program) => {
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
        const m = await import('../commands/verify.js');
        return m.presentVerify(await m.verify(files, opts, ctx));
      }),
    );
};

/** pay listen */
export const listenCommand: Register = (program) => {
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
        const m = await import('../commands/listen.js');
        return m.presentListen(await m.listen(opts, ctx), ctx);
      }),
    );
};

/** pay channels */
export const channelsCommand: Register = (program) => {
  const channels = program.command('channels').description('channels pay can speak to');
  channels
    .command('list')
    .description('every channel with its capabilities')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/channels.js');
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
        const m = await import('../commands/channels.js');
        return m.presentCheck(await m.checkChannels(id, ctx));
      }),
    );
};

/** pay sandbox */
export const sandboxCommand: Register = (program) => {
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
        const m = await import('../commands/sandbox.js');
        await m.sandbox(opts, globalsOf(cmd).config, ctx);
        return m.stopped();
      }),
    );
};

/** pay demo */
export const demoCommand: Register = (program) => {
  program
    .command('demo')
    .description('guided tour: a whole payment lifecycle on every channel (mock and local simulators), no credentials needed')
    .addHelpText('after', '\nExamples:\n  $ pay demo\n  $ pay demo --db /tmp/demo.db && pay orders list --db /tmp/demo.db')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/demo.js');
        return m.presentDemo(await m.demo(ctx));
      }),
    );
};

/** pay config */
export const configCommand: Register = (program) => {
  const config = program.command('config').description('configuration file');
  config
    .command('init')
    .description('write a starter pay.config.json: a commented section per channel, secrets as env: references')
    .option('--channel <id>', 'only this channel (besides mock), repeatable (default: every channel)', collect)
    .option('--force', 'overwrite an existing file')
    .addHelpText('after', '\nExamples:\n  $ pay config init\n  $ pay config init --channel alipay --channel stripe --force')
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/config.js');
        return m.presentInit(await m.configInit(opts, globalsOf(cmd).config, ctx));
      }),
    );
  config
    .command('show')
    .description('the effective configuration, secrets masked')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/config.js');
        return m.presentShow(await m.configShow(ctx));
      }),
    );
};

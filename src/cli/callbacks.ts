/**
 * Commands that judge callbacks: verify (saved files, offline) and listen (a local receiver).
 * Flags and help only: each action lazy-imports its command module.
 */
import type { Command } from 'commander';
import { collect, execute, type Register } from './run.js';

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

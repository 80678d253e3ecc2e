/**
 * The program commander parses: the global flags and the list of commands, in the order
 * `pay --help` lists them. Each command's flags and help live in orders.ts or tools.ts beside this
 * one; main() in src/cli.ts imports this module only when it needs commander.
 */
import type { Command } from 'commander';
import { balanceCommand, cancelCommand, captureCommand, createCommand, dbCommand, ordersCommand, payoutCommand, queryCommand, reconcileCommand, refundCommand } from './orders.js';
import { status, type Register } from './run.js';
import { channelsCommand, configCommand, demoCommand, listenCommand, loadtestCommand, routesCommand, sandboxCommand, statsCommand, verifyCommand } from './tools.js';

/** The exit status of the last command run (src/cli.ts reads it once this module is loaded). */
export { status };

type Commander = typeof import('commander');

/** The commands in the order `pay --help` lists them; adding one is a line here. */
const COMMANDS: Register[] = [
  createCommand,
  queryCommand,
  refundCommand,
  cancelCommand,
  routesCommand,
  statsCommand,
  payoutCommand,
  captureCommand,
  balanceCommand,
  dbCommand,
  ordersCommand,
  reconcileCommand,
  channelsCommand,
  verifyCommand,
  listenCommand,
  loadtestCommand,
  sandboxCommand,
  demoCommand,
  configCommand,
];

/** Builds the program: global flags, then every command's flags and help. */
export function buildProgram(commander: Commander, version: string): Command {
  const { Command } = commander;
  const program = new Command('pay')
    .description('Payment operations from the command line: create, query, refund and pay out through a channel; verify callbacks; reconcile bills; load-test channels.')
    .version(version, '-V, --version', 'print the version')
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

  for (const register of COMMANDS) register(program, commander);

  return program;
}

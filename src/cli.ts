/**
 * The command-line entry point: answers `pay --version` before loading anything, otherwise builds
 * the program (src/cli/program.ts: global flags and the list of commands; src/cli/orders.ts and
 * tools.ts: each command's flags and help) and parses argv. Each action lazy-imports its command module, so
 * start-up loads commander and the flag definitions and nothing else; a command is a plain async
 * function whose result a presenter turns into output.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

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

/** Entry point: parses argv, runs the command, returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  // The command's exit status, once the program (and the status it records) is loaded.
  let status = { exitCode: 0 };
  // A reader that goes away (`pay orders list | head`) is not an error: stop quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(status.exitCode);
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
  const [commander, cli] = await Promise.all([import('commander'), import('./cli/program.js')]);
  status = cli.status;
  status.exitCode = 0;
  const program = cli.buildProgram(commander, packageVersion());
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
  return status.exitCode;
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

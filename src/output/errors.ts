/**
 * The one place errors become output and exit statuses. A PayError prints its message and advice
 * (no stack); anything else is a bug in pay and says so.
 */
import { ExitError, isPayError } from '../core/errors.js';
import { redactText } from '../core/redact.js';
import { databaseError, isSqliteError } from '../store/database-errors.js';
import { palette } from './render.js';
import type { Writable } from 'node:stream';

interface ErrorSink {
  json: boolean;
  color: boolean;
  verbose: boolean;
  stdout: Writable;
  stderr: Writable;
  /** The order store's location: a database failure met mid-command names it. */
  dbPath?: string;
}

/** Prints `err` and returns the exit status it maps to. */
export function reportError(err: unknown, out: ErrorSink): number {
  if (err instanceof ExitError) return err.exitCode;
  // A damaged, locked or unreadable database is found when a page is read, not only on open.
  if (isSqliteError(err) && out.dbPath) err = databaseError(err, out.dbPath) ?? err;
  const c = palette(out.color && Boolean((out.stderr as { isTTY?: boolean }).isTTY));
  if (isPayError(err)) {
    if (out.json) {
      out.stdout.write(`${redactText(JSON.stringify({ error: err.toJSON() }, null, 2))}\n`);
    } else {
      const lines = [`${c.red('error')} ${c.dim(`[${err.code}]`)} ${err.message}`];
      if (err.providerCode) lines.push(c.dim(`  channel said: ${err.providerCode}${err.providerMessage ? ` ${err.providerMessage}` : ''}`));
      if (err.requestId) lines.push(c.dim(`  request id: ${err.requestId}`));
      if (err.hint) lines.push(`  ${err.hint}`);
      if (out.verbose && err.cause instanceof Error && err.cause.stack) lines.push(c.dim(err.cause.stack));
      out.stderr.write(`${redactText(lines.join('\n'))}\n`);
    }
    return err.exitCode;
  }
  const e = err as Error;
  const message = `internal error: ${e?.message ?? String(err)}`;
  if (out.json) out.stdout.write(`${redactText(JSON.stringify({ error: { code: 'INTERNAL', message } }, null, 2))}\n`);
  else {
    out.stderr.write(`${c.red('error')} ${redactText(message)}\n  This is a bug in pay; please report it with the command you ran.${out.verbose && e?.stack ? `\n${redactText(e.stack)}` : ' (Run with -v for the stack.)'}\n`);
  }
  return 1;
}

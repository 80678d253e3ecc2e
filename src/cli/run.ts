/**
 * What every command registration shares: running a command body with a context and recording the
 * exit status, and the repeatable-flag collector. Light on purpose: start-up loads this module.
 */
import type { Command } from 'commander';
import type { Context, GlobalOptions } from '../commands/context.js';
import type { Presentation } from '../output/render.js';

/** The exit status of the last command run (main() resets it and returns it). */
export const status = { exitCode: 0 };

/** Commander's collector for a repeatable flag. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The global flags (--db, --config, --json...) as seen from a (sub)command. */
export const globalsOf = (cmd: Command): GlobalOptions => cmd.optsWithGlobals() as GlobalOptions;

/** Runs a command body with a context, prints its result, and records the exit status. */
export async function execute(cmd: Command, body: (ctx: Context) => Promise<Presentation>): Promise<void> {
  const { createContext } = await import('../commands/context.js');
  const ctx = createContext(globalsOf(cmd));
  try {
    const presentation = await body(ctx);
    const { print } = await import('../output/render.js');
    print(presentation, ctx);
    status.exitCode = presentation.exitCode ?? 0;
  } catch (err) {
    const { reportError } = await import('../output/errors.js');
    status.exitCode = reportError(err, ctx);
  } finally {
    await ctx.close();
  }
}

/** What a command group's module exports: it adds its commands to the program. */
export type Register = (program: Command, commander: typeof import('commander')) => void;

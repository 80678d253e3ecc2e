/**
 * Missing required options: asked for on a terminal (inquirer, loaded only then), a usage error
 * (exit 2) anywhere else, so scripts and CI never hang on a prompt.
 */
import { invalid } from '../core/errors.js';
import type { Context } from './context.js';

/** A required option that was not given. */
export interface MissingOption {
  /** The flag, as the user would type it (`--amount`). */
  flag: string;
  /** The question. */
  message: string;
  /** Offer a list instead of free text. */
  choices?: string[];
  /** Returns an error message, or true when the answer is acceptable. */
  validate?: (value: string) => string | true;
  /** Suggested answer. */
  default?: string;
}

/** Returns the given value, or asks for it on a TTY, or throws a usage error. */
export async function required(ctx: Context, value: string | undefined, missing: MissingOption): Promise<string> {
  if (value !== undefined && value !== '') return value;
  if (!ctx.interactive || ctx.json) {
    throw invalid(`missing required option ${missing.flag}`, { hint: `${missing.message} Pass ${missing.flag} <value>; run with --help for examples.` });
  }
  const prompts = await import('@inquirer/prompts');
  const context = { input: process.stdin, output: ctx.stderr as NodeJS.WritableStream };
  if (missing.choices?.length) {
    return prompts.select({ message: missing.message, choices: missing.choices.map((c) => ({ name: c, value: c })), default: missing.default }, context);
  }
  return prompts.input({ message: missing.message, default: missing.default, validate: missing.validate, required: true }, context);
}

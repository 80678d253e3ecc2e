/**
 * `--report <file>`: which kind of report a file name asks for, checked before any work is done,
 * and the write of a finished page.
 */
import { accessSync, constants, existsSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { invalid } from '../core/errors.js';

/** Report kinds by file extension. */
export type ReportKind = 'html' | 'xlsx';

/** The kind `path` asks for; anything but the `allowed` kinds is a usage error. */
export function reportKind(path: string, allowed: readonly ReportKind[]): ReportKind {
  const kind: ReportKind | undefined = /\.html?$/i.test(path) ? 'html' : /\.xlsx$/i.test(path) ? 'xlsx' : undefined;
  if (!kind || !allowed.includes(kind)) {
    const names = allowed.map((k) => `.${k}`).join(' or ');
    throw invalid(`--report ${path}: the file name must end in ${names}`, { hint: `e.g. --report report.${allowed[0]}` });
  }
  return kind;
}

/** Checks that `path` can be written (before a long run), without creating it: a failed run leaves no file. */
export function checkWritable(path: string): void {
  try {
    accessSync(dirname(path), constants.W_OK);
    if (existsSync(path)) accessSync(path, constants.W_OK);
  } catch (err) {
    throw invalid(`cannot write --report ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Writes a finished report. */
export function writeReport(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (err) {
    throw invalid(`cannot write --report ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

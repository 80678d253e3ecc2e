/**
 * Expands `pay verify` arguments into files: a file stays itself, a directory gives every file
 * inside (sorted, hidden files skipped), and a glob (`'saved/*.http'`, `'**\/*.json'`) is
 * expanded here, because a quoted pattern reaches pay unexpanded and Node 20 has no fs.glob.
 * Glob rules follow the shell: `*` and `?` stay within a path segment and do not match a
 * leading dot, `[abc]`/`[!a-z]` are classes, `**` spans any number of directories.
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { invalid } from '../core/errors.js';

/** One argument's outcome: files to read, or why there are none. */
export interface ExpandedInput {
  /** The argument as given. */
  arg: string;
  /** Files, as paths relative to cwd when the argument was relative (sorted). */
  files: string[];
  /**
   * For a directory: the same files as absolute paths (index for index), so that reading them
   * needs no path arithmetic per file. Absent for files and globs.
   */
  paths?: string[];
}

const MAGIC = /[*?[]/;

/** True when `text` has glob characters. */
export function hasGlob(text: string): boolean {
  return MAGIC.test(text);
}

/** Compiles one path segment of a glob to a RegExp. */
export function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/\\/g, '\\\\').replace(/\]/g, '\\]')}]`;
      i = close;
    } else if (ch === '\\' && i + 1 < segment.length) {
      re += segment[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  // A leading dot is matched only by a pattern that starts with one.
  const dotGuard = segment.startsWith('.') ? '' : '(?!\\.)';
  return new RegExp(`^${dotGuard}${re}$`);
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function isDir(path: string, d?: Dirent): boolean {
  if (d && !d.isSymbolicLink()) return d.isDirectory();
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string, d?: Dirent): boolean {
  if (d && !d.isSymbolicLink()) return d.isFile();
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Expands a glob relative to `cwd`; returns absolute paths of matching files, sorted. */
export function expandGlob(pattern: string, cwd: string): string[] {
  const abs = isAbsolute(pattern);
  const segments = pattern.split(/[\\/]+/).filter((s, i) => s !== '' || (i === 0 && abs));
  let base = abs ? sep : cwd;
  let i = abs ? 1 : 0;
  // Leading segments without magic are a fixed base directory.
  while (i < segments.length - 1 && !hasGlob(segments[i])) base = join(base, segments[i++]);
  const rest = segments.slice(i);
  const out = new Set<string>();
  const walk = (dir: string, k: number) => {
    if (k === rest.length) return;
    const seg = rest[k];
    const last = k === rest.length - 1;
    if (seg === '**') {
      // Zero directories, then each subdirectory (not hidden ones) recursively.
      if (last) {
        for (const d of entries(dir)) if (!d.name.startsWith('.')) collectAll(join(dir, d.name), d, out);
        return;
      }
      walk(dir, k + 1);
      for (const d of entries(dir)) if (!d.name.startsWith('.') && isDir(join(dir, d.name), d)) walk(join(dir, d.name), k);
      return;
    }
    if (!hasGlob(seg)) {
      const p = join(dir, seg);
      if (last) {
        if (isFile(p)) out.add(p);
      } else if (isDir(p)) walk(p, k + 1);
      return;
    }
    const re = segmentRegExp(seg);
    for (const d of entries(dir)) {
      if (!re.test(d.name)) continue;
      const p = join(dir, d.name);
      if (last) {
        if (isFile(p, d)) out.add(p);
      } else if (isDir(p, d)) walk(p, k + 1);
    }
  };
  walk(base, 0);
  return [...out].sort();
}

function collectAll(path: string, d: Dirent | undefined, out: Set<string>): void {
  if (isFile(path, d)) {
    out.add(path);
    return;
  }
  if (!isDir(path, d)) return;
  for (const e of entries(path)) if (!e.name.startsWith('.')) collectAll(join(path, e.name), e, out);
}

/** Names of the files directly inside `dir` (not hidden), sorted. */
function fileNamesIn(dir: string): string[] {
  // The entry's own type answers for all but symbolic links: no path is built for the others.
  return entries(dir)
    .filter((d) => !d.name.startsWith('.') && (d.isSymbolicLink() ? isFile(join(dir, d.name)) : d.isFile()))
    .map((d) => d.name)
    .sort();
}

/** Files directly inside `dir` (not hidden), sorted by name. */
export function filesInDirectory(dir: string): string[] {
  return fileNamesIn(dir).map((n) => join(dir, n));
}

/**
 * Expands every argument. A path that exists is taken literally (even with glob characters in
 * its name); otherwise a glob is expanded, and one matching nothing is an INVALID_REQUEST.
 * A literal path that does not exist is kept, so the caller reports it beside the other files.
 */
export function expandInputs(args: readonly string[], cwd: string): ExpandedInput[] {
  if (args.length === 0) {
    throw invalid('no callback file given', { hint: 'Run `pay verify <file>...`: files, directories or quoted globs.' });
  }
  const show = (arg: string, abs: string) => (isAbsolute(arg) ? abs : relative(cwd, abs) || abs);
  return args.map((arg) => {
    const abs = resolve(cwd, arg);
    if (isDir(abs)) {
      const names = fileNamesIn(abs);
      if (names.length === 0) throw invalid(`directory ${arg} has no files in it`);
      // Shown as the user named the directory, as join(arg, name) writes it: a directory entry's
      // name is one plain path segment, so join normalises everything before it the same way for
      // every name, and one join gives the prefix for all (10,000 joins cost milliseconds).
      const head = join(arg, 'x').slice(0, -1);
      const dir = abs.endsWith(sep) ? abs : abs + sep;
      return { arg, files: names.map((n) => head + n), paths: names.map((n) => dir + n) };
    }
    if (isFile(abs) || !hasGlob(arg)) return { arg, files: [arg] };
    const files = expandGlob(arg, cwd);
    if (files.length === 0) throw invalid(`${arg} matches no files`, { hint: 'Check the pattern; * and ? do not cross directories (use ** for that).' });
    return { arg, files: files.map((f) => show(arg, f)) };
  });
}

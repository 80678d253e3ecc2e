/**
 * Shared test helpers: run the built binary, make temporary directories, find ../shared.
 * End-to-end tests spawn `bin/pay.js` (the compiled CLI: run `npm run build` first; `npm test`
 * does).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The launcher under test. */
export const BIN = join(ROOT, 'bin', 'pay.js');

/** Result of one run of the binary. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@link runPay}. */
export interface RunOptions {
  /** Extra environment (merged over a clean base: no PAY_* or XDG leaking in from the host). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Text for stdin. */
  input?: string;
  timeoutMs?: number;
}

/** A clean environment for the binary: host PAY_* variables do not leak into tests. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('PAY_') || k === 'NO_COLOR' || k === 'FORCE_COLOR') continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `pay <args>` and collects its exit status and output. */
export function runPay(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pay ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    // A pay that exits before reading its (empty) input closes the pipe first: not a failure of the run.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs `pay <args> --json` and parses stdout. */
export async function runPayJson<T = any>(args: string[], options: RunOptions = {}): Promise<RunResult & { json: T }> {
  const r = await runPay([...args, '--json'], options);
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout of pay ${args.join(' ')} is not JSON (exit ${r.code}):\n${r.stdout}\nstderr: ${r.stderr}`);
  }
  return { ...r, json };
}

/** A fresh temporary directory; call the returned cleanup in afterEach/afterAll. */
export function tempDir(prefix = 'pay-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * `../shared` (DESIGN.md, vectors, samples) when present. A standalone clone lacks it: tests that
 * read it skip, and this prints a visible notice once per file.
 */
export const SHARED_DIR = resolve(ROOT, '..', 'shared');
export const HAS_SHARED = existsSync(join(SHARED_DIR, 'vectors')) && existsSync(join(SHARED_DIR, 'samples'));
let noticed = false;
export function sharedNotice(what: string): void {
  if (!HAS_SHARED && !noticed) {
    noticed = true;
    process.stderr.write(`NOTICE: ${SHARED_DIR} is absent; skipping tests on ${what}.\n`);
  }
}

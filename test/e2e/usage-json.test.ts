/**
 * With --json, usage errors the argument parser finds (unknown option or command, a bad choice, a
 * missing argument or option value) and a missing required option off a terminal are one JSON
 * document on stdout, `{"error": {...}}`, exit 2, nothing on stderr; `--version --json` is JSON.
 * Through the real binary (`npm run build` first).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPay, tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;

beforeAll(() => {
  tmp = tempDir('pay-usage-json-');
  env = { PAY_DB: join(tmp.dir, 'pay.db'), XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data') };
});
afterAll(() => tmp.cleanup());

describe('usage errors with --json', () => {
  it.each([
    [['create', '--bogus', '--json'], /unknown option '--bogus'/, 'unknownOption'],
    [['--json', 'frobnicate'], /unknown command 'frobnicate'/, 'unknownCommand'],
    [['orders', 'list', '--status', 'nope', '--json'], /argument 'nope' is invalid\. Allowed choices are created, pending/, 'invalidArgument'],
    [['query', '--json'], /missing required argument 'order-no'/, 'missingArgument'],
    [['orders', 'list', '--json', '--limit'], /option '--limit <n>' argument missing/, 'optionMissingArgument'],
    [['create', '--channel', 'mock', '--currency', 'CNY', '--json'], /missing required option --amount/, undefined],
  ])('pay %j: {"error"} on stdout, exit 2, stderr empty', async (args, message, reason) => {
    const r = await runPay(args, { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string; hint?: string; details?: { reason?: string } } };
    expect(doc.error.code).toBe('INVALID_REQUEST');
    expect(doc.error.message).toMatch(message);
    expect(doc.error.hint).toMatch(/--help/);
    if (reason) expect(doc.error.details?.reason).toBe(reason);
  });

  it('without --json the same error stays text on stderr', async () => {
    const r = await runPay(['create', '--bogus'], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/error: unknown option '--bogus'/);
  });

  it('a -- ends the options: a --json after it is not the flag', async () => {
    const r = await runPay(['create', '--bogus', '--', '--json'], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });
});

describe('--version', () => {
  it.each([[['--version', '--json']], [['--json', '-V']], [['--no-color', '--version', '--json']]])('pay %j prints {"version"}', async (args) => {
    const r = await runPay(args, { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it('pay --version stays a plain line', async () => {
    const r = await runPay(['--version'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

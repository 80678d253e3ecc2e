/**
 * End to end: config, channels, help and version, interactive prompts on a real terminal, and
 * what start-up loads.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, cleanEnv, runPay, runPayJson, tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;

beforeAll(() => {
  tmp = tempDir('pay-cmd-');
  env = { PAY_DB: join(tmp.dir, 'pay.db'), XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data') };
});
afterAll(() => tmp.cleanup());

describe('version and help', () => {
  it('prints the package version', async () => {
    const r = await runPay(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('help lists every command with examples and exit statuses', async () => {
    const r = await runPay(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['create', 'query', 'refund', 'payout', 'balance', 'orders', 'channels', 'demo', 'config']) expect(r.stdout).toContain(c);
    expect(r.stdout).toMatch(/Exit status: 0 success, 1 a negative answer/);
    const create = await runPay(['create', '--help']);
    expect(create.stdout).toMatch(/Examples:\n\s+\$ pay create --channel mock/);
  });
});

describe('config init and show', () => {
  it('writes a starter config with env references and shows it with secrets masked', async () => {
    const cwd = tmp.dir;
    const init = await runPayJson(['config', 'init'], { env, cwd });
    expect(init.code, init.stderr).toBe(0);
    const path = join(cwd, 'pay.config.json');
    expect(init.json.path).toBe(path);
    expect(JSON.parse(readFileSync(path, 'utf8')).channels.mock).toBeTruthy();
    expect((await runPay(['config', 'init'], { env, cwd })).code).toBe(2); // exists
    expect((await runPay(['config', 'init', '--force'], { env, cwd })).code).toBe(0);

    writeFileSync(
      path,
      JSON.stringify({
        channels: { mock: { webhookSecret: 'literal_secret_value_999', seed: 3 } },
        profiles: { other: { channels: { mock: { webhookSecret: 'env:MOCK_WEBHOOK_SECRET', seed: 4 } } } },
      }),
    );
    const show = await runPay(['config', 'show', '--no-color'], { env, cwd });
    expect(show.code).toBe(0);
    expect(show.stdout).not.toContain('literal_secret_value_999');
    expect(show.stdout).toMatch(/webhookSecret\s+\[redacted\]/);
    const prof = await runPayJson(['config', 'show', '--profile', 'other'], { env, cwd });
    expect(prof.json.channels.mock).toEqual({ webhookSecret: 'env:MOCK_WEBHOOK_SECRET', seed: 4 });
    expect(prof.json.profiles).toEqual(['other']);
    rmSync(path);
  });
});

describe('channels', () => {
  it('lists channels with capabilities as a table and as JSON', async () => {
    const table = await runPay(['channels', 'list', '--no-color'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/mock\s+Mock channel/);
    const json = await runPayJson(['channels', 'list'], { env });
    const mock = json.json.channels.find((c: { id: string }) => c.id === 'mock');
    expect(mock.capabilities).toEqual(expect.arrayContaining(['collect', 'refund', 'payout', 'balance', 'verifyCallback', 'readBill']));
    expect(mock.config.find((f: { key: string }) => f.key === 'webhookSecret')).toMatchObject({ secret: true });
  });

  it('checks config and reachability, and names the broken field', async () => {
    const ok = await runPayJson(['channels', 'check', 'mock'], { env });
    expect(ok.code).toBe(0);
    expect(ok.json.channels[0]).toMatchObject({ id: 'mock', config: 'ok', reach: 'ok' });
    const cfg = join(tmp.dir, 'broken.json');
    writeFileSync(cfg, JSON.stringify({ channels: { mock: { successRate: 7 } } }));
    const bad = await runPayJson(['channels', 'check', '--config', cfg], { env });
    expect(bad.code).toBe(2);
    expect(bad.json.channels[0]).toMatchObject({ id: 'mock', config: 'error', code: 'CONFIG_ERROR' });
    expect(bad.json.channels[0].detail).toMatch(/successRate/);
    // Channels that only the active profile configures are checked too.
    const pcfg = join(tmp.dir, 'profile-only.json');
    writeFileSync(pcfg, JSON.stringify({ profiles: { p: { channels: { stripe: { baseUrl: 'http://127.0.0.1:9' } } } } }));
    const prof = await runPayJson(['channels', 'check', '--config', pcfg, '--profile', 'p'], { env });
    expect(prof.json.channels.map((c: { id: string }) => c.id)).toEqual(['mock', 'stripe']);
    expect(prof.json.channels[1]).toMatchObject({ config: 'error', code: 'CONFIG_ERROR' });
    // A module given by path that breaks the contract is named as such.
    const mod = join(tmp.dir, 'broken-channel.mjs');
    writeFileSync(mod, "export default { id: 'broken', description: { name: 'Broken' } };");
    const r = await runPay(['channels', 'check', mod, '--no-color'], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/does not meet the channel contract: missing or malformed description\.version/);
  });
});

describe('interactive prompts', () => {
  it('off a terminal, a missing option is a usage error (exit 2), never a hang', async () => {
    const r = await runPay(['create', '--channel', 'mock', '--currency', 'CNY'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing required option --amount/);
  });

  it.skipIf(!existsSync('/usr/bin/script'))('on a terminal, asks for the missing amount', async () => {
    // `script` gives the process a real pseudo-terminal; we answer the prompt through it.
    const cmd = `${process.execPath} ${BIN} create --channel mock --currency CNY --no-color`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    child.stdin.on('error', () => {}); // the terminal may close first; the assertions below judge
    const answered = new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (!sent && out.includes('Amount in CNY')) {
          sent = true;
          child.stdin.write('12.34\r');
          resolve();
        }
      });
    });
    const code = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c ?? -1);
      });
      answered.then(() => setTimeout(() => child.stdin.end(), 2000));
    });
    expect(out).toContain('Amount in CNY');
    expect(code).toBe(0);
    expect(out).toMatch(/12\.34 CNY/);
    expect(out).toMatch(/status\s+pending/);
  });
});

describe('start-up loads only what a command needs', () => {
  const traced = async (args: string[]) => {
    const file = join(tmp.dir, `trace-${args.join('-').replace(/\W/g, '')}.txt`);
    const r = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', join(ROOT, 'test/helpers/trace-loads.mjs'), BIN, ...args], { env: cleanEnv({ ...env, PAY_TRACE_FILE: file }), stdio: 'ignore' });
      child.on('close', (c) => resolve(c ?? -1));
    });
    expect(r).toBe(0);
    return readFileSync(file, 'utf8');
  };

  it('--version loads nothing of note (not even the argument parser)', async () => {
    const loads = await traced(['--version']);
    for (const heavy of ['commander', 'sqlite', 'undici', 'inquirer', 'channels/', 'qrcode', 'chalk', 'yauzl', 'yazl', 'node-forge', 'iconv']) expect(loads).not.toContain(heavy);
  });

  it('orders list loads the SQLite store but no PostgreSQL driver, channel, undici or inquirer', async () => {
    const loads = await traced(['orders', 'list']);
    expect(loads).toContain('sqlite-store.js');
    // The PostgreSQL driver loads only for a postgres:// URL.
    for (const heavy of ['undici', 'inquirer', 'channels/', 'qrcode', 'node_modules/pg', 'pg-store.js']) expect(loads).not.toContain(heavy);
  });

  it('channels list loads each channel module but no bill parser, adapter or undici', async () => {
    const loads = await traced(['channels', 'list']);
    expect(loads).toContain('channels/alipay/index.js');
    for (const heavy of ['/bill.js', 'zip.js', 'csv.js', '/adapter.js', 'undici', 'sqlite']) expect(loads).not.toContain(heavy);
  });

  it('create on the mock loads the mock channel but not undici or inquirer', async () => {
    const loads = await traced(['create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY']);
    expect(loads).toContain('channels/mock/adapter.js');
    for (const heavy of ['undici', 'inquirer', 'channels/alipay', 'channels/stripe']) expect(loads).not.toContain(heavy);
  });
});

describe('a reader that goes away', () => {
  it('pay --help | head exits quietly', async () => {
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, '--help'], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      // Close our end after the first chunk, like `head -1`.
      child.stdout.once('data', () => child.stdout.destroy());
      child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
    });
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(r.code).toBe(0);
  });
});

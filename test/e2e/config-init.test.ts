/**
 * `pay config init` writes a commented starter for every built-in channel, secrets as `env:`
 * references; the loader ignores the `//` comment keys, `pay sandbox` keeps them when it writes
 * its profile into the file, and every channel then runs on that profile.
 * Through the real binary (`npm run build` first).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { builtinChannelIds, isSecretKey, loadChannelModule } from '../../src/channel/registry.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import { externalizeSecrets, writeSandboxProfile } from '../../src/commands/sandbox.js';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;
let config: string;

beforeAll(() => {
  tmp = tempDir('pay-config-init-');
  config = join(tmp.dir, 'pay.config.json');
  env = { PAY_DB: join(tmp.dir, 'pay.db'), XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data') };
});
afterAll(() => tmp.cleanup());

const SANDBOX_CHANNELS: [string, string, string][] = [
  ['alipay', 'CNY', '0.01'],
  ['wechatpay', 'CNY', '0.01'],
  ['unionpay', 'CNY', '0.01'],
  ['stripe', 'USD', '1.00'],
  ['paypal', 'USD', '1.00'],
];

describe('pay config init', () => {
  it('writes a commented starter for every built-in channel with env: references for secrets', async () => {
    const r = await runPayJson(['config', 'init'], { env, cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.path).toBe(config);
    const doc = JSON.parse(readFileSync(config, 'utf8')) as { '//': string[]; channels: Record<string, Record<string, unknown>> };
    expect(doc['//'].join(' ')).toMatch(/Keys starting with \/\/ are comments/);
    expect(Object.keys(doc.channels).sort()).toEqual(builtinChannelIds().sort());
    for (const id of builtinChannelIds()) {
      const section = doc.channels[id];
      expect((section['//'] as string[]).join(' '), id).toMatch(id === 'mock' ? /mock channel/ : new RegExp(`pay channels check ${id}`));
      const mod = await loadChannelModule(id, {});
      for (const f of mod.description.config) {
        if (f.required) expect(section, `${id}.${f.key} is required`).toHaveProperty(f.key);
        if (f.secret && section[f.key] !== undefined) expect(section[f.key], `${id}.${f.key}`).toMatch(/^env:PAY_[A-Z0-9_]+$/);
      }
    }
    expect(doc.channels.stripe.secretKey).toBe('env:PAY_STRIPE_SECRET_KEY');
    expect(doc.channels.wechatpay.apiV3Key).toBe('env:PAY_WECHATPAY_API_V3_KEY');
  });

  it('refuses to overwrite the file without --force', async () => {
    const r = await runPay(['config', 'init'], { env, cwd: tmp.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/already exists/);
  });

  it('the loader ignores the comments: config show and the mock channel work on the starter', async () => {
    const show = await runPayJson(['config', 'show'], { env, cwd: tmp.dir });
    expect(show.code, show.stderr).toBe(0);
    expect(show.json.channels.mock).toEqual({ latencyMs: 0, successRate: 1, settleAfterMs: 1000, balance: '1000000', feeBps: 60 });
    expect(JSON.stringify(show.json)).not.toContain('"//"');
    const created = await runPayJson(['create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY'], { env, cwd: tmp.dir });
    expect(created.code, created.stderr).toBe(0);
  });

  it('pay demo runs beside the starter (its simulator keys replace the unset env: references)', async () => {
    const r = await runPayJson(['demo', '--db', join(tmp.dir, 'demo.db')], { env, cwd: tmp.dir, timeoutMs: 120_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  }, 130_000);

  describe('with the sandbox profile written into the starter, as `pay sandbox` does', () => {
    let sandbox: RunningSandbox;
    beforeAll(async () => {
      sandbox = await startSandbox({ channels: SANDBOX_CHANNELS.map(([id]) => id) });
      const loaded = loadConfig(config, {}, tmp.dir);
      const profile: Record<string, Record<string, unknown>> = {};
      for (const [id] of SANDBOX_CHANNELS) {
        const mod = await loadChannelModule(id, { config: loaded, cwd: tmp.dir });
        profile[id] = externalizeSecrets(sandbox.profile(id), (k) => isSecretKey(mod, k), join(tmp.dir, '.pay-sandbox', id), tmp.dir);
      }
      writeSandboxProfile(config, profile);
    });
    afterAll(async () => {
      await sandbox?.close();
    });

    it('keeps the comments', () => {
      const doc = JSON.parse(readFileSync(config, 'utf8')) as { '//': unknown; channels: Record<string, Record<string, unknown>> };
      expect(doc['//']).toBeDefined();
      expect(doc.channels.alipay['//']).toBeDefined();
    });

    it.each(SANDBOX_CHANNELS)('pay create --profile sandbox --channel %s works with no env: variable set', async (id, currency, amount) => {
      const r = await runPayJson(['create', '--profile', 'sandbox', '--channel', id, '--amount', amount, '--currency', currency], { env, cwd: tmp.dir });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.json.status).toBe('pending');
    });
  });
});

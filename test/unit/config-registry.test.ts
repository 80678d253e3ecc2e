import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { channelSettings, loadConfig, resolveReference, resolveSettings } from '../../src/core/config.js';
import { resolveDbTarget } from '../../src/store/open.js';
import { PayError } from '../../src/core/errors.js';
import { redact, redactText, registerSecret } from '../../src/core/redact.js';
import { channelStateDir, checkModule, loadChannelModule, openChannel } from '../../src/channel/registry.js';
import { tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('config', () => {
  it('finds the file: flag, env, ./pay.config.json, XDG', () => {
    const env = { XDG_CONFIG_HOME: join(tmp.dir, 'xdg') };
    expect(loadConfig(undefined, env, tmp.dir)).toMatchObject({ origin: 'xdg', exists: false, config: { channels: {}, profiles: {} } });
    writeFileSync(join(tmp.dir, 'pay.config.json'), JSON.stringify({ channels: { mock: { seed: 7 } } }));
    expect(loadConfig(undefined, env, tmp.dir)).toMatchObject({ origin: 'cwd', exists: true });
    expect(() => loadConfig('missing.json', env, tmp.dir)).toThrow(/does not exist/);
    expect(() => loadConfig(undefined, { ...env, PAY_CONFIG: 'nope.json' }, tmp.dir)).toThrow(/does not exist/);
  });

  it('rejects malformed config with exit 2', () => {
    writeFileSync(join(tmp.dir, 'bad.json'), '{ "channels": [1] }');
    let err: unknown;
    try {
      loadConfig('bad.json', {}, tmp.dir);
    } catch (e) {
      err = e;
    }
    expect((err as PayError).code).toBe('CONFIG_ERROR');
    expect((err as PayError).exitCode).toBe(2);
    writeFileSync(join(tmp.dir, 'bad2.json'), '{ not json');
    expect(() => loadConfig('bad2.json', {}, tmp.dir)).toThrow(/not valid JSON/);
  });

  it('merges profiles over base settings', () => {
    writeFileSync(join(tmp.dir, 'c.json'), JSON.stringify({ channels: { mock: { seed: 1, feeBps: 10 } }, profiles: { fast: { channels: { mock: { seed: 2 } } } } }));
    const loaded = loadConfig('c.json', {}, tmp.dir);
    expect(channelSettings(loaded, 'mock', 'fast')).toEqual({ seed: 2, feeBps: 10 });
    expect(() => channelSettings(loaded, 'mock', 'live')).toThrow(/profile "live"/);
  });

  it('resolves env: and file: references without echoing values in errors', () => {
    mkdirSync(join(tmp.dir, 'keys'));
    writeFileSync(join(tmp.dir, 'keys', 'k.pem'), '-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n');
    const out = resolveSettings({ a: 'env:MY_SECRET', b: 'file:keys/k.pem', c: 'plain', n: { d: 'env:MY_SECRET' } }, { baseDir: tmp.dir, env: { MY_SECRET: 'supersecretvalue123' }, isSecret: (k) => k === 'a' });
    expect(out).toEqual({ a: 'supersecretvalue123', b: '-----BEGIN KEY-----\nAAAA\n-----END KEY-----', c: 'plain', n: { d: 'supersecretvalue123' } });
    expect(redactText('x supersecretvalue123 y')).toBe('x [redacted] y');
    expect(() => resolveReference('env:NOPE', { baseDir: tmp.dir, env: {}, where: 'channels.x.key' })).toThrow(/channels.x.key refers to environment variable NOPE/);
    expect(() => resolveReference('file:nope.pem', { baseDir: tmp.dir, where: 'k' })).toThrow(/cannot be read/);
  });

  it('redacts secret-named fields and registered values', () => {
    registerSecret('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----');
    const r = redact({ headers: { authorization: 'Bearer x', 'content-type': 'a' }, apiV3Key: 'k', body: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7', amount: 5 });
    expect(r).toEqual({ headers: { authorization: '[redacted]', 'content-type': 'a' }, apiV3Key: '[redacted]', body: '[redacted]', amount: 5 });
  });

  it('puts the database in the XDG data dir unless told', () => {
    expect(resolveDbTarget(undefined, { XDG_DATA_HOME: '/x' }, '/cwd')).toMatchObject({ kind: 'sqlite', path: '/x/pay/pay.db' });
    expect(resolveDbTarget('a.db', {}, '/cwd')).toMatchObject({ kind: 'sqlite', path: '/cwd/a.db' });
  });
});

describe('channel registry', () => {
  it('loads built-ins by id and names unknown ones', async () => {
    const mock = await loadChannelModule('mock');
    expect(mock.id).toBe('mock');
    expect(mock.description.capabilities).toContain('payout');
    const err = await loadChannelModule('nopay').catch((e) => e);
    expect((err as PayError).code).toBe('INVALID_REQUEST');
    expect((err as PayError).hint).toMatch(/mock/);
  });

  it('names every missing member of a module that breaks the contract', () => {
    expect(() => checkModule({ id: 'x1', description: { name: 'X' } }, './x.js')).toThrow(
      /missing or malformed description\.version, description\.capabilities, description\.config, description\.timeZone, validateConfig\(\), create\(\)/,
    );
    expect(() => checkModule({ id: 'x1', description: { name: 'X', version: '1', capabilities: ['teleport'], config: [], timeZone: 'UTC' }, validateConfig() {}, create() {} }, 'x')).toThrow(/unknown: teleport/);
    expect(() => checkModule(undefined, './empty.js')).toThrow(/does not export a channel module/);
  });

  it('loads a third-party channel by path and checks its adapter against its capabilities', async () => {
    const file = join(tmp.dir, 'my-channel.mjs');
    writeFileSync(
      file,
      `export default { id: 'mybank', description: { id: 'mybank', name: 'My Bank', version: '0.1.0', capabilities: ['collect', 'balance'], config: [{ key: 'token', description: 'API token.', type: 'string', required: true, secret: true }], timeZone: 'UTC' },
        validateConfig(s) { if (!s.token) { const e = new Error('channels.mybank.token is required'); throw e; } return s; },
        create() { return { async collect() { return { status: 'pending' }; } }; } };`,
    );
    const mod = await loadChannelModule(file);
    expect(mod.id).toBe('mybank');
    const loaded = { path: join(tmp.dir, 'c.json'), exists: true, origin: 'flag' as const, config: { channels: { mybank: { token: 'tok_12345678' } }, profiles: {} } };
    const base = { config: loaded, env: {}, dbPath: join(tmp.dir, 'pay.db'), clock: Date.now };
    await expect(openChannel(file, base)).rejects.toThrow(/declares balance but its adapter does not implement it/);
    const noToken = { ...base, config: { ...loaded, config: { channels: {}, profiles: {} } } };
    const err = await openChannel(file, noToken).catch((e) => e);
    expect((err as PayError).code).toBe('CONFIG_ERROR');
    expect((err as PayError).message).toMatch(/token is required/);
  });

  it('makes channel-call errors mean the same for every channel', async () => {
    const file = join(tmp.dir, 'flaky-channel.mjs');
    writeFileSync(
      file,
      `import { PayError } from ${JSON.stringify(new URL('../../src/core/errors.ts', import.meta.url).href)};
       export default { id: 'flaky', description: { id: 'flaky', name: 'Flaky', version: '0.1.0', capabilities: ['queryCollect', 'balance', 'verifyCallback'], config: [], timeZone: 'UTC' },
        validateConfig(s) { return s; },
        create() { return {
          async queryCollect() { throw new PayError('SIGNATURE_INVALID', 'answer signature does not verify'); },
          async balance() { throw new TypeError('cannot read properties of undefined'); },
          async verifyCallback() { return { valid: false, channel: 'flaky', scheme: 'x', reason: 'bad', reasonCode: 'BAD_SIGNATURE', reply: { status: 400, headers: {}, body: '' } }; },
        }; } };`,
    );
    const loaded = { path: join(tmp.dir, 'c.json'), exists: false, origin: 'cwd' as const, config: { channels: {}, profiles: {} } };
    const ch = await openChannel(file, { config: loaded, env: {}, dbPath: join(tmp.dir, 'pay.db'), clock: Date.now });
    const sig = await ch.adapter.queryCollect!({ orderNo: 'P1', amountMinor: 1, currency: 'CNY', createdAt: '' }).catch((e) => e);
    // An untrusted answer leaves the outcome unknown: a channel error (exit 3), not "invalid" (1).
    expect(sig).toMatchObject({ code: 'SIGNATURE_INVALID', exitCode: 3, channel: 'flaky' });
    expect((sig as PayError).hint).toMatch(/outcome is unknown/);
    const bug = await ch.adapter.balance!().catch((e) => e);
    expect(bug).toMatchObject({ code: 'CHANNEL_ERROR', exitCode: 3 });
    expect((bug as PayError).message).toMatch(/channel flaky failed in balance: cannot read properties/);
    // Offline checks are not channel calls and keep their verdicts.
    expect(await ch.adapter.verifyCallback!({ headers: {}, body: Buffer.alloc(0) }, { at: 0 })).toMatchObject({ valid: false });
  });

  it('keeps channel state beside the database', () => {
    expect(channelStateDir('/data/pay.db', 'mock')).toBe('/data/pay.channels/mock');
  });
});

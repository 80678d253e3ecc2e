/**
 * Dispatch: channel detection (highest score wins; ties and no match list the candidates),
 * settings for verification (references resolved, schema defaults, no validateConfig), outcome
 * classes and how exit statuses combine; input expansion (directories, globs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallbackVerdict, ChannelModule, RawRequest } from '../../src/channel/contract.js';
import type { LoadedConfig } from '../../src/core/config.js';
import { buildCallback } from '../../channels/mock/callback.js';
import { MOCK_TEST_WEBHOOK_SECRET } from '../../channels/mock/config.js';
import { CallbackDispatcher, exitStatusOf, pickChannel } from '../../src/verify/dispatch.js';
import { expandGlob, expandInputs, segmentRegExp } from '../../src/verify/inputs.js';
import { runExitStatus, type VerifyRow } from '../../src/verify/report.js';
import { tempDir } from '../helpers/cli.js';

function fakeModule(id: string, detect: (r: RawRequest) => number, verdict?: Partial<CallbackVerdict>): ChannelModule {
  return {
    id,
    description: { id, name: id, version: '0', capabilities: ['verifyCallback'], config: [], timeZone: 'UTC' },
    validateConfig: () => {
      throw new Error('validateConfig must not run for offline verification');
    },
    create: () => ({}),
    callback: {
      detect,
      verify: async () => ({ valid: true, channel: id, scheme: `${id}-test`, reply: { status: 200, headers: {}, body: 'ok' }, ...verdict }),
    },
  };
}

const req = (headers: Record<string, string>, body = '{}'): RawRequest => ({ method: 'POST', headers, body: Buffer.from(body), source: 'cb.http' });

describe('pickChannel', () => {
  const a = fakeModule('alpha', (r) => (r.headers['x-alpha'] ? 0.9 : r.headers['x-both'] ? 0.5 : 0));
  const b = fakeModule('beta', (r) => (r.headers['x-beta'] ? 1 : r.headers['x-both'] ? 0.5 : r.headers['x-alpha'] ? 0.3 : 0));
  const broken = fakeModule('broken', () => {
    throw new Error('boom');
  });

  it('takes the highest score', () => {
    expect(pickChannel(req({ 'x-alpha': '1' }), [a, b, broken]).module.id).toBe('alpha');
    expect(pickChannel(req({ 'x-beta': '1' }), [a, b, broken]).module.id).toBe('beta');
  });

  it('lists the candidates when it cannot tell', () => {
    try {
      pickChannel(req({ 'x-both': '1' }), [a, b]);
      throw new Error('expected a tie');
    } catch (err) {
      const e = err as { code: string; message: string; hint: string; details: { candidates: { channel: string }[] } };
      expect(e.code).toBe('INVALID_REQUEST');
      expect(e.message).toMatch(/cannot tell which channel sent cb.http: alpha \(0.50\), beta \(0.50\)/);
      expect(e.hint).toMatch(/--channel alpha or --channel beta/);
      expect(e.details.candidates.map((c) => c.channel)).toEqual(['alpha', 'beta']);
    }
  });

  it('says which channels were tried when none matches', () => {
    expect(() => pickChannel(req({}), [a, b, broken], ['gamma'])).toThrow(/no channel recognises cb.http \(tried alpha, beta, broken; could not load gamma\)/);
  });
});

describe('exit statuses', () => {
  it('error beats invalid beats valid', () => {
    expect(exitStatusOf([])).toBe(0);
    expect(exitStatusOf(['valid', 'valid'])).toBe(0);
    expect(exitStatusOf(['valid', 'invalid'])).toBe(1);
    expect(exitStatusOf(['invalid', 'error', 'valid'])).toBe(2);
  });

  it('a refused --apply makes an all-valid run exit 1; a replay does not', () => {
    const row = (apply?: VerifyRow['apply']): VerifyRow => ({ outcome: { class: 'valid' }, apply });
    expect(runExitStatus([row({ outcome: 'duplicate', message: '', recorded: false })])).toBe(0);
    expect(runExitStatus([row({ outcome: 'applied', message: '', recorded: true }), row({ outcome: 'unknown-order', message: '', recorded: false })])).toBe(1);
    expect(runExitStatus([row({ outcome: 'mismatch', message: '', recorded: false }), { outcome: { class: 'error' } }])).toBe(2);
  });
});

describe('CallbackDispatcher with the mock channel', () => {
  const config = (mock: Record<string, unknown> | undefined): LoadedConfig => ({
    path: '/nowhere/pay.config.json',
    exists: true,
    origin: 'flag',
    config: { channels: mock ? { mock } : {}, profiles: { live: { channels: { mock: { webhookSecret: 'live_secret_value_123' } } } } },
  });
  const now = Date.UTC(2026, 0, 2, 3, 4, 5);
  const cb = (secret: string) =>
    ({ ...buildCallback(secret, 'payment.succeeded', { orderNo: 'O1', amount: '1.00', currency: 'CNY', status: 'succeeded' }, { nowMs: now }), source: 'cb.http' }) as RawRequest;

  it('detects the mock and verifies with the schema default secret when none is configured', async () => {
    const d = new CallbackDispatcher({ config: config(undefined), env: {}, cwd: '/' }, { at: now });
    await d.init();
    const out = await d.verify(cb(MOCK_TEST_WEBHOOK_SECRET));
    expect(out.class).toBe('valid');
    expect(out.channel).toBe('mock');
    expect(out.score).toBe(1);
  });

  it('resolves env: references and profiles', async () => {
    const d = new CallbackDispatcher({ config: config({ webhookSecret: 'env:MOCK_SECRET' }), env: { MOCK_SECRET: 'secret_from_env_42' }, cwd: '/' }, { at: now });
    expect((await d.verify(cb('secret_from_env_42'))).class).toBe('valid');
    expect((await d.verify(cb('another_secret_000'))).class).toBe('invalid');
    const live = new CallbackDispatcher({ config: config({ webhookSecret: 'base_secret_value_1' }), profile: 'live', env: {}, cwd: '/' }, { at: now });
    expect((await live.verify(cb('live_secret_value_123'))).class).toBe('valid');
  });

  it('a key that cannot be resolved is a config error naming the reference, not a default', async () => {
    const d = new CallbackDispatcher({ config: config({ webhookSecret: 'env:MOCK_SECRET_UNSET' }), env: {}, cwd: '/' }, { at: now });
    const out = await d.verify(cb(MOCK_TEST_WEBHOOK_SECRET));
    expect(out.class).toBe('error');
    expect(out.verdict?.reasonCode).toBe('MISSING_KEY');
    expect(out.error?.code).toBe('CONFIG_ERROR');
    expect(out.error?.exitCode).toBe(2);
    expect(out.error?.message).toMatch(/MOCK_SECRET_UNSET, which is not set/);
  });

  it('uses the verdict time per call when no --at is given', async () => {
    const d = new CallbackDispatcher({ config: config(undefined), env: {}, cwd: '/' }, {});
    expect((await d.verify(cb(MOCK_TEST_WEBHOOK_SECRET), now + 1000)).class).toBe('valid');
    const late = await d.verify(cb(MOCK_TEST_WEBHOOK_SECRET), now + 3600_000);
    expect(late.class).toBe('invalid');
    expect(late.verdict?.reasonCode).toBe('EXPIRED');
  });

  it('callbacks verified at once share one settings object (one load), on which channels memoize parsed keys', async () => {
    const t = tempDir('pay-dispatch-settings-');
    try {
      mkdirSync(join(t.dir, 'probe'));
      writeFileSync(join(t.dir, 'probe', 'package.json'), '{"type":"module"}');
      writeFileSync(
        join(t.dir, 'probe', 'index.js'),
        `export default {
          id: 'probe',
          description: { id: 'probe', name: 'probe', version: '0', capabilities: ['verifyCallback'], config: [], timeZone: 'UTC' },
          validateConfig: () => ({}),
          create: () => ({}),
          callback: {
            detect: () => 1,
            verify: async (request, settings) => {
              (globalThis.__probeSettings ??= []).push(settings);
              return { valid: settings.secret === 'probe_test_secret', channel: 'probe', scheme: 'probe-test', reply: { status: 200, headers: {}, body: 'ok' } };
            },
          },
        };\n`,
      );
      const probeConfig: LoadedConfig = { path: join(t.dir, 'pay.config.json'), exists: true, origin: 'flag', config: { channels: { probe: { module: './probe/index.js', secret: 'env:PROBE_SECRET' } }, profiles: {} } };
      const seen: object[] = [];
      (globalThis as { __probeSettings?: object[] }).__probeSettings = seen;
      const d = new CallbackDispatcher({ config: probeConfig, env: { PROBE_SECRET: 'probe_test_secret' }, cwd: t.dir }, { channel: 'probe', at: now });
      await d.init();
      // 64 at once, before any settings exist: as a large run's lanes start.
      const outs = await Promise.all(Array.from({ length: 64 }, () => d.verify(req({}, 'x'))));
      expect(outs.map((o) => o.class)).toEqual(Array(64).fill('valid'));
      expect(seen).toHaveLength(64);
      expect(new Set(seen).size).toBe(1);
      expect(await d.verify(req({}, 'y'))).toMatchObject({ class: 'valid' });
      expect(new Set(seen).size).toBe(1);
    } finally {
      delete (globalThis as { __probeSettings?: object[] }).__probeSettings;
      t.cleanup();
    }
  });

  it('rejects an unknown --channel up front', async () => {
    const d = new CallbackDispatcher({ config: config(undefined), env: {}, cwd: '/' }, { channel: 'nosuch', at: now });
    await expect(d.init()).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/unknown channel "nosuch"/) });
  });
});

describe('inputs', () => {
  let dir = '';
  let cleanup = () => {};
  beforeAll(() => {
    ({ dir, cleanup } = tempDir('pay-inputs-'));
    mkdirSync(join(dir, 'a', 'deep'), { recursive: true });
    for (const f of ['a/2.http', 'a/1.http', 'a/x.json', 'a/.hidden.http', 'a/deep/3.http', 'b[1].http']) writeFileSync(join(dir, f), 'x');
  });
  afterAll(() => cleanup());

  it('compiles glob segments like the shell', () => {
    expect(segmentRegExp('*.http').test('a.http')).toBe(true);
    expect(segmentRegExp('*.http').test('.a.http')).toBe(false);
    expect(segmentRegExp('?.http').test('12.http')).toBe(false);
    expect(segmentRegExp('[!a]*').test('b1')).toBe(true);
    expect(segmentRegExp('[!a]*').test('a1')).toBe(false);
    expect(segmentRegExp('a.b').test('axb')).toBe(false);
  });

  it('expands directories (sorted, not hidden), globs and ** ', () => {
    const [d] = expandInputs(['a'], dir);
    expect(d.files).toEqual([join('a', '1.http'), join('a', '2.http'), join('a', 'x.json')]);
    expect(expandGlob('a/*.http', dir)).toEqual([join(dir, 'a', '1.http'), join(dir, 'a', '2.http')]);
    expect(expandGlob('**/*.http', dir)).toEqual([join(dir, 'a', '1.http'), join(dir, 'a', '2.http'), join(dir, 'a', 'deep', '3.http'), join(dir, 'b[1].http')]);
    expect(expandGlob(join(dir, 'a', '*', '*.http'), '/')).toEqual([join(dir, 'a', 'deep', '3.http')]);
  });

  it('takes an existing path literally even with glob characters; a glob matching nothing is an error', () => {
    expect(expandInputs(['b[1].http'], dir)[0].files).toEqual(['b[1].http']);
    expect(expandInputs(['missing.http'], dir)[0].files).toEqual(['missing.http']);
    expect(() => expandInputs(['a/*.xml'], dir)).toThrow(/a\/\*.xml matches no files/);
    expect(() => expandInputs([], dir)).toThrow(/no callback file given/);
  });
});

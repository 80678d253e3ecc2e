/**
 * Channel settings schemas (channels/<id>/config-schema.ts): the messages validation gives per
 * channel (unknown key, wrong type, missing, bad enum), defaults, the field list `pay channels
 * list --json` shows, and that the compiled validators and the README tables are in sync with the
 * schemas.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaChannelIds, validatorSource } from '../../scripts/config-validators.mjs';
import { settingsTables, withTables } from '../../scripts/settings-tables.mjs';
import { checkSettings, fieldsOf, SCHEMA_ANNOTATIONS, type ChannelSchema, type CompiledValidator } from '../../src/channel/config-schema.js';
import type { ChannelModule } from '../../src/channel/contract.js';
import { isPayError, type PayError } from '../../src/core/errors.js';
import { ROOT, runPayJson } from '../helpers/cli.js';

interface Channel {
  id: string;
  schema: ChannelSchema;
  validate: CompiledValidator;
  mod: ChannelModule;
}

const IDS = schemaChannelIds(ROOT);
const channels: Record<string, Channel> = {};
for (const id of IDS) {
  const [{ schema }, { default: validate }, { default: mod }] = await Promise.all([
    import(`../../channels/${id}/config-schema.ts`),
    import(`../../channels/${id}/config-validate.ts`),
    import(`../../channels/${id}/index.ts`),
  ]);
  channels[id] = { id, schema, validate, mod };
}

/** The refusal `validateConfig` of the channel throws for `settings`. */
function refusal(id: string, settings: Record<string, unknown>): PayError {
  try {
    channels[id].mod.validateConfig(settings);
  } catch (err) {
    if (isPayError(err)) return err;
    throw err;
  }
  throw new Error(`channels.${id} accepted ${JSON.stringify(settings)}`);
}

// Settings that pass each schema (the keys in them are not real: schema errors come before keys are opened).
const BASE: Record<string, Record<string, unknown>> = {
  mock: {},
  stripe: { secretKey: 'sk_test_abcdefghijkl' },
  paypal: { clientId: 'AbCdEfGh1234', clientSecret: 'EsecretSecret' },
  alipay: { appId: '2021000000000001', privateKey: 'not-a-key' },
  wechatpay: { mchId: '1900000001', appId: 'wxd678efh567hg6787', serialNo: 'ABCDEF0123456789', privateKey: 'not-a-key', apiV3Key: '0123456789abcdef0123456789abcdef' },
  unionpay: { merId: '777290058110048' },
};

// [channel, settings laid over BASE (undefined removes a key), the message, the hint if any].
const CASES: [string, string, Record<string, unknown>, string, RegExp?][] = [
  ['mock', 'unknown key', { latencyMS: 5 }, 'channels.mock.latencyMS is not a setting of the mock channel', /Did you mean latencyMs\?/],
  ['mock', 'wrong type', { persist: 'yes' }, 'channels.mock.persist must be true or false'],
  ['mock', 'out of range', { successRate: 2 }, 'channels.mock.successRate must be a number from 0 to 1'],
  ['mock', 'not an integer', { feeBps: 1.5 }, 'channels.mock.feeBps must be an integer from 0 to 10000'],
  ['mock', 'bad enum', { scenario: 'EXPLODE' }, 'channels.mock.scenario must be one of RATE_LIMITED, TIMEOUT, SYSTEM_ERROR, INSUFFICIENT_BALANCE, DECLINED'],
  ['mock', 'wrong shape', { balance: [1] }, 'channels.mock.balance must be a decimal or an object of currency -> decimal'],
  ['mock', 'short secret', { webhookSecret: 'tiny' }, 'channels.mock.webhookSecret must be a string of at least 8 characters'],
  ['stripe', 'unknown key', { secret_key: 'sk_test_abcdefghijkl' }, 'channels.stripe.secret_key is not a setting of the stripe channel', /Known settings: secretKey, webhookSecret/],
  ['stripe', 'wrong type', { timeoutMs: true }, 'channels.stripe.timeoutMs must be an integer from 100 to 600000'],
  ['stripe', 'missing', { secretKey: undefined }, 'channels.stripe.secretKey is missing', /env:STRIPE_SECRET_KEY/],
  ['stripe', 'bad pattern', { secretKey: 'pk_test_SECRETVALUE1234' }, 'channels.stripe.secretKey is not a Stripe secret key (expected sk_test_..., sk_live_... or rk_...)'],
  ['paypal', 'unknown key', { sandbox: true }, 'channels.paypal.sandbox is not a setting of the paypal channel'],
  ['paypal', 'wrong type', { captureOnQuery: 'yes' }, 'channels.paypal.captureOnQuery must be true or false'],
  ['paypal', 'missing', { clientSecret: undefined }, 'channels.paypal.clientSecret is missing', /env:PAYPAL_CLIENT_SECRET/],
  ['paypal', 'bad pattern', { clientSecret: 'has spaces SECRETVALUE' }, 'channels.paypal.clientSecret is not a PayPal client secret'],
  ['alipay', 'unknown key', { appid: '2021000000000001' }, 'channels.alipay.appid is not a setting of the alipay channel', /Did you mean appId\?/],
  ['alipay', 'wrong type', { appId: 2021000000000001 }, 'channels.alipay.appId must be a string'],
  ['alipay', 'missing', { appId: undefined }, 'channels.alipay.appId is missing', /APPID/],
  ['alipay', 'bad enum', { signType: 'MD5' }, 'channels.alipay.signType must be RSA2 or RSA'],
  ['wechatpay', 'unknown key', { mchid: '1900000001' }, 'channels.wechatpay.mchid is not a setting of the wechatpay channel', /Did you mean mchId\?/],
  ['wechatpay', 'wrong type', { transferReportInfos: 'x' }, 'channels.wechatpay.transferReportInfos must be an object of info_type -> info_content'],
  ['wechatpay', 'missing', { apiV3Key: undefined }, 'channels.wechatpay.apiV3Key is missing', /Set it in pay\.config\.json \(APIv3 key/],
  ['wechatpay', 'bad enum', { balanceAccounts: ['SAVINGS'] }, 'channels.wechatpay.balanceAccounts must list BASIC, OPERATION and/or FEES'],
  ['wechatpay', 'empty list', { balanceAccounts: [] }, 'channels.wechatpay.balanceAccounts must list BASIC, OPERATION and/or FEES'],
  ['unionpay', 'unknown key', { merid: '777290058110048' }, 'channels.unionpay.merid is not a setting of the unionpay channel'],
  ['unionpay', 'wrong type', { voidSameDay: 'no' }, 'channels.unionpay.voidSameDay must be true or false'],
  ['unionpay', 'missing', { merId: undefined }, 'channels.unionpay.merId is missing', /15-character/],
  ['unionpay', 'bad enum', { version: '4.0.0' }, 'channels.unionpay.version must be 5.1.0 or 5.0.0'],
  ['unionpay', 'bad enum with its own message', { signMethod: '12' }, 'channels.unionpay.signMethod must be 01 (certificates) or 11 (secure key)'],
  ['unionpay', 'not positive', { timeoutMs: 0 }, 'channels.unionpay.timeoutMs must be a positive number'],
];

describe('validation messages per channel', () => {
  it('covers every channel with a schema', () => {
    expect(IDS).toEqual(['alipay', 'mock', 'paypal', 'stripe', 'unionpay', 'wechatpay']);
    for (const id of IDS) expect(CASES.some(([c, what]) => c === id && what === 'unknown key'), id).toBe(true);
  });

  it.each(CASES)('%s: %s', (id, _what, over, message, hint) => {
    const settings = { ...BASE[id], ...over };
    for (const [k, v] of Object.entries(over)) if (v === undefined) delete settings[k];
    const err = refusal(id, settings);
    expect(err.code).toBe('CONFIG_ERROR');
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(message);
    if (hint) expect(err.hint).toMatch(hint);
    // Never a value: no string given in the settings appears in the message or the hint.
    for (const v of Object.values(over)) {
      if (typeof v === 'string' && v.length >= 6) {
        expect(err.message).not.toContain(v);
        expect(err.hint ?? '').not.toContain(v);
      }
    }
  });
});

describe('defaults and value forms', () => {
  it.each(IDS)('%s: every default in the schema is applied', (id) => {
    const { schema, validate } = channels[id];
    const out = checkSettings(id, schema, validate, BASE[id]) as Record<string, unknown>;
    const defaults = Object.entries(schema.properties).filter(([, p]) => p.default !== undefined);
    expect(defaults.length).toBeGreaterThan(0);
    for (const [key, p] of defaults) expect(out[key], key).toEqual(p.default);
  });

  it('applies the defaults through validateConfig too', () => {
    expect(channels.mock.mod.validateConfig({})).toMatchObject({ successRate: 1, settleAfterMs: 1000, feeBps: 60, seed: 1, persist: true, balance: { '*': '1000000' }, latency: { kind: 'fixed', ms: 0 } });
    expect(channels.stripe.mod.validateConfig(BASE.stripe)).toMatchObject({ baseUrl: 'https://api.stripe.com', apiVersion: '2026-10-28.endive', timeZone: 'UTC' });
  });

  it('takes numbers given as strings (env: references), treats empty values as absent, trims text', () => {
    const mock = channels.mock.mod.validateConfig({ seed: '42', successRate: ' 0.5 ', settleAfterMs: '', scenario: null, scenarioOps: undefined });
    expect(mock).toMatchObject({ seed: 42, successRate: 0.5, settleAfterMs: 1000 });
    expect(mock.scenario).toBeUndefined();
    expect(channels.stripe.mod.validateConfig({ secretKey: ' sk_test_abcdefghijkl\n', timeoutMs: '5000' })).toMatchObject({ secretKey: 'sk_test_abcdefghijkl', timeoutMs: 5000 });
    expect(refusal('stripe', { ...BASE.stripe, timeoutMs: 'soon' }).message).toBe('channels.stripe.timeoutMs must be an integer from 100 to 600000');
    expect(refusal('alipay', { ...BASE.alipay, appId: '   ' }).message).toBe('channels.alipay.appId is missing');
  });

  it('keeps a verbatim value as given (a password may be empty or end in a space)', () => {
    const { schema, validate } = channels.unionpay;
    expect(checkSettings('unionpay', schema, validate, { ...BASE.unionpay, signCertPassword: '' })).toMatchObject({ signCertPassword: '' });
    expect(checkSettings('unionpay', schema, validate, { ...BASE.unionpay, signCertPassword: ' pw ' })).toMatchObject({ signCertPassword: ' pw ' });
  });

  it('checks and normalises URLs and time zones the schema marks', () => {
    expect(channels.paypal.mod.validateConfig({ ...BASE.paypal, baseUrl: 'http://127.0.0.1:9/' })).toMatchObject({ baseUrl: 'http://127.0.0.1:9' });
    expect(refusal('paypal', { ...BASE.paypal, baseUrl: 'ftp://x' }).message).toBe('channels.paypal.baseUrl must be an http(s) URL');
    expect(refusal('paypal', { ...BASE.paypal, timeZone: 'Mars/Olympus' }).message).toBe('channels.paypal.timeZone is not a known IANA time zone');
  });
});

describe('the field list', () => {
  it.each(IDS)('%s: the module describes the fields of its schema', (id) => {
    const { schema, mod } = channels[id];
    expect(mod.description.config).toEqual(fieldsOf(schema));
    const secrets = mod.description.config.filter((f) => f.secret).map((f) => f.key);
    expect(secrets.length).toBeGreaterThan(0);
  });

  it('pay channels list --json shows each schema\'s fields, types, secrets and defaults', async () => {
    const { code, json } = await runPayJson<{ channels: { id: string; config: unknown[] }[] }>(['channels', 'list', '--json']);
    expect(code).toBe(0);
    for (const id of IDS) {
      const listed = json.channels.find((c) => c.id === id);
      expect(listed?.config, id).toEqual(JSON.parse(JSON.stringify(fieldsOf(channels[id].schema))));
    }
    const stripe = json.channels.find((c) => c.id === 'stripe')!.config as Record<string, unknown>[];
    expect(stripe[0]).toMatchObject({ key: 'secretKey', type: 'string', required: true, secret: true });
    expect(stripe.find((f) => f.key === 'baseUrl')).toMatchObject({ type: 'url', default: 'https://api.stripe.com' });
  });
});

describe('generated files stay in sync with the schemas', () => {
  it.each(IDS)('%s: config-validate.ts is what ajv compiles from the schema, with no run-time import', (id) => {
    const source = validatorSource(id, channels[id].schema, SCHEMA_ANNOTATIONS);
    expect(source).not.toMatch(/^import |\brequire\(/m);
    // If this fails: npm run build && node scripts/config-validators.mjs
    expect(readFileSync(join(ROOT, 'channels', id, 'config-validate.ts'), 'utf8')).toBe(source);
  });

  it('the README settings tables are generated from the schemas', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const tables = settingsTables(IDS.map((id) => ({ id, fields: fieldsOf(channels[id].schema) })));
    expect(tables).toContain('| `secretKey` | string, required, secret (`env:`/`file:`) |  |');
    // If this fails: npm run build && node scripts/settings-tables.mjs
    expect(withTables(readme, tables)).toBe(readme);
  });
});

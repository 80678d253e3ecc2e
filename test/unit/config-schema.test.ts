/**
 * Channel settings schemas (src/channel/config-schema.ts): one declaration per field gives the
 * field list, the validator (our messages, not zod's), defaults, and the README tables; zod loads
 * only when settings are validated.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineChannelConfig, numberIn, settingsTable, text, url, withSettingsTable } from '../../src/channel/config-schema.js';
import { builtinChannelIds, loadChannelModule } from '../../src/channel/registry.js';
import { configError, isPayError } from '../../src/core/errors.js';
import { ROOT } from '../helpers/cli.js';

function failure(fn: () => unknown): { code: string; message: string; hint?: string } {
  try {
    fn();
  } catch (err) {
    if (isPayError(err)) return { code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('accepted');
}

const demo = defineChannelConfig({
  id: 'demo',
  fields: {
    token: { type: 'string', required: true, secret: true, description: 'The token.', missingHint: 'Give it as env:DEMO_TOKEN.', check: (z) => text(z).pipe(z.string().regex(/^tok_/, { error: 'must start with tok_\nCopy it from the console.' })) },
    baseUrl: { type: 'url', default: 'https://api.demo.example/', description: 'API origin.', check: (z, where) => url(z, where) },
    list: { type: 'object', default: ['A'], description: 'A list.', check: (z) => z.array(z.string(), { error: 'must be a list' }) },
    limit: { type: 'number', default: 5, description: 'A limit.', check: (z) => numberIn(z, 1, 10, { integer: true, fromText: true }) },
    code: { type: 'string', description: 'A code.', check: (z, where) => z.unknown().transform((v) => { if (v === 'x') throw configError(`${where} is x`); return v; }) },
    cross: { type: 'string', blankIsValue: true, description: 'Blank is a value.', check: (z) => z.string().min(1, { error: '=the cross field must not be blank' }) },
  },
  finish: (v) => ({ ...v }),
});

describe('defineChannelConfig', () => {
  it('lists the fields in declaration order, with flags and defaults, without loading zod', () => {
    expect(demo.fields).toEqual([
      { key: 'token', type: 'string', required: true, secret: true, description: 'The token.' },
      { key: 'baseUrl', type: 'url', default: 'https://api.demo.example/', description: 'API origin.' },
      { key: 'list', type: 'object', default: ['A'], description: 'A list.' },
      { key: 'limit', type: 'number', default: 5, description: 'A limit.' },
      { key: 'code', type: 'string', description: 'A code.' },
      { key: 'cross', type: 'string', description: 'Blank is a value.' },
    ]);
  });

  it('applies defaults through the same check, and never shares the default objects', () => {
    const a = demo.validate({ token: ' tok_1 ' });
    expect(a).toEqual({ token: 'tok_1', baseUrl: 'https://api.demo.example', list: ['A'], limit: 5 });
    (a.list as string[]).push('B');
    expect(demo.validate({ token: 'tok_1' }).list).toEqual(['A']);
    expect(demo.validate({ token: 'tok_1', limit: '7', code: null, baseUrl: '' }).limit).toBe(7);
  });

  it('turns zod issues into CONFIG_ERROR naming the field, with the hint after the line break', () => {
    expect(failure(() => demo.validate({}))).toEqual({ code: 'CONFIG_ERROR', message: 'channels.demo.token is missing', hint: 'Give it as env:DEMO_TOKEN.' });
    expect(failure(() => demo.validate({ token: '' })).message).toBe('channels.demo.token is missing');
    expect(failure(() => demo.validate({ token: 'sk_1' }))).toEqual({ code: 'CONFIG_ERROR', message: 'channels.demo.token must start with tok_', hint: 'Copy it from the console.' });
    expect(failure(() => demo.validate({ token: 42 })).message).toBe('channels.demo.token must be a string');
    expect(failure(() => demo.validate({ token: 'tok_1', baseUrl: 'ftp://x' })).message).toBe('channels.demo.baseUrl must be an http(s) URL');
    expect(failure(() => demo.validate({ token: 'tok_1', list: 'A' })).message).toBe('channels.demo.list must be a list');
    expect(failure(() => demo.validate({ token: 'tok_1', limit: 11 })).message).toBe('channels.demo.limit must be an integer from 1 to 10');
    expect(failure(() => demo.validate({ token: 'tok_1', limit: '' })).message).toBe('channels.demo.limit must be an integer from 1 to 10');
    expect(failure(() => demo.validate({ token: 'tok_1', cross: '' })).message).toBe('the cross field must not be blank');
  });

  it('lets a CONFIG_ERROR thrown inside a check through unchanged', () => {
    expect(failure(() => demo.validate({ token: 'tok_1', code: 'x' })).message).toBe('channels.demo.code is x');
  });

  it('never puts the value in the message', () => {
    const err = failure(() => demo.validate({ token: 'sk_live_very_secret_value' }));
    expect(err.message).not.toContain('very_secret');
    expect(err.hint ?? '').not.toContain('very_secret');
  });
});

describe('channel schemas and their README tables', () => {
  it('every built-in channel README lists exactly its schema fields (node scripts/settings-tables.mjs rewrites them)', async () => {
    for (const id of builtinChannelIds()) {
      const mod = await loadChannelModule(id);
      const path = join(ROOT, 'channels', id, 'README.md');
      const readme = readFileSync(path, 'utf8');
      const table = settingsTable(mod.description.config);
      expect(withSettingsTable(readme, id, table), `${path} has settings markers`).toBeDefined();
      const listed = [...readme.slice(readme.indexOf(`<!-- settings:${id} -->`), readme.indexOf(`<!-- /settings:${id} -->`)).matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
      expect(listed, `${path}: the settings table lists exactly the schema's fields`).toEqual(mod.description.config.map((f) => f.key));
      expect(withSettingsTable(readme, id, table), `${path} is out of date: run npm run build && node scripts/settings-tables.mjs`).toBe(readme);
    }
  });

  it('renders required, secret and default in the table, escaping pipes', () => {
    expect(settingsTable([{ key: 'a', type: 'string', required: true, secret: true, default: 'x|y', description: 'One | two.' }])).toBe(
      ['| key | type | default | what |', '|---|---|---|---|', '| `a` | string (required, secret) | `"x\\|y"` | One \\| two. |'].join('\n'),
    );
  });
});

describe('zod loads lazily', () => {
  it('pay channels list and loading every channel module leave zod unloaded; validating settings loads it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pay-zod-lazy-'));
    try {
      // zod reached by import (an ESM resolve hook logs it) or by require (the CJS cache holds it).
      const log = join(dir, 'resolved.log');
      writeFileSync(log, '');
      const hook = join(dir, 'hook.mjs');
      writeFileSync(hook, `import { appendFileSync } from 'node:fs';
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  if (r.url.includes('/node_modules/zod/')) appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}`);
      const script = `
        const { createRequire, register } = await import('node:module');
        const { pathToFileURL } = await import('node:url');
        const { readFileSync } = await import('node:fs');
        register(pathToFileURL(${JSON.stringify(hook)}));
        const cache = createRequire(import.meta.url).cache;
        const loaded = () => Object.keys(cache).some((k) => k.includes('/node_modules/zod/')) || readFileSync(${JSON.stringify(log)}, 'utf8') !== '';
        const { builtinChannelIds, loadChannelModule } = await import(${JSON.stringify(join(ROOT, 'dist/src/channel/registry.js'))});
        const mods = [];
        for (const id of builtinChannelIds()) mods.push(await loadChannelModule(id));
        const before = loaded();
        mods.find((m) => m.id === 'mock').validateConfig({});
        console.log(JSON.stringify({ before, after: loaded() }));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({ before: false, after: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

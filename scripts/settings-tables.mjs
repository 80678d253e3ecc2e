#!/usr/bin/env node
// Rewrites README.md's table of settings per channel (between the settings-tables markers) from
// the channels' schemas (channels/<id>/config-schema.ts), so the README cannot drift from what pay
// accepts. Reads the built schemas:
//
//   npm run build && node scripts/settings-tables.mjs [--check]
//
// --check writes nothing and exits 1 when the README is out of date; test/unit/config-schemas.test.ts
// checks the same.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { schemaChannelIds } from './config-validators.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
export const BEGIN = '<!-- settings-tables:begin (generated from channels/*/config-schema.ts by scripts/settings-tables.mjs: do not edit) -->';
export const END = '<!-- settings-tables:end -->';

const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ').replace(/</g, '&lt;');

function shownDefault(field) {
  if (field.default === undefined) return '';
  // A secret's default (the mock's test-only webhook secret) is not repeated in the README.
  if (field.secret) return 'built in (test-only)';
  return `\`${typeof field.default === 'string' ? field.default : JSON.stringify(field.default)}\``;
}

/** The Markdown tables for `channels`: [{ id, fields }] with fields as `pay channels list --json` gives them. */
export function settingsTables(channels) {
  const out = [];
  for (const { id, fields } of channels) {
    out.push(`**${id}**`, '', '| Setting | Type | Default | What it is |', '|---|---|---|---|');
    for (const f of fields) {
      const type = [f.type, f.required ? 'required' : '', f.secret ? 'secret (`env:`/`file:`)' : ''].filter(Boolean).join(', ');
      out.push(`| \`${f.key}\` | ${type} | ${cell(shownDefault(f))} | ${cell(f.description)} |`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

/** `readme` with the text between the markers replaced by `tables`; throws when the markers are missing. */
export function withTables(readme, tables) {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md needs the markers ${BEGIN} and ${END}`);
  return `${readme.slice(0, a + BEGIN.length)}\n${tables}\n${readme.slice(b)}`;
}

async function main() {
  const { fieldsOf } = await import(pathToFileURL(join(root, 'dist/src/channel/config-schema.js')).href);
  const channels = [];
  for (const id of schemaChannelIds()) {
    const { schema } = await import(pathToFileURL(join(root, 'dist/channels', id, 'config-schema.js')).href);
    channels.push({ id, fields: fieldsOf(schema) });
  }
  const path = join(root, 'README.md');
  const old = readFileSync(path, 'utf8');
  const text = withTables(old, settingsTables(channels));
  if (text === old) return;
  if (process.argv.includes('--check')) {
    console.error('README.md: the settings tables are out of date (run node scripts/settings-tables.mjs)');
    process.exit(1);
  }
  writeFileSync(path, text);
  console.log('rewrote the settings tables in README.md');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();

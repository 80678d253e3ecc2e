#!/usr/bin/env node
// Writes each built-in channel's settings table into channels/<id>/README.md (between
// `<!-- settings:<id> -->` and `<!-- /settings:<id> -->`) from its config schema, so the table
// lists exactly the fields `pay channels list --json` shows. Run `npm run build` first;
// test/unit/config-schema.test.ts fails when a table is out of date.
//
//   node scripts/settings-tables.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { builtinChannelIds, loadChannelModule } = await import(join(root, 'dist/src/channel/registry.js'));
const { settingsTable, withSettingsTable } = await import(join(root, 'dist/src/channel/config-schema.js'));
for (const id of builtinChannelIds()) {
  const mod = await loadChannelModule(id);
  const path = join(root, 'channels', id, 'README.md');
  const next = withSettingsTable(readFileSync(path, 'utf8'), id, settingsTable(mod.description.config));
  if (next === undefined) throw new Error(`${path} has no <!-- settings:${id} --> ... <!-- /settings:${id} --> markers`);
  writeFileSync(path, next);
  console.log(`${path}: ${mod.description.config.length} settings`);
}

// Types of scripts/settings-tables.mjs for the tests that import it.
import type { ConfigField } from '../src/channel/contract.js';
export const BEGIN: string;
export const END: string;
export function settingsTables(channels: { id: string; fields: ConfigField[] }[]): string;
export function withTables(readme: string, tables: string): string;

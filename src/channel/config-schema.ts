/**
 * One settings schema per channel: each field is declared once, with its sentence, type, default
 * and secret flag (what `pay channels list --json` shows and the README tables are checked
 * against) and the zod schema that checks its value. Cross-field rules (key modes, certificates
 * matching keys) run after, in the channel's `finish`.
 *
 * zod is loaded on the first validation, synchronously (validateConfig is synchronous in the
 * channel contract): `pay --version` and `pay channels list` never load it.
 *
 * Messages: every check gives its own message, the part after the field's name (`is missing`,
 * `must be RSA2 or RSA`); a line break separates the hint (what to do). A message starting with
 * `:` follows the name without a space; one starting with `=` is the whole message (cross-field rules). Issues become CONFIG_ERROR `channels.<id>.<path> <message>`.
 */
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import { configError, isPayError } from '../core/errors.js';
import { checkTimeZone, checkUrl } from './config-checks.js';
import type { ConfigField } from './contract.js';

/** The zod namespace, as handed to field schemas. */
export type Z = typeof Zod;

let zod: Z | undefined;
/** Loads zod once, on first use. */
function loadZod(): Z {
  zod ??= createRequire(import.meta.url)('zod') as Z;
  return zod;
}

/** One field: its description for people, and the zod schema of a present value. */
export interface FieldSchema extends Omit<ConfigField, 'key'> {
  /**
   * Checks (and may transform) a present value; `where` is `channels.<id>.<key>`. Absent means
   * undefined, null, or '' for text fields: the default applies, or `is missing` when required.
   */
  check?: (z: Z, where: string) => Zod.ZodType;
  /** Hint for the `is missing` message of a required field. */
  missingHint?: string;
  /** '' is a value to check, not an absent field. */
  blankIsValue?: boolean;
}

/** Declaration of a channel's settings. */
export interface ChannelConfigSpec<C> {
  id: string;
  /** Fields in the order `pay channels list --json` shows them. */
  fields: Record<string, FieldSchema>;
  /** Keys in the order they are checked, when it differs from `fields` (the first problem is reported). */
  checkOrder?: string[];
  /**
   * Cross-field checks and the validated shape, from the checked values (defaults applied,
   * absent optional fields undefined). Throws CONFIG_ERROR naming the field. Absent: the checked
   * values, every field's key present.
   */
  finish?(values: Record<string, any>, where: (key: string) => string): C;
}

/** A channel's settings schema: the field list and the validator built from it. */
export interface ChannelConfigSchema<C> {
  /** What `description.config` lists. */
  fields: ConfigField[];
  /** Checks settings (references already resolved), applying defaults. */
  validate(settings: Record<string, unknown>): C;
}

const TEXT_TYPES = new Set(['string', 'url', 'pem']);

/** Defines a channel's settings schema. */
export function defineChannelConfig<C>(spec: ChannelConfigSpec<C>): ChannelConfigSchema<C> {
  const fields: ConfigField[] = Object.entries(spec.fields).map(([key, f]) => {
    const out: ConfigField = { key, type: f.type, description: f.description };
    if (f.required) out.required = true;
    if (f.secret) out.secret = true;
    if (f.default !== undefined) out.default = f.default;
    return out;
  });
  const where = (key: string) => `channels.${spec.id}.${key}`;
  let object: Zod.ZodType | undefined;
  const build = (): Zod.ZodType => {
    const z = loadZod();
    const shape: Record<string, Zod.ZodType> = {};
    for (const key of spec.checkOrder ?? Object.keys(spec.fields)) {
      const f = spec.fields[key];
      const present = f.check ? f.check(z, where(key)) : z.unknown();
      const missing = f.required && f.default === undefined ? `is missing${f.missingHint ? `\n${f.missingHint}` : ''}` : undefined;
      const blank = (v: unknown) => v === undefined || v === null || (v === '' && TEXT_TYPES.has(f.type) && !f.blankIsValue);
      shape[key] = z.unknown().transform((v, ctx) => {
        if (blank(v)) {
          if (missing) {
            ctx.issues.push({ code: 'custom', input: v, message: missing });
            return z.NEVER;
          }
          if (f.default === undefined) return undefined;
          // The default goes through the same check (normalised like a given value); a copy, so a
          // validated config never shares the schema's objects.
          v = structuredClone(f.default);
        }
        const r = present.safeParse(v);
        if (r.success) return r.data;
        for (const i of r.error.issues) ctx.issues.push({ code: 'custom', input: v, path: i.path, message: i.message });
        return z.NEVER;
      });
    }
    return z.object(shape);
  };
  return {
    fields,
    validate(settings) {
      object ??= build();
      // Every key present (undefined when absent), so zod runs each field's check, defaults included.
      const input: Record<string, unknown> = { ...settings };
      for (const key of Object.keys(spec.fields)) if (!(key in input)) input[key] = undefined;
      const parsed = object.safeParse(input);
      if (!parsed.success) throw issueError(parsed.error.issues, where);
      const values = parsed.data as Record<string, any>;
      if (spec.finish) return spec.finish(values, where);
      return Object.fromEntries(Object.keys(spec.fields).map((key) => [key, values[key]])) as C;
    },
  };
}

/** The CONFIG_ERROR for the first issue: `channels.<id>.<path> <message>`, hint after a line break. */
function issueError(issues: readonly Zod.core.$ZodIssue[], where: (key: string) => string): Error {
  const issue = issues[0];
  const [message, hint] = issue.message.split('\n');
  const name = where(issue.path.map(String).join('.'));
  const text = message.startsWith('=') ? message.slice(1) : `${name}${message.startsWith(':') ? '' : ' '}${message}`;
  return configError(text, hint ? { hint } : undefined);
}

/** A text value, trimmed; `message` when it is not text. */
export function text(z: Z, message = 'must be a string'): Zod.ZodType<string, any> {
  return z.string({ error: message }).transform((s) => s.trim());
}

/**
 * A check written as a plain function that returns the value or throws CONFIG_ERROR (shared
 * checks, parsers of richer forms); its error becomes the field's issue, hint kept.
 */
export function checkedBy<T>(z: Z, where: string, fn: (value: unknown) => T): Zod.ZodType<T, any> {
  return z.unknown().transform((v, ctx) => {
    try {
      return fn(v);
    } catch (err) {
      ctx.issues.push({ code: 'custom', input: v, message: messageAfter(err, where) });
      return z.NEVER;
    }
  });
}

/** An absolute http(s) URL: `base` normalised without trailing slashes, `as-given` as configured. */
export function url(z: Z, where: string, form: 'base' | 'as-given' = 'base'): Zod.ZodType<string, any> {
  return checkedBy(z, where, (v) => checkUrl(v, where, form));
}

/** An IANA time zone name, trimmed. */
export function timeZone(z: Z, where: string): Zod.ZodType<string, any> {
  return checkedBy(z, where, (v) => checkTimeZone(v, where));
}

/** An integer or number in [min, max] (numeric text accepted where `fromText`). */
export function numberIn(z: Z, min: number, max: number, options: { integer?: boolean; fromText?: boolean; message?: string } = {}): Zod.ZodType<number, any> {
  const message = options.message ?? `must be ${options.integer ? 'an integer' : 'a number'} from ${min} to ${max}`;
  const n = z.number({ error: message }).refine((x) => Number.isFinite(x) && x >= min && x <= max && (!options.integer || Number.isInteger(x)), { error: message });
  return options.fromText ? z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), n) : n;
}

/** true or false. */
export function bool(z: Z): Zod.ZodType<boolean, any> {
  return z.boolean({ error: 'must be true or false' });
}

/** The part of a CONFIG_ERROR after the field's name (`=` and the whole message when it does not start with it), hint on the next line. */
function messageAfter(err: unknown, where: string): string {
  if (!isPayError(err)) throw err;
  const rest = err.message.startsWith(`${where} `) ? err.message.slice(where.length + 1) : err.message.startsWith(`${where}:`) ? err.message.slice(where.length) : `=${err.message}`;
  return err.hint ? `${rest}\n${err.hint}` : rest;
}

/**
 * The settings table of a channel's README (between `<!-- settings:<id> -->` and
 * `<!-- /settings:<id> -->`), from its fields: `node scripts/settings-tables.mjs` writes it, and a
 * test fails when a README's table differs from its schema.
 */
export function settingsTable(fields: readonly ConfigField[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = fields.map((f) => {
    const flags = [f.required ? 'required' : '', f.secret ? 'secret' : ''].filter(Boolean).join(', ');
    const def = f.default === undefined ? '' : `\`${cell(JSON.stringify(f.default))}\``;
    return `| \`${f.key}\` | ${f.type}${flags ? ` (${flags})` : ''} | ${def} | ${cell(f.description)} |`;
  });
  return ['| key | type | default | what |', '|---|---|---|---|', ...rows].join('\n');
}

/** Replaces the settings table of channel `id` in README text; undefined when the markers are absent. */
export function withSettingsTable(readme: string, id: string, table: string): string | undefined {
  const open = `<!-- settings:${id} -->`;
  const close = `<!-- /settings:${id} -->`;
  const a = readme.indexOf(open);
  const b = readme.indexOf(close);
  if (a < 0 || b < a) return undefined;
  return `${readme.slice(0, a + open.length)}\n${table}\n${readme.slice(b)}`;
}

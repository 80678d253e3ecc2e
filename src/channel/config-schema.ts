/**
 * One schema per channel: a JSON Schema object (plain data, free to load) that gives the field list
 * (`pay channels list`, `config show`, `config init`, the README tables), defaults and validation.
 * Validation runs a validator compiled from the schema ahead of time by ajv
 * (`scripts/config-validators.mjs` writes `channels/<id>/config-validate.ts`), so no schema
 * library loads at run time. Errors are CONFIG_ERRORs naming the field, never its value.
 */
import { checkTimeZone, checkUrl } from './config-checks.js';
import type { ConfigField } from './contract.js';
import { configError } from '../core/errors.js';

/** One setting: the JSON Schema keywords ajv compiles, plus pay's annotations (registered with ajv as vocabulary). */
export interface SettingSchema {
  type?: 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array';
  /** One sentence saying what the field is and where to find its value. */
  description: string;
  default?: unknown;
  enum?: readonly (string | number)[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  /** The type `channels list` shows when the JSON type does not say it (`pem`, `url`, `object`). */
  kind?: ConfigField['type'];
  /** Never printed: masked in `config show`, redacted from logs and events. */
  secret?: boolean;
  /** How a `url` is returned: normalised without trailing slashes (`base`) or as configured (default). */
  urlForm?: 'base' | 'as-given';
  /** Taken as given: not trimmed, and an empty string is a value (a password). */
  verbatim?: boolean;
  /** An IANA time zone name, checked after the schema. */
  timeZone?: boolean;
  /** What follows `channels.<id>.<key>` when the value is refused (else a message from the keyword). */
  errorMessage?: string;
  /** Hint shown with a refusal (a missing field's defaults to its description). */
  hint?: string;
  [keyword: string]: unknown;
}

/** A channel's settings: an object of known keys (an unknown one is refused). */
export interface ChannelSchema {
  type: 'object';
  additionalProperties: false;
  required: readonly string[];
  properties: Record<string, SettingSchema>;
}

/** pay's annotations, which ajv must accept as keywords (the generator registers them). */
export const SCHEMA_ANNOTATIONS = ['kind', 'secret', 'urlForm', 'verbatim', 'timeZone', 'errorMessage', 'hint'] as const;

/** A validator ajv compiled (standalone code): true or false, with `errors` set on false. */
export type CompiledValidator = ((data: unknown) => boolean) & { errors?: readonly SchemaError[] | null };

/** The part of an ajv error the messages use. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
}

type ValueOf<P> = P extends { type: 'string' }
  ? P extends { enum: readonly (infer E)[] }
    ? E
    : string
  : P extends { type: 'number' | 'integer' }
    ? number
    : P extends { type: 'boolean' }
      ? boolean
      : unknown;

/** The settings a schema lets through: required and defaulted keys are present, the others optional. */
export type SettingsOf<S extends ChannelSchema> = {
  [K in keyof S['properties']]: ValueOf<S['properties'][K]> | (K extends S['required'][number] ? never : S['properties'][K] extends { default: unknown } ? never : undefined);
};

/** The field list of a schema, in its order. */
export function fieldsOf(schema: ChannelSchema): ConfigField[] {
  return Object.entries(schema.properties).map(([key, p]) => {
    const field: ConfigField = { key, type: p.kind ?? listedType(p.type), description: p.description };
    if (schema.required.includes(key)) field.required = true;
    if (p.secret) field.secret = true;
    if (p.default !== undefined) field.default = p.default;
    return field;
  });
}

function listedType(type: SettingSchema['type']): ConfigField['type'] {
  if (type === 'integer') return 'number';
  if (type === 'array' || type === 'object' || type === undefined) return 'object';
  return type;
}

/**
 * Validates `settings` of channel `id` against its schema and compiled validator: strings are
 * trimmed and empty values count as absent (unless `verbatim`), numeric strings (an `env:`
 * reference's value) become numbers, defaults are applied, URLs and time zones checked. Returns a
 * new object.
 */
export function checkSettings<S extends ChannelSchema>(id: string, schema: S, validate: CompiledValidator, settings: Record<string, unknown>): SettingsOf<S> {
  const data: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(settings)) {
    const p = schema.properties[key];
    const value = typeof raw === 'string' && !p?.verbatim ? raw.trim() : raw;
    if (value === undefined || value === null || (value === '' && !p?.verbatim)) continue;
    const type = p?.type;
    data[key] = (type === 'number' || type === 'integer') && typeof value === 'string' && value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  if (!validate(data)) throw refusal(id, schema, validate.errors?.[0]);
  for (const [key, p] of Object.entries(schema.properties)) {
    if (data[key] === undefined) continue;
    if (p.kind === 'url') data[key] = checkUrl(data[key], `channels.${id}.${key}`, p.urlForm ?? 'as-given');
    if (p.timeZone) data[key] = checkTimeZone(data[key], `channels.${id}.${key}`);
  }
  return data as SettingsOf<S>;
}

/** The CONFIG_ERROR for the first error ajv reported: it names the field and what it must be, never the value. */
function refusal(id: string, schema: ChannelSchema, error: SchemaError | undefined) {
  const where = (key: string) => `channels.${id}.${key}`;
  if (!error) return configError(`channels.${id} is not valid`);
  if (error.keyword === 'required') {
    const key = String(error.params.missingProperty);
    const p = schema.properties[key];
    return configError(`${where(key)} is missing`, { hint: p?.hint ?? `Set it in pay.config.json (${p?.description ?? ''}).` });
  }
  if (error.keyword === 'additionalProperties') {
    const key = String(error.params.additionalProperty);
    const known = Object.keys(schema.properties);
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
    return configError(`${where(key)} is not a setting of the ${id} channel`, {
      hint: near ? `Did you mean ${near}?` : `Known settings: ${known.join(', ')} (\`pay channels list --json\` describes each).`,
    });
  }
  // The top-level key the error is under (/balance/CNY -> balance).
  const key = decodeURIComponent(error.instancePath.split('/')[1] ?? '').replace(/~1/g, '/').replace(/~0/g, '~');
  const p = schema.properties[key];
  if (!p) return configError(`channels.${id} is not valid`);
  // A scalar of the wrong type is told its type ("must be a string"); the rest get the field's own message.
  const scalar = p.type === 'string' || p.type === 'number' || p.type === 'integer' || p.type === 'boolean';
  const message = error.keyword === 'type' && scalar ? mustBe(p) : (p.errorMessage ?? mustBe(p));
  return configError(`${where(key)} ${message}`, p.hint ? { hint: p.hint } : undefined);
}

/** What a setting must be, from its schema keywords. */
function mustBe(p: SettingSchema): string {
  if (p.enum) return p.enum.length === 2 ? `must be ${p.enum[0]} or ${p.enum[1]}` : `must be one of ${p.enum.join(', ')}`;
  const range = p.minimum !== undefined && p.maximum !== undefined ? ` from ${p.minimum} to ${p.maximum}` : '';
  if (p.exclusiveMinimum === 0 && p.maximum === undefined) return `must be a positive ${p.type === 'integer' ? 'integer' : 'number'}`;
  switch (p.type) {
    case 'string':
      return 'must be a string';
    case 'integer':
      return `must be an integer${range}`;
    case 'number':
      return `must be a number${range}`;
    case 'boolean':
      return 'must be true or false';
    case 'array':
      return 'must be a list';
    case 'object':
      return 'must be an object';
    default:
      return 'is not valid';
  }
}

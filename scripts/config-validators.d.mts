// Types of scripts/config-validators.mjs for the tests that import it.
export function schemaChannelIds(dir?: string): string[];
export function validatorSource(id: string, schema: object, annotations: readonly string[]): string;

// Module resolve hook (runs on the loader thread): appends each resolved URL to $PAY_TRACE_FILE.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (process.env.PAY_TRACE_FILE) appendFileSync(process.env.PAY_TRACE_FILE, `${result.url}\n`);
  return result;
}

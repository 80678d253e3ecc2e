#!/usr/bin/env node
// What validating channel settings costs at start-up: a bare `node -e 0` beside processes that
// load one channel's settings module (its schema plus the validator ajv compiled ahead of time)
// and validate, and, for comparison, processes that import a schema library: ajv itself, and zod 4
// (`zod` and `zod/mini`) when it can be resolved (it is not a dependency: pass --zod-dir <dir> with
// a node_modules holding zod 4, e.g. after `npm install --prefix /tmp/z zod@4`). Runs are
// interleaved so drift hits every case alike; prints medians, the median per-run ratio to bare
// node, and what each case adds to importing an empty module (the ESM loader's own start).
//
//   npm run build && node bench/config-load.mjs [--runs 31] [--zod-dir /tmp/z]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cliArgs } from './measure.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { value } = cliArgs();
const RUNS = Number(value('--runs', 31));
const zodDir = value('--zod-dir', root);

const mock = pathToFileURL(join(root, 'dist/channels/mock/config.js')).href;
const stripe = pathToFileURL(join(root, 'dist/channels/stripe/config.js')).href;
const url = (rel) => JSON.stringify(pathToFileURL(join(root, rel)).href);
const empty = join(mkdtempSync(join(tmpdir(), 'pay-bench-config-')), 'empty.mjs');
writeFileSync(empty, '');
const cases = [
  { name: 'node -e 0', code: '0' },
  // Any dynamic import of a file starts node's ESM loader: this is the floor for the cases below.
  { name: 'import an empty module', code: `await import(${JSON.stringify(pathToFileURL(empty).href)});` },
  {
    name: 'mock schema + compiled validator alone',
    code: `await import(${url('dist/channels/mock/config-schema.js')}); const v = (await import(${url('dist/channels/mock/config-validate.js')})).default; v({});`,
  },
  { name: 'mock settings: schema + compiled validator', code: `const m = await import(${JSON.stringify(mock)}); m.validateMockConfig({ latencyMs: 0 });` },
  { name: 'stripe settings: schema + compiled validator', code: `const m = await import(${JSON.stringify(stripe)}); m.validateStripeConfig({ secretKey: 'sk_test_abcdefghijkl' });` },
  { name: 'import ajv (compiling at run time)', code: `await import(${JSON.stringify(pathToFileURL(createRequire(join(root, 'x')).resolve('ajv')).href)});` },
];
const zodRequire = createRequire(join(zodDir, 'x'));
for (const spec of ['zod', 'zod/mini']) {
  try {
    cases.push({ name: `import ${spec}`, code: `await import(${JSON.stringify(pathToFileURL(zodRequire.resolve(spec)).href)});` });
  } catch {
    console.log(`(${spec} not found from ${zodDir}: skipped; see --zod-dir)`);
  }
}

const time = (code) => {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${code} exited ${r.status}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

for (const c of cases) time(c.code);
const ms = cases.map(() => []);
const ratios = cases.map(() => []);
for (let i = 0; i < RUNS; i++) {
  const base = time(cases[0].code);
  ms[0].push(base);
  for (let j = 1; j < cases.length; j++) {
    const t = time(cases[j].code);
    ms[j].push(t);
    ratios[j].push(t / base);
  }
}
console.log(`node ${process.version}, ${RUNS} interleaved runs`);
console.log('case'.padEnd(46), 'median ms'.padStart(10), 'ratio'.padStart(7), '+ms over empty import'.padStart(22));
const floor = median(ms[1]);
cases.forEach((c, j) => {
  const m = median(ms[j]);
  console.log(c.name.padEnd(46), m.toFixed(1).padStart(10), (j ? `${median(ratios[j]).toFixed(2)}x` : '').padStart(7), (j > 1 ? (m - floor).toFixed(1) : '').padStart(22));
});

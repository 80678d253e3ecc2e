/**
 * Tables through the real binary: drawn by the hand renderer (src/output/render.ts), so neither
 * cli-table3 nor string-width (devDependencies of bench/tables.mjs) is ever loaded, and `orders
 * list` comes out aligned, amounts right-aligned, without trailing blanks.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPay, tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;

let probe: string;
// Preloaded with --import: at exit, names which of the two table packages the process loaded.
const PROBE = `import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const libs = ['cli-table3', 'string-width'].filter((p) => Object.keys(cache).some((k) => k.includes(\`/node_modules/\${p}/\`)));
  process.stderr.write(\`\\nTABLE-LIBS [\${libs.join(',')}]\\n\`);
});
`;
const loaded = (stderr: string) => /TABLE-LIBS \[(.*)\]/.exec(stderr)?.[1];

beforeAll(() => {
  tmp = tempDir('pay-e2e-tables-');
  const config = join(tmp.dir, 'pay.config.json');
  probe = join(tmp.dir, 'probe.mjs');
  writeFileSync(probe, PROBE);
  writeFileSync(config, JSON.stringify({ channels: { mock: { latencyMs: 0 } } }));
  env = { PAY_DB: join(tmp.dir, 'pay.db'), PAY_CONFIG: config, NO_COLOR: '1', XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data') };
});
afterAll(() => tmp.cleanup());

describe('tables', () => {
  it('loads no table library: not for --version, a field list, an empty table or a table with rows', async () => {
    const probed = { ...env, NODE_OPTIONS: `--import=${pathToFileURL(probe).href}` };
    const version = await runPay(['--version'], { env: probed });
    expect(version.code).toBe(0);
    expect(loaded(version.stderr)).toBe('');
    const created = await runPay(['create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY'], { env: probed });
    expect(created.code).toBe(0);
    expect(loaded(created.stderr)).toBe('');
    const empty = await runPay(['orders', 'list', '--status', 'refunded'], { env: probed });
    expect(empty.stdout).toContain('No orders.');
    expect(loaded(empty.stderr)).toBe('');
    const list = await runPay(['orders', 'list'], { env: probed });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^order no +kind/);
    expect(loaded(list.stderr)).toBe('');
  });

  it('prints orders list aligned, amounts right-aligned under their header, no trailing blanks', async () => {
    for (const amount of ['123.45', '7.00']) {
      const r = await runPay(['create', '--channel', 'mock', '--amount', amount, '--currency', 'CNY', '-q'], { env });
      expect(r.code).toBe(0);
    }
    const r = await runPay(['orders', 'list'], { env });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^order no +kind +channel +status +amount +refunded +created$/);
    const rows = lines.slice(1);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const amountEnd = lines[0].indexOf('amount') + 'amount'.length;
    const createdAt = lines[0].indexOf('created');
    for (const row of rows) {
      expect(row).toBe(row.trimEnd());
      expect(row.slice(0, amountEnd)).toMatch(/ \d+\.\d\d CNY$/);
      expect(row.slice(createdAt)).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(rows.some((row) => row.slice(0, amountEnd).endsWith('  7.00 CNY'))).toBe(true);
  });
});

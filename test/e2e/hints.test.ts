/**
 * Hints and user documentation name README sections, never DESIGN.md (which is not part of the
 * project): a source scan of every message string and doc, and the channel-contract hints through
 * the real binary (`npm run build` first).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runPayJson, tempDir } from '../helpers/cli.js';

/** Files under `dir` (recursively) whose names end with one of `exts`, skipping tests. */
function files(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'test' && e.name !== 'node_modules') out.push(...files(p, exts));
    } else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
  }
  return out;
}

describe('no hint or document points at DESIGN.md', () => {
  it('message strings in src/ and channels/, README.md and the channel READMEs', () => {
    const offenders: string[] = [];
    for (const f of [...files(join(ROOT, 'src'), ['.ts']), ...files(join(ROOT, 'channels'), ['.ts', '.md']), join(ROOT, 'README.md')]) {
      readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const code = line.trim();
          // Comments are for people reading the code; strings and docs are what users see.
          const comment = f.endsWith('.ts') && (code.startsWith('*') || code.startsWith('//') || code.startsWith('/*'));
          if (!comment && code.includes('DESIGN.md')) offenders.push(`${relative(ROOT, f)}:${i + 1}: ${code.slice(0, 120)}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});

describe('a channel module that does not meet the contract', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir('pay-hints-');
  });
  afterAll(() => tmp.cleanup());

  it.each([
    ['not an object', 'export default 42;\n'],
    ['members missing', "export default { id: 'mybank' };\n"],
  ])('%s: the hint names the README section', async (_what, source) => {
    const mod = join(tmp.dir, `channel-${_what.replace(/\W+/g, '-')}.mjs`);
    writeFileSync(mod, source);
    const r = await runPayJson(['create', '--channel', mod, '--amount', '1.00', '--currency', 'CNY'], {
      env: { PAY_DB: join(tmp.dir, 'pay.db'), XDG_CONFIG_HOME: join(tmp.dir, 'xdg') },
      cwd: tmp.dir,
    });
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('CONFIG_ERROR');
    expect(r.json.error.hint).toMatch(/README\.md, "Configuration"/);
    expect(r.json.error.hint).not.toMatch(/DESIGN/);
  });
});

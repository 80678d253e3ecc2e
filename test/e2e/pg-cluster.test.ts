/**
 * scripts/pg-cluster, which CI runs the suite under: the command's exit status comes through, and
 * the throwaway cluster is stopped and removed afterwards, also when the command fails. Needs
 * PostgreSQL's server binaries (skipped with the rest of the PostgreSQL tests without them).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PG_URL } from '../helpers/backends.js';
import { ROOT } from '../helpers/cli.js';

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });

describe.skipIf(!PG_URL)('scripts/pg-cluster run', () => {
  it('passes the exit status through and stops and removes the cluster, also when the command fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pay-pg-cluster-run-'));
    // As root the cluster runs as `postgres`, which must reach its directory.
    chmodSync(dir, 0o755);
    try {
      const out = join(dir, 'url');
      const r = spawnSync(join(ROOT, 'scripts/pg-cluster'), ['run', 'sh', '-c', `echo "$PAY_TEST_PG_URL" > ${out}; exit 3`], { env: { ...process.env, TMPDIR: dir }, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(3);
      const url = new URL(readFileSync(out, 'utf8').trim());
      expect(url.hostname).toBe('127.0.0.1');
      expect(await refused(Number(url.port))).toBe(true);
      expect(readdirSync(dir)).toEqual(['url']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

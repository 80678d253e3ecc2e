// Shared by the benches: run a child process, timing it and sampling its peak RSS.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The command line: `flag('--keep')` is true when given; `value('--rows', def)` is the word after it, else `def`. */
export function cliArgs(args = process.argv.slice(2)) {
  const flag = (name) => args.includes(name);
  const value = (name, def) => {
    const i = args.indexOf(name);
    return i === -1 ? def : args[i + 1];
  };
  return { args, flag, value };
}

/** `--import` this into a node child to have it print its own peak RSS at exit. */
export const RSS_PROBE = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nMAXRSS_KB "+process.resourceUsage().maxRSS+"\\n"))';

/** The median of a list of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The child's peak RSS in KB: what it printed (RSS_PROBE), else the sampled VmHWM. */
export const maxRssKb = (r) => Number(/MAXRSS_KB (\d+)/.exec(r.stderr)?.[1] ?? r.hwmKb);

/** Runs a child, sampling its VmHWM (peak resident set) from /proc while it runs. */
export function timed(cmd, argv, options = {}) {
  return new Promise((resolvePromise, reject) => {
    const start = performance.now();
    const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    let hwm = 0;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]));
      } catch {
        /* exited */
      }
    };
    const timer = setInterval(sample, 20);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      resolvePromise({ code, ms: performance.now() - start, stdout, stderr, hwmKb: hwm });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/**
 * Fills a new SQLite order book at `db` through the real schema (the build under `root`) with `n`
 * succeeded mock collects one second apart from 2026-01-01, in one transaction; `subject(i)` is
 * order i's subject (none by default).
 */
export async function fillOrderBook(root, db, n, subject = () => null) {
  const { join } = await import('node:path');
  const { SqliteStore } = await import(join(root, 'dist/src/store/sqlite-store.js'));
  const { generateId } = await import(join(root, 'dist/src/core/ids.js'));
  const store = SqliteStore.open(db);
  const insert = store.db.prepare(
    "INSERT INTO orders (order_no, kind, channel, status, amount_minor, currency, subject, created_at, updated_at, paid_at) VALUES (?, 'collect', 'mock', 'succeeded', ?, 'CNY', ?, ?, ?, ?)",
  );
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  store.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const at = new Date(t0 + i * 1000).toISOString();
      insert.run(generateId('payment', t0 + i * 1000), 100 + (i % 10000), subject(i), at, at, at);
    }
  })();
  await store.close();
}

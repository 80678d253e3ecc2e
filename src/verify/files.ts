/**
 * One saved file -> its verdict rows: read and parse it, then verify each callback it holds (one,
 * or one per HAR entry). A file that cannot be read or parsed is one `error` row; the run goes on.
 */
import { isPayError, type PayError } from '../core/errors.js';
import type { CallbackDispatcher } from './dispatch.js';
import type { VerifyRow } from './report.js';
import { readRequestFile } from './request-file.js';

/** A file to verify: its name as shown in rows, and the path to read. */
export interface FileToVerify {
  file: string;
  path: string;
  /** Known to be a regular file (listed in a directory). */
  regular?: boolean;
}

/**
 * Verifies every callback in one file, in order. Rows keep their request (body included) only
 * with `keepRequests` (`--apply` needs it): 10,000 bodies held to the end weigh on every
 * garbage collection of the run.
 */
export async function verifyFile(dispatcher: CallbackDispatcher, item: FileToVerify, headers: Record<string, string>, keepRequests = false): Promise<VerifyRow[]> {
  const { file } = item;
  let parsed;
  try {
    parsed = await readRequestFile(item.path, { source: file, headers, regular: item.regular });
  } catch (err) {
    if (!isPayError(err)) throw err;
    return [{ file, outcome: { class: 'error', error: err as PayError } }];
  }
  const many = parsed.entries.length > 1 || parsed.format === 'har';
  const rows: VerifyRow[] = [];
  for (let i = 0; i < parsed.entries.length; i++) {
    const e = parsed.entries[i];
    // No object spread here: it costs about a microsecond per row in this V8.
    const row: VerifyRow = many ? { file, entry: i + 1, outcome: { class: 'error' } } : { file, outcome: { class: 'error' } };
    if (e.error) {
      row.outcome = { class: 'error', error: e.error };
    } else {
      if (keepRequests) row.request = e.request;
      row.outcome = await dispatcher.verify(e.request);
    }
    rows.push(row);
  }
  return rows;
}

/** Callbacks a run has in flight at once, while their signature checks run in another thread. */
export const IN_FLIGHT = 128;
/** Runs of this many files or more check their RSA signatures in a worker thread. */
export const RSA_THREAD_FROM = 200;

/** Stops the RSA worker thread of a run; undefined: the run checks in this thread. */
export type RsaThread = (() => Promise<void>) | undefined;

/**
 * Starts the RSA worker thread for a run of `count` files when it is large enough
 * ({@link RSA_THREAD_FROM}). Started before the channel modules load, the thread's own start-up
 * (tens of milliseconds) overlaps theirs. The caller stops it, or passes it to
 * {@link verifyFiles}, which does.
 */
export async function startRsaThread(count: number, debug?: (message: string) => void): Promise<RsaThread> {
  if (count < RSA_THREAD_FROM) return undefined;
  const rsa = await import('../channel/rsa.js');
  return rsa.checkInWorker(debug);
}

/**
 * Verifies files in order, rows in file order. From {@link RSA_THREAD_FROM} files up, RSA checks
 * go to a worker thread (src/channel/rsa.ts) and up to {@link IN_FLIGHT} callbacks are in
 * progress at once: while the worker checks signatures, this thread reads and parses the next
 * files, so the two costs overlap instead of adding up.
 */
export async function verifyFiles(
  dispatcher: CallbackDispatcher,
  items: readonly FileToVerify[],
  options: { headers: Record<string, string>; keepRequests?: boolean; debug?: (message: string) => void; rsaThread?: Promise<RsaThread> },
): Promise<VerifyRow[]> {
  const { headers, keepRequests, debug } = options;
  const stop = await (options.rsaThread ?? startRsaThread(items.length, debug));
  if (!stop) {
    const rows: VerifyRow[] = [];
    for (const item of items) for (const row of await verifyFile(dispatcher, item, headers, keepRequests)) rows.push(row);
    return rows;
  }
  try {
    const perFile: VerifyRow[][] = new Array(items.length);
    let next = 0;
    const lane = async () => {
      while (next < items.length) {
        const i = next++;
        perFile[i] = await verifyFile(dispatcher, items[i], headers, keepRequests);
      }
    };
    const lanes: Promise<void>[] = [];
    for (let k = 0; k < IN_FLIGHT; k++) lanes.push(lane());
    await Promise.all(lanes);
    return perFile.flat();
  } finally {
    await stop();
  }
}

/**
 * One worker thread of `pay loadtest --workers N` (started by workers.ts): opens its own target
 * (its own connections), runs each level it is sent with the ordinary runner, hands its recorder
 * to the main thread every second and at the end, and closes when told.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openHttpTarget } from './open-http.js';
import { runLevel } from './runner.js';
import type { LevelRecorder } from './stats.js';
import type { FromWorker, ToWorker, WorkerData } from './workers.js';

const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);

try {
  const { opts, timeoutMs } = workerData as WorkerData;
  const opened = await openHttpTarget(opts, { timeoutMs });
  let halt: AbortController | undefined;
  port.on('message', (m: ToWorker) => {
    if (m.type === 'level') {
      halt = new AbortController();
      const onTick = (rec: LevelRecorder, now: number) => {
        post({ type: 'tick', state: rec.state(now) });
        return undefined;
      };
      runLevel(opened.target, m.plan, m.bounds, { signal: halt.signal, keepWindows: true, onTick }).then(
        (o) => post({ type: 'done', state: o.recorder.state(), stoppedBy: o.stoppedBy, unfinished: o.unfinished }),
        (err: unknown) => post({ type: 'failed', message: (err as Error)?.message ?? String(err) }),
      );
    } else if (m.type === 'halt') halt?.abort(m.reason);
    else {
      const details = opened.target.details();
      void opened.close().finally(() => {
        post({ type: 'closed', details });
        port.close();
      });
    }
  });
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'failed', message: (err as Error)?.message ?? String(err) });
}

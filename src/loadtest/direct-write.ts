/**
 * Writing a request straight to a connected socket's TCP handle, past net.Socket's Writable
 * machinery (state, corking, callbacks, the write queue): the load generator's per-request write.
 *
 * Node's own `socket.write` ends in the same call (`handle.writeBuffer(req, data)`, libuv's
 * try-write first); what it adds costs about 0.4 µs of the generator's user time per request
 * against nginx (1.6 µs against 2.0, in a bare write-and-wait loop), which on 2 cores shared with the
 * server is throughput the server does not get. The request object comes from Node's
 * `stream_wrap` binding, the one Node itself uses; a write libuv completes at once leaves it free
 * for the next write, so one spare serves a whole thread.
 *
 * The fast path is taken only when it cannot change what the socket does: a connected socket
 * whose own write queue is empty (so nothing is overtaken), and a Node that still has the binding.
 * It is skipped, and `socket.write` used, when `process.binding` would warn (--pending-deprecation,
 * NODE_PENDING_DEPRECATION=1) or is gone. A write the kernel takes only in part finishes in the
 * background like any other; a failed one destroys the socket with the system error, as
 * `socket.write` would.
 */
import type net from 'node:net';
import { getSystemErrorName } from 'node:util';

/** Node's write request (`WriteWrap`): what the handle calls back when a write finishes later. */
interface WriteReq {
  oncomplete: (this: WriteReq, status: number) => void;
  socket?: net.Socket;
  buffer?: Uint8Array;
}

interface StreamWrap {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

interface TcpHandle {
  writeBuffer(req: WriteReq, data: Uint8Array): number;
}

/** True when Node was asked to warn about pending deprecations (process.binding would then warn). */
function pendingDeprecation(): boolean {
  const flag = '--pending-deprecation';
  return process.execArgv.includes(flag) || (process.env.NODE_OPTIONS ?? '').includes(flag) || process.env.NODE_PENDING_DEPRECATION === '1';
}

function loadStreamWrap(): StreamWrap | undefined {
  if (process.env.PAY_LOADTEST_STREAM_WRITE === '1' || pendingDeprecation()) return undefined;
  const binding = (process as unknown as { binding?: (name: string) => unknown }).binding;
  if (typeof binding !== 'function') return undefined;
  try {
    const b = binding.call(process, 'stream_wrap') as Partial<StreamWrap>;
    if (typeof b.WriteWrap === 'function' && b.streamBaseState instanceof Int32Array && typeof b.kLastWriteWasAsync === 'number') return b as StreamWrap;
  } catch {
    // A Node without it: socket.write does the same, a little slower.
  }
  return undefined;
}

const streamWrap = loadStreamWrap();

/** Ends a write that finished after the call: a failure destroys the socket as socket.write would. */
function finished(this: WriteReq, status: number): void {
  const socket = this.socket;
  this.socket = undefined;
  this.buffer = undefined;
  if (status < 0 && socket !== undefined && !socket.destroyed) {
    const code = getSystemErrorName(status);
    socket.destroy(Object.assign(new Error(`write ${code}`), { code, errno: status, syscall: 'write' }));
  }
}

let spare: WriteReq | undefined;

/** Whether writes skip the Writable path on this thread (read by the tests). */
export const directWrites = streamWrap !== undefined;

/** Writes `data` on `socket`, straight to its handle when that is safe, else with socket.write. */
export function writeRequest(socket: net.Socket, data: Buffer): void {
  const handle = (socket as unknown as { _handle?: TcpHandle | null })._handle;
  if (streamWrap === undefined || socket.connecting || socket.destroyed || socket.writableLength !== 0 || !handle) {
    socket.write(data);
    return;
  }
  let req = spare;
  if (req === undefined) {
    req = new streamWrap.WriteWrap();
    req.oncomplete = finished;
    spare = req;
  }
  req.socket = socket;
  const err = handle.writeBuffer(req, data);
  if (err !== 0) {
    // Nothing was written: the stream path writes again and reports the error its own way.
    req.socket = undefined;
    socket.write(data);
    return;
  }
  if (streamWrap.streamBaseState[streamWrap.kLastWriteWasAsync] !== 0) {
    // The rest goes out in the background on this request: it is no longer spare.
    req.buffer = data;
    spare = undefined;
  } else req.socket = undefined;
}

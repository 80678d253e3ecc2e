/**
 * The raw HTTP target over plain sockets (`pay loadtest --url http://...`): the generator's
 * fastest path, for calibrating against wrk and for load-testing anything that speaks HTTP/1.1.
 *
 * Like wrk: one keep-alive connection per request in flight (no pipelining), the request
 * preformatted once into a Buffer and written whole, and only what a load test needs parsed from
 * the answer: the status, Content-Length / chunked framing and Connection: close. Each connection
 * reads into one buffer of its own (net's `onread`), so a response allocates nothing; the
 * per-request timeout is a sweep a few times per timeout rather than a timer per request. A path
 * or body holding `{{orderNo}}` gets a fresh merchant order number per request (that request is
 * formatted anew). https stays on undici (http-target.ts).
 */
import net from 'node:net';
import { generateId } from '../core/ids.js';
import { codeForNetworkError, codeForStatus, probe, statusDetails } from './http-codes.js';
import { writeRequest } from './direct-write.js';
import type { HttpTargetOptions } from './http-target.js';
import type { Done, SendError, Target } from './target.js';

const PLACEHOLDER = '{{orderNo}}';
const CRLF2 = Buffer.from('\r\n\r\n', 'latin1');
/** Largest response head accepted (nginx's own default limit for request heads is 8 KB). */
const MAX_HEAD = 64 * 1024;
const READ_BUFFER = 16 * 1024;

/** Response framing. */
const enum Body {
  None,
  Length,
  Chunked,
  UntilClose,
}
/** Where a chunked body is. */
const enum Chunk {
  Size,
  SizeExt,
  Data,
  DataEnd,
  Trailer,
}

const lower = (s: string) => Buffer.from(s, 'latin1');
const CONTENT_LENGTH = lower('content-length:');
const TRANSFER_ENCODING = lower('transfer-encoding:');
const CONNECTION = lower('connection:');
const CLOSE = lower('close');
const KEEP_ALIVE = lower('keep-alive');
const CHUNKED = lower('chunked');

/** True when `buf[at..]` starts with `name` (lower-case ASCII), ignoring case. */
function startsWithLower(buf: Buffer, at: number, end: number, name: Buffer): boolean {
  if (end - at < name.length) return false;
  for (let i = 0; i < name.length; i++) if ((buf[at + i] | 0x20) !== name[i]) return false;
  return true;
}

/** True when the header value `buf[from..to]` holds `word` (lower-case ASCII), ignoring case; allocates nothing. */
function valueHas(buf: Buffer, from: number, to: number, word: Buffer): boolean {
  const last = to - word.length;
  for (let i = from; i <= last; i++) {
    let j = 0;
    while (j < word.length && (buf[i + j] | 0x20) === word[j]) j++;
    if (j === word.length) return true;
  }
  return false;
}

const CLOSED_EARLY: SendError = { code: 'CHANNEL_ERROR', message: 'connection closed before the response ended' };
const BAD_RESPONSE = (why: string): SendError => ({ code: 'CHANNEL_ERROR', message: `malformed HTTP response: ${why}` });

/** A response head as parsed: its bytes through the blank line and what they said. */
interface SeenHead {
  bytes: Buffer;
  status: number;
  keepAlive: boolean;
  /** Content-Length, -1 when absent. */
  length: number;
  chunked: boolean;
}

/** One connection and the request on it. */
class Conn {
  socket: net.Socket | undefined;
  done: Done | undefined;
  /** Sweep count when the request went out (timeouts). */
  sentTick = 0;
  /** The request waiting for the target's next write burst, and whether this connection is queued for it. */
  private request: Buffer | undefined;
  private queued = false;
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER);
  // Parser state of the response in progress.
  private head: Buffer | undefined;
  private inHead = true;
  private status = 0;
  private body = Body.None;
  private remaining = 0;
  private chunk = Chunk.Size;
  private lineLen = 0;
  private keepAlive = true;

  constructor(private readonly target: SocketTarget) {}

  start(done: Done, request: Buffer): void {
    this.done = done;
    this.sentTick = this.target.ticks;
    this.inHead = true;
    this.head = undefined;
    if (this.socket === undefined) this.connect();
    this.request = request;
    if (!this.queued) {
      this.queued = true;
      this.target.queueWrite(this);
    }
  }

  /** Writes the request queued by start(), unless the request ended (failed) in the meantime. */
  flushWrite(): void {
    this.queued = false;
    const request = this.request;
    this.request = undefined;
    if (request !== undefined && this.done !== undefined && this.socket !== undefined && !this.socket.destroyed) writeRequest(this.socket, request);
  }

  private connect(): void {
    const t = this.target;
    const socket = net.connect({
      host: t.host,
      port: t.port,
      noDelay: true,
      onread: { buffer: this.readBuffer, callback: (n: number, buf: Uint8Array) => this.onBytes(buf as Buffer, n) },
    });
    socket.on('connect', () => t.connects++);
    // A connection already replaced (closed after its response) has nothing more to say.
    socket.on('error', (err) => {
      if (this.socket === socket) this.fail(codeForNetworkError(err));
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.done === undefined) return;
      if (!this.inHead && this.body === Body.UntilClose) this.complete();
      else this.fail(CLOSED_EARLY);
    });
    this.socket = socket;
  }

  /** Ends the request in flight with an error and drops the connection. */
  fail(error: SendError): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    const done = this.done;
    if (done === undefined) return;
    this.done = undefined;
    this.target.release(this, 0);
    done(error);
  }

  private complete(): void {
    if (!this.keepAlive) {
      const socket = this.socket;
      this.socket = undefined;
      socket?.destroy();
    }
    const done = this.done!;
    const status = this.status;
    this.done = undefined;
    this.target.release(this, status);
    const code = codeForStatus(status);
    done(code === undefined ? undefined : { code, message: `HTTP ${status}`, httpStatus: status });
  }

  /** Bytes from the socket (`buf` is the connection's read buffer, reused on the next read); true keeps reading. */
  private onBytes(buf: Buffer, n: number): boolean {
    if (this.done === undefined) {
      // Nothing asked: a server speaking out of turn. Drop the connection.
      if (n > 0) this.fail(BAD_RESPONSE('data without a request'));
      return true;
    }
    let pos = 0;
    while (pos < n) {
      if (this.inHead) {
        pos = this.readHead(buf, pos, n);
        if (pos < 0) return true;
        if (this.inHead) continue; // a 1xx answer (the real one follows), or more head to come
      } else pos = this.readBody(buf, pos, n);
      if (this.done === undefined) return true; // failed
      if (this.body === Body.None) {
        // Bytes past the response (nothing is pipelined) are the server's error: not read as the next one.
        if (pos < n) this.keepAlive = false;
        this.complete();
        return true;
      }
    }
    return true;
  }

  /** Consumes head bytes; returns where the body starts, n when more is needed, -1 on failure. */
  private readHead(buf: Buffer, pos: number, n: number): number {
    const seen = this.target.seenHead;
    if (this.head === undefined && seen !== undefined) {
      // The same bytes as the last head parsed (blank line included): the same answer, no parse.
      const len = seen.bytes.length;
      if (n - pos >= len && buf.compare(seen.bytes, 0, len, pos, pos + len) === 0) {
        this.target.seenHeadHits++;
        this.takeHead(seen.status, seen.keepAlive, seen.length, seen.chunked);
        return pos + len;
      }
    }
    let src = buf;
    let start = pos;
    let end = n;
    if (this.head !== undefined) {
      // A head split across reads: gather it (rare; copies, since `buf` is reused).
      src = Buffer.concat([this.head, buf.subarray(pos, n)]);
      start = 0;
      end = src.length;
    }
    const at = src.indexOf(CRLF2, start);
    if (at < 0 || at + 4 > end) {
      if (end - start > MAX_HEAD) {
        this.fail(BAD_RESPONSE('head larger than 64 KB'));
        return -1;
      }
      this.head = this.head !== undefined ? src : Buffer.from(buf.subarray(pos, n));
      return n;
    }
    const consumed = this.head !== undefined ? n - (src.length - (at + 4)) : at + 4;
    this.head = undefined;
    if (!this.parseHead(src, start, at)) return -1;
    return consumed;
  }

  /** Parses a complete head `src[start..end)` (without the blank line). */
  private parseHead(src: Buffer, start: number, end: number): boolean {
    // HTTP/1.x NNN
    if (end - start < 12 || src[start] !== 0x48 || src[start + 4] !== 0x2f || src[start + 8] !== 0x20) {
      this.fail(BAD_RESPONSE('no status line'));
      return false;
    }
    const d0 = src[start + 9] - 48;
    const d1 = src[start + 10] - 48;
    const d2 = src[start + 11] - 48;
    if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) {
      this.fail(BAD_RESPONSE('no status code'));
      return false;
    }
    const status = d0 * 100 + d1 * 10 + d2;
    // HTTP/1.0 closes unless it says otherwise; 1.1 keeps the connection unless it says close.
    let keepAlive = src[start + 7] !== 0x30;
    let length = -1;
    let chunked = false;
    // One pass over the bytes in JS (a native indexOf per line costs more than it saves here).
    let eol = start + 12;
    while (eol < end && src[eol] !== 10) eol++;
    while (eol < end) {
      const line = eol + 1;
      eol = line;
      while (eol < end && src[eol] !== 10) eol++;
      const c = src[line] | 0x20;
      if (c === 0x63 /* c */) {
        if (startsWithLower(src, line, eol, CONTENT_LENGTH)) {
          length = 0;
          let digits = 0;
          for (let i = line + CONTENT_LENGTH.length; i < eol; i++) {
            const d = src[i] - 48;
            if (d >= 0 && d <= 9) {
              length = length * 10 + d;
              digits++;
            } else if (src[i] !== 0x20 && src[i] !== 0x09 && src[i] !== 0x0d) {
              digits = 0;
              break;
            }
          }
          if (digits === 0) {
            this.fail(BAD_RESPONSE('bad Content-Length'));
            return false;
          }
        } else if (startsWithLower(src, line, eol, CONNECTION)) {
          const from = line + CONNECTION.length;
          if (valueHas(src, from, eol, CLOSE)) keepAlive = false;
          else if (valueHas(src, from, eol, KEEP_ALIVE)) keepAlive = true;
        }
      } else if (c === 0x74 /* t */ && startsWithLower(src, line, eol, TRANSFER_ENCODING)) {
        chunked = valueHas(src, line + TRANSFER_ENCODING.length, eol, CHUNKED);
      }
    }
    if (status < 200) {
      // 1xx (100 Continue, 103 Early Hints): another head follows.
      this.inHead = true;
      return true;
    }
    this.target.rememberHead(src, start, end, status, keepAlive, length, chunked);
    this.takeHead(status, keepAlive, length, chunked);
    return true;
  }

  /** Sets up for the body of a final (non-1xx) head. */
  private takeHead(status: number, keepAlive: boolean, length: number, chunked: boolean): void {
    this.status = status;
    this.keepAlive = keepAlive;
    this.inHead = false;
    if (this.target.head || status === 204 || status === 304) this.body = Body.None;
    else if (chunked) {
      this.body = Body.Chunked;
      this.chunk = Chunk.Size;
      this.remaining = 0;
    } else if (length >= 0) {
      this.body = length > 0 ? Body.Length : Body.None;
      this.remaining = length;
    } else {
      this.body = Body.UntilClose;
      this.keepAlive = false;
    }
  }

  /** Consumes body bytes; returns the position after them. Sets body None when it is complete. */
  private readBody(buf: Buffer, pos: number, n: number): number {
    if (this.body === Body.Length) {
      const take = Math.min(this.remaining, n - pos);
      this.remaining -= take;
      if (this.remaining === 0) this.body = Body.None;
      return pos + take;
    }
    if (this.body === Body.UntilClose) return n;
    // Chunked.
    while (pos < n) {
      const b = buf[pos];
      switch (this.chunk) {
        case Chunk.Size: {
          const h = b >= 48 && b <= 57 ? b - 48 : (b | 0x20) >= 97 && (b | 0x20) <= 102 ? (b | 0x20) - 87 : -1;
          pos++;
          if (h >= 0) {
            this.remaining = this.remaining * 16 + h;
            if (this.remaining > Number.MAX_SAFE_INTEGER / 16) {
              this.fail(BAD_RESPONSE('chunk size too large'));
              return n;
            }
          } else if (b === 10) {
            this.lineLen = 0;
            this.chunk = this.remaining === 0 ? Chunk.Trailer : Chunk.Data;
          } else this.chunk = Chunk.SizeExt;
          break;
        }
        case Chunk.SizeExt:
          pos++;
          if (b === 10) {
            this.lineLen = 0;
            this.chunk = this.remaining === 0 ? Chunk.Trailer : Chunk.Data;
          }
          break;
        case Chunk.Data: {
          const take = Math.min(this.remaining, n - pos);
          this.remaining -= take;
          pos += take;
          if (this.remaining === 0) this.chunk = Chunk.DataEnd;
          break;
        }
        case Chunk.DataEnd:
          pos++;
          if (b === 10) this.chunk = Chunk.Size;
          break;
        case Chunk.Trailer:
          pos++;
          if (b === 10) {
            if (this.lineLen === 0) {
              this.body = Body.None;
              return pos;
            }
            this.lineLen = 0;
          } else if (b !== 13) this.lineLen++;
          break;
      }
    }
    return pos;
  }

  destroy(): void {
    this.socket?.destroy();
  }
}

/** The raw HTTP target over sockets (http: URLs). */
export class SocketTarget implements Target {
  readonly inProcess = false;
  readonly description: string;
  readonly host: string;
  readonly port: number;
  /** True for HEAD requests: answers carry no body whatever their headers say. */
  readonly head: boolean;
  connects = 0;
  /**
   * The last final head parsed (its bytes with the blank line, and what they said): a server
   * answering the same request repeats its head byte for byte but for Date, once a second, so most
   * answers are known by one comparison instead of a parse (nginx's head: about 0.8 µs a response
   * less of the generator's CPU). Heads that differ every time stop being remembered.
   */
  seenHead: SeenHead | undefined;
  seenHeadHits = 0;
  private seenHeadMisses = 0;
  /** Timeout sweeps so far: a request times out `sweepsPerTimeout` sweeps after it went out. */
  ticks = 0;
  private readonly request: Buffer | undefined;
  private readonly all: Conn[] = [];
  private readonly free: Conn[] = [];
  private readonly statuses = new Uint32Array(600);
  private readonly sweepMs: number;
  private readonly sweepsPerTimeout: number;
  private sweeper: NodeJS.Timeout | undefined;
  /** Connections whose next request goes out in the coming write burst. */
  private readonly writes: Conn[] = [];
  private readonly flushWrites = () => this.flush();

  constructor(private readonly options: HttpTargetOptions) {
    const { url } = options;
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || 80);
    this.head = options.method === 'HEAD';
    this.description = `${options.method} ${url.origin}${url.pathname}`;
    const path = `${url.pathname}${url.search}`;
    const perRequest = path.includes(encodeURI(PLACEHOLDER)) || path.includes(PLACEHOLDER) || Boolean(options.body?.includes(PLACEHOLDER));
    this.request = perRequest ? undefined : this.format(path, options.body);
    // A timeout fires between timeoutMs and timeoutMs plus one sweep (a tenth of it, 1 s at most).
    this.sweepMs = Math.max(5, Math.min(1000, Math.floor(options.timeoutMs / 10)));
    this.sweepsPerTimeout = Math.ceil(options.timeoutMs / this.sweepMs);
  }

  /** The request's bytes: head and body, formatted once. */
  private format(path: string, body: string | undefined): Buffer {
    const { method, headers, url } = this.options;
    let head = `${method} ${path} HTTP/1.1\r\n`;
    if (!headers.some(([k]) => k.toLowerCase() === 'host')) head += `Host: ${url.host}\r\n`;
    for (const [k, v] of headers) if (k.toLowerCase() !== 'content-length') head += `${k}: ${v}\r\n`;
    const payload = body !== undefined ? Buffer.from(body) : undefined;
    if (payload !== undefined || /^(POST|PUT|PATCH)$/.test(method)) head += `Content-Length: ${payload?.length ?? 0}\r\n`;
    head += '\r\n';
    const h = Buffer.from(head, 'latin1');
    return payload ? Buffer.concat([h, payload]) : h;
  }

  /** The next request's bytes (shared unless it carries a fresh order number). */
  private next(): Buffer {
    if (this.request !== undefined) return this.request;
    const orderNo = generateId('payment');
    const { url, body } = this.options;
    const path = `${url.pathname}${url.search}`.split(encodeURI(PLACEHOLDER)).join(orderNo).split(PLACEHOLDER).join(orderNo);
    return this.format(path, body?.split(PLACEHOLDER).join(orderNo));
  }

  send(done: Done): void {
    let c = this.free.pop();
    if (c === undefined) {
      c = new Conn(this);
      this.all.push(c);
    }
    if (this.sweeper === undefined) this.startSweeper();
    c.start(done, this.next());
  }

  /**
   * Kept out of send(): a function holding a closure that uses `this` allocates a context on every
   * call, made or not (about 40 bytes a request here, and a scavenge pause every few hundred ms).
   */
  private startSweeper(): void {
    this.sweeper = setInterval(() => this.sweep(), this.sweepMs).unref();
  }

  /**
   * Queues a connection's request for the write burst that ends this turn of the event loop.
   * Requests started while answers are read (one per answer) go out together after the whole poll
   * batch, as wrk's writes do: the server's workers then find several requests per wake-up instead
   * of being woken by each. Against nginx on 2 cores: nginx 6.2-6.5 µs of CPU a request against
   * 6.5-6.9, and 0.37-0.41 of its epoll waits a request against 0.51-0.53, on one thread.
   */
  queueWrite(c: Conn): void {
    if (this.writes.length === 0) setImmediate(this.flushWrites);
    this.writes.push(c);
  }

  private flush(): void {
    const writes = this.writes;
    // A write that fails closes its socket later (an event), never re-entering here.
    for (let i = 0; i < writes.length; i++) writes[i].flushWrite();
    writes.length = 0;
  }

  /** Notes a head just parsed, unless heads here seldom repeat. */
  rememberHead(src: Buffer, start: number, end: number, status: number, keepAlive: boolean, length: number, chunked: boolean): void {
    if (++this.seenHeadMisses > 256 && this.seenHeadHits < this.seenHeadMisses) {
      this.seenHead = undefined;
      return;
    }
    this.seenHead = { bytes: Buffer.from(src.subarray(start, end + 4)), status, keepAlive, length, chunked };
  }

  /** Returns a connection to the free list (called before its `done`) and counts the status. */
  release(c: Conn, status: number): void {
    if (status > 0 && status < 600) this.statuses[status]++;
    this.free.push(c);
  }

  /** Fails requests out longer than the timeout. */
  private sweep(): void {
    this.ticks++;
    for (const c of this.all) {
      if (c.done !== undefined && this.ticks - c.sentTick > this.sweepsPerTimeout) {
        c.fail({ code: 'TIMEOUT', message: `no complete response within ${this.options.timeoutMs} ms` });
      }
    }
  }

  async prepare(): Promise<void> {
    await probe(this, this.options.url.origin);
    this.statuses.fill(0);
    this.connects = Math.min(this.connects, 1);
  }

  details(): Record<string, unknown> {
    return { kind: 'http', httpStatuses: statusDetails(this.statuses.entries()), connections: this.all.length, connects: this.connects };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const c of this.all) c.destroy();
  }
}

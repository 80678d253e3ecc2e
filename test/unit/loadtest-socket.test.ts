/**
 * The socket HTTP target of `pay loadtest --url http://...` against real local TCP servers that
 * answer with hand-written bytes: framing (Content-Length, chunked, until close, HEAD, 1xx),
 * answers split across reads, reconnects after Connection: close, status mapping, timeouts and
 * connection failures.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpTarget } from '../../src/loadtest/http-target.js';
import { SocketTarget } from '../../src/loadtest/socket-target.js';
import type { SendError } from '../../src/loadtest/target.js';

/** A TCP server: `answer` gets each request head (and its socket) and writes what it likes. */
async function rawServer(answer: (head: string, socket: Socket, n: number) => void): Promise<{ url: URL; server: Server; heads: string[]; connections: number }> {
  const state = { heads: [] as string[], connections: 0 };
  const server = createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        buf = buf.slice(end + 4 + len);
        state.heads.push(head);
        answer(head, socket, state.heads.length);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const port = (server.address() as { port: number }).port;
  return {
    url: new URL(`http://127.0.0.1:${port}/x?y=1`),
    server,
    get heads() {
      return state.heads;
    },
    get connections() {
      return state.connections;
    },
  };
}

const servers: Server[] = [];
const sockets = new Set<Socket>();
const dropAll = () => {
  for (const s of sockets) s.destroy();
};
const targets: SocketTarget[] = [];
afterEach(async () => {
  for (const t of targets.splice(0)) await t.close();
  for (const s of servers.splice(0)) {
    dropAll();
    await new Promise((r) => s.close(r));
  }
});

function target(url: URL, options: { method?: string; body?: string; headers?: [string, string][]; timeoutMs?: number } = {}): SocketTarget {
  const t = new SocketTarget({ url, method: options.method ?? 'GET', headers: options.headers ?? [], body: options.body, timeoutMs: options.timeoutMs ?? 5000 });
  targets.push(t);
  return t;
}

const send = (t: SocketTarget) => new Promise<SendError | undefined>((resolve) => t.send(resolve));

/** Writes `text` in pieces of `size` bytes, each in its own TCP write a few ms apart. */
async function dribble(socket: Socket, text: string, size: number): Promise<void> {
  for (let i = 0; i < text.length; i += size) {
    socket.write(text.slice(i, i + size));
    await new Promise((r) => setTimeout(r, 3));
  }
}

describe('socket HTTP target', () => {
  it('formats the request once: method, path, Host, headers, body with its length', async () => {
    const s = await rawServer((_h, sock) => sock.write('HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok'));
    const t = target(s.url, { method: 'POST', body: '{"a":1}', headers: [['X-Test', 'v']] });
    expect(await send(t)).toBeUndefined();
    expect(await send(t)).toBeUndefined();
    expect(s.heads[0]).toBe(`POST /x?y=1 HTTP/1.1\r\nHost: ${s.url.host}\r\nX-Test: v\r\nContent-Length: 7`);
    expect(s.connections).toBe(1);
    expect(t.details()).toMatchObject({ httpStatuses: { '201': 2 }, connections: 1, connects: 1 });
  });

  it('reads Content-Length, chunked and until-close bodies, also split into many reads', async () => {
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n';
    const length = 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\nX-Other: 1\r\n\r\n0123456789';
    const s = await rawServer((_h, sock, n) => {
      if (n === 1) sock.write(chunked);
      else if (n === 2) void dribble(sock, chunked, 7);
      else if (n === 3) sock.write(length);
      else if (n === 4) void dribble(sock, length, 3);
      else void dribble(sock, 'HTTP/1.0 200 OK\r\n\r\nuntil the end', 4).then(() => sock.end());
    });
    const t = target(s.url);
    for (let i = 0; i < 5; i++) expect(await send(t), `answer ${i + 1}`).toBeUndefined();
    // One connection for the first four; the HTTP/1.0 answer ended with its connection.
    expect(s.connections).toBe(1);
    expect(await send(t)).toBeUndefined();
    expect(s.connections).toBe(2);
    expect(t.details()).toMatchObject({ httpStatuses: { '200': 6 } });
  });

  it('HEAD answers, 204 and 1xx carry no body; Connection: close means a new connection next time', async () => {
    const s = await rawServer((head, sock, n) => {
      if (head.startsWith('HEAD')) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
      else if (n === 2) sock.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n');
      else sock.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () => sock.end());
    });
    const head = target(s.url, { method: 'HEAD' });
    expect(await send(head)).toBeUndefined();
    const get = target(s.url);
    expect(await send(get)).toBeUndefined();
    expect(await send(get)).toBeUndefined();
    expect(await send(get)).toBeUndefined();
    expect(s.heads.length).toBe(4);
    expect(get.details()).toMatchObject({ httpStatuses: { '200': 2, '204': 1 }, connects: 2 });
  });

  it('knows a repeated head by its bytes, parses one that differs anew, and stops remembering heads that never repeat', async () => {
    const a = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';
    const b = 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello!';
    const c = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n';
    const answers = [a, a, a, b, b, c, c, a, 'HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n'];
    const s = await rawServer((_h, sock, n) => sock.write(answers[n - 1]));
    const t = target(s.url);
    const codes = [];
    for (let i = 0; i < answers.length; i++) codes.push((await send(t))?.code);
    // A wrong length or framing taken from a remembered head would garble the next answer.
    expect(codes).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, 'SYSTEM_ERROR']);
    expect(t.seenHeadHits).toBe(4); // a, a, b, c repeated
    expect(t.seenHead?.bytes.toString('latin1')).toBe('HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n');
    expect(s.connections).toBe(1);

    const u = await rawServer((_h, sock, n) => sock.write(`HTTP/1.1 200 OK\r\nX-N: ${n}\r\nContent-Length: 1\r\n\r\n${n % 10}`));
    const v = target(u.url);
    for (let i = 0; i < 300; i++) expect(await send(v)).toBeUndefined();
    expect(v.seenHeadHits).toBe(0);
    expect(v.seenHead).toBeUndefined();
    expect(v.details()).toMatchObject({ httpStatuses: { '200': 300 }, connects: 1 });
  });

  it('maps statuses onto standard codes and counts them', async () => {
    const statuses = [500, 429, 401, 404, 200];
    const s = await rawServer((_h, sock, n) => sock.write(`HTTP/1.1 ${statuses[n - 1]} X\r\nContent-Length: 0\r\n\r\n`));
    const t = target(s.url);
    const codes = [];
    for (let i = 0; i < statuses.length; i++) codes.push((await send(t))?.code);
    expect(codes).toEqual(['SYSTEM_ERROR', 'RATE_LIMITED', 'AUTHENTICATION_FAILED', 'INVALID_REQUEST', undefined]);
    expect(t.details()).toMatchObject({ httpStatuses: { '200': 1, '401': 1, '404': 1, '429': 1, '500': 1 } });
  });

  it('fails a request that gets no answer in time, one cut short, garbage, and a refused connection', async () => {
    const s = await rawServer((_h, sock, n) => {
      if (n === 2) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort', () => sock.destroy());
      if (n === 3) sock.write('SMTP ready\r\n\r\n');
      // The first request gets nothing at all.
    });
    const t = target(s.url, { timeoutMs: 200 });
    expect(await send(t)).toMatchObject({ code: 'TIMEOUT' });
    expect(await send(t)).toMatchObject({ code: 'CHANNEL_ERROR', message: /closed before the response ended/ });
    expect(await send(t)).toMatchObject({ code: 'CHANNEL_ERROR', message: /malformed HTTP response/ });
    const port = (s.server.address() as { port: number }).port;
    const closed = new Promise((r) => s.server.close(r));
    dropAll();
    await closed;
    const refused = target(new URL(`http://127.0.0.1:${port}/`));
    expect(await send(refused)).toMatchObject({ code: 'CHANNEL_ERROR', message: /ECONNREFUSED/ });
    await expect(refused.prepare()).rejects.toMatchObject({ code: 'CHANNEL_ERROR', message: /cannot reach/ });
  });

  it('a fresh order number per request when the path or body holds {{orderNo}}', async () => {
    const s = await rawServer((_h, sock) => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const url = new URL(s.url);
    url.pathname = '/o/{{orderNo}}';
    const t = target(url, { method: 'POST', body: '{"n":"{{orderNo}}"}' });
    await send(t);
    await send(t);
    const paths = s.heads.map((h) => /^POST \/o\/([^?\s]+)\?y=1 /.exec(h)?.[1]);
    expect(paths[0]).toMatch(/^P\d{17}[0-9A-Z]{12}$/);
    expect(paths[1]).toMatch(/^P\d{17}[0-9A-Z]{12}$/);
    expect(paths[0]).not.toBe(paths[1]);
  });
});

describe('undici HTTP target (https URLs)', () => {
  it('sends, maps statuses and counts them like the socket target (driven over plain http here)', async () => {
    const statuses = [200, 503, 200];
    const s = await rawServer((_h, sock, n) => sock.write(`HTTP/1.1 ${statuses[n - 1]} X\r\nContent-Length: 2\r\n\r\nok`));
    const t = new HttpTarget({ url: s.url, method: 'GET', headers: [], timeoutMs: 5000 });
    try {
      const got = [];
      for (let i = 0; i < statuses.length; i++) got.push(await new Promise<SendError | undefined>((resolve) => t.send(resolve)));
      expect(got.map((e) => e?.code)).toEqual([undefined, 'SYSTEM_ERROR', undefined]);
      expect(t.details()).toMatchObject({ httpStatuses: { '200': 2, '503': 1 }, connections: 1 });
    } finally {
      await t.close();
    }
  });
});

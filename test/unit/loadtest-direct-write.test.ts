/**
 * The load generator's direct write (src/loadtest/direct-write.ts) against real local TCP servers:
 * bytes arrive whole and in order whichever path a write takes (before the connection is up, on
 * the handle, partly in the background when the peer stops reading), and a write on a connection
 * the peer reset ends in the socket's error, as socket.write's would.
 */
import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { directWrites, writeRequest } from '../../src/loadtest/direct-write.js';

const servers: Server[] = [];
const clients: Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A server handing each accepted socket to `onSocket`; resolves to its port. */
async function server(onSocket: (s: Socket) => void): Promise<number> {
  const srv = createServer(onSocket);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  servers.push(srv);
  return (srv.address() as { port: number }).port;
}

function client(port: number): Socket {
  const c = connect({ host: '127.0.0.1', port, noDelay: true });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('direct request writes', () => {
  it('are on for this Node (the stream_wrap binding is there and no deprecation warning is asked for)', () => {
    const asked = process.execArgv.includes('--pending-deprecation') || /--pending-deprecation/.test(process.env.NODE_OPTIONS ?? '') || process.env.PAY_LOADTEST_STREAM_WRITE === '1';
    expect(directWrites).toBe(!asked);
  });

  it('deliver many small writes whole and in order, the first one made before the connection is up', async () => {
    let got = Buffer.alloc(0);
    const all = new Promise<void>((resolve) => {
      void server((s) => {
        s.on('data', (d) => {
          got = Buffer.concat([got, d]);
          if (got.length >= expected.length) resolve();
        });
      }).then((port) => {
        const c = client(port);
        writeRequest(c, Buffer.from('first;', 'latin1')); // connecting: socket.write queues it
        c.on('connect', () => {
          for (let i = 0; i < 2000; i++) writeRequest(c, Buffer.from(`${i};`, 'latin1'));
        });
      });
    });
    const expected = Buffer.from(`first;${Array.from({ length: 2000 }, (_, i) => `${i};`).join('')}`, 'latin1');
    await all;
    expect(got.toString('latin1')).toBe(expected.toString('latin1'));
  });

  it('finish a write the kernel takes only in part in the background, ahead of the next one', async () => {
    const big = Buffer.alloc(24 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    const tail = Buffer.from('tail', 'latin1');
    const chunks: Buffer[] = [];
    let peer: Socket | undefined;
    let bytes = 0;
    const done = new Promise<void>((resolve) => {
      void server((s) => {
        peer = s;
        s.pause(); // the peer stops reading: the client's write cannot go out at once
        s.on('data', (d) => {
          chunks.push(d);
          bytes += d.length;
          if (bytes >= big.length + tail.length) resolve();
        });
      }).then((port) => {
        const c = client(port);
        c.on('connect', () => {
          writeRequest(c, big);
          writeRequest(c, tail);
          setTimeout(() => peer!.resume(), 50);
        });
      });
    });
    await done;
    const got = Buffer.concat(chunks);
    expect(got.length).toBe(big.length + tail.length);
    expect(sha(got.subarray(0, big.length))).toBe(sha(big));
    expect(got.subarray(big.length).toString('latin1')).toBe('tail');
  });

  it('end in the socket error, with the system code, on a connection the peer reset', async () => {
    let reset!: () => void;
    const peerGone = new Promise<void>((r) => (reset = r));
    const port = await server((s) => {
      s.on('error', () => {});
      // Reset once the client has spoken, so its connection was up first.
      s.once('data', () => {
        s.resetAndDestroy();
        reset();
      });
    });
    const c = client(port);
    const failed = new Promise<NodeJS.ErrnoException>((resolve) => c.on('error', resolve));
    await new Promise<void>((r) => c.on('connect', r));
    writeRequest(c, Buffer.from('hello', 'latin1'));
    await peerGone;
    // Writes may still be taken by the kernel before the reset is seen; then they fail.
    for (let i = 0; i < 50 && !c.destroyed; i++) {
      writeRequest(c, Buffer.from('GET / HTTP/1.1\r\n\r\n', 'latin1'));
      await new Promise((r) => setTimeout(r, 10));
    }
    const err = await failed;
    expect(['EPIPE', 'ECONNRESET']).toContain(err.code);
    expect(c.destroyed).toBe(true);
  });
});

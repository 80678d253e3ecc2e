#!/usr/bin/env node
// A minimal keep-alive HTTP endpoint with a fixed service time, run as its own process so the
// load generators under test do not share its event loop.
//   node bench/latency-server.mjs <latencyMs>     prints the port on stdout, then serves
import { createServer } from 'node:http';

const latencyMs = Number(process.argv[2] ?? 0);
const body = Buffer.from('{"ok":true}');
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

const server = createServer((req, res) => {
  req.resume();
  const send = () => {
    res.writeHead(200, headers);
    res.end(body);
  };
  if (latencyMs > 0) setTimeout(send, latencyMs);
  else send();
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

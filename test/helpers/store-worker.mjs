// A separate process acting on an order book through the built store (dist/), for the
// concurrency tests: it opens the book, prints "ready", waits for a line on stdin (so that all
// workers start at once), does its work and prints one JSON line with what happened.
//
//   node store-worker.mjs <db> create <n>
//   node store-worker.mjs <db> refund <order-no> <amount-minor> <refund-no>
//   node store-worker.mjs <db> callback <channel> <dedup-key>
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const dist = new URL('../../dist/src/', import.meta.url);
const { openStore, resolveDbTarget } = await import(fileURLToPath(new URL('store/open.js', dist)));
const { generateId } = await import(fileURLToPath(new URL('core/ids.js', dist)));

const [db, action, ...args] = process.argv.slice(2);
const store = await openStore(resolveDbTarget(db));
process.stdout.write('ready\n');
await new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve));

const out = {};
try {
  if (action === 'create') {
    out.orderNos = [];
    for (let i = 0; i < Number(args[0]); i++) {
      const orderNo = generateId('payment');
      const r = await store.createOrder({ orderNo, kind: 'collect', channel: 'mock', amountMinor: 100 + i, currency: 'CNY' });
      if (r.created) out.orderNos.push(orderNo);
    }
  } else if (action === 'refund') {
    const [orderNo, amount, refundNo] = args;
    try {
      await store.createRefund({ refundNo, orderNo, amountMinor: Number(amount) });
      await store.updateRefund(refundNo, { status: 'succeeded' }, { source: 'test' });
      out.refunded = true;
    } catch (err) {
      out.refunded = false;
      out.code = err.code;
    }
  } else if (action === 'callback') {
    const [channel, dedupKey] = args;
    const r = await store.recordCallback({ channel, dedupKey, eventType: 'payment.succeeded', bodySha256: 'ab', outcome: `worker ${process.pid}` });
    out.recorded = r.recorded;
  }
} finally {
  await store.close();
}
process.stdout.write(`${JSON.stringify(out)}\n`);

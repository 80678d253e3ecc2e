#!/usr/bin/env node
// Verification throughput over a directory of N callback files per scheme, written in the
// raw-HTTP format by the channels' own signers (dist/) with keys generated here. Three figures per
// scheme, medians of --runs runs, interleaved so that machine drift hits all three alike:
//
// - process: `pay verify <dir> --json --at <moment>` as a user runs it (the built binary, channel
//   detected per file, every verdict checked valid): start-up, module loading, reading, parsing,
//   detection, verification and printing 10,000 JSON verdicts.
// - in-process: the same command function (src/commands/verify.ts `verify`) called here on the
//   same directory, after one untimed run of it there: everything pay does per file (read, parse,
//   detect, verify, the row), without start-up and output. Start-up here includes V8's warm-up:
//   the first run over a directory takes 20-60% longer than the next ones while the per-file code
//   is still being compiled (a cost the process figure carries). Like the binary, it sends the
//   RSA checks of a run this large to a worker thread (src/channel/rsa.ts), so it uses two
//   threads where the bare loop uses one: the CPU-time ratio (all threads of the process) is
//   printed beside the wall-time one for that reason.
// - bare (RSA schemes): the scheme's signature check with node:crypto alone, over the same messages
//   and signatures with the same public key, prepared in memory beforehand (no files, no parsing).
//   For UnionPay, whose signature covers the SHA-256 hex of the signed text, the loop hashes the
//   text then verifies the hex: both steps are the signature check of that message.
//
// Target (issue 3): in-process within 2x of bare for the RSA schemes. The process figure is
// printed beside it; its ratio also carries Node's start-up and the output, fixed costs that a
// 10,000-file directory does not amortise away.
//
// The ratio is paired: every in-process run sits between two bare runs, its ratio is taken
// against their mean, and the headline is the median of those per-run ratios. On a shared
// virtual machine the CPU's speed drifts by a third within a minute (the same RSA check measured
// 21 and 35 us minutes apart), so medians taken at different moments partly measure the drift;
// the ratio of the medians is printed beside the paired one.
//
//   node bench/verify.mjs [--files 10000] [--runs 5] [--only mock,wechatpay-v3] [--keep <dir>]
//
// --keep <dir>: write the directories and configs there and leave them (to profile `pay verify`).
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, verify as cryptoVerify } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'bin', 'pay.js');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const FILES = Number(arg('files', 10000));
const RUNS = Number(arg('runs', 5));
const ONLY = arg('only', '')
  .split(',')
  .filter(Boolean);
const dist = (p) => import(join(root, 'dist', p));

const { builtinChannelIds } = await dist('src/channel/registry.js');
const { formatRawHttp, readRequestFile } = await dist('src/verify/request-file.js');
const { CallbackDispatcher } = await dist('src/verify/dispatch.js');
const { filesInDirectory } = await dist('src/verify/inputs.js');
const { verify: verifyCommand } = await dist('src/commands/verify.js');
const { createContext } = await dist('src/commands/context.js');
const registered = new Set(builtinChannelIds());
const NOW = Date.now();
// Every run verifies as of the moment the files were signed (time-bound schemes: Stripe, WeChat
// Pay, the mock), so a slow machine cannot push the last run out of the freshness window.
const AT = new Date(NOW).toISOString();

function rsaKeys() {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/**
 * Schemes: each builds N signed requests with its channel's signer, the config that verifies
 * them, and (RSA) the message/signature pairs for the bare loop.
 */
const SCHEMES = [
  {
    name: 'mock',
    channel: 'mock',
    async make(n) {
      const { buildCallback } = await dist('channels/mock/callback.js');
      const secret = 'whsec_bench_test_only_secret';
      const requests = [];
      for (let i = 0; i < n; i++) {
        requests.push(buildCallback(secret, 'payment.succeeded', { orderNo: `BENCH${i}`, tradeNo: `MT${i}`, amount: '12.34', currency: 'CNY', status: 'succeeded' }, { nowMs: NOW }));
      }
      return { config: { webhookSecret: secret }, requests };
    },
  },
  {
    name: 'stripe-v1',
    channel: 'stripe',
    async make(n) {
      const { buildEvent } = await dist('channels/stripe/callback.js');
      const secret = 'whsec_bench_test_only_secret';
      const requests = [];
      for (let i = 0; i < n; i++) {
        requests.push(
          buildEvent(secret, 'payment_intent.succeeded', { id: `pi_bench${i}`, object: 'payment_intent', amount: 1234, currency: 'usd', status: 'succeeded', metadata: { orderNo: `BENCH${i}` } }, { nowMs: NOW, apiVersion: '2024-06-20' }),
        );
      }
      return { config: { webhookSecret: secret }, requests };
    },
  },
  {
    name: 'wechatpay-v3',
    channel: 'wechatpay',
    rsa: true,
    async make(n) {
      const { buildV3Notification } = await dist('channels/wechatpay/callback.js');
      const { responseMessage } = await dist('channels/wechatpay/signature.js');
      const { publicKey, privateKey } = rsaKeys();
      const serial = 'PUB_KEY_ID_0114232134912410000000000000BENCH';
      const apiV3Key = 'benchApiV3KeyTestOnly0123456789a';
      const requests = [];
      const pairs = [];
      for (let i = 0; i < n; i++) {
        const r = buildV3Notification({
          eventType: 'TRANSACTION.SUCCESS',
          originalType: 'transaction',
          resource: { mchid: '1900000001', appid: 'wxbench', out_trade_no: `BENCH${i}`, transaction_id: `42000${i}`, trade_state: 'SUCCESS', amount: { total: 1234, currency: 'CNY', payer_total: 1234, payer_currency: 'CNY' }, success_time: '2026-01-01T10:00:00+08:00' },
          apiV3Key,
          privateKey,
          serial,
          nowMs: NOW,
        });
        requests.push(r);
        pairs.push({
          message: responseMessage(r.headers['wechatpay-timestamp'], r.headers['wechatpay-nonce'], r.body),
          signature: Buffer.from(r.headers['wechatpay-signature'], 'base64'),
        });
      }
      return {
        config: { platformPublicKey: publicKey.export({ type: 'spki', format: 'pem' }), platformSerial: serial, apiV3Key },
        requests,
        bare: { algorithm: 'sha256', key: publicKey, pairs },
      };
    },
  },
  {
    name: 'wechatpay-v2-md5',
    channel: 'wechatpay',
    async make(n) {
      const { buildV2PayNotify } = await dist('channels/wechatpay/callback.js');
      const apiKey = 'benchApiV2KeyTestOnly0123456789a';
      const requests = [];
      for (let i = 0; i < n; i++) {
        requests.push(
          buildV2PayNotify(
            { return_code: 'SUCCESS', result_code: 'SUCCESS', appid: 'wxbench', mch_id: '1900000001', nonce_str: `n${i}`, out_trade_no: `BENCH${i}`, transaction_id: `42000${i}`, total_fee: '1234', fee_type: 'CNY', time_end: '20260101100000', trade_type: 'NATIVE' },
            apiKey,
          ),
        );
      }
      return { config: { apiKey }, requests };
    },
  },
  {
    name: 'alipay-rsa2',
    channel: 'alipay',
    rsa: true,
    async make(n) {
      const { buildNotify } = await dist('channels/alipay/callback.js');
      const { parseForm, signedBytes } = await dist('channels/alipay/signature.js');
      const { publicKey, privateKey } = rsaKeys();
      const requests = [];
      const pairs = [];
      for (let i = 0; i < n; i++) {
        const r = buildNotify(
          { notify_type: 'trade_status_sync', notify_id: `nid${i}`, notify_time: '2026-01-01 10:00:00', app_id: '2021000000000000', out_trade_no: `BENCH${i}`, trade_no: `2026${i}`, trade_status: 'TRADE_SUCCESS', total_amount: '12.34', seller_id: '2088000000000000', version: '1.0' },
          privateKey,
        );
        requests.push(r);
        const fields = parseForm(r.body);
        const sign = fields.find((f) => f.key === 'sign');
        pairs.push({ message: signedBytes(fields, false), signature: Buffer.from(sign.value.toString('latin1'), 'base64') });
      }
      return { config: { alipayPublicKey: publicKey.export({ type: 'spki', format: 'pem' }) }, requests, bare: { algorithm: 'sha256', key: publicKey, pairs } };
    },
  },
  {
    name: 'unionpay-5.1.0',
    channel: 'unionpay',
    rsa: true,
    async make(n) {
      // A three-level chain made here (root -> middle -> UnionPay-style signing certificate).
      const { buildCertificate } = await dist('src/channel/x509.js');
      const { signAsUnionPay, signingString } = await dist('channels/unionpay/signature.js');
      const { encodeForm } = await dist('channels/unionpay/form.js');
      const root = rsaKeys();
      const middle = rsaKeys();
      const sign = rsaKeys();
      const day = 86_400_000;
      const rootDn = [['C', 'CN'], ['O', 'Bench Test Only CA'], ['CN', 'BENCH ROOT CA']];
      const middleDn = [['C', 'CN'], ['O', 'Bench Test Only CA'], ['CN', 'BENCH OCA1']];
      const cert = (subject, issuer, serial, key, signingKey, ca) =>
        buildCertificate({ subject, issuer, serial, notBefore: NOW - 30 * day, notAfter: NOW + 365 * day, publicKey: key.publicKey, signingKey: signingKey.privateKey, ca });
      const rootPem = cert(rootDn, rootDn, 1n, root, root, true);
      const middlePem = cert(middleDn, rootDn, 2n, middle, root, true);
      const signPem = cert([['C', 'CN'], ['O', 'Bench Test Only'], ['CN', '041@8310000000083040@中国银联股份有限公司@00016495']], middleDn, 3n, sign, middle, false);
      const requests = [];
      const pairs = [];
      for (let i = 0; i < n; i++) {
        const fields = signAsUnionPay(
          { accessType: '0', bizType: '000201', currencyCode: '156', encoding: 'utf-8', merId: '777290058110097', orderId: `BENCH${i}`, queryId: `7822${i}`, respCode: '00', respMsg: 'success', settleAmt: '1234', settleCurrencyCode: '156', settleDate: '0101', traceNo: '067402', traceTime: '0101100000', txnAmt: '1234', txnSubType: '01', txnTime: '20260101100000', txnType: '01' },
          sign.privateKey,
          signPem,
        );
        requests.push({ method: 'POST', target: '/notify/unionpay', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: encodeForm(fields, 'utf-8') });
        // The signed text (UTF-8): the bare loop hashes it to the hex the RSA signature covers.
        pairs.push({ message: Buffer.from(signingString(fields), 'utf8'), signature: Buffer.from(fields.signature, 'base64') });
      }
      return { config: { rootCert: rootPem, middleCert: middlePem }, requests, bare: { algorithm: 'sha256', key: sign.publicKey, pairs, prehashHex: 'sha256' } };
    },
  },
  {
    name: 'paypal',
    channel: 'paypal',
    rsa: true,
    async make(n) {
      // A self-signed stand-in for PayPal's message-verification certificate (CN rule met).
      const { buildCertificate } = await dist('src/channel/x509.js');
      const { buildEvent } = await dist('channels/paypal/callback.js');
      const { transmissionMessage, HEADERS } = await dist('channels/paypal/signature.js');
      const key = rsaKeys();
      const dn = [['C', 'US'], ['O', 'Bench Test Only'], ['CN', 'messageverificationcerts.sandbox.paypal.com']];
      const certPem = buildCertificate({ subject: dn, issuer: dn, serial: 7n, notBefore: NOW - 86_400_000, notAfter: NOW + 365 * 86_400_000, publicKey: key.publicKey, signingKey: key.privateKey });
      const webhookId = 'WEBHOOKBENCH0001';
      const requests = [];
      const pairs = [];
      for (let i = 0; i < n; i++) {
        const r = buildEvent(
          'PAYMENT.CAPTURE.COMPLETED',
          'capture',
          { id: `CAP${i}`, status: 'COMPLETED', amount: { currency_code: 'USD', value: '12.34' }, invoice_id: `BENCH${i}`, custom_id: `BENCH${i}` },
          'Payment completed',
          { webhookId, privateKey: key.privateKey, certUrl: 'https://api.sandbox.paypal.com/v1/notifications/certs/CERT-bench', nowMs: NOW },
        );
        requests.push(r);
        pairs.push({ message: Buffer.from(transmissionMessage(r.headers[HEADERS.id], r.headers[HEADERS.time], webhookId, r.body), 'utf8'), signature: Buffer.from(r.headers[HEADERS.sig], 'base64') });
      }
      return { config: { webhookId, certificate: certPem }, requests, bare: { algorithm: 'sha256', key: key.publicKey, pairs } };
    },
  },
];
const NOT_COVERED = [];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function writeFiles(dir, requests) {
  mkdirSync(dir, { recursive: true });
  requests.forEach((r, i) => {
    const raw = [];
    for (const [k, v] of Object.entries(r.headers)) raw.push(k, v);
    raw.push('Content-Length', String(r.body.length));
    writeFileSync(join(dir, `${String(i).padStart(6, '0')}.http`), formatRawHttp({ method: r.method ?? 'POST', target: r.target ?? '/', rawHeaders: raw, body: r.body }));
  });
}

function runPay(dir, env) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'verify', dir, '--json', '--at', AT], { env: { ...process.env, ...env }, maxBuffer: 1 << 30, encoding: 'utf8' });
  const ms = performance.now() - t0;
  let rows;
  try {
    rows = JSON.parse(r.stdout);
  } catch {
    throw new Error(`pay verify did not print JSON (exit ${r.status}): ${r.stderr.slice(0, 500)}`);
  }
  checkRows(rows, 'pay verify');
  return ms;
}

/** Checks that every one of the FILES rows is valid: `--json` rows (verdict) or outcomes (class). */
function checkRows(rows, what) {
  const cls = (x) => (typeof x.verdict === 'string' ? x.verdict : x.class);
  const valid = rows.filter((x) => cls(x) === 'valid').length;
  if (valid !== rows.length || rows.length !== FILES) {
    const bad = rows.find((x) => cls(x) !== 'valid');
    throw new Error(`${what}: expected ${FILES} valid verdicts, got ${valid} of ${rows.length}: ${JSON.stringify(bad).slice(0, 400)}`);
  }
}

/** A command context like the binary's for `--json`, reading the scheme's config file. */
function context(configPath, dir) {
  return createContext({ config: configPath, cwd: dir, env: { PAY_DB: join(base, 'pay.db') }, json: true, interactive: false, stdout: devNull, stderr: devNull });
}

const devNull = { write: () => true, isTTY: false };

/**
 * In-process: pay's own `verify` command function on the directory (what the binary runs between
 * start-up and output), after the untimed warm-up run.
 */
async function runInProcess(dir, configPath) {
  const ctx = context(configPath, dir);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await verifyCommand([dir], { at: AT }, ctx);
  const ms = performance.now() - t0;
  const cpuMs = cpuSince(c0);
  await ctx.close();
  checkRows(result.rows.map((r) => r.outcome), 'in-process verify');
  return { ms, cpuMs };
}

/** CPU time (user + system) of this process since `start`, ms: unlike wall time, not lengthened by other processes taking turns on the CPUs. */
function cpuSince(start) {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1000;
}

/**
 * Where the in-process time goes, per file: reading and parsing the files, detecting the channel
 * (every channel's detector, once per file), and verifying (the channel's own check and pay's
 * dispatch around it). Stages are timed apart, so this is a breakdown, not the headline figure.
 */
async function stageCosts(dir, channel, settings) {
  const config = { path: join(dir, 'pay.config.json'), exists: true, origin: 'flag', config: { channels: { [channel]: settings }, profiles: {} } };
  const d = new CallbackDispatcher({ config, env: {}, cwd: dir }, { at: NOW });
  await d.init();
  const t0 = performance.now();
  const files = filesInDirectory(dir);
  const requests = [];
  for (const f of files) requests.push((await readRequestFile(f)).entries[0].request);
  const t1 = performance.now();
  for (const r of requests) await d.channelFor(r);
  const t2 = performance.now();
  let valid = 0;
  for (const r of requests) if ((await d.verify(r)).class === 'valid') valid++;
  const t3 = performance.now();
  if (valid !== files.length) throw new Error(`stages: ${valid} of ${files.length} valid`);
  const us = (ms) => (ms / files.length) * 1000;
  // verify() detects again, so detection is taken out of its figure.
  return { readUs: us(t1 - t0), detectUs: us(t2 - t1), verifyUs: us(t3 - t2 - (t2 - t1)) };
}

function runBare(bare) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let ok = 0;
  for (const p of bare.pairs) {
    const message = bare.prehashHex ? Buffer.from(createHash(bare.prehashHex).update(p.message).digest('hex'), 'latin1') : p.message;
    if (cryptoVerify(bare.algorithm, message, bare.key, p.signature)) ok++;
  }
  const ms = performance.now() - t0;
  const cpuMs = cpuSince(c0);
  if (ok !== bare.pairs.length) throw new Error(`bare loop: only ${ok} of ${bare.pairs.length} verified`);
  return { ms, cpuMs };
}

const KEEP = arg('keep', '');
const base = KEEP ? (mkdirSync(KEEP, { recursive: true }), KEEP) : mkdtempSync(join(tmpdir(), 'pay-bench-verify-'));
const results = [];
const skipped = [];
const load0 = loadavg();
try {
  console.log(`pay verify throughput: ${FILES} files per scheme, median of ${RUNS} runs (node ${process.version}, ${process.platform}/${process.arch}, ${availableParallelism()} CPUs ${cpus()[0]?.model ?? ''})`);
  console.log(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  console.log('process: `pay verify <dir> --json` wall time; in-process: pay\'s verify command function on the same directory (no start-up, no output); bare: node:crypto signature check of the same messages in memory');
  console.log('target: in-process within 2x of bare for the RSA schemes');
  for (const s of SCHEMES) {
    if (ONLY.length && !ONLY.includes(s.name)) continue;
    if (!registered.has(s.channel) || !existsSync(join(root, 'dist', 'channels', s.channel, 'index.js'))) {
      skipped.push(`${s.name} (channel ${s.channel} not registered yet)`);
      continue;
    }
    const t0 = performance.now();
    const made = await s.make(FILES);
    const dir = join(base, s.name);
    writeFiles(dir, made.requests);
    const config = join(base, `${s.name}.config.json`);
    writeFileSync(config, JSON.stringify({ channels: { [s.channel]: made.config } }));
    const env = { PAY_CONFIG: config, PAY_DB: join(base, 'pay.db'), NO_COLOR: '1' };
    const genMs = performance.now() - t0;
    // The requests are on disk now: not kept in this heap, where they would weigh on every
    // garbage collection of the in-process runs (pay itself holds only what it reads).
    made.requests = undefined;
    // Warm-up: one untimed in-process run over the directory (module loading, V8's compilation
    // of the per-file code), so that every timed run measures the same, warm code.
    const warmMs = (await runInProcess(dir, config)).ms;
    const payMs = [];
    const inMs = [];
    const bareMs = [];
    const stages = [];
    const pairs = [];
    for (let i = 0; i < RUNS; i++) {
      payMs.push(runPay(dir, env));
      const before = made.bare && runBare(made.bare);
      const run = await runInProcess(dir, config);
      inMs.push(run);
      if (made.bare) {
        const after = runBare(made.bare);
        bareMs.push(before, after);
        pairs.push({ ratio: run.ms / ((before.ms + after.ms) / 2), cpuRatio: run.cpuMs / ((before.cpuMs + after.cpuMs) / 2) });
      }
      stages.push(await stageCosts(dir, s.channel, made.config));
    }
    const p = median(payMs);
    const q = median(inMs.map((x) => x.ms));
    const stage = (k) => median(stages.map((x) => x[k])).toFixed(1);
    const rate = (ms) => `${((FILES / ms) * 1000).toFixed(0).padStart(6)}/s`;
    const row = { scheme: s.name, processMs: p, inProcessMs: q, processPerSec: (FILES / p) * 1000, inProcessPerSec: (FILES / q) * 1000 };
    let line = `${s.name.padEnd(17)} process ${p.toFixed(0).padStart(5)} ms ${rate(p)}   in-process ${q.toFixed(0).padStart(5)} ms ${rate(q)}`;
    if (made.bare) {
      const b = median(bareMs.map((x) => x.ms));
      const ratio = median(pairs.map((x) => x.ratio));
      const cpuRatio = median(pairs.map((x) => x.cpuRatio));
      Object.assign(row, { bareMs: b, barePerSec: (FILES / b) * 1000, inProcessRatio: ratio, inProcessRatios: pairs.map((x) => x.ratio), inProcessRatioOfMedians: q / b, inProcessCpuRatio: cpuRatio, processRatio: p / b });
      const mark = (r) => `${r.toFixed(2)}x${r <= 2 ? '' : ' (over 2x)'}`;
      line += `   bare ${b.toFixed(0).padStart(4)} ms ${rate(b)}   in-process/bare ${mark(ratio)} paired (runs ${pairs.map((x) => x.ratio.toFixed(2)).join(' ')}; ratio of medians ${(q / b).toFixed(2)}x; CPU time ${cpuRatio.toFixed(2)}x), process/bare ${(p / b).toFixed(2)}x`;
    }
    results.push(row);
    const each = (xs) => xs.map((x) => (typeof x === 'number' ? x : x.ms).toFixed(0)).join(' ');
    console.log(`  runs (ms): warm-up ${warmMs.toFixed(0)}; process ${each(payMs)}; in-process ${each(inMs)}${made.bare ? `; bare before/after each ${each(bareMs)}` : ''}`);
    console.log(`${line}   [per file: read+parse ${stage('readUs')} us, detect ${stage('detectUs')} us, verify ${stage('verifyUs')} us; files made in ${(genMs / 1000).toFixed(1)} s]`);
  }
  for (const s of NOT_COVERED) if (!ONLY.length || ONLY.includes(s.name)) skipped.push(`${s.name} (no bench generator yet)`);
  if (skipped.length) console.log(`not measured: ${skipped.join('; ')}`);
  const rsa = results.filter((r) => r.inProcessRatio !== undefined);
  if (rsa.length) {
    const over = rsa.filter((r) => r.inProcessRatio > 2);
    console.log(`target (in-process within 2x of bare, RSA schemes, wall time, paired median): ${over.length === 0 ? 'met' : `not met for ${over.map((r) => `${r.scheme} ${r.inProcessRatio.toFixed(2)}x`).join(', ')}`}`);
  }
  if (process.env.BENCH_JSON) {
    // Machine-readable results, e.g. to take medians over several invocations.
    writeFileSync(process.env.BENCH_JSON, JSON.stringify({ files: FILES, runs: RUNS, loadStart: load0, loadEnd: loadavg(), results }, null, 2));
  }
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
} finally {
  if (KEEP) console.log(`kept: ${base}`);
  else rmSync(base, { recursive: true, force: true });
}

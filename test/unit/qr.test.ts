/**
 * Terminal QR codes: the drawing carries exactly the symbol `qrcode` encodes for the payload (read
 * back module by module, quiet zone included), and `pay create` draws it only for people on a
 * terminal: never with --json, -q, off a TTY, or PAY_QR=0.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, presentCreate } from '../../src/commands/create.js';
import { createContext } from '../../src/commands/context.js';
import { formatBlocks } from '../../src/output/render.js';
import { parseQrDrawing, qrMatrix, QUIET_ZONE, renderQr } from '../../src/output/qr.js';
import { runPay, tempDir } from '../helpers/cli.js';

class Out extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

const ALIPAY_LIKE = 'https://qr.alipay.com/bax08432nzqo1p3odh0w0021';
const BLOCKS = /[\u2580\u2584\u2588]/;

describe('renderQr', () => {
  it('draws exactly the encoded symbol, with a four-module quiet zone', async () => {
    const matrix = await qrMatrix(ALIPAY_LIKE);
    expect(matrix.length).toBeGreaterThanOrEqual(21);
    const drawing = await renderQr(ALIPAY_LIKE);
    expect(parseQrDrawing(drawing)).toEqual(matrix);
    const lines = drawing.split('\n');
    expect(lines).toHaveLength(Math.ceil((matrix.length + 2 * QUIET_ZONE) / 2));
    expect(lines[0].trim()).toBe('');
    expect(lines[1].slice(0, QUIET_ZONE).trim()).toBe('');
    // Finder pattern: the symbol's first row starts with seven dark modules.
    expect(matrix[0].slice(0, 7)).toEqual([true, true, true, true, true, true, true]);
  });

  it('the coloured drawing is the same symbol on an explicit black-on-white palette', async () => {
    const drawing = await renderQr(ALIPAY_LIKE, { color: true });
    expect(drawing.split('\n').every((l) => l.startsWith('\u001b[30;107m') && l.endsWith('\u001b[0m'))).toBe(true);
    expect(parseQrDrawing(drawing)).toEqual(await qrMatrix(ALIPAY_LIKE));
  });

  it('different payloads give different symbols', async () => {
    expect(parseQrDrawing(await renderQr('weixin://wxpay/bizpayurl?pr=abc'))).not.toEqual(parseQrDrawing(await renderQr('weixin://wxpay/bizpayurl?pr=abd')));
  });
});

describe('pay create draws the QR payload for people on a terminal', () => {
  let tmp: ReturnType<typeof tempDir>;
  let config: string;
  beforeAll(() => {
    tmp = tempDir('pay-qr-');
    config = join(tmp.dir, 'pay.config.json');
    writeFileSync(config, JSON.stringify({ channels: { mock: { settleAfterMs: 60_000 } } }));
  });
  afterAll(() => tmp.cleanup());

  const run = async (opts: { tty: boolean; json?: boolean; quiet?: boolean; env?: Record<string, string> }) => {
    const stdout = new Out(opts.tty);
    const ctx = createContext({ config, db: join(tmp.dir, 'pay.db'), env: opts.env ?? {}, cwd: tmp.dir, stdout, stderr: new Out(false), json: opts.json, quiet: opts.quiet, color: false });
    try {
      return await create({ channel: 'mock', amount: '12.34', currency: 'CNY' }, ctx);
    } finally {
      await ctx.close();
    }
  };

  it('on a TTY: a QR block beside the raw payload, encoding that payload', async () => {
    const r = await run({ tty: true });
    expect(r.payload?.qrCode).toMatch(/^mockpay:/);
    expect(r.qr).toBeDefined();
    expect(parseQrDrawing(r.qr!)).toEqual(await qrMatrix(r.payload!.qrCode!));
    const text = formatBlocks(presentCreate(r).blocks, false);
    expect(text).toContain(r.payload!.qrCode!);
    expect(text).toContain(r.qr!);
    expect(JSON.stringify(presentCreate(r).json)).not.toMatch(BLOCKS);
  });

  it('absent with --json, -q, off a TTY, and with PAY_QR=0', async () => {
    expect((await run({ tty: true, json: true })).qr).toBeUndefined();
    expect((await run({ tty: true, quiet: true })).qr).toBeUndefined();
    expect((await run({ tty: false })).qr).toBeUndefined();
    expect((await run({ tty: true, env: { PAY_QR: '0' } })).qr).toBeUndefined();
  });

  it('the binary off a TTY prints the payload and no QR drawing', async () => {
    const r = await runPay(['create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY', '--config', config, '--db', join(tmp.dir, 'bin.db')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('mockpay://');
    expect(r.stdout).not.toMatch(BLOCKS);
  });
});

/**
 * Terminal QR codes for a collect's QR payload: encoded by the `qrcode` package (loaded only when
 * a code is drawn) and drawn with half-block characters, two modules per character cell, inside
 * the four-module quiet zone scanners need.
 *
 * With colour the code is drawn black on an explicit white background, so it scans on dark and
 * light terminal themes alike. Without colour (NO_COLOR, --no-color) dark modules are drawn as
 * glyphs in the terminal's own foreground: right on light themes, inverted on dark ones (most
 * phone scanners read inverted codes too).
 */

/** Options for {@link renderQr}. */
export interface QrOptions {
  /** Draw with an explicit black-on-white palette (ANSI). */
  color?: boolean;
  /** Error correction level (default M, as payment QR codes use). */
  errorCorrectionLevel?: 'L' | 'M' | 'Q' | 'H';
}

/** Modules of quiet zone around the symbol (the QR specification's minimum). */
export const QUIET_ZONE = 4;

/** The module matrix of `text` (true = dark), quiet zone not included. */
export async function qrMatrix(text: string, errorCorrectionLevel: QrOptions['errorCorrectionLevel'] = 'M'): Promise<boolean[][]> {
  const { default: QRCode } = await import('qrcode');
  const { modules } = QRCode.create(text, { errorCorrectionLevel });
  const rows: boolean[][] = [];
  for (let r = 0; r < modules.size; r++) {
    const row: boolean[] = [];
    for (let c = 0; c < modules.size; c++) row.push(modules.get(r, c) === 1);
    rows.push(row);
  }
  return rows;
}

const UPPER = '\u2580'; // ▀
const LOWER = '\u2584'; // ▄
const FULL = '\u2588'; // █

/** Draws `text` as a QR code for a terminal; one line per two module rows. */
export async function renderQr(text: string, options: QrOptions = {}): Promise<string> {
  const matrix = await qrMatrix(text, options.errorCorrectionLevel);
  const size = matrix.length + 2 * QUIET_ZONE;
  const dark = (r: number, c: number) => {
    const rr = r - QUIET_ZONE;
    const cc = c - QUIET_ZONE;
    return rr >= 0 && cc >= 0 && rr < matrix.length && cc < matrix.length && matrix[rr][cc];
  };
  const lines: string[] = [];
  for (let r = 0; r < size; r += 2) {
    let line = '';
    for (let c = 0; c < size; c++) {
      const top = dark(r, c);
      const bottom = r + 1 < size && dark(r + 1, c);
      line += top && bottom ? FULL : top ? UPPER : bottom ? LOWER : ' ';
    }
    // 30 = black glyphs, 107 = bright white background; reset at the end of each line.
    lines.push(options.color ? `\u001b[30;107m${line}\u001b[0m` : line);
  }
  return lines.join('\n');
}

/**
 * Reads a drawing made by {@link renderQr} back into its module matrix (quiet zone stripped): the
 * check that what the terminal shows is exactly the encoded symbol.
 */
export function parseQrDrawing(drawing: string): boolean[][] {
  const lines = drawing.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
  const width = Math.max(...lines.map((l) => [...l].length));
  const rows: boolean[][] = [];
  for (const line of lines) {
    const cells = [...line.padEnd(width, ' ')];
    rows.push(cells.map((ch) => ch === FULL || ch === UPPER));
    rows.push(cells.map((ch) => ch === FULL || ch === LOWER));
  }
  const size = width - 2 * QUIET_ZONE;
  return rows.slice(QUIET_ZONE, QUIET_ZONE + size).map((row) => row.slice(QUIET_ZONE, QUIET_ZONE + size));
}

/** Whether a command should draw QR codes: human output on a terminal. */
export function wantsQr(ctx: { json: boolean; quiet: boolean; stdout: unknown; env: Record<string, string | undefined> }): boolean {
  if (ctx.json || ctx.quiet) return false;
  if (ctx.env.PAY_QR === '0') return false;
  return Boolean((ctx.stdout as { isTTY?: boolean }).isTTY);
}

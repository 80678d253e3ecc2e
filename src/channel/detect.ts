/**
 * Byte-level helpers for callback detectors. `pay verify` asks every channel's `detect` about
 * every file, so a detector's "no" must cost next to nothing: these search the raw body bytes
 * (native memchr/memmem) instead of decoding it to a string and running regular expressions.
 * Each answers exactly what the string test it replaces would, for ASCII needles: in Latin-1 a
 * byte is a character, and in UTF-8 an ASCII character can only come from its own byte.
 */

/** True when `bytes` contains the ASCII text `needle`. */
export function hasAscii(bytes: Buffer, needle: string): boolean {
  return bytes.indexOf(needle, 0, 'latin1') >= 0;
}

/**
 * True when a form body or query string (`a=1&b=2`) has the field `name`: `name=` at the start
 * or right after an `&` (what `/(^|&)name=/` finds in the Latin-1 text).
 */
export function hasFormField(bytes: Buffer, name: string): boolean {
  const first = bytes.indexOf(`${name}=`, 0, 'latin1');
  if (first < 0) return false;
  if (first === 0 || bytes[first - 1] === 0x26) return true;
  return bytes.indexOf(`&${name}=`, first, 'latin1') >= 0;
}

/**
 * Index of the first byte that is not whitespace as `String.prototype.trimStart` sees it in
 * Latin-1 text (tab, line feed, vertical tab, form feed, carriage return, space, no-break space);
 * `bytes.length` when there is none.
 */
export function skipLatin1Space(bytes: Buffer, from = 0): number {
  let i = from;
  while (i < bytes.length) {
    const b = bytes[i];
    if (!((b >= 0x09 && b <= 0x0d) || b === 0x20 || b === 0xa0)) break;
    i++;
  }
  return i;
}

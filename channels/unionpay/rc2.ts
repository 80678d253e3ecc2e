/**
 * RC2 (RFC 2268) decryption in CBC mode. UnionPay's sign certificates (.pfx) are commonly written
 * with the PKCS#12 legacy scheme "pbeWithSHAAnd40BitRC2-CBC" for the certificate bag, and
 * OpenSSL 3 (hence node:crypto) only offers RC2 in its legacy provider, which Node does not load.
 * Only decryption is needed: pay reads such files and never writes them.
 */

// The RFC 2268 permutation of 0..255 built from the digits of pi.
const PITABLE = Buffer.from(
  [
    'd978f9c419ddb5ed28e9fd794aa0d89d',
    'c67e37832b76538e624c6488448bfba2',
    '179a59f587b34f1361456d8d09817d32',
    'bd8f40eb86b77b0bf09521225c6b4e82',
    '54d66593ce60b21c7356c014a78cf1dc',
    '1275ca1f3bbee4d1423dd430a33cb626',
    '6fbf0eda4669075727f21d9bbc944303',
    'f811c7f690ef3ee706c3d52fc8661ed7',
    '08e8eade8052eef784aa72ac354d6a2a',
    '961ad2715a1549744b9fd05e0418a4ec',
    'c2e0416e0f51cbcc2491af50a1f47039',
    '997c3a8523b8b47afc02365b25559731',
    '2d5dfa98e38a92ae05df2910676cbac9',
    'd300e6cfe19ea82c6316013f58e289a9',
    '0d38341bab33ffb0bb480c5fb9b1cd2e',
    'c5f3db47e5a59c770aa62068fe7fc1ad',
  ].join(''),
  'hex',
);

/** Expands `key` into the 64 16-bit subkeys for `effectiveBits` (40 for the PKCS#12 RC2-40 scheme). */
export function rc2ExpandKey(key: Buffer, effectiveBits: number): Uint16Array {
  const t = key.length;
  if (t < 1 || t > 128) throw new RangeError('RC2 key must be 1..128 bytes');
  if (effectiveBits < 1 || effectiveBits > 1024) throw new RangeError('RC2 effective key bits must be 1..1024');
  const l = new Uint8Array(128);
  l.set(key);
  for (let i = t; i < 128; i++) l[i] = PITABLE[(l[i - 1] + l[i - t]) & 0xff];
  const t8 = (effectiveBits + 7) >> 3;
  const tm = 0xff >> (8 * t8 - effectiveBits);
  l[128 - t8] = PITABLE[l[128 - t8] & tm];
  for (let i = 127 - t8; i >= 0; i--) l[i] = PITABLE[l[i + 1] ^ l[i + t8]];
  const k = new Uint16Array(64);
  for (let i = 0; i < 64; i++) k[i] = l[2 * i] | (l[2 * i + 1] << 8);
  return k;
}

const rotr16 = (x: number, s: number): number => ((x >>> s) | (x << (16 - s))) & 0xffff;
const SHIFTS = [1, 2, 3, 5];

/** Decrypts one 8-byte block in place. */
function decryptBlock(k: Uint16Array, block: Uint8Array, off: number): void {
  const r = [block[off] | (block[off + 1] << 8), block[off + 2] | (block[off + 3] << 8), block[off + 4] | (block[off + 5] << 8), block[off + 6] | (block[off + 7] << 8)];
  let j = 63;
  const mixRound = () => {
    for (let i = 3; i >= 0; i--) {
      r[i] = rotr16(r[i], SHIFTS[i]);
      r[i] = (r[i] - k[j] - (r[(i + 3) & 3] & r[(i + 2) & 3]) - (~r[(i + 3) & 3] & r[(i + 1) & 3])) & 0xffff;
      j--;
    }
  };
  const mashRound = () => {
    for (let i = 3; i >= 0; i--) r[i] = (r[i] - k[r[(i + 3) & 3] & 63]) & 0xffff;
  };
  for (let n = 0; n < 5; n++) mixRound();
  mashRound();
  for (let n = 0; n < 6; n++) mixRound();
  mashRound();
  for (let n = 0; n < 5; n++) mixRound();
  for (let i = 0; i < 4; i++) {
    block[off + 2 * i] = r[i] & 0xff;
    block[off + 2 * i + 1] = r[i] >> 8;
  }
}

/**
 * RC2-CBC decryption with PKCS#7 padding removed. Throws on a length that is not a multiple of
 * 8 or on bad padding (which is what a wrong password looks like).
 */
export function rc2CbcDecrypt(key: Buffer, effectiveBits: number, iv: Buffer, data: Buffer): Buffer {
  if (iv.length !== 8) throw new RangeError('RC2 IV must be 8 bytes');
  if (data.length === 0 || data.length % 8 !== 0) throw new Error('RC2 ciphertext length is not a multiple of 8');
  const k = rc2ExpandKey(key, effectiveBits);
  const out = new Uint8Array(data);
  let prev = Uint8Array.from(iv);
  for (let off = 0; off < out.length; off += 8) {
    const cipher = out.slice(off, off + 8);
    decryptBlock(k, out, off);
    for (let i = 0; i < 8; i++) out[off + i] ^= prev[i];
    prev = cipher;
  }
  const pad = out[out.length - 1];
  if (pad < 1 || pad > 8) throw new Error('bad padding');
  for (let i = out.length - pad; i < out.length; i++) if (out[i] !== pad) throw new Error('bad padding');
  return Buffer.from(out.subarray(0, out.length - pad));
}

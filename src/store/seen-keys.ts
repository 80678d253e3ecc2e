/**
 * A filter of the keys a stage has taken so far (a Bloom filter with two probes): "seen before"
 * is sometimes a false alarm, never a miss. Stages use it to set possible repeats aside while a
 * bill is read, so that only those few keys need an exact look afterwards.
 */

/** Two 32-bit hashes of a key (FNV-1a, and a second seed). */
function keyHashes(k: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [a >>> 0, (b | 1) >>> 0];
}

/** Keys seen so far, in `bits` bits (a power of two; allocated on first use). */
export class SeenKeys {
  private bytes: Uint8Array | undefined;

  constructor(private readonly bits: number) {
    if (bits < 8 || (bits & (bits - 1)) !== 0) throw new RangeError('SeenKeys: bits must be a power of two, at least 8');
  }

  /** Whether `k` may have been added before (false: certainly not); adds it. */
  add(k: string): boolean {
    const seen = (this.bytes ??= new Uint8Array(this.bits / 8));
    const mask = this.bits - 1;
    const [a, b] = keyHashes(k);
    const i = a & mask;
    const j = (a + b) & mask;
    const hit = (seen[i >>> 3] & (1 << (i & 7))) !== 0 && (seen[j >>> 3] & (1 << (j & 7))) !== 0;
    seen[i >>> 3] |= 1 << (i & 7);
    seen[j >>> 3] |= 1 << (j & 7);
    return hit;
  }

  /** Forgets every key and frees the memory. */
  clear(): void {
    this.bytes = undefined;
  }
}

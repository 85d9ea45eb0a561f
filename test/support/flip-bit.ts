// One bit of a copy of `bytes` flipped (bit `bit`, wrapping round the length): the tamper that
// Ed25519 property tests try on keys, messages and signatures, in Node and in workerd alike.
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes);
  out[(bit >> 3) % out.length]! ^= 1 << (bit & 7);
  return out;
}

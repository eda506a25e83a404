/**
 * SHA-256, SHA-384 and SHA-512 (FIPS 180-4) in portable JavaScript, incremental. The fallback of the `Hash`
 * service where no native implementation is provided (browsers, neutral runtimes); Node programs provide
 * `NodeHash` instead, which is several times faster. Checked against `node:crypto` in the tests.
 *
 * @internal
 */

const K256 = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2
])

const H256 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]

const K512 = new Int32Array([
  0x428a2f98,
  0xd728ae22,
  0x71374491,
  0x23ef65cd,
  0xb5c0fbcf,
  0xec4d3b2f,
  0xe9b5dba5,
  0x8189dbbc,
  0x3956c25b,
  0xf348b538,
  0x59f111f1,
  0xb605d019,
  0x923f82a4,
  0xaf194f9b,
  0xab1c5ed5,
  0xda6d8118,
  0xd807aa98,
  0xa3030242,
  0x12835b01,
  0x45706fbe,
  0x243185be,
  0x4ee4b28c,
  0x550c7dc3,
  0xd5ffb4e2,
  0x72be5d74,
  0xf27b896f,
  0x80deb1fe,
  0x3b1696b1,
  0x9bdc06a7,
  0x25c71235,
  0xc19bf174,
  0xcf692694,
  0xe49b69c1,
  0x9ef14ad2,
  0xefbe4786,
  0x384f25e3,
  0x0fc19dc6,
  0x8b8cd5b5,
  0x240ca1cc,
  0x77ac9c65,
  0x2de92c6f,
  0x592b0275,
  0x4a7484aa,
  0x6ea6e483,
  0x5cb0a9dc,
  0xbd41fbd4,
  0x76f988da,
  0x831153b5,
  0x983e5152,
  0xee66dfab,
  0xa831c66d,
  0x2db43210,
  0xb00327c8,
  0x98fb213f,
  0xbf597fc7,
  0xbeef0ee4,
  0xc6e00bf3,
  0x3da88fc2,
  0xd5a79147,
  0x930aa725,
  0x06ca6351,
  0xe003826f,
  0x14292967,
  0x0a0e6e70,
  0x27b70a85,
  0x46d22ffc,
  0x2e1b2138,
  0x5c26c926,
  0x4d2c6dfc,
  0x5ac42aed,
  0x53380d13,
  0x9d95b3df,
  0x650a7354,
  0x8baf63de,
  0x766a0abb,
  0x3c77b2a8,
  0x81c2c92e,
  0x47edaee6,
  0x92722c85,
  0x1482353b,
  0xa2bfe8a1,
  0x4cf10364,
  0xa81a664b,
  0xbc423001,
  0xc24b8b70,
  0xd0f89791,
  0xc76c51a3,
  0x0654be30,
  0xd192e819,
  0xd6ef5218,
  0xd6990624,
  0x5565a910,
  0xf40e3585,
  0x5771202a,
  0x106aa070,
  0x32bbd1b8,
  0x19a4c116,
  0xb8d2d0c8,
  0x1e376c08,
  0x5141ab53,
  0x2748774c,
  0xdf8eeb99,
  0x34b0bcb5,
  0xe19b48a8,
  0x391c0cb3,
  0xc5c95a63,
  0x4ed8aa4a,
  0xe3418acb,
  0x5b9cca4f,
  0x7763e373,
  0x682e6ff3,
  0xd6b2b8a3,
  0x748f82ee,
  0x5defb2fc,
  0x78a5636f,
  0x43172f60,
  0x84c87814,
  0xa1f0ab72,
  0x8cc70208,
  0x1a6439ec,
  0x90befffa,
  0x23631e28,
  0xa4506ceb,
  0xde82bde9,
  0xbef9a3f7,
  0xb2c67915,
  0xc67178f2,
  0xe372532b,
  0xca273ece,
  0xea26619c,
  0xd186b8c7,
  0x21c0c207,
  0xeada7dd6,
  0xcde0eb1e,
  0xf57d4f7f,
  0xee6ed178,
  0x06f067aa,
  0x72176fba,
  0x0a637dc5,
  0xa2c898a6,
  0x113f9804,
  0xbef90dae,
  0x1b710b35,
  0x131c471b,
  0x28db77f5,
  0x23047d84,
  0x32caab7b,
  0x40c72493,
  0x3c9ebe0a,
  0x15c9bebc,
  0x431d67c4,
  0x9c100d4c,
  0x4cc5d4be,
  0xcb3e42b6,
  0x597f299c,
  0xfc657e2a,
  0x5fcb6fab,
  0x3ad6faec,
  0x6c44198c,
  0x4a475817
])

const H512 = [
  0x6a09e667,
  0xf3bcc908,
  0xbb67ae85,
  0x84caa73b,
  0x3c6ef372,
  0xfe94f82b,
  0xa54ff53a,
  0x5f1d36f1,
  0x510e527f,
  0xade682d1,
  0x9b05688c,
  0x2b3e6c1f,
  0x1f83d9ab,
  0xfb41bd6b,
  0x5be0cd19,
  0x137e2179
]

const H384 = [
  0xcbbb9d5d,
  0xc1059ed8,
  0x629a292a,
  0x367cd507,
  0x9159015a,
  0x3070dd17,
  0x152fecd8,
  0xf70e5939,
  0x67332667,
  0xffc00b31,
  0x8eb44a87,
  0x68581511,
  0xdb0c2e0d,
  0x64f98fa7,
  0x47b5481d,
  0xbefa4fa4
]

/** @internal */
export interface Sha2 {
  readonly update: (data: Uint8Array) => void
  /** Lower-case hex digest; the state is finished afterwards. */
  readonly digestHex: () => string
}

const hexOf = (words: Int32Array, count: number): string => {
  let out = ""
  for (let i = 0; i < count; i++) out += (words[i]! >>> 0).toString(16).padStart(8, "0")
  return out
}

/** Buffers input into blocks of `blockBytes`, hands full blocks to `compress`, pads at the end. */
const blocks = (
  blockBytes: number,
  lengthBytes: number,
  compress: (data: Uint8Array, offset: number) => void,
  finish: () => string
): Sha2 => {
  const block = new Uint8Array(blockBytes)
  let filled = 0
  let total = 0
  let done = false
  return {
    update: (data) => {
      if (done) throw new Error("sha2: update after digest")
      total += data.length
      let at = 0
      if (filled > 0) {
        const take = Math.min(blockBytes - filled, data.length)
        block.set(data.subarray(0, take), filled)
        filled += take
        at = take
        if (filled < blockBytes) return
        compress(block, 0)
        filled = 0
      }
      for (; at + blockBytes <= data.length; at += blockBytes) compress(data, at)
      if (at < data.length) {
        block.set(data.subarray(at), 0)
        filled = data.length - at
      }
    },
    digestHex: () => {
      if (done) throw new Error("sha2: digest called twice")
      done = true
      const bits = total * 8
      block[filled++] = 0x80
      if (filled > blockBytes - lengthBytes) {
        block.fill(0, filled)
        compress(block, 0)
        filled = 0
      }
      block.fill(0, filled)
      // message length in bits, big-endian, in the last 8 bytes (lengths above 2^53 bits do not occur)
      const high = Math.floor(bits / 0x100000000)
      const end = blockBytes
      block[end - 8] = high >>> 24
      block[end - 7] = high >>> 16
      block[end - 6] = high >>> 8
      block[end - 5] = high
      block[end - 4] = bits >>> 24
      block[end - 3] = bits >>> 16
      block[end - 2] = bits >>> 8
      block[end - 1] = bits
      compress(block, 0)
      return finish()
    }
  }
}

const sha256 = (): Sha2 => {
  const h = Int32Array.from(H256)
  const w = new Int32Array(64)
  const compress = (d: Uint8Array, o: number) => {
    for (let i = 0; i < 16; i++, o += 4) w[i] = (d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15]!
      const b = w[i - 2]!
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3)
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10)
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0
    }
    let a = h[0]!, b = h[1]!, c = h[2]!, e = h[4]!, f = h[5]!, g = h[6]!, dd = h[3]!, hh = h[7]!
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K256[i]! + w[i]!) | 0
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
      hh = g
      g = f
      f = e
      e = (dd + t1) | 0
      dd = c
      c = b
      b = a
      a = (t1 + t2) | 0
    }
    h[0] = (h[0]! + a) | 0
    h[1] = (h[1]! + b) | 0
    h[2] = (h[2]! + c) | 0
    h[3] = (h[3]! + dd) | 0
    h[4] = (h[4]! + e) | 0
    h[5] = (h[5]! + f) | 0
    h[6] = (h[6]! + g) | 0
    h[7] = (h[7]! + hh) | 0
  }
  return blocks(64, 8, compress, () => hexOf(h, 8))
}

/**
 * SHA-512 and SHA-384 on 64-bit words held as (high, low) pairs of 32-bit integers: `h[2i]` is the high half
 * of word i, `h[2i + 1]` the low half. Sums of low halves are accumulated as doubles (exact below 2^53) and
 * their carry moved into the high half.
 */
const sha512 = (initial: ReadonlyArray<number>, outputWords: number): Sha2 => {
  const h = Int32Array.from(initial)
  const w = new Int32Array(160)
  const compress = (d: Uint8Array, o: number) => {
    for (let i = 0; i < 32; i++, o += 4) w[i] = (d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!
    for (let i = 16; i < 80; i++) {
      // σ0(w[i-15]) = rotr1 ^ rotr8 ^ shr7
      const xh = w[(i - 15) * 2]!
      const xl = w[(i - 15) * 2 + 1]!
      const s0h = ((xh >>> 1) | (xl << 31)) ^ ((xh >>> 8) | (xl << 24)) ^ (xh >>> 7)
      const s0l = ((xl >>> 1) | (xh << 31)) ^ ((xl >>> 8) | (xh << 24)) ^ ((xl >>> 7) | (xh << 25))
      // σ1(w[i-2]) = rotr19 ^ rotr61 ^ shr6
      const yh = w[(i - 2) * 2]!
      const yl = w[(i - 2) * 2 + 1]!
      const s1h = ((yh >>> 19) | (yl << 13)) ^ ((yl >>> 29) | (yh << 3)) ^ (yh >>> 6)
      const s1l = ((yl >>> 19) | (yh << 13)) ^ ((yh >>> 29) | (yl << 3)) ^ ((yl >>> 6) | (yh << 26))
      const low = (s0l >>> 0) + (s1l >>> 0) + (w[(i - 7) * 2 + 1]! >>> 0) + (w[(i - 16) * 2 + 1]! >>> 0)
      w[i * 2] = (s0h + s1h + w[(i - 7) * 2]! + w[(i - 16) * 2]! + ((low / 0x100000000) | 0)) | 0
      w[i * 2 + 1] = low | 0
    }
    let ah = h[0]!, al = h[1]!, bh = h[2]!, bl = h[3]!, ch = h[4]!, cl = h[5]!, dh = h[6]!, dl = h[7]!
    let eh = h[8]!, el = h[9]!, fh = h[10]!, fl = h[11]!, gh = h[12]!, gl = h[13]!, hh = h[14]!, hl = h[15]!
    for (let i = 0; i < 80; i++) {
      // Σ1(e) = rotr14 ^ rotr18 ^ rotr41
      const S1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23))
      const S1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23))
      const chh = (eh & fh) ^ (~eh & gh)
      const chl = (el & fl) ^ (~el & gl)
      const t1low = (hl >>> 0) + (S1l >>> 0) + (chl >>> 0) + (K512[i * 2 + 1]! >>> 0) + (w[i * 2 + 1]! >>> 0)
      const t1h = (hh + S1h + chh + K512[i * 2]! + w[i * 2]! + ((t1low / 0x100000000) | 0)) | 0
      const t1l = t1low | 0
      // Σ0(a) = rotr28 ^ rotr34 ^ rotr39
      const S0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25))
      const S0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25))
      const majh = (ah & bh) ^ (ah & ch) ^ (bh & ch)
      const majl = (al & bl) ^ (al & cl) ^ (bl & cl)
      const t2low = (S0l >>> 0) + (majl >>> 0)
      const t2h = (S0h + majh + ((t2low / 0x100000000) | 0)) | 0
      const t2l = t2low | 0
      hh = gh
      hl = gl
      gh = fh
      gl = fl
      fh = eh
      fl = el
      const elow = (dl >>> 0) + (t1l >>> 0)
      eh = (dh + t1h + ((elow / 0x100000000) | 0)) | 0
      el = elow | 0
      dh = ch
      dl = cl
      ch = bh
      cl = bl
      bh = ah
      bl = al
      const alow = (t1l >>> 0) + (t2l >>> 0)
      ah = (t1h + t2h + ((alow / 0x100000000) | 0)) | 0
      al = alow | 0
    }
    const add = (i: number, xh: number, xl: number) => {
      const low = (h[i * 2 + 1]! >>> 0) + (xl >>> 0)
      h[i * 2] = (h[i * 2]! + xh + ((low / 0x100000000) | 0)) | 0
      h[i * 2 + 1] = low | 0
    }
    add(0, ah, al)
    add(1, bh, bl)
    add(2, ch, cl)
    add(3, dh, dl)
    add(4, eh, el)
    add(5, fh, fl)
    add(6, gh, gl)
    add(7, hh, hl)
  }
  return blocks(128, 16, compress, () => hexOf(h, outputWords))
}

/** @internal */
export const create = (algorithm: "sha256" | "sha384" | "sha512"): Sha2 =>
  algorithm === "sha256" ? sha256() : algorithm === "sha512" ? sha512(H512, 16) : sha512(H384, 12)

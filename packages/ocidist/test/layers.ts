// Layers made by our own code for the compression tests: one-file tars of compressible text.

/** A one-file ustar archive of compressible text (a layer as image builders write them). */
export const tarOf = (name: string, content: Uint8Array): Uint8Array => {
  const header = Buffer.alloc(512, 0)
  const put = (offset: number, width: number, value: string) => header.write(value, offset, width, "ascii")
  put(0, 100, name)
  put(100, 8, "0000644\0")
  put(108, 8, "0000000\0")
  put(116, 8, "0000000\0")
  put(124, 12, `${content.length.toString(8).padStart(11, "0")}\0`)
  put(136, 12, "00000000000\0")
  put(148, 8, "        ")
  put(156, 1, "0")
  put(257, 6, "ustar\0")
  put(263, 2, "00")
  let sum = 0
  for (const b of header) sum += b
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `)
  const padded = Math.ceil(content.length / 512) * 512
  const out = new Uint8Array(512 + padded + 1024)
  out.set(header, 0)
  out.set(content, 512)
  return out
}

/** Compressible text: numbered lines. */
export const text = (bytes: number): Uint8Array => {
  const lines: Array<string> = []
  let n = 0
  for (let i = 0; n < bytes; i++) {
    const l = `line ${i}: the quick brown fox jumps over the lazy dog\n`
    lines.push(l)
    n += l.length
  }
  return new TextEncoder().encode(lines.join("").slice(0, bytes))
}

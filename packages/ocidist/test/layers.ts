// Layers made by our own code for the compression tests: one-file tars of compressible text.
import { Tar } from "@ocidist/testing"

/** A one-file ustar archive of compressible text (a layer as image builders write them). */
export const tarOf = (name: string, content: Uint8Array): Uint8Array => Tar.oneFile(name, content)

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

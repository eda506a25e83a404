// The layer merger of `export` and `flatten` over an in-memory store: the strict tar reader (any chunking,
// checksums, truncation, huge extended headers, paths), the whiteout semantics, and the headers it writes
// (read back by GNU tar).
import { assert, describe, it } from "@effect/vitest"
import * as Digest from "@ocidist/reference/Digest"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Storage from "@ocidist/spec/Storage"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Merge from "../src/internal/merge.js"

const text = new TextEncoder()

const entry = (options: {
  readonly name: string
  readonly type?: string
  readonly data?: string
  readonly linkname?: string
  readonly mode?: number
}): Uint8Array => {
  const data = text.encode(options.data ?? "")
  const header = Buffer.alloc(512, 0)
  const put = (offset: number, width: number, value: string) => header.write(value, offset, width, "utf8")
  const octal = (offset: number, width: number, value: number) =>
    put(offset, width, `${value.toString(8).padStart(width - 1, "0")}\0`)
  put(0, 100, options.name)
  octal(100, 8, options.mode ?? 0o644)
  octal(108, 8, 0)
  octal(116, 8, 0)
  octal(124, 12, data.length)
  octal(136, 12, 0)
  put(148, 8, "        ")
  put(156, 1, options.type ?? "0")
  put(157, 100, options.linkname ?? "")
  put(257, 6, "ustar\0")
  put(263, 2, "00")
  let sum = 0
  for (const b of header) sum += b
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `)
  const out = new Uint8Array(512 + Math.ceil(data.length / 512) * 512)
  out.set(header, 0)
  out.set(data, 512)
  return out
}

const tar = (...entries: ReadonlyArray<Uint8Array>): Uint8Array => Buffer.concat([...entries, new Uint8Array(1024)])

/** An in-memory store of layers (plain tars), served in chunks of `chunk` bytes. */
const storeOf = (layers: ReadonlyArray<Uint8Array>, chunk = 4096) => {
  const blobs = new Map<string, Uint8Array>()
  const descriptors: Array<Descriptor.Descriptor> = layers.map((bytes) => {
    const digest = Digest.ofBytes(bytes)
    blobs.set(digest, bytes)
    return { mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size: bytes.length }
  })
  const store: Storage.ReadOnlyStorage<never> = {
    name: "memory",
    verifiesBlobs: false,
    resolve: () => Effect.die("unused"),
    fetchManifest: () => Effect.die("unused"),
    exists: () => Effect.succeed(true),
    fetchBlob: (d) => {
      const bytes = blobs.get(d.digest)!
      const pieces: Array<Uint8Array> = []
      for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk))
      return Stream.fromIterable(pieces)
    }
  }
  return { store, descriptors }
}

const run = (layers: ReadonlyArray<Uint8Array>, chunk?: number) => {
  const { descriptors, store } = storeOf(layers, chunk)
  return Effect.map(
    Stream.runCollect(Merge.merge(store, descriptors)),
    (chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks))
  )
}

/** GNU tar's verbose listing of a tar: `type mode path[ -> target]`, sorted. */
const listing = (bytes: Uint8Array): Array<string> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ocidist-merge-"))
  try {
    const file = path.join(dir, "t.tar")
    fs.writeFileSync(file, bytes)
    return execFileSync("tar", ["-tvf", file], { encoding: "utf8" }).split("\n").filter((l) => l !== "").map((l) => {
      const fields = l.split(/\s+/)
      return `${fields[0]} ${fields.slice(5).join(" ")}`
    }).sort()
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe("merge", () => {
  it.effect("whiteouts, opaque directories, replacements, links; any chunking gives the same bytes", () =>
    Effect.gen(function*() {
      const lower = tar(
        entry({ name: "./etc/", type: "5", mode: 0o755 }),
        entry({ name: "./etc/a", data: "a" }),
        entry({ name: "./etc/gone", data: "gone" }),
        entry({ name: "./opq/", type: "5", mode: 0o755 }),
        entry({ name: "./opq/old", data: "old" }),
        entry({ name: "./bin/tool", data: "#!/bin/sh\n", mode: 0o755 }),
        entry({ name: "./bin/hard", type: "1", linkname: "./bin/tool" }),
        entry({ name: "./f", data: "f" }),
        entry({ name: "./f-link", type: "1", linkname: "f" }),
        entry({ name: "./g", data: "g" }),
        entry({ name: "./g-link", type: "1", linkname: "g" }),
        entry({ name: "./g-link2", type: "1", linkname: "./g" }),
        entry({ name: "./dir/x", data: "x" })
      )
      const upper = tar(
        entry({ name: "etc/.wh.gone" }),
        entry({ name: ".wh.g" }),
        entry({ name: "opq/.wh..wh..opq" }),
        entry({ name: "opq/new", data: "new" }),
        entry({ name: "etc/a", data: "A", mode: 0o600 }),
        entry({ name: "f", data: "F" }),
        entry({ name: "dir", type: "2", linkname: "/etc" }),
        entry({ name: "sym", type: "2", linkname: "../../outside" })
      )
      const merged = yield* run([lower, upper])
      assert.deepStrictEqual(listing(merged), [
        "-rw------- etc/a",
        "-rw-r--r-- f",
        "-rw-r--r-- f-link",
        "-rw-r--r-- g-link",
        "-rw-r--r-- opq/new",
        "-rwxr-xr-x bin/tool",
        "drwxr-xr-x etc/",
        "drwxr-xr-x opq/",
        "hrw-r--r-- bin/hard link to bin/tool",
        "hrw-r--r-- g-link2 link to g-link",
        "lrw-r--r-- dir -> /etc",
        "lrw-r--r-- sym -> ../../outside"
      ])
      // byte by byte, or in odd chunks: the same output
      assert.isTrue(Buffer.from(yield* run([lower, upper], 1)).equals(merged))
      assert.isTrue(Buffer.from(yield* run([lower, upper], 777)).equals(merged))
    }))

  it.effect("`..` escaping the root and extended headers above 1 MiB are InvalidLayer; `/abs` is `abs`", () =>
    Effect.gen(function*() {
      const escape = yield* Effect.flip(run([tar(entry({ name: "a/../../x", data: "x" }))]))
      assert.strictEqual(escape._tag, "InvalidLayer")
      assert.match(escape.message, /climbs out of the root/)
      const body = ` comment=${"a".repeat(Merge.MAX_META)}\n`
      const huge = tar(entry({ name: "h", type: "x", data: `${body.length + 7}${body}` }), entry({ name: "x" }))
      const tooBig = yield* Effect.flip(run([huge]))
      assert.strictEqual(tooBig._tag, "InvalidLayer")
      assert.match(tooBig.message, /extended header of \d+ bytes/)
      const link = yield* Effect.flip(run([tar(entry({ name: "l", type: "1", linkname: "../../etc/passwd" }))]))
      assert.match(link.message, /outside the root/)
      const abs = yield* run([tar(entry({ name: "/abs/file", data: "abs" }))])
      assert.deepStrictEqual(listing(abs), ["-rw-r--r-- abs/file"])
    }))

  it.effect("a bad checksum, a truncated entry, a malformed PAX record: InvalidLayer", () =>
    Effect.gen(function*() {
      const bad = entry({ name: "x", data: "x" })
      bad[0] = 0x79
      assert.match((yield* Effect.flip(run([tar(bad)]))).message, /bad header checksum at byte 0/)
      const whole = tar(entry({ name: "x", data: "x".repeat(2000) }))
      assert.match((yield* Effect.flip(run([whole.subarray(0, 1000)]))).message, /ends inside an entry/)
      const pax = tar(entry({ name: "h", type: "x", data: "99 path=x\n" }), entry({ name: "x" }))
      assert.match((yield* Effect.flip(run([pax]))).message, /malformed PAX header/)
    }))

  it.effect("long paths and link targets round-trip through PAX headers", () =>
    Effect.gen(function*() {
      const long = `${"d".repeat(120)}/${"e".repeat(120)}/file`
      const body = (k: string, v: string) => {
        const b = ` ${k}=${v}\n`
        let n = b.length + 1
        while (`${n}${b}`.length !== n) n++
        return `${n}${b}`
      }
      const layer = tar(
        entry({ name: "p", type: "x", data: body("path", long) }),
        entry({ name: "ignored", data: "content" }),
        entry({ name: "q", type: "x", data: body("linkpath", long) }),
        entry({ name: "s", type: "2" })
      )
      const merged = yield* run([layer])
      assert.deepStrictEqual(listing(merged), [`-rw-r--r-- ${long}`, `lrw-r--r-- s -> ${long}`])
    }))
})

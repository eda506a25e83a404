// `Validate.validate` with `full` reads each layer's tar stream with the tar codec's header decoder, so an
// entry's size is the one a PAX `size` record (or a GNU base-256 size field) gives — as for files of 8 GiB and
// more, whose size ustar's 11 octal digits cannot hold. The entries here are small, their size field 0 (or
// base-256) and the real size in the PAX record; their data looks like tar headers and junk, so a reader that
// trusted the ustar field would misread the rest of the layer.
import { assert, describe, it } from "@effect/vitest"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as TarCodec from "@ocidist/layout/Tar"
import { RawLayout, Tar, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as path from "node:path"
import { Validate } from "../src/index.js"
import * as NodeCompression from "../src/NodeCompression.js"
import { nodeLayer } from "./helpers.js"

const layer = Layer.mergeAll(nodeLayer, NodeRegistryClient.layer(), NodeCompression.layer())

/**
 * The data of the big entry: a tar entry (a header that checksums) then 700 bytes of text that does not. Big
 * enough, with the PAX header's 100 kB extended attribute, to reach the checker in several decompressed chunks.
 */
const inner = Tar.entry({ name: "inner.txt", data: "inside a tar inside the layer\n".repeat(2000) })
const body = Buffer.concat([inner, Buffer.from("junk, not a tar header! ".repeat(30).slice(0, 700))])

/** `bytes` followed by the zeros that pad them to a block. */
const padded = (bytes: Uint8Array) => Buffer.concat([bytes, TarCodec.padding(bytes.length)])

/** A PAX header of `size` and a 100 kB extended attribute. */
const paxHeader = (size: number) =>
  Tar.entry({
    name: "PaxHeaders.0/big.tar",
    type: "x",
    data: TarCodec.paxRecord("SCHILY.xattr.user.big", "x".repeat(100_000)) + TarCodec.paxRecord("size", String(size))
  })

/** A layer tar: a file `big.tar` whose ustar size field says 0 and whose PAX header says `size`; `body` follows. */
const paxLayer = (size: number) =>
  Tar.archive([
    paxHeader(size),
    Tar.entry({ name: "big.tar" }),
    padded(body),
    Tar.entry({ name: "after.txt", data: "after the big file" })
  ])

/** A layer tar: a file `huge.bin` whose size field is GNU base-256 (as for sizes of 8 GiB and more). */
const base256Layer = (size: number) => {
  const header = TarCodec.encode({ path: "huge.bin", size: 0 })
  header[124] = 0x80
  for (let i = 135, v = size; i > 124; i--, v = Math.floor(v / 256)) header[i] = v % 256
  header.fill(0x20, 148, 156)
  const sum = header.reduce((a, b) => a + b, 0)
  header.set(Buffer.from(`${sum.toString(8).padStart(6, "0")}\0 `), 148)
  return Tar.archive([header, padded(body), Tar.entry({ name: "after.txt", data: "after the big file" })])
}

/** An image of one gzipped layer `tar` in `layout`, tagged `tag`: its layer's and manifest's digests. */
const image = (layout: string, tag: string, tar: Uint8Array) => {
  const written = RawLayout.putTarImage(layout, tag, tar)
  return { layer: written.layer.digest, manifest: written.manifest.digest }
}

const problemsOf = (location: string) =>
  Effect.map(
    Validate.validate(location, { full: true }),
    (v) => v.problems.map((p) => [p.kind, p.digest, p.parent, p.detail])
  )

describe("Validate.validate (full): entry sizes from PAX records and base-256 fields", () => {
  it.effect("a PAX size over a ustar size of 0: read as the PAX record says; one that disagrees is InvalidLayer", () =>
    Effect.gen(function*() {
      const layout = path.join(yield* Tools.tempDir("ocidist-validate-pax-"), "layout")
      image(layout, "good", paxLayer(body.length))
      const report = yield* Validate.validate(`oci:${layout}:good`, { full: true })
      assert.deepStrictEqual(report.problems, [])
      assert.strictEqual(report.checked, 3)
      // the PAX size runs past the data, over the next entry and the end of the archive
      const longer = image(layout, "longer", paxLayer(body.length + 4096))
      assert.deepStrictEqual(yield* problemsOf(`oci:${layout}:longer`), [
        ["InvalidLayer", longer.layer, longer.manifest, "the tar stream is truncated (after 1 entries)"]
      ])
      // the PAX size stops at the inner entry: the next header read is the junk
      const shorter = image(layout, "shorter", paxLayer(inner.length))
      const at = paxHeader(inner.length).length + 512 + inner.length
      assert.deepStrictEqual(yield* problemsOf(`oci:${layout}:shorter`), [
        ["InvalidLayer", shorter.layer, shorter.manifest, `bad header checksum at byte ${at} (entry 2)`]
      ])
      // an extended header above the codec's bound is not read (nor held) but reported
      const huge = image(
        layout,
        "huge",
        Tar.archive([
          Tar.entry({ name: "PaxHeaders.0/f", type: "x", data: new Uint8Array(TarCodec.MAX_META + 1).fill(0x61) }),
          Tar.entry({ name: "f" })
        ])
      )
      assert.deepStrictEqual(yield* problemsOf(`oci:${layout}:huge`), [[
        "InvalidLayer",
        huge.layer,
        huge.manifest,
        `an extended header of ${
          TarCodec.MAX_META + 1
        } bytes at byte 0 (the limit is ${TarCodec.MAX_META} bytes) (entry 1)`
      ]])
    }).pipe(Effect.scoped, Effect.provide(layer)))

  it.effect("a GNU base-256 size field: read as such; one that disagrees with the data is InvalidLayer", () =>
    Effect.gen(function*() {
      const layout = path.join(yield* Tools.tempDir("ocidist-validate-base256-"), "layout")
      image(layout, "good", base256Layer(body.length))
      assert.deepStrictEqual(yield* problemsOf(`oci:${layout}:good`), [])
      const longer = image(layout, "longer", base256Layer(body.length + 4096))
      assert.deepStrictEqual(yield* problemsOf(`oci:${layout}:longer`), [
        ["InvalidLayer", longer.layer, longer.manifest, "the tar stream is truncated (after 1 entries)"]
      ])
    }).pipe(Effect.scoped, Effect.provide(layer)))
})

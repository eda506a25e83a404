// Copies that recompress layers (`compress`), and the conversions destinations need: zstd written into an
// OCI layout (skopeo reads it; umoci 0.4 reads no zstd from anyone, so it unpacks it recompressed to gzip),
// zstd layers into a docker-archive or Docker v2s2 recompressed to gzip (the config, and so its diff_ids,
// unchanged), refused before anything is written when recompression is off.
import { assert, describe, it } from "@effect/vitest"
import * as MediaType from "@ocidist/spec/MediaType"
import { RawLayout, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { Ocidist } from "../src/index.js"
import { ocidistLayer, verifyLayout } from "./helpers.js"
import { tarOf, text } from "./layers.js"

const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

const ok = (result: Tools.RunResult, what: string) => {
  assert.strictEqual(result.exitCode, 0, `${what}: ${result.stderr}`)
  return result.stdout
}

type Desc = RawLayout.Descriptor

const blob = (dir: string, mediaType: string, bytes: Uint8Array | string): Desc =>
  RawLayout.putBlob(dir, bytes, mediaType)

/** An OCI layout with one image of two uncompressed layers of text (as builders that do not compress write). */
const plainLayout = (dir: string) => {
  fs.mkdirSync(path.join(dir, "blobs", "sha256"), { recursive: true })
  fs.writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  const tars = [tarOf("etc/motd", text(30_000)), tarOf("app/readme.txt", text(12_000))]
  const layers = tars.map((t) => blob(dir, MediaType.OCI_LAYER, t))
  const config = blob(
    dir,
    MediaType.OCI_CONFIG,
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/bin/sh"] },
      rootfs: { type: "layers", diff_ids: tars.map((t) => sha256(t)) }
    })
  )
  const manifest = blob(
    dir,
    MediaType.OCI_MANIFEST,
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config, layers })
  )
  fs.writeFileSync(
    path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": "plain" } }]
    })
  )
  return { tars, diffIds: tars.map((t) => sha256(t)), config }
}

/** The image manifest a layout's tag names. */
const manifestIn = (dir: string, tag: string) => {
  const index = JSON.parse(fs.readFileSync(path.join(dir, "index.json"), "utf8")) as {
    manifests: Array<Desc & { annotations?: Record<string, string> }>
  }
  const d = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag)!
  return JSON.parse(fs.readFileSync(path.join(dir, "blobs", "sha256", d.digest.slice(7)), "utf8")) as {
    mediaType: string
    config: Desc
    layers: Array<Desc>
  }
}

const blobIn = (dir: string, digest: string) => fs.readFileSync(path.join(dir, "blobs", "sha256", digest.slice(7)))

const zstdDecompress = (bytes: Uint8Array) => spawnSync("zstd", ["-d", "-c"], { input: bytes }).stdout

const stack = () => ocidistLayer()

describe("recompression in copies", () => {
  it.scopedLive("--compress zstd into an OCI layout: zstd layers, config unchanged, read by skopeo and umoci", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-recompress-")
      const src = path.join(dir, "src")
      const { config, diffIds, tars } = plainLayout(src)
      const dst = path.join(dir, "zstd")
      const result = yield* Ocidist.copy(`oci:${src}:plain`, `oci:${dst}:z`, { compress: "zstd", compressLevel: 9 })
      const m = manifestIn(dst, "z")
      assert.deepStrictEqual(m.layers.map((l) => l.mediaType), [MediaType.OCI_LAYER_ZSTD, MediaType.OCI_LAYER_ZSTD])
      assert.deepStrictEqual(m.config, config, "the config (its diff_ids) is unchanged")
      m.layers.forEach((l, i) => {
        const bytes = blobIn(dst, l.digest)
        assert.strictEqual(sha256(bytes), l.digest)
        assert.strictEqual(bytes.length, l.size)
        assert.isBelow(l.size, tars[i]!.length / 4)
        assert.strictEqual(sha256(zstdDecompress(bytes)), diffIds[i])
      })
      const layers = result.blobs.filter((b) => b.recompressed !== undefined)
      assert.deepStrictEqual(layers.map((b) => [b.recompressed!.from, b.recompressed!.to]), [["none", "zstd"], [
        "none",
        "zstd"
      ]])
      assert.deepStrictEqual(layers.map((b) => b.digest), m.layers.map((l) => l.digest))
      assert.notStrictEqual(result.digest, result.images[0]!.sourceDigest)
      yield* verifyLayout(dst)

      ok(yield* Tools.skopeo(["copy", `oci:${dst}:z`, `dir:${path.join(dir, "dir")}`]), "skopeo copy oci: dir:")
      // skopeo decompresses our zstd: the layers it writes are the config's diff_ids
      const plainDir = path.join(dir, "plain-dir")
      ok(
        yield* Tools.skopeo(["copy", "--dest-decompress", `oci:${dst}:z`, `dir:${plainDir}`]),
        "skopeo copy --dest-decompress"
      )
      for (const d of diffIds) assert.isTrue(fs.existsSync(path.join(plainDir, d.slice(7))), d)
      // umoci 0.4 reads no zstd (from anyone): it unpacks our zstd layers recompressed to gzip
      const gz = path.join(dir, "gz")
      const back = yield* Ocidist.copy(`oci:${dst}:z`, `oci:${gz}:g`, { compress: "gzip" })
      assert.deepStrictEqual(back.blobs.filter((b) => b.recompressed !== undefined).map((b) => b.recompressed!.from), [
        "zstd",
        "zstd"
      ])
      const bundle = path.join(dir, "bundle")
      ok(yield* Tools.umoci(["unpack", "--rootless", "--image", `${gz}:g`, bundle]), "umoci unpack")
      assert.strictEqual(
        fs.readFileSync(path.join(bundle, "rootfs", "etc", "motd"), "utf8"),
        new TextDecoder().decode(text(30_000))
      )

      // a second copy with the same settings writes the same bytes (deterministic), and keep keeps them
      const again = yield* Ocidist.copy(`oci:${dst}:z`, `oci:${path.join(dir, "kept")}:z`, { compress: "keep" })
      assert.strictEqual(again.digest, result.digest)
      assert.isTrue(again.blobs.every((b) => b.recompressed === undefined))
    }).pipe(Effect.provide(stack())))

  it.scopedLive("zstd layers into a docker-archive and into Docker v2s2 are recompressed to gzip", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-recompress-")
      const src = path.join(dir, "src")
      const { diffIds } = plainLayout(src)
      const zstd = path.join(dir, "zstd")
      yield* Ocidist.copy(`oci:${src}:plain`, `oci:${zstd}:z`, { compress: "zstd" })

      const archive = path.join(dir, "app.tar")
      const result = yield* Ocidist.copy(`oci:${zstd}:z`, `docker-archive:${archive}:app:1`)
      assert.deepStrictEqual(
        result.blobs.filter((b) => b.recompressed !== undefined).map((b) => [b.recompressed!.from, b.recompressed!.to]),
        [["zstd", "gzip"], ["zstd", "gzip"]]
      )
      const inspected = JSON.parse(
        ok(yield* Tools.skopeo(["inspect", `docker-archive:${archive}`]), "skopeo inspect docker-archive")
      ) as { Layers: Array<string> }
      assert.deepStrictEqual(inspected.Layers, diffIds)
      ok(
        yield* Tools.skopeo(["copy", `docker-archive:${archive}`, `oci:${path.join(dir, "back")}:b`]),
        "skopeo copy docker-archive: oci:"
      )

      // --format docker into a layout: a Docker v2s2 manifest with gzip layers
      const v2s2 = path.join(dir, "v2s2")
      yield* Ocidist.copy(`oci:${zstd}:z`, `oci:${v2s2}:d`, { format: "docker" })
      const m = manifestIn(v2s2, "d")
      assert.strictEqual(m.mediaType, MediaType.DOCKER_MANIFEST)
      assert.deepStrictEqual(m.layers.map((l) => l.mediaType), [
        MediaType.DOCKER_LAYER_GZIP,
        MediaType.DOCKER_LAYER_GZIP
      ])
      m.layers.forEach((l, i) => assert.strictEqual(sha256(zlib.gunzipSync(blobIn(v2s2, l.digest))), diffIds[i]))
      yield* verifyLayout(v2s2)
    }).pipe(Effect.provide(stack())))

  it.scopedLive("recompression off (keep), or zstd asked into Docker v2s2: refused before anything is written", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-recompress-")
      const src = path.join(dir, "src")
      plainLayout(src)
      const zstd = path.join(dir, "zstd")
      yield* Ocidist.copy(`oci:${src}:plain`, `oci:${zstd}:z`, { compress: "zstd" })
      const out = path.join(dir, "out")
      fs.mkdirSync(out)

      const keep = yield* Effect.flip(
        Ocidist.copy(`oci:${zstd}:z`, `docker-archive:${path.join(out, "a.tar")}`, { compress: "keep" })
      )
      assert.strictEqual(keep._tag, "IncompatibleCompression")
      assert.include(keep.message, "docker-archive has no zstd layers")
      assert.include(keep.message, "--compress gzip")
      const v2s2 = yield* Effect.flip(
        Ocidist.copy(`oci:${zstd}:z`, `oci:${path.join(out, "l")}:d`, { compress: "keep", format: "docker" })
      )
      assert.strictEqual(v2s2._tag, "IncompatibleCompression")
      const asked = yield* Effect.flip(
        Ocidist.copy(`oci:${src}:plain`, `oci:${path.join(out, "l")}:d`, { compress: "zstd", format: "docker" })
      )
      assert.strictEqual(asked._tag, "IncompatibleCompression")
      assert.include(asked.message, "Docker v2s2 manifest")
      const level = yield* Effect.flip(
        Ocidist.copy(`oci:${src}:plain`, `oci:${path.join(out, "l")}:d`, { compress: "gzip", compressLevel: 12 })
      )
      assert.strictEqual(level._tag, "UnsupportedOperation")
      assert.deepStrictEqual(fs.readdirSync(out), [], "nothing written")
    }).pipe(Effect.provide(stack())))
})

// Peak-RSS check for the streaming paths (not a test; numbers go in the report / README).
// Build first:  npx tsc -b packages/layout/tsconfig.src.json
// Run:          node packages/layout/scripts/memory.mjs [MiB=256]
import * as NodeContext from "@effect/platform-node/NodeContext"
import { DockerArchive, Layout, OciArchive } from "@ocidist/layout"
import { Digest } from "@ocidist/reference"
import * as NodeHash from "@ocidist/reference/NodeHash"
import { Storage } from "@ocidist/spec"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"

const MiB = 1024 * 1024
const total = Number(process.argv[2] ?? 256)
const base = randomBytes(MiB)
const chunk = (i) => {
  const c = new Uint8Array(base)
  new DataView(c.buffer).setUint32(0, i)
  return c
}
const content = () => Stream.map(Stream.range(0, total - 1, 1), chunk)
const hash = createHash("sha256")
for (let i = 0; i < total; i++) hash.update(chunk(i))
const digest = `sha256:${hash.digest("hex")}`
const size = total * MiB
const OCTETS = "application/octet-stream"
const layerDescriptor = { mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size }

let peak = 0
const sample = () => (peak = Math.max(peak, process.memoryUsage.rss()))
const timer = setInterval(sample, 20)
const measure = async (name, effect, bytes = size) => {
  globalThis.gc?.()
  sample()
  peak = process.memoryUsage.rss()
  const start = Date.now()
  await Effect.runPromise(Effect.provide(effect, platform))
  sample()
  const seconds = (Date.now() - start) / 1000
  console.log(
    `${name.padEnd(44)} ${String(Math.round(peak / MiB)).padStart(5)} MiB peak RSS  ${
      (bytes / MiB / seconds).toFixed(0)
    } MiB/s`
  )
}

// node:crypto hashing, as the CLI wires it
const platform = Layer.merge(NodeContext.layer, NodeHash.layer)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "layout-mem-"))
try {
  console.log(`blob: ${total} MiB, baseline RSS ${Math.round(process.memoryUsage.rss() / MiB)} MiB`)
  const layoutPath = path.join(dir, "layout")
  await measure(
    `pushBlob ${total} MiB`,
    Effect.gen(function*() {
      const layout = yield* Layout.create(layoutPath)
      yield* layout.pushBlob({ mediaType: OCTETS, digest, size }, Storage.fromStream(content()))
    })
  )
  await measure(
    `fetchBlob + hash ${total} MiB`,
    Effect.gen(function*() {
      const layout = yield* Layout.open(layoutPath)
      const result = yield* Digest.fromStream(layout.fetchBlob(layerDescriptor))
      if (result.digest !== digest) throw new Error("digest")
    })
  )
  // make it an image (uncompressed layer) to exercise the archive writers
  const encoder = new TextEncoder()
  const config = encoder.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [digest] }
  }))
  const configDigest = Digest.ofBytes(config)
  const manifest = encoder.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size }]
  }))
  await Effect.runPromise(Effect.provide(
    Effect.gen(function*() {
      const layout = yield* Layout.open(layoutPath)
      yield* layout.pushBlob(
        { mediaType: OCTETS, digest: configDigest, size: config.length },
        Storage.fromBytes(config)
      )
      yield* layout.pushManifestBytes(manifest, { tag: "big" })
    }),
    platform
  ))
  await measure(
    `verify (hash everything)`,
    Effect.gen(function*() {
      const report = yield* (yield* Layout.open(layoutPath)).verify()
      if (!report.ok) throw new Error("verify")
    })
  )
  await measure(
    `OciArchive.write`,
    Effect.gen(function*() {
      yield* OciArchive.write(path.join(dir, "oci.tar"), yield* Layout.open(layoutPath))
    })
  )
  await measure(
    `OciArchive.open + copy to a new layout`,
    Effect.gen(function*() {
      const archive = yield* OciArchive.open(path.join(dir, "oci.tar"))
      const to = yield* Layout.openOrCreate(path.join(dir, "copy"))
      // one image through the Storage interfaces (the facade's copy engine does this for any two stores)
      const image = yield* archive.fetchManifest(yield* archive.resolve("big"))
      for (const blob of [image.manifest.config, ...image.manifest.layers]) {
        yield* to.pushBlob(blob, { open: (offset) => archive.fetchBlob(blob, { offset }), verified: false })
      }
      yield* to.pushManifest(image, { tags: ["big"] })
    })
  )
  fs.rmSync(path.join(dir, "copy"), { recursive: true })
  fs.rmSync(path.join(dir, "oci.tar"))
  await measure(
    `DockerArchive.write (uncompressed layer)`,
    Effect.gen(function*() {
      const layout = yield* Layout.open(layoutPath)
      yield* DockerArchive.write(path.join(dir, "docker.tar"), layout, [{
        descriptor: yield* layout.resolve("big"),
        repoTags: ["big:1"]
      }])
    })
  )
  await measure(
    `DockerArchive.open (diff_ids trusted)`,
    Effect.gen(function*() {
      const archive = yield* DockerArchive.open(path.join(dir, "docker.tar"))
      yield* archive.resolve("big:1")
    })
  )
  fs.rmSync(path.join(dir, "docker.tar"))
  // gzip layer: gunzipped twice while streaming into the docker-archive
  const gz = zlib.gzipSync(Buffer.concat(Array.from({ length: Math.min(total, 64) }, (_, i) => chunk(i))), { level: 1 })
  const gzDigest = Digest.ofBytes(gz)
  const rawHash = createHash("sha256")
  for (let i = 0; i < Math.min(total, 64); i++) rawHash.update(chunk(i))
  const config2 = encoder.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [`sha256:${rawHash.digest("hex")}`] }
  }))
  const manifest2 = encoder.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: Digest.ofBytes(config2),
      size: config2.length
    },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: gzDigest, size: gz.length }]
  }))
  await Effect.runPromise(Effect.provide(
    Effect.gen(function*() {
      const layout = yield* Layout.open(layoutPath)
      yield* layout.pushBlob(
        { mediaType: OCTETS, digest: gzDigest, size: gz.length },
        Storage.fromBytes(new Uint8Array(gz))
      )
      yield* layout.pushBlob(
        { mediaType: OCTETS, digest: Digest.ofBytes(config2), size: config2.length },
        Storage.fromBytes(config2)
      )
      yield* layout.pushManifestBytes(manifest2, { tag: "gz" })
    }),
    platform
  ))
  await measure(
    `DockerArchive.write (gzip layer, ${Math.min(total, 64)} MiB, 2 passes)`,
    Effect.gen(function*() {
      const layout = yield* Layout.open(layoutPath)
      yield* DockerArchive.write(path.join(dir, "docker-gz.tar"), layout, [{
        descriptor: yield* layout.resolve("gz"),
        repoTags: ["gz:1"]
      }])
    }),
    Math.min(total, 64) * MiB
  )
} finally {
  clearInterval(timer)
  fs.rmSync(dir, { recursive: true, force: true })
}

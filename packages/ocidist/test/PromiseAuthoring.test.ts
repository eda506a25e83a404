// The Promise API of the authoring operations (artifacts, blobs, indexes, validate, mutate, append, export,
// flatten) over the default Node stack: a real registry (Debian docker-registry) and OCI layouts; typed
// failures, a failing stream, an abort.
import { assert, describe, it } from "@effect/vitest"
import type { Digest } from "@ocidist/reference"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as promise from "../src/promise.js"
import { type Client, createClientFromLayer, isOcidistFailure, type OcidistFailure } from "../src/promise.js"
import { ocidistFor } from "./helpers.js"
import { tarOf, text } from "./layers.js"

/** The rejection of a promise (or fails the test when it resolves). */
const rejection = (promise: () => Promise<unknown>) =>
  Effect.promise(() => promise().then((value) => ({ resolved: value }), (error: unknown) => ({ rejected: error })))
    .pipe(Effect.map((r) => {
      assert.isTrue("rejected" in r, "expected a rejection")
      const rejected = (r as { readonly rejected: unknown }).rejected
      assert.isTrue(isOcidistFailure(rejected), `not an OcidistFailure: ${String(rejected)}`)
      return rejected as OcidistFailure
    }))

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

const sha256 = (bytes: Uint8Array) =>
  `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}` as Digest.Digest

/** A client over the default Node stack (own cache directory), closed with the scope. */
const clientFor = (...registries: ReadonlyArray<DockerRegistry.Instance>) =>
  Effect.acquireRelease(
    Effect.sync(() => createClientFromLayer(ocidistFor(...registries))),
    (client: Client) => Effect.promise(() => client.close())
  )

/** The paths GNU tar lists in a tar file, sorted. */
const tarPaths = (file: string) =>
  Effect.map(Tools.run("tar", ["-tf", file]), (result) => {
    assert.strictEqual(result.exitCode, 0, result.stderr)
    return result.stdout.split("\n").filter((l) => l !== "").sort()
  })

describe("ocidist/promise: authoring operations", () => {
  it.scopedLive("artifacts push / pull round trip and blobs push (file, stream) / remove in a registry", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const client = yield* clientFor(registry)
      const src = path.join(dir, "src")
      fs.mkdirSync(path.join(src, "docs", "sub"), { recursive: true })
      fs.writeFileSync(path.join(src, "a.txt"), "hello artifact\n")
      fs.writeFileSync(path.join(src, "docs", "sub", "b.txt"), "nested\n")

      const pushed = yield* call(() =>
        client.artifacts.push(`${registry.host}/art:1`, [path.join(src, "a.txt"), path.join(src, "docs")], {
          artifactType: "application/vnd.example.test",
          annotations: { "org.example.note": "promise" }
        })
      )
      assert.deepStrictEqual(pushed.tags, ["1"])
      assert.strictEqual(pushed.artifactType, "application/vnd.example.test")
      assert.strictEqual(pushed.manifest.layers.length, 2)
      const out = path.join(dir, "out")
      const pulled = yield* call(() => client.artifacts.pull(`${registry.host}/art:1`, out))
      assert.strictEqual(pulled.digest, pushed.digest)
      assert.deepStrictEqual(pulled.files.map((f) => [f.title, f.unpacked]), [["a.txt", false], ["docs", true]])
      assert.strictEqual(fs.readFileSync(path.join(out, "a.txt"), "utf8"), "hello artifact\n")
      assert.strictEqual(fs.readFileSync(path.join(out, "docs", "sub", "b.txt"), "utf8"), "nested\n")

      // attach: an artifact referring to the first, found among its referrers
      const attached = yield* call(() =>
        client.artifacts.attach(`${registry.host}/art:1`, [path.join(src, "a.txt")], {
          artifactType: "application/vnd.example.note"
        })
      )
      assert.strictEqual(attached.subject?.digest, pushed.digest)
      const referrers = yield* call(() => client.referrers(`${registry.host}/art@${pushed.digest}`))
      assert.deepStrictEqual(referrers.map((r) => r.digest), [attached.digest])

      // a blob from a file, and one from a Node Readable (spooled while hashed)
      const bytes = text(300_000)
      fs.writeFileSync(path.join(dir, "blob.txt"), bytes)
      const fromFile = yield* call(() =>
        client.blobs.push(`${registry.host}/blobs`, path.join(dir, "blob.txt"), { mediaType: "text/plain" })
      )
      assert.deepStrictEqual(fromFile, { mediaType: "text/plain", digest: sha256(bytes), size: bytes.length })
      const other = crypto.randomBytes(200_000)
      fs.writeFileSync(path.join(dir, "other.bin"), other)
      const fromStream = yield* call(() =>
        client.blobs.push(`${registry.host}/blobs`, fs.createReadStream(path.join(dir, "other.bin")))
      )
      assert.deepStrictEqual(fromStream, {
        mediaType: "application/octet-stream",
        digest: sha256(other),
        size: other.length
      })
      const removed = yield* call(() => client.blobs.remove(`${registry.host}/blobs@${fromStream.digest}`))
      assert.isTrue(removed.deleted)

      // a stream that fails: a typed FileSystemError naming it
      const failing = async function*() {
        yield new Uint8Array([1, 2, 3])
        throw new Error("disk on fire")
      }
      const broken = yield* rejection(() => client.blobs.push(`${registry.host}/blobs`, failing()))
      assert.strictEqual(broken._tag, "FileSystemError")
      if (broken._tag === "FileSystemError") assert.include(broken.error.detail, "disk on fire")
    }))

  it.scopedLive("indexes, mutate, append, validate, export, flatten in a layout; typed failures; abort", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const client = yield* clientFor()
      const fixture = path.join(dir, "fixture")
      const amd64 = yield* Fixtures.makeImage(fixture, {
        seed: "promise/authoring/amd64",
        layers: [{ size: 1000 }, { size: 2000 }]
      })
      const arm64 = yield* Fixtures.makeImage(fixture, {
        seed: "promise/authoring/arm64",
        layers: [{ size: 1500 }],
        platform: { os: "linux", architecture: "arm64", variant: "v8" }
      })
      const layout = path.join(dir, "layout")
      yield* Fixtures.writeLayout(layout, [{ root: amd64, tag: "amd64" }, { root: arm64, tag: "arm64" }])
      const at = (tag: string) => `oci:${layout}:${tag}`

      // indexes: create from two images, annotate, remove a platform
      const created = yield* call(() => client.indexes.create(at("multi"), [at("amd64"), at("arm64")]))
      assert.deepStrictEqual(created.manifests.map((m) => m.platform?.architecture), ["amd64", "arm64"])
      const annotated = yield* call(() =>
        client.indexes.annotate(at("multi"), { annotations: { "org.example.index": "yes" } })
      )
      assert.notStrictEqual(annotated.digest, created.digest)
      const removed = yield* call(() => client.indexes.remove(at("multi"), { platform: "linux/arm64" }))
      assert.deepStrictEqual(removed.manifests.map((m) => m.digest), [amd64.manifestDigest])
      const appended = yield* call(() => client.indexes.append(at("multi"), [at("arm64")]))
      assert.strictEqual(appended.manifests.length, 2)

      // mutate (a label) then validate
      const mutated = yield* call(() =>
        client.mutate(at("amd64"), { labels: { "org.example.label": "promise" }, destination: at("labelled") })
      )
      assert.strictEqual(mutated.sourceDigest, amd64.manifestDigest)
      assert.deepStrictEqual(mutated.tags, ["labelled"])
      const inspected = yield* call(() => client.inspect(at("labelled")))
      assert.strictEqual(inspected.digest, mutated.digest)
      const validation = yield* call(() => client.validate(at("labelled"), { full: true }))
      assert.isTrue(validation.ok, JSON.stringify(validation.problems))
      assert.strictEqual(validation.digest, mutated.digest)

      // append a layer (a plain tar: gzip-compressed on its way)
      const extra = path.join(dir, "extra.tar")
      fs.writeFileSync(extra, tarOf("etc/extra.txt", text(4000)))
      const withLayer = yield* call(() => client.append(at("labelled"), { layer: extra }))
      assert.strictEqual(withLayer.layer?.compression, "gzip")
      assert.isTrue(withLayer.layer?.compressed)
      const revalidated = yield* call(() => client.validate(at("labelled"), { full: true }))
      assert.isTrue(revalidated.ok, JSON.stringify(revalidated.problems))
      assert.strictEqual(revalidated.digest, withLayer.digest)

      // export: the merged filesystem, as a tar file
      const expected = [...amd64.layers.map((l) => l.fileName), "etc/", "etc/extra.txt"].sort()
      const exported = yield* call(() => client.export(at("labelled"), path.join(dir, "rootfs.tar")))
      assert.strictEqual(exported.layers, 3)
      assert.isAbove(exported.size, 0)
      assert.strictEqual(fs.statSync(path.join(dir, "rootfs.tar")).size, exported.size)
      const paths = yield* tarPaths(path.join(dir, "rootfs.tar"))
      assert.includeMembers(paths.map((p) => p.replace(/^\.\//, "")), expected.filter((p) => p !== "etc/"))

      // flatten: one layer, the same filesystem
      const flat = yield* call(() => client.flatten(at("labelled"), { tag: at("flat") }))
      assert.strictEqual(flat.sourceDigest, withLayer.digest)
      const flatValidation = yield* call(() => client.validate(at("flat"), { full: true }))
      assert.isTrue(flatValidation.ok, JSON.stringify(flatValidation.problems))
      const flatExport = yield* call(() => client.export(at("flat"), path.join(dir, "flat.tar")))
      assert.strictEqual(flatExport.layers, 1)
      assert.deepStrictEqual(yield* tarPaths(path.join(dir, "flat.tar")), paths)

      // a typed failure: no entry of that platform
      const none = yield* rejection(() => client.indexes.remove(at("multi"), { platform: "linux/s390x" }))
      assert.strictEqual(none._tag, "PlatformNotFound")
      if (none._tag === "PlatformNotFound") {
        assert.strictEqual(none.error.wanted, "linux/s390x")
        assert.includeMembers([...none.error.available], ["linux/amd64"])
      }

      // aborted before it starts: Interrupted, nothing written
      const controller = new AbortController()
      controller.abort()
      const aborted = yield* rejection(() =>
        client.export(at("flat"), path.join(dir, "aborted.tar"), { signal: controller.signal })
      )
      assert.strictEqual(aborted._tag, "Interrupted")
      assert.isFalse(fs.existsSync(path.join(dir, "aborted.tar")))
    }))

  it.scopedLive("the module's functions use the shared default client", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      // the default client's cache directory: not the user's
      const previous = process.env.OCIDIST_CACHE_DIR
      process.env.OCIDIST_CACHE_DIR = path.join(dir, "cache")
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (previous === undefined) delete process.env.OCIDIST_CACHE_DIR
          else process.env.OCIDIST_CACHE_DIR = previous
        })
      )
      const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
        seed: "promise/authoring/shared",
        layers: [{ size: 700 }]
      })
      const layout = path.join(dir, "layout")
      yield* Fixtures.writeLayout(layout, [{ root: image, tag: "1" }])
      const index = yield* call(() => promise.indexes.create(`oci:${layout}:multi`, [`oci:${layout}:1`]))
      assert.deepStrictEqual(index.manifests.map((m) => m.digest), [image.manifestDigest])
      const report = yield* call(() => promise.validate(`oci:${layout}:multi`, { full: true }))
      assert.isTrue(report.ok, JSON.stringify(report.problems))
      const exported = yield* call(() => promise.exportImage(`oci:${layout}:1`, path.join(dir, "rootfs.tar")))
      assert.deepStrictEqual(yield* tarPaths(exported.path), [image.layers[0]!.fileName])
      const missing = yield* rejection(() => promise.artifacts.pull(`oci:${layout}:nope`, path.join(dir, "out")))
      assert.strictEqual(missing._tag, "ImageNotFound")
      if (missing._tag === "ImageNotFound") assert.strictEqual(missing.error.reference, "nope")
    }))
})

import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, expect, layer } from "@effect/vitest"
import { Layout } from "@ocidist/layout"
import { Digest } from "@ocidist/reference"
import * as MediaType from "@ocidist/spec/MediaType"
import { Fixtures } from "@ocidist/testing"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as nodeFs from "node:fs"
import * as nodePath from "node:path"

const encoder = new TextEncoder()
const bytesOf = (n: number, seed = 1) => {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    out[i] = x & 0xff
  }
  return out
}
const chunks = (bytes: Uint8Array, size: number) => {
  const out: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size))
  return Stream.fromIterable(out)
}
const readAll = <E>(stream: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(stream), (c) => Buffer.concat([...c]))
const blobFile = (dir: string, digest: string) => nodePath.join(dir, "blobs", "sha256", digest.slice(7))
const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "layout-test-" }))

/** An image written by the test harness (plain node:fs) into a layout, tagged `tag`. */
const fixtureLayout = (dir: string, tag = "v1", seed = "img") =>
  Effect.gen(function*() {
    const image = yield* Fixtures.makeImage(nodePath.join(dir, "store"), {
      seed,
      layers: [{ size: 3000 }, { size: 70_000 }]
    })
    yield* Fixtures.writeLayout(nodePath.join(dir, "layout"), [{ tag, root: image }])
    return { image, path: nodePath.join(dir, "layout") }
  })

layer(NodeContext.layer)("Layout", (it) => {
  describe("open / create", () => {
    it.scoped("creates a layout that other tools recognise", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(nodePath.join(dir, "new"))
        const root = nodePath.join(dir, "new")
        assert.deepStrictEqual(JSON.parse(nodeFs.readFileSync(nodePath.join(root, "oci-layout"), "utf8")), {
          imageLayoutVersion: "1.0.0"
        })
        const index = JSON.parse(nodeFs.readFileSync(nodePath.join(root, "index.json"), "utf8"))
        assert.deepStrictEqual(index, { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [] })
        assert.deepStrictEqual(yield* layout.entries, [])
        const again = yield* Effect.flip(Layout.create(root))
        assert.strictEqual(again.reason, "NotALayout")
        const reopened = yield* Layout.openOrCreate(root)
        assert.strictEqual(reopened.path, root)
      }))

    it.scoped("refuses a directory without oci-layout", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const error = yield* Effect.flip(Layout.open(dir))
        assert.strictEqual(error._tag, "LayoutError")
        assert.strictEqual(error.reason, "NotALayout")
        nodeFs.writeFileSync(nodePath.join(dir, "oci-layout"), "{\"imageLayoutVersion\":\"2.0.0\"}")
        nodeFs.writeFileSync(nodePath.join(dir, "index.json"), "{\"schemaVersion\":2,\"manifests\":[]}")
        const version = yield* Effect.flip(Layout.open(dir))
        expect(version.message).toContain("imageLayoutVersion")
      }))

    it.scoped("reads a layout written by plain node:fs and resolves tags and digests", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, path } = yield* fixtureLayout(dir)
        const layout = yield* Layout.open(path)
        const byTag = yield* layout.resolve("v1")
        assert.strictEqual(byTag.digest, image.manifestDigest)
        const byDigest = yield* layout.resolve(image.manifestDigest)
        assert.strictEqual(byDigest.digest, image.manifestDigest)
        assert.strictEqual((yield* layout.resolve("")).digest, image.manifestDigest)
        const missing = yield* Effect.flip(layout.resolve("nope"))
        assert.strictEqual(missing.reason, "NotFound")
        const manifest = yield* layout.readManifest(byTag)
        assert.strictEqual(manifest._tag, "ImageManifest")
        assert.strictEqual(manifest.digest, image.manifestDigest)
        const layer = image.layers[1]!
        const content = yield* readAll(layout.readBlob(layer.digest as Digest.Digest))
        assert.strictEqual(Digest.ofBytes(content), layer.digest)
        const tail = yield* readAll(layout.readBlob(layer.digest as Digest.Digest, { offset: 1000 }))
        assert.strictEqual(tail.length, layer.size - 1000)
        assert.deepStrictEqual(yield* layout.blobSize(layer.digest as Digest.Digest), Option.some(layer.size))
        assert.isFalse(yield* layout.hasBlob(Digest.ofBytes("nope")))
        const notFound = yield* Effect.flip(Stream.runDrain(layout.readBlob(Digest.ofBytes("nope"))))
        assert.strictEqual(notFound.reason, "BlobNotFound")
      }))
  })

  describe("writeBlob", () => {
    it.scoped("streams content into blobs/<alg>/<hex> and skips existing blobs", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const content = bytesOf(300_000)
        const digest = Digest.ofBytes(content)
        const first = yield* layout.writeBlob({ digest, size: content.length }, chunks(content, 7000))
        assert.deepStrictEqual(first, { digest, size: content.length, existed: false })
        assert.deepStrictEqual(new Uint8Array(nodeFs.readFileSync(blobFile(dir, digest))), content)
        const second = yield* layout.writeBlob({ digest }, Stream.fail("must not be read"))
        assert.isTrue(second.existed)
        assert.deepStrictEqual(nodeFs.readdirSync(nodePath.join(dir, "ingest")), [])
      }))

    it.scoped("digest mismatch leaves neither a final blob nor a partial", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const digest = Digest.ofBytes("expected")
        const error = yield* Effect.flip(layout.writeBlob({ digest }, Stream.make(encoder.encode("something else"))))
        assert.strictEqual(error._tag, "DigestMismatch")
        assert.isFalse(nodeFs.existsSync(blobFile(dir, digest)))
        assert.deepStrictEqual(yield* layout.partialSize(digest), Option.none())
      }))

    it.scoped("size mismatch fails early (too long) and at the end (too short)", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const content = bytesOf(10_000)
        const digest = Digest.ofBytes(content)
        const tooLong = yield* Effect.flip(layout.writeBlob({ digest, size: 5000 }, chunks(content, 1000)))
        assert.strictEqual(tooLong._tag === "LayoutError" && tooLong.reason, "SizeMismatch")
        const tooShort = yield* Effect.flip(layout.writeBlob({ digest, size: 20_000 }, chunks(content, 1000)))
        assert.strictEqual(tooShort._tag === "LayoutError" && tooShort.reason, "SizeMismatch")
        assert.isFalse(yield* layout.hasBlob(digest))
        assert.deepStrictEqual(yield* layout.partialSize(digest), Option.none())
      }))

    it.scoped("verified content is stored without a second hash, but only once the content completes", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const content = bytesOf(50_000)
        const digest = Digest.ofBytes(content)
        // a verifying source (like RegistryClient.blobs.get) fails at its end when the bytes are wrong
        const failing = Stream.concat(chunks(content, 10_000), Stream.fail("digest mismatch upstream" as const))
        const error = yield* Effect.flip(
          layout.writeBlob({ digest, size: content.length }, failing, { verified: true })
        )
        assert.strictEqual(error, "digest mismatch upstream")
        assert.isFalse(yield* layout.hasBlob(digest))
        yield* layout.discardPartial(digest)
        const tooShort = yield* Effect.flip(
          layout.writeBlob({ digest, size: content.length + 1 }, chunks(content, 10_000), { verified: true })
        )
        assert.strictEqual(tooShort._tag === "LayoutError" && tooShort.reason, "SizeMismatch")
        const written = yield* layout.writeBlob({ digest, size: content.length }, chunks(content, 10_000), {
          verified: true
        })
        assert.deepStrictEqual(written, { digest, size: content.length, existed: false })
        assert.deepStrictEqual(new Uint8Array(nodeFs.readFileSync(blobFile(dir, digest))), content)
      }))

    it.scoped("concurrent writers of the same blob all succeed with one final file", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layouts = yield* Effect.all([Layout.open(dir), Layout.open(dir)]).pipe(
          Effect.catchAll(() => Effect.zipRight(Layout.create(dir), Effect.all([Layout.open(dir), Layout.open(dir)])))
        )
        const content = bytesOf(200_000, 7)
        const digest = Digest.ofBytes(content)
        const results = yield* Effect.forEach(
          Array.from({ length: 12 }, (_, i) => i),
          (i) => layouts[i % 2]!.writeBlob({ digest, size: content.length }, chunks(content, 4096 + i)),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(results.filter((r) => !r.existed).length, 1)
        assert.deepStrictEqual(new Uint8Array(nodeFs.readFileSync(blobFile(dir, digest))), content)
        assert.deepStrictEqual(nodeFs.readdirSync(nodePath.join(dir, "ingest")), [])
        assert.deepStrictEqual(nodeFs.readdirSync(nodePath.join(dir, "blobs", "sha256")), [digest.slice(7)])
      }))

    it.scoped("interruption leaves no final blob and a resumable partial", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const content = bytesOf(100_000, 3)
        const digest = Digest.ofBytes(content)
        const written = yield* Deferred.make<void>()
        const first = content.subarray(0, 40_000)
        const fiber = yield* Effect.fork(
          layout.writeBlob(
            { digest, size: content.length },
            Stream.concat(
              chunks(first, 10_000),
              Stream.fromEffect(Effect.zipRight(Deferred.succeed(written, undefined), Effect.never))
            )
          )
        )
        yield* Deferred.await(written)
        yield* Fiber.interrupt(fiber)
        assert.isFalse(yield* layout.hasBlob(digest))
        assert.deepStrictEqual(yield* layout.partialSize(digest), Option.some(40_000))

        // resuming from a larger offset than the partial has is refused
        const tooFar = yield* Effect.flip(
          layout.writeBlob({ digest }, Stream.empty, { resumeFrom: 50_000 })
        )
        assert.strictEqual(tooFar._tag === "LayoutError" && tooFar.reason, "PartialMissing")

        // resume from a shorter prefix (the partial is truncated to it) with the rest of the content
        const result = yield* layout.writeBlob(
          { digest, size: content.length },
          chunks(content.subarray(30_000), 9999),
          { resumeFrom: 30_000 }
        )
        assert.deepStrictEqual(result, { digest, size: content.length, existed: false })
        assert.deepStrictEqual(new Uint8Array(nodeFs.readFileSync(blobFile(dir, digest))), content)
        assert.deepStrictEqual(yield* layout.partialSize(digest), Option.none())
      }))

    it.scoped("a failing source keeps the partial; a wrong resumed tail removes it", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const content = bytesOf(50_000, 5)
        const digest = Digest.ofBytes(content)
        const error = yield* Effect.flip(
          layout.writeBlob({ digest }, Stream.concat(chunks(content.subarray(0, 20_000), 5000), Stream.fail("network")))
        )
        assert.strictEqual(error, "network")
        assert.deepStrictEqual(yield* layout.partialSize(digest), Option.some(20_000))
        const wrong = yield* Effect.flip(
          layout.writeBlob({ digest }, Stream.make(bytesOf(30_000, 6)), { resumeFrom: 20_000 })
        )
        assert.strictEqual(wrong._tag, "DigestMismatch")
        assert.deepStrictEqual(yield* layout.partialSize(digest), Option.none())
        assert.isFalse(yield* layout.hasBlob(digest))
      }))
  })

  describe("index.json", () => {
    it.scoped("N fibers tagging different names, through two Layout values: all tags present", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const a = yield* Layout.create(dir)
        const b = yield* Layout.open(dir)
        const manifests = Array.from({ length: 24 }, (_, i) =>
          encoder.encode(JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.OCI_MANIFEST,
            config: { mediaType: MediaType.OCI_EMPTY, digest: Digest.ofBytes("{}"), size: 2 },
            layers: [],
            annotations: { n: String(i) }
          })))
        yield* Effect.forEach(
          manifests,
          (bytes, i) => (i % 2 === 0 ? a : b).writeManifest(bytes, { tag: `t${i}` }),
          { concurrency: "unbounded" }
        )
        const entries = yield* a.entries
        assert.strictEqual(entries.length, 24)
        const tags = entries.map((e) => e.annotations?.["org.opencontainers.image.ref.name"]).sort()
        assert.deepStrictEqual(tags, manifests.map((_, i) => `t${i}`).sort())
        assert.deepStrictEqual(
          nodeFs.readdirSync(dir).filter((n) => n.startsWith("index.json.")),
          [],
          "no temporary index files left"
        )
      }))

    it.scoped("tag replaces, untag removes, addEntry and removeEntries", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, path } = yield* fixtureLayout(dir)
        const layout = yield* Layout.open(path)
        const other = yield* layout.writeManifest(
          encoder.encode(JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.OCI_MANIFEST,
            config: { mediaType: MediaType.OCI_EMPTY, digest: Digest.ofBytes("{}"), size: 2 },
            layers: []
          }))
        )
        assert.strictEqual((yield* layout.entries).length, 1, "writeManifest without tag adds no entry")
        yield* layout.tag(other, "v1")
        assert.strictEqual((yield* layout.resolve("v1")).digest, other.digest)
        assert.strictEqual((yield* layout.entries).length, 1)
        yield* layout.tag(other, "v2")
        yield* layout.addEntry(image.descriptor as never)
        yield* layout.addEntry(image.descriptor as never)
        assert.strictEqual((yield* layout.entries).length, 3)
        assert.isTrue(yield* layout.untag("v2"))
        assert.isFalse(yield* layout.untag("v2"))
        assert.strictEqual(yield* layout.removeEntries(other.digest), 1)
        const left = yield* layout.entries
        assert.deepStrictEqual(left.map((e) => e.digest), [image.manifestDigest])
        const badTag = yield* Effect.flip(layout.tag(other, "../../etc"))
        assert.strictEqual(badTag.reason, "InvalidTag")
      }))

    it.scoped("keeps unknown top-level fields of index.json", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { path } = yield* fixtureLayout(dir)
        const indexPath = nodePath.join(path, "index.json")
        const index = JSON.parse(nodeFs.readFileSync(indexPath, "utf8"))
        nodeFs.writeFileSync(indexPath, JSON.stringify({ ...index, annotations: { keep: "me" } }))
        const layout = yield* Layout.open(path)
        yield* layout.tag(yield* layout.resolve("v1"), "v2")
        const after = JSON.parse(nodeFs.readFileSync(indexPath, "utf8"))
        assert.deepStrictEqual(after.annotations, { keep: "me" })
        assert.strictEqual(after.manifests.length, 2)
      }))
  })

  describe("path traversal", () => {
    it.scoped("refuses malicious digests from callers, index.json and manifests", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { path } = yield* fixtureLayout(dir)
        nodeFs.writeFileSync(nodePath.join(dir, "secret"), "secret")
        const layout = yield* Layout.open(path)
        const evil = "sha256:../../secret" as Digest.Digest
        const read = yield* Effect.flip(Stream.runDrain(layout.readBlob(evil)))
        assert.strictEqual(read.reason, "InvalidDigest")
        assert.strictEqual((yield* Effect.flip(layout.hasBlob(evil))).reason, "InvalidDigest")
        const write = yield* Effect.flip(layout.writeBlob({ digest: evil }, Stream.make(encoder.encode("x"))))
        assert.strictEqual(write._tag === "LayoutError" && write.reason, "InvalidDigest")
        assert.strictEqual((yield* Effect.flip(layout.partialSize(evil))).reason, "InvalidDigest")

        // a manifest whose layer digest is a path
        const bad = encoder.encode(
          `{"schemaVersion":2,"mediaType":"${MediaType.OCI_MANIFEST}","config":{"mediaType":"${MediaType.OCI_EMPTY}","digest":"${
            Digest.ofBytes("{}")
          }","size":2},"layers":[{"mediaType":"x","digest":"sha256:../../../secret","size":6}]}`
        )
        const badDigest = Digest.ofBytes(bad)
        nodeFs.writeFileSync(blobFile(path, badDigest), bad)
        const manifest = yield* Effect.flip(
          layout.readManifest({ mediaType: MediaType.OCI_MANIFEST, digest: badDigest, size: bad.length })
        )
        assert.strictEqual(manifest._tag, "InvalidManifest")

        // an index.json entry whose digest is a path
        const indexPath = nodePath.join(path, "index.json")
        nodeFs.writeFileSync(
          indexPath,
          JSON.stringify({
            schemaVersion: 2,
            manifests: [{ mediaType: MediaType.OCI_MANIFEST, digest: "sha256:../../secret", size: 6 }]
          })
        )
        const entries = yield* Effect.flip(layout.entries)
        assert.strictEqual(entries.reason, "InvalidIndex")
        assert.strictEqual((yield* Effect.flip(layout.resolve("v1"))).reason, "InvalidIndex")
      }))
  })

  describe("verify", () => {
    it.scoped("passes on a good layout, reports missing, corrupt and truncated blobs", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const image = yield* Fixtures.makeImage(nodePath.join(dir, "store"), {
          seed: "verify",
          layers: [{ size: 2000 }, { size: 3000 }, { size: 4000 }]
        })
        const path = nodePath.join(dir, "layout")
        yield* Fixtures.writeLayout(path, [{ tag: "v1", root: image }])
        const layout = yield* Layout.open(path)
        const good = yield* layout.verify()
        assert.isTrue(good.ok)
        assert.strictEqual(good.checked, 5)

        const [missing, corrupt, truncated] = image.layers
        nodeFs.rmSync(blobFile(path, missing!.digest))
        const corruptBytes = nodeFs.readFileSync(blobFile(path, corrupt!.digest))
        corruptBytes[100] = corruptBytes[100]! ^ 0xff
        nodeFs.rmSync(blobFile(path, corrupt!.digest))
        nodeFs.writeFileSync(blobFile(path, corrupt!.digest), corruptBytes)
        nodeFs.rmSync(blobFile(path, truncated!.digest))
        nodeFs.writeFileSync(blobFile(path, truncated!.digest), new Uint8Array(10))
        const report = yield* layout.verify()
        assert.isFalse(report.ok)
        const kinds = Object.fromEntries(report.problems.map((p) => [p.digest, p.kind]))
        assert.deepStrictEqual(kinds, {
          [missing!.digest]: "Missing",
          [corrupt!.digest]: "DigestMismatch",
          [truncated!.digest]: "SizeMismatch"
        })
        assert.strictEqual(report.problems[0]!.parent, image.manifestDigest)
        const quick = yield* layout.verify({ hash: false })
        assert.strictEqual(quick.problems.length, 2, "without hashing only missing and wrong-size blobs show")
      }))

    it.scoped("reports a corrupt manifest", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, path } = yield* fixtureLayout(dir)
        const file = blobFile(path, image.manifestDigest)
        const bytes = nodeFs.readFileSync(file)
        bytes[bytes.length - 1] = 0x20
        nodeFs.rmSync(file)
        nodeFs.writeFileSync(file, bytes)
        const report = yield* (yield* Layout.open(path)).verify()
        assert.deepStrictEqual(report.problems.map((p) => p.kind), ["DigestMismatch"])
      }))
  })

  describe("gc", () => {
    it.scoped("keeps everything reachable (indexes, manifests, configs, layers, tagged referrers)", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const store = nodePath.join(dir, "store")
        const path = nodePath.join(dir, "layout")
        const single = yield* Fixtures.makeImage(store, { seed: "gc-single", layers: [{ size: 1000 }] })
        const amd = yield* Fixtures.makeImage(store, { seed: "gc-amd", layers: [{ size: 1100 }] })
        const arm = yield* Fixtures.makeImage(store, {
          seed: "gc-arm",
          layers: [{ size: 1200 }],
          platform: { os: "linux", architecture: "arm64", variant: "v8" }
        })
        const index = yield* Fixtures.makeIndex(store, [amd, arm])
        const taggedReferrer = yield* Fixtures.makeArtifact(store, {
          subject: single.descriptor,
          artifactType: "application/vnd.example.sbom",
          payload: "sbom"
        })
        const untaggedReferrer = yield* Fixtures.makeArtifact(store, {
          subject: single.descriptor,
          artifactType: "application/vnd.example.sig",
          payload: "signature"
        })
        const orphan = yield* Fixtures.makeImage(store, { seed: "gc-orphan", layers: [{ size: 1300 }] })
        yield* Fixtures.writeLayout(path, [
          { tag: "single", root: single },
          { tag: "multi", root: index },
          { tag: "sbom", root: taggedReferrer },
          { tag: "sig", root: untaggedReferrer },
          { tag: "orphan", root: orphan }
        ])
        const layout = yield* Layout.open(path)
        assert.isTrue(yield* layout.untag("sig"))
        assert.isTrue(yield* layout.untag("orphan"))
        nodeFs.mkdirSync(nodePath.join(path, "ingest"), { recursive: true })
        nodeFs.writeFileSync(nodePath.join(path, "ingest", "sha256-abc.partial"), "x")

        const dry = yield* layout.gc({ dryRun: true })
        const result = yield* layout.gc()
        assert.deepStrictEqual([...dry.removed].sort(), [...result.removed].sort())
        const expectRemoved = [
          untaggedReferrer.manifestDigest,
          Digest.ofBytes("signature"),
          orphan.manifestDigest,
          orphan.configDigest,
          orphan.layers[0]!.digest
        ].sort()
        assert.deepStrictEqual([...result.removed].sort(), expectRemoved)
        assert.isTrue(result.bytes > 1300)
        assert.strictEqual(result.partials, 0)
        const report = yield* layout.verify()
        assert.isTrue(report.ok)
        // every blob left is reachable: index + 2 images + single + referrer (+ shared empty config)
        const left = nodeFs.readdirSync(nodePath.join(path, "blobs", "sha256")).length
        assert.strictEqual(left, report.checked)
        assert.isTrue(nodeFs.existsSync(nodePath.join(path, "ingest", "sha256-abc.partial")))
        const withPartials = yield* layout.gc({ partials: true })
        assert.deepStrictEqual(withPartials.removed, [])
        assert.strictEqual(withPartials.partials, 1)
      }))

    it.scoped("refuses to collect when a reachable manifest is missing", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, path } = yield* fixtureLayout(dir)
        nodeFs.rmSync(blobFile(path, image.manifestDigest))
        const error = yield* Effect.flip((yield* Layout.open(path)).gc())
        assert.strictEqual(error._tag === "LayoutError" && error.reason, "BlobNotFound")
        assert.isTrue(nodeFs.existsSync(blobFile(path, image.layers[0]!.digest)))
      }))
  })

  describe("copy", () => {
    it.scoped("copies an index with its images between layouts", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const store = nodePath.join(dir, "store")
        const amd = yield* Fixtures.makeImage(store, { seed: "copy-amd", layers: [{ size: 5000 }] })
        const arm = yield* Fixtures.makeImage(store, {
          seed: "copy-arm",
          layers: [{ size: 6000 }],
          platform: { os: "linux", architecture: "arm64", variant: "v8" }
        })
        const index = yield* Fixtures.makeIndex(store, [amd, arm])
        yield* Fixtures.writeLayout(nodePath.join(dir, "a"), [{ tag: "multi", root: index }])
        const from = yield* Layout.open(nodePath.join(dir, "a"))
        const to = yield* Layout.create(nodePath.join(dir, "b"))
        yield* Layout.copy(from, to, yield* from.resolve("multi"), { tag: "copied" })
        assert.strictEqual((yield* to.resolve("copied")).digest, index.digest)
        const report = yield* to.verify()
        assert.isTrue(report.ok)
        assert.strictEqual(report.checked, 7)
      }))
  })

  it.scoped("writeManifest validates the bytes; sha512 blobs go to blobs/sha512", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layout = yield* Layout.create(dir)
      const notJson = yield* Effect.flip(layout.writeManifest(encoder.encode("not json"), { tag: "x" }))
      assert.strictEqual(notJson._tag, "InvalidManifest")
      const schema1 = yield* Effect.flip(
        layout.writeManifest(encoder.encode(JSON.stringify({ schemaVersion: 1, name: "x", tag: "y", fsLayers: [] })))
      )
      assert.strictEqual(schema1._tag === "InvalidManifest" && schema1.reason, "Schema1")
      const badTag = yield* Effect.flip(layout.writeManifest(encoder.encode("{}"), { tag: "a b" }))
      assert.strictEqual(badTag._tag === "LayoutError" && badTag.reason, "InvalidTag")
      assert.deepStrictEqual(yield* layout.entries, [])
      const content = bytesOf(5000, 9)
      const digest = Digest.ofBytes(content, "sha512")
      yield* layout.writeBlob({ digest, size: 5000 }, chunks(content, 999))
      assert.isTrue(nodeFs.existsSync(nodePath.join(dir, "blobs", "sha512", Digest.hex(digest))))
      assert.strictEqual(Digest.ofBytes(yield* readAll(layout.readBlob(digest)), "sha512"), digest)
    }))

  it.scoped("writes random content of many sizes (round trip)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layout = yield* Layout.create(dir)
      for (const size of [0, 1, 511, 512, 513, 65_536, 65_537, 1_000_000]) {
        const content = new Uint8Array(randomBytes(size))
        const digest = Digest.ofBytes(content)
        yield* layout.writeBlob({ digest, size }, chunks(content, 33_333))
        const back = yield* readAll(layout.readBlob(digest))
        assert.strictEqual(Digest.ofBytes(back), digest)
      }
    }))
})

import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, expect, layer } from "@effect/vitest"
import { Layout } from "@ocidist/layout"
import { Digest, Hash } from "@ocidist/reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Storage from "@ocidist/spec/Storage"
import { Fixtures } from "@ocidist/testing"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as nodeFs from "node:fs"
import * as nodePath from "node:path"
import * as WriteBehind from "../src/internal/writeBehind.js"
import { copyImage } from "./support/copy.js"

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
const REF = "org.opencontainers.image.ref.name"
const OCTETS = "application/octet-stream"
const blob = (digest: Digest.Digest, size: number, mediaType = OCTETS): Descriptor.Descriptor => ({
  mediaType,
  digest,
  size
})
const descriptorOf = (b: { readonly mediaType: string; readonly digest: string; readonly size: number }) =>
  blob(b.digest as Digest.Digest, b.size, b.mediaType)
const fromStream = Storage.fromStream
/** Content that records the offsets it is opened at (and the bytes it gives). */
const recording = (bytes: Uint8Array, chunkSize: number, rest?: (offset: number) => Uint8Array) => {
  const opened: Array<number> = []
  let given = 0
  const content: Storage.BlobContent<never> = {
    open: (offset) => {
      opened.push(offset)
      const part = offset > 0 && rest !== undefined ? rest(offset) : bytes.subarray(offset)
      given += part.length
      return chunks(part, chunkSize)
    },
    verified: false
  }
  return { content, opened, given: () => given }
}
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
        assert.strictEqual(layout.name, `oci:${root}`)
        assert.isFalse(layout.verifiesBlobs)
        const again = yield* Effect.flip(Layout.create(root))
        assert.strictEqual(again._tag, "NotALayout")
        const reopened = yield* Layout.openOrCreate(root)
        assert.strictEqual(reopened.path, root)
      }))

    it.scoped("refuses a directory without oci-layout", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const error = yield* Effect.flip(Layout.open(dir))
        assert.strictEqual(error._tag, "NotALayout")
        expect(error.message).toContain("oci-layout is missing")
        nodeFs.writeFileSync(nodePath.join(dir, "oci-layout"), "{\"imageLayoutVersion\":\"2.0.0\"}")
        nodeFs.writeFileSync(nodePath.join(dir, "index.json"), "{\"schemaVersion\":2,\"manifests\":[]}")
        const version = yield* Effect.flip(Layout.open(dir))
        expect(version.message).toContain("imageLayoutVersion")
        const versionLazy = yield* Effect.flip(Layout.openOrCreate(dir))
        assert.strictEqual(versionLazy._tag, "NotALayout")
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
        assert.strictEqual((yield* layout.resolve("@0")).digest, image.manifestDigest)
        const missing = yield* Effect.flip(layout.resolve("nope"))
        assert.strictEqual(missing._tag, "ImageNotFound")
        assert.strictEqual(missing._tag === "ImageNotFound" && missing.reference, "nope")
        expect(missing.message).toContain(`no entry tagged "nope"`)
        assert.strictEqual((yield* Effect.flip(layout.resolve("@1")))._tag, "ImageNotFound")
        const notAManifest = yield* Effect.flip(layout.resolve(image.layers[0]!.digest))
        assert.strictEqual(notAManifest._tag, "ImageNotFound")
        expect(notAManifest.message).toContain("is not a manifest")
        const manifest = yield* layout.fetchManifest(byTag)
        assert.strictEqual(manifest._tag, "ImageManifest")
        assert.strictEqual(manifest.digest, image.manifestDigest)
        const layer = descriptorOf(image.layers[1]!)
        const content = yield* readAll(layout.fetchBlob(layer))
        assert.strictEqual(Digest.ofBytes(content), layer.digest)
        const tail = yield* readAll(layout.fetchBlob(layer, { offset: 1000 }))
        assert.strictEqual(tail.length, layer.size - 1000)
        assert.deepStrictEqual(yield* layout.blobSize(layer.digest), Option.some(layer.size))
        assert.isTrue(yield* layout.exists(layer))
        assert.isFalse(yield* layout.exists({ ...layer, size: layer.size + 1 }), "stored with another size")
        assert.isFalse(yield* layout.exists(blob(Digest.ofBytes("nope"), 4)))
        const notFound = yield* Effect.flip(Stream.runDrain(layout.fetchBlob(blob(Digest.ofBytes("nope"), 4))))
        assert.strictEqual(notFound._tag, "BlobNotFound")
        expect(notFound.message).toContain(Digest.ofBytes("nope"))
        // a layout is a Storage of @ocidist/spec
        const asStorage: Storage.Storage<unknown> = layout
        assert.strictEqual((yield* Storage.fetchReference(asStorage, "v1")).digest, image.manifestDigest)
      }))

    it.scoped("an index with several images: \"\" is ambiguous, a tag on two manifests too", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const store = nodePath.join(dir, "store")
        const a = yield* Fixtures.makeImage(store, { seed: "amb-a", layers: [{ size: 100 }] })
        const b = yield* Fixtures.makeImage(store, { seed: "amb-b", layers: [{ size: 100 }] })
        const path = nodePath.join(dir, "layout")
        yield* Fixtures.writeLayout(path, [{ tag: "a", root: a }, { tag: "b", root: b }])
        const index = JSON.parse(nodeFs.readFileSync(nodePath.join(path, "index.json"), "utf8"))
        index.manifests.push({ ...index.manifests[1], annotations: { [REF]: "a" } })
        nodeFs.writeFileSync(nodePath.join(path, "index.json"), JSON.stringify(index))
        const layout = yield* Layout.open(path)
        const all = yield* Effect.flip(layout.resolve(""))
        assert.strictEqual(all._tag, "AmbiguousReference")
        expect(all.message).toContain("2 different manifests")
        const tag = yield* Effect.flip(layout.resolve("a"))
        assert.strictEqual(tag._tag, "AmbiguousReference")
        assert.strictEqual((yield* layout.resolve("b")).digest, b.manifestDigest)
      }))
  })

  describe("pushBlob", () => {
    it.scoped("streams content into blobs/<alg>/<hex> and skips existing blobs", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const content = bytesOf(300_000)
        const digest = Digest.ofBytes(content)
        const first = yield* layout.pushBlob(blob(digest, content.length), fromStream(chunks(content, 7000)))
        assert.deepStrictEqual(first, { digest, size: content.length, existed: false })
        assert.deepStrictEqual(new Uint8Array(nodeFs.readFileSync(blobFile(dir, digest))), content)
        const second = yield* layout.pushBlob(blob(digest, content.length), fromStream(Stream.fail("must not be read")))
        assert.isTrue(second.existed)
        assert.isTrue(yield* layout.exists(blob(digest, content.length)))
        assert.deepStrictEqual(nodeFs.readdirSync(nodePath.join(dir, "ingest")), [])
      }))

    it.scoped("hands a big blob's pages to the disk while it is written, and no flush outlives the write", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const size = 5 * WriteBehind.FLUSH_BYTES + 12_345
        const content = new Uint8Array(randomBytes(size))
        const digest = Digest.ofBytes(content)
        const before = { ...WriteBehind.stats }
        const written = yield* layout.pushBlob(blob(digest, size), fromStream(chunks(content, 64 * 1024)))
        assert.deepStrictEqual(written, { digest, size, existed: false })
        assert.deepStrictEqual(new Uint8Array(nodeFs.readFileSync(blobFile(dir, digest))), content)
        // flushed in the background as it went (one at a time: fewer than one per FLUSH_BYTES when the disk is
        // slower than the writes), every flush finished before the blob was synced and renamed
        assert.isAtLeast(WriteBehind.stats.started - before.started, 1)
        assert.strictEqual(WriteBehind.stats.finished - before.finished, WriteBehind.stats.started - before.started)

        // a write that fails midway waits for its flush before its file is closed; the partial stays
        const other = new Uint8Array(randomBytes(3 * WriteBehind.FLUSH_BYTES))
        const otherDigest = Digest.ofBytes(other)
        const failing = Stream.concat(
          chunks(other.subarray(0, 2 * WriteBehind.FLUSH_BYTES + 1000), 64 * 1024),
          Stream.fail("connection reset" as const)
        )
        const mid = { ...WriteBehind.stats }
        const error = yield* Effect.flip(layout.pushBlob(blob(otherDigest, other.length), fromStream(failing)))
        assert.strictEqual(error, "connection reset")
        assert.isAtLeast(WriteBehind.stats.started - mid.started, 1)
        assert.strictEqual(WriteBehind.stats.finished - mid.finished, WriteBehind.stats.started - mid.started)
        assert.deepStrictEqual(yield* layout.partialSize(otherDigest), Option.some(2 * WriteBehind.FLUSH_BYTES + 1000))
      }))

    it.scoped("waits for a slow flush before the final sync, and fails a write whose background flush failed", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const real = WriteBehind.io.fdatasync
        yield* Effect.addFinalizer(() => Effect.sync(() => (WriteBehind.io.fdatasync = real)))
        const content = new Uint8Array(randomBytes(2 * WriteBehind.FLUSH_BYTES))
        const digest = Digest.ofBytes(content)
        // a disk that takes 300 ms per flush: the blob is renamed only once its flush is done
        WriteBehind.io.fdatasync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) =>
          void setTimeout(() =>
            real(fd, callback), 300)) as typeof real
        const before = { ...WriteBehind.stats }
        yield* layout.pushBlob(blob(digest, content.length), fromStream(chunks(content, 64 * 1024)))
        assert.isAtLeast(WriteBehind.stats.started - before.started, 1)
        assert.strictEqual(WriteBehind.stats.finished - before.finished, WriteBehind.stats.started - before.started)

        // a disk that fails a background flush (EIO): Linux reports such an error once per open file, so the
        // final fsync would not see it again: the write fails, nothing is stored
        const other = new Uint8Array(randomBytes(2 * WriteBehind.FLUSH_BYTES))
        const otherDigest = Digest.ofBytes(other)
        WriteBehind.io.fdatasync = ((_fd: number, callback: (error: NodeJS.ErrnoException | null) => void) =>
          void setImmediate(() =>
            callback(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO", errno: -5 }))
          )) as typeof real
        const error = yield* Effect.flip(
          layout.pushBlob(blob(otherDigest, other.length), fromStream(chunks(other, 64 * 1024)))
        )
        assert.strictEqual(error._tag, "FileSystemError")
        expect(error.message).toMatch(/cannot write .*ingest.*i\/o error/)
        assert.isFalse(yield* layout.exists(blob(otherDigest, other.length)))
      }))

    it.scoped("digest mismatch leaves neither a final blob nor a partial", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const digest = Digest.ofBytes("expected")
        const wrong = encoder.encode("something else")
        const error = yield* Effect.flip(layout.pushBlob(blob(digest, wrong.length), Storage.fromBytes(wrong)))
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
        const long = recording(content, 1000)
        const tooLong = yield* Effect.flip(layout.pushBlob(blob(digest, 5000), long.content))
        assert.strictEqual(tooLong._tag, "SizeMismatch")
        expect(tooLong.message).toContain(digest)
        // an endless body stops as soon as it is longer than the descriptor says, and nothing stays behind
        const endless = yield* Effect.flip(
          layout.pushBlob(blob(digest, 5000), fromStream(Stream.forever(Stream.make(bytesOf(1000)))))
        )
        assert.strictEqual(endless._tag, "SizeMismatch")
        assert.isUndefined(endless._tag === "SizeMismatch" ? endless.actual : 0)
        assert.deepStrictEqual(yield* layout.partialSize(digest), Option.none())
        const tooShort = yield* Effect.flip(layout.pushBlob(blob(digest, 20_000), fromStream(chunks(content, 1000))))
        assert.strictEqual(tooShort._tag, "SizeMismatch")
        assert.strictEqual(tooShort._tag === "SizeMismatch" && tooShort.actual, 10_000)
        assert.isFalse(yield* layout.exists(blob(digest, 10_000)))
        assert.deepStrictEqual(yield* layout.partialSize(digest), Option.none())
      }))

    it.scoped("verified content is stored without a second hash, but only once the content completes", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const content = bytesOf(50_000)
        const digest = Digest.ofBytes(content)
        // a verifying source (like a registry download) fails at its end when the bytes are wrong
        const failing = Stream.concat(chunks(content, 10_000), Stream.fail("digest mismatch upstream" as const))
        const error = yield* Effect.flip(
          layout.pushBlob(blob(digest, content.length), { open: () => failing, verified: true })
        )
        assert.strictEqual(error, "digest mismatch upstream")
        assert.isFalse(yield* layout.exists(blob(digest, content.length)))
        yield* layout.discardPartial(digest)
        const tooShort = yield* Effect.flip(
          layout.pushBlob(blob(digest, content.length + 1), { open: () => chunks(content, 10_000), verified: true })
        )
        assert.strictEqual(tooShort._tag, "SizeMismatch")
        const written = yield* layout.pushBlob(blob(digest, content.length), {
          open: () => chunks(content, 10_000),
          verified: true
        })
        assert.deepStrictEqual(written, { digest, size: content.length, existed: false })
        assert.deepStrictEqual(new Uint8Array(nodeFs.readFileSync(blobFile(dir, digest))), content)
      }))

    it.scoped("hashes with the Hash service in context at open, and not at all for verified content", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        let hashed = 0
        const counting: Hash.Service = {
          make: (algorithm) => {
            const hasher = Hash.portable.make(algorithm)
            return {
              ...hasher,
              update: (chunk) => {
                hashed += chunk.length
                hasher.update(chunk)
              }
            }
          }
        }
        const layout = yield* Effect.provideService(Layout.create(dir), Hash.Hash, counting)
        const content = bytesOf(20_000, 2)
        const digest = Digest.ofBytes(content)
        yield* layout.pushBlob(blob(digest, content.length), Storage.fromBytes(content))
        assert.strictEqual(hashed, 20_000)
        const trusted = bytesOf(30_000, 3)
        yield* layout.pushBlob(blob(Digest.ofBytes(trusted), trusted.length), {
          ...Storage.fromBytes(trusted),
          verified: true
        })
        assert.strictEqual(hashed, 20_000, "verified content is counted, not hashed")
        yield* layout.pushBlob(blob(Digest.ofBytes("{}"), 2), Storage.fromBytes(encoder.encode("{}")))
        yield* layout.pushManifestBytes(
          encoder.encode(JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.OCI_MANIFEST,
            config: { mediaType: MediaType.OCI_EMPTY, digest: Digest.ofBytes("{}"), size: 2 },
            layers: [blob(digest, content.length)]
          })),
          { tag: "v" }
        )
        const before = hashed
        assert.isTrue((yield* layout.verify()).ok)
        assert.strictEqual(hashed - before, 20_000 + 2, "verify hashes the layer and the config with it")
      }))

    it.scoped("concurrent writers of the same blob all succeed with one final file", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        yield* Layout.create(dir)
        const layouts = yield* Effect.all([Layout.open(dir), Layout.open(dir)])
        const content = bytesOf(200_000, 7)
        const digest = Digest.ofBytes(content)
        const results = yield* Effect.forEach(
          Array.from({ length: 12 }, (_, i) => i),
          (i) => layouts[i % 2]!.pushBlob(blob(digest, content.length), fromStream(chunks(content, 4096 + i))),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(results.filter((r) => !r.existed).length, 1)
        assert.deepStrictEqual(new Uint8Array(nodeFs.readFileSync(blobFile(dir, digest))), content)
        assert.deepStrictEqual(nodeFs.readdirSync(nodePath.join(dir, "ingest")), [])
        assert.deepStrictEqual(nodeFs.readdirSync(nodePath.join(dir, "blobs", "sha256")), [digest.slice(7)])
      }))

    it.scoped("an interrupted push keeps a partial; the next push re-hashes it and asks only for the rest", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const content = bytesOf(100_000, 3)
        const digest = Digest.ofBytes(content)
        const written = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(
          layout.pushBlob(
            blob(digest, content.length),
            fromStream(Stream.concat(
              chunks(content.subarray(0, 40_000), 10_000),
              Stream.fromEffect(Effect.zipRight(Deferred.succeed(written, undefined), Effect.never))
            ))
          )
        )
        yield* Deferred.await(written)
        yield* Fiber.interrupt(fiber)
        assert.isFalse(yield* layout.exists(blob(digest, content.length)))
        assert.deepStrictEqual(yield* layout.partialSize(digest), Option.some(40_000))

        const resumed = recording(content, 9999)
        const result = yield* layout.pushBlob(blob(digest, content.length), resumed.content)
        assert.deepStrictEqual(result, { digest, size: content.length, existed: false })
        assert.deepStrictEqual(resumed.opened, [40_000], "only the rest is requested")
        assert.strictEqual(resumed.given(), 60_000)
        assert.deepStrictEqual(new Uint8Array(nodeFs.readFileSync(blobFile(dir, digest))), content)
        assert.deepStrictEqual(yield* layout.partialSize(digest), Option.none())
      }))

    it.scoped("a failing source keeps the partial; a wrong prefix or tail restarts once from byte 0", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const content = bytesOf(50_000, 5)
        const digest = Digest.ofBytes(content)
        const expected = blob(digest, content.length)
        const error = yield* Effect.flip(
          layout.pushBlob(
            expected,
            fromStream(Stream.concat(chunks(content.subarray(0, 20_000), 5000), Stream.fail("network")))
          )
        )
        assert.strictEqual(error, "network")
        assert.deepStrictEqual(yield* layout.partialSize(digest), Option.some(20_000))

        // the rest it gives from an offset is wrong, from 0 it is right: resumed, found wrong, restarted
        const wrongTail = recording(content, 7000, (offset) => bytesOf(content.length - offset, 6))
        yield* layout.pushBlob(expected, wrongTail.content)
        assert.deepStrictEqual(wrongTail.opened, [20_000, 0])
        assert.deepStrictEqual(new Uint8Array(nodeFs.readFileSync(blobFile(dir, digest))), content)

        // content that is wrong altogether: tried once resumed, once from 0, then the partial is gone
        const other = bytesOf(30_000, 8)
        const otherDigest = Digest.ofBytes(other)
        nodeFs.writeFileSync(
          nodePath.join(dir, "ingest", `sha256-${otherDigest.slice(7)}.partial`),
          other.subarray(0, 10_000)
        )
        const garbage = recording(bytesOf(30_000, 9), 4000)
        const mismatch = yield* Effect.flip(layout.pushBlob(blob(otherDigest, other.length), garbage.content))
        assert.strictEqual(mismatch._tag, "DigestMismatch")
        assert.deepStrictEqual(garbage.opened, [10_000, 0])
        assert.deepStrictEqual(yield* layout.partialSize(otherDigest), Option.none())
        assert.isFalse(yield* layout.exists(blob(otherDigest, other.length)))
      }))

    it.scoped("a partial with a wrong prefix, or longer than the blob, does not end up in the blob", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* Layout.create(dir)
        const content = bytesOf(40_000, 11)
        const digest = Digest.ofBytes(content)
        const partial = nodePath.join(dir, "ingest", `sha256-${digest.slice(7)}.partial`)
        nodeFs.mkdirSync(nodePath.join(dir, "ingest"), { recursive: true })
        nodeFs.writeFileSync(partial, bytesOf(15_000, 12))
        const wrongPrefix = recording(content, 8000)
        yield* layout.pushBlob(blob(digest, content.length), wrongPrefix.content)
        assert.deepStrictEqual(wrongPrefix.opened, [15_000, 0])
        assert.deepStrictEqual(new Uint8Array(nodeFs.readFileSync(blobFile(dir, digest))), content)

        const other = bytesOf(10_000, 13)
        const otherDigest = Digest.ofBytes(other)
        const tooLong = nodePath.join(dir, "ingest", `sha256-${otherDigest.slice(7)}.partial`)
        nodeFs.writeFileSync(tooLong, bytesOf(12_000, 14))
        const fresh = recording(other, 3000)
        yield* layout.pushBlob(blob(otherDigest, other.length), fresh.content)
        assert.deepStrictEqual(fresh.opened, [0], "a partial longer than the blob is discarded")
        assert.deepStrictEqual(new Uint8Array(nodeFs.readFileSync(blobFile(dir, otherDigest))), other)
        assert.deepStrictEqual(nodeFs.readdirSync(nodePath.join(dir, "ingest")), [])
      }))
  })

  describe("lazy creation (openOrCreate)", () => {
    it.scoped("creates nothing until the first write; a write that fails before its first byte leaves no trace", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const root = nodePath.join(dir, "a", "b", "layout")
        const layout = yield* Layout.openOrCreate(root)
        assert.isFalse(nodeFs.existsSync(nodePath.join(dir, "a")))
        // it reads as empty
        assert.deepStrictEqual(yield* layout.entries, [])
        assert.deepStrictEqual(yield* layout.tags, [])
        assert.strictEqual((yield* Effect.flip(layout.resolve("")))._tag, "ImageNotFound")
        const content = encoder.encode("hello")
        const descriptor = blob(Digest.ofBytes(content), content.length)
        assert.isFalse(yield* layout.exists(descriptor))
        assert.strictEqual((yield* Effect.flip(Stream.runDrain(layout.fetchBlob(descriptor))))._tag, "BlobNotFound")
        assert.isTrue((yield* layout.verify()).ok)
        assert.deepStrictEqual(yield* layout.gc({ partials: true }), { removed: [], bytes: 0, partials: 0, recent: 0 })
        assert.isFalse(yield* layout.untag("x"))
        assert.strictEqual(yield* layout.removeEntries(descriptor.digest), 0)
        // failures before content moved: the source fails at once, or gives nothing
        const failed = yield* Effect.flip(layout.pushBlob(descriptor, fromStream(Stream.fail("unauthorized"))))
        assert.strictEqual(failed, "unauthorized")
        const empty = yield* Effect.flip(layout.pushBlob(descriptor, fromStream(Stream.empty)))
        assert.strictEqual(empty._tag, "SizeMismatch")
        const badTag = yield* Effect.flip(layout.tag(descriptor, "no spaces"))
        assert.strictEqual(badTag._tag, "InvalidTag")
        assert.isFalse(nodeFs.existsSync(nodePath.join(dir, "a")), "no directory, no parents")
        assert.isFalse(nodeFs.existsSync(nodePath.join(dir, "a", "b", "layout")))
      }))

    it.scoped("the first write creates the directory with parents; index.json comes with the first entry", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const root = nodePath.join(dir, "a", "b", "layout")
        const layout = yield* Layout.openOrCreate(root)
        const config = encoder.encode("{}")
        yield* layout.pushBlob(blob(Digest.ofBytes(config), 2, MediaType.OCI_EMPTY), Storage.fromBytes(config))
        assert.deepStrictEqual(JSON.parse(nodeFs.readFileSync(nodePath.join(root, "oci-layout"), "utf8")), {
          imageLayoutVersion: "1.0.0"
        })
        assert.isTrue(nodeFs.statSync(nodePath.join(root, "blobs")).isDirectory())
        assert.isFalse(nodeFs.existsSync(nodePath.join(root, "index.json")), "no index.json without an entry")
        const manifest = (n: number) =>
          encoder.encode(JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.OCI_MANIFEST,
            config: { mediaType: MediaType.OCI_EMPTY, digest: Digest.ofBytes("{}"), size: 2 },
            layers: [],
            annotations: { n: String(n) }
          }))
        // a child manifest (no root, no tags): stored, not listed
        const child = yield* layout.pushManifestBytes(manifest(1))
        assert.isTrue(yield* layout.exists(child))
        assert.isFalse(nodeFs.existsSync(nodePath.join(root, "index.json")))
        assert.strictEqual((yield* Layout.open(root).pipe(Effect.flip))._tag, "NotALayout")
        // a root: an untagged entry, once per digest
        const decoded = yield* layout.fetchManifest(child)
        yield* layout.pushManifest(decoded, { root: true })
        yield* layout.pushManifest(decoded, { root: true })
        const index = JSON.parse(nodeFs.readFileSync(nodePath.join(root, "index.json"), "utf8"))
        assert.deepStrictEqual(index.manifests, [{
          mediaType: MediaType.OCI_MANIFEST,
          digest: child.digest,
          size: child.size
        }])
        // with tags: tagged entries
        const second = yield* layout.fetchManifest(yield* layout.pushManifestBytes(manifest(2)))
        yield* layout.pushManifest(second, { tags: ["x", "y"], root: true })
        assert.deepStrictEqual(yield* layout.tags, ["x", "y"])
        assert.strictEqual((yield* (yield* Layout.open(root)).resolve("y")).digest, second.digest)
      }))

    it.scoped("a write that fails mid-way leaves blobs and partials, never an index.json; openOrCreate continues it", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const root = nodePath.join(dir, "pull")
        const first = yield* Layout.openOrCreate(root)
        const content = bytesOf(30_000, 21)
        const digest = Digest.ofBytes(content)
        const error = yield* Effect.flip(
          first.pushBlob(
            blob(digest, content.length),
            fromStream(Stream.concat(chunks(content.subarray(0, 12_000), 4000), Stream.fail("reset")))
          )
        )
        assert.strictEqual(error, "reset")
        assert.deepStrictEqual(nodeFs.readdirSync(root).sort(), ["blobs", "ingest", "oci-layout"])
        const unfinished = yield* Effect.flip(Layout.open(root))
        assert.strictEqual(unfinished._tag, "NotALayout")
        expect(unfinished.message).toContain("index.json is missing: an unfinished write?")

        const again = yield* Layout.openOrCreate(root)
        assert.deepStrictEqual(yield* again.entries, [])
        assert.deepStrictEqual(yield* again.partialSize(digest), Option.some(12_000))
        const rest = recording(content, 5000)
        yield* again.pushBlob(blob(digest, content.length), rest.content)
        assert.deepStrictEqual(rest.opened, [12_000])
        yield* again.tag(blob(digest, content.length), "done")
        assert.strictEqual((yield* (yield* Layout.open(root)).resolve("done")).digest, digest)
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
          (bytes, i) => (i % 2 === 0 ? a : b).pushManifestBytes(bytes, { tag: `t${i}` }),
          { concurrency: "unbounded" }
        )
        const entries = yield* a.entries
        assert.strictEqual(entries.length, 24)
        const tags = entries.map((e) => e.annotations?.[REF]).sort()
        assert.deepStrictEqual(tags, manifests.map((_, i) => `t${i}`).sort())
        assert.deepStrictEqual([...(yield* b.tags)].sort(), tags)
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
        const other = yield* layout.pushManifestBytes(
          encoder.encode(JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.OCI_MANIFEST,
            config: { mediaType: MediaType.OCI_EMPTY, digest: Digest.ofBytes("{}"), size: 2 },
            layers: []
          }))
        )
        assert.strictEqual((yield* layout.entries).length, 1, "pushManifestBytes without tag adds no entry")
        yield* layout.tag(other, "v1")
        assert.strictEqual((yield* layout.resolve("v1")).digest, other.digest)
        assert.strictEqual((yield* layout.entries).length, 1)
        yield* layout.tag(other, "v2")
        yield* layout.addEntry(descriptorOf(image.descriptor))
        yield* layout.addEntry(descriptorOf(image.descriptor))
        assert.strictEqual((yield* layout.entries).length, 3)
        assert.isTrue(yield* layout.untag("v2"))
        assert.isFalse(yield* layout.untag("v2"))
        assert.strictEqual(yield* layout.removeEntries(other.digest), 1)
        const left = yield* layout.entries
        assert.deepStrictEqual(left.map((e) => e.digest), [image.manifestDigest])
        const badTag = yield* Effect.flip(layout.tag(other, "../../etc"))
        assert.strictEqual(badTag._tag, "InvalidTag")
        assert.strictEqual(badTag._tag === "InvalidTag" && badTag.tag, "../../etc")
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

  describe("capabilities", () => {
    it.scoped("tags lists the ref.names; referrers lists the index entries whose manifest has the subject", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const store = nodePath.join(dir, "store")
        const image = yield* Fixtures.makeImage(store, { seed: "cap", layers: [{ size: 500 }] })
        const sbom = yield* Fixtures.makeArtifact(store, {
          subject: image.descriptor,
          artifactType: "application/vnd.example.sbom",
          payload: "sbom",
          annotations: { "org.example.kind": "sbom" }
        })
        const signature = yield* Fixtures.makeArtifact(store, {
          subject: image.descriptor,
          artifactType: "application/vnd.example.sig",
          payload: "sig"
        })
        const unrelated = yield* Fixtures.makeArtifact(store, {
          subject: undefined,
          artifactType: "application/vnd.example.sig",
          payload: "other"
        })
        const path = nodePath.join(dir, "layout")
        yield* Fixtures.writeLayout(path, [
          { tag: "v1", root: image },
          { tag: "latest", root: image },
          { tag: "sbom", root: sbom },
          { root: signature },
          { tag: "other", root: unrelated }
        ])
        const layout = yield* Layout.open(path)
        assert.deepStrictEqual(yield* layout.tags, ["v1", "latest", "sbom", "other"])
        const referrers = yield* layout.referrers(descriptorOf(image.descriptor))
        assert.deepStrictEqual(
          referrers.map((r) => r.digest).sort(),
          [sbom.manifestDigest, signature.manifestDigest].sort()
        )
        const sbomReferrer = referrers.find((r) => r.digest === sbom.manifestDigest)!
        assert.strictEqual(sbomReferrer.artifactType, "application/vnd.example.sbom")
        assert.deepStrictEqual(sbomReferrer.annotations, { "org.example.kind": "sbom" }, "the manifest's annotations")
        const sigs = yield* layout.referrers(descriptorOf(image.descriptor), {
          artifactType: "application/vnd.example.sig"
        })
        assert.deepStrictEqual(sigs.map((r) => r.digest), [signature.manifestDigest])
        assert.deepStrictEqual(yield* layout.referrers(descriptorOf(sbom.descriptor)), [])
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
        const read = yield* Effect.flip(Stream.runDrain(layout.fetchBlob(blob(evil, 6))))
        assert.strictEqual(read._tag, "InvalidDigest")
        assert.strictEqual(read._tag === "InvalidDigest" && read.digest, evil)
        assert.strictEqual((yield* Effect.flip(layout.exists(blob(evil, 6))))._tag, "InvalidDigest")
        const write = yield* Effect.flip(layout.pushBlob(blob(evil, 1), Storage.fromBytes(encoder.encode("x"))))
        assert.strictEqual(write._tag, "InvalidDigest")
        assert.strictEqual((yield* Effect.flip(layout.partialSize(evil)))._tag, "InvalidDigest")
        assert.strictEqual((yield* Effect.flip(layout.discardPartial(evil)))._tag, "InvalidDigest")
        assert.isTrue(nodeFs.existsSync(nodePath.join(dir, "secret")))

        // a manifest whose layer digest is a path
        const bad = encoder.encode(
          `{"schemaVersion":2,"mediaType":"${MediaType.OCI_MANIFEST}","config":{"mediaType":"${MediaType.OCI_EMPTY}","digest":"${
            Digest.ofBytes("{}")
          }","size":2},"layers":[{"mediaType":"x","digest":"sha256:../../../secret","size":6}]}`
        )
        const badDigest = Digest.ofBytes(bad)
        nodeFs.writeFileSync(blobFile(path, badDigest), bad)
        const manifest = yield* Effect.flip(layout.fetchManifest(blob(badDigest, bad.length, MediaType.OCI_MANIFEST)))
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
        assert.strictEqual(entries._tag, "InvalidIndex")
        assert.strictEqual((yield* Effect.flip(layout.resolve("v1")))._tag, "InvalidIndex")
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

        const dry = yield* layout.gc({ dryRun: true, gracePeriod: 0 })
        const result = yield* layout.gc({ gracePeriod: 0 })
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
        const withPartials = yield* layout.gc({ partials: true, gracePeriod: 0 })
        assert.deepStrictEqual(withPartials.removed, [])
        assert.strictEqual(withPartials.partials, 1)
      }))

    it.scoped("refuses to collect when a reachable manifest is missing", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, path } = yield* fixtureLayout(dir)
        nodeFs.rmSync(blobFile(path, image.manifestDigest))
        const error = yield* Effect.flip((yield* Layout.open(path)).gc())
        assert.strictEqual(error._tag, "BlobNotFound")
        assert.isTrue(nodeFs.existsSync(blobFile(path, image.layers[0]!.digest)))
      }))
  })

  describe("copy through the Storage interfaces", () => {
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
        yield* copyImage(from, to, "multi", { tags: ["copied"] })
        assert.strictEqual((yield* to.resolve("copied")).digest, index.digest)
        assert.deepStrictEqual(yield* to.tags, ["copied"])
        const report = yield* to.verify()
        assert.isTrue(report.ok)
        assert.strictEqual(report.checked, 7)
      }))
  })

  it.scoped("pushManifestBytes validates the bytes; sha512 blobs go to blobs/sha512", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layout = yield* Layout.create(dir)
      const notJson = yield* Effect.flip(layout.pushManifestBytes(encoder.encode("not json"), { tag: "x" }))
      assert.strictEqual(notJson._tag, "InvalidManifest")
      const schema1 = yield* Effect.flip(
        layout.pushManifestBytes(
          encoder.encode(JSON.stringify({ schemaVersion: 1, name: "x", tag: "y", fsLayers: [] }))
        )
      )
      assert.strictEqual(schema1._tag === "InvalidManifest" && schema1.reason, "Schema1")
      const badTag = yield* Effect.flip(layout.pushManifestBytes(encoder.encode("{}"), { tag: "a b" }))
      assert.strictEqual(badTag._tag, "InvalidTag")
      const tooLarge = yield* Effect.flip(layout.pushManifestBytes(new Uint8Array(4 * 1024 * 1024 + 1)))
      assert.strictEqual(tooLarge._tag, "ContentTooLarge")
      assert.deepStrictEqual(yield* layout.entries, [])
      const content = bytesOf(5000, 9)
      const digest = Digest.ofBytes(content, "sha512")
      yield* layout.pushBlob(blob(digest, 5000), fromStream(chunks(content, 999)))
      assert.isTrue(nodeFs.existsSync(nodePath.join(dir, "blobs", "sha512", Digest.hex(digest))))
      assert.strictEqual(Digest.ofBytes(yield* readAll(layout.fetchBlob(blob(digest, 5000))), "sha512"), digest)
    }))

  it.scoped("pushManifest checks the bytes against the digest", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layout = yield* Layout.create(dir)
      const descriptor = yield* layout.pushManifestBytes(
        encoder.encode(JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OCI_MANIFEST,
          config: { mediaType: MediaType.OCI_EMPTY, digest: Digest.ofBytes("{}"), size: 2 },
          layers: []
        }))
      )
      const manifest = yield* layout.fetchManifest(descriptor)
      const forged = { ...manifest, digest: Digest.ofBytes("forged") }
      const error = yield* Effect.flip(layout.pushManifest(forged, { tags: ["forged"] }))
      assert.strictEqual(error._tag, "DigestMismatch")
      assert.deepStrictEqual(yield* layout.tags, [])
    }))

  it.scoped("writes random content of many sizes (round trip)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layout = yield* Layout.create(dir)
      for (const size of [0, 1, 511, 512, 513, 65_536, 65_537, 1_000_000]) {
        const content = new Uint8Array(randomBytes(size))
        const digest = Digest.ofBytes(content)
        yield* layout.pushBlob(blob(digest, size), fromStream(chunks(content, 33_333)))
        const back = yield* readAll(layout.fetchBlob(blob(digest, size)))
        assert.strictEqual(Digest.ofBytes(back), digest)
      }
    }))
})

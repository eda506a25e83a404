/**
 * The stores through the `@ocidist/spec` interfaces only: an oci-archive into the in-memory store, and
 * from there into a layout that does not exist yet.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, layer } from "@effect/vitest"
import { Layout, OciArchive } from "@ocidist/layout"
import { Digest } from "@ocidist/reference"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MemoryStore from "@ocidist/spec/MemoryStore"
import * as Storage from "@ocidist/spec/Storage"
import { Fixtures } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as nodeFs from "node:fs"
import * as nodePath from "node:path"
import { copyImage } from "./support/copy.js"

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "layout-storage-" }))

layer(NodeContext.layer)("Storage interfaces", (it) => {
  it.scoped("copies an image from an oci-archive into MemoryStore, and from there into a new layout", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const store = nodePath.join(dir, "store")
      const amd = yield* Fixtures.makeImage(store, { seed: "mem-amd", layers: [{ size: 2000 }, { size: 9000 }] })
      const arm = yield* Fixtures.makeImage(store, {
        seed: "mem-arm",
        layers: [{ size: 3000 }],
        platform: { os: "linux", architecture: "arm64", variant: "v8" }
      })
      const index = yield* Fixtures.makeIndex(store, [amd, arm])
      yield* Fixtures.writeLayout(nodePath.join(dir, "layout"), [{ tag: "multi", root: index }])
      const archivePath = nodePath.join(dir, "image.tar")
      yield* OciArchive.write(archivePath, yield* Layout.open(nodePath.join(dir, "layout")))

      const archive: Storage.ReadOnlyStorage<unknown> = yield* OciArchive.open(archivePath)
      const memory = yield* MemoryStore.make()
      const root = yield* copyImage(archive, memory, "multi", { tags: ["multi"] })
      assert.strictEqual(root.digest, index.digest)
      assert.strictEqual((yield* memory.resolve("multi")).digest, index.digest)
      assert.deepStrictEqual((yield* memory.roots).map((d) => d.digest), [index.digest])
      const expected = [
        index.digest,
        amd.manifestDigest,
        amd.configDigest,
        ...amd.layers.map((l) => l.digest),
        arm.manifestDigest,
        arm.configDigest,
        ...arm.layers.map((l) => l.digest)
      ]
      assert.deepStrictEqual([...(yield* memory.digests)].sort(), [...new Set(expected)].sort())
      const layer = amd.layers[1]!
      const bytes = yield* Storage.readBlob(
        memory,
        { mediaType: layer.mediaType, digest: layer.digest as Digest.Digest, size: layer.size },
        1024 * 1024
      )
      assert.strictEqual(Digest.ofBytes(bytes), layer.digest)

      // and on into a layout directory that does not exist yet
      const target = nodePath.join(dir, "new", "layout")
      const layout: Storage.Storage<unknown> = yield* Layout.openOrCreate(target)
      yield* copyImage(memory, layout, "multi", { tags: ["again"] })
      const reopened = yield* Layout.open(target)
      assert.strictEqual((yield* reopened.resolve("again")).digest, index.digest)
      const report = yield* reopened.verify()
      assert.isTrue(report.ok)
      assert.strictEqual(report.checked, new Set(expected).size)
      const child = yield* reopened.fetchManifest(yield* reopened.resolve(arm.manifestDigest))
      assert.strictEqual(Manifest.descriptorOf(child).digest, arm.manifestDigest)
      assert.deepStrictEqual(nodeFs.readdirSync(nodePath.join(target, "ingest")), [])
    }))
})

/**
 * Interoperability with skopeo (1.9) and umoci (0.4): we read what they write, they read what we write.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, expect, layer } from "@effect/vitest"
import { DockerArchive, Layout, OciArchive } from "@ocidist/layout"
import { Digest } from "@ocidist/reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as MediaType from "@ocidist/spec/MediaType"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as nodeFs from "node:fs"
import * as nodePath from "node:path"
import * as zlib from "node:zlib"
import * as Tar from "../src/internal/tar.js"
import { copyImage } from "./support/copy.js"

const descriptorOf = (b: { readonly mediaType: string; readonly digest: string; readonly size: number }) =>
  ({ mediaType: b.mediaType, digest: b.digest as Digest.Digest, size: b.size }) satisfies Descriptor.Descriptor

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "layout-interop-" }))

const skopeoOk = (args: ReadonlyArray<string>) =>
  Effect.flatMap(
    Tools.skopeo(["--insecure-policy", ...args]),
    (r) => r.exitCode === 0 ? Effect.succeed(r) : Effect.die(new Error(`skopeo ${args.join(" ")}: ${r.stderr}`))
  )

const inspect = (ref: string) =>
  Effect.map(skopeoOk(["inspect", "--raw", ref]), (r) => JSON.parse(r.stdout) as Record<string, unknown>)

/** A fixture image in a layout written by plain node:fs (not our code). */
const fixture = (dir: string, options: { readonly format?: "oci" | "docker"; readonly seed?: string } = {}) =>
  Effect.gen(function*() {
    const image = yield* Fixtures.makeImage(nodePath.join(dir, "store"), {
      seed: options.seed ?? "interop",
      layers: [{ size: 4000 }, { size: 120_000 }],
      ...(options.format === undefined ? {} : { format: options.format })
    })
    const path = nodePath.join(dir, "fixture")
    yield* Fixtures.writeLayout(path, [{ tag: "v1", root: image }])
    return { image, path }
  })

/** Our layout, filled through our API from the fixture layout. */
const ours = (dir: string, options: { readonly format?: "oci" | "docker"; readonly seed?: string } = {}) =>
  Effect.gen(function*() {
    const { image, path } = yield* fixture(dir, options)
    const from = yield* Layout.open(path)
    const to = yield* Layout.create(nodePath.join(dir, "ours"))
    yield* copyImage(from, to, "v1", { tags: ["v1"] })
    return { image, layout: to }
  })

layer(NodeContext.layer)("Interop", (it) => {
  describe("OCI layout", () => {
    it.scoped("skopeo copies our layout (oci:ours:tag → oci:B:tag), same digest", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, layout } = yield* ours(dir)
        const raw = yield* inspect(`oci:${layout.path}:v1`)
        assert.strictEqual(raw.mediaType, MediaType.OCI_MANIFEST)
        const target = nodePath.join(dir, "copy")
        yield* skopeoOk(["copy", `oci:${layout.path}:v1`, `oci:${target}:v1`])
        const copied = yield* Layout.open(target)
        assert.strictEqual((yield* copied.resolve("v1")).digest, image.manifestDigest)
        assert.isTrue((yield* copied.verify()).ok)
      }))

    it.scoped("reads a layout skopeo wrote, and a multi-image layout skopeo added to", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, path } = yield* fixture(dir)
        const target = nodePath.join(dir, "skopeo")
        yield* skopeoOk(["copy", `oci:${path}:v1`, `oci:${target}:one`])
        // (skopeo 1.9's oci: transport only finds OCI media types in index.json, so both fixtures are OCI)
        const other = yield* fixture(nodePath.join(dir, "other"), { seed: "other" })
        yield* skopeoOk(["copy", `oci:${other.path}:v1`, `oci:${target}:two`])
        const layout = yield* Layout.open(target)
        assert.strictEqual((yield* layout.resolve("one")).digest, image.manifestDigest)
        const two = yield* layout.fetchManifest(yield* layout.resolve("two"))
        assert.strictEqual(two._tag, "ImageManifest")
        assert.isTrue((yield* layout.verify()).ok)
        const gc = yield* layout.gc()
        assert.deepStrictEqual(gc.removed, [])
      }))

    it.scoped("umoci unpacks our layout", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, layout } = yield* ours(dir, { seed: "umoci" })
        const bundle = nodePath.join(dir, "bundle")
        const result = yield* Tools.umoci(["unpack", "--rootless", "--image", `${layout.path}:v1`, bundle])
        assert.strictEqual(result.exitCode, 0, result.stderr)
        const file = nodePath.join(bundle, "rootfs", Fixtures.layerFileName("umoci/layer-1"))
        expect(nodeFs.statSync(file).size).toBeGreaterThan(0)
        assert.isTrue(nodeFs.existsSync(nodePath.join(bundle, "config.json")))
        void image
      }))

    it.scoped("reads a layout umoci created and modified", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const path = nodePath.join(dir, "umoci")
        for (
          const args of [["init", "--layout", path], ["new", "--image", `${path}:base`], [
            "config",
            "--image",
            `${path}:base`,
            "--tag",
            "configured",
            "--config.env",
            "A=b"
          ]]
        ) {
          const r = yield* Tools.umoci(args)
          assert.strictEqual(r.exitCode, 0, r.stderr)
        }
        const layout = yield* Layout.open(path)
        const tags = (yield* layout.entries).map((e) => e.annotations?.["org.opencontainers.image.ref.name"]).sort()
        assert.deepStrictEqual(tags, ["base", "configured"])
        assert.isTrue((yield* layout.verify()).ok)
        // umoci reads what we change
        yield* layout.tag(yield* layout.resolve("configured"), "ours")
        const list = yield* Tools.umoci(["ls", "--layout", path])
        expect(list.stdout.split("\n").sort()).toContain("ours")
      }))
  })

  describe("oci-archive", () => {
    it.scoped("reads an oci-archive skopeo wrote", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, path } = yield* fixture(dir)
        const archivePath = nodePath.join(dir, "image.tar")
        yield* skopeoOk(["copy", `oci:${path}:v1`, `oci-archive:${archivePath}:v1`])
        const archive = yield* OciArchive.open(archivePath)
        const descriptor = yield* archive.resolve("v1")
        assert.strictEqual(descriptor.digest, image.manifestDigest)
        const layer = image.layers[1]!
        const content = yield* Stream.runCollect(archive.fetchBlob(descriptorOf(layer)))
        assert.strictEqual(Digest.ofBytes(Buffer.concat([...content])), layer.digest)
        const layout = yield* Layout.create(nodePath.join(dir, "from-archive"))
        yield* copyImage(archive, layout, "v1", { tags: ["v1"] })
        assert.isTrue((yield* layout.verify()).ok)
        assert.strictEqual(archive.name, `oci-archive:${archivePath}`)
        assert.deepStrictEqual(yield* archive.tags, ["v1"])
      }))

    it.scoped("skopeo reads the oci-archive we write", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, layout } = yield* ours(dir)
        const archivePath = nodePath.join(dir, "ours.tar")
        yield* OciArchive.write(archivePath, layout)
        const raw = yield* inspect(`oci-archive:${archivePath}:v1`)
        assert.strictEqual((raw.config as { digest: string }).digest, image.configDigest)
        const target = nodePath.join(dir, "copy")
        yield* skopeoOk(["copy", `oci-archive:${archivePath}:v1`, `oci:${target}:v1`])
        assert.strictEqual((yield* (yield* Layout.open(target)).resolve("v1")).digest, image.manifestDigest)
        // and GNU tar lists it without complaint
        const list = yield* Tools.run("tar", ["-tf", archivePath])
        assert.strictEqual(list.exitCode, 0, list.stderr)
        expect(list.stdout.split("\n")).toContain(`blobs/sha256/${image.manifestDigest.slice(7)}`)
        // our reader reads it back
        const back = yield* OciArchive.open(archivePath)
        assert.strictEqual((yield* back.resolve("v1")).digest, image.manifestDigest)
        assert.deepStrictEqual(
          nodeFs.readdirSync(dir).filter((n) => n.endsWith(".tmp")),
          [],
          "no temporary archive left"
        )
      }))

    it.scoped("a failed write leaves no archive and no temporary file", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, layout } = yield* ours(dir)
        const layerFile = nodePath.join(layout.path, "blobs", "sha256", image.layers[1]!.digest.slice(7))
        const bytes = nodeFs.readFileSync(layerFile)
        bytes[0] = bytes[0]! ^ 1
        nodeFs.rmSync(layerFile)
        nodeFs.writeFileSync(layerFile, bytes)
        const archivePath = nodePath.join(dir, "broken.tar")
        const error = yield* Effect.flip(OciArchive.write(archivePath, layout))
        assert.strictEqual(error._tag, "DigestMismatch")
        assert.isFalse(nodeFs.existsSync(archivePath))
        assert.deepStrictEqual(nodeFs.readdirSync(dir).filter((n) => n.endsWith(".tmp")), [])
      }))
  })

  describe("archive writes", () => {
    it.scoped("interrupting an archive write in the middle of a layer leaves no archive and no temporary file", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, layout } = yield* ours(dir, { seed: "interrupt-archive" })
        const descriptor = yield* layout.resolve("v1")
        const slowLayer = image.layers[1]!.digest
        // the n-th read of the layer hangs after its first chunk (docker: sniff, gunzip pass 1, pass 2)
        const slowReader = (started: Deferred.Deferred<void>, hangOnRead: number): Layout.Reader => {
          let reads = 0
          return {
            ...layout,
            fetchBlob: (descriptor, options) =>
              descriptor.digest === slowLayer && ++reads === hangOnRead
                ? Stream.concat(
                  Stream.take(layout.fetchBlob(descriptor, options), 1),
                  Stream.fromEffect(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))
                )
                : layout.fetchBlob(descriptor, options)
          }
        }
        const cases = [
          (r: Layout.Reader) => OciArchive.write(nodePath.join(dir, "oci.tar"), r),
          (r: Layout.Reader) =>
            DockerArchive.write(nodePath.join(dir, "docker.tar"), r, [{ descriptor, repoTags: ["a:b"] }])
        ] as const
        for (const [i, write] of cases.entries()) {
          const started = yield* Deferred.make<void>()
          const fiber = yield* Effect.fork(write(slowReader(started, i === 0 ? 1 : 3)))
          yield* Deferred.await(started)
          assert.strictEqual(
            nodeFs.readdirSync(dir).filter((n) => n.endsWith(".tmp")).length,
            1,
            "the temporary archive is being written"
          )
          yield* Fiber.interrupt(fiber)
          assert.deepStrictEqual(nodeFs.readdirSync(dir).filter((n) => n.endsWith(".tar") || n.endsWith(".tmp")), [])
        }
      }))
  })

  describe("docker-archive", () => {
    it.scoped("reads a docker-archive skopeo wrote", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, path } = yield* fixture(dir)
        const archivePath = nodePath.join(dir, "docker.tar")
        yield* skopeoOk(["copy", `oci:${path}:v1`, `docker-archive:${archivePath}:example.com/app:1`])
        const archive = yield* DockerArchive.open(archivePath)
        const descriptor = yield* archive.resolve("example.com/app:1")
        assert.strictEqual((yield* archive.resolve("@0")).digest, descriptor.digest)
        const manifest = yield* archive.fetchManifest(descriptor)
        assert.strictEqual(manifest._tag, "ImageManifest")
        if (manifest._tag !== "ImageManifest") return
        assert.strictEqual(manifest.mediaType, MediaType.DOCKER_MANIFEST)
        assert.strictEqual(manifest.manifest.config.digest, image.configDigest)
        assert.deepStrictEqual(
          manifest.manifest.layers.map((l) => l.digest),
          image.layers.map((l) => l.diffId),
          "docker-archive layers are the uncompressed tars"
        )
        assert.deepStrictEqual(manifest.manifest.layers.map((l) => l.mediaType), [
          DockerArchive.DOCKER_LAYER_TAR,
          DockerArchive.DOCKER_LAYER_TAR
        ])
        const layout = yield* Layout.create(nodePath.join(dir, "from-docker"))
        yield* copyImage(archive, layout, "example.com/app:1", { tags: ["v1"] })
        assert.isTrue((yield* layout.verify()).ok)
        // skopeo 1.9 ignores Docker media types in an OCI layout's index.json: check the way back instead
        const again = nodePath.join(dir, "again.tar")
        yield* DockerArchive.write(again, layout, [{ descriptor: yield* layout.resolve("v1"), repoTags: ["app:v1"] }])
        const raw = yield* inspect(`docker-archive:${again}`)
        assert.strictEqual((raw.config as { digest: string }).digest, image.configDigest)
      }))

    it.scoped("trusts diff_ids of uncompressed layers at open, and catches a corrupt layer when copying", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, path } = yield* fixture(dir, { seed: "trust" })
        const archivePath = nodePath.join(dir, "docker.tar")
        yield* skopeoOk(["copy", `oci:${path}:v1`, `docker-archive:${archivePath}:app:1`])
        const diffId = image.layers[1]!.diffId!
        const entry = Tar.lookup(yield* Tar.scan(archivePath), `${diffId.slice(7)}.tar`)!
        const fd = nodeFs.openSync(archivePath, "r+")
        nodeFs.writeSync(fd, Buffer.from("corrupt"), 0, 7, entry.offset + 700)
        nodeFs.closeSync(fd)
        const trusting = yield* DockerArchive.open(archivePath)
        const descriptor = yield* trusting.resolve("app:1")
        const manifest = yield* trusting.fetchManifest(descriptor)
        assert.deepStrictEqual<unknown>(
          manifest._tag === "ImageManifest" && manifest.manifest.layers.map((l) => l.digest),
          image.layers.map((l) => l.diffId)
        )
        const layout = yield* Layout.create(nodePath.join(dir, "layout"))
        const error = yield* Effect.flip(copyImage(trusting, layout, "app:1", { tags: ["v1"] }))
        assert.strictEqual(error._tag, "DigestMismatch")
        const hashing = yield* DockerArchive.open(archivePath, { hashLayers: true })
        const hashed = yield* hashing.fetchManifest(yield* hashing.resolve("app:1"))
        const digests = hashed._tag === "ImageManifest" ? hashed.manifest.layers.map((l) => l.digest as string) : []
        assert.strictEqual(digests[0], image.layers[0]!.diffId)
        assert.notStrictEqual(digests[1], diffId)
      }))

    it.scoped("skopeo reads the docker-archive we write (gzip layers are decompressed to their diff_ids)", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, layout } = yield* ours(dir, { format: "docker", seed: "docker-out" })
        const archivePath = nodePath.join(dir, "out.tar")
        yield* DockerArchive.write(archivePath, layout, [{
          descriptor: yield* layout.resolve("v1"),
          repoTags: ["example.com/app:1", "example.com/app:latest"]
        }])
        const raw = yield* inspect(`docker-archive:${archivePath}`)
        assert.strictEqual((raw.config as { digest: string }).digest, image.configDigest)
        const target = nodePath.join(dir, "copy")
        yield* skopeoOk(["copy", `docker-archive:${archivePath}:example.com/app:latest`, `oci:${target}:v1`])
        assert.isTrue((yield* (yield* Layout.open(target)).verify()).ok)

        // the structure docker load expects
        const extract = nodePath.join(dir, "extract")
        nodeFs.mkdirSync(extract)
        const untar = yield* Tools.run("tar", ["-xf", archivePath, "-C", extract])
        assert.strictEqual(untar.exitCode, 0, untar.stderr)
        const manifestJson = JSON.parse(nodeFs.readFileSync(nodePath.join(extract, "manifest.json"), "utf8"))
        const diffIds = image.layers.map((l) => l.diffId!)
        assert.deepStrictEqual(manifestJson, [{
          Config: `${image.configDigest.slice(7)}.json`,
          RepoTags: ["example.com/app:1", "example.com/app:latest"],
          Layers: diffIds.map((d) => `${d.slice(7)}.tar`)
        }])
        const repositories = JSON.parse(nodeFs.readFileSync(nodePath.join(extract, "repositories"), "utf8"))
        assert.deepStrictEqual(repositories, {
          "example.com/app": { "1": diffIds[1]!.slice(7), latest: diffIds[1]!.slice(7) }
        })
        for (const diffId of diffIds) {
          const tarBytes = nodeFs.readFileSync(nodePath.join(extract, `${diffId.slice(7)}.tar`))
          assert.strictEqual(Digest.ofBytes(tarBytes), diffId)
        }
        assert.strictEqual(
          Digest.ofBytes(nodeFs.readFileSync(nodePath.join(extract, `${image.configDigest.slice(7)}.json`))),
          image.configDigest
        )
        // our reader reads what we wrote
        const back = yield* DockerArchive.open(archivePath)
        const backManifest = yield* back.fetchManifest(yield* back.resolve("example.com/app:1"))
        assert.strictEqual<string | false>(
          backManifest._tag === "ImageManifest" && backManifest.manifest.config.digest,
          image.configDigest
        )
      }))

    it.scoped("a corrupt gzip layer fails the docker-archive write with a typed error and leaves nothing", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { image, layout } = yield* ours(dir, { seed: "corrupt-gz" })
        const layer = image.layers[1]!
        const file = nodePath.join(layout.path, "blobs", "sha256", layer.digest.slice(7))
        // a valid gzip stream with other content: gunzip succeeds, the digest check of the layer fails
        nodeFs.rmSync(file)
        nodeFs.writeFileSync(file, zlib.gzipSync(Buffer.alloc(layer.size, 1)))
        const archivePath = nodePath.join(dir, "corrupt.tar")
        const descriptor = yield* layout.resolve("v1")
        const mismatch = yield* Effect.flip(
          DockerArchive.write(archivePath, layout, [{ descriptor, repoTags: ["a:b"] }])
        )
        assert.strictEqual(mismatch._tag, "DigestMismatch")
        // garbage instead of gzip: a LayoutError from gunzip
        nodeFs.rmSync(file)
        const garbage = Buffer.alloc(layer.size, 2)
        garbage[0] = 0x1f
        garbage[1] = 0x8b
        nodeFs.writeFileSync(file, garbage)
        const broken = yield* Effect.flip(DockerArchive.write(archivePath, layout, [{ descriptor, repoTags: ["a:b"] }]))
        assert.strictEqual(broken._tag, "UnsupportedContent")
        expect(broken.message).toContain("gunzip")
        assert.deepStrictEqual(nodeFs.readdirSync(dir).filter((n) => n.endsWith(".tar") || n.endsWith(".tmp")), [])
      }))

    it.scoped("reads an old-style docker-archive: legacy <id>/layer.tar symlinks, gzip layers, no tags", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const image = yield* Fixtures.makeImage(nodePath.join(dir, "store"), {
          seed: "legacy",
          layers: [{ size: 5000 }, { size: 9000 }],
          format: "docker"
        })
        const src = nodePath.join(dir, "src")
        nodeFs.mkdirSync(src)
        const layers = image.layers.map((layer, i) => {
          const id = String(i).repeat(64)
          nodeFs.mkdirSync(nodePath.join(src, id))
          nodeFs.copyFileSync(layer.path, nodePath.join(src, `${layer.digest.slice(7)}.tar`))
          nodeFs.symlinkSync(`../${layer.digest.slice(7)}.tar`, nodePath.join(src, id, "layer.tar"))
          return `${id}/layer.tar`
        })
        nodeFs.writeFileSync(nodePath.join(src, "config.json"), image.config)
        nodeFs.writeFileSync(
          nodePath.join(src, "manifest.json"),
          JSON.stringify([{ Config: "config.json", RepoTags: null, Layers: layers }])
        )
        const tarPath = nodePath.join(dir, "legacy.tar")
        const tar = yield* Tools.run("tar", ["-cf", tarPath, "-C", src, "."])
        assert.strictEqual(tar.exitCode, 0, tar.stderr)
        const archive = yield* DockerArchive.open(tarPath)
        const entries = yield* archive.entries
        assert.strictEqual(entries.length, 1)
        assert.strictEqual(entries[0]!.annotations, undefined)
        const manifest = yield* archive.fetchManifest(yield* archive.resolve(""))
        assert.strictEqual(manifest._tag, "ImageManifest")
        if (manifest._tag !== "ImageManifest") return
        assert.deepStrictEqual(
          manifest.manifest.layers.map((l) => [l.mediaType, l.digest, l.size]),
          image.layers.map((l) => [MediaType.DOCKER_LAYER_GZIP, l.digest, l.size])
        )
        const layer = image.layers[1]!
        const tail = yield* Stream.runCollect(archive.fetchBlob(descriptorOf(layer), { offset: 100 }))
        assert.deepStrictEqual(
          new Uint8Array(Buffer.concat([...tail])),
          new Uint8Array(nodeFs.readFileSync(layer.path).subarray(100))
        )
        // an OCI layout made from it round-trips to a docker-archive again (gzip → diff_id tars)
        const layout = yield* Layout.create(nodePath.join(dir, "layout"))
        yield* copyImage(archive, layout, "@0", { tags: ["legacy"] })
        const again = nodePath.join(dir, "again.tar")
        yield* DockerArchive.write(again, layout, [{ descriptor: yield* layout.resolve("legacy"), repoTags: ["x:y"] }])
        const back = yield* DockerArchive.open(again)
        const m = yield* back.fetchManifest(yield* back.resolve("x:y"))
        assert.deepStrictEqual<unknown>(
          m._tag === "ImageManifest" && m.manifest.layers.map((l) => l.digest),
          image.layers.map((l) => l.diffId)
        )
      }))

    it.scoped("writes a docker-archive from an index (platform choice) and reads a docker 25 style archive", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const store = nodePath.join(dir, "store")
        const amd = yield* Fixtures.makeImage(store, { seed: "plat-amd", layers: [{ size: 3000 }] })
        const arm = yield* Fixtures.makeImage(store, {
          seed: "plat-arm",
          layers: [{ size: 3500 }],
          platform: { os: "linux", architecture: "arm64", variant: "v8" }
        })
        const index = yield* Fixtures.makeIndex(store, [amd, arm])
        yield* Fixtures.writeLayout(nodePath.join(dir, "layout"), [{ tag: "multi", root: index }])
        const layout = yield* Layout.open(nodePath.join(dir, "layout"))
        const archivePath = nodePath.join(dir, "arm.tar")
        yield* DockerArchive.write(archivePath, layout, [{
          descriptor: yield* layout.resolve("multi"),
          repoTags: ["app:arm"]
        }], {
          platform: { os: "linux", architecture: "arm64" }
        })
        const back = yield* DockerArchive.open(archivePath)
        const m = yield* back.fetchManifest(yield* back.resolve("app:arm"))
        assert.strictEqual<string | false>(m._tag === "ImageManifest" && m.manifest.config.digest, arm.configDigest)

        // docker 25+: an OCI layout plus manifest.json naming blobs/sha256/... paths
        const docker25 = nodePath.join(dir, "docker25")
        yield* Fixtures.writeLayout(docker25, [{ tag: "app:1", root: amd }])
        const rawLayer = zlib.gunzipSync(nodeFs.readFileSync(amd.layers[0]!.path))
        const rawDigest = Digest.ofBytes(rawLayer)
        nodeFs.writeFileSync(nodePath.join(docker25, "blobs", "sha256", rawDigest.slice(7)), rawLayer)
        nodeFs.writeFileSync(
          nodePath.join(docker25, "manifest.json"),
          JSON.stringify([{
            Config: `blobs/sha256/${amd.configDigest.slice(7)}`,
            RepoTags: ["app:1"],
            Layers: [`blobs/sha256/${rawDigest.slice(7)}`]
          }])
        )
        const tarPath = nodePath.join(dir, "docker25.tar")
        const tar = yield* Tools.run("tar", ["-cf", tarPath, "-C", docker25, "."])
        assert.strictEqual(tar.exitCode, 0, tar.stderr)
        const archive = yield* DockerArchive.open(tarPath)
        const manifest = yield* archive.fetchManifest(yield* archive.resolve("app:1"))
        assert.strictEqual(manifest._tag === "ImageManifest" && manifest.manifest.layers[0]!.digest, rawDigest)
        // the same file is also an oci-archive
        const asOci = yield* OciArchive.open(tarPath)
        assert.strictEqual((yield* asOci.resolve("app:1")).digest, amd.manifestDigest)
      }))
  })
})

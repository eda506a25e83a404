/**
 * Compressed archives (gzip, zstd: detected by content, not name) and every image of a docker-archive
 * addressable (`@N`, image ID), read back from archives our code wrote, compressed by the `gzip`/`zstd`
 * programs and `node:zlib`; skopeo reads the same compressed files.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, layer } from "@effect/vitest"
import { DockerArchive, Layout, OciArchive } from "@ocidist/layout"
import { Digest } from "@ocidist/reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as nodeFs from "node:fs"
import * as nodePath from "node:path"
import { pipeline } from "node:stream/promises"
import * as zlib from "node:zlib"
import { collect } from "../src/internal/reader.js"

const tempDir = Effect.flatMap(
  FileSystem.FileSystem,
  (fs) => fs.makeTempDirectoryScoped({ prefix: "layout-compressed-" })
)

const ok = (what: string) => (r: Tools.RunResult) =>
  r.exitCode === 0 ? Effect.succeed(r) : Effect.die(new Error(`${what}: ${r.stderr}`))

/** The failure of `effect`; a success fails the test with a short message (not the whole value). */
const failure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(
    Effect.either(effect),
    (r) => Either.isLeft(r) ? Effect.succeed(r.left) : Effect.die(new Error("expected a failure, it succeeded"))
  )

const run = (command: string, args: ReadonlyArray<string>) =>
  Effect.flatMap(Tools.run(command, args), ok(`${command} ${args.join(" ")}`))

const skopeo = (args: ReadonlyArray<string>) =>
  Effect.flatMap(Tools.skopeo(["--insecure-policy", ...args]), ok(`skopeo ${args.join(" ")}`))

/** gzip with node:zlib, streaming (file to file). */
const gzipFile = (from: string, to: string) =>
  Effect.promise(() => pipeline(nodeFs.createReadStream(from), zlib.createGzip(), nodeFs.createWriteStream(to)))

/** Every blob reachable from `root` and its sha256 as read through `reader` (content, not just names). */
const contentOf = (reader: Layout.Reader, root: Descriptor.Descriptor) =>
  Effect.gen(function*() {
    const graph = yield* collect(reader, [root])
    const all = [...graph.blobs, ...graph.manifests.map((m) => m.descriptor)]
    const digests = yield* Effect.forEach(
      all,
      (d) => Effect.map(Digest.fromStream(reader.fetchBlob(d)), (r) => r.digest)
    )
    return all.map((d, i) => `${d.digest}=${digests[i]}`).sort()
  })

/** Runs `effect` in a scope of its own, closed right after (the reader's decompressed copy goes with it). */
const inScope = <A, E, R>(effect: Effect.Effect<A, E, R | Scope.Scope>) =>
  Effect.acquireUseRelease(
    Scope.make(),
    (scope) => Scope.extend(effect, scope),
    (scope, exit) => Scope.close(scope, exit)
  )

const images = (dir: string, format: Fixtures.Format) =>
  Effect.gen(function*() {
    const make = (seed: string, size: number) =>
      Fixtures.makeImage(nodePath.join(dir, "store"), { seed, layers: [{ size }, { size: 3000 }], format })
    const a = yield* make("compressed/a", 5000)
    const b = yield* make("compressed/b", 7000)
    const c = yield* make("compressed/c", 9000)
    const fixture = nodePath.join(dir, "fixture")
    yield* Fixtures.writeLayout(fixture, [{ tag: "a", root: a }, { tag: "b", root: b }, { tag: "c", root: c }])
    return { a, b, c, layout: yield* Layout.open(fixture) }
  })

layer(NodeContext.layer)("compressed archives", (it) => {
  describe("oci-archive", () => {
    it.scoped("gzip and zstd archives read as the tar they hold, detected by content; skopeo reads them too", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { a, layout } = yield* images(dir, "oci")
        const plain = nodePath.join(dir, "plain.tar")
        yield* OciArchive.write(plain, layout)
        const tgz = nodePath.join(dir, "copy.tar.gz")
        yield* run("sh", ["-c", `gzip -c "${plain}" > "${tgz}"`])
        const zst = nodePath.join(dir, "copy.tar.zst")
        yield* run("zstd", ["-q", plain, "-o", zst])
        // named like a plain tar: the content decides
        const disguised = nodePath.join(dir, "disguised.tar")
        yield* gzipFile(plain, disguised)
        const tgz2 = nodePath.join(dir, "copy.tgz")
        nodeFs.copyFileSync(tgz, tgz2)

        const expected = yield* inScope(Effect.gen(function*() {
          const reader = yield* OciArchive.open(plain)
          return { root: yield* reader.resolve("a"), content: yield* contentOf(reader, yield* reader.resolve("a")) }
        }))
        assert.strictEqual(expected.root.digest, a.manifestDigest)
        const scratch = nodePath.join(dir, "scratch")
        for (const file of [tgz, zst, disguised, tgz2]) {
          const seen = yield* inScope(Effect.gen(function*() {
            const reader = yield* OciArchive.open(file, { directory: scratch })
            assert.strictEqual(reader.name, `oci-archive:${file}`)
            assert.deepStrictEqual([...(yield* reader.tags)].sort(), ["a", "b", "c"])
            const root = yield* reader.resolve("a")
            assert.strictEqual(nodeFs.readdirSync(scratch).length, 1, "one decompressed copy while open")
            return { root, content: yield* contentOf(reader, root) }
          }))
          assert.deepStrictEqual(seen, expected, file)
          assert.deepStrictEqual(nodeFs.readdirSync(scratch), [], `the decompressed copy of ${file} is removed`)
        }
        for (const file of [tgz, zst]) {
          const raw = (yield* skopeo(["inspect", "--raw", `oci-archive:${file}:a`])).stdout
          assert.strictEqual(raw, new TextDecoder().decode(a.manifest), `skopeo reads ${file}`)
        }
      }))

    it.scoped("a corrupt stream is InvalidArchive; zstd without Node's zstd nor the program says what to install", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { layout } = yield* images(dir, "oci")
        const plain = nodePath.join(dir, "plain.tar")
        yield* OciArchive.write(plain, layout)
        const tgz = nodePath.join(dir, "x.tar.gz")
        yield* gzipFile(plain, tgz)
        const truncated = nodePath.join(dir, "truncated.tar.gz")
        nodeFs.writeFileSync(truncated, nodeFs.readFileSync(tgz).subarray(0, 2000))
        const broken = yield* failure(inScope(OciArchive.open(truncated)))
        assert.strictEqual(broken._tag, "InvalidArchive")
        assert.include(broken.message, truncated)
        assert.include(broken.message, "gzip")

        const zst = nodePath.join(dir, "x.tar.zst")
        yield* run("zstd", ["-q", plain, "-o", zst])
        const badZst = nodePath.join(dir, "bad.tar.zst")
        nodeFs.writeFileSync(badZst, nodeFs.readFileSync(zst).subarray(0, 100))
        const bad = yield* failure(inScope(OciArchive.open(badZst)))
        assert.strictEqual(bad._tag, "InvalidArchive")
        assert.include(bad.message, "zstd")

        const hasNodeZstd = typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === "function"
        if (!hasNodeZstd) {
          const saved = process.env.PATH
          const exit = yield* Effect.acquireUseRelease(
            Effect.sync(() => {
              process.env.PATH = nodePath.join(dir, "empty-path")
            }),
            () => Effect.exit(inScope(OciArchive.open(zst))),
            () =>
              Effect.sync(() => {
                process.env.PATH = saved
              })
          )
          assert.isTrue(Exit.isFailure(exit))
          const failure = Exit.isFailure(exit) ? exit.cause : undefined
          const text = String(failure)
          assert.include(text, "UnsupportedContent")
          assert.include(text, "Node 22.15")
          assert.include(text, "zstd program on PATH")
        }
      }))
  })

  describe("docker-archive", () => {
    it.scoped("@N and image IDs select every image, untagged ones too (podman save -m), compressed or not", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const { a, b, c, layout } = yield* images(dir, "docker")
        const descriptor = (image: Fixtures.Image) =>
          ({
            mediaType: image.mediaType,
            digest: image.manifestDigest as Digest.Digest,
            size: image.manifest.length
          }) satisfies Descriptor.Descriptor
        const written = nodePath.join(dir, "written.tar")
        yield* DockerArchive.write(written, layout, [
          { descriptor: descriptor(a), repoTags: ["localhost/app:1"] },
          { descriptor: descriptor(b) },
          { descriptor: descriptor(c) }
        ])
        // as `podman save -m` writes untagged images: RepoTags null (re-packed with GNU tar)
        const unpacked = nodePath.join(dir, "unpacked")
        nodeFs.mkdirSync(unpacked)
        yield* run("tar", ["-xf", written, "-C", unpacked])
        const manifestJson = JSON.parse(nodeFs.readFileSync(nodePath.join(unpacked, "manifest.json"), "utf8")) as Array<
          { RepoTags: unknown }
        >
        manifestJson[1]!.RepoTags = null
        manifestJson[2]!.RepoTags = null
        nodeFs.writeFileSync(nodePath.join(unpacked, "manifest.json"), JSON.stringify(manifestJson))
        const podmanLike = nodePath.join(dir, "multi.tar")
        yield* run("tar", ["-cf", podmanLike, "-C", unpacked, "."])
        const gz = nodePath.join(dir, "multi.tar.gz")
        yield* run("sh", ["-c", `gzip -c "${podmanLike}" > "${gz}"`])
        const zst = nodePath.join(dir, "multi.tar.zst")
        yield* run("zstd", ["-q", podmanLike, "-o", zst])

        for (const file of [podmanLike, gz, zst]) {
          yield* inScope(Effect.gen(function*() {
            const reader = yield* DockerArchive.open(file)
            const ids = [a, b, c].map((i) => i.configDigest)
            const found = yield* Effect.forEach(["@0", "@1", "@2"], (n) => reader.resolve(n))
            const byId = yield* Effect.forEach(ids, (id) => reader.resolve(id))
            assert.deepStrictEqual(byId.map((d) => d.digest), found.map((d) => d.digest), file)
            assert.strictEqual((yield* reader.resolve("localhost/app:1")).digest, found[0]!.digest)
            // the synthesized manifests carry each image's config and layer content
            for (const [i, image] of [a, b, c].entries()) {
              const manifest = yield* reader.fetchManifest(found[i]!)
              assert.strictEqual(manifest._tag, "ImageManifest")
              if (manifest._tag === "ImageManifest") {
                assert.strictEqual(manifest.manifest.config.digest, image.configDigest)
              }
            }
            // and by manifest digest
            assert.strictEqual((yield* reader.resolve(found[2]!.digest)).digest, found[2]!.digest)

            for (const missing of ["@3", `sha256:${"0".repeat(64)}`, "other:1"]) {
              const e = yield* failure(reader.resolve(missing))
              assert.strictEqual(e._tag, "ImageNotFound", missing)
              assert.include(e.message, "the archive holds 3 images")
              assert.include(e.message, `@0 localhost/app:1 (image ID ${a.configDigest})`)
              assert.include(e.message, `@2 untagged (image ID ${c.configDigest})`)
            }
          }))
        }
        // skopeo's @source-index reads the same image
        // (skopeo 1.9.3 reads zstd-compressed docker-archives; gzip-compressed ones fail there with
        // "loading tar component manifest.json: unexpected EOF")
        for (const file of [podmanLike, zst]) {
          const config = (yield* skopeo(["inspect", "--config", "--raw", `docker-archive:${file}:@1`])).stdout
          assert.strictEqual(Digest.ofBytes(new TextEncoder().encode(config)), b.configDigest, file)
        }
      }))
  })
})

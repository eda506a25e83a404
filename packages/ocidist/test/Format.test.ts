// Formats: Docker manifests written into an OCI layout or oci-archive are converted to OCI (as skopeo does),
// so that skopeo and umoci read them; `format: "keep"` keeps the digests; other destinations keep them by
// default; `format: "docker"` converts OCI images and refuses artifacts before writing anything. Sources are
// layouts written here (with Docker media types, as Docker-format registries and ocidist before 0.5 left them).
import { assert, describe, it } from "@effect/vitest"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Copy, Ocidist } from "../src/index.js"
import { ocidistFor, verifyLayout } from "./helpers.js"

const ok = (result: Tools.RunResult, what: string) => {
  assert.strictEqual(result.exitCode, 0, `${what}: ${result.stderr}`)
  return result.stdout
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
const OCI_INDEX = "application/vnd.oci.image.index.v1+json"
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"

interface Desc {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
  readonly platform?: unknown
}
interface Doc {
  readonly mediaType: string
  readonly config: Desc
  readonly layers: Array<Desc>
  readonly manifests: Array<Desc>
  readonly annotations?: Record<string, string>
}
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as Doc
const blob = (layout: string, digest: string) => readJson(path.join(layout, "blobs", ...digest.split(":")))
const indexOf = (layout: string) => readJson(path.join(layout, "index.json"))

/** A Docker-format image (docker config, gzip layers, v2s2 manifest) in a layout of its own, tagged `1`. */
const dockerImage = (dir: string) =>
  Effect.gen(function*() {
    const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { format: "docker", seed: "format/docker" })
    const layout = path.join(dir, "docker-src")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "1" }])
    return { image, layout }
  })

describe("formats", () => {
  it.scopedLive("a Docker image copied into an OCI layout is converted; skopeo and umoci read it", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const { image, layout } = yield* dockerImage(dir)
      const out = path.join(dir, "out")
      const result = yield* Ocidist.copy(`oci:${layout}:1`, `oci:${out}:1`).pipe(Effect.provide(ocidistFor()))

      const entry = result.images[0]!
      assert.strictEqual(entry.sourceDigest, image.manifestDigest)
      assert.notStrictEqual(entry.digest, image.manifestDigest)
      assert.strictEqual(entry.mediaType, OCI_MANIFEST)
      assert.deepStrictEqual(entry.converted, { from: DOCKER_MANIFEST, to: OCI_MANIFEST })
      assert.strictEqual(result.digest, entry.digest)
      const root = entry.manifests[0]!
      assert.strictEqual(root.sourceDigest, image.manifestDigest)
      assert.strictEqual(root.digest, entry.digest)
      // config and layer bytes unchanged: the same digests, copied as blobs
      assert.deepStrictEqual(result.blobs.map((b) => b.digest), [
        image.configDigest,
        ...image.layers.map((l) => l.digest)
      ])

      const manifest = blob(out, entry.digest)
      assert.strictEqual(manifest.mediaType, OCI_MANIFEST)
      assert.strictEqual(manifest.config.mediaType, "application/vnd.oci.image.config.v1+json")
      assert.strictEqual(manifest.config.digest, image.configDigest)
      assert.deepStrictEqual(
        manifest.layers.map((l) => l.mediaType),
        image.layers.map(() => "application/vnd.oci.image.layer.v1.tar+gzip")
      )
      assert.deepStrictEqual(manifest.annotations, { [Copy.SOURCE_DIGEST_ANNOTATION]: image.manifestDigest })
      assert.deepStrictEqual(indexOf(out).manifests.map((m) => [m.digest, m.mediaType]), [[entry.digest, OCI_MANIFEST]])
      yield* verifyLayout(out)

      const inspected = JSON.parse(ok(yield* Tools.skopeo(["inspect", `oci:${out}:1`]), "skopeo inspect")) as {
        Digest: string
        Layers: Array<string>
      }
      assert.strictEqual(inspected.Digest, entry.digest)
      assert.deepStrictEqual(inspected.Layers, image.layers.map((l) => l.digest))
      const bundle = path.join(dir, "bundle")
      ok(yield* Tools.umoci(["unpack", "--rootless", "--image", `${out}:1`, bundle]), "umoci unpack")
      assert.isTrue(fs.existsSync(path.join(bundle, "rootfs", image.layers[0]!.fileName!)))

      // again: the same bytes (same digest); blobs present are skipped
      const again = yield* Ocidist.copy(`oci:${layout}:1`, `oci:${out}:1`).pipe(Effect.provide(ocidistFor()))
      assert.strictEqual(again.digest, entry.digest)
      assert.strictEqual(again.stats.transferred, 0)
    }))

  it.scopedLive("a Docker manifest list becomes an OCI index of converted manifests; skopeo copy --all reads it", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const index = yield* Fixtures.multiPlatformIndex(path.join(dir, "fixture"), { format: "docker" })
      const layout = path.join(dir, "src")
      yield* Fixtures.writeLayout(layout, [{ root: index, tag: "1" }])
      const archive = path.join(dir, "out.tar")
      const result = yield* Ocidist.copy(`oci:${layout}:1`, `oci-archive:${archive}:1`).pipe(
        Effect.provide(ocidistFor())
      )
      const entry = result.images[0]!
      assert.strictEqual(entry.sourceDigest, index.digest)
      assert.deepStrictEqual(entry.converted, { from: DOCKER_LIST, to: OCI_INDEX })
      assert.deepStrictEqual(
        entry.manifests.map((m) => [m.role, m.sourceDigest, m.converted?.to]),
        [
          ...index.images.map((i) => ["child", i.manifestDigest, OCI_MANIFEST]),
          ["root", index.digest, OCI_INDEX]
        ]
      )
      const raw = JSON.parse(
        ok(yield* Tools.skopeo(["inspect", "--raw", `oci-archive:${archive}:1`]), "inspect")
      ) as Doc
      assert.strictEqual(raw.mediaType, OCI_INDEX)
      assert.deepStrictEqual(raw.manifests.map((m) => m.digest), entry.manifests.slice(0, 3).map((m) => m.digest))
      assert.deepStrictEqual(raw.manifests.map((m) => m.platform), index.images.map((i) => i.descriptor.platform))
      ok(
        yield* Tools.skopeo(["copy", "-q", "--all", `oci-archive:${archive}:1`, `dir:${path.join(dir, "dir")}`]),
        "skopeo copy --all"
      )
    }))

  it.scopedLive("format keep writes the Docker manifest as it is; a docker-archive keeps it by default", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const { image, layout } = yield* dockerImage(dir)
      const out = path.join(dir, "out")
      const kept = yield* Ocidist.copy(`oci:${layout}:1`, `oci:${out}:1`, { format: "keep" }).pipe(
        Effect.provide(ocidistFor())
      )
      assert.strictEqual(kept.digest, image.manifestDigest)
      assert.strictEqual(kept.images[0]!.converted, undefined)
      assert.deepStrictEqual(indexOf(out).manifests.map((m) => m.mediaType), [DOCKER_MANIFEST])
      const archive = yield* Ocidist.copy(`oci:${layout}:1`, `docker-archive:${path.join(dir, "d.tar")}:app:1`).pipe(
        Effect.provide(ocidistFor())
      )
      assert.strictEqual(archive.digest, image.manifestDigest)
    }))

  it.scopedLive("format docker converts an OCI image to schema 2; a dry run says so and writes nothing", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "format/oci" })
      const layout = path.join(dir, "src")
      yield* Fixtures.writeLayout(layout, [{ root: image, tag: "1" }])
      const out = path.join(dir, "out")
      const plan = yield* Ocidist.copy(`oci:${layout}:1`, `oci:${out}:1`, { format: "docker", dryRun: true }).pipe(
        Effect.provide(ocidistFor())
      )
      assert.isFalse(fs.existsSync(out))
      const result = yield* Ocidist.copy(`oci:${layout}:1`, `oci:${out}:1`, { format: "docker" }).pipe(
        Effect.provide(ocidistFor())
      )
      assert.strictEqual(plan.digest, result.digest)
      assert.deepStrictEqual(result.images[0]!.converted, { from: OCI_MANIFEST, to: DOCKER_MANIFEST })
      const manifest = blob(out, result.digest)
      assert.deepStrictEqual(Object.keys(manifest), ["schemaVersion", "mediaType", "config", "layers"])
      assert.strictEqual(manifest.config.mediaType, "application/vnd.docker.container.image.v1+json")
      assert.deepStrictEqual(
        manifest.layers.map((l) => l.mediaType),
        image.layers.map(() => "application/vnd.docker.image.rootfs.diff.tar.gzip")
      )
      // and back: OCI again, the annotation naming the Docker manifest
      const back = yield* Ocidist.copy(`oci:${out}:1`, `oci:${path.join(dir, "back")}:1`).pipe(
        Effect.provide(ocidistFor())
      )
      assert.strictEqual(back.images[0]!.sourceDigest, result.digest)
      assert.strictEqual(
        blob(path.join(dir, "back"), back.digest).annotations?.[Copy.SOURCE_DIGEST_ANNOTATION],
        result.digest
      )
    }))

  it.scopedLive("format docker refuses an artifact before writing anything, naming its type", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const artifact = yield* Fixtures.makeArtifact(path.join(dir, "fixture"), {
        artifactType: "application/vnd.example.sbom.v1",
        payload: "{}"
      })
      const layout = path.join(dir, "src")
      yield* Fixtures.writeLayout(layout, [{ root: artifact, tag: "1" }])
      const out = path.join(dir, "out")
      const error = yield* Ocidist.copy(`oci:${layout}:1`, `oci:${out}:1`, { format: "docker" }).pipe(
        Effect.provide(ocidistFor()),
        Effect.flip
      )
      assert.strictEqual(error._tag, "UnsupportedFormat")
      assert.include(error.message, "application/vnd.example.sbom.v1")
      assert.include(error.message, "Docker")
      assert.isFalse(fs.existsSync(out))
    }))
})

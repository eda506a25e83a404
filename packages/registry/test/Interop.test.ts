/**
 * skopeo, an independent client, against the embedded registry: it copies a generated multi-layer image and
 * a multi-platform index (`--all`) from an OCI layout into the registry and back out, and `skopeo inspect
 * --raw` gives the source manifest bytes byte for byte. With memory and directory storage.
 */
import { assert, describe, it } from "@effect/vitest"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as NodeRegistry from "../src/NodeRegistry.js"
import type * as Registry from "../src/Registry.js"
import { skopeoOk } from "./support/harness.js"

interface LayoutIndex {
  readonly manifests: ReadonlyArray<{ readonly digest: string; readonly mediaType: string }>
}

const readIndex = (dir: string): LayoutIndex => JSON.parse(fs.readFileSync(path.join(dir, "index.json"), "utf8"))

const blob = (dir: string, digest: string) => fs.readFileSync(path.join(dir, "blobs", "sha256", digest.slice(7)))

const push = (source: string, registry: Registry.Running, target: string, all = false) =>
  skopeoOk([
    "copy",
    "-q",
    "--dest-tls-verify=false",
    "--preserve-digests",
    ...(all ? ["--all"] : []),
    source,
    `docker://${registry.host}/${target}`
  ])

const pull = (registry: Registry.Running, target: string, destination: string, all = false) =>
  skopeoOk([
    "copy",
    "-q",
    "--src-tls-verify=false",
    "--preserve-digests",
    ...(all ? ["--all"] : []),
    `docker://${registry.host}/${target}`,
    destination
  ])

const inspectRaw = (registry: Registry.Running, target: string) =>
  Effect.map(
    skopeoOk(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/${target}`]),
    (r) => r.stdout
  )

const storages = ["memory", "directory"] as const

describe("skopeo against the embedded registry", () => {
  for (const kind of storages) {
    it.scopedLive(`copies a multi-layer image in and out, manifest bytes preserved (${kind} storage)`, () =>
      Effect.gen(function*() {
        const dir = yield* Tools.tempDir("ocidist-registry-interop-")
        const registry = yield* NodeRegistry.start({
          storage: kind === "memory" ? "memory" : { directory: path.join(dir, "registry") }
        })
        const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
          seed: `registry/interop/${kind}`,
          layers: [{ size: 300 }, { size: 70_000 }, { size: 5_000 }, { size: 150_000 }],
          annotations: { "org.opencontainers.image.title": "embedded registry interop" }
        })
        const source = path.join(dir, "source")
        yield* Fixtures.writeLayout(source, [{ tag: "v1", root: image }])

        yield* push(`oci:${source}:v1`, registry, "interop/image:v1")
        const raw = yield* inspectRaw(registry, "interop/image:v1")
        assert.isTrue(
          Buffer.from(raw).equals(Buffer.from(image.manifest)),
          "skopeo inspect --raw gives the pushed bytes"
        )
        const byDigest = yield* inspectRaw(registry, `interop/image@${image.manifestDigest}`)
        assert.strictEqual(byDigest, raw)

        const out = path.join(dir, "out")
        yield* pull(registry, "interop/image:v1", `oci:${out}:copied`)
        const index = readIndex(out)
        assert.strictEqual(index.manifests.length, 1)
        assert.strictEqual(index.manifests[0]!.digest, image.manifestDigest)
        assert.isTrue(blob(out, image.manifestDigest).equals(Buffer.from(image.manifest)))
        assert.isTrue(blob(out, image.configDigest).equals(Buffer.from(image.config)))
        for (const layer of image.layers) {
          assert.isTrue(blob(out, layer.digest).equals(fs.readFileSync(layer.path)), `layer ${layer.digest}`)
        }

        if (kind === "directory") {
          // the repository is an OCI layout on disk, holding what skopeo pushed
          const repoDir = path.join(dir, "registry", "interop", "image")
          assert.isTrue(fs.existsSync(path.join(repoDir, "oci-layout")))
          for (const layer of image.layers) {
            assert.isTrue(blob(repoDir, layer.digest).equals(fs.readFileSync(layer.path)))
          }
        }
      }))

    it.scopedLive(`copies a multi-platform index with --all, every manifest byte for byte (${kind} storage)`, () =>
      Effect.gen(function*() {
        const dir = yield* Tools.tempDir("ocidist-registry-interop-")
        const registry = yield* NodeRegistry.start({
          storage: kind === "memory" ? "memory" : { directory: path.join(dir, "registry") }
        })
        const index = yield* Fixtures.multiPlatformIndex(path.join(dir, "fixture"), { seed: `registry/multi/${kind}` })
        const source = path.join(dir, "source")
        yield* Fixtures.writeLayout(source, [{ tag: "multi", root: index }])

        yield* push(`oci:${source}:multi`, registry, "interop/multi:v1", true)
        const raw = yield* inspectRaw(registry, "interop/multi:v1")
        assert.isTrue(Buffer.from(raw).equals(Buffer.from(index.index)), "the index is served as pushed")
        for (const child of index.images) {
          const childRaw = yield* inspectRaw(registry, `interop/multi@${child.manifestDigest}`)
          assert.isTrue(Buffer.from(childRaw).equals(Buffer.from(child.manifest)), `child ${child.manifestDigest}`)
        }

        const out = path.join(dir, "out")
        yield* pull(registry, "interop/multi:v1", `oci:${out}:copied`, true)
        const pulled = readIndex(out)
        assert.strictEqual(pulled.manifests[0]!.digest, index.digest)
        assert.isTrue(blob(out, index.digest).equals(Buffer.from(index.index)))
        for (const child of index.images) {
          assert.isTrue(blob(out, child.manifestDigest).equals(Buffer.from(child.manifest)))
          for (const layer of child.layers) {
            assert.isTrue(blob(out, layer.digest).equals(fs.readFileSync(layer.path)))
          }
        }
      }))
  }

  it.scopedLive("a Docker schema 2 image (from skopeo's dir: transport) keeps its media type and bytes", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-interop-")
      const registry = yield* NodeRegistry.start()
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { format: "docker", seed: "registry/docker" })
      // skopeo's OCI layout transport lists OCI manifests only: a Docker image goes through `dir:`
      const source = path.join(dir, "source")
      fs.mkdirSync(source)
      fs.writeFileSync(path.join(source, "version"), "Directory Transport Version: 1.1\n")
      fs.writeFileSync(path.join(source, "manifest.json"), image.manifest)
      fs.writeFileSync(path.join(source, image.configDigest.slice(7)), image.config)
      for (const layer of image.layers) fs.copyFileSync(layer.path, path.join(source, layer.digest.slice(7)))

      yield* push(`dir:${source}`, registry, "interop/docker:v1")
      const raw = yield* inspectRaw(registry, "interop/docker:v1")
      assert.isTrue(Buffer.from(raw).equals(Buffer.from(image.manifest)))
      const summary = JSON.parse(
        (yield* skopeoOk(["inspect", "--tls-verify=false", `docker://${registry.host}/interop/docker:v1`])).stdout
      ) as { readonly Digest: string; readonly Layers: ReadonlyArray<string> }
      assert.strictEqual(summary.Digest, image.manifestDigest)
      assert.deepStrictEqual(summary.Layers, image.layers.map((l) => l.digest))
      const out = path.join(dir, "out")
      yield* pull(registry, "interop/docker:v1", `dir:${out}`)
      assert.isTrue(fs.readFileSync(path.join(out, "manifest.json")).equals(Buffer.from(image.manifest)))
    }))
})

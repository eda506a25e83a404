// Mutate.mutate and Mutate.append against a real registry (Debian docker-registry) and OCI layouts, read back
// by skopeo and umoci.
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as NodeHash from "@ocidist/reference/NodeHash"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { Mutate, Ocidist } from "../src/index.js"
import * as NodeCompression from "../src/NodeCompression.js"
import { ocidistFor, verifyLayout } from "./helpers.js"
import { tarOf, text } from "./layers.js"

const services = Layer.mergeAll(NodeRegistryClient.layer(), NodeContext.layer, NodeHash.layer, NodeCompression.layer())

const ok = (result: Tools.RunResult, what: string) => {
  assert.strictEqual(result.exitCode, 0, `${what}: ${result.stderr}`)
  return result.stdout
}

const sha256 = (bytes: Uint8Array) => `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`

type Json = Record<string, unknown>

const blobOf = (layout: string, digest: string): Json =>
  JSON.parse(fs.readFileSync(path.join(layout, "blobs", "sha256", digest.slice(7)), "utf8")) as Json

const layoutEntry = (layout: string, tag: string) =>
  (JSON.parse(fs.readFileSync(path.join(layout, "index.json"), "utf8")) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>
  }).manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag)!

describe("Mutate", () => {
  it.scopedLive("mutate in a registry: exactly the asked fields change, layers stay (skipped, or mounted)", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"))
      yield* Fixtures.writeLayout(path.join(dir, "layout"), [{ tag: "1", root: image }])
      yield* Ocidist.push(`oci:${path.join(dir, "layout")}:1`, `${registry.host}/app:1`).pipe(
        Effect.provide(ocidistFor(registry))
      )
      const result = yield* Mutate.mutate(`${registry.host}/app:1`, {
        labels: { "org.example.new": "yes" },
        env: ["MODE=prod", "PATH=/opt/bin"],
        entrypoint: ["/bin/app", "--serve"],
        workdir: "/srv",
        user: "1000",
        annotations: { "org.example.note": "mutated" }
      }).pipe(Effect.provide(services))
      assert.strictEqual(result.sourceDigest, image.manifestDigest)
      assert.notStrictEqual(result.digest, image.manifestDigest)
      assert.deepStrictEqual(result.tags, ["1"])
      // the new config is the only blob written; the layers were there
      assert.strictEqual(result.stats.transferred, 1)
      assert.strictEqual(result.stats.skipped, image.layers.length)
      assert.strictEqual(result.stats.mounted, 0)

      const before = JSON.parse(new TextDecoder().decode(image.config)) as Json
      const after = JSON.parse(ok(
        yield* Tools.skopeo(["inspect", "--config", "--raw", "--tls-verify=false", `docker://${registry.host}/app:1`]),
        "skopeo inspect --config"
      )) as Json
      const c = before.config as Json
      const expected = {
        ...before,
        config: {
          ...c,
          Env: ["PATH=/opt/bin", "MODE=prod"],
          Labels: { ...(c.Labels as Json), "org.example.new": "yes" },
          Entrypoint: ["/bin/app", "--serve"],
          WorkingDir: "/srv",
          User: "1000"
        }
      }
      assert.deepStrictEqual(after, expected)
      assert.deepStrictEqual(Object.keys(after), Object.keys(before))
      const manifest = JSON.parse(ok(
        yield* Tools.skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/app:1`]),
        "skopeo inspect --raw"
      )) as { layers: Array<{ digest: string }>; annotations: Record<string, string> }
      assert.deepStrictEqual(manifest.layers.map((l) => l.digest), image.layers.map((l) => l.digest))
      assert.deepStrictEqual(manifest.annotations, {
        "org.opencontainers.image.title": "ocidist small",
        "org.example.note": "mutated"
      })
      const inspected = JSON.parse(ok(
        yield* Tools.skopeo(["inspect", "--tls-verify=false", `docker://${registry.host}/app:1`]),
        "skopeo inspect"
      )) as { Digest: string; Labels: Record<string, string>; Env: Array<string> }
      assert.strictEqual(inspected.Digest, result.digest)
      assert.strictEqual(inspected.Labels["org.example.new"], "yes")
      assert.include(inspected.Env, "MODE=prod")

      // into another repository of the registry: the layers are mounted, not uploaded
      const other = yield* Mutate.mutate(`${registry.host}/app:1`, {
        destination: `${registry.host}/other:2`,
        labels: { "org.example.other": "1" }
      }).pipe(Effect.provide(services))
      assert.strictEqual(other.stats.mounted, image.layers.length)
      assert.strictEqual(other.stats.transferred, 1)
      assert.deepStrictEqual(other.tags, ["2"])
    }))

  it.scopedLive("mutate an index in a layout: one platform (the others untouched), or every image", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const index = yield* Fixtures.multiPlatformIndex(path.join(dir, "fixture"))
      const layout = path.join(dir, "layout")
      yield* Fixtures.writeLayout(layout, [{ tag: "multi", root: index }])
      const entries = (
        digest: string
      ) => (blobOf(layout, digest).manifests as Array<{ digest: string; platform: { architecture: string } }>)
      const original = entries(index.digest)

      const one = yield* Mutate.mutate(`oci:${layout}:multi`, { platform: "linux/arm64", labels: { "x": "1" } })
        .pipe(Effect.provide(services))
      assert.strictEqual(layoutEntry(layout, "multi").digest, one.digest)
      const after = entries(one.digest)
      assert.strictEqual(after[0]!.digest, original[0]!.digest)
      assert.notStrictEqual(after[1]!.digest, original[1]!.digest)
      assert.strictEqual(after[2]!.digest, original[2]!.digest)
      assert.deepStrictEqual(one.images.map((i) => i.platform?.architecture), ["arm64"])
      const arm = JSON.parse(ok(
        yield* Tools.skopeo(["inspect", "--override-arch", "arm64", `oci:${layout}:multi`]),
        "skopeo inspect arm64"
      )) as { Labels: Record<string, string> }
      assert.strictEqual(arm.Labels.x, "1")
      const amd = JSON.parse(ok(
        yield* Tools.skopeo(["inspect", "--override-arch", "amd64", `oci:${layout}:multi`]),
        "skopeo inspect amd64"
      )) as { Labels: Record<string, string> }
      assert.isUndefined(amd.Labels.x)

      const all = yield* Mutate.mutate(`oci:${layout}:multi`, {
        env: ["ALL=1"],
        annotations: { "org.example.index": "yes" }
      }).pipe(Effect.provide(services))
      assert.strictEqual(all.images.length, 3)
      const rewritten = blobOf(layout, all.digest) as { annotations: Record<string, string> }
      assert.strictEqual(rewritten.annotations["org.example.index"], "yes")
      assert.isTrue(entries(all.digest).every((e, i) => e.digest !== after[i]!.digest))
      yield* verifyLayout(layout)
    }))

  it.scopedLive("append: a .tar is gzipped, a .tar.gz kept, a directory tarred; umoci unpacks the new files", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"))
      const layout = path.join(dir, "layout")
      yield* Fixtures.writeLayout(layout, [{ tag: "1", root: image }])

      const plain = tarOf("added.txt", text(5000))
      fs.writeFileSync(path.join(dir, "added.tar"), plain)
      const tar = yield* Mutate.append(`oci:${layout}:1`, { layer: path.join(dir, "added.tar") }).pipe(
        Effect.provide(services)
      )
      assert.strictEqual(tar.layer?.compressed, true)
      assert.strictEqual(tar.layer?.diffId, sha256(plain))
      const manifest = blobOf(layout, tar.digest) as {
        config: { digest: string }
        layers: Array<{ mediaType: string; digest: string }>
      }
      assert.strictEqual(manifest.layers.length, image.layers.length + 1)
      assert.deepStrictEqual(manifest.layers.at(-1), {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: tar.layer!.digest,
        size: tar.layer!.size
      } as never)
      const config = blobOf(layout, manifest.config.digest) as {
        rootfs: { diff_ids: Array<string> }
        history: Array<Json>
      }
      assert.deepStrictEqual(config.rootfs.diff_ids, [...image.layers.map((l) => l.diffId), sha256(plain)])
      assert.deepStrictEqual(config.history.at(-1), { created_by: "ocidist append", comment: "added.tar" })

      const gz = zlib.gzipSync(tarOf("second.txt", text(300)))
      fs.writeFileSync(path.join(dir, "second.tar.gz"), gz)
      const kept = yield* Mutate.append(`oci:${layout}:1`, {
        layer: path.join(dir, "second.tar.gz"),
        destination: `oci:${layout}:2`
      }).pipe(Effect.provide(services))
      assert.strictEqual(kept.layer?.compressed, false)
      assert.strictEqual(kept.layer?.digest, sha256(gz))
      assert.isTrue(fs.readFileSync(path.join(layout, "blobs", "sha256", sha256(gz).slice(7))).equals(gz))

      const tree = path.join(dir, "tree")
      fs.mkdirSync(path.join(tree, "etc", "app"), { recursive: true })
      fs.writeFileSync(path.join(tree, "etc", "app", "conf"), "key=value\n")
      const fromDir = yield* Mutate.append(`oci:${layout}:2`, { layer: tree, destination: `oci:${layout}:3` })
        .pipe(Effect.provide(services))
      assert.strictEqual(fromDir.layer?.compressed, true)
      yield* verifyLayout(layout)

      const bundle = path.join(dir, "bundle")
      ok(yield* Tools.umoci(["unpack", "--rootless", "--image", `${layout}:3`, bundle]), "umoci unpack")
      const rootfs = path.join(bundle, "rootfs")
      assert.strictEqual(fs.readFileSync(path.join(rootfs, "added.txt"), "utf8"), new TextDecoder().decode(text(5000)))
      assert.isTrue(fs.existsSync(path.join(rootfs, "second.txt")))
      assert.strictEqual(fs.readFileSync(path.join(rootfs, "etc", "app", "conf"), "utf8"), "key=value\n")
      assert.isTrue(fs.existsSync(path.join(rootfs, image.layers[0]!.fileName!)))
    }))
})

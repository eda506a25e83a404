/**
 * Our own client (`@ocidist/distribution`) and the `ocidist` facade against the embedded registry, over
 * HTTP on 127.0.0.1: push and pull, every upload strategy (chunked included), tag listings in pages (the
 * client following `Link`), the referrers API with and without its filter, the tag-schema fallback when
 * the API is off, and cross-repository mounts during a copy.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Digest from "@ocidist/reference/Digest"
import * as Reference from "@ocidist/reference/Reference"
import * as MediaType from "@ocidist/spec/MediaType"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Ocidist from "ocidist/Ocidist"
import * as NodeRegistry from "../src/NodeRegistry.js"
import { capture, client, digest, ocidist, pushImage, readAll, ref } from "./support/harness.js"

const sha256 = (bytes: Uint8Array) => digest(`sha256:${createHash("sha256").update(bytes).digest("hex")}`)

/** Deterministic bytes. */
const bytesOf = (size: number, seed: number) => {
  const out = new Uint8Array(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

describe("our client against the embedded registry", () => {
  it.scopedLive("pushes and pulls an image: manifest, blobs, tags; HEAD and GET agree", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-client-")
      const registry = yield* NodeRegistry.start()
      const rc = yield* client(registry)
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "registry/client/small" })

      const pushed = yield* pushImage(rc, registry, "client/small", "v1", image)
      assert.strictEqual(pushed.digest, image.manifestDigest)
      assert.strictEqual(pushed.referrers, "none")

      const head = yield* rc.manifests.head(ref(registry, "client/small:v1"))
      assert.deepStrictEqual([head.digest, head.size, head.mediaType], [
        image.manifestDigest,
        image.manifest.length,
        MediaType.OCI_MANIFEST
      ])
      const got = yield* rc.manifests.get(ref(registry, `client/small@${image.manifestDigest}`))
      assert.isTrue(Buffer.from(got.bytes).equals(Buffer.from(image.manifest)))
      for (const layer of image.layers) {
        const bytes = yield* readAll(
          rc.blobs.stream(ref(registry, "client/small"), digest(layer.digest), { size: layer.size })
        )
        assert.isTrue(bytes.equals(fs.readFileSync(layer.path)))
        assert.strictEqual((yield* rc.blobs.head(ref(registry, "client/small"), digest(layer.digest))).size, layer.size)
      }
      assert.isFalse(yield* rc.blobs.exists(ref(registry, "client/small"), digest(`sha256:${"0".repeat(64)}`)))
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(rc.tags(ref(registry, "client/small")))), [
        "v1"
      ])
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(rc.catalog(registry.host))), [
        "client/small"
      ])

      // a blob of another repository is not there
      const missing = yield* Effect.flip(rc.manifests.get(ref(registry, "client/other:v1")))
      assert.strictEqual(missing._tag, "NotFound")
    }))

  it.scopedLive("the facade pushes a layout and pulls it back (ocidist push / pull)", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-client-")
      const registry = yield* NodeRegistry.start()
      const index = yield* Fixtures.multiPlatformIndex(path.join(dir, "fixture"), { seed: "registry/client/multi" })
      const source = path.join(dir, "source")
      yield* Fixtures.writeLayout(source, [{ tag: "v1", root: index }])
      const layer = ocidist(registry, path.join(dir, "cache"))

      const pushed = yield* Ocidist.push(`oci:${source}:v1`, `${registry.host}/facade/multi:v1`).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(pushed.digest, index.digest)
      assert.strictEqual(pushed.stats.manifestsWritten, 4)
      assert.strictEqual(pushed.stats.transferred, 7) // 1 shared layer, 3 own layers, 3 configs

      const out = path.join(dir, "out")
      const pulled = yield* Ocidist.pull(`${registry.host}/facade/multi:v1`, `oci:${out}:v1`).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(pulled.digest, index.digest)
      assert.strictEqual(pulled.stats.transferred, 7)
      const blob = (d: string) => fs.readFileSync(path.join(out, "blobs", "sha256", d.slice(7)))
      assert.isTrue(blob(index.digest).equals(Buffer.from(index.index)))
      for (const child of index.images) {
        assert.isTrue(blob(child.manifestDigest).equals(Buffer.from(child.manifest)))
        for (const l of child.layers) assert.isTrue(blob(l.digest).equals(fs.readFileSync(l.path)))
      }
      const again = yield* Ocidist.push(`oci:${source}:v1`, `${registry.host}/facade/multi:v2`).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(again.stats.transferred, 0)
      const tags = yield* Ocidist.tags(`${registry.host}/facade/multi`).pipe(Effect.provide(layer))
      assert.deepStrictEqual([...tags].sort(), ["v1", "v2"])
    }))

  it.scopedLive("uploads with every strategy; chunked uploads send several PATCHes with Content-Range", () =>
    Effect.gen(function*() {
      const logs = capture()
      const registry = yield* logs.provide(NodeRegistry.start())
      const rc = yield* client(registry)
      const repo = ref(registry, "client/uploads")
      const strategies = ["monolithic", "stream", "chunked", "post", "auto"] as const
      for (const [i, strategy] of strategies.entries()) {
        const bytes = bytesOf(100_000 + i, i + 1)
        const expected = sha256(bytes)
        const known = strategy === "stream" || strategy === "chunked" ? {} : { digest: expected, size: bytes.length }
        const before = logs.requests().length
        const uploaded = yield* rc.blobs.upload(repo, {
          stream: Stream.make(bytes.subarray(0, 40_000), bytes.subarray(40_000)),
          ...known
        }, {
          strategy,
          chunkSize: 16 * 1024
        })
        assert.deepStrictEqual([uploaded.digest, uploaded.size], [expected, bytes.length], strategy)
        const back = yield* readAll(rc.blobs.stream(repo, expected, { size: bytes.length }))
        assert.isTrue(back.equals(Buffer.from(bytes)), strategy)
        if (strategy === "chunked") {
          const patches = logs.requests().slice(before).filter((r) => r.annotations["method"] === "PATCH")
          assert.strictEqual(patches.length, Math.ceil(bytes.length / (16 * 1024)))
          assert.isTrue(patches.every((r) => r.annotations["status"] === "202"))
        }
      }
    }))

  it.scopedLive("lists tags in pages: the client follows Link until the last page", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-client-")
      const logs = capture()
      const registry = yield* logs.provide(NodeRegistry.start())
      const rc = yield* client(registry)
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "registry/client/tags" })
      yield* pushImage(rc, registry, "client/tags", "t0", image)
      const tags = ["t1", "t2", "t3", "t4", "t5", "t6"]
      for (const tag of tags) {
        yield* rc.manifests.put(ref(registry, `client/tags:${tag}`), {
          bytes: image.manifest,
          mediaType: image.mediaType
        })
      }
      const before = logs.requests().length
      const listed = yield* Stream.runCollect(rc.tags(ref(registry, "client/tags"), { pageSize: 2 }))
      assert.deepStrictEqual(Chunk.toReadonlyArray(listed), ["t0", ...tags])
      const pages = logs.requests().slice(before).filter((r) => r.annotations["path"] === "/v2/client/tags/tags/list")
      assert.strictEqual(pages.length, 4, "7 tags in pages of 2")

      const afterLast = yield* Stream.runCollect(rc.tags(ref(registry, "client/tags"), { pageSize: 3, last: "t3" }))
      assert.deepStrictEqual(Chunk.toReadonlyArray(afterLast), ["t4", "t5", "t6"])

      // the raw pages: Link on all but the last
      const first = yield* Tools.request(`${registry.url}/v2/client/tags/tags/list?n=3`)
      assert.deepStrictEqual(JSON.parse(first.text), { name: "client/tags", tags: ["t0", "t1", "t2"] })
      assert.strictEqual(first.header("link"), `</v2/client/tags/tags/list?n=3&last=t2>; rel="next"`)
      const last = yield* Tools.request(`${registry.url}/v2/client/tags/tags/list?n=3&last=t5`)
      assert.deepStrictEqual(JSON.parse(last.text), { name: "client/tags", tags: ["t6"] })
      assert.isUndefined(last.header("link"))
    }))

  it.scopedLive("referrers: pushed with subject (OCI-Subject acknowledged), listed, filtered by artifactType", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-client-")
      const registry = yield* NodeRegistry.start()
      const rc = yield* client(registry)
      const fixture = path.join(dir, "fixture")
      const image = yield* Fixtures.smallImage(fixture, { seed: "registry/client/referrers" })
      yield* pushImage(rc, registry, "client/refs", "v1", image)
      const sbom = yield* Fixtures.makeArtifact(fixture, {
        subject: image.descriptor,
        artifactType: "application/vnd.example.sbom+json",
        payload: "{\"sbom\":true}"
      })
      const signature = yield* Fixtures.makeArtifact(fixture, {
        subject: image.descriptor,
        artifactType: "application/vnd.example.signature",
        payload: "signed"
      })
      for (const artifact of [sbom, signature]) {
        const put = yield* pushImage(rc, registry, "client/refs", `a${artifact.manifestDigest.slice(7, 15)}`, artifact)
        assert.strictEqual(put.referrers, "api")
        assert.strictEqual(put.subject, image.manifestDigest)
      }

      const subject = ref(registry, `client/refs@${image.manifestDigest}`)
      const all = yield* rc.referrers(subject)
      assert.strictEqual(all.source, "api")
      assert.deepStrictEqual(
        all.manifests.map((d) => d.digest).sort(),
        [sbom.manifestDigest, signature.manifestDigest].sort()
      )
      const listedSbom = all.manifests.find((d) => d.digest === sbom.manifestDigest)!
      assert.strictEqual(listedSbom.artifactType, sbom.artifactType)
      assert.strictEqual(listedSbom.size, sbom.manifest.length)
      assert.deepStrictEqual(listedSbom.annotations, sbom.descriptor.annotations)

      const filtered = yield* rc.referrers(subject, { artifactType: signature.artifactType })
      assert.deepStrictEqual(filtered.manifests.map((d) => d.digest), [signature.manifestDigest])
      assert.deepStrictEqual(filtered.filtersApplied, ["artifactType"])

      const none = yield* rc.referrers(ref(registry, `client/refs@${sbom.manifestDigest}`))
      assert.deepStrictEqual(none.manifests, [])
      // the facade sees them too
      const viaFacade = yield* Ocidist.referrers(`${registry.host}/client/refs:v1`, { artifactType: sbom.artifactType })
        .pipe(
          Effect.provide(ocidist(registry, path.join(dir, "cache")))
        )
      assert.deepStrictEqual(viaFacade.map((d) => d.digest), [sbom.manifestDigest])
    }))

  it.scopedLive("with the referrers API off (faults.referrersApi: false) the client keeps the tag-schema fallback", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-client-")
      const registry = yield* NodeRegistry.start({ faults: { referrersApi: false } })
      const rc = yield* client(registry)
      const fixture = path.join(dir, "fixture")
      const image = yield* Fixtures.smallImage(fixture, { seed: "registry/client/fallback" })
      yield* pushImage(rc, registry, "client/fallback", "v1", image)

      const raw = yield* Tools.request(`${registry.url}/v2/client/fallback/referrers/${image.manifestDigest}`)
      assert.strictEqual(raw.status, 404)

      const artifacts = yield* Effect.forEach(
        ["application/vnd.example.a", "application/vnd.example.b"],
        (artifactType) =>
          Fixtures.makeArtifact(fixture, { subject: image.descriptor, artifactType, payload: artifactType })
      )
      for (const artifact of artifacts) {
        const put = yield* pushImage(
          rc,
          registry,
          "client/fallback",
          `x${artifact.manifestDigest.slice(7, 15)}`,
          artifact
        )
        assert.strictEqual(put.referrers, "fallback")
      }
      const fallbackTag = `sha256-${Digest.hex(digest(image.manifestDigest))}`
      const tags = Chunk.toReadonlyArray(yield* Stream.runCollect(rc.tags(ref(registry, "client/fallback"))))
      assert.include(tags, fallbackTag)
      const index = yield* rc.manifests.get(ref(registry, `client/fallback:${fallbackTag}`))
      assert.strictEqual(index.mediaType, MediaType.OCI_INDEX)

      const subject = ref(registry, `client/fallback@${image.manifestDigest}`)
      const listed = yield* rc.referrers(subject)
      assert.strictEqual(listed.source, "fallback")
      assert.deepStrictEqual(
        listed.manifests.map((d) => d.digest).sort(),
        artifacts.map((a) => a.manifestDigest).sort()
      )
      const filtered = yield* rc.referrers(subject, { artifactType: "application/vnd.example.b" })
      assert.deepStrictEqual(filtered.manifests.map((d) => d.digest), [artifacts[1]!.manifestDigest])
      assert.deepStrictEqual(filtered.filtersApplied, [])
    }))

  it.scopedLive("a copy between two repositories of the registry mounts every blob", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-client-")
      const logs = capture()
      const registry = yield* logs.provide(NodeRegistry.start({ storage: { directory: path.join(dir, "registry") } }))
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "registry/client/mount" })
      const source = path.join(dir, "source")
      yield* Fixtures.writeLayout(source, [{ tag: "1", root: image }])
      const layer = ocidist(registry, path.join(dir, "cache"))
      yield* Ocidist.push(`oci:${source}:1`, `${registry.host}/team/a:1`).pipe(Effect.provide(layer))

      const before = logs.requests().length
      const copied = yield* Ocidist.copy(`${registry.host}/team/a:1`, `${registry.host}/team/b:1`).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(copied.digest, image.manifestDigest)
      assert.strictEqual(copied.stats.mounted, 4) // 3 layers and the config
      assert.strictEqual(copied.stats.transferred, 0)
      assert.strictEqual(copied.stats.bytes, 0)
      const posts = logs.requests().slice(before).filter((r) => r.annotations["method"] === "POST")
      assert.strictEqual(posts.length, 4)
      assert.isTrue(posts.every((r) => r.annotations["status"] === "201"), "every mount answered 201")
      assert.isFalse(
        logs.requests().slice(before).some((r) =>
          r.annotations["method"] === "PATCH" ||
          (r.annotations["method"] === "PUT" && r.annotations["path"]!.includes("/blobs/"))
        )
      )

      // the mounted blobs are in b's own layout
      for (const l of image.layers) {
        const file = path.join(dir, "registry", "team", "b", "blobs", "sha256", l.digest.slice(7))
        assert.isTrue(fs.readFileSync(file).equals(fs.readFileSync(l.path)))
      }
      const rc = yield* client(registry)
      const pulled = yield* rc.manifests.get(
        Reference.make({ registry: registry.host, repository: "team/b", tag: "1" })
      )
      assert.strictEqual(pulled.digest, image.manifestDigest)
    }))

  it.scopedLive("mounts without `from` (automatic cross-mount) unless switched off", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-client-")
      for (const automaticCrossMount of [true, false]) {
        const registry = yield* NodeRegistry.start({ automaticCrossMount })
        const rc = yield* client(registry)
        const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "registry/client/automount" })
        yield* pushImage(rc, registry, "auto/a", "1", image)
        const layerDigest = image.layers[1]!.digest
        const mounted = yield* Tools.request(`${registry.url}/v2/auto/b/blobs/uploads/?mount=${layerDigest}`, {
          method: "POST"
        })
        assert.strictEqual(mounted.status, automaticCrossMount ? 201 : 202)
        if (automaticCrossMount) {
          assert.strictEqual(mounted.header("location"), `/v2/auto/b/blobs/${layerDigest}`)
          const bytes = yield* readAll(rc.blobs.stream(ref(registry, "auto/b"), digest(layerDigest)))
          assert.isTrue(bytes.equals(fs.readFileSync(image.layers[1]!.path)))
        } else {
          // declined: a session is opened instead, which the client may use or cancel
          const location = mounted.header("location")!
          assert.match(location, /^\/v2\/auto\/b\/blobs\/uploads\/[0-9a-f-]+$/)
          assert.strictEqual((yield* Tools.request(`${registry.url}${location}`, { method: "DELETE" })).status, 204)
          // with `from` the mount still works
          const explicit = yield* rc.blobs.mount(ref(registry, "auto/b"), digest(layerDigest), ref(registry, "auto/a"))
          assert.isTrue(explicit.mounted)
        }
      }
    }))
})

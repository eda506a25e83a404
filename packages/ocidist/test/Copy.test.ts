import { assert, describe, it } from "@effect/vitest"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { Ocidist, Progress } from "../src/index.js"
import { ocidistFor, recorder } from "./helpers.js"

describe("copy", () => {
  it.scopedLive("copies between two registries (anonymous to token auth), then skips what is there", () =>
    Effect.gen(function*() {
      const [from, to] = yield* Effect.all([DockerRegistry.start(), DockerRegistry.start({ mode: "token" })], {
        concurrency: 2
      })
      const dir = yield* Tools.tempDir()
      const index = yield* Fixtures.multiPlatformIndex(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(from, "multi", index, { tags: ["v1"] })

      const result = yield* Ocidist.copy(`${from.host}/multi:v1`, `docker://${to.host}/mirror/multi:v1`).pipe(
        Effect.provide(ocidistFor(from, to))
      )
      assert.strictEqual(result.digest, index.digest)
      assert.strictEqual(result.stats.transferred, 7)
      assert.strictEqual(result.stats.mounted, 0)
      const resolved = yield* Ocidist.resolve(`${to.host}/mirror/multi:v1`).pipe(Effect.provide(ocidistFor(to)))
      assert.strictEqual(resolved.digest, index.digest)
      // skopeo, an independent client, sees the same digest
      const raw = yield* Tools.skopeo([
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        `${to.writer!.username}:${to.writer!.password}`,
        `docker://${to.host}/mirror/multi:v1`
      ])
      assert.strictEqual(raw.stdout, new TextDecoder().decode(index.index))

      const again = yield* Ocidist.copy(`${from.host}/multi:v1`, `${to.host}/mirror/multi:v2`).pipe(
        Effect.provide(ocidistFor(from, to))
      )
      assert.strictEqual(again.stats.transferred, 0)
      assert.deepStrictEqual(
        again.images[0]!.manifests.map((m) => m.action),
        ["write"] // the children exist: only the root is (re)tagged and its subtree is not walked
      )
    }))

  it.scopedLive("mounts blobs across repositories of one registry", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(registry, "team/a", image, { tags: ["1"] })
      const { events, record } = recorder()
      const result = yield* Ocidist.copy(`${registry.host}/team/a:1`, `${registry.host}/team/b:1`).pipe(
        Progress.withReporter(record),
        Effect.provide(ocidistFor(registry))
      )
      assert.strictEqual(result.stats.mounted, 4)
      assert.strictEqual(result.stats.bytes, 0)
      assert.strictEqual(events.filter((e) => e._tag === "BlobMounted").length, 4)
      assert.strictEqual(yield* registry.countRequests({ method: "POST", path: "mount=", status: 201 }), 4)
      assert.strictEqual(yield* registry.countRequests({ method: "GET", path: /\/blobs\/sha256:/ }), 0)
    }))

  it.scopedLive("copies referrers recursively (tag-schema fallback on both sides)", () =>
    Effect.gen(function*() {
      const [from, to] = yield* Effect.all([DockerRegistry.start(), DockerRegistry.start()], { concurrency: 2 })
      const dir = yield* Tools.tempDir()
      const fixture = path.join(dir, "fixture")
      const image = yield* Fixtures.smallImage(fixture)
      const sig = yield* Fixtures.makeArtifact(fixture, {
        subject: image.descriptor,
        artifactType: "application/vnd.example.signature",
        payload: "signed"
      })
      const sbom = yield* Fixtures.makeArtifact(fixture, {
        subject: image.descriptor,
        artifactType: "application/vnd.example.sbom",
        payload: "{\"sbom\":true}"
      })
      const sigOfSig = yield* Fixtures.makeArtifact(fixture, {
        subject: sig.descriptor,
        artifactType: "application/vnd.example.signature",
        payload: "counter-signed"
      })
      yield* Fixtures.pushRaw(from, "app", image, { tags: ["1"] })
      const refIndex = yield* Fixtures.makeReferrersIndex(fixture, [sig, sbom])
      yield* Fixtures.pushRaw(from, "app", refIndex, { tags: [Fixtures.referrersTag(image.manifestDigest)] })
      const refIndex2 = yield* Fixtures.makeReferrersIndex(fixture, [sigOfSig])
      yield* Fixtures.pushRaw(from, "app", refIndex2, { tags: [Fixtures.referrersTag(sig.manifestDigest)] })

      const listed = yield* Ocidist.referrers(`${from.host}/app:1`).pipe(Effect.provide(ocidistFor(from)))
      assert.sameMembers(listed.map((d) => d.digest), [sig.manifestDigest, sbom.manifestDigest])

      const result = yield* Ocidist.copy(`${from.host}/app:1`, `${to.host}/app:1`, { referrers: true }).pipe(
        Effect.provide(ocidistFor(from, to))
      )
      const manifests = result.images[0]!.manifests
      assert.deepStrictEqual(manifests.map((m) => m.role), ["root", "referrer", "referrer", "referrer"])
      assert.sameMembers(
        manifests.filter((m) => m.role === "referrer").map((m) => m.digest),
        [sig.manifestDigest, sbom.manifestDigest, sigOfSig.manifestDigest]
      )
      const copied = yield* Ocidist.referrers(`${to.host}/app@${image.manifestDigest}`).pipe(
        Effect.provide(ocidistFor(to))
      )
      assert.sameMembers(copied.map((d) => d.digest), [sig.manifestDigest, sbom.manifestDigest])
      const sbomOnly = yield* Ocidist.referrers(`${to.host}/app:1`, { artifactType: "application/vnd.example.sbom" })
        .pipe(Effect.provide(ocidistFor(to)))
      assert.deepStrictEqual(sbomOnly.map((d) => d.digest), [sbom.manifestDigest])
      const second = yield* Ocidist.referrers(`${to.host}/app@${sig.manifestDigest}`).pipe(
        Effect.provide(ocidistFor(to))
      )
      assert.deepStrictEqual(second.map((d) => d.digest), [sigOfSig.manifestDigest])

      // through a layout: referrers are kept as untagged index.json entries and found by their subject
      const out = path.join(dir, "out")
      const pulled = yield* Ocidist.pull(`${to.host}/app:1`, `oci:${out}:1`, { referrers: true }).pipe(
        Effect.provide(ocidistFor(to))
      )
      assert.strictEqual(pulled.stats.manifests, 4)
      const inLayout = yield* Ocidist.referrers(`oci:${out}:1`).pipe(Effect.provide(ocidistFor(to)))
      assert.sameMembers(inLayout.map((d) => d.digest), [sig.manifestDigest, sbom.manifestDigest])
      const pushed = yield* Ocidist.push(`oci:${out}:1`, `${from.host}/roundtrip:1`, { referrers: true }).pipe(
        Effect.provide(ocidistFor(from))
      )
      assert.strictEqual(pushed.stats.manifests, 4)
      const back = yield* Ocidist.referrers(`${from.host}/roundtrip:1`).pipe(Effect.provide(ocidistFor(from)))
      assert.sameMembers(back.map((d) => d.digest), [sig.manifestDigest, sbom.manifestDigest])
    }))

  it.scopedLive("allTags copies 150 tags, fetching each blob once", () =>
    Effect.gen(function*() {
      const [from, to] = yield* Effect.all([DockerRegistry.start(), DockerRegistry.start()], { concurrency: 2 })
      const dir = yield* Tools.tempDir()
      const a = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "tags/a" })
      const b = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "tags/b" })
      const tags = Array.from({ length: 150 }, (_, i) => `t${String(i).padStart(3, "0")}`)
      yield* Fixtures.pushRaw(from, "many", a, { tags: tags.slice(0, 75) })
      yield* Fixtures.pushRaw(from, "many", b, { tags: tags.slice(75) })

      const plan = yield* Ocidist.copy(`${from.host}/many`, `${to.host}/copy`, { allTags: true, dryRun: true }).pipe(
        Effect.provide(ocidistFor(from, to))
      )
      assert.strictEqual(plan.images.length, 150)
      assert.strictEqual(plan.stats.blobs, 8)
      assert.deepStrictEqual(
        yield* Ocidist.tags(`${to.host}/copy`).pipe(Effect.provide(ocidistFor(to)), Effect.flip)
          .pipe(Effect.map((e) => e._tag)),
        "NotFound"
      )

      const result = yield* Ocidist.copy(`${from.host}/many`, `${to.host}/copy`, { allTags: true }).pipe(
        Effect.provide(ocidistFor(from, to))
      )
      assert.strictEqual(result.images.length, 150)
      assert.deepStrictEqual(result.images.map((i) => i.tags[0]), tags)
      assert.strictEqual(result.stats.transferred, 8)
      assert.strictEqual(yield* from.countRequests({ method: "GET", path: /\/blobs\/sha256:/, status: 200 }), 8)
      const copied = yield* Ocidist.tags(`${to.host}/copy`).pipe(Effect.provide(ocidistFor(to)))
      assert.deepStrictEqual([...copied].sort(), tags)
      const last = yield* Ocidist.resolve(`${to.host}/copy:t149`).pipe(Effect.provide(ocidistFor(to)))
      assert.strictEqual(last.digest, b.manifestDigest)
    }))
})

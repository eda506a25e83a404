import { assert, describe, it } from "@effect/vitest"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Ocidist, Progress } from "../src/index.js"
import * as NodeOcidist from "../src/NodeOcidist.js"
import { ocidistFor, recorder } from "./helpers.js"

const ok = (result: Tools.RunResult, what: string) => {
  assert.strictEqual(result.exitCode, 0, `${what}: ${result.stderr}`)
  return result.stdout
}

describe("archives", () => {
  it.scopedLive("oci-archive: pull into one, skopeo reads it, push from it", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const index = yield* Fixtures.multiPlatformIndex(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(registry, "multi", index, { tags: ["v1"] })
      const archive = path.join(dir, "multi.tar")
      const layer = ocidistFor(registry)

      const pulled = yield* Ocidist.pull(`${registry.host}/multi:v1`, `oci-archive:${archive}:v1`).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(pulled.digest, index.digest)
      assert.isTrue(fs.existsSync(archive))
      assert.deepStrictEqual(fs.readdirSync(path.dirname(archive)).filter((f) => f.includes("ocidist")), [])
      const raw = ok(yield* Tools.skopeo(["inspect", "--raw", `oci-archive:${archive}:v1`]), "skopeo inspect")
      assert.strictEqual(raw, new TextDecoder().decode(index.index))

      const tags = yield* Ocidist.tags(`oci-archive:${archive}`).pipe(Effect.provide(layer))
      assert.deepStrictEqual(tags, ["v1"])
      const pushed = yield* Ocidist.push(`oci-archive:${archive}:v1`, `${registry.host}/again:v1`).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(pushed.digest, index.digest)
      assert.strictEqual(pushed.stats.transferred, 7)
    }))

  it.scopedLive("docker-archive: one platform, the manifest.json/repositories docker load expects", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const index = yield* Fixtures.multiPlatformIndex(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(registry, "multi", index, { tags: ["v1"] })
      const archive = path.join(dir, "docker.tar")
      const layer = ocidistFor(registry)
      const arm64 = index.images[1]!

      const pulled = yield* Ocidist.pull(`${registry.host}/multi:v1`, `docker-archive:${archive}:app:1`, {
        platform: "linux/arm64"
      }).pipe(Effect.provide(layer))
      assert.strictEqual(pulled.digest, arm64.manifestDigest)

      const extracted = path.join(dir, "extracted")
      fs.mkdirSync(extracted)
      ok(yield* Tools.run("tar", ["-xf", archive, "-C", extracted]), "tar -x")
      const manifest = JSON.parse(fs.readFileSync(path.join(extracted, "manifest.json"), "utf8")) as Array<{
        Config: string
        RepoTags: Array<string>
        Layers: Array<string>
      }>
      assert.strictEqual(manifest.length, 1)
      assert.deepStrictEqual(manifest[0]!.RepoTags, ["app:1"])
      assert.strictEqual(manifest[0]!.Config, `${arm64.configDigest.slice("sha256:".length)}.json`)
      assert.strictEqual(manifest[0]!.Layers.length, 2)
      for (const l of manifest[0]!.Layers) assert.isTrue(fs.existsSync(path.join(extracted, l)), l)
      const repositories = JSON.parse(fs.readFileSync(path.join(extracted, "repositories"), "utf8")) as Record<
        string,
        Record<string, string>
      >
      assert.deepStrictEqual(Object.keys(repositories), ["app"])
      assert.deepStrictEqual(Object.keys(repositories.app!), ["1"])

      const inspected = JSON.parse(ok(yield* Tools.skopeo(["inspect", `docker-archive:${archive}`]), "skopeo")) as {
        Architecture: string
        Layers: Array<string>
      }
      assert.strictEqual(inspected.Architecture, "arm64")
      assert.strictEqual(inspected.Layers.length, 2)

      // and back into a registry
      const pushed = yield* Ocidist.push(`docker-archive:${archive}:app:1`, `${registry.host}/loaded:1`).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(pushed.stats.transferred, 3)
      const check = yield* Ocidist.inspect(`${registry.host}/loaded:1`).pipe(Effect.provide(layer))
      assert.strictEqual(check._tag === "Image" ? check.configSummary?.platform?.architecture : undefined, "arm64")
    }))

  it.scopedLive("an interrupted pull into an archive is resumed from its staging layout in the cache", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
        seed: "ocidist/resume",
        layers: [{ size: 48 * 1024 * 1024 }, { size: 1000 }]
      })
      yield* Fixtures.pushRaw(registry, "resume", image, { tags: ["1"] })
      const out = path.join(dir, "out")
      fs.mkdirSync(out)
      const archive = path.join(out, "image.tar")
      const staging = path.join(dir, "cache", "staging")
      const layer = NodeOcidist.layer({ cacheDirectory: path.join(dir, "cache") })
      const big = image.layers[0]!
      const interrupted = yield* Ocidist.pull(`${registry.host}/resume:1`, `oci-archive:${archive}`).pipe(
        Progress.withReporter((e) =>
          e._tag === "BlobProgress" && e.digest === big.digest && e.transferred > 8 * 1024 * 1024
            ? Effect.interrupt
            : Effect.void
        ),
        Effect.provide(layer),
        Effect.exit
      )
      assert.strictEqual(interrupted._tag, "Failure")
      assert.deepStrictEqual(fs.readdirSync(out), [], "no archive, nothing beside it")
      assert.strictEqual(fs.readdirSync(staging).length, 1)

      const { events, record } = recorder()
      const result = yield* Ocidist.pull(`${registry.host}/resume:1`, `oci-archive:${archive}`).pipe(
        Progress.withReporter(record),
        Effect.provide(layer)
      )
      assert.strictEqual(result.digest, image.manifestDigest)
      const started = events.find((e) => e._tag === "BlobStarted" && e.digest === big.digest)
      assert.isTrue(started !== undefined && started._tag === "BlobStarted" && started.offset > 0)
      assert.deepStrictEqual(fs.readdirSync(staging), [], "a finished write removes its staging")
      const raw = ok(yield* Tools.skopeo(["inspect", "--raw", `oci-archive:${archive}:1`]), "skopeo inspect")
      assert.strictEqual(raw, new TextDecoder().decode(image.manifest))
    }))
})

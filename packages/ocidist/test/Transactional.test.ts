// Transactional outputs: a pull that fails before content moved leaves no trace; one interrupted mid-transfer
// keeps only verified, resumable data where a rerun finds it (the layout's ingest area, or the cache directory
// for archives), never anything that looks like a finished image.
import { assert, describe, it } from "@effect/vitest"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as path from "node:path"
import { Ocidist, Progress } from "../src/index.js"
import * as NodeOcidist from "../src/NodeOcidist.js"
import { openLayout, verifyLayout } from "./helpers.js"

/** Every file under `dir`, relative, sorted. */
const filesUnder = (dir: string): ReadonlyArray<string> =>
  fs.existsSync(dir)
    ? (fs.readdirSync(dir, { recursive: true }) as Array<string>)
      .filter((f) => fs.statSync(path.join(dir, f)).isFile())
      .sort()
    : []

/** Pulls through a throttling proxy and interrupts once `bytes` of some blob have arrived. */
const interruptedPull = (registry: string, reference: string, destination: string, cache: string, bytes: number) =>
  Effect.gen(function*() {
    const slow = yield* Tools.slowProxyScoped(registry, 256)
    const started = yield* Deferred.make<void>()
    const fiber = yield* Ocidist.pull(`${slow}/${reference}`, destination).pipe(
      Progress.withReporter((e) =>
        e._tag === "BlobProgress" && e.transferred >= bytes ? Deferred.succeed(started, undefined) : Effect.void
      ),
      Effect.provide(NodeOcidist.layer({ cacheDirectory: cache })),
      Effect.fork
    )
    yield* Deferred.await(started)
    yield* Fiber.interrupt(fiber)
  })

describe("transactional outputs", () => {
  it.scopedLive("a pull that fails before content moved creates nothing: no layout, no parents, no archive", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const cache = path.join(dir, "cache")
      const layer = NodeOcidist.layer({ cacheDirectory: cache })
      const nested = path.join(dir, "a", "b", "layout")
      const missing = yield* Effect.flip(Ocidist.pull(`${registry.host}/nothing:1`, nested).pipe(Effect.provide(layer)))
      assert.strictEqual(missing._tag, "NotFound")
      assert.isFalse(fs.existsSync(path.join(dir, "a")), "no parent directory is created")

      for (const format of ["oci-archive", "docker-archive"]) {
        const archive = path.join(dir, `${format}.tar`)
        const error = yield* Effect.flip(
          Ocidist.pull(`${registry.host}/nothing:1`, `${format}:${archive}`).pipe(Effect.provide(layer))
        )
        assert.strictEqual(error._tag, "NotFound")
        assert.isFalse(fs.existsSync(archive))
      }
      const noDir = path.join(dir, "no", "such", "dir", "x.tar")
      const before = yield* registry.countRequests({ path: "/v2/" })
      const refused = yield* Effect.flip(
        Ocidist.pull(`${registry.host}/nothing:1`, `oci-archive:${noDir}`).pipe(Effect.provide(layer))
      )
      assert.strictEqual(refused._tag, "InvalidLocation")
      assert.include(refused.message, path.join(dir, "no", "such", "dir"))
      assert.isFalse(fs.existsSync(path.join(dir, "no")))
      assert.strictEqual(yield* registry.countRequests({ path: "/v2/" }), before, "refused before any request")
      assert.deepStrictEqual(filesUnder(cache), [])
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), [])
    }))

  it.scopedLive("an interrupted pull into a new layout keeps its ingest partials and no index; a rerun resumes", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
        seed: "transactional/layout",
        layers: [{ size: 2 * 1024 * 1024 }, { size: 2 * 1024 * 1024 }]
      })
      yield* Fixtures.pushRaw(registry, "big", image, { tags: ["1"] })
      const out = path.join(dir, "new", "layout")
      yield* interruptedPull(registry.host, "big:1", out, path.join(dir, "cache"), 256 * 1024)

      const files = filesUnder(out)
      assert.include(files, "oci-layout")
      assert.notInclude(files, "index.json", "nothing looks like a finished image")
      assert.isTrue(files.some((f) => f.startsWith("ingest/")), `a partial download is kept: ${files.join(", ")}`)
      const notALayout = yield* Effect.flip(openLayout(out))
      assert.strictEqual(notALayout._tag, "NotALayout")

      const total = image.layers.reduce((n, l) => n + l.size, 0) + image.config.length
      const again = yield* Ocidist.pull(`${registry.host}/big:1`, out).pipe(
        Effect.provide(NodeOcidist.layer({ cacheDirectory: path.join(dir, "cache") }))
      )
      assert.strictEqual(again.digest, image.manifestDigest)
      assert.isBelow(again.stats.bytes, total, "the rerun resumed instead of starting over")
      const report = yield* verifyLayout(out)
      assert.isTrue(report.ok, JSON.stringify(report.problems))
      assert.deepStrictEqual(filesUnder(path.join(out, "ingest")), [])
    }))

  it.scopedLive("an interrupted docker-archive pull leaves no archive and stages in the cache; a rerun completes it", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
        seed: "transactional/archive",
        layers: [{ size: 2 * 1024 * 1024 }, { size: 2 * 1024 * 1024 }]
      })
      yield* Fixtures.pushRaw(registry, "big", image, { tags: ["1"] })
      const out = path.join(dir, "out")
      fs.mkdirSync(out)
      const archive = path.join(out, "image.tar")
      const cache = path.join(dir, "cache")
      yield* interruptedPull(registry.host, "big:1", `docker-archive:${archive}:app:1`, cache, 256 * 1024)

      assert.deepStrictEqual(fs.readdirSync(out), [], "no archive and no staging folder beside the user's file")
      const staged = filesUnder(path.join(cache, "staging"))
      assert.isTrue(staged.some((f) => f.includes("/ingest/") || f.includes("/blobs/")), staged.join(", "))
      assert.isFalse(staged.some((f) => f.endsWith("index.json")), "the staging layout never lists an image")

      const again = yield* Ocidist.pull(`${registry.host}/big:1`, `docker-archive:${archive}:app:1`).pipe(
        Effect.provide(NodeOcidist.layer({ cacheDirectory: cache }))
      )
      assert.strictEqual(again.digest, image.manifestDigest)
      assert.deepStrictEqual(fs.readdirSync(out), ["image.tar"])
      const extracted = path.join(dir, "extracted")
      fs.mkdirSync(extracted)
      const tar = yield* Tools.run("tar", ["-xf", archive, "-C", extracted])
      assert.strictEqual(tar.exitCode, 0, tar.stderr)
      const manifest = JSON.parse(fs.readFileSync(path.join(extracted, "manifest.json"), "utf8")) as Array<
        { readonly RepoTags: ReadonlyArray<string>; readonly Layers: ReadonlyArray<string> }
      >
      assert.strictEqual(manifest.length, 1)
      assert.deepStrictEqual(manifest[0]!.RepoTags, ["app:1"])
      assert.strictEqual(manifest[0]!.Layers.length, 2)
      assert.deepStrictEqual(filesUnder(path.join(cache, "staging")), [], "a finished write removes its staging")

      // a second run over a finished archive rewrites the same image, never an empty manifest.json
      yield* Ocidist.pull(`${registry.host}/big:1`, `docker-archive:${archive}:app:1`).pipe(
        Effect.provide(NodeOcidist.layer({ cacheDirectory: cache }))
      )
      const second = yield* Tools.run("tar", ["-xOf", archive, "manifest.json"])
      assert.strictEqual((JSON.parse(second.stdout) as ReadonlyArray<unknown>).length, 1)
    }))
})

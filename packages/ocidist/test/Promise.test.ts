import { assert, describe, it } from "@effect/vitest"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Progress } from "../src/index.js"
import * as NodeOcidist from "../src/NodeOcidist.js"
import { createClientFromLayer, isOcidistFailure, type OcidistFailure } from "../src/promise.js"
import { ocidistFor } from "./helpers.js"

/** The rejection of a promise (or fails the test when it resolves). */
const rejection = (promise: () => Promise<unknown>) =>
  Effect.promise(() => promise().then((value) => ({ resolved: value }), (error: unknown) => ({ rejected: error })))
    .pipe(Effect.map((r) => {
      assert.isTrue("rejected" in r, "expected a rejection")
      return (r as { readonly rejected: unknown }).rejected
    }))

describe("ocidist/promise", () => {
  it.scopedLive("pulls with progress callbacks; failures carry the typed error's tag and message", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "basic" })
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(registry, "small", image, { tags: ["1"] })
      const client = createClientFromLayer(ocidistFor(registry))
      yield* Effect.addFinalizer(() => Effect.promise(() => client.close()))

      const events: Array<Progress.Event> = []
      const result = yield* Effect.promise(() =>
        client.pull(`${registry.host}/small:1`, path.join(dir, "out"), { onProgress: (e) => events.push(e) })
      )
      assert.strictEqual(result.digest, image.manifestDigest)
      assert.strictEqual(events.filter((e) => e._tag === "BlobDone").length, 4)
      const tags = yield* Effect.promise(() => client.tags(`${registry.host}/small`))
      assert.deepStrictEqual(tags, ["1"])
      const inspected = yield* Effect.promise(() => client.inspect(`oci:${path.join(dir, "out")}:1`))
      assert.strictEqual(inspected.digest, image.manifestDigest)

      const missing = yield* rejection(() => client.resolve(`${registry.host}/small:nope`))
      assert.isTrue(isOcidistFailure(missing))
      const failure = missing as OcidistFailure
      assert.instanceOf(failure, Error)
      assert.strictEqual(failure._tag, "NotFound")
      if (failure._tag === "NotFound") {
        // narrowed: the typed error of that tag
        assert.strictEqual(failure.error.status, 404)
        assert.strictEqual(failure.error.repository, "small")
      }
      assert.include(failure.message, "nope")

      const invalid = (yield* rejection(() => client.pull("Not A Reference", path.join(dir, "x")))) as OcidistFailure
      assert.strictEqual(invalid._tag, "InvalidLocation")

      const controller = new AbortController()
      controller.abort()
      const aborted = (yield* rejection(() =>
        client.pull(`${registry.host}/small:1`, path.join(dir, "aborted"), { signal: controller.signal })
      )) as OcidistFailure
      assert.strictEqual(aborted._tag, "Interrupted")
      assert.isUndefined(aborted.error)
    }))

  it.scopedLive("abort mid-transfer rejects with Interrupted and keeps the partial download for a resume", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
        seed: "promise/abort",
        layers: [{ size: 3 * 1024 * 1024 }]
      })
      yield* Fixtures.pushRaw(registry, "big", image, { tags: ["1"] })
      const slow = yield* Tools.slowProxyScoped(registry.host, 256)
      const client = createClientFromLayer(NodeOcidist.layer({ cacheDirectory: path.join(dir, "cache") }))
      yield* Effect.addFinalizer(() => Effect.promise(() => client.close()))
      const out = path.join(dir, "out")
      const controller = new AbortController()
      let seen = 0
      const aborted = (yield* rejection(() =>
        client.pull(`${slow}/big:1`, out, {
          signal: controller.signal,
          onProgress: (e) => {
            if (e._tag === "BlobProgress" && e.size > 1024 * 1024) {
              seen = e.transferred
              if (seen >= 512 * 1024) controller.abort()
            }
          }
        })
      )) as OcidistFailure
      assert.strictEqual(aborted._tag, "Interrupted")
      assert.isAtLeast(seen, 512 * 1024)
      const partials = fs.readdirSync(path.join(out, "ingest"))
      assert.strictEqual(partials.length, 1)
      const kept = fs.statSync(path.join(out, "ingest", partials[0]!)).size
      assert.isAtLeast(kept, 256 * 1024)

      const result = yield* Effect.promise(() => client.pull(`${registry.host}/big:1`, out))
      assert.strictEqual(result.digest, image.manifestDigest)
      assert.isAtMost(result.stats.bytes, image.layers[0]!.size + image.config.length - kept)
    }))

  it.scopedLive("after close() every call rejects with a Closed failure", () =>
    Effect.gen(function*() {
      const client = createClientFromLayer(NodeOcidist.layer({ cacheDirectory: "/nonexistent-cache" }))
      yield* Effect.promise(() => client.close())
      for (const call of [() => client.tags("localhost:1/x"), () => client.resolve("oci:/nowhere")] as const) {
        const closed = (yield* rejection(call)) as OcidistFailure
        assert.isTrue(isOcidistFailure(closed))
        assert.strictEqual(closed._tag, "Closed")
      }
    }))
})

import { assert, describe, it } from "@effect/vitest"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import type { Progress } from "../src/index.js"
import { createClientFromLayer, OcidistFailure } from "../src/promise.js"
import { ocidistFor } from "./helpers.js"

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

      const missing = yield* Effect.promise(() =>
        client.resolve(`${registry.host}/small:nope`).then(() => undefined, (e: unknown) => e)
      )
      assert.instanceOf(missing, OcidistFailure)
      assert.strictEqual((missing as OcidistFailure)._tag, "NotFound")
      assert.include((missing as OcidistFailure).message, "nope")

      const invalid = yield* Effect.promise(() =>
        client.pull("Not A Reference", path.join(dir, "x")).then(() => undefined, (e: unknown) => e)
      )
      assert.strictEqual((invalid as OcidistFailure)._tag, "InvalidLocation")

      const controller = new AbortController()
      controller.abort()
      const aborted = yield* Effect.promise(() =>
        client.pull(`${registry.host}/small:1`, path.join(dir, "aborted"), { signal: controller.signal }).then(
          () => undefined,
          (e: unknown) => e
        )
      )
      assert.strictEqual((aborted as OcidistFailure)._tag, "Interrupted")
    }))
})

import { assert, describe, it } from "@effect/vitest"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { Ocidist } from "../src/index.js"
import { ocidistFor, verifyLayout } from "./helpers.js"

describe("big images", () => {
  it.scopedLive("pulls a 256 MiB image, every digest checked", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.bigImage(path.join(dir, "fixture"), { totalBytes: 256 * 1024 * 1024 })
      yield* Fixtures.pushRaw(registry, "big", image, { tags: ["1"] })
      const out = path.join(dir, "out")
      const result = yield* Ocidist.pull(`${registry.host}/big:1`, `oci:${out}:1`).pipe(
        Effect.provide(ocidistFor(registry))
      )
      const layerBytes = image.layers.reduce((n, l) => n + l.size, 0)
      assert.isAbove(layerBytes, 256 * 1024 * 1024)
      assert.strictEqual(result.stats.bytes, layerBytes + image.config.byteLength)
      const report = yield* verifyLayout(out)
      assert.isTrue(report.ok, JSON.stringify(report.problems))
      assert.strictEqual(report.checked, image.layers.length + 2)
      assert.isAtLeast(report.bytes, layerBytes)
    }), { timeout: 180_000 })
})

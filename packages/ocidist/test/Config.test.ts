import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { Ocidist } from "../src/index.js"
import * as NodeOcidist from "../src/NodeOcidist.js"

const read = (entries: ReadonlyArray<readonly [string, string]>) =>
  Ocidist.config.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries))))

describe("Ocidist.config", () => {
  it.effect("reads plain-HTTP and insecure registries, timeout, user agent and cache directory", () =>
    Effect.gen(function*() {
      const options = yield* read([
        ["OCIDIST_PLAIN_HTTP", "registry.lan:5000, other.lan"],
        ["OCIDIST_INSECURE", "registry.lan:5000"],
        ["OCIDIST_TIMEOUT", "30 seconds"],
        ["OCIDIST_USER_AGENT", "my-tool/1.0"],
        ["OCIDIST_CACHE_DIR", "/var/cache/ocidist"]
      ])
      assert.deepStrictEqual(options.registry?.registries, {
        "registry.lan:5000": { plainHttp: true, insecure: true },
        "other.lan": { plainHttp: true }
      })
      assert.strictEqual(options.registry?.userAgent, "my-tool/1.0")
      assert.strictEqual(Duration.toMillis(Duration.decode(options.registry!.timeout!)), 30_000)
      assert.strictEqual(options.cacheDirectory, "/var/cache/ocidist")
    }))

  it.effect("defaults to nothing when unset", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* read([]), { registry: { registries: {} } })
    }))

  it.effect("a value that cannot be read fails and names the variable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(read([["OCIDIST_TIMEOUT", "banana"]]))
      assert.strictEqual(error._op, "InvalidData")
      assert.include(String(error), "OCIDIST_TIMEOUT")
    }))
})

describe("NodeOcidist.defaultCacheDirectory", () => {
  it("prefers OCIDIST_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache", () => {
    assert.strictEqual(NodeOcidist.defaultCacheDirectory({ OCIDIST_CACHE_DIR: "/x/y" }), "/x/y")
    assert.strictEqual(NodeOcidist.defaultCacheDirectory({ XDG_CACHE_HOME: "/xdg" }), "/xdg/ocidist")
    assert.match(NodeOcidist.defaultCacheDirectory({}), /\/\.cache\/ocidist$/)
  })
})

import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import { Ocidist } from "../src/index.js"

describe("Ocidist.registryConfig", () => {
  it.effect("reads plain-HTTP and insecure registries, timeout and user agent", () =>
    Effect.gen(function*() {
      const options = yield* Ocidist.registryConfig.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([
            ["OCIDIST_PLAIN_HTTP", "registry.lan:5000, other.lan"],
            ["OCIDIST_INSECURE", "registry.lan:5000"],
            ["OCIDIST_TIMEOUT", "30 seconds"],
            ["OCIDIST_USER_AGENT", "my-tool/1.0"]
          ])
        ))
      )
      assert.deepStrictEqual(options.registries, {
        "registry.lan:5000": { plainHttp: true, insecure: true },
        "other.lan": { plainHttp: true }
      })
      assert.strictEqual(options.userAgent, "my-tool/1.0")
      assert.isDefined(options.timeout)
    }))

  it.effect("defaults to nothing when unset", () =>
    Effect.gen(function*() {
      const options = yield* Ocidist.registryConfig.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      assert.deepStrictEqual(options, { registries: {} })
    }))
})

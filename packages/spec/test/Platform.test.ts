import { assert, describe, it } from "@effect/vitest"
import { Platform } from "@ocidist/spec"
import * as Either from "effect/Either"

const p = (s: string) => Either.getOrThrow(Platform.parse(s))

describe("Platform", () => {
  it("parses and formats", () => {
    assert.deepStrictEqual(p("linux/amd64"), { os: "linux", architecture: "amd64" })
    assert.deepStrictEqual(p("linux/arm/v7"), { os: "linux", architecture: "arm", variant: "v7" })
    assert.deepStrictEqual(p("windows/amd64:10.0.17763"), {
      os: "windows",
      architecture: "amd64",
      "os.version": "10.0.17763"
    })
    for (const s of ["linux/amd64", "linux/arm64/v8", "windows/amd64:10.0.20348"]) {
      assert.strictEqual(Platform.format(p(s)), s)
    }
    for (const bad of ["linux", "", "linux/", "a/b/c/d", "linux/amd64:1:2", "linux/am d64"]) {
      assert.strictEqual(Either.getOrThrow(Either.flip(Platform.parse(bad)))._tag, "InvalidPlatform", bad)
    }
  })

  it("normalizes architecture aliases and implicit variants", () => {
    assert.deepStrictEqual(Platform.normalize({ os: "Linux", architecture: "x86_64" }), {
      os: "linux",
      architecture: "amd64"
    })
    assert.deepStrictEqual(Platform.normalize({ os: "linux", architecture: "aarch64" }), {
      os: "linux",
      architecture: "arm64",
      variant: "v8"
    })
    assert.deepStrictEqual(Platform.normalize({ os: "linux", architecture: "armhf" }), {
      os: "linux",
      architecture: "arm",
      variant: "v7"
    })
    assert.deepStrictEqual(Platform.normalize({ os: "linux", architecture: "arm", variant: "6" }), {
      os: "linux",
      architecture: "arm",
      variant: "v6"
    })
  })

  it("matches arm64 with and without v8, and not other variants", () => {
    assert.isTrue(Platform.matches(p("linux/arm64"), { os: "linux", architecture: "arm64", variant: "v8" }))
    assert.isTrue(Platform.matches(p("linux/arm64/v8"), { os: "linux", architecture: "arm64" }))
    assert.isFalse(Platform.matches(p("linux/arm/v7"), { os: "linux", architecture: "arm", variant: "v6" }))
    assert.isTrue(Platform.matches(p("linux/arm"), { os: "linux", architecture: "arm", variant: "v6" }))
    assert.isFalse(Platform.matches(p("linux/amd64"), { os: "windows", architecture: "amd64" }))
  })

  it("matches Windows os.version by build prefix", () => {
    const have = { os: "windows", architecture: "amd64", "os.version": "10.0.17763.5820" }
    assert.isTrue(Platform.matches(p("windows/amd64:10.0.17763"), have))
    assert.isFalse(Platform.matches(p("windows/amd64:10.0.20348"), have))
    assert.isTrue(Platform.matches(p("windows/amd64"), have))
  })

  it("chooses the best entry of an index", () => {
    const entries = [
      { name: "amd64", platform: { os: "linux", architecture: "amd64" } },
      { name: "arm64", platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      { name: "armv6", platform: { os: "linux", architecture: "arm", variant: "v6" } },
      { name: "armv7", platform: { os: "linux", architecture: "arm", variant: "v7" } },
      { name: "win-old", platform: { os: "windows", architecture: "amd64", "os.version": "10.0.17763.1" } },
      { name: "win-new", platform: { os: "windows", architecture: "amd64", "os.version": "10.0.17763.5820" } },
      { name: "attestation" }
    ]
    assert.strictEqual(Platform.best(p("linux/arm64"), entries)?.name, "arm64")
    assert.strictEqual(Platform.best(p("linux/arm/v7"), entries)?.name, "armv7")
    assert.strictEqual(Platform.best(p("linux/amd64"), entries)?.name, "amd64")
    assert.strictEqual(Platform.best(p("windows/amd64:10.0.17763"), entries)?.name, "win-new")
    assert.isUndefined(Platform.best(p("linux/s390x"), entries))
  })

  it("knows the running machine", () => {
    const current = Platform.current()
    assert.include(["linux", "windows"], current.os)
    assert.isString(current.architecture)
  })
})

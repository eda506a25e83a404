import { assert, describe, it } from "@effect/vitest"
import { SyncConfig, TagFilter } from "@ocidist/sync"
import * as Effect from "effect/Effect"

const alpine = ["3.18", "3.19", "3.20", "3.20-rc1", "3.21", "edge", "latest", "3.2", "20240101"]

describe("TagFilter", () => {
  it("no rule: every tag, versions ascending then the others, without duplicates", () => {
    assert.deepStrictEqual(TagFilter.select(undefined, [...alpine, "3.20"]), [
      "3.2",
      "3.18",
      "3.19",
      "3.20-rc1",
      "3.20",
      "3.21",
      "20240101",
      "edge",
      "latest"
    ])
    assert.deepStrictEqual(TagFilter.select({}, ["b", "a"]), ["a", "b"])
  })

  it.effect("the issue's example keeps 3.20, 3.21, latest and drops 3.18, 3.20-rc1, edge", () =>
    Effect.gen(function*() {
      const config = yield* SyncConfig.parse(
        `sync:\n  - source: alpine\n    target: mirror.local:5000/alpine\n` +
          `    tags: { allow: ["^3\\\\.2[0-9]$", "latest"], deny: ["-rc"], semver: ">=3.19" }\n`
      )
      const rule = config.sync[0]!.tags
      assert.deepStrictEqual(TagFilter.select(rule, alpine), ["3.20", "3.21", "latest"])
      assert.strictEqual(TagFilter.rejection(rule, "3.18"), "NotAllowed")
      assert.strictEqual(TagFilter.rejection(rule, "3.20-rc1"), "Denied")
      assert.strictEqual(TagFilter.rejection(rule, "edge"), "NotAllowed")
      assert.isTrue(TagFilter.matches(rule, "latest"))
    }))

  it("allow: at least one expression, unanchored", () => {
    const rule = { allow: ["3\\.2", "^latest$"] }
    assert.deepStrictEqual(TagFilter.select(rule, ["3.20", "13.21-rc", "3.1", "latest", "latest-dev"]), [
      "3.20",
      "13.21-rc",
      "latest"
    ])
  })

  it("an empty allow list is the same as no allow list", () => {
    assert.deepStrictEqual(TagFilter.select({ allow: [] }, ["b", "1.0", "a"]), ["1.0", "a", "b"])
    assert.deepStrictEqual(TagFilter.select({ allow: [], deny: ["^a$"] }, ["b", "a"]), ["b"])
  })

  it("deny wins over allow and over semver", () => {
    const rule = { allow: ["^1\\."], deny: ["\\.3$"], semver: ">=1.0" }
    assert.deepStrictEqual(TagFilter.select(rule, ["1.1", "1.2", "1.3", "2.3"]), ["1.1", "1.2"])
    assert.strictEqual(TagFilter.rejection(rule, "1.3"), "Denied")
    assert.strictEqual(TagFilter.rejection({ deny: ["x"], allow: ["x"] }, "x"), "Denied")
  })

  it("semver: versions in the range; without allow, tags that are not versions are dropped", () => {
    const rule = { semver: "^1.2" }
    assert.deepStrictEqual(
      TagFilter.select(rule, ["1.1", "1.2", "v1.2.5", "1.3.0", "2.0", "latest", "1.2.3.4", "1.x", "3.20-alpine"]),
      ["1.2", "v1.2.5", "1.3.0"]
    )
    assert.strictEqual(TagFilter.rejection(rule, "latest"), "NotAVersion")
    assert.strictEqual(TagFilter.rejection(rule, "1.2.3.4"), "NotAVersion")
    assert.strictEqual(TagFilter.rejection(rule, "2.0"), "OutOfRange")
  })

  it("semver with allow: tags that are not versions are kept when allow matched them", () => {
    assert.deepStrictEqual(
      TagFilter.select({ allow: ["."], semver: ">=2" }, ["1.0", "2.0", "latest", "stable"]),
      ["2.0", "latest", "stable"]
    )
  })

  it("prereleases: excluded unless the range names a prerelease of the same version", () => {
    const tags = ["3.20-rc1", "3.20-alpine", "3.20", "3.21-rc1", "3.21.0-rc.2"]
    assert.deepStrictEqual(TagFilter.select({ semver: ">=3.19" }, tags), ["3.20"])
    assert.deepStrictEqual(
      TagFilter.select({ semver: ">=3.21.0-0" }, tags),
      ["3.21.0-rc.2", "3.21-rc1"],
      "semver order: rc.2 < rc1"
    )
    assert.strictEqual(TagFilter.rejection({ semver: ">=3.19" }, "3.20-alpine"), "OutOfRange")
  })

  it("versions: v?MAJOR[.MINOR[.PATCH]][-PRERELEASE], missing parts 0, nothing coerced", () => {
    assert.strictEqual(TagFilter.version("3.20")?.version, "3.20.0")
    assert.strictEqual(TagFilter.version("v2")?.version, "2.0.0")
    assert.strictEqual(TagFilter.version("1.2.3-rc.1")?.version, "1.2.3-rc.1")
    assert.strictEqual(TagFilter.version("3.20-alpine")?.version, "3.20.0-alpine")
    assert.strictEqual(TagFilter.version("3.020")?.version, "3.20.0")
    for (const tag of ["latest", "edge", "1.2.3.4", "3.20_x", "v", "1.2.3-01", "alpine3.20"]) {
      assert.isUndefined(TagFilter.version(tag), tag)
    }
  })

  it("sort is deterministic: equal versions in code-point order, others after", () => {
    assert.deepStrictEqual(TagFilter.sort(["latest", "v3.2.0", "3.2", "3.10", "3.9", "Edge", "edge"]), [
      "3.2",
      "v3.2.0",
      "3.9",
      "3.10",
      "Edge",
      "edge",
      "latest"
    ])
  })
})

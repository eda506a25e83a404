import { assert, describe, it } from "@effect/vitest"
import { Scope } from "@ocidist/auth"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"

describe("Scope", () => {
  it("parses and formats repository scopes", () => {
    const scope = Option.getOrThrow(Scope.parse("repository:library/ubuntu:pull,push"))
    assert.deepStrictEqual(scope, { type: "repository", name: "library/ubuntu", actions: ["pull", "push"] })
    assert.strictEqual(Scope.format(scope), "repository:library/ubuntu:pull,push")
  })

  it("keeps a port in the name and a resource class in the type", () => {
    assert.deepStrictEqual(
      Option.getOrThrow(Scope.parse("repository:localhost:5000/foo:pull")),
      { type: "repository", name: "localhost:5000/foo", actions: ["pull"] }
    )
    assert.strictEqual(Option.getOrThrow(Scope.parse("repository(plugin):p/q:pull")).type, "repository(plugin)")
    assert.deepStrictEqual(Option.getOrThrow(Scope.parse("registry:catalog:*")), Scope.catalog)
  })

  it("rejects what is not a scope", () => {
    for (
      const bad of ["", "repository", "repository:foo", ":foo:pull", "repository::pull", "repository:foo:", "a b:c:d"]
    ) {
      assert.isTrue(Option.isNone(Scope.parse(bad)), bad)
    }
  })

  it("orders and de-duplicates actions", () => {
    assert.deepStrictEqual(Scope.repository("a", ["push", "delete", "pull", "push"]).actions, [
      "pull",
      "push",
      "delete"
    ])
    assert.strictEqual(Scope.format(Scope.push("a")), "repository:a:pull,push")
  })

  it("merges pull + push and keeps several repositories (cross-repository mount)", () => {
    const merged = Scope.merge([Scope.pull("dst"), Scope.pull("src"), Scope.push("dst")])
    assert.deepStrictEqual(merged.map(Scope.format), ["repository:dst:pull,push", "repository:src:pull"])
  })

  it("parses lists and builds canonical keys", () => {
    const list = Scope.parseList("  repository:b:push repository:a:pull  junk registry:catalog:*")
    assert.deepStrictEqual(list.map(Scope.format), ["repository:b:push", "repository:a:pull", "registry:catalog:*"])
    assert.strictEqual(Scope.key([Scope.pull("b"), Scope.pull("a")]), Scope.key([Scope.pull("a"), Scope.pull("b")]))
  })

  it("covers and missing", () => {
    const have = [Scope.push("a"), Scope.make("repository", "b", ["*"])]
    assert.isTrue(Scope.covers(have, [Scope.pull("a")]))
    assert.isTrue(Scope.covers(have, [Scope.remove("b")]))
    assert.isFalse(Scope.covers(have, [Scope.remove("a")]))
    assert.isTrue(Scope.covers(have, []))
    assert.deepStrictEqual(Scope.missing([Scope.pull("a")], [Scope.push("a"), Scope.pull("c")]).map(Scope.format), [
      "repository:a:push",
      "repository:c:pull"
    ])
  })

  it.prop(
    "format and parse round-trip",
    [
      FastCheck.constantFrom("repository", "registry"),
      FastCheck.stringMatching(/^[a-z0-9]+(?:[/._-][a-z0-9]+)*$/),
      FastCheck.uniqueArray(FastCheck.constantFrom("pull", "push", "delete", "*"), { minLength: 1 })
    ],
    ([type, name, actions]) => {
      const scope = Scope.make(type, name, actions)
      assert.deepStrictEqual(Option.getOrThrow(Scope.parse(Scope.format(scope))), scope)
    }
  )
})

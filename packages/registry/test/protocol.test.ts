import { assert, describe, it } from "@effect/vitest"
import { isName, isTag, page, parseContentRange, parseCount, parseRange } from "../src/internal/protocol.js"

describe("protocol", () => {
  it("repository names follow the spec's grammar", () => {
    for (const name of ["a", "library/alpine", "a-b/c__d/e.f", "x--y/0"]) assert.isTrue(isName(name), name)
    for (const name of ["", "A", "a/", "/a", "a//b", "a/../b", "..", "a/.b", "a_", "a___b", "a:b", "a b"]) {
      assert.isFalse(isName(name), name)
    }
    assert.isFalse(isName(`${"a".repeat(256)}`))
  })

  it("tags follow the spec's grammar", () => {
    for (const tag of ["latest", "v1.2.3", "_x", "A-b.c_d", "a".repeat(128)]) assert.isTrue(isTag(tag), tag)
    for (const tag of ["", ".x", "-x", "a:b", "a/b", "a".repeat(129), ".INVALID_MANIFEST_NAME"]) {
      assert.isFalse(isTag(tag), tag)
    }
  })

  it("Range: first-last, open-ended, suffix, unsatisfiable, ignored", () => {
    assert.deepStrictEqual(parseRange("bytes=0-9", 100), { start: 0, end: 9 })
    assert.deepStrictEqual(parseRange("bytes=90-", 100), { start: 90, end: 99 })
    assert.deepStrictEqual(parseRange("bytes=90-200", 100), { start: 90, end: 99 })
    assert.deepStrictEqual(parseRange("bytes=-10", 100), { start: 90, end: 99 })
    assert.deepStrictEqual(parseRange("bytes=-200", 100), { start: 0, end: 99 })
    assert.strictEqual(parseRange("bytes=100-", 100), "unsatisfiable")
    assert.strictEqual(parseRange("bytes=-0", 100), "unsatisfiable")
    assert.strictEqual(parseRange(undefined, 100), undefined)
    assert.strictEqual(parseRange("bytes=0-1,5-6", 100), undefined)
    assert.strictEqual(parseRange("bytes=9-1", 100), undefined)
    assert.strictEqual(parseRange("items=0-1", 100), undefined)
  })

  it("Content-Range of chunks: with or without `bytes `", () => {
    assert.deepStrictEqual(parseContentRange("0-21"), { start: 0, end: 21 })
    assert.deepStrictEqual(parseContentRange("bytes 22-41/42"), { start: 22, end: 41 })
    assert.deepStrictEqual(parseContentRange("bytes=22-41"), { start: 22, end: 41 })
    assert.strictEqual(parseContentRange("41-22"), "invalid")
    assert.strictEqual(parseContentRange("x"), "invalid")
    assert.strictEqual(parseContentRange(undefined), undefined)
  })

  it("pages: n, last, and whether more follow", () => {
    const all = ["a", "b", "c", "d", "e"]
    assert.deepStrictEqual(page(all, 2, null), { items: ["a", "b"], more: true })
    assert.deepStrictEqual(page(all, 2, "b"), { items: ["c", "d"], more: true })
    assert.deepStrictEqual(page(all, 2, "d"), { items: ["e"], more: false })
    assert.deepStrictEqual(page(all, 0, null), { items: [], more: false })
    assert.deepStrictEqual(page(all, undefined, "c"), { items: ["d", "e"], more: false })
    assert.deepStrictEqual(page(all, 10, "bb"), { items: ["c", "d", "e"], more: false })
    assert.strictEqual(parseCount("-1"), "invalid")
    assert.strictEqual(parseCount("x"), "invalid")
    assert.strictEqual(parseCount(null), undefined)
    assert.strictEqual(parseCount("3"), 3)
  })
})

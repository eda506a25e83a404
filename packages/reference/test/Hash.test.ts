import { assert, describe, it } from "@effect/vitest"
import { Digest, Hash, ReferenceError } from "@ocidist/reference"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Stream from "effect/Stream"
import { createHash, randomBytes } from "node:crypto"

const algorithms = ["sha256", "sha384", "sha512"] as const
const expected = (algorithm: Digest.Algorithm, data: Uint8Array) =>
  `${algorithm}:${createHash(algorithm).update(data).digest("hex")}`

/** Feeds `data` in chunks whose sizes come from `cuts`. */
const feed = (hasher: Hash.Hasher, data: Uint8Array, cuts: ReadonlyArray<number>) => {
  let at = 0
  for (const cut of cuts) {
    if (at >= data.length) break
    const next = Math.min(data.length, at + cut)
    hasher.update(data.subarray(at, next))
    at = next
  }
  hasher.update(data.subarray(at))
  return hasher.digest()
}

describe("Hash", () => {
  it("the portable SHA-2 equals node:crypto at every block boundary", () => {
    // padding edge cases: one byte short of room for the length, exactly a block, a byte over
    const sizes = [0, 1, 55, 56, 63, 64, 65, 111, 112, 119, 127, 128, 129, 1000, 70_000]
    for (const algorithm of algorithms) {
      for (const size of sizes) {
        const data = randomBytes(size)
        assert.strictEqual(feed(Hash.portable.make(algorithm), data, [7, 64, 1, 200]), expected(algorithm, data))
        assert.strictEqual(Digest.ofBytes(data, algorithm), expected(algorithm, data))
      }
    }
  })

  it("portable and Node hashers agree with node:crypto for any content and chunking", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.uint8Array({ maxLength: 700 }),
        FastCheck.array(FastCheck.integer({ min: 0, max: 300 }), { maxLength: 8 }),
        FastCheck.constantFrom(...algorithms),
        (data, cuts, algorithm) => {
          const want = expected(algorithm, data)
          return feed(Hash.portable.make(algorithm), data, cuts) === want &&
            feed(NodeHash.service.make(algorithm), data, cuts) === want
        }
      ),
      { numRuns: 300 }
    )
  })

  it("a hasher counts bytes and refuses updates after digest", () => {
    const h = NodeHash.service.make("sha256")
    h.update(new Uint8Array(10))
    h.update(new Uint8Array(5))
    assert.strictEqual(h.bytes(), 15)
    assert.strictEqual(h.digest(), h.digest())
    assert.throws(() => h.update(new Uint8Array(1)))
  })

  it.effect("streams are hashed by the service in context", () =>
    Effect.gen(function*() {
      const made: Array<string> = []
      const counting: Hash.Service = {
        make: (algorithm) => {
          made.push(algorithm)
          return NodeHash.service.make(algorithm)
        }
      }
      const data = randomBytes(3000)
      const stream = Stream.fromIterable([data.subarray(0, 1000), data.subarray(1000)])
      const result = yield* Digest.fromStream(stream, "sha512").pipe(Effect.provide(Hash.layer(counting)))
      assert.strictEqual(result.digest, expected("sha512", data))
      yield* Digest.verify(result.digest, stream).pipe(Effect.provide(Hash.layer(counting)))
      assert.deepStrictEqual(made, ["sha512", "sha512"])
      // without a provided service, the portable default is used
      assert.strictEqual((yield* Digest.fromStream(stream)).digest, expected("sha256", data))
    }))

  it.effect("verifyStream fails with a branded DigestMismatch after the last byte", () =>
    Effect.gen(function*() {
      const wrong = Digest.ofBytes("other")
      let seen = 0
      const error = yield* Stream.make(new Uint8Array([1, 2, 3])).pipe(
        Digest.verifyStream(wrong, "test content"),
        Stream.runForEach((chunk) => Effect.sync(() => (seen += chunk.length))),
        Effect.flip
      )
      assert.strictEqual(seen, 3)
      assert.strictEqual(error._tag, "DigestMismatch")
      assert.isTrue(ReferenceError.isReferenceError(error))
      assert.isFalse(ReferenceError.isReferenceError({ _tag: "DigestMismatch" }))
    }))
})

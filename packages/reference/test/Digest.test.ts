import { assert, describe, it } from "@effect/vitest"
import { Digest, Hash, ReferenceError } from "@ocidist/reference"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"

const hello = new TextEncoder().encode("hello world")
const helloSha256 = "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"

describe("Digest.parse", () => {
  const cases: ReadonlyArray<readonly [string, "ok" | "BadDigest" | "UnsupportedAlgorithm"]> = [
    [helloSha256, "ok"],
    [`sha384:${"0".repeat(96)}`, "ok"],
    [`sha512:${"a".repeat(128)}`, "ok"],
    [`sha256:${"A".repeat(64)}`, "BadDigest"],
    [`sha256:${"a".repeat(63)}`, "BadDigest"],
    [`sha512:${"a".repeat(64)}`, "BadDigest"],
    [`sha256:${"z".repeat(64)}`, "BadDigest"],
    ["sha256:", "BadDigest"],
    ["sha256", "BadDigest"],
    [":abc", "BadDigest"],
    ["", "BadDigest"],
    [`SHA256:${"a".repeat(64)}`, "BadDigest"],
    [`sha256 :${"a".repeat(64)}`, "BadDigest"],
    [`md5:${"a".repeat(32)}`, "UnsupportedAlgorithm"],
    [`blake3:${"a".repeat(64)}`, "UnsupportedAlgorithm"],
    [`multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8`, "UnsupportedAlgorithm"]
  ]
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input.slice(0, 40))} → ${expected}`, () => {
      const result = Digest.parse(input)
      if (expected === "ok") {
        assert.strictEqual(Either.getOrThrow(result), input)
        assert.isTrue(Digest.isDigest(input))
      } else {
        const error = Either.getOrThrow(Either.flip(result))
        assert.instanceOf(error, ReferenceError.InvalidReference)
        assert.strictEqual(error.reason, expected)
        assert.isFalse(Digest.isDigest(input))
      }
    })
  }

  it("exposes algorithm and hex", () => {
    const d = Either.getOrThrow(Digest.parse(helloSha256))
    assert.strictEqual(Digest.algorithm(d), "sha256")
    assert.strictEqual(Digest.hex(d), helloSha256.slice(7))
  })

  it("has a schema", () => {
    assert.strictEqual(Schema.decodeUnknownSync(Digest.Digest)(helloSha256), helloSha256)
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(Digest.Digest)("sha256:nope")))
  })
})

describe("Digest hashing", () => {
  it("ofBytes matches node:crypto for each algorithm", () => {
    assert.strictEqual(Digest.ofBytes(hello), helloSha256)
    for (const alg of ["sha256", "sha384", "sha512"] as const) {
      assert.strictEqual(Digest.ofBytes(hello, alg), `${alg}:${createHash(alg).update(hello).digest("hex")}`)
    }
  })

  it("the incremental hasher equals the one-shot digest whatever the chunking", () => {
    const h = Hash.portable.make("sha256")
    for (const chunk of [hello.subarray(0, 3), hello.subarray(3, 4), new Uint8Array(0), hello.subarray(4)]) {
      h.update(chunk)
    }
    assert.strictEqual(h.digest(), helloSha256)
    assert.strictEqual(h.digest(), helloSha256)
    assert.strictEqual(h.bytes(), hello.length)
  })

  it.effect("fromStream hashes a stream and counts bytes", () =>
    Effect.gen(function*() {
      const result = yield* Digest.fromStream(Stream.fromIterable([hello.subarray(0, 5), hello.subarray(5)]))
      assert.deepStrictEqual(result, { digest: helloSha256, size: hello.length })
    }))

  it.effect("verify succeeds on matching content and fails with DigestMismatch otherwise", () =>
    Effect.gen(function*() {
      const expected = Either.getOrThrow(Digest.parse(helloSha256))
      yield* Digest.verify(expected, Stream.make(hello))
      const error = yield* Effect.flip(Digest.verify(expected, Stream.make(new TextEncoder().encode("hello"))))
      assert.instanceOf(error, ReferenceError.DigestMismatch)
      assert.strictEqual(error.expected, helloSha256)
      assert.strictEqual(error.actual, Digest.ofBytes("hello"))
      assert.include(error.message, helloSha256)
    }))

  it.effect("verifyStream passes every byte through, then checks", () =>
    Effect.gen(function*() {
      const expected = Either.getOrThrow(Digest.parse(helloSha256))
      const chunks = yield* Stream.runCollect(
        Digest.verifyStream(expected)(Stream.make(hello.subarray(0, 2), hello.subarray(2)))
      )
      assert.strictEqual(Chunk.toReadonlyArray(chunks).reduce((n, c) => n + c.length, 0), hello.length)
      const seen: Array<number> = []
      const error = yield* Stream.make(hello.subarray(0, 4)).pipe(
        Digest.verifyStream(expected, "blob x"),
        Stream.runForEach((c) => Effect.sync(() => seen.push(c.length))),
        Effect.flip
      )
      assert.deepStrictEqual(seen, [4])
      assert.strictEqual(error._tag, "DigestMismatch")
      assert.include(error.message, "blob x")
    }))

  it.effect("a large stream is hashed chunk by chunk", () =>
    Effect.gen(function*() {
      const chunk = new Uint8Array(64 * 1024).fill(7)
      const reference = createHash("sha256")
      for (let i = 0; i < 256; i++) reference.update(chunk)
      const result = yield* Digest.fromStream(Stream.repeatValue(chunk).pipe(Stream.take(256)))
      assert.strictEqual(result.digest, `sha256:${reference.digest("hex")}`)
      assert.strictEqual(result.size, 256 * chunk.length)
    }))

  it("verifyBytes", () => {
    const expected = Either.getOrThrow(Digest.parse(helloSha256))
    assert.isTrue(Either.isRight(Digest.verifyBytes(expected, hello)))
    assert.strictEqual(
      Either.getOrThrow(Either.flip(Digest.verifyBytes(expected, new Uint8Array(1))))._tag,
      "DigestMismatch"
    )
  })
})

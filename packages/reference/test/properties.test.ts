import { assert, describe, it } from "@effect/vitest"
import { Reference, ReferenceError } from "@ocidist/reference"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"

const lower = FastCheck.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789".split(""))
const alnum = FastCheck.array(lower, { minLength: 1, maxLength: 8 }).map((a) => a.join(""))
const separator = FastCheck.constantFrom(".", "_", "__", "-", "--")
const component = FastCheck.tuple(alnum, FastCheck.array(FastCheck.tuple(separator, alnum), { maxLength: 2 }))
  .map(([head, rest]) => head + rest.map(([s, a]) => s + a).join(""))
const path = FastCheck.array(component, { minLength: 1, maxLength: 4 }).map((c) => c.join("/"))
const label = FastCheck.array(FastCheck.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789".split("")), {
  minLength: 1,
  maxLength: 6
})
  .map((a) => a.join(""))
const domain = FastCheck.oneof(
  FastCheck.tuple(label, label, FastCheck.option(FastCheck.integer({ min: 1, max: 65535 }), { nil: undefined }))
    .map(([a, b, port]) => `${a}.${b}${port === undefined ? "" : `:${port}`}`),
  FastCheck.constant("localhost:5000"),
  FastCheck.constant("[::1]:5000")
)
const tagChar = FastCheck.constantFrom(..."abcABC019_.-".split(""))
const tag = FastCheck.tuple(FastCheck.constantFrom(..."aZ9_".split("")), FastCheck.array(tagChar, { maxLength: 20 }))
  .map(([h, t]) => h + t.join(""))
const digest = FastCheck.tuple(
  FastCheck.constantFrom(["sha256", 64] as const, ["sha384", 96] as const, ["sha512", 128] as const),
  FastCheck.array(FastCheck.constantFrom(..."0123456789abcdef".split("")), { minLength: 128, maxLength: 128 })
).map(([[alg, len], hex]) => `${alg}:${hex.slice(0, len).join("")}`)

const reference = FastCheck.record({
  domain: FastCheck.option(domain, { nil: undefined }),
  path,
  tag: FastCheck.option(tag, { nil: undefined }),
  digest: FastCheck.option(digest, { nil: undefined })
}).map(({ digest, domain, path, tag }) =>
  // without a domain, a first component with a "." would be read as a domain (docker's rule)
  `${domain === undefined ? "" : `${domain}/`}${
    domain === undefined ? path.replace(/^[^/]*/, (first) => first.replaceAll(".", "-")) : path
  }${tag === undefined ? "" : `:${tag}`}${digest === undefined ? "" : `@${digest}`}`
)

describe("Reference properties", () => {
  it.prop("valid references round-trip through toString and familiar", [reference], ([input]) => {
    const ref = Either.getOrThrow(Reference.parse(input))
    assert.deepStrictEqual(Either.getOrThrow(Reference.parse(ref.toString())), ref)
    assert.deepStrictEqual(Either.getOrThrow(Reference.parse(ref.familiar)), ref)
    assert.strictEqual(Either.getOrThrow(Reference.parse(ref.toString())).toString(), ref.toString())
  })

  it.prop("parsing any string never throws: it succeeds or fails with InvalidReference", [
    FastCheck.string({ maxLength: 300 })
  ], ([input]) => {
    const result = Reference.parse(input)
    if (Either.isLeft(result)) {
      assert.instanceOf(result.left, ReferenceError.InvalidReference)
      assert.isString(result.left.message)
    } else {
      assert.deepStrictEqual(Either.getOrThrow(Reference.parse(result.right.toString())), result.right)
    }
  })

  it.prop("parsing mutated references never throws", [
    reference,
    FastCheck.integer({ min: 0, max: 400 }),
    FastCheck.string({ maxLength: 3, unit: "binary" })
  ], ([input, at, insert]) => {
    const mutated = input.slice(0, at) + insert + input.slice(at)
    const result = Reference.parse(mutated)
    assert.isTrue(Either.isRight(result) || result.left._tag === "InvalidReference")
  })
})

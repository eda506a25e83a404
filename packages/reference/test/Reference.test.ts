import { assert, describe, it } from "@effect/vitest"
import { Digest, Reference, ReferenceError } from "@ocidist/reference"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

const h64 = "f".repeat(64)
const s256 = `sha256:${h64}`
const s384 = `sha384:${"a".repeat(96)}`
const s512 = `sha512:${"0123456789abcdef".repeat(8)}`

// input, full form, familiar form
const valid: ReadonlyArray<readonly [string, string, string]> = [
  ["ubuntu", "docker.io/library/ubuntu", "ubuntu"],
  ["ubuntu:22.04", "docker.io/library/ubuntu:22.04", "ubuntu:22.04"],
  ["library/debian", "docker.io/library/debian", "debian"],
  ["docker/docker", "docker.io/docker/docker", "docker/docker"],
  ["docker.io/docker/docker", "docker.io/docker/docker", "docker/docker"],
  ["docker.io/debian", "docker.io/library/debian", "debian"],
  ["docker.io/library/debian:bookworm", "docker.io/library/debian:bookworm", "debian:bookworm"],
  ["index.docker.io/docker/docker", "docker.io/docker/docker", "docker/docker"],
  ["index.docker.io/debian", "docker.io/library/debian", "debian"],
  ["docker.io/library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar"],
  ["localhost/debian", "localhost/debian", "localhost/debian"],
  ["localhost/library/debian", "localhost/library/debian", "localhost/library/debian"],
  ["localhost:5000/library/debian", "localhost:5000/library/debian", "localhost:5000/library/debian"],
  ["127.0.0.1:5000/library/debian:1", "127.0.0.1:5000/library/debian:1", "127.0.0.1:5000/library/debian:1"],
  ["192.168.1.1/repo", "192.168.1.1/repo", "192.168.1.1/repo"],
  ["test_com", "docker.io/library/test_com", "test_com"],
  ["test.com:tag", "docker.io/library/test.com:tag", "test.com:tag"],
  ["test.com:5000", "docker.io/library/test.com:5000", "test.com:5000"],
  ["localhost:5000", "docker.io/library/localhost:5000", "localhost:5000"],
  ["test.com/repo:tag", "test.com/repo:tag", "test.com/repo:tag"],
  ["test:5000/repo", "test:5000/repo", "test:5000/repo"],
  ["test:5000/repo:tag", "test:5000/repo:tag", "test:5000/repo:tag"],
  [`test:5000/repo@${s256}`, `test:5000/repo@${s256}`, `test:5000/repo@${s256}`],
  [`test:5000/repo:tag@${s256}`, `test:5000/repo:tag@${s256}`, `test:5000/repo:tag@${s256}`],
  [`ubuntu@${s256}`, `docker.io/library/ubuntu@${s256}`, `ubuntu@${s256}`],
  [`ubuntu:22.04@${s256}`, `docker.io/library/ubuntu:22.04@${s256}`, `ubuntu:22.04@${s256}`],
  [`ghcr.io/org/app@${s384}`, `ghcr.io/org/app@${s384}`, `ghcr.io/org/app@${s384}`],
  [`ghcr.io/org/app:v1@${s512}`, `ghcr.io/org/app:v1@${s512}`, `ghcr.io/org/app:v1@${s512}`],
  ["sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com/bar/baz/quux"],
  [
    "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
    "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
    "sub-dom1.foo.com/bar/baz/quux:some-long-tag"
  ],
  [
    "b.gcr.io/test.example.com/my-app:test.example.com",
    "b.gcr.io/test.example.com/my-app:test.example.com",
    "b.gcr.io/test.example.com/my-app:test.example.com"
  ],
  ["xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com"],
  ["foo_bar.com:8080", "docker.io/library/foo_bar.com:8080", "foo_bar.com:8080"],
  ["foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", "foo/foo_bar.com:8080"],
  ["Docker/docker", "Docker/docker", "Docker/docker"],
  ["FOO.example.com/bar", "FOO.example.com/bar", "FOO.example.com/bar"],
  ["[2001:db8::1]/repo", "[2001:db8::1]/repo", "[2001:db8::1]/repo"],
  ["[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000/repo:tag"],
  ["[::1]:5000/a/b", "[::1]:5000/a/b", "[::1]:5000/a/b"],
  ["a/a/a/a/a", "docker.io/a/a/a/a/a", "a/a/a/a/a"],
  ["foo--bar/baz", "docker.io/foo--bar/baz", "foo--bar/baz"],
  ["foo__bar/baz", "docker.io/foo__bar/baz", "foo__bar/baz"],
  ["foo.bar-baz/x_y", "foo.bar-baz/x_y", "foo.bar-baz/x_y"],
  [
    "registry.example.com:443/team/app:_private",
    "registry.example.com:443/team/app:_private",
    "registry.example.com:443/team/app:_private"
  ],
  [`repo:${"t".repeat(128)}`, `docker.io/library/repo:${"t".repeat(128)}`, `repo:${"t".repeat(128)}`],
  ["a", "docker.io/library/a", "a"],
  ["0", "docker.io/library/0", "0"],
  [`${"a".repeat(63)}`, `docker.io/library/${"a".repeat(63)}`, "a".repeat(63)],
  [`${"a".repeat(64)}:tag`, `docker.io/library/${"a".repeat(64)}:tag`, `${"a".repeat(64)}:tag`],
  [`${"a/".repeat(117)}a`, `docker.io/${"a/".repeat(117)}a`, `${"a/".repeat(117)}a`]
]

// input, reason, offending part (when asserted)
const invalid: ReadonlyArray<readonly [string, ReferenceError.InvalidReferenceReason, string?]> = [
  ["", "Empty"],
  [":justtag", "BadFormat"],
  [`@${s256}`, "BadFormat"],
  ["-foo/bar", "BadFormat", "-foo/bar"],
  ["foo/bar/", "BadFormat"],
  ["foo//bar", "BadFormat"],
  ["foo/-bar", "BadFormat"],
  ["foo/bar-", "BadFormat"],
  ["foo..bar/x", "BadFormat"],
  ["foo/bar..baz", "BadFormat"],
  ["foo/foo___bar", "BadFormat"],
  ["foo/foo.-bar", "BadFormat"],
  ["foo/foo-_bar", "BadFormat"],
  ["aa/asdf$$^/aa", "BadFormat"],
  ["foo.bar_baz/x", "BadFormat", "foo.bar_baz"],
  ["a_a.a/a", "BadFormat", "a_a.a"],
  ["http://foo/bar", "BadFormat", "http:"],
  ["localhost:abc/repo", "BadFormat", "localhost:abc"],
  ["[fe80::1%eth0]:5000/repo", "BadFormat"],
  ["repo:tag:tag", "BadFormat", "tag:tag"],
  ["repo:-tag", "BadFormat", "-tag"],
  ["repo:.tag", "BadFormat", ".tag"],
  ["repo:ta/g", "BadFormat"],
  ["repo name", "BadFormat"],
  ["repo\n", "BadFormat"],
  ["Uppercase", "UppercaseRepository", "library/Uppercase"],
  ["Uppercase:tag", "UppercaseRepository", "library/Uppercase"],
  ["docker/Docker", "UppercaseRepository", "docker/Docker"],
  ["ghcr.io/Org/app", "UppercaseRepository", "Org/app"],
  ["example.com/app/Sub:1", "UppercaseRepository"],
  [h64, "NameIsDigest", h64],
  ["0123456789abcdef".repeat(4), "NameIsDigest"],
  [`${"a/".repeat(128)}a:tag`, "TooLong"],
  [`example.com/${"a".repeat(250)}`, "TooLong"],
  ["a".repeat(256), "TooLong"],
  [`repo:${"t".repeat(129)}`, "TagTooLong", "t".repeat(129)],
  [`ghcr.io/a/b:${"v".repeat(200)}`, "TagTooLong"],
  ["repo@sha256:ffffffff", "BadDigest", "sha256:ffffffff"],
  [`repo@sha256:${"F".repeat(64)}`, "BadDigest"],
  [`repo@sha256:${"f".repeat(63)}`, "BadDigest"],
  [`repo@sha256:${"f".repeat(65)}`, "BadDigest"],
  [`repo@sha512:${h64}`, "BadDigest"],
  [`repo@sha384:${h64}`, "BadDigest"],
  ["repo@sha256", "BadDigest"],
  ["repo@", "BadDigest"],
  [`repo@sha256:${"g".repeat(64)}`, "BadDigest"],
  [`repo@${s256}@x`, "BadDigest"],
  [`validname@invaliddigest:${h64}`, "UnsupportedAlgorithm", `invaliddigest:${h64}`],
  [`repo@md5:${"a".repeat(32)}`, "UnsupportedAlgorithm"],
  [`repo@blake3:${h64}`, "UnsupportedAlgorithm"]
]

describe("Reference.parse", () => {
  it("has a large table", () => {
    assert.isAtLeast(valid.length + invalid.length, 60)
  })

  for (const [input, full, familiar] of valid) {
    it(`accepts ${JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input)}`, () => {
      const ref = Either.getOrThrow(Reference.parse(input))
      assert.strictEqual(ref.toString(), full)
      assert.strictEqual(ref.familiar, familiar)
      // parsing the full and familiar forms gives the same reference back
      assert.deepStrictEqual(Either.getOrThrow(Reference.parse(full)), ref)
      assert.deepStrictEqual(Either.getOrThrow(Reference.parse(familiar)), ref)
    })
  }

  for (const [input, reason, part] of invalid) {
    it(`rejects ${JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input)} (${reason})`, () => {
      const error = Either.getOrThrow(Either.flip(Reference.parse(input)))
      assert.instanceOf(error, ReferenceError.InvalidReference)
      assert.strictEqual(error._tag, "InvalidReference")
      assert.strictEqual(error.input, input)
      assert.strictEqual(error.reason, reason)
      if (part !== undefined) {
        assert.strictEqual(error.part, part)
        if (part !== input) assert.include(error.message, part.slice(0, 100))
      }
      assert.match(error.message, /^invalid reference /)
    })
  }

  it("splits registry, repository, tag and digest", () => {
    const ref = Either.getOrThrow(Reference.parse(`localhost:5000/team/app:v1.2@${s256}`))
    assert.strictEqual(ref.registry, "localhost:5000")
    assert.strictEqual(ref.repository, "team/app")
    assert.strictEqual(ref.tag, "v1.2")
    assert.strictEqual(ref.digest, s256)
    assert.strictEqual(ref.name, "localhost:5000/team/app")
  })

  it("requests the digest, else the tag, else latest", () => {
    assert.strictEqual(Either.getOrThrow(Reference.parse("ubuntu")).identifier, "latest")
    assert.strictEqual(Either.getOrThrow(Reference.parse("ubuntu:22.04")).identifier, "22.04")
    assert.strictEqual(Either.getOrThrow(Reference.parse(`ubuntu:22.04@${s256}`)).identifier, s256)
  })

  it("keeps tag and digest absent rather than undefined", () => {
    const ref = Either.getOrThrow(Reference.parse("ubuntu"))
    assert.isFalse("tag" in ref && ref.tag !== undefined)
    assert.strictEqual(JSON.stringify({ ref }), "{\"ref\":\"docker.io/library/ubuntu\"}")
  })

  it.effect("is yieldable in Effect.gen, failing with InvalidReference", () =>
    Effect.gen(function*() {
      const ref = yield* Reference.parse("alpine:3")
      assert.strictEqual(ref.toString(), "docker.io/library/alpine:3")
      const error = yield* Effect.flip(Reference.parse("Alpine"))
      assert.strictEqual(error._tag, "InvalidReference")
    }))
})

describe("Reference helpers", () => {
  const ubuntu = Either.getOrThrow(Reference.parse(`ubuntu:22.04@${s256}`))

  it("withTag keeps the digest and validates the tag", () => {
    const ref = Either.getOrThrow(Reference.withTag(ubuntu, "24.04"))
    assert.strictEqual(ref.toString(), `docker.io/library/ubuntu:24.04@${s256}`)
    assert.strictEqual(Either.getOrThrow(Either.flip(Reference.withTag(ubuntu, "bad tag"))).reason, "BadFormat")
    assert.strictEqual(Either.getOrThrow(Either.flip(Reference.withTag(ubuntu, "t".repeat(129)))).reason, "TagTooLong")
  })

  it("withDigest, withoutTag, withoutDigest, repositoryOf", () => {
    const other = Either.getOrThrow(Digest.parse(s512))
    assert.strictEqual(Reference.withDigest(ubuntu, other).identifier, s512)
    assert.strictEqual(Reference.withoutTag(ubuntu).toString(), `docker.io/library/ubuntu@${s256}`)
    assert.strictEqual(Reference.withoutDigest(ubuntu).toString(), "docker.io/library/ubuntu:22.04")
    assert.strictEqual(Reference.repositoryOf(ubuntu).toString(), "docker.io/library/ubuntu")
  })

  it("parseRepository refuses tags and digests", () => {
    assert.strictEqual(Either.getOrThrow(Reference.parseRepository("ghcr.io/a/b")).name, "ghcr.io/a/b")
    assert.strictEqual(Either.getOrThrow(Either.flip(Reference.parseRepository("ghcr.io/a/b:1"))).reason, "BadFormat")
  })

  it("make folds index.docker.io", () => {
    const ref = Reference.make({ registry: "index.docker.io", repository: "library/x" })
    assert.strictEqual(ref.toString(), "docker.io/library/x")
  })
})

describe("Reference.FromString", () => {
  it("decodes and encodes the string form", () => {
    const ref = Schema.decodeUnknownSync(Reference.FromString)("redis:7")
    assert.strictEqual(ref.repository, "library/redis")
    assert.strictEqual(Schema.encodeSync(Reference.FromString)(ref), "docker.io/library/redis:7")
  })

  it("reports the reason in the parse error", () => {
    const result = Schema.decodeUnknownEither(Reference.FromString)("Redis")
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(result.left.message, "lower-case")
  })

  it("works inside a struct (config files, CLI options)", () => {
    const Config = Schema.Struct({ source: Reference.FromString, target: Reference.FromString })
    const decoded = Schema.decodeUnknownSync(Config)({ source: "alpine", target: "localhost:5000/alpine:3" })
    assert.strictEqual(decoded.target.registry, "localhost:5000")
    assert.deepStrictEqual(Schema.encodeSync(Config)(decoded), {
      source: "docker.io/library/alpine",
      target: "localhost:5000/alpine:3"
    })
  })
})

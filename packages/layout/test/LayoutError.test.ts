import { SystemError } from "@effect/platform/Error"
import { assert, describe, expect, it } from "@effect/vitest"
import { LayoutError } from "@ocidist/layout"
import { DigestMismatch } from "@ocidist/reference/ReferenceError"
import { SizeMismatch } from "@ocidist/spec/SpecError"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

const path = "/tmp/layout"
const digest = "sha256:" + "a".repeat(64)

const samples: ReadonlyArray<readonly [string, LayoutError.LayoutError, string]> = [
  ["NotALayout", new LayoutError.NotALayout({ path, detail: "oci-layout is missing" }), "not an OCI image layout"],
  ["InvalidIndex", new LayoutError.InvalidIndex({ path, detail: "not JSON" }), "invalid index in /tmp/layout"],
  ["InvalidDigest", new LayoutError.InvalidDigest({ path, digest: "sha256:../x", detail: "bad" }), "sha256:../x"],
  ["InvalidTag", new LayoutError.InvalidTag({ path, tag: "a b", detail: "bad" }), "\"a b\""],
  ["ImageNotFound", new LayoutError.ImageNotFound({ path, reference: "v1", detail: "no entry tagged \"v1\"" }), "v1"],
  [
    "AmbiguousReference",
    new LayoutError.AmbiguousReference({ path, reference: "", detail: "2 different manifests" }),
    "ambiguous"
  ],
  ["BlobNotFound", new LayoutError.BlobNotFound({ path, digest }), digest],
  ["PartialMissing", new LayoutError.PartialMissing({ path, digest, detail: "gone" }), "cannot resume"],
  ["InvalidArchive", new LayoutError.InvalidArchive({ path, detail: "bad checksum" }), "invalid archive"],
  ["UnsupportedContent", new LayoutError.UnsupportedContent({ path, digest, detail: "zstd" }), "zstd"],
  [
    "LayoutLocked",
    new LayoutError.LayoutLocked({
      path,
      lockFile: `${path}/index.json.lock`,
      owner: "process 7 on \"host\"",
      waitedMillis: 300_000
    }),
    "locked by process 7"
  ],
  ["FileSystemError", new LayoutError.FileSystemError({ path, detail: "EACCES" }), "file system error"]
]

describe("LayoutError", () => {
  it("one class per failure, each with its tag, the brand and a message naming the path", () => {
    assert.strictEqual(new Set(samples.map(([tag]) => tag)).size, 12)
    for (const [tag, error, inMessage] of samples) {
      assert.strictEqual(error._tag, tag)
      assert.isTrue(LayoutError.isLayoutError(error), tag)
      assert.strictEqual((error as unknown as Record<string, unknown>)[LayoutError.TypeId], LayoutError.TypeId)
      expect(error.message).toContain(inMessage)
      expect(error.message).toContain(path)
      assert.instanceOf(error, Error)
    }
  })

  it("isLayoutError tests the brand, not the tag", () => {
    assert.isFalse(LayoutError.isLayoutError({ _tag: "NotALayout", path, detail: "x" }))
    assert.isFalse(LayoutError.isLayoutError({ _tag: "BlobNotFound" }))
    assert.isFalse(LayoutError.isLayoutError(new SizeMismatch({ subject: "x", expected: 1 })))
    assert.isFalse(LayoutError.isLayoutError(new DigestMismatch({ expected: digest, actual: digest })))
    assert.isFalse(LayoutError.isLayoutError(null))
    assert.isFalse(LayoutError.isLayoutError("NotALayout"))
  })

  it.effect("catchTags tells them apart", () =>
    Effect.gen(function*() {
      const failing: Effect.Effect<string, LayoutError.LayoutError> = Effect.fail(
        new LayoutError.ImageNotFound({ path, reference: "v1", detail: "x" })
      )
      const handled = yield* failing.pipe(
        Effect.catchTags({
          ImageNotFound: (e) => Effect.succeed(`missing ${e.reference}`),
          BlobNotFound: (e) => Effect.succeed(`blob ${e.digest}`)
        })
      )
      assert.strictEqual(handled, "missing v1")
    }))

  it("errors survive a Schema round trip", () => {
    const error = new LayoutError.InvalidTag({ path, tag: "a b", detail: "bad" })
    const encoded = Schema.encodeSync(LayoutError.InvalidTag)(error)
    const decoded = Schema.decodeSync(LayoutError.InvalidTag)(encoded)
    assert.strictEqual(decoded._tag, "InvalidTag")
    assert.strictEqual(decoded.tag, "a b")
    assert.isTrue(LayoutError.isLayoutError(decoded))
  })

  it("fromPlatformError: BlobNotFound for a missing blob file, else FileSystemError keeping the cause", () => {
    const notFound = new SystemError({
      reason: "NotFound",
      module: "FileSystem",
      method: "stat",
      pathOrDescriptor: "x"
    })
    const denied = new SystemError({
      reason: "PermissionDenied",
      module: "FileSystem",
      method: "open",
      pathOrDescriptor: "x"
    })
    const blob = LayoutError.fromPlatformError(path, digest)(notFound)
    assert.strictEqual(blob._tag, "BlobNotFound")
    assert.strictEqual(blob._tag === "BlobNotFound" && blob.digest, digest)
    const noDigest = LayoutError.fromPlatformError(path)(notFound)
    assert.strictEqual(noDigest._tag, "FileSystemError")
    const io = LayoutError.fromPlatformError(path, digest)(denied)
    assert.strictEqual(io._tag, "FileSystemError")
    if (io._tag !== "FileSystemError") return
    assert.strictEqual(io.cause, denied)
    assert.strictEqual(io.digest, digest)
    expect(io.message).toContain(digest)
    assert.isTrue(LayoutError.isLayoutError(io))
  })

  it("describePlatformError: what happened to which file, in words (no reason, module or method names)", () => {
    const enotdir = new SystemError({
      reason: "BadResource",
      module: "FileSystem",
      method: "open",
      pathOrDescriptor: "/x/y",
      description: "ENOTDIR: not a directory, open '/x/y'"
    })
    assert.strictEqual(LayoutError.describePlatformError(enotdir), "cannot open /x/y: not a directory")
    const denied = new SystemError({
      reason: "PermissionDenied",
      module: "FileSystem",
      method: "readFile",
      pathOrDescriptor: 7
    })
    assert.strictEqual(LayoutError.describePlatformError(denied, path), `cannot read ${path}: permission denied`)
    const io = LayoutError.fromPlatformError(path)(enotdir)
    assert.strictEqual(io.message, "cannot open /x/y: not a directory")
    expect(io.message).not.toMatch(/BadResource|FileSystem\.|ENOTDIR/)
  })
})

import { assert, describe, it } from "@effect/vitest"
import type { Digest } from "@ocidist/reference"
import * as Either from "effect/Either"
import { Location } from "../src/index.js"

const ok = (input: string) => {
  const r = Location.parse(input)
  if (Either.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

describe("Location", () => {
  it("parses registry references, bare or with docker://", () => {
    const a = ok("alpine")
    assert.strictEqual(a._tag, "Registry")
    assert.strictEqual(Location.format(a), "docker.io/library/alpine")
    const b = ok("docker://127.0.0.1:5000/team/app:1.0")
    assert.strictEqual(Location.format(b), "127.0.0.1:5000/team/app:1.0")
    assert.strictEqual(Location.tagOf(b), "1.0")
    const c = ok("localhost:5000/app@sha256:" + "a".repeat(64))
    assert.strictEqual(c._tag === "Registry" ? c.reference.digest : undefined, "sha256:" + "a".repeat(64))
  })

  it("parses oci layouts with tag or digest", () => {
    assert.deepStrictEqual(ok("oci:./out"), { _tag: "Layout", path: "./out" })
    assert.deepStrictEqual(ok("oci:/tmp/x:v1.2"), { _tag: "Layout", path: "/tmp/x", tag: "v1.2" })
    const digest = ("sha256:" + "b".repeat(64)) as Digest.Digest
    assert.deepStrictEqual(ok(`oci:/tmp/x@${digest}`.replace("x@", "x:@")), { _tag: "Layout", path: "/tmp/x", digest })
    assert.deepStrictEqual(ok(`oci:/tmp/x:${digest}`), { _tag: "Layout", path: "/tmp/x", digest })
  })

  it("parses archives", () => {
    assert.deepStrictEqual(ok("oci-archive:/tmp/a.tar"), { _tag: "OciArchive", path: "/tmp/a.tar" })
    assert.deepStrictEqual(ok("oci-archive:/tmp/a.tar:latest"), {
      _tag: "OciArchive",
      path: "/tmp/a.tar",
      tag: "latest"
    })
    const d = ok("docker-archive:/tmp/d.tar:busybox:1.36")
    assert.deepStrictEqual(d, { _tag: "DockerArchive", path: "/tmp/d.tar", tag: "busybox:1.36" })
    assert.strictEqual(Location.tagOf(d), "1.36")
  })

  it("round-trips through format", () => {
    for (const s of ["oci:/a/b:t", "oci-archive:/a.tar:x", "docker-archive:/d.tar:app:1", "ghcr.io/o/r:1"]) {
      assert.strictEqual(Location.format(ok(s)), s)
    }
  })

  it("rejects what it cannot use, saying why", () => {
    for (const bad of ["oci:", "oci:/x:bad tag", "oci:/x:@sha256:zz", "dir:/tmp/x", "docker-daemon:alpine", "Foo"]) {
      const r = Location.parse(bad)
      assert.isTrue(Either.isLeft(r), bad)
      if (Either.isLeft(r)) {
        assert.strictEqual(r.left._tag, "InvalidLocation")
        assert.include(r.left.message, bad)
      }
    }
  })
})

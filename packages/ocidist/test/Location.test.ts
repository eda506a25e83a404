import { assert, describe, it } from "@effect/vitest"
import type { Digest } from "@ocidist/reference"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import * as path from "node:path"
import { Location, Ocidist } from "../src/index.js"
import { ocidistFor } from "./helpers.js"

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

  it("parses oci:<dir>@<digest> as the digest reference (as documented), not as a path with an @", () => {
    const digest = ("sha256:" + "c".repeat(64)) as Digest.Digest
    assert.deepStrictEqual(ok(`oci:/tmp/x@${digest}`), { _tag: "Layout", path: "/tmp/x", digest })
    assert.deepStrictEqual(ok(`oci:./rel/dir@${digest}`), { _tag: "Layout", path: "./rel/dir", digest })
    assert.strictEqual(Location.format(ok(`oci:/tmp/x@${digest}`)), `oci:/tmp/x@${digest}`)
    // a path with an @ that is not before a digest stays a path
    assert.deepStrictEqual(ok("oci:/tmp/user@host:v1"), { _tag: "Layout", path: "/tmp/user@host", tag: "v1" })
    for (
      const [bad, why] of [
        [`oci:/tmp/x@sha256:${"c".repeat(10)}`, "is not a valid digest"],
        [`oci:/tmp/x:v1@${digest}`, "a tag or a digest, not both"],
        [`oci-archive:/tmp/a.tar@${digest}`, "oci-archive: selects an image by name only"]
      ] as const
    ) {
      const r = Location.parse(bad)
      assert.isTrue(Either.isLeft(r), bad)
      if (Either.isLeft(r)) assert.include(r.left.message, why)
    }
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

describe("bare paths on the local side of pull and push", () => {
  it.scopedLive(
    "a *.tar destination is an oci-archive; a source file is read as what it holds",
    () =>
      Effect.gen(function*() {
        const registry = yield* DockerRegistry.start()
        const dir = yield* Tools.tempDir()
        const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
          seed: "location/infer",
          layers: [{ size: 2048 }]
        })
        yield* Fixtures.writeLayout(path.join(dir, "layout"), [{ root: image, tag: "v1" }])
        const layer = ocidistFor(registry)
        const run = <A, E>(effect: Effect.Effect<A, E, Ocidist.Ocidist>) => Effect.provide(effect, layer)
        const pushed = yield* run(Ocidist.push(`oci:${path.join(dir, "layout")}:v1`, `${registry.host}/app:1`))

        // pull REF out.tar: one oci-archive file, not a directory named out.tar
        const archive = path.join(dir, "out.tar")
        const pulled = yield* run(Ocidist.pull(`${registry.host}/app:1`, archive))
        assert.strictEqual(pulled.destination, `oci-archive:${archive}`)
        assert.isTrue(fs.statSync(archive).isFile())
        assert.deepStrictEqual(yield* run(Ocidist.tags(`oci-archive:${archive}`)), ["1"])

        // push out.tar REF: read as the oci-archive it is
        const fromOci = yield* run(Ocidist.push(archive, `${registry.host}/from-oci:1`))
        assert.strictEqual(fromOci.source, `oci-archive:${archive}`)
        assert.strictEqual(fromOci.digest, pushed.digest)

        // a docker-archive is recognized by its manifest.json
        const docker = path.join(dir, "docker.tar")
        yield* run(Ocidist.copy(`${registry.host}/app:1`, `docker-archive:${docker}:app:1`))
        const fromDocker = yield* run(Ocidist.push(docker, `${registry.host}/from-docker:1`))
        assert.strictEqual(fromDocker.source, `docker-archive:${docker}`)

        // a directory stays a layout, even named *.tar
        const layoutDir = path.join(dir, "dir.tar")
        fs.mkdirSync(layoutDir)
        const intoDir = yield* run(Ocidist.pull(`${registry.host}/app:1`, layoutDir))
        assert.strictEqual(intoDir.destination, `oci:${layoutDir}`)
        assert.isTrue(fs.existsSync(path.join(layoutDir, "index.json")))

        // what cannot be inferred fails before any transfer, naming the prefixes
        const junk = path.join(dir, "junk.tar")
        fs.writeFileSync(junk, "not a tar at all\n")
        const notes = path.join(dir, "notes.txt")
        fs.writeFileSync(notes, "x")
        for (
          const [effect, expected] of [
            [
              Ocidist.push(junk, `${registry.host}/junk:1`),
              `name its format with oci-archive:${junk} or docker-archive:${junk}`
            ],
            [Ocidist.pull(`${registry.host}/app:1`, notes), `oci-archive:${notes} or docker-archive:${notes}`],
            [Ocidist.pull(`${registry.host}/app:1`, path.join(dir, "x.tar.gz")), "compressed archives are not written"],
            [Ocidist.push(path.join(dir, "missing.tar"), `${registry.host}/missing:1`), "missing.tar does not exist"]
          ] as const
        ) {
          const failed = yield* Effect.flip(run(effect))
          assert.strictEqual(failed._tag, "InvalidLocation")
          assert.include(failed.message, expected)
        }
        assert.isFalse(fs.existsSync(path.join(dir, "x.tar.gz")))
        assert.strictEqual(fs.readFileSync(notes, "utf8"), "x")
      }),
    60_000
  )
})

// Formats people have: compressed archives (gzip, zstd; by content, not name) read transparently; every image
// of a docker-archive addressable (`:@N`, `@<image ID>`); OCI layouts whose entries are named with full
// references (`localhost/app:1`, as podman and skopeo write) read, listed and copied by tag; and every name
// ocidist writes readable back by the same location. Against the Debian docker-registry, skopeo as oracle.
import { assert, describe, it } from "@effect/vitest"
import type { Digest } from "@ocidist/reference"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import * as path from "node:path"
import { Location, Ocidist } from "../src/index.js"
import * as NodeOcidist from "../src/NodeOcidist.js"

const ok = (result: Tools.RunResult, what: string) => {
  assert.strictEqual(result.exitCode, 0, `${what}: ${result.stderr}`)
  return result.stdout
}

/** The failure of `effect`; a success fails the test with a short message (not the whole value). */
const failure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(
    Effect.either(effect),
    (r) => Either.isLeft(r) ? Effect.succeed(r.left) : Effect.die(new Error("expected a failure, it succeeded"))
  )

const sh = (script: string) => Effect.map(Tools.run("sh", ["-c", script]), (r) => ok(r, script))

const filesUnder = (dir: string): Array<string> =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, encoding: "utf8" }) : []

const parsed = (input: string) => {
  const r = Location.parse(input)
  if (Either.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

const failsWith = (input: string, text: string) => {
  const r = Location.parse(input)
  assert.isTrue(Either.isLeft(r), input)
  if (Either.isLeft(r)) assert.include(r.left.message, text, input)
}

describe("archive and layout names", () => {
  it("parses docker-archive @N and image IDs, and full reference names of layouts and oci-archives", () => {
    const id = `sha256:${"a".repeat(64)}` as Digest.Digest
    assert.deepStrictEqual(parsed("docker-archive:/t/d.tar:@1"), { _tag: "DockerArchive", path: "/t/d.tar", index: 1 })
    assert.deepStrictEqual(parsed(`docker-archive:/t/d.tar@${id}`), {
      _tag: "DockerArchive",
      path: "/t/d.tar",
      digest: id
    })
    assert.deepStrictEqual(parsed(`docker-archive:/t/d.tar:@${id}`), {
      _tag: "DockerArchive",
      path: "/t/d.tar",
      digest: id
    })
    assert.deepStrictEqual(parsed(`docker-archive:/t/d.tar:${id}`), {
      _tag: "DockerArchive",
      path: "/t/d.tar",
      digest: id
    })
    assert.deepStrictEqual(parsed("oci:/t/l:localhost/app:1"), { _tag: "Layout", path: "/t/l", tag: "localhost/app:1" })
    assert.deepStrictEqual(parsed("oci:/t/l:localhost:5000/team/app:1.0"), {
      _tag: "Layout",
      path: "/t/l",
      tag: "localhost:5000/team/app:1.0"
    })
    assert.deepStrictEqual(parsed("oci-archive:/t/a.tar:docker.io/library/alpine:3.20"), {
      _tag: "OciArchive",
      path: "/t/a.tar",
      tag: "docker.io/library/alpine:3.20"
    })
    for (
      const s of [
        "docker-archive:/t/d.tar:@0",
        `docker-archive:/t/d.tar@${id}`,
        "oci:/t/l:localhost/app:1",
        "oci-archive:/t/a.tar:docker.io/library/alpine:3.20"
      ]
    ) assert.strictEqual(Location.format(parsed(s)), s)
    assert.strictEqual(Location.tagOf(parsed("oci:/t/l:localhost/app:1")), "1")
    assert.strictEqual(Location.tagOf(parsed("oci:/t/l:localhost/app")), "latest")
    assert.strictEqual(Location.tagOf(parsed("oci:/t/l:v1")), "v1")
    failsWith("docker-archive:/t/d.tar:@x", "neither @N")
    failsWith(`docker-archive:/t/d.tar:app:1@${id}`, "not several")
    failsWith("docker-archive:/t/d.tar:sha256:abc", "not a valid image ID")
    failsWith("oci:/t/l:bad tag", "not a valid tag or name")
    failsWith("oci:/t/l:a//b", "not a valid tag or name")
  })

  it.scopedLive("compressed oci-archive and docker-archive files are read as the tar they hold; never written", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const cache = path.join(dir, "cache")
      const layer = NodeOcidist.layer({ cacheDirectory: cache })
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(registry, "app", image, { tags: ["1"] })
      const run = <A, E>(effect: Effect.Effect<A, E, Ocidist.Ocidist>) => Effect.provide(effect, layer)

      const oci = path.join(dir, "oci.tar")
      yield* run(Ocidist.pull(`${registry.host}/app:1`, `oci-archive:${oci}:1`))
      yield* sh(`gzip -c "${oci}" > "${dir}/oci.tar.gz" && zstd -q "${oci}" -o "${dir}/oci.tar.zst"`)
      const docker = path.join(dir, "docker.tar")
      yield* run(Ocidist.pull(`${registry.host}/app:1`, `docker-archive:${docker}:app:1`))
      yield* sh(`gzip -c "${docker}" > "${dir}/docker.tgz" && zstd -q "${docker}" -o "${dir}/docker.tar.zst"`)
      const dockerDigest = (yield* run(Ocidist.resolve(`docker-archive:${docker}:app:1`))).digest
      // what the plain archive pushes (its uncompressed layers may be compressed on the way)
      const dockerPushed =
        (yield* run(Ocidist.push(`docker-archive:${docker}:app:1`, `${registry.host}/plain:1`))).digest

      const pushes: ReadonlyArray<readonly [string, string, string]> = [
        [`oci-archive:${dir}/oci.tar.gz:1`, image.manifestDigest, image.manifestDigest],
        [`oci-archive:${dir}/oci.tar.zst`, image.manifestDigest, image.manifestDigest],
        [`docker-archive:${dir}/docker.tgz:app:1`, dockerDigest, dockerPushed],
        [`docker-archive:${dir}/docker.tar.zst:@0`, dockerDigest, dockerPushed],
        // a bare path: the content says which archive, compressed or not
        [`${dir}/docker.tar.zst`, dockerDigest, dockerPushed]
      ]
      for (const [i, [from, source, digest]] of pushes.entries()) {
        const pushed = yield* run(Ocidist.push(from, `${registry.host}/copy${i}:1`))
        assert.strictEqual(pushed.images[0]!.sourceDigest, source, from)
        assert.strictEqual(pushed.digest, digest, from)
        const back = yield* run(Ocidist.resolve(`${registry.host}/copy${i}:1`))
        assert.strictEqual(back.digest, digest, from)
      }
      const inspected = yield* run(Ocidist.inspect(`oci-archive:${dir}/oci.tar.zst`))
      assert.strictEqual(inspected.digest, image.manifestDigest)
      assert.deepStrictEqual(filesUnder(path.join(cache, "staging")), [], "decompressed copies are removed")
      // skopeo reads the same files
      const raw = ok(yield* Tools.skopeo(["inspect", "--raw", `oci-archive:${dir}/oci.tar.gz:1`]), "skopeo oci.tar.gz")
      assert.strictEqual(raw, new TextDecoder().decode(image.manifest))
      // (skopeo 1.9.3 fails on gzip-compressed docker-archives: "loading tar component manifest.json: unexpected EOF")
      ok(yield* Tools.skopeo(["inspect", `docker-archive:${dir}/docker.tar.zst`]), "skopeo docker.tar.zst")

      // writing one is refused before anything moves, with or without a prefix
      for (const to of [`oci-archive:${dir}/new.tar.gz`, `docker-archive:${dir}/new.tar.zst`, `${dir}/new.tgz`]) {
        const e = yield* failure(run(Ocidist.pull(`${registry.host}/app:1`, to)))
        assert.strictEqual(e._tag, "InvalidLocation", to)
        assert.include(e.message, "compressed archives are", to)
      }
      assert.isFalse(fs.readdirSync(dir).some((f) => f.startsWith("new.")))
    }))

  it.scopedLive("every image of a docker-archive is addressable: :@N, @<image ID>, :@<image ID>", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const layer = NodeOcidist.layer({ cacheDirectory: path.join(dir, "cache") })
      const run = <A, E>(effect: Effect.Effect<A, E, Ocidist.Ocidist>) => Effect.provide(effect, layer)
      const one = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "names/one" })
      const two = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "names/two" })
      yield* Fixtures.pushRaw(registry, "multi", one, { tags: ["a"] })
      yield* Fixtures.pushRaw(registry, "multi", two, { tags: ["b"] })
      const archive = path.join(dir, "multi.tar")
      yield* run(Ocidist.copy(`${registry.host}/multi`, `docker-archive:${archive}`, { allTags: true }))

      const first = yield* run(Ocidist.resolve(`docker-archive:${archive}:@0`))
      const second = yield* run(Ocidist.resolve(`docker-archive:${archive}:@1`))
      assert.notStrictEqual(first.digest, second.digest)
      for (const form of [`@${two.configDigest}`, `:@${two.configDigest}`, `:${two.configDigest}`]) {
        const byId = yield* run(Ocidist.resolve(`docker-archive:${archive}${form}`))
        assert.strictEqual(byId.digest, second.digest, form)
      }
      const pushed = yield* run(Ocidist.push(`docker-archive:${archive}:@1`, `${registry.host}/second:1`))
      assert.strictEqual(pushed.images[0]!.sourceDigest, second.digest)
      const config = ok(
        yield* Tools.skopeo(["inspect", "--config", "--raw", `docker-archive:${archive}:@1`]),
        "skopeo @1"
      )
      assert.strictEqual(
        JSON.stringify(JSON.parse(config)),
        JSON.stringify(JSON.parse(new TextDecoder().decode(two.config)))
      )

      for (const missing of [`:@2`, `@sha256:${"0".repeat(64)}`]) {
        const e = yield* failure(run(Ocidist.resolve(`docker-archive:${archive}${missing}`)))
        assert.strictEqual(e._tag, "ImageNotFound", missing)
        assert.include(e.message, "the archive holds 2 images")
        assert.include(e.message, `(image ID ${one.configDigest})`)
      }
      const asDestination = yield* failure(
        run(Ocidist.pull(`${registry.host}/multi:a`, `docker-archive:${dir}/out.tar:@0`))
      )
      assert.strictEqual(asDestination._tag, "InvalidLocation")
      assert.include(asDestination.message, "select an image to read")
    }))

  it.scopedLive("layout entries named with full references: read, listed, copied by tag, clashes refused", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const layer = NodeOcidist.layer({ cacheDirectory: path.join(dir, "cache") })
      const run = <A, E>(effect: Effect.Effect<A, E, Ocidist.Ocidist>) => Effect.provide(effect, layer)
      const one = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "full/one" })
      const two = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "full/two" })
      yield* Fixtures.pushRaw(registry, "src", one, { tags: ["1"] })
      yield* Fixtures.pushRaw(registry, "src", two, { tags: ["2"] })
      const layout = path.join(dir, "layout")
      // skopeo writes the names podman and skopeo write
      const skopeoCopy = (from: string, to: string) =>
        Effect.map(
          Tools.skopeo([
            "--insecure-policy",
            "copy",
            "--src-tls-verify=false",
            `docker://${registry.host}/${from}`,
            to
          ]),
          (r) => ok(r, `skopeo copy ${from} ${to}`)
        )
      yield* skopeoCopy("src:1", `oci:${layout}:localhost/app:1`)
      yield* skopeoCopy("src:2", `oci:${layout}:docker.io/library/alpine:3.20`)

      const tags = yield* run(Ocidist.tags(`oci:${layout}`))
      assert.deepStrictEqual([...tags].sort(), ["docker.io/library/alpine:3.20", "localhost/app:1"])
      assert.strictEqual((yield* run(Ocidist.resolve(`oci:${layout}:localhost/app:1`))).digest, one.manifestDigest)
      assert.strictEqual(
        (yield* run(Ocidist.resolve(`oci:${layout}:docker.io/library/alpine:3.20`))).digest,
        two.manifestDigest
      )
      // a single image to a registry without a tag: the name's tag
      const single = yield* run(Ocidist.copy(`oci:${layout}:localhost/app:1`, `${registry.host}/single`))
      assert.deepStrictEqual(single.images.flatMap((i) => i.tags), ["1"])

      // --all-tags to a registry: each name to its tag
      const all = yield* run(Ocidist.copy(`oci:${layout}`, `${registry.host}/mapped`, { allTags: true }))
      assert.deepStrictEqual(all.images.flatMap((i) => i.tags).sort(), ["1", "3.20"])
      assert.strictEqual((yield* run(Ocidist.resolve(`${registry.host}/mapped:1`))).digest, one.manifestDigest)
      assert.strictEqual((yield* run(Ocidist.resolve(`${registry.host}/mapped:3.20`))).digest, two.manifestDigest)

      // two different images for one tag: refused, naming them, before anything is uploaded
      yield* skopeoCopy("src:2", `oci:${layout}:example.com/other:1`)
      const clash = yield* failure(run(Ocidist.copy(`oci:${layout}`, `${registry.host}/clash`, { allTags: true })))
      assert.strictEqual(clash._tag, "UnsupportedOperation")
      assert.include(clash.message, `"example.com/other:1", "localhost/app:1" → 1`)
      const catalog = JSON.parse(
        ok(yield* Tools.run("curl", ["-sf", `http://${registry.host}/v2/_catalog`]), "catalog")
      ) as { repositories: Array<string> }
      assert.notInclude(catalog.repositories, "clash")
      // the same image under two names is one tag
      yield* skopeoCopy("src:1", `oci:${layout}:example.com/other:1`)
      const merged = yield* run(Ocidist.copy(`oci:${layout}`, `${registry.host}/merged`, { allTags: true }))
      assert.deepStrictEqual(merged.images.flatMap((i) => i.tags).sort(), ["1", "3.20"])
    }))

  it.scopedLive("every name ocidist writes is read back by the same location (ocidist and skopeo)", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const layer = NodeOcidist.layer({ cacheDirectory: path.join(dir, "cache") })
      const run = <A, E>(effect: Effect.Effect<A, E, Ocidist.Ocidist>) => Effect.provide(effect, layer)
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "names/back" })
      yield* Fixtures.pushRaw(registry, "app", image, { tags: ["1", "2"] })
      const layout = path.join(dir, "layout")
      const archive = path.join(dir, "a.tar")
      for (const to of [`oci:${layout}:localhost/app:1`, `oci-archive:${archive}:docker.io/library/app:1`]) {
        yield* run(Ocidist.copy(`${registry.host}/app:1`, to))
        assert.strictEqual((yield* run(Ocidist.resolve(to))).digest, image.manifestDigest, to)
        const raw = ok(yield* Tools.skopeo(["inspect", "--raw", to]), `skopeo ${to}`)
        assert.strictEqual(raw, new TextDecoder().decode(image.manifest), to)
      }
      // a full name read from a layout is the RepoTags of a docker-archive written from it
      const named = path.join(dir, "named.tar")
      yield* run(Ocidist.copy(`oci:${layout}:localhost/app:1`, `docker-archive:${named}`))
      assert.deepStrictEqual(yield* run(Ocidist.tags(`docker-archive:${named}`)), ["localhost/app:1"])
      // --all-tags out of a docker-archive: its RepoTags (name:tag) become index entry names, readable back
      const docker = path.join(dir, "d.tar")
      yield* run(Ocidist.copy(`${registry.host}/app`, `docker-archive:${docker}`, { allTags: true }))
      const repoTags = yield* run(Ocidist.tags(`docker-archive:${docker}`))
      assert.deepStrictEqual([...repoTags].sort(), [`${registry.host}/app:1`, `${registry.host}/app:2`])
      const fromDocker = path.join(dir, "from-docker")
      yield* run(Ocidist.copy(`docker-archive:${docker}`, `oci:${fromDocker}`, { allTags: true }))
      for (const name of yield* run(Ocidist.tags(`oci:${fromDocker}`))) {
        yield* run(Ocidist.resolve(`oci:${fromDocker}:${name}`))
        ok(yield* Tools.skopeo(["inspect", "--raw", `oci:${fromDocker}:${name}`]), `skopeo ${name}`)
      }
      // and a docker-archive written from such names keeps them as RepoTags
      const again = path.join(dir, "again.tar")
      yield* run(Ocidist.copy(`oci:${fromDocker}`, `docker-archive:${again}`, { allTags: true }))
      assert.deepStrictEqual(
        [...(yield* run(Ocidist.tags(`docker-archive:${again}`)))].sort(),
        [`${registry.host}/app:1`, `${registry.host}/app:2`]
      )
    }))
})

/**
 * Storage of the embedded registry, seen through real clients: a directory registry keeps its content
 * (manifests, tags, referrers) across a restart; OCI layouts written by our layout package (through the
 * `ocidist` facade), by skopeo or by hand into `DIR/<name>` are served as repository `<name>` as they are;
 * aborted and failed uploads leave nothing behind; a `RegistryStorage` value can be shared.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as Layout from "@ocidist/layout/Layout"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import * as Ocidist from "ocidist/Ocidist"
import * as NodeRegistry from "../src/NodeRegistry.js"
import type * as Registry from "../src/Registry.js"
import * as RegistryStorage from "../src/RegistryStorage.js"
import { capture, client, digest, ocidist, pushImage, readAll, ref, skopeoOk } from "./support/harness.js"

class SourceBroke extends Data.TaggedError("SourceBroke")<{}> {}

const sha256 = (bytes: Uint8Array) => digest(`sha256:${createHash("sha256").update(bytes).digest("hex")}`)

const bytesOf = (size: number, seed: number) => {
  const out = new Uint8Array(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 22695477 + 1) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** Every file under a directory, relative to it. */
const filesUnder = (dir: string): ReadonlyArray<string> =>
  fs.existsSync(dir)
    ? (fs.readdirSync(dir, { recursive: true }) as Array<string>).filter((f) => fs.statSync(path.join(dir, f)).isFile())
      .sort()
    : []

/** Pulls `name:tag` with our client and checks every blob against the fixture image. */
const verifyPull = (registry: Registry.Running, name: string, tag: string, image: Fixtures.Image) =>
  Effect.gen(function*() {
    const rc = yield* client(registry)
    const got = yield* rc.manifests.get(ref(registry, `${name}:${tag}`))
    assert.strictEqual(got.digest, image.manifestDigest)
    assert.isTrue(Buffer.from(got.bytes).equals(Buffer.from(image.manifest)))
    const config = yield* readAll(
      rc.blobs.stream(ref(registry, name), digest(image.configDigest), { size: image.config.length })
    )
    assert.isTrue(config.equals(Buffer.from(image.config)))
    for (const layer of image.layers) {
      const bytes = yield* readAll(rc.blobs.stream(ref(registry, name), digest(layer.digest), { size: layer.size }))
      assert.isTrue(bytes.equals(fs.readFileSync(layer.path)), `${name} ${layer.digest}`)
    }
  })

describe("directory storage", () => {
  it.scopedLive("content survives a restart: manifests, tags, blobs, referrers, catalog", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-storage-")
      const storage = { directory: path.join(dir, "registry") }
      const fixture = path.join(dir, "fixture")
      const image = yield* Fixtures.smallImage(fixture, { seed: "registry/storage/restart" })
      const sbom = yield* Fixtures.makeArtifact(fixture, {
        subject: image.descriptor,
        artifactType: "application/vnd.example.sbom",
        payload: "sbom"
      })

      const first = yield* Scope.make()
      const before = yield* Scope.extend(NodeRegistry.start({ storage }), first)
      const rc = yield* client(before)
      yield* pushImage(rc, before, "keep/app", "v1", image)
      yield* rc.manifests.put(ref(before, "keep/app:stable"), { bytes: image.manifest, mediaType: image.mediaType })
      yield* pushImage(rc, before, "keep/app", "sbom", sbom)
      yield* Scope.close(first, Exit.void)

      const after = yield* NodeRegistry.start({ storage })
      assert.notStrictEqual(after.port, before.port)
      yield* verifyPull(after, "keep/app", "v1", image)
      yield* verifyPull(after, "keep/app", "stable", image)
      const again = yield* client(after)
      const tags = Chunk.toReadonlyArray(yield* Stream.runCollect(again.tags(ref(after, "keep/app"))))
      assert.deepStrictEqual(tags, ["sbom", "stable", "v1"])
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(again.catalog(after.host))), ["keep/app"])
      const referrers = yield* again.referrers(ref(after, `keep/app@${image.manifestDigest}`))
      assert.strictEqual(referrers.source, "api")
      assert.deepStrictEqual(referrers.manifests.map((d) => d.digest), [sbom.manifestDigest])

      // what is on disk is a valid OCI layout
      const report = yield* Effect.flatMap(Layout.open(path.join(dir, "registry", "keep", "app")), (l) => l.verify())
        .pipe(
          Effect.provide(NodeContext.layer)
        )
      assert.isTrue(report.ok, JSON.stringify(report.problems))
    }))

  it.scopedLive("layouts written by the ocidist facade, by skopeo and by hand into DIR/<name> are served as <name>", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-storage-")
      const root = path.join(dir, "registry")
      const fixture = path.join(dir, "fixture")
      const source = path.join(dir, "source")
      const ours = yield* Fixtures.smallImage(fixture, { seed: "registry/storage/ours" })
      const theirs = yield* Fixtures.smallImage(fixture, { seed: "registry/storage/skopeo" })
      const handmade = yield* Fixtures.smallImage(fixture, { seed: "registry/storage/handmade" })
      yield* Fixtures.writeLayout(source, [{ tag: "ours", root: ours }, { tag: "theirs", root: theirs }])

      // our layout package, through the facade (a layout-to-layout copy needs no registry)
      const facade = yield* NodeRegistry.start()
      yield* Ocidist.copy(`oci:${source}:ours`, `oci:${path.join(root, "library", "ours")}:1.0`).pipe(
        Effect.provide(ocidist(facade, path.join(dir, "cache")))
      )
      // skopeo (which wants the parent directory to exist)
      fs.mkdirSync(path.join(root, "skopeo"), { recursive: true })
      yield* skopeoOk([
        "copy",
        "-q",
        "--preserve-digests",
        `oci:${source}:theirs`,
        `oci:${path.join(root, "skopeo", "theirs")}:2.0`
      ])
      // by hand
      yield* Fixtures.writeLayout(path.join(root, "handmade"), [{ tag: "3.0", root: handmade }])

      const registry = yield* NodeRegistry.start({ storage: { directory: root } })
      yield* verifyPull(registry, "library/ours", "1.0", ours)
      yield* verifyPull(registry, "skopeo/theirs", "2.0", theirs)
      yield* verifyPull(registry, "handmade", "3.0", handmade)
      const rc = yield* client(registry)
      assert.deepStrictEqual(
        Chunk.toReadonlyArray(yield* Stream.runCollect(rc.catalog(registry.host))),
        ["handmade", "library/ours", "skopeo/theirs"]
      )
      const raw = yield* skopeoOk([
        "inspect",
        "--raw",
        "--tls-verify=false",
        `docker://${registry.host}/skopeo/theirs:2.0`
      ])
      assert.isTrue(Buffer.from(raw.stdout).equals(Buffer.from(theirs.manifest)))
      const out = path.join(dir, "out")
      yield* skopeoOk([
        "copy",
        "-q",
        "--src-tls-verify=false",
        `docker://${registry.host}/library/ours:1.0`,
        `oci:${out}:x`
      ])
      assert.strictEqual(
        (JSON.parse(fs.readFileSync(path.join(out, "index.json"), "utf8")) as { manifests: Array<{ digest: string }> })
          .manifests[0]!.digest,
        ours.manifestDigest
      )

      // a push into a served layout adds to it, readable by the layout package
      yield* rc.manifests.put(ref(registry, "handmade:3.1"), {
        bytes: handmade.manifest,
        mediaType: handmade.mediaType
      })
      const tags = yield* Effect.flatMap(Layout.open(path.join(root, "handmade")), (l) => l.tags).pipe(
        Effect.provide(NodeContext.layer)
      )
      assert.deepStrictEqual([...tags].sort(), ["3.0", "3.1"])
    }))

  it.scopedLive("aborted and failed uploads leave nothing under the repository's blobs, nor in .uploads; a cut body resumes", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-storage-")
      const root = path.join(dir, "registry")
      const logs = capture()
      const registry = yield* logs.provide(NodeRegistry.start({ storage: { directory: root } }))
      const repoBlobs = path.join(root, "half", "done", "blobs")
      const uploads = path.join(root, ".uploads")
      const bytes = bytesOf(100_000, 17)
      // the repository exists, with one blob
      const rc = yield* client(registry)
      const kept = bytesOf(1_000, 19)
      yield* rc.blobs.upload(ref(registry, "half/done"), {
        stream: Stream.make(kept),
        digest: sha256(kept),
        size: kept.length
      })
      const keptFiles = [path.join("sha256", sha256(kept).slice(7))]
      assert.deepStrictEqual(filesUnder(repoBlobs), keptFiles)

      // raw: a chunk in, then the session is cancelled
      const started = yield* Tools.request(`${registry.url}/v2/half/done/blobs/uploads/`, { method: "POST" })
      assert.strictEqual(started.status, 202)
      const location = started.header("location")!
      const patched = yield* Tools.request(`${registry.url}${location}`, {
        method: "PATCH",
        headers: { "content-type": "application/octet-stream", "content-range": "0-39999" },
        body: bytes.subarray(0, 40_000)
      })
      assert.strictEqual(patched.status, 202)
      assert.strictEqual(patched.header("range"), "0-39999")
      assert.strictEqual(filesUnder(uploads).length, 1, "the session's bytes are spooled")
      const cancelled = yield* Tools.request(`${registry.url}${location}`, { method: "DELETE" })
      assert.strictEqual(cancelled.status, 204)
      assert.deepStrictEqual(filesUnder(uploads), [])
      assert.strictEqual((yield* Tools.request(`${registry.url}${location}`)).status, 404, "the session is gone")

      // our client: a chunked upload whose source fails half-way is cancelled
      const broken = Stream.concat(Stream.make(bytes.subarray(0, 40_000)), Stream.fail(new SourceBroke()))
      const failed = yield* Effect.flip(
        rc.blobs.upload(ref(registry, "half/done"), { stream: broken }, { strategy: "chunked", chunkSize: 16 * 1024 })
      )
      assert.isDefined(failed)
      const requests = logs.requests()
      assert.isTrue(requests.some((r) => r.annotations["method"] === "PATCH" && r.annotations["status"] === "202"))
      assert.isTrue(
        requests.filter((r) => r.annotations["method"] === "DELETE").length >= 2,
        "the client cancelled its session"
      )

      // a body cut off mid-request: the session keeps what was stored, and the upload resumes from its Range
      const session = yield* Tools.request(`${registry.url}/v2/half/done/blobs/uploads/`, { method: "POST" })
      const sessionUrl = `${registry.url}${session.header("location")}`
      yield* Effect.async<void>((resume) => {
        const req = http.request(sessionUrl, {
          method: "PATCH",
          headers: { "content-length": "100000", "content-type": "application/octet-stream" }
        })
        req.on("error", () => resume(Effect.void))
        req.write(bytes.subarray(0, 30_000), () => setTimeout(() => req.destroy(), 100))
        req.on("close", () => resume(Effect.void))
      })
      yield* Effect.sleep("200 millis")
      const status = yield* Tools.request(sessionUrl)
      assert.strictEqual(status.status, 204)
      const stored = Number(/^0-(\d+)$/.exec(status.header("range") ?? "")![1]) + 1
      assert.isAtMost(stored, 30_000)
      assert.isAtLeast(stored, 1)
      const rest = yield* Tools.request(sessionUrl, {
        method: "PATCH",
        headers: { "content-type": "application/octet-stream", "content-range": `${stored}-99999` },
        body: bytes.subarray(stored)
      })
      assert.strictEqual(rest.status, 202)
      assert.strictEqual(rest.header("range"), "0-99999")
      const resumed = yield* Tools.request(`${sessionUrl}?digest=${sha256(bytes)}`, { method: "PUT" })
      assert.strictEqual(resumed.status, 201, resumed.text)
      const resumedFiles = [...keptFiles, path.join("sha256", sha256(bytes).slice(7))].sort()
      assert.deepStrictEqual(filesUnder(repoBlobs), resumedFiles)
      const served = yield* readAll(rc.blobs.stream(ref(registry, "half/done"), sha256(bytes), { size: bytes.length }))
      assert.isTrue(served.equals(Buffer.from(bytes)))

      // a complete upload whose digest is wrong
      const wrong = yield* Tools.request(`${registry.url}/v2/half/done/blobs/uploads/?digest=${sha256(bytes)}`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: bytes.subarray(0, 99_999)
      })
      assert.strictEqual(wrong.status, 400)
      assert.strictEqual(
        (JSON.parse(wrong.text) as { errors: Array<{ code: string }> }).errors[0]!.code,
        "DIGEST_INVALID"
      )

      assert.deepStrictEqual(filesUnder(uploads), [])
      assert.deepStrictEqual(filesUnder(repoBlobs), resumedFiles, "no other blob of the repository was written")
      assert.deepStrictEqual(filesUnder(path.join(root, "half", "done", "ingest")), [])
      assert.isFalse(yield* rc.blobs.exists(ref(registry, "half/done"), sha256(bytes.subarray(0, 99_999))))
      assert.isFalse(yield* rc.blobs.exists(ref(registry, "half/done"), sha256(bytes.subarray(0, 40_000))))
    }))

  it.scopedLive("a mount between repositories is a hard link, and blobs are served from their files with Range", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-link-")
      const registry = yield* NodeRegistry.start({ storage: { directory: path.join(dir, "registry") } })
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "registry/storage/link" })
      yield* pushImage(yield* client(registry), registry, "team/a", "v1", image)
      const layer = image.layers[0]!
      const mounted = yield* Effect.promise(() =>
        fetch(`${registry.url}/v2/team/b/blobs/uploads/?mount=${layer.digest}&from=team/a`, { method: "POST" })
      )
      assert.strictEqual(mounted.status, 201)
      const file = (repo: string) => path.join(dir, "registry", repo, "blobs", "sha256", layer.digest.slice(7))
      assert.strictEqual(fs.statSync(file("team/b")).ino, fs.statSync(file("team/a")).ino)
      assert.strictEqual(fs.statSync(file("team/b")).nlink, 2)
      // a file body (the Node fast path), whole and in ranges
      const whole = yield* Effect.promise(() => fetch(`${registry.url}/v2/team/b/blobs/${layer.digest}`))
      assert.strictEqual(whole.status, 200)
      assert.strictEqual(whole.headers.get("content-length"), String(layer.size))
      const bytes = new Uint8Array(yield* Effect.promise(() => whole.arrayBuffer()))
      assert.strictEqual(sha256(bytes), layer.digest)
      const part = yield* Effect.promise(() =>
        fetch(`${registry.url}/v2/team/b/blobs/${layer.digest}`, { headers: { range: "bytes=5-14" } })
      )
      assert.strictEqual(part.status, 206)
      assert.strictEqual(part.headers.get("content-range"), `bytes 5-14/${layer.size}`)
      assert.deepStrictEqual(new Uint8Array(yield* Effect.promise(() => part.arrayBuffer())), bytes.subarray(5, 15))
      // deleting the blob in one repository leaves the other's
      const deleted = yield* Effect.promise(() =>
        fetch(`${registry.url}/v2/team/a/blobs/${layer.digest}`, { method: "DELETE" })
      )
      assert.strictEqual(deleted.status, 202)
      assert.isFalse(fs.existsSync(file("team/a")))
      assert.strictEqual(fs.statSync(file("team/b")).nlink, 1)
    }))

  it.scopedLive("a restart forgets upload sessions and removes their spooled bytes", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-storage-")
      const storage = { directory: path.join(dir, "registry") }
      const first = yield* Scope.make()
      const before = yield* Scope.extend(NodeRegistry.start({ storage }), first)
      const started = yield* Tools.request(`${before.url}/v2/spool/me/blobs/uploads/`, { method: "POST" })
      const location = started.header("location")!
      yield* Tools.request(`${before.url}${location}`, { method: "PATCH", body: bytesOf(10_000, 3) })
      assert.strictEqual(filesUnder(path.join(dir, "registry", ".uploads")).length, 1)
      yield* Scope.close(first, Exit.void)

      const after = yield* NodeRegistry.start({ storage })
      assert.deepStrictEqual(filesUnder(path.join(dir, "registry", ".uploads")), [])
      const status = yield* Tools.request(`${after.url}${location}`)
      assert.strictEqual(status.status, 404)
      assert.strictEqual(
        (JSON.parse(status.text) as { errors: Array<{ code: string }> }).errors[0]!.code,
        "BLOB_UPLOAD_UNKNOWN"
      )
    }))
})

describe("storage values", () => {
  it.scopedLive("a RegistryStorage value is shared by two registries", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-storage-")
      const storage = yield* RegistryStorage.memory()
      const one = yield* NodeRegistry.start({ storage })
      const two = yield* NodeRegistry.start({ storage })
      assert.strictEqual(one.storage, "memory")
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "registry/storage/shared" })
      yield* pushImage(yield* client(one), one, "shared/app", "v1", image)
      yield* verifyPull(two, "shared/app", "v1", image)
    }))
})

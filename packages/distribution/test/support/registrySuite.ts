/**
 * Integration suites against the Debian docker-registry, one test file per mode so they run in parallel.
 */
import { assert, layer } from "@effect/vitest"
import * as Credentials from "@ocidist/auth/Credentials"
import { Digest, Reference } from "@ocidist/reference"
import * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as MemoryStore from "@ocidist/spec/MemoryStore"
import * as Storage from "@ocidist/spec/Storage"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Repository from "../../src/Repository.js"
import { digestOf, type Env, fileStream, generated, layer as envLayer, TestEnv } from "./env.js"
import { client, credentials, type Http } from "./server.js"

class SourceFailed extends Data.TaggedError("SourceFailed")<{ readonly why: string }> {}

const digest = (s: string) => Either.getOrThrow(Digest.parse(s))

const pushImage = (env: Env, repo: string, tag: string, image: Fixtures.Image) =>
  Effect.gen(function*() {
    const r = env.ref(repo)
    for (const l of image.layers) {
      yield* env.client.blobs.upload(r, { stream: fileStream(l.path), digest: digest(l.digest), size: l.size })
    }
    yield* env.client.blobs.upload(r, {
      stream: Stream.make(image.config),
      digest: digest(image.configDigest),
      size: image.config.length
    })
    return yield* env.client.manifests.put(env.ref(`${repo}:${tag}`), {
      bytes: image.manifest,
      mediaType: image.mediaType
    })
  })

const readAll = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat([...chunks]))

export const modeSuite = (mode: "anon" | "basic" | "token", http: Http = "undici") => {
  layer(envLayer(mode, {}, http), { timeout: 120_000, excludeTestServices: true })(
    `docker-registry (${mode}, ${http})`,
    (it) => {
      it.effect("ping reports the API version and the auth scheme", () =>
        Effect.gen(function*() {
          const env = yield* TestEnv
          const ping = yield* env.client.ping(env.registry.host)
          assert.strictEqual(ping.apiVersion, "registry/2.0")
          assert.strictEqual(ping.status, mode === "anon" ? 200 : 401)
          assert.strictEqual(ping.scheme, mode === "anon" ? undefined : mode === "basic" ? "Basic" : "Bearer")
        }))

      it.effect("round-trips an image we push: manifests, blobs, tags; skopeo reads it", () =>
        Effect.gen(function*() {
          const env = yield* TestEnv
          const image = yield* Fixtures.smallImage(path.join(env.dir, "small"))
          const pushed = yield* pushImage(env, "ours/small", "v1", image)
          assert.strictEqual(pushed.digest, image.manifestDigest)
          assert.strictEqual(pushed.referrers, "none")

          const head = yield* env.client.manifests.head(env.ref("ours/small:v1"))
          assert.deepStrictEqual([head.digest, head.size, head.mediaType], [
            image.manifestDigest,
            image.manifest.length,
            MediaType.OCI_MANIFEST
          ])
          const got = yield* env.client.manifests.get(env.ref(`ours/small@${image.manifestDigest}`))
          assert.deepStrictEqual(Buffer.from(got.bytes), Buffer.from(image.manifest))
          assert.strictEqual(got.manifest._tag, "ImageManifest")

          for (const l of image.layers) {
            const d = digest(l.digest)
            const h = yield* env.client.blobs.head(env.ref("ours/small"), d)
            assert.strictEqual(h.size, l.size)
            const bytes = yield* readAll(env.client.blobs.stream(env.ref("ours/small"), d, { size: l.size }))
            assert.isTrue(bytes.equals(fs.readFileSync(l.path)))
          }
          assert.isFalse(yield* env.client.blobs.exists(env.ref("ours/small"), digest(`sha256:${"0".repeat(64)}`)))

          const tags = yield* Stream.runCollect(env.client.tags(env.ref("ours/small")))
          assert.deepStrictEqual(Chunk.toReadonlyArray(tags), ["v1"])

          const raw = yield* Tools.skopeo([
            "inspect",
            "--raw",
            "--tls-verify=false",
            ...env.credsArgs,
            `docker://${env.registry.host}/ours/small:v1`
          ])
          assert.strictEqual(raw.exitCode, 0, raw.stderr)
          assert.strictEqual(raw.stdout, Buffer.from(image.manifest).toString())
          const layoutDir = path.join(env.dir, "skopeo-copy")
          const copy = yield* Tools.skopeo([
            "copy",
            "-q",
            "--src-tls-verify=false",
            ...(env.credsArgs.length === 0 ? [] : ["--src-creds", env.credsArgs[1]!]),
            `docker://${env.registry.host}/ours/small:v1`,
            `oci:${layoutDir}:copied`
          ])
          assert.strictEqual(copy.exitCode, 0, copy.stderr)
          const index = JSON.parse(fs.readFileSync(path.join(layoutDir, "index.json"), "utf8")) as {
            manifests: Array<{ digest: string }>
          }
          assert.strictEqual(index.manifests[0]!.digest, image.manifestDigest)
        }))

      it.effect("reads what skopeo pushed (OCI index and Docker manifest list), digests verified", () =>
        Effect.gen(function*() {
          const env = yield* TestEnv
          for (const format of ["oci", "docker"] as const) {
            const dir = path.join(env.dir, `multi-${format}`)
            const index = yield* Fixtures.multiPlatformIndex(dir, { format })
            if (format === "oci") {
              yield* Fixtures.writeLayout(dir, [{ root: index, tag: "multi" }])
              yield* Fixtures.push(env.registry, `theirs/multi-${format}:latest`, dir, "multi")
            } else {
              // skopeo does not read a Docker manifest list out of an OCI layout: push it over plain HTTP
              yield* Fixtures.pushRaw(env.registry, `theirs/multi-${format}`, index, { tags: ["latest"] })
            }
            const top = yield* env.client.manifests.get(env.ref(`theirs/multi-${format}:latest`))
            assert.strictEqual(top.digest, index.digest)
            assert.strictEqual(top.mediaType, format === "oci" ? MediaType.OCI_INDEX : MediaType.DOCKER_MANIFEST_LIST)
            assert.strictEqual(top.manifest._tag, "ImageIndex")
            if (top.manifest._tag !== "ImageIndex") return
            for (const child of top.manifest.manifest.manifests) {
              const m = yield* env.client.manifests.get(
                Reference.withDigest(env.ref(`theirs/multi-${format}`), child.digest)
              )
              assert.strictEqual(m.manifest._tag, "ImageManifest")
              if (m.manifest._tag !== "ImageManifest") continue
              for (const d of [m.manifest.manifest.config, ...m.manifest.manifest.layers]) {
                const blob = env.client.blobs.stream(env.ref(`theirs/multi-${format}`), d.digest, { size: d.size })
                const total = yield* Stream.runFold(blob, 0, (n, c) => n + c.length)
                assert.strictEqual(total, d.size)
              }
            }
          }
        }))

      it.effect("reads a Docker schema 2 image that skopeo converted and pushed", () =>
        Effect.gen(function*() {
          const env = yield* TestEnv
          const dir = path.join(env.dir, "v2s2")
          const image = yield* Fixtures.smallImage(dir, { seed: `v2s2-${mode}` })
          yield* Fixtures.writeLayout(dir, [{ root: image, tag: "small" }])
          yield* Fixtures.push(env.registry, "theirs/v2s2:latest", dir, "small", { format: "v2s2" })
          const got = yield* env.client.manifests.get(env.ref("theirs/v2s2:latest"))
          assert.strictEqual(got.mediaType, MediaType.DOCKER_MANIFEST)
          assert.strictEqual(got.manifest._tag, "ImageManifest")
          if (got.manifest._tag !== "ImageManifest") return
          assert.strictEqual(got.manifest.manifest.config.mediaType, MediaType.DOCKER_CONFIG)
          for (const d of [got.manifest.manifest.config, ...got.manifest.manifest.layers]) {
            // blobs.get in a scope: the response and its permit are released when the scope closes
            const total = yield* Effect.scoped(Effect.flatMap(
              env.client.blobs.get(env.ref("theirs/v2s2"), d.digest, { size: d.size }),
              (blob) => Stream.runFold(blob.stream, 0, (n, c) => n + c.length)
            ))
            assert.strictEqual(total, d.size)
          }
        }))

      it.effect("mounts a blob between repositories (201), and uploads when the registry declines (202)", () =>
        Effect.gen(function*() {
          const env = yield* TestEnv
          const content = new TextEncoder().encode(`mount me ${mode}`)
          const d = Digest.ofBytes(content)
          yield* env.client.blobs.upload(env.ref("mount/source"), {
            stream: Stream.make(content),
            digest: d,
            size: content.length
          })
          const mounted = yield* env.client.blobs.mount(env.ref("mount/target"), d, env.ref("mount/source"))
          assert.deepStrictEqual(mounted, { digest: d, size: content.length, mounted: true, uploaded: false })
          assert.isTrue(yield* env.client.blobs.exists(env.ref("mount/target"), d))

          const other = new TextEncoder().encode(`not in the source ${mode}`)
          const od = Digest.ofBytes(other)
          const declined = yield* env.client.blobs.mount(env.ref("mount/target2"), od, env.ref("mount/source"))
          assert.isFalse(declined.mounted)
          assert.isFalse(declined.uploaded)
          const uploaded = yield* env.client.blobs.mount(env.ref("mount/target2"), od, env.ref("mount/source"), {
            stream: Stream.make(other),
            size: other.length
          })
          assert.deepStrictEqual(uploaded, { digest: od, size: other.length, mounted: false, uploaded: true })
          assert.isTrue(yield* env.client.blobs.exists(env.ref("mount/target2"), od))
        }))

      it.effect("deletes manifests (by digest) and blobs", () =>
        Effect.gen(function*() {
          const env = yield* TestEnv
          const image = yield* Fixtures.smallImage(path.join(env.dir, "del"), { seed: `delete-${mode}` })
          yield* pushImage(env, "del/app", "v1", image)
          yield* env.client.manifests.delete(env.ref(`del/app@${image.manifestDigest}`))
          const gone = yield* Effect.flip(env.client.manifests.get(env.ref(`del/app@${image.manifestDigest}`)))
          assert.strictEqual(gone._tag, "NotFound")
          const byTag = yield* Effect.flip(env.client.manifests.delete(env.ref("del/app:v1")))
          assert.include(["RegistryResponseError", "NotFound"], byTag._tag)
          const layer0 = digest(image.layers[0]!.digest)
          yield* env.client.blobs.delete(env.ref("del/app"), layer0)
          const blobGone = yield* Effect.flip(env.client.blobs.head(env.ref("del/app"), layer0))
          assert.strictEqual(blobGone._tag, "NotFound")
        }))

      it.effect("pushes an artifact with a subject: the referrers fallback index is maintained and read", () =>
        Effect.gen(function*() {
          const env = yield* TestEnv
          const image = yield* Fixtures.smallImage(path.join(env.dir, "ref"), { seed: `referrers-${mode}` })
          yield* pushImage(env, "ref/app", "v1", image)
          const empty = new TextEncoder().encode("{}")
          yield* env.client.blobs.upload(env.ref("ref/app"), {
            stream: Stream.make(empty),
            digest: Digest.ofBytes(empty),
            size: 2
          })
          const sbom = new TextEncoder().encode(JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.OCI_MANIFEST,
            artifactType: "application/spdx+json",
            config: { mediaType: MediaType.OCI_EMPTY, digest: Digest.ofBytes(empty), size: 2 },
            layers: [],
            subject: { mediaType: image.mediaType, digest: image.manifestDigest, size: image.manifest.length }
          }))
          const put = yield* env.client.manifests.put(Reference.withDigest(env.ref("ref/app"), Digest.ofBytes(sbom)), {
            bytes: sbom,
            mediaType: MediaType.OCI_MANIFEST
          })
          assert.strictEqual(put.referrers, "fallback")
          const list = yield* env.client.referrers(env.ref(`ref/app@${image.manifestDigest}`))
          assert.strictEqual(list.source, "fallback")
          assert.deepStrictEqual(list.manifests.map((m) => [m.digest, m.artifactType]), [[
            Digest.ofBytes(sbom),
            "application/spdx+json"
          ]])
        }))

      it.effect("lists the catalog across pages (Link)", () =>
        Effect.gen(function*() {
          const env = yield* TestEnv
          const content = new TextEncoder().encode("catalog")
          const d = Digest.ofBytes(content)
          const image = new TextEncoder().encode(JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.OCI_MANIFEST,
            config: { mediaType: MediaType.OCI_CONFIG, digest: d, size: content.length },
            layers: []
          }))
          for (let i = 0; i < 5; i++) {
            yield* env.client.blobs.upload(env.ref(`cat/r${i}`), {
              stream: Stream.make(content),
              digest: d,
              size: content.length
            })
            yield* env.client.manifests.put(env.ref(`cat/r${i}:v`), { bytes: image, mediaType: MediaType.OCI_MANIFEST })
          }
          const all = Chunk.toReadonlyArray(
            yield* Stream.runCollect(env.client.catalog(env.registry.host, { pageSize: 2 }))
          )
          for (let i = 0; i < 5; i++) assert.include(all, `cat/r${i}`)
          assert.deepStrictEqual([...all].sort(), [...new Set(all)].sort())
          const count = yield* env.registry.countRequests({ method: "GET", path: /\/v2\/_catalog/, status: 200 })
          assert.isAtLeast(count, 3)
        }))

      it.effect("Repository: an image copied registry → memory → registry by hand through Storage; skopeo reads it", () =>
        Effect.gen(function*() {
          const env = yield* TestEnv
          const image = yield* Fixtures.smallImage(path.join(env.dir, "repository"), { seed: `repository-${mode}` })
          yield* pushImage(env, "store/src", "v1", image)
          const source = Repository.make(env.client, env.ref("store/src:v1"))
          assert.strictEqual(source.name, `${env.registry.host}/store/src:v1`)
          assert.deepStrictEqual(source.location, { registry: env.registry.host, repository: "store/src" })
          assert.isTrue(source.verifiesBlobs)

          // resolve: the reference's own tag, another tag, a digest
          const root = yield* source.resolve("")
          assert.deepStrictEqual(root, {
            mediaType: image.mediaType,
            digest: digest(image.manifestDigest),
            size: image.manifest.length
          })
          assert.deepStrictEqual(yield* source.resolve("v1"), root)
          assert.deepStrictEqual(yield* source.resolve(image.manifestDigest), root)
          assert.strictEqual((yield* Effect.flip(source.resolve("nope")))._tag, "NotFound")
          assert.strictEqual((yield* source.fetchReference("v1")).digest, root.digest)
          const wrongSize = yield* Effect.flip(source.fetchManifest({ ...root, size: root.size + 1 }))
          assert.strictEqual(wrongSize._tag, "SizeMismatch")

          // registry → memory
          const memory = yield* MemoryStore.make()
          const manifest = yield* source.fetchManifest(root)
          assert.deepStrictEqual(Buffer.from(manifest.bytes), Buffer.from(image.manifest))
          for (const child of Manifest.children(manifest)) {
            assert.isTrue(yield* source.exists(child))
            yield* memory.pushBlob(child, {
              open: (offset) => source.fetchBlob(child, { offset }),
              verified: source.verifiesBlobs
            })
          }
          assert.isTrue(yield* source.exists(root))
          yield* memory.pushManifest(manifest, { tags: ["v1"], root: true })
          assert.deepStrictEqual((yield* memory.resolve("v1")).digest, root.digest)

          // memory → registry
          const target = Repository.make(env.client, env.ref("store/dst:copied"))
          const copied = yield* memory.fetchManifest(yield* memory.resolve("v1"))
          for (const child of Manifest.children(copied)) {
            assert.isFalse(yield* target.exists(child))
            yield* target.pushBlob(child, { open: (offset) => memory.fetchBlob(child, { offset }), verified: false })
            assert.isTrue(yield* target.exists(child))
          }
          assert.isFalse(yield* target.exists(root))
          yield* target.pushManifest(copied, { tags: ["copied"] })
          assert.deepStrictEqual(yield* target.resolve(""), root)
          assert.isTrue(yield* target.exists(root))
          yield* target.tag(root, "again")
          assert.deepStrictEqual([...(yield* target.tags)].sort(), ["again", "copied"])
          const raw = yield* Tools.skopeo([
            "inspect",
            "--raw",
            "--tls-verify=false",
            ...env.credsArgs,
            `docker://${env.registry.host}/store/dst:again`
          ])
          assert.strictEqual(raw.exitCode, 0, raw.stderr)
          assert.strictEqual(Digest.ofBytes(raw.stdout), root.digest)

          // by digest when there are no tags; a referrer is listed through the fallback index
          const empty = Descriptor.empty
          yield* target.pushBlob(empty, Storage.fromBytes(Descriptor.EMPTY_JSON))
          const sbom = Either.getOrThrow(Manifest.decode(Manifest.encode({
            schemaVersion: 2,
            mediaType: MediaType.OCI_MANIFEST,
            artifactType: "application/spdx+json",
            config: { mediaType: empty.mediaType, digest: empty.digest, size: empty.size },
            layers: [],
            subject: root
          })))
          yield* target.pushManifest(sbom)
          assert.isTrue(yield* target.exists(Manifest.descriptorOf(sbom)))
          const referrers = yield* target.referrers(root, { artifactType: "application/spdx+json" })
          assert.deepStrictEqual(referrers.map((d) => d.digest), [sbom.digest])
          assert.deepStrictEqual(yield* target.referrers(root, { artifactType: "x/none" }), [])

          // a mount from the source repository; a failing content stream is reported as itself
          const layer0 = Manifest.children(manifest)[1]!
          const mounted = Repository.make(env.client, env.ref("store/mounted"))
          assert.isTrue(yield* mounted.mount(layer0, source.location))
          assert.isTrue(yield* mounted.exists(layer0))
          const failed = yield* Effect.flip(
            mounted.pushBlob(root, Storage.fromStream(Stream.fail(new SourceFailed({ why: "disk on fire" }))))
          )
          assert.strictEqual(failed._tag, "SourceFailed")
        }))

      if (mode !== "anon") {
        it.effect("reports bad credentials as Unauthorized and read-only users pushing as Denied", () =>
          Effect.gen(function*() {
            const env = yield* TestEnv
            const wrong = yield* client(
              {},
              credentials({ [env.registry.host]: Credentials.basic("testuser", "wrong") }),
              env.http
            )
            const unauthorized = yield* Effect.flip(wrong.manifests.get(env.ref("ours/small:v1")))
            assert.strictEqual(unauthorized._tag, "Unauthorized")
            assert.notInclude(JSON.stringify(unauthorized), "wrong")
            // htpasswd has no per-user permissions in distribution: only the token server can deny a push
            if (mode === "token") {
              const reader = env.registry.users.find((u) => u.readOnly === true)!
              const ro = yield* client(
                {},
                credentials({ [env.registry.host]: Credentials.basic(reader.username, reader.password) }),
                env.http
              )
              const content = new TextEncoder().encode("denied")
              const denied = yield* Effect.flip(
                ro.blobs.upload(env.ref("ro/app"), {
                  stream: Stream.make(content),
                  digest: Digest.ofBytes(content),
                  size: 6
                })
              )
              assert.strictEqual(denied._tag, "Denied")
              assert.include(denied.message, "ro/app")
            }
          }).pipe(Effect.scoped))
      }
    }
  )
}

export const largeSuite = () =>
  layer(envLayer("anon"), { timeout: 120_000, excludeTestServices: true })(
    "docker-registry large blobs and many tags",
    (it) => {
      const SIZE = 64 * 1024 * 1024

      it.effect("uploads a 64 MiB blob monolithic and chunked, and streams it back verified", () =>
        Effect.gen(function*() {
          const env = yield* TestEnv
          const source = generated(SIZE, "ocidist-64mib")
          const { digest: d, size } = yield* digestOf(source)
          assert.strictEqual(size, SIZE)
          const mono = yield* env.client.blobs.upload(env.ref("big/mono"), { stream: source, digest: d, size: SIZE }, {
            strategy: "monolithic"
          })
          assert.deepStrictEqual(mono, { digest: d, size: SIZE })
          const chunked = yield* env.client.blobs.upload(env.ref("big/chunked"), { stream: source }, {
            strategy: "chunked",
            chunkSize: 8 * 1024 * 1024
          })
          assert.deepStrictEqual(chunked, { digest: d, size: SIZE })
          const patches = yield* env.registry.countRequests({ method: "PATCH", path: /big\/chunked/ })
          assert.strictEqual(patches, 8)
          for (const repo of ["big/mono", "big/chunked"]) {
            const blob = env.client.blobs.stream(env.ref(repo), d, { size: SIZE })
            const total = yield* Stream.runFold(blob, 0, (n, c) => n + c.length)
            assert.strictEqual(total, SIZE)
          }
        }))

      it.effect("lists 150 tags", () =>
        Effect.gen(function*() {
          const env = yield* TestEnv
          const content = new TextEncoder().encode("tags")
          const d = Digest.ofBytes(content)
          yield* env.client.blobs.upload(env.ref("many/tags"), { stream: Stream.make(content), digest: d, size: 4 })
          const image = new TextEncoder().encode(JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.OCI_MANIFEST,
            config: { mediaType: MediaType.OCI_CONFIG, digest: d, size: 4 },
            layers: []
          }))
          const tags = Array.from({ length: 150 }, (_, i) => `t${String(i).padStart(3, "0")}`)
          yield* Effect.forEach(
            tags,
            (t) =>
              env.client.manifests.put(env.ref(`many/tags:${t}`), { bytes: image, mediaType: MediaType.OCI_MANIFEST }),
            {
              concurrency: 8,
              discard: true
            }
          )
          const listed = yield* Stream.runCollect(env.client.tags(env.ref("many/tags"), { pageSize: 50 }))
          assert.deepStrictEqual([...Chunk.toReadonlyArray(listed)].sort(), tags)
        }))
    }
  )

import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Authenticator from "@ocidist/auth/Authenticator"
import { Digest, Hash, Reference, ReferenceError } from "@ocidist/reference"
import * as NodeHash from "@ocidist/reference/NodeHash"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as MediaType from "@ocidist/spec/MediaType"
import type { ChunkSink } from "@ocidist/spec/Storage"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as NodeRegistryClient from "../src/NodeRegistryClient.js"
import * as RegistryClient from "../src/RegistryClient.js"
import * as FakeRegistry from "./support/fakeRegistry.js"
import { anonymous, client, fastRetry, serve } from "./support/server.js"

const sha256 = (bytes: Uint8Array | string) =>
  `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest.Digest
const ref = (host: string, rest: string) => Either.getOrThrow(Reference.parse(`${host}/${rest}`))

const pattern = (size: number) => {
  const out = Buffer.alloc(size)
  for (let i = 0; i < size; i++) out[i] = (i * 31 + 7) & 0xff
  return out
}

/** A stream of `bytes` in uneven pieces. */
const piecewise = (bytes: Buffer, piece = 777) =>
  Stream.fromIterable(
    Array.from({ length: Math.ceil(bytes.length / piece) }, (_, i) => bytes.subarray(i * piece, (i + 1) * piece))
  )

const artifact = (subject: Descriptor.Descriptor, artifactType: string) =>
  new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    artifactType,
    config: { mediaType: MediaType.OCI_EMPTY, digest: sha256("{}"), size: 2 },
    layers: [],
    subject
  }))

const image = new TextEncoder().encode(JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaType.OCI_MANIFEST,
  config: { mediaType: MediaType.OCI_EMPTY, digest: sha256("{}"), size: 2 },
  layers: []
}))
const imageDescriptor: Descriptor.Descriptor = {
  mediaType: MediaType.OCI_MANIFEST,
  digest: sha256(image),
  size: image.length
}

describe("uploads", () => {
  it.scopedLive("every strategy uploads and the stored blob matches", () =>
    Effect.gen(function*() {
      const registry = yield* FakeRegistry.start()
      const rc = yield* client()
      const repo = ref(registry.host, "app")
      for (const strategy of ["monolithic", "stream", "chunked", "post", "auto"] as const) {
        const content = pattern(10_000 + strategy.length)
        const digest = sha256(content)
        const result = yield* rc.blobs.upload(repo, { stream: piecewise(content), digest, size: content.length }, {
          strategy,
          chunkSize: 4096
        })
        assert.strictEqual(result.digest, digest, strategy)
        assert.strictEqual(result.size, content.length, strategy)
        assert.isTrue(registry.blobs.get(digest)?.equals(content), strategy)
      }
      // unknown digest: hashed while uploading
      const content = pattern(5000)
      const result = yield* rc.blobs.upload(repo, { stream: piecewise(content) })
      assert.strictEqual(result.digest, sha256(content))
      const chunked = yield* rc.blobs.upload(repo, { stream: piecewise(pattern(9000)) }, {
        strategy: "chunked",
        chunkSize: 2000
      })
      assert.strictEqual(chunked.digest, sha256(pattern(9000)))
      const patches = registry.requests.filter((r) => r.method === "PATCH" && r.headers["content-range"] !== undefined)
      assert.isAbove(patches.length, 4)
    }))

  it.scopedLive("chunked upload honours OCI-Chunk-Min-Length", () =>
    Effect.gen(function*() {
      const registry = yield* FakeRegistry.start({ chunkMinLength: 3000 })
      const rc = yield* client()
      const content = pattern(10_000)
      yield* rc.blobs.upload(ref(registry.host, "app"), { stream: piecewise(content), digest: sha256(content) }, {
        strategy: "chunked",
        chunkSize: 1000
      })
      const sizes = registry.requests.filter((r) => r.method === "PATCH").map((r) => r.body.length)
      assert.deepStrictEqual(sizes, [3000, 3000, 3000, 1000])
      assert.isTrue(registry.blobs.get(sha256(content))?.equals(content))
    }))

  it.scopedLive("chunked upload re-syncs when the registry reports a shorter Range", () =>
    Effect.gen(function*() {
      const registry = yield* FakeRegistry.start({ shortRange: true })
      const rc = yield* client()
      const content = pattern(8192)
      const result = yield* rc.blobs.upload(ref(registry.host, "app"), { stream: piecewise(content) }, {
        strategy: "chunked",
        chunkSize: 4096
      })
      assert.strictEqual(result.digest, sha256(content))
      assert.isTrue(registry.blobs.get(sha256(content))?.equals(content))
      const ranges = registry.requests.filter((r) => r.method === "PATCH").map((r) => r.headers["content-range"])
      assert.deepStrictEqual(ranges, ["0-4095", "2048-4095", "4096-8191", "6144-8191"])
    }))

  it.scopedLive("rejects an upload Location on a foreign origin and sends nothing there", () =>
    Effect.gen(function*() {
      const foreign = yield* serve((_req, res) => {
        res.writeHead(202)
        res.end()
      })
      const registry = yield* FakeRegistry.start({ uploadOrigin: foreign.url })
      const rc = yield* client()
      const content = pattern(100)
      const error = yield* Effect.flip(
        rc.blobs.upload(ref(registry.host, "app"), { stream: piecewise(content), digest: sha256(content), size: 100 })
      )
      assert.strictEqual(error._tag, "InvalidResponse")
      assert.include(error.message, "another origin")
      assert.strictEqual(foreign.requests.length, 0)
    }))

  it.scopedLive("cancels the session when the upload fails, and reports a digest mismatch of the source", () =>
    Effect.gen(function*() {
      const registry = yield* FakeRegistry.start({ rejectPut: true })
      const rc = yield* client()
      const content = pattern(1000)
      const error = yield* Effect.flip(
        rc.blobs.upload(ref(registry.host, "app"), { stream: piecewise(content), digest: sha256(content) })
      )
      assert.strictEqual(error._tag, "RegistryResponseError")
      assert.isAbove(registry.requests.filter((r) => r.method === "DELETE").length, 0)

      const ok = yield* FakeRegistry.start()
      const rc2 = yield* client()
      const wrong = yield* Effect.flip(
        rc2.blobs.upload(ref(ok.host, "app"), { stream: piecewise(content), digest: sha256("other") }, {
          strategy: "chunked"
        })
      )
      assert.strictEqual(wrong._tag, "DigestMismatch")
      assert.strictEqual(ok.requests.filter((r) => r.method === "DELETE").length, 1)
      assert.strictEqual(ok.blobs.size, 0)
    }))
})

describe("uploads from a pump (iterable bodies over NodeRegistryClient's undici)", () => {
  /** A pump over `bytes` in uneven pieces, counting its runs; `failAt` makes it fail after that many bytes. */
  const pumpOf = (bytes: Buffer, options: { readonly failAt?: number; readonly piece?: number } = {}) => {
    const state = { runs: 0 }
    const piece = options.piece ?? 7777
    const pump = (sink: ChunkSink): Effect.Effect<void, "source broke"> =>
      Effect.gen(function*() {
        state.runs++
        for (let at = 0; at < bytes.length; at += piece) {
          if (options.failAt !== undefined && at >= options.failAt) return yield* Effect.fail("source broke" as const)
          const answer = sink(bytes.subarray(at, at + piece))
          if (answer === false) return
          if (answer !== true) yield* Effect.promise(() => Promise.resolve(answer))
        }
      })
    return { state, pump }
  }
  const never = Stream.die("the stream is not read when the pump is")

  it.scopedLive("sends the pump's bytes (the stream is not run), monolithic, streamed and after a dropped connection", () =>
    Effect.gen(function*() {
      const content = pattern(3 * 1024 * 1024 + 5)
      for (const strategy of ["monolithic", "stream"] as const) {
        const registry = yield* FakeRegistry.start({ cutFirstPut: strategy === "monolithic" })
        const rc = yield* client({}, undefined, "node")
        const { pump, state } = pumpOf(content)
        const result = yield* rc.blobs.upload(ref(registry.host, "app"), {
          stream: never,
          pump,
          digest: sha256(content),
          size: content.length
        }, { strategy })
        assert.strictEqual(result.digest, sha256(content))
        assert.isTrue(registry.blobs.get(sha256(content))?.equals(content), strategy)
        assert.strictEqual(state.runs, strategy === "monolithic" ? 2 : 1, strategy)
      }
    }))

  it.scopedLive("a pump that fails is reported as the source's failure; its session is cancelled", () =>
    Effect.gen(function*() {
      const registry = yield* FakeRegistry.start()
      const rc = yield* client({}, undefined, "node")
      const content = pattern(2 * 1024 * 1024)
      const { pump } = pumpOf(content, { failAt: 1024 * 1024 })
      const error = yield* Effect.flip(
        rc.blobs.upload(ref(registry.host, "app"), {
          stream: never,
          pump,
          digest: sha256(content),
          size: content.length
        })
      )
      assert.strictEqual(error._tag, "InvalidArgument")
      assert.include(error.message, "source broke")
      assert.isAbove(registry.requests.filter((r) => r.method === "DELETE").length, 0)
      assert.strictEqual(registry.blobs.size, 0)
    }))

  it.scopedLive("a verified source is counted, not hashed: its own failure after the last byte stops the upload", () =>
    Effect.gen(function*() {
      let hashed = 0
      const counting: Hash.Service = {
        make: (algorithm) => {
          const inner = NodeHash.service.make(algorithm)
          return {
            ...inner,
            update: (chunk) => {
              hashed += chunk.length
              inner.update(chunk)
            }
          }
        }
      }
      const registry = yield* FakeRegistry.start()
      const rc = yield* Effect.provideService(client({}, undefined, "node"), Hash.Hash, counting)
      const content = pattern(256 * 1024)
      const upload = (
        pump: (sink: ChunkSink) => Effect.Effect<void, ReferenceError.DigestMismatch>,
        digest: Digest.Digest,
        verified: boolean
      ) => rc.blobs.upload(ref(registry.host, "app"), { stream: never, pump, digest, size: content.length, verified })
      yield* upload((sink) => Effect.sync(() => sink(content)), sha256(content), true)
      assert.strictEqual(hashed, 0)
      assert.isTrue(registry.blobs.get(sha256(content))?.equals(content))
      yield* upload((sink) => Effect.sync(() => sink(content)), sha256(content), false)
      assert.strictEqual(hashed, content.length)

      // a verifying source fails after its last byte when the bytes are not the digest's
      const lie = sha256("something else")
      const error = yield* Effect.flip(upload(
        (sink) =>
          Effect.zipRight(
            Effect.sync(() => sink(content)),
            Effect.fail(new ReferenceError.DigestMismatch({ expected: lie, actual: sha256(content), subject: "test" }))
          ),
        lie,
        true
      ))
      assert.strictEqual(error._tag, "DigestMismatch")
      assert.isFalse(registry.blobs.has(lie))

      // the source has the last word even when the registry accepted the bytes before the source's own check
      const other = Buffer.from(content).reverse()
      const late = yield* Effect.flip(upload(
        (sink) =>
          Effect.zipRight(
            Effect.sync(() => sink(other)),
            Effect.zipRight(
              Effect.sleep("100 millis"),
              Effect.fail(new ReferenceError.DigestMismatch({ expected: sha256(other), actual: lie, subject: "late" }))
            )
          ),
        sha256(other),
        true
      ))
      assert.strictEqual(late._tag, "DigestMismatch")
    }))
})

describe("wrapped clients", () => {
  it.scopedLive("a wrapper marked withIterableBodies keeps uploading from the pump; an unmarked one reads the stream", () =>
    Effect.gen(function*() {
      const content = pattern(300_000)
      const base = yield* NodeRegistryClient.makeHttpClient()
      for (const marked of [true, false]) {
        const registry = yield* FakeRegistry.start()
        let requests = 0
        const tapped = HttpClient.tapRequest(base, () => Effect.sync(() => requests++))
        const http = marked ? NodeRegistryClient.withIterableBodies(tapped) : tapped
        const rc = yield* Effect.map(
          Layer.build(
            RegistryClient.layerWithoutDependencies({ retry: fastRetry }).pipe(
              Layer.provide(Authenticator.layerWithoutDependencies()),
              Layer.provide(Layer.mergeAll(Layer.succeed(HttpClient.HttpClient, http), anonymous))
            )
          ),
          Context.get(RegistryClient.RegistryClient)
        )
        const runs = { stream: 0, pump: 0 }
        yield* rc.blobs.upload(ref(registry.host, "app"), {
          stream: Stream.suspend(() => {
            runs.stream++
            return piecewise(content)
          }),
          pump: (sink) =>
            Effect.sync(() => {
              runs.pump++
              sink(content)
            }),
          digest: sha256(content),
          size: content.length
        })
        assert.deepStrictEqual(runs, marked ? { stream: 0, pump: 1 } : { stream: 1, pump: 0 })
        assert.isTrue(registry.blobs.get(sha256(content))?.equals(content))
        assert.isAbove(requests, 0)
      }
    }))
})

describe("upload retries", () => {
  it.scopedLive("restarts a streamed upload in a new session after the connection drops, re-running the source", () =>
    Effect.gen(function*() {
      const registry = yield* FakeRegistry.start({ cutFirstPut: true })
      const rc = yield* client()
      const content = pattern(50_000)
      let runs = 0
      const source = Stream.suspend(() => {
        runs++
        return piecewise(content)
      })
      const result = yield* rc.blobs.upload(ref(registry.host, "app"), {
        stream: source,
        digest: sha256(content),
        size: content.length
      })
      assert.strictEqual(result.digest, sha256(content))
      assert.strictEqual(runs, 2)
      assert.strictEqual(registry.requests.filter((r) => r.method === "POST").length, 2)
      assert.isTrue(registry.blobs.get(sha256(content))?.equals(content))
    }))

  it.scopedLive("a source that lies about its size, or fails, is reported as such and not retried", () =>
    Effect.gen(function*() {
      const registry = yield* FakeRegistry.start()
      const rc = yield* client()
      const content = pattern(20_000)
      for (const strategy of ["monolithic", "stream", "chunked", "post"] as const) {
        const longer = yield* Effect.flip(
          rc.blobs.upload(ref(registry.host, "app"), {
            stream: piecewise(content),
            digest: sha256(content),
            size: 10_000
          }, {
            strategy
          })
        )
        assert.strictEqual(longer._tag, "SizeMismatch", strategy)
        const shorter = yield* Effect.flip(
          rc.blobs.upload(ref(registry.host, "app"), {
            stream: piecewise(content),
            digest: sha256(content),
            size: 30_000
          }, {
            strategy
          })
        )
        assert.strictEqual(shorter._tag, "SizeMismatch", strategy)
        const failing = yield* Effect.flip(
          rc.blobs.upload(ref(registry.host, "app"), {
            stream: Stream.concat(piecewise(content), Stream.fail(new Error("disk on fire"))),
            digest: sha256(content),
            size: content.length
          }, { strategy })
        )
        assert.strictEqual(failing._tag, "InvalidArgument", strategy)
        assert.include(failing.message, "disk on fire")
      }
      // one session per attempt, no retries (the single-POST bodies are cut, so the server records none)
      const posts = registry.requests.filter((r) => r.method === "POST").length
      assert.strictEqual(posts, 9)
    }))

  it.scopedLive("limits concurrent operations per registry", () =>
    Effect.gen(function*() {
      let inFlight = 0
      let peak = 0
      const server = yield* serve((_req, res) => {
        inFlight++
        peak = Math.max(peak, inFlight)
        setTimeout(() => {
          inFlight--
          res.writeHead(200, { "content-type": MediaType.OCI_MANIFEST })
          res.end(image)
        }, 30)
      })
      const rc = yield* client({ registries: { [server.host]: { concurrency: 2 } } })
      yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => i), (i) =>
        rc.manifests.get(ref(server.host, `app:${i}`)), {
        concurrency: "unbounded",
        discard: true
      })
      assert.strictEqual(server.requests.length, 8)
      assert.strictEqual(peak, 2)
    }))
})

describe("tags", () => {
  it.scopedLive("follows Link headers over 150 tags", () =>
    Effect.gen(function*() {
      const tags = Array.from({ length: 150 }, (_, i) => `v${String(i).padStart(3, "0")}`)
      const registry = yield* FakeRegistry.start({ tags })
      const rc = yield* client({ pageSize: 40 })
      const listed = yield* Stream.runCollect(rc.tags(ref(registry.host, "app")))
      assert.deepStrictEqual(Chunk.toReadonlyArray(listed), tags)
      const pages = registry.requests.filter((r) => r.url.includes("/tags/list"))
      assert.strictEqual(pages.length, 4)
      assert.include(pages[0]!.url, "n=40")
      const after = yield* Stream.runCollect(rc.tags(ref(registry.host, "app"), { last: "v139", pageSize: 100 }))
      assert.deepStrictEqual(Chunk.toReadonlyArray(after), tags.slice(140))
    }))

  it.scopedLive("bounds the number of pages and refuses a Link to another origin", () =>
    Effect.gen(function*() {
      const tags = Array.from({ length: 50 }, (_, i) => `t${i}`)
      const registry = yield* FakeRegistry.start({ tags })
      const rc = yield* client()
      const bounded = yield* Effect.flip(
        Stream.runDrain(rc.tags(ref(registry.host, "app"), { pageSize: 10, maxPages: 3 }))
      )
      assert.strictEqual(bounded._tag, "InvalidResponse")
      assert.include(bounded.message, "more than 3 pages")
      const evil = yield* FakeRegistry.start({ tags, linkOrigin: "http://127.0.0.2:1" })
      const foreign = yield* Effect.flip(Stream.runDrain(rc.tags(ref(evil.host, "app"), { pageSize: 10 })))
      assert.include(foreign.message, "another origin")
    }))
})

describe("referrers", () => {
  it.scopedLive("uses the API, with the registry's artifactType filter or the client's", () =>
    Effect.gen(function*() {
      for (const filterReferrers of [true, false]) {
        const registry = yield* FakeRegistry.start({ referrers: "api", filterReferrers })
        const rc = yield* client()
        const repo = ref(registry.host, "app")
        yield* rc.manifests.put(ref(registry.host, "app:v1"), { bytes: image, mediaType: MediaType.OCI_MANIFEST })
        const sbom = artifact(imageDescriptor, "application/spdx+json")
        const sig = artifact(imageDescriptor, "application/vnd.dev.cosign.artifact.sig.v1+json")
        yield* rc.manifests.put(Reference.withDigest(repo, sha256(sbom)), {
          bytes: sbom,
          mediaType: MediaType.OCI_MANIFEST
        })
        yield* rc.manifests.put(Reference.withDigest(repo, sha256(sig)), {
          bytes: sig,
          mediaType: MediaType.OCI_MANIFEST
        })
        const subject = Reference.withDigest(repo, imageDescriptor.digest)
        const all = yield* rc.referrers(subject)
        assert.strictEqual(all.source, "api")
        assert.strictEqual(all.manifests.length, 2)
        const sboms = yield* rc.referrers(subject, { artifactType: "application/spdx+json" })
        assert.deepStrictEqual(sboms.manifests.map((d) => d.digest), [sha256(sbom)])
        assert.deepStrictEqual(sboms.filtersApplied, filterReferrers ? ["artifactType"] : [])
        const url = registry.requests.find((r) => r.url.includes("artifactType="))!.url
        assert.include(url, "artifactType=application%2Fspdx%2Bjson")
      }
    }))

  it.scopedLive("falls back to the tag schema when the API is missing (404, 400, 406), and maintains it on push", () =>
    Effect.gen(function*() {
      for (const status of [404, 400, 406] as const) {
        const registry = yield* FakeRegistry.start({ referrers: status })
        const rc = yield* client()
        const repo = ref(registry.host, "app")
        yield* rc.manifests.put(ref(registry.host, "app:v1"), { bytes: image, mediaType: MediaType.OCI_MANIFEST })
        const subject = Reference.withDigest(repo, imageDescriptor.digest)
        const empty = yield* rc.referrers(subject)
        assert.deepStrictEqual(empty, { manifests: [], source: "fallback", filtersApplied: [] })

        const sbom = artifact(imageDescriptor, "application/spdx+json")
        const sig = artifact(imageDescriptor, "application/example.sig")
        const pushed = yield* rc.manifests.put(Reference.withDigest(repo, sha256(sbom)), {
          bytes: sbom,
          mediaType: MediaType.OCI_MANIFEST
        })
        assert.strictEqual(pushed.referrers, "fallback")
        assert.strictEqual(pushed.subject, imageDescriptor.digest)
        yield* rc.manifests.put(Reference.withDigest(repo, sha256(sig)), {
          bytes: sig,
          mediaType: MediaType.OCI_MANIFEST
        })
        // pushing the same referrer again does not duplicate it
        yield* rc.manifests.put(Reference.withDigest(repo, sha256(sig)), {
          bytes: sig,
          mediaType: MediaType.OCI_MANIFEST
        })
        const all = yield* rc.referrers(subject)
        assert.strictEqual(all.source, "fallback")
        assert.deepStrictEqual(all.manifests.map((d) => d.digest), [sha256(sbom), sha256(sig)])
        assert.deepStrictEqual(all.manifests.map((d) => d.artifactType), [
          "application/spdx+json",
          "application/example.sig"
        ])
        const sigs = yield* rc.referrers(subject, { artifactType: "application/example.sig" })
        assert.deepStrictEqual(sigs.manifests.map((d) => d.digest), [sha256(sig)])
        const tag = `sha256-${Digest.hex(imageDescriptor.digest)}`
        assert.strictEqual(registry.manifests.get(`app:${tag}`)?.type, MediaType.OCI_INDEX)
      }
    }))

  it.scopedLive("updates the fallback index conditionally and merges again after a concurrent update (412)", () =>
    Effect.gen(function*() {
      const other = {
        mediaType: MediaType.OCI_MANIFEST,
        digest: sha256("someone else"),
        size: 12,
        artifactType: "x/other"
      }
      const registry = yield* FakeRegistry.start({ referrers: 404, conditional: true, raceWith: other })
      const rc = yield* client()
      const repo = ref(registry.host, "app")
      const sbom = artifact(imageDescriptor, "application/spdx+json")
      yield* rc.manifests.put(Reference.withDigest(repo, sha256(sbom)), {
        bytes: sbom,
        mediaType: MediaType.OCI_MANIFEST
      })
      const tag = `sha256-${Digest.hex(imageDescriptor.digest)}`
      const puts = registry.requests.filter((r) => r.method === "PUT" && r.url.endsWith(tag))
      assert.strictEqual(puts.length, 2)
      assert.strictEqual(puts[0]!.headers["if-none-match"], "*")
      assert.match(puts[1]!.headers["if-match"] ?? "", /^"sha256:/)
      const list = yield* rc.referrers(Reference.withDigest(repo, imageDescriptor.digest))
      assert.deepStrictEqual(list.manifests.map((d) => d.digest), [other.digest, sha256(sbom)])
    }))

  it.scopedLive("ignores a fallback tag that holds the subject itself or a non-index", () =>
    Effect.gen(function*() {
      const registry = yield* FakeRegistry.start({ referrers: 404 })
      const rc = yield* client()
      const repo = ref(registry.host, "app")
      const tag = `sha256-${Digest.hex(imageDescriptor.digest)}`
      // A registry that resolves the fallback tag to the subject (GitLab does)
      yield* rc.manifests.put(ref(registry.host, `app:${tag}`), { bytes: image, mediaType: MediaType.OCI_MANIFEST })
      const subject = Reference.withDigest(repo, imageDescriptor.digest)
      assert.deepStrictEqual((yield* rc.referrers(subject)).manifests, [])
      // Something else that is not an index
      const other = new TextEncoder().encode(JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OCI_MANIFEST,
        config: { mediaType: MediaType.OCI_CONFIG, digest: sha256("{}"), size: 2 },
        layers: []
      }))
      yield* rc.manifests.put(ref(registry.host, `app:${tag}`), { bytes: other, mediaType: MediaType.OCI_MANIFEST })
      assert.deepStrictEqual((yield* rc.referrers(subject)).manifests, [])
      const needsDigest = yield* Effect.flip(rc.referrers(ref(registry.host, "app:v1")))
      assert.strictEqual(needsDigest._tag, "InvalidArgument")
    }))
})

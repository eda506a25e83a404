/**
 * The embedded registry's faults, each met by our own client: latency, error statuses with `Retry-After`
 * (retried), bodies cut (resumed with `Range`) or stalled (the idle timeout trips; closing the registry
 * still cuts the connection), blob GETs redirected to a second origin that refuses credentials, and a
 * bandwidth limit. Lower bounds on time only.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as Digest from "@ocidist/reference/Digest"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Ocidist from "ocidist/Ocidist"
import * as NodeRegistry from "../src/NodeRegistry.js"
import type * as Registry from "../src/Registry.js"
import { capture, client, digest, ocidist, pushImage, readAll, ref, type User } from "./support/harness.js"

const sha256 = (bytes: Uint8Array) => digest(`sha256:${createHash("sha256").update(bytes).digest("hex")}`)

const bytesOf = (size: number, seed: number) => {
  const out = new Uint8Array(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1664525 + 1013904223) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** Puts a blob into a repository with raw HTTP (so that no fault of our client's path is involved). */
const putBlob = (registry: Registry.Running, repository: string, bytes: Uint8Array, authorization?: string) =>
  Effect.gen(function*() {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization }
    const started = yield* Tools.request(`${registry.url}/v2/${repository}/blobs/uploads/`, { method: "POST", headers })
    assert.strictEqual(started.status, 202, started.text)
    const d = sha256(bytes)
    const done = yield* Tools.request(`${registry.url}${started.header("location")}?digest=${d}`, {
      method: "PUT",
      headers: { ...headers, "content-type": "application/octet-stream" },
      body: bytes
    })
    assert.strictEqual(done.status, 201, done.text)
    return d
  })

const blobRequests = (logs: ReturnType<typeof capture>, d: Digest.Digest) =>
  logs.requests().filter((r) => r.annotations["path"]!.endsWith(`/blobs/${d}`) && r.annotations["method"] === "GET")

describe("faults", () => {
  it.scopedLive("latencyMs delays every request", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry.start({ faults: { latencyMs: 150 } })
      const rc = yield* client(registry)
      const bytes = bytesOf(1000, 1)
      const d = yield* rc.blobs.upload(ref(registry, "faults/latency"), {
        stream: Stream.make(bytes),
        digest: sha256(bytes),
        size: bytes.length
      })
      const started = Date.now()
      const head = yield* rc.blobs.head(ref(registry, "faults/latency"), d.digest)
      assert.isAtLeast(Date.now() - started, 140)
      assert.strictEqual(head.size, 1000)
    }))

  it.scopedLive("503 twice with Retry-After: 1 — our client waits as asked, retries and succeeds", () =>
    Effect.gen(function*() {
      const probe = yield* NodeRegistry.start({ faults: { errors: { status: 503, times: 1, retryAfterSeconds: 1 } } })
      const raw = yield* Tools.request(`${probe.url}/v2/faults/x/manifests/v1`)
      assert.strictEqual(raw.status, 503)
      assert.strictEqual(raw.header("retry-after"), "1")
      assert.strictEqual((JSON.parse(raw.text) as { errors: Array<{ code: string }> }).errors[0]!.code, "UNAVAILABLE")
      assert.strictEqual((yield* Tools.request(`${probe.url}/v2/`)).status, 200, "the fault fired once")

      const logs = capture()
      const registry = yield* logs.provide(
        NodeRegistry.start({ faults: { errors: { status: 503, times: 2, retryAfterSeconds: 1, match: "manifests" } } })
      )
      const dir = yield* Tools.tempDir("ocidist-registry-faults-")
      const rc = yield* client(registry)
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "registry/faults/503" })
      const started = Date.now()
      // the blobs go through; the manifest PUT meets both faults, waits a second after each, and goes through
      const put = yield* pushImage(rc, registry, "faults/x", "v1", image)
      assert.strictEqual(put.digest, image.manifestDigest)
      assert.isAtLeast(Date.now() - started, 1900, "Retry-After was honoured twice")
      const statuses = logs.requests().filter((r) => r.annotations["path"] === "/v2/faults/x/manifests/v1").map((r) =>
        r.annotations["status"]
      )
      assert.deepStrictEqual(statuses, ["503", "503", "201"])
      const got = yield* rc.manifests.get(ref(registry, "faults/x:v1"))
      assert.strictEqual(got.digest, image.manifestDigest)
    }))

  it.scopedLive("429 with Retry-After is retried; a Retry-After beyond the client's limit fails with TooManyRequests", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-faults-")
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "registry/faults/429" })
      const seed = yield* NodeRegistry.start()
      yield* pushImage(yield* client(seed), seed, "faults/r", "v1", image)

      const logs = capture()
      const registry = yield* logs.provide(
        NodeRegistry.start({ faults: { errors: { status: 429, times: 1, retryAfterSeconds: 1, match: "tags" } } })
      )
      const rc = yield* client(registry)
      yield* pushImage(rc, registry, "faults/r", "v1", image)
      const tags = yield* Stream.runCollect(rc.tags(ref(registry, "faults/r")))
      assert.deepStrictEqual([...tags], ["v1"])
      const statuses = logs.requests().filter((r) => r.annotations["path"] === "/v2/faults/r/tags/list").map((r) =>
        r.annotations["status"]
      )
      assert.deepStrictEqual(statuses, ["429", "200"])

      const slow = yield* NodeRegistry.start({
        faults: { errors: { status: 429, retryAfterSeconds: 120, match: "manifests" } }
      })
      const refused = yield* Effect.flip((yield* client(slow)).manifests.head(ref(slow, "faults/r:v1")))
      assert.strictEqual(refused._tag, "TooManyRequests")

      // without Retry-After, a status that does not go away exhausts the retries
      const down = yield* NodeRegistry.start({ faults: { errors: { status: 503, match: "manifests" } } })
      const unavailable = yield* Effect.flip((yield* client(down)).manifests.head(ref(down, "faults/r:v1")))
      assert.notStrictEqual(unavailable._tag, "NotFound")
    }))

  it.scopedLive("an upload PUT failing once (errors.match uploads, methods PUT) is retried as a whole upload", () =>
    Effect.gen(function*() {
      const logs = capture()
      const registry = yield* logs.provide(
        NodeRegistry.start({ faults: { errors: { status: 500, times: 1, match: "uploads", methods: ["PUT"] } } })
      )
      const rc = yield* client(registry)
      const bytes = bytesOf(50_000, 7)
      const up = yield* rc.blobs.upload(ref(registry, "faults/up"), {
        stream: Stream.make(bytes),
        digest: sha256(bytes),
        size: bytes.length
      }, {
        strategy: "monolithic"
      })
      assert.strictEqual(up.digest, sha256(bytes))
      const back = yield* readAll(rc.blobs.stream(ref(registry, "faults/up"), up.digest))
      assert.isTrue(back.equals(Buffer.from(bytes)))
      const puts = logs.requests().filter((r) => r.annotations["method"] === "PUT").map((r) => r.annotations["status"])
      assert.deepStrictEqual(puts, ["500", "201"])
    }))

  it.scopedLive("cutAfterBytes: the download resumes with Range and the blob verifies", () =>
    Effect.gen(function*() {
      const logs = capture()
      const registry = yield* logs.provide(
        NodeRegistry.start({ faults: { cutAfterBytes: { bytes: 100_000, times: 1 } } })
      )
      const bytes = bytesOf(300_000, 3)
      const d = yield* putBlob(registry, "faults/cut", bytes)
      const rc = yield* client(registry)
      const got = yield* readAll(rc.blobs.stream(ref(registry, "faults/cut"), d, { size: bytes.length }))
      assert.isTrue(got.equals(Buffer.from(bytes)))
      const gets = blobRequests(logs, d)
      assert.deepStrictEqual(gets.map((r) => r.annotations["status"]), ["200", "206"])
      assert.isAtLeast(
        300_000 - Number(gets[1]!.annotations["bytes"]),
        100_000 - 64 * 1024,
        "the resume asked for the rest only"
      )

      // the fault has fired: the next download is whole
      const again = yield* readAll(rc.blobs.stream(ref(registry, "faults/cut"), d, { size: bytes.length }))
      assert.isTrue(again.equals(Buffer.from(bytes)))
      assert.deepStrictEqual(blobRequests(logs, d).map((r) => r.annotations["status"]), ["200", "206", "200"])
    }))

  it.scopedLive("stallAfterBytes: the client's idle timeout trips and it resumes; always stalled, it fails", () =>
    Effect.gen(function*() {
      const logs = capture()
      const registry = yield* logs.provide(
        NodeRegistry.start({ faults: { stallAfterBytes: { bytes: 50_000, times: 1 } } })
      )
      const bytes = bytesOf(200_000, 5)
      const d = yield* putBlob(registry, "faults/stall", bytes)
      const rc = yield* client(registry, { client: { timeout: "300 millis" } })
      const started = Date.now()
      const got = yield* readAll(rc.blobs.stream(ref(registry, "faults/stall"), d, { size: bytes.length }))
      assert.isAtLeast(Date.now() - started, 290, "the stall lasted until the idle timeout")
      assert.isTrue(got.equals(Buffer.from(bytes)))
      assert.deepStrictEqual(blobRequests(logs, d).map((r) => r.annotations["status"]), ["200", "206"])

      const stuck = yield* NodeRegistry.start({ faults: { stallAfterBytes: { bytes: 50_000 } } })
      yield* putBlob(stuck, "faults/stall", bytes)
      const strict = yield* client(stuck, { client: { timeout: "200 millis", maxResumes: 1 } })
      const failed = yield* Effect.flip(
        readAll(strict.blobs.stream(ref(stuck, "faults/stall"), d, { size: bytes.length }))
      )
      assert.strictEqual(failed._tag, "TransportError")
      assert.include(failed.message, "no data for")
    }))

  it.scopedLive("closing the registry's scope cuts a stalled download instead of waiting for it", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const registry = yield* Scope.extend(
        NodeRegistry.start({ faults: { stallAfterBytes: { bytes: 20_000 } } }),
        scope
      )
      const bytes = bytesOf(100_000, 9)
      const d = yield* putBlob(registry, "faults/close", bytes)
      // the default idle timeout (30 s) would keep the client waiting: only the registry's close ends it
      const rc = yield* client(registry, { client: { maxResumes: 0 } })
      const download = yield* Effect.fork(
        readAll(rc.blobs.stream(ref(registry, "faults/close"), d, { size: bytes.length }))
      )
      const raw = yield* Effect.fork(Tools.request(`${registry.url}/v2/faults/close/blobs/${d}`))
      yield* Effect.sleep("300 millis")
      assert.isNull(yield* Fiber.poll(download).pipe(Effect.map((o) => o._tag === "Some" ? "done" : null)))
      yield* Scope.close(scope, Exit.void)
      const outcome = yield* Fiber.await(download)
      assert.isTrue(Exit.isFailure(outcome), "the stalled download fails once the registry is gone")
      const rawOutcome = yield* Fiber.await(raw)
      assert.isTrue(Exit.isFailure(rawOutcome), "the raw connection was cut too")
      const refused = yield* Effect.either(Tools.request(`${registry.url}/v2/`, { timeoutMs: 2_000 }))
      assert.strictEqual(refused._tag, "Left", "the registry no longer listens")
    }))

  it.scopedLive("redirectBlobs: blob GETs go to a second origin, which our client reaches without Authorization", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-faults-")
      const alice: User = { username: "alice", password: "alice-pw-redirect" }
      const logs = capture()
      const registry = yield* logs.provide(
        NodeRegistry.start({ auth: { type: "basic", users: [alice] }, faults: { redirectBlobs: true } })
      )
      assert.isString(registry.blobOrigin)
      assert.notStrictEqual(registry.blobOrigin, registry.url)
      const authorization = `Basic ${Buffer.from(`${alice.username}:${alice.password}`).toString("base64")}`
      const bytes = bytesOf(120_000, 11)
      const d = yield* putBlob(registry, "faults/redirect", bytes, authorization)

      const redirected = yield* Tools.request(`${registry.url}/v2/faults/redirect/blobs/${d}`, {
        headers: { authorization }
      })
      assert.strictEqual(redirected.status, 307)
      const location = redirected.header("location")!
      assert.isTrue(location.startsWith(`${registry.blobOrigin}/`), location)
      const withCredentials = yield* Tools.request(location, { headers: { authorization } })
      assert.strictEqual(withCredentials.status, 400, "the second origin refuses credentials")
      const plain = yield* Tools.request(location)
      assert.strictEqual(plain.status, 200)
      assert.isTrue(Buffer.from(plain.body).equals(Buffer.from(bytes)))
      const head = yield* Tools.request(`${registry.url}/v2/faults/redirect/blobs/${d}`, {
        method: "HEAD",
        headers: { authorization }
      })
      assert.strictEqual(head.status, 200, "HEAD is answered by the registry itself")

      const rc = yield* client(registry, { user: alice })
      const got = yield* readAll(rc.blobs.stream(ref(registry, "faults/redirect"), d, { size: bytes.length }))
      assert.isTrue(got.equals(Buffer.from(bytes)))
      assert.isTrue(blobRequests(logs, d).some((r) => r.annotations["status"] === "307"))

      // a whole pull through the redirects, with the facade
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "registry/faults/redirect" })
      yield* pushImage(rc, registry, "faults/redirect", "v1", image)
      const out = path.join(dir, "out")
      const pulled = yield* Ocidist.pull(`${registry.host}/faults/redirect:v1`, `oci:${out}:v1`).pipe(
        Effect.provide(ocidist(registry, path.join(dir, "cache"), { user: alice }))
      )
      assert.strictEqual(pulled.digest, image.manifestDigest)
      for (const l of image.layers) {
        assert.isTrue(
          fs.readFileSync(path.join(out, "blobs", "sha256", l.digest.slice(7))).equals(fs.readFileSync(l.path))
        )
      }
    }))

  it.scopedLive("bytesPerSecond: 256 KiB at 512 KiB/s takes at least 0.4 s", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry.start({ faults: { bytesPerSecond: 512 * 1024 } })
      const bytes = bytesOf(256 * 1024, 13)
      const d = yield* putBlob(registry, "faults/slow", bytes)
      const rc = yield* client(registry)
      const started = Date.now()
      const got = yield* readAll(rc.blobs.stream(ref(registry, "faults/slow"), d, { size: bytes.length }))
      const elapsed = Date.now() - started
      assert.isTrue(got.equals(Buffer.from(bytes)))
      assert.isAtLeast(elapsed, 400)
    }))
})

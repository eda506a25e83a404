/**
 * The fault-injecting proxy between a client (plain `node:http` here) and a real server: a small loopback
 * origin of our own (known bodies, what it received) and the Debian `docker-registry`. Each fault is checked
 * on the wire: what the client got (status, bytes, how the connection ended) and what the origin saw.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as http from "node:http"
import * as path from "node:path"
import { DockerRegistry, FaultProxy, Fixtures, TestHarnessError, Tools } from "../src/index.js"

const BODY = crypto.createHash("sha256").update("fault-proxy").digest().toString("hex").repeat(8192) // 512 KiB

interface Seen {
  readonly method: string
  readonly url: string
  readonly host: string | undefined
  readonly bytes: number
  readonly complete: boolean
}

/** An origin: GET /v2/r/blobs/<d> and /token answer BODY, POST …/uploads/ opens a session, PATCH/PUT count bytes. */
const origin = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly seen: Array<Seen>; readonly server: http.Server }>((resume) => {
    const seen: Array<Seen> = []
    const server = http.createServer((req, res) => {
      let bytes = 0
      req.on("data", (chunk: Buffer) => {
        bytes += chunk.length
      })
      const record = (complete: boolean) =>
        seen.push({ method: req.method ?? "", url: req.url ?? "", host: req.headers.host, bytes, complete })
      req.on("aborted", () => record(false))
      req.on("end", () => {
        record(true)
        const url = req.url ?? ""
        if (req.method === "POST" && url.endsWith("/blobs/uploads/")) {
          res.writeHead(202, { location: `/v2/r/blobs/uploads/${crypto.randomUUID()}?_state=x`, "content-length": "0" })
          return res.end()
        }
        if (req.method === "PATCH" || req.method === "PUT") {
          res.writeHead(202, { "content-length": "0", "x-received": String(bytes) })
          return res.end()
        }
        if (url.startsWith("/chunked")) {
          res.writeHead(200, { "content-type": "application/octet-stream" })
          res.write(BODY.slice(0, 1000))
          return res.end(BODY.slice(1000))
        }
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(BODY.length) })
        res.end(req.method === "HEAD" ? undefined : BODY)
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, seen, server }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
      server.closeAllConnections()
    })
)

interface Answer {
  readonly status: number | undefined
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
  /** How the exchange ended: "end" (whole response), or the error code / "aborted". */
  readonly ending: string
  readonly ms: number
}

/** One request on a fresh connection; never fails: a reset or a cut body is part of the answer. */
const send = (
  url: string,
  options: { readonly method?: string; readonly body?: Buffer } = {}
): Effect.Effect<Answer> =>
  Effect.async<Answer>((resume) => {
    const started = Date.now()
    let done = false
    const finish = (answer: Omit<Answer, "ms">) => {
      if (done) return
      done = true
      resume(Effect.succeed({ ...answer, ms: Date.now() - started }))
    }
    const req = http.request(url, {
      method: options.method ?? "GET",
      agent: false,
      headers: options.body === undefined ? {} : { "content-length": String(options.body.length) }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      const result = (ending: string) =>
        finish({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(), ending })
      res.on("end", () => result(res.complete ? "end" : "aborted"))
      res.on("aborted", () => result("aborted"))
      res.on("error", (error: NodeJS.ErrnoException) => result(error.code ?? error.message))
    })
    req.on("error", (error: NodeJS.ErrnoException) =>
      finish({ status: undefined, headers: {}, body: "", ending: error.code ?? error.message }))
    req.end(options.body)
    return Effect.sync(() =>
      req.destroy()
    )
  })

const blob = (i: number) => `/v2/r/blobs/sha256:${String(i).padStart(64, "0")}`

describe("FaultProxy", () => {
  it.scopedLive("without faults it forwards requests and bodies both ways, Host unchanged, and counts them", () =>
    Effect.gen(function*() {
      const upstream = yield* origin
      const proxy = yield* FaultProxy.start({ upstream: upstream.url, seed: 1 })
      const got = yield* send(`${proxy.url}${blob(1)}`)
      assert.deepStrictEqual([got.status, got.ending, got.body === BODY], [200, "end", true])
      const head = yield* send(`${proxy.url}${blob(1)}`, { method: "HEAD" })
      assert.deepStrictEqual([head.status, head.headers["content-length"]], [200, String(BODY.length)])
      const chunked = yield* send(`${proxy.url}/chunked`)
      assert.deepStrictEqual([chunked.ending, chunked.body === BODY], ["end", true])
      const post = yield* send(`${proxy.url}/v2/r/blobs/uploads/`, { method: "POST" })
      assert.strictEqual(post.status, 202)
      const location = String(post.headers.location)
      const put = yield* send(`${proxy.url}${location}`, { method: "PATCH", body: Buffer.alloc(300_000, 7) })
      assert.deepStrictEqual([put.status, put.headers["x-received"]], [202, "300000"])
      yield* send(`${proxy.url}/v2/r/manifests/v1`)
      yield* send(`${proxy.url}/token?scope=x`)
      yield* send(`${proxy.url}/v2/`)

      assert.strictEqual(upstream.seen[0]?.host, proxy.host)
      const stats = yield* proxy.stats
      assert.deepStrictEqual(stats.byKind, { blob: 2, manifest: 1, upload: 2, token: 2, other: 1 })
      assert.deepStrictEqual([stats.requests, stats.faults], [8, 0])
      assert.deepStrictEqual(yield* proxy.uploadSessions, [location.split("?")[0]])
      yield* proxy.clear
      assert.strictEqual((yield* proxy.stats).requests, 0)
      assert.deepStrictEqual(yield* proxy.uploadSessions, [])
    }))

  it.scopedLive("serverError answers bursts of 500/502/503 without reaching the origin; 429 in both forms", () =>
    Effect.gen(function*() {
      const upstream = yield* origin
      const proxy = yield* FaultProxy.start({
        upstream: upstream.url,
        seed: "bursts",
        faults: { serverError: { probability: 1, maxBurst: 3, on: ["blob"] } }
      })
      // the first attempt of each request fails, and starts a burst that goes on after the faults are off
      const runs: Array<Array<number | undefined>> = []
      for (let i = 0; i < 30; i++) runs.push([(yield* send(`${proxy.url}${blob(i)}`)).status])
      // a manifest is not a blob: not faulted
      assert.strictEqual((yield* send(`${proxy.url}/v2/r/manifests/v1`)).status, 200)
      yield* proxy.setFaults({})
      for (let i = 0; i < 30; i++) {
        for (let attempt = 0; attempt < 4 && runs[i]!.at(-1) !== 200; attempt++) {
          const answer = yield* send(`${proxy.url}${blob(i)}`)
          runs[i]!.push(answer.status)
          if (answer.status === 502) assert.include(answer.body, "<html>")
        }
      }
      const failures = runs.flat().filter((s) => s !== 200)
      assert.isTrue(runs.every((statuses) => statuses.at(-1) === 200 && statuses.length <= 4), JSON.stringify(runs))
      assert.includeMembers([...new Set(failures)], [500, 502, 503])
      assert.deepStrictEqual([...new Set(runs.map((statuses) => statuses.length - 1))].sort(), [1, 2, 3])
      assert.strictEqual((yield* proxy.stats).injected.serverError, failures.length)
      assert.strictEqual(upstream.seen.length, 31)

      yield* proxy.setFaults({ tooManyRequests: { probability: 1, retryAfterSeconds: 2 } })
      const forms = new Set<string>()
      for (let i = 0; i < 12; i++) {
        const answer = yield* send(`${proxy.url}${blob(100 + i)}`, { method: "PUT", body: Buffer.alloc(10_000) })
        assert.strictEqual(answer.status, 429)
        const retryAfter = String(answer.headers["retry-after"])
        if (retryAfter === "2") forms.add("seconds")
        else {
          const wait = Date.parse(retryAfter) - Date.now()
          assert.isTrue(wait > -1000 && wait <= 2000, retryAfter)
          forms.add("date")
        }
      }
      assert.deepStrictEqual([...forms].sort(), ["date", "seconds"])
      assert.strictEqual(upstream.seen.length, 31)
    }))

  it.scopedLive("reset cuts a response body (RST) or an upload's request body at a random offset", () =>
    Effect.gen(function*() {
      const upstream = yield* origin
      const proxy = yield* FaultProxy.start({ upstream: upstream.url, seed: 7, faults: { reset: { probability: 1 } } })
      const received: Array<number> = []
      for (let i = 0; i < 5; i++) {
        const answer = yield* send(`${proxy.url}${blob(i)}`)
        assert.notStrictEqual(answer.ending, "end")
        assert.isTrue(answer.body.length < BODY.length)
        assert.isTrue(BODY.startsWith(answer.body))
        received.push(answer.body.length)
      }
      assert.isTrue(new Set(received).size > 1, `offsets vary: ${received}`)

      const upload = yield* send(`${proxy.url}/v2/r/blobs/uploads/abc`, {
        method: "PATCH",
        body: Buffer.alloc(4 * 1024 * 1024, 1)
      })
      assert.isUndefined(upload.status)
      assert.include(["ECONNRESET", "EPIPE"], upload.ending)
      yield* Effect.sleep("100 millis")
      const patch = upstream.seen.find((s) => s.method === "PATCH")
      assert.isTrue(patch !== undefined && patch.bytes < 4 * 1024 * 1024 && !patch.complete, JSON.stringify(patch))
      const stats = yield* proxy.stats
      assert.strictEqual(stats.injected.reset, 6)
      assert.match((yield* proxy.requests).at(-1)?.fault ?? "", /^reset request@\d+$/)
    }))

  it.scopedLive("truncate declares the whole Content-Length, sends less and closes", () =>
    Effect.gen(function*() {
      const upstream = yield* origin
      const proxy = yield* FaultProxy.start({
        upstream: upstream.url,
        seed: 3,
        faults: { truncate: { probability: 1 } }
      })
      for (let i = 0; i < 4; i++) {
        const answer = yield* send(`${proxy.url}${blob(i)}`)
        assert.strictEqual(answer.headers["content-length"], String(BODY.length))
        assert.strictEqual(answer.ending, "aborted")
        const fault = (yield* proxy.requests).at(-1)?.fault ?? ""
        assert.strictEqual(fault, `truncate@${answer.body.length}`)
        assert.isTrue(BODY.startsWith(answer.body))
      }
      // a HEAD has no body: nothing injected; a chunked body has no Content-Length to lie about
      assert.strictEqual((yield* send(`${proxy.url}${blob(9)}`, { method: "HEAD" })).status, 200)
      assert.strictEqual((yield* send(`${proxy.url}/chunked`)).ending, "end")
      assert.strictEqual((yield* proxy.stats).injected.truncate, 4)
    }))

  it.scopedLive("stall pauses a body and then completes it; throttle paces it", () =>
    Effect.gen(function*() {
      const upstream = yield* origin
      const proxy = yield* FaultProxy.start({
        upstream: upstream.url,
        seed: 5,
        faults: { stall: { probability: 1, ms: 400 } }
      })
      const stalled = yield* send(`${proxy.url}${blob(1)}`)
      assert.deepStrictEqual([stalled.ending, stalled.body === BODY], ["end", true])
      assert.isAtLeast(stalled.ms, 400)
      assert.match((yield* proxy.requests)[0]?.fault ?? "", /^stall 400ms@\d+$/)

      yield* proxy.setFaults({ throttle: { probability: 1, bytesPerSecond: 1024 * 1024 } })
      const throttled = yield* send(`${proxy.url}${blob(2)}`)
      assert.deepStrictEqual([throttled.ending, throttled.body === BODY], ["end", true])
      assert.isAtLeast(throttled.ms, 400) // 512 KiB at 1 MiB/s
      const stats = yield* proxy.stats
      assert.deepStrictEqual([stats.injected.stall, stats.injected.throttle, stats.faults], [1, 1, 2])
    }))

  it.scopedLive("the same seed draws the same faults for the same requests; another seed others", () =>
    Effect.gen(function*() {
      const upstream = yield* origin
      const faults: FaultProxy.Faults = {
        serverError: { probability: 0.2 },
        tooManyRequests: { probability: 0.1, retryAfterSeconds: 0 },
        reset: { probability: 0.1 },
        truncate: { probability: 0.1 }
      }
      const trace = (seed: string) =>
        Effect.gen(function*() {
          const proxy = yield* FaultProxy.start({ upstream: upstream.url, seed, faults })
          for (let i = 0; i < 30; i++) yield* send(`${proxy.url}${blob(i % 10)}`)
          return (yield* proxy.requests).map((r) => `${r.url} ${r.status} ${(r.fault ?? "").replace(/:.*/, "")}`)
        })
      const a = yield* trace("a")
      assert.deepStrictEqual(yield* trace("a"), a)
      assert.notDeepEqual(yield* trace("b"), a)
      assert.isTrue(a.some((line) => !line.endsWith(" ")), "some faults drawn")
    }))

  it.scopedLive("in front of docker-registry: a raw push goes through it, session Locations name the proxy", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const proxy = yield* FaultProxy.start({ upstream: registry.url, seed: 0 })
      const image = yield* Fixtures.smallImage(path.join(yield* Tools.tempDir("ocidist-fault-proxy-"), "fixture"))
      const digest = yield* Fixtures.pushRaw({ ...registry, url: proxy.url, host: proxy.host }, "proxied", image, {
        tags: ["v1"]
      })
      assert.strictEqual(digest, image.manifestDigest)
      const sessions = yield* proxy.uploadSessions
      assert.strictEqual(sessions.length, image.layers.length + 1)
      for (const session of sessions) {
        assert.match(session, /^\/v2\/proxied\/blobs\/uploads\/[0-9a-f-]+$/)
        // committed: the session is gone at the registry
        const status = yield* Tools.request(`${registry.url}${session}`)
        assert.strictEqual(status.status, 404)
      }
      const pulled = yield* Tools.request(`${proxy.url}/v2/proxied/manifests/v1`, {
        headers: { accept: image.mediaType }
      })
      assert.isTrue(Buffer.from(pulled.body).equals(Buffer.from(image.manifest)))
      const stats = yield* proxy.stats
      assert.strictEqual(stats.byKind.upload, 2 * (image.layers.length + 1))
    }))

  it.effect("refuses an upstream that is not plain HTTP", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(FaultProxy.start({ upstream: "https://127.0.0.1:1" })))
      assert.instanceOf(error, TestHarnessError.TestHarnessError)
      assert.include(error.message, "only http://")
    }))
})

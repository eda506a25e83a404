/**
 * A seeded fault-injecting HTTP proxy on 127.0.0.1, in front of a real registry (a {@link DockerRegistry},
 * the embedded `@ocidist/registry`, or any plain-HTTP origin). It parses each request (`node:http`), forwards
 * it to the upstream with its `Host` header unchanged (so the registry names the proxy in `Location`s and
 * token realms, and every follow-up request comes back through it) and streams the answer back, with at most
 * one fault per request, drawn with the configured probabilities:
 *
 * - `serverError`: a burst of 500 / 502 / 503 answers (this attempt and up to `maxBurst - 1` retries of it);
 * - `tooManyRequests`: 429 with `Retry-After` in seconds or as an HTTP-date;
 * - `reset`: the connection is reset (RST) at a random offset of the body in flight — an upload's request
 *   body, else the response body (blobs, manifests, token responses);
 * - `truncate`: the full `Content-Length` is declared, fewer bytes are sent, then the connection closes;
 * - `stall` / `longStall`: the response body stops at a random offset for a while, then goes on;
 * - `throttle`: the response body is paced to `bytesPerSecond`.
 *
 * Injected errors are answered without reaching the upstream (their request body is read and dropped).
 * Decisions come from a PRNG seeded with the seed, the request (method and path, upload session ids
 * masked) and how many times that request was seen before: the same seed injects the same faults into the
 * same requests whatever the interleaving of concurrent ones. Connections are kept alive as the client
 * asks; a faulted one is closed. The proxy counts the requests it saw and the faults it injected, per kind.
 *
 * @since 0.4.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as crypto from "node:crypto"
import * as http from "node:http"
import type * as net from "node:net"
import * as TestHarnessError from "./TestHarnessError.js"

/**
 * What a request is for: `blob` (GET/HEAD/DELETE of `/v2/<name>/blobs/<digest>`), `upload` (anything under
 * `/v2/<name>/blobs/uploads/`), `manifest`, `token` (any path outside `/v2/`: a token realm), `other`
 * (`/v2/`, tags, referrers, catalog).
 *
 * @since 0.4.0
 * @category models
 */
export type RequestKind = "blob" | "manifest" | "upload" | "token" | "other"

/**
 * @since 0.4.0
 * @category models
 */
export type FaultKind = "serverError" | "tooManyRequests" | "reset" | "truncate" | "stall" | "longStall" | "throttle"

/**
 * The fault kinds, in the order a draw tries them.
 *
 * @since 0.4.0
 * @category constants
 */
export const faultKinds: ReadonlyArray<FaultKind> = [
  "serverError",
  "tooManyRequests",
  "reset",
  "truncate",
  "stall",
  "longStall",
  "throttle"
]

/**
 * How often a fault fires: `probability` per request (0–1; the probabilities of all faults add up, at
 * most one fault per request), only for requests of the kinds in `on` (default: every kind).
 *
 * @since 0.4.0
 * @category models
 */
export interface Rate {
  readonly probability: number
  readonly on?: ReadonlyArray<RequestKind> | undefined
}

/**
 * @since 0.4.0
 * @category models
 */
export interface Faults {
  /** 500, 502 (an HTML page) or 503, for this attempt and the next 0 to `maxBurst - 1` (default 3) retries. */
  readonly serverError?: (Rate & { readonly maxBurst?: number | undefined }) | undefined
  /** 429 with `Retry-After: <retryAfterSeconds>` (default 1) or the HTTP-date that far ahead. */
  readonly tooManyRequests?: (Rate & { readonly retryAfterSeconds?: number | undefined }) | undefined
  /** RST at a random offset of the request body (uploads) or of the response body. */
  readonly reset?: Rate | undefined
  /** The response's `Content-Length` is kept, a random part of the body is sent, the connection closes (FIN). */
  readonly truncate?: Rate | undefined
  /** The response body pauses at a random offset for `ms` (meant to be shorter than the client's idle timeout). */
  readonly stall?: (Rate & { readonly ms: number }) | undefined
  /** The same pause, meant to be longer than the client's idle timeout (the client must give up and resume). */
  readonly longStall?: (Rate & { readonly ms: number }) | undefined
  /** The response body is sent at `bytesPerSecond`. */
  readonly throttle?: (Rate & { readonly bytesPerSecond: number }) | undefined
}

/**
 * @since 0.4.0
 * @category models
 */
export interface Options {
  /** The origin to forward to, `http://127.0.0.1:PORT` (plain HTTP only). */
  readonly upstream: string
  /** Seed of the fault draws. Default 0. */
  readonly seed?: string | number | undefined
  /** Default: none (a transparent proxy). */
  readonly faults?: Faults | undefined
}

/**
 * Counters since the start or the last `clear`.
 *
 * @since 0.4.0
 * @category models
 */
export interface Stats {
  /** Requests received. */
  readonly requests: number
  readonly byKind: Readonly<Record<RequestKind, number>>
  /** Faults injected (a fault drawn for a request it cannot apply to, e.g. a body fault on a HEAD, is not). */
  readonly injected: Readonly<Record<FaultKind, number>>
  /** Sum of `injected`. */
  readonly faults: number
}

/**
 * One request as the proxy saw it.
 *
 * @since 0.4.0
 * @category models
 */
export interface RecordedRequest {
  readonly method: string
  /** Path and query as received. */
  readonly url: string
  readonly kind: RequestKind
  /** The status sent to the client; undefined when it got none (reset before the answer's headers). */
  readonly status: number | undefined
  /** The fault injected into this request, if any. */
  readonly faultKind: FaultKind | undefined
  /** What was injected: `"503"`, `"429 Retry-After: 1"`, `"reset response@123"`, `"stall 300ms@0"`, … */
  readonly fault: string | undefined
}

/**
 * @since 0.4.0
 * @category models
 */
export interface Instance {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  /** `127.0.0.1:PORT`: put it in references instead of the registry's. */
  readonly host: string
  readonly port: number
  readonly upstream: string
  readonly stats: Effect.Effect<Stats>
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /**
   * Paths (`/v2/<name>/blobs/uploads/<id>`) of the upload sessions the client was told about: the `Location`
   * of each 202 answer to a `POST …/blobs/uploads/` whose headers reached it.
   */
  readonly uploadSessions: Effect.Effect<ReadonlyArray<string>>
  /**
   * Upload sessions the upstream opened but the client never learned of (a reset before the answer's
   * headers): nobody can close them but the registry's own purge.
   */
  readonly orphanedSessions: Effect.Effect<ReadonlyArray<string>>
  /** Zeroes the counters, forgets recorded requests and upload sessions (fault draws go on as before). */
  readonly clear: Effect.Effect<void>
  /** Replaces the faults (`{}`: none) for the requests that follow; bursts of `serverError` in progress go on. */
  readonly setFaults: (faults: Faults) => Effect.Effect<void>
}

// ---------------------------------------------------------------------------------------------------------
// internals
// ---------------------------------------------------------------------------------------------------------

const classify = (pathname: string): RequestKind => {
  if (!pathname.startsWith("/v2/")) return "token"
  if (/\/blobs\/uploads(\/|$)/.test(pathname)) return "upload"
  if (/\/blobs\/[^/]+$/.test(pathname)) return "blob"
  if (/\/manifests\/[^/]+$/.test(pathname)) return "manifest"
  return "other"
}

/** The request's identity for fault draws: upload session ids (random per run) masked. */
const drawKey = (method: string, pathname: string) =>
  `${method} ${pathname.replace(/\/blobs\/uploads\/[^/]+$/, "/blobs/uploads/*")}`

/** sfc32 seeded from sha256(key): uniform in [0, 1). */
const prng = (key: string): () => number => {
  const h = crypto.createHash("sha256").update(key).digest()
  let a = h.readUInt32LE(0)
  let b = h.readUInt32LE(4)
  let c = h.readUInt32LE(8)
  let d = h.readUInt32LE(12)
  return () => {
    a >>>= 0
    b >>>= 0
    c >>>= 0
    d >>>= 0
    let t = (a + b) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    d = (d + 1) | 0
    t = (t + d) | 0
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "expect"
])

const forwardable = (headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders => {
  const out: http.OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value
  }
  return out
}

/** Where a body fault lands when the body's length is unknown (chunked). */
const UNKNOWN_LENGTH_SPAN = 64 * 1024

interface Plan {
  readonly kind: FaultKind | undefined
  /** Fraction of the body where it lands. */
  readonly at: number
  readonly status: 500 | 502 | 503
  readonly burst: number
  readonly dateForm: boolean
}

type MutableCounts<K extends string> = { -readonly [P in K]: number }

const zeroKinds = (): MutableCounts<RequestKind> => ({ blob: 0, manifest: 0, upload: 0, token: 0, other: 0 })
const zeroFaults = (): MutableCounts<FaultKind> => ({
  serverError: 0,
  tooManyRequests: 0,
  reset: 0,
  truncate: 0,
  stall: 0,
  longStall: 0,
  throttle: 0
})

const errorBodies = {
  500: { type: "application/json", body: `{"errors":[{"code":"UNKNOWN","message":"injected by FaultProxy"}]}` },
  502: {
    type: "text/html",
    body: "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway (FaultProxy)</body></html>\n"
  },
  503: {
    type: "application/json",
    body: `{"errors":[{"code":"UNAVAILABLE","message":"service unavailable (injected by FaultProxy)"}]}`
  },
  429: {
    type: "application/json",
    body: `{"errors":[{"code":"TOOMANYREQUESTS","message":"too many requests (injected by FaultProxy)"}]}`
  }
} as const

const resetSocket = (socket: net.Socket | null) => {
  if (socket === null || socket.destroyed) return
  socket.resetAndDestroy()
}

/**
 * Starts the proxy on 127.0.0.1 (a free port). It stops, cutting every open connection, when the scope closes.
 *
 * @since 0.4.0
 * @category constructors
 */
export const start = Effect.fn("FaultProxy.start")(function*(options: Options) {
  const upstream = yield* Effect.try({
    try: () => {
      const url = new URL(options.upstream)
      if (url.protocol !== "http:") throw new Error(`only http:// upstreams are supported, not ${url.protocol}`)
      return url
    },
    catch: (error) => TestHarnessError.make(`invalid FaultProxy upstream ${JSON.stringify(options.upstream)}`, error)
  })
  const seed = String(options.seed ?? 0)
  let faults: Faults = options.faults ?? {}
  let byKind = zeroKinds()
  let injected = zeroFaults()
  let requests = 0
  let recorded: Array<RecordedRequest> = []
  let sessions = new Set<string>()
  let orphaned = new Set<string>()
  const occurrences = new Map<string, number>()
  const bursts = new Map<string, number>()
  const sockets = new Set<net.Socket>()
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const agent = new http.Agent({ keepAlive: true })
  let closed = false

  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.add(timer)
    })

  const draw = (key: string, kind: RequestKind): Plan => {
    const occurrence = occurrences.get(key) ?? 0
    occurrences.set(key, occurrence + 1)
    const random = prng(`${seed}\u0000${key}\u0000${occurrence}`)
    const u = random()
    const plan = {
      at: random(),
      status: ([500, 502, 503] as const)[Math.floor(random() * 3)] ?? 503,
      burst: random(),
      dateForm: random() < 0.5
    }
    const remaining = bursts.get(key) ?? 0
    if (remaining > 0) {
      bursts.set(key, remaining - 1)
      return { ...plan, kind: "serverError" }
    }
    let sum = 0
    for (const name of faultKinds) {
      const rate = faults[name]
      if (rate === undefined || (rate.on !== undefined && !rate.on.includes(kind))) continue
      sum += rate.probability
      if (u < sum) {
        if (name === "serverError") {
          const maxBurst = Math.max(1, Math.floor(faults.serverError?.maxBurst ?? 3))
          bursts.set(key, Math.floor(plan.burst * maxBurst))
        }
        return { ...plan, kind: name }
      }
    }
    return { ...plan, kind: undefined }
  }

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const method = req.method ?? "GET"
    const url = req.url ?? "/"
    const pathname = url.split("?")[0] ?? "/"
    const kind = classify(pathname)
    const key = drawKey(method, pathname)
    requests++
    byKind[kind]++
    const record: { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] } = {
      method,
      url,
      kind,
      status: undefined,
      faultKind: undefined,
      fault: undefined
    }
    recorded.push(record)
    const plan = draw(key, kind)
    const socket = req.socket
    let gone = false
    let wake: () => void = () => undefined
    const goneSignal = new Promise<void>((resolve) => {
      wake = resolve
    })
    res.once("close", () => {
      gone = true
      wake()
    })
    // a write racing the client's departure: nothing to report, `gone` ends the exchange
    res.on("error", () => undefined)
    const inject = (what: FaultKind, detail: string) => {
      injected[what]++
      record.faultKind = what
      record.fault = detail
    }

    // errors answered here, after the request body is read and dropped
    if (plan.kind === "serverError" || plan.kind === "tooManyRequests") {
      const status = plan.kind === "serverError" ? plan.status : 429
      const seconds = Math.max(0, Math.round(faults.tooManyRequests?.retryAfterSeconds ?? 1))
      const retryAfter = plan.dateForm ? new Date(Date.now() + seconds * 1000).toUTCString() : String(seconds)
      inject(plan.kind, status === 429 ? `429 Retry-After: ${retryAfter}` : String(status))
      req.once("end", () => {
        if (gone) return
        const { body, type } = errorBodies[status]
        record.status = status
        res.writeHead(status, {
          "content-type": type,
          "content-length": String(Buffer.byteLength(body)),
          ...(status === 429 ? { "retry-after": retryAfter } : {})
        })
        res.end(body)
      })
      req.resume()
      return
    }

    const declared = req.headers["content-length"]
    const requestLength = declared === undefined ? undefined : Number(declared)
    const hasRequestBody = (requestLength !== undefined && requestLength > 0) ||
      req.headers["transfer-encoding"] !== undefined

    const upstreamRequest = http.request({
      host: upstream.hostname,
      port: upstream.port,
      method,
      path: url,
      headers: forwardable(req.headers),
      agent
    })
    let aborted = false
    const abortAll = () => {
      aborted = true
      upstreamRequest.destroy()
    }
    void goneSignal.then(() => {
      if (!res.writableFinished) abortAll()
    })
    upstreamRequest.on("error", () => {
      if (gone || aborted) return
      if (!res.headersSent) {
        record.status = 502
        res.writeHead(502, { "content-type": "text/plain", "content-length": "25" })
        res.end("upstream connection error")
      } else {
        socket.destroy()
      }
    })

    // the request body, reset at an offset when so drawn
    if (plan.kind === "reset" && hasRequestBody) {
      const span = requestLength ?? UNKNOWN_LENGTH_SPAN
      const cutAt = Math.floor(plan.at * span)
      let sent = 0
      req.on("data", (chunk: Buffer) => {
        if (aborted) return
        if (sent + chunk.length > cutAt) {
          upstreamRequest.write(chunk.subarray(0, cutAt - sent))
          inject("reset", `reset request@${cutAt}`)
          abortAll()
          resetSocket(socket)
          return
        }
        sent += chunk.length
        upstreamRequest.write(chunk)
      })
      req.on("end", () => {
        if (!aborted) upstreamRequest.end()
      })
    } else {
      req.pipe(upstreamRequest)
    }

    upstreamRequest.on("response", (upstreamResponse) => {
      if (gone || aborted) {
        upstreamResponse.destroy()
        return
      }
      const status = upstreamResponse.statusCode ?? 502
      const location = upstreamResponse.headers.location
      // an upload session is the client's to close once its answer's headers reached it
      const session = method === "POST" && status === 202 && location !== undefined && kind === "upload"
        ? URL.canParse(location, upstream.href) ? new URL(location, upstream).pathname : location
        : undefined
      if (session !== undefined) orphaned.add(session)
      const answered = () => {
        record.status = status
        if (session === undefined) return
        orphaned.delete(session)
        sessions.add(session)
      }
      res.writeHead(status, forwardable(upstreamResponse.headers))
      const hasBody = method !== "HEAD" && status !== 204 && status !== 304 && status >= 200
      if (!hasBody) {
        answered()
        upstreamResponse.resume()
        res.end()
        return
      }
      const lengthHeader = upstreamResponse.headers["content-length"]
      const length = lengthHeader === undefined ? undefined : Number(lengthHeader)
      const bodyFault = plan.kind === "reset" && hasRequestBody ? undefined : plan.kind
      const offset = Math.floor(plan.at * (length ?? UNKNOWN_LENGTH_SPAN))
      const cut = bodyFault === "reset"
        ? { at: offset, mode: "reset" as const }
        : bodyFault === "truncate" && length !== undefined && length > 0
        ? { at: offset, mode: "close" as const }
        : undefined
      const pause = bodyFault === "stall" || bodyFault === "longStall"
        ? { at: offset, ms: faults[bodyFault]?.ms ?? 0, kind: bodyFault }
        : undefined
      const bytesPerSecond = bodyFault === "throttle" ? Math.max(1, faults.throttle?.bytesPerSecond ?? 1) : undefined
      void pump(upstreamResponse, answered, cut, pause, bytesPerSecond)
    })

    const write = async (bytes: Uint8Array) => {
      if (!res.write(bytes)) await Promise.race([new Promise((resolve) => res.once("drain", resolve)), goneSignal])
    }

    const applyCut = async (cut: { readonly at: number; readonly mode: "reset" | "close" }) => {
      if (cut.mode === "reset") {
        inject("reset", `reset response@${cut.at}`)
        resetSocket(socket)
      } else {
        inject("truncate", `truncate@${cut.at}`)
        // let the bytes written so far reach the socket, then close it
        await new Promise((resolve) => setImmediate(resolve))
        socket.end()
      }
    }

    const pump = async (
      body: http.IncomingMessage,
      answered: () => void,
      cut: { readonly at: number; readonly mode: "reset" | "close" } | undefined,
      pause: { readonly at: number; readonly ms: number; readonly kind: "stall" | "longStall" } | undefined,
      bytesPerSecond: number | undefined
    ) => {
      let sent = 0
      let stallAt = pause?.at
      const slice = bytesPerSecond === undefined ? Infinity : Math.max(1, Math.floor(bytesPerSecond / 20))
      let throttled = false
      try {
        if (cut?.mode === "reset" && cut.at === 0) {
          // nothing written yet: the headers would go with the first bytes, so the client gets no answer at all
          body.destroy()
          return await applyCut(cut)
        }
        res.flushHeaders()
        answered()
        if (cut !== undefined && cut.at === 0) {
          body.destroy()
          return await applyCut(cut)
        }
        for await (const chunk of body as AsyncIterable<Buffer>) {
          let rest: Buffer = chunk
          while (rest.length > 0) {
            if (gone || closed) {
              body.destroy()
              return
            }
            if (stallAt !== undefined && stallAt === sent && pause !== undefined) {
              stallAt = undefined
              inject(pause.kind, `${pause.kind} ${pause.ms}ms@${sent}`)
              await Promise.race([delay(pause.ms), goneSignal])
              continue
            }
            let take = Math.min(rest.length, slice)
            if (cut !== undefined) take = Math.min(take, cut.at - sent)
            if (stallAt !== undefined) take = Math.min(take, stallAt - sent)
            await write(rest.subarray(0, take))
            sent += take
            rest = rest.subarray(take)
            if (cut !== undefined && sent === cut.at) {
              body.destroy()
              return await applyCut(cut)
            }
            if (bytesPerSecond !== undefined) {
              if (!throttled) {
                throttled = true
                inject("throttle", `throttle ${bytesPerSecond}B/s`)
              }
              await Promise.race([delay((take / bytesPerSecond) * 1000), goneSignal])
            }
          }
        }
        if (!gone) res.end()
      } catch {
        // the upstream body failed, or the client left: cut the client off (a clean end would lie)
        socket.destroy()
      }
    }
  }

  const server = yield* Effect.acquireRelease(
    Effect.async<http.Server, TestHarnessError.TestHarnessError>((resume) => {
      const server = http.createServer(handler)
      server.requestTimeout = 0
      server.headersTimeout = 60_000
      server.keepAliveTimeout = 5_000
      server.on("connection", (socket: net.Socket) => {
        sockets.add(socket)
        socket.once("close", () => sockets.delete(socket))
      })
      server.on("clientError", (_error, socket) => socket.destroy())
      server.once(
        "error",
        (error) => resume(Effect.fail(TestHarnessError.make("FaultProxy failed to listen", error)))
      )
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        closed = true
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        server.close(() => resume(Effect.void))
        for (const socket of sockets) socket.destroy()
        agent.destroy()
      })
  )
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0

  const instance: Instance = {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    upstream: upstream.origin,
    stats: Effect.sync(() => {
      const counts = { ...injected }
      return {
        requests,
        byKind: { ...byKind },
        injected: counts,
        faults: faultKinds.reduce((sum, kind) => sum + counts[kind], 0)
      }
    }),
    requests: Effect.sync(() => recorded.map((r) => ({ ...r }))),
    uploadSessions: Effect.sync(() => [...sessions]),
    orphanedSessions: Effect.sync(() => [...orphaned]),
    clear: Effect.sync(() => {
      requests = 0
      byKind = zeroKinds()
      injected = zeroFaults()
      recorded = []
      sessions = new Set()
      orphaned = new Set()
    }),
    setFaults: (next) =>
      Effect.sync(() => {
        faults = next
      })
  }
  return instance
}) as (options: Options) => Effect.Effect<Instance, TestHarnessError.TestHarnessError, Scope.Scope>

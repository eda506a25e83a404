/**
 * Small loopback HTTP servers for fault injection (what a real registry will not do).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as NodeRegistryClient from "../../src/NodeRegistryClient.js"
import * as RegistryClient from "../../src/RegistryClient.js"

export interface Recorded {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
}

export interface Server {
  readonly host: string
  readonly url: string
  readonly requests: Array<Recorded>
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void

/**
 * Starts a node:http server on 127.0.0.1:0. The handler gets the request with its body read (unless
 * `streamBody` is set, in which case the body is left to the handler and recorded empty).
 */
export const serve = (
  handler: Handler,
  options?: { readonly streamBody?: boolean; readonly host?: string }
): Effect.Effect<Server, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; info: Server }>((resume) => {
      const requests: Array<Recorded> = []
      const server = http.createServer((req, res) => {
        if (options?.streamBody === true) {
          requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.alloc(0) })
          handler(req, res, Buffer.alloc(0))
          return
        }
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const body = Buffer.concat(chunks)
          requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body })
          try {
            handler(req, res, body)
          } catch (e) {
            res.statusCode = 500
            res.end(String(e))
          }
        })
      })
      server.keepAliveTimeout = 1000
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        const host = `${options?.host ?? "127.0.0.1"}:${port}`
        resume(Effect.succeed({ server, info: { host, url: `http://${host}`, requests } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ info }) => info))

export const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

export const ociError = (
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {}
) => json(res, status, { errors: [{ code, message }] }, headers)

/** Fast retries so tests stay quick. */
export const fastRetry = { times: 3, base: "5 millis", max: "20 millis", maxRetryAfter: "5 seconds" } as const

/** No credentials (every registry anonymous). */
export const anonymous: Layer.Layer<Credentials.Credentials> = Credentials.layer({ sources: [] })

/** Fixed credentials, nothing else. */
export const credentials = (entries: Readonly<Record<string, Credentials.Credential>>) =>
  Credentials.layer({ explicit: entries, sources: [] })

/** The HTTP clients the client is tested over. */
export type Http = "undici" | "fetch" | "node"

/**
 * undici (`NodeHttpClient.layerUndici`), the global `fetch` as a user would plug it (`FetchHttpClient.layer`),
 * or the undici client of `NodeRegistryClient` (which also sends iterable upload bodies).
 */
export const httpLayer = (http: Http): Layer.Layer<HttpClient.HttpClient> =>
  http === "undici"
    ? NodeHttpClient.layerUndici
    : http === "fetch"
    ? FetchHttpClient.layer
    : NodeRegistryClient.layerHttpClient()

/** The client over undici (or fetch), with the real Authenticator and the given credentials. */
export const clientLayer = (
  options: RegistryClient.Options = {},
  credentials: Layer.Layer<Credentials.Credentials> = anonymous,
  http: Http = "undici"
): Layer.Layer<RegistryClient.RegistryClient> =>
  RegistryClient.layerWithoutDependencies({ retry: fastRetry, ...options }).pipe(
    Layer.provide(Authenticator.layerWithoutDependencies()),
    Layer.provide(Layer.mergeAll(httpLayer(http), credentials))
  )

/** Builds the client inside the test's scope (for servers started in the test). */
export const client = (
  options: RegistryClient.Options = {},
  credentials: Layer.Layer<Credentials.Credentials> = anonymous,
  http: Http = "undici"
) => Effect.map(Layer.build(clientLayer(options, credentials, http)), Context.get(RegistryClient.RegistryClient))

/**
 * The embedded registry on Node.js: starts its own HTTP server (127.0.0.1 and a free port by default),
 * with Node's file system for directory storage and native SHA-256. Closing the scope stops the server
 * and cuts its open connections (a stalled download does not hold it).
 *
 * ```ts
 * // Registry: from "@ocidist/registry"; NodeRegistry: from "@ocidist/registry/NodeRegistry"
 *
 * const test = Effect.gen(function*() {
 *   const { host } = yield* Registry.Registry
 *   // push to `${host}/demo/app:1` with any client
 * }).pipe(Effect.provide(NodeRegistry.layer({ storage: { directory: "./registry-data" } })))
 * ```
 *
 * @since 0.4.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as http from "node:http"
import * as Registry from "./Registry.js"
import { ListenFailed, type RegistryError } from "./RegistryError.js"

/**
 * @since 0.4.0
 * @category models
 */
export interface Options<E = unknown> extends Registry.Options<E> {
  /** Default 0: a free port. */
  readonly port?: number | undefined
  /** Default `127.0.0.1`. */
  readonly address?: string | undefined
}

const listen = (address: string, port: number) =>
  Effect.gen(function*() {
    const server = http.createServer()
    const httpServer = yield* NodeHttpServer.make(() => server, { port, host: address }).pipe(
      Effect.mapError((e) =>
        new ListenFailed({
          address: `${address}:${port}`,
          detail: e.cause instanceof Error ? e.cause.message : String(e.cause),
          cause: e
        })
      )
    )
    // a closing scope cuts open connections: the `server.close()` of `NodeHttpServer` waits for stalled ones.
    // Added after it, this finalizer runs before it: stop listening, then cut every connection.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (server.listening) server.close()
        server.closeAllConnections()
      })
    )
    return httpServer
  })

const platform = (address: string): Registry.Platform => ({
  abortConnection: (request) => NodeHttpServerRequest.toIncomingMessage(request).socket.destroy(),
  fileBody: (path, start, end) => {
    const stream = fs.createReadStream(path, { start, end, highWaterMark: 1024 * 1024 })
    // the server pipes it a moment later and reports its error (a blob deleted meanwhile) then; until it does,
    // an error must not go unhandled
    stream.on("error", () => undefined)
    return stream
  },
  serveBlobOrigin: (app) =>
    Effect.gen(function*() {
      const server = yield* listen(address, 0)
      yield* server.serve(app)
      const bound = server.address
      if (bound._tag !== "TcpAddress") return "http://localhost"
      const host = bound.hostname.includes(":") ? `[${bound.hostname}]` : bound.hostname
      return `http://${host}:${bound.port}`
    })
})

/**
 * Starts a registry and serves it until the scope closes.
 *
 * @since 0.4.0
 * @category constructors
 */
export const start = <E = unknown>(
  options: Options<E> = {}
): Effect.Effect<Registry.Running, RegistryError, Scope.Scope> =>
  Effect.gen(function*() {
    const address = options.address ?? "127.0.0.1"
    const server = yield* listen(address, options.port ?? 0)
    return yield* Registry.serve(options, platform(address)).pipe(
      Effect.provideService(HttpServer.HttpServer, server)
    )
  }).pipe(Effect.provide(Layer.merge(NodeContext.layer, NodeHash.layer)))

/**
 * A registry on its own Node.js server: `Registry.Registry` gives its address.
 *
 * @since 0.4.0
 * @category layers
 */
export const layer = <E = unknown>(options: Options<E> = {}): Layer.Layer<Registry.Registry, RegistryError> =>
  Layer.scoped(Registry.Registry, start(options))

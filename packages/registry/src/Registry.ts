/**
 * An embedded OCI registry: the whole OCI Distribution Specification v1.1 (pull, push, chunked and
 * cross-repository uploads, tags and catalog with pagination, referrers, deletes) served by an
 * `@effect/platform` `HttpServer` inside your Effect program, on any {@link RegistryStorage}: in memory, or
 * a directory of OCI image layouts. Like go-containerregistry's `pkg/registry` and regclient's `olareg`:
 * for tests without Docker, for offline demos, for a registry next to your program.
 *
 * ```ts
 * // Registry: from "@ocidist/registry"; NodeRegistry: from "@ocidist/registry/NodeRegistry"
 *
 * const program = Effect.gen(function*() {
 *   const registry = yield* Registry.Registry
 *   console.log(registry.host)             // "127.0.0.1:41235"
 * }).pipe(Effect.provide(NodeRegistry.layer({ port: 0 })))   // stops when the scope closes
 * ```
 *
 * Options: `storage` (`"memory"`, `{ directory }` or a `RegistryStorage` of your own), `auth` (Basic users,
 * or Bearer tokens from the registry's own token endpoint with per-repository scopes), `faults` for tests of
 * clients (latency, bandwidth, error statuses with `Retry-After`, bodies cut or stalled, blob GETs redirected
 * to a second origin, the referrers API switched off), `deletes` and `automaticCrossMount`.
 *
 * Each request is logged at debug level (method, path, status, bytes, time); credentials never are.
 *
 * @since 0.4.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Path from "@effect/platform/Path"
import * as Hash from "@ocidist/reference/Hash"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as App from "./internal/app.js"
import { InvalidOptions, type RegistryError, StorageUnavailable } from "./RegistryError.js"
import * as RegistryStorage from "./RegistryStorage.js"

/**
 * A user of a registry with `auth`. `readOnly` users may only pull.
 *
 * @since 0.4.0
 * @category models
 */
export interface User {
  readonly username: string
  readonly password: string
  readonly readOnly?: boolean | undefined
}

/**
 * Access control. `basic`: every request carries `Authorization: Basic`. `token`: requests carry a Bearer
 * token from the registry's own endpoint (`/token`, Docker's token protocol; the `WWW-Authenticate`
 * challenge names it), granting actions per repository. `anonymousPull` lets requests without credentials
 * pull (and, in token mode, get pull tokens).
 *
 * @since 0.4.0
 * @category models
 */
export interface AuthOptions {
  readonly type: "basic" | "token"
  readonly users: ReadonlyArray<User>
  readonly anonymousPull?: boolean | undefined
  /** Token mode: token lifetime, default 300 s. */
  readonly tokenTtlSeconds?: number | undefined
}

/**
 * Faults for tests of clients. Faults with `times` fire that many times (default: always).
 *
 * @since 0.4.0
 * @category models
 */
export interface Faults {
  /** Added before every request. */
  readonly latencyMs?: number | undefined
  /** Blob bodies sent at most this fast. */
  readonly bytesPerSecond?: number | undefined
  /** Requests answered with this status (429 and 503 with `Retry-After` when given) instead of being served. */
  readonly errors?: {
    readonly status: number
    readonly times?: number | undefined
    readonly retryAfterSeconds?: number | undefined
    /** Which requests: default all. */
    readonly match?: "blobs" | "manifests" | "uploads" | "tags" | "referrers" | "all" | undefined
    readonly methods?: ReadonlyArray<string> | undefined
  } | undefined
  /** Blob GET connections destroyed after this many body bytes. */
  readonly cutAfterBytes?: { readonly bytes: number; readonly times?: number | undefined } | undefined
  /** Blob GET bodies that stop after this many bytes and never end (the connection stays open). */
  readonly stallAfterBytes?: { readonly bytes: number; readonly times?: number | undefined } | undefined
  /**
   * Blob GETs answered with a 307 to a second origin (another port, like a CDN or S3), which serves the
   * bytes without authentication and refuses requests that carry `Authorization`.
   */
  readonly redirectBlobs?: boolean | undefined
  /** `false`: the referrers API answers 404, as registries without it do (clients fall back to tags). */
  readonly referrersApi?: boolean | undefined
}

/**
 * Where the registry keeps content.
 *
 * @since 0.4.0
 * @category models
 */
export type StorageOption<E> =
  | "memory"
  | { readonly directory: string }
  | RegistryStorage.RegistryStorage<E>

/**
 * @since 0.4.0
 * @category models
 */
export interface Options<E = unknown> {
  /** Default `"memory"`. */
  readonly storage?: StorageOption<E> | undefined
  readonly auth?: AuthOptions | undefined
  readonly faults?: Faults | undefined
  /** Manifest, tag and blob `DELETE`s; default true (false answers 405 `UNSUPPORTED`). */
  readonly deletes?: boolean | undefined
  /**
   * A mount without `from` (`POST …/blobs/uploads/?mount=<digest>`) finds the blob in any repository the
   * client may pull from; default true.
   */
  readonly automaticCrossMount?: boolean | undefined
}

/**
 * A running registry.
 *
 * @since 0.4.0
 * @category models
 */
export interface Running {
  /** `127.0.0.1:PORT`: what references name (`127.0.0.1:PORT/library/alpine:3.20`). */
  readonly host: string
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  readonly port: number
  /** The second origin of the `redirectBlobs` fault, when on. */
  readonly blobOrigin: string | undefined
  /** `memory` or the directory. */
  readonly storage: string
}

/**
 * The running registry of a layer.
 *
 * @since 0.4.0
 * @category tags
 */
export class Registry extends Context.Tag("@ocidist/registry/Registry")<Registry, Running>() {}

const openStorage = (
  storage: StorageOption<unknown> | undefined
): Effect.Effect<RegistryStorage.RegistryStorage<unknown>, StorageUnavailable, FileSystem.FileSystem | Path.Path> => {
  if (storage === undefined || storage === "memory") return RegistryStorage.memory()
  if ("directory" in storage) {
    return Effect.mapError(
      RegistryStorage.directory(storage.directory),
      (cause) => new StorageUnavailable({ storage: storage.directory, detail: cause.message, cause })
    )
  }
  return Effect.succeed(storage)
}

const checkOptions = (options: Options<unknown>) => {
  const users = options.auth?.users ?? []
  if (options.auth !== undefined && users.length === 0 && options.auth.anonymousPull !== true) {
    return Effect.fail(new InvalidOptions({ detail: "auth without users and without anonymousPull lets nobody in" }))
  }
  if (users.some((u) => u.username === "" || u.username.includes(":"))) {
    return Effect.fail(new InvalidOptions({ detail: "a user name is empty or contains ':'" }))
  }
  return Effect.void
}

/**
 * How a platform cuts a request's connection (the `cutAfterBytes` fault) and where the second origin of
 * `redirectBlobs` is. `NodeRegistry` provides both; elsewhere a cut ends the response early.
 *
 * @since 0.4.0
 * @category models
 */
export interface Platform {
  readonly abortConnection: (request: HttpServerRequest.HttpServerRequest) => void
  /** A raw response body with bytes `start`..`end` (inclusive) of a file (blobs of directory storage). */
  readonly fileBody?: ((path: string, start: number, end: number) => unknown) | undefined
  /** Starts the second origin with this handler and returns its URL. */
  readonly serveBlobOrigin?: (
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>
  ) => Effect.Effect<string, RegistryError, Scope.Scope>
}

/**
 * Serves a registry on the `HttpServer` in context until the scope closes.
 *
 * @since 0.4.0
 * @category constructors
 */
export const serve = <E = unknown>(
  options: Options<E> = {},
  platform?: Platform
): Effect.Effect<Running, RegistryError, HttpServer.HttpServer | FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const opts = options as Options<unknown>
    yield* checkOptions(opts)
    const storage = yield* openStorage(opts.storage)
    const server = yield* HttpServer.HttpServer
    const hash = yield* Hash.Hash
    const address = server.address
    const host = address._tag === "TcpAddress"
      ? `${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`
      : "localhost"
    const url = `http://${host}`
    let blobOrigin: string | undefined
    const app = App.make({
      storage,
      options: opts,
      baseUrl: () => url,
      blobOrigin: () => blobOrigin,
      hash,
      abortConnection: platform?.abortConnection ?? (() => undefined),
      fileBody: platform?.fileBody
    })
    if (opts.faults?.redirectBlobs === true && platform?.serveBlobOrigin !== undefined) {
      blobOrigin = yield* platform.serveBlobOrigin(app.blobOrigin)
    }
    yield* server.serve(app.handle)
    return {
      host,
      url,
      port: address._tag === "TcpAddress" ? address.port : 0,
      blobOrigin,
      storage: storage.description
    }
  })

/**
 * A registry on the `HttpServer` in context (see `NodeRegistry.layer` for one that starts its own server).
 *
 * @since 0.4.0
 * @category layers
 */
export const layer = <E = unknown>(
  options: Options<E> = {},
  platform?: Platform
): Layer.Layer<Registry, RegistryError, HttpServer.HttpServer | FileSystem.FileSystem | Path.Path> =>
  Layer.scoped(Registry, serve(options, platform))

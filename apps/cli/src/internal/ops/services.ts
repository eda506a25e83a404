/**
 * The services commands run with, built from the global options: the facade, the registry client it uses,
 * the authenticator and HTTP client behind it (for `auth token`), and the Node platform.
 */
import * as NodeCommandExecutor from "@effect/platform-node/NodeCommandExecutor"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Path from "@effect/platform/Path"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as Hash from "@ocidist/reference/Hash"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as NodeOcidist from "ocidist/NodeOcidist"
import * as Ocidist from "ocidist/Ocidist"
import { UsageError } from "../../CliError.js"
import type { Globals } from "../../GlobalOptions.js"
import { version } from "../../Version.js"
import { redactHeader, redactUrl } from "../redact.js"
import { sanitize } from "../terminal.js"

/** @internal */
export type Services =
  | Ocidist.Ocidist
  | RegistryClient.RegistryClient
  | Authenticator.Authenticator
  | HttpClient.HttpClient
  | FileSystem.FileSystem
  | Path.Path
  | CommandExecutor.CommandExecutor

const formatHeaders = (prefix: string, headers: Headers.Headers): string =>
  Object.entries(headers).map(([k, v]) => `${prefix} ${sanitize(k)}: ${sanitize(redactHeader(k, v))}\n`).join("")

/** The URL a request goes to, its query parameters included (redacted when logged). */
const requestUrl = (request: HttpClientRequest.HttpClientRequest): string =>
  request.urlParams.length === 0
    ? request.url
    : `${request.url}${request.url.includes("?") ? "&" : "?"}${UrlParams.toString(request.urlParams)}`

/**
 * Wraps an HTTP client so that every request and response is logged to stderr: credentials, cookies and
 * query values of signed URLs redacted (see `redact.ts`), control characters escaped (see `terminal.ts`).
 */
export const logRequests = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  client.pipe(
    HttpClient.tapRequest((request) =>
      Effect.sync(() => {
        process.stderr.write(
          `> ${request.method} ${sanitize(redactUrl(requestUrl(request)))}\n${formatHeaders(">", request.headers)}`
        )
      })
    ),
    HttpClient.tap((response) =>
      Effect.sync(() => {
        process.stderr.write(
          `< ${response.status} ${response.request.method} ${sanitize(redactUrl(requestUrl(response.request)))}\n${
            formatHeaders("<", response.headers)
          }`
        )
      })
    )
  )

/**
 * Options from the environment (`OCIDIST_PLAIN_HTTP`, `OCIDIST_TIMEOUT`, `OCIDIST_CACHE_DIR`, …). A variable
 * that cannot be read is a usage error naming it (exit code 2), never silently ignored.
 */
export const layerOptions: Effect.Effect<Ocidist.LayerOptions, UsageError> = Effect.mapError(
  Ocidist.config,
  (error) => new UsageError({ detail: `invalid configuration: ${String(error).replace(/^\(|\)$/g, "")}` })
)

const withGlobals = (globals: Globals, options: Ocidist.LayerOptions): RegistryClient.Options => ({
  // the CLI's version (its package.json, as `ocidist version` prints it), unless OCIDIST_USER_AGENT is set
  userAgent: `ocidist/${version}`,
  ...options.registry,
  ...(globals.insecure ? { insecure: true } : {}),
  ...(globals.plainHttp ? { plainHttp: true } : {})
})

/** Registry options from the global options and the environment. */
export const registryOptions = (globals: Globals): Effect.Effect<RegistryClient.Options, UsageError> =>
  Effect.map(layerOptions, (options) => withGlobals(globals, options))

/** The cache directory: `OCIDIST_CACHE_DIR`, else the user's. */
export const cacheDirectoryOf = (options: Ocidist.LayerOptions): string =>
  options.cacheDirectory ?? NodeOcidist.defaultCacheDirectory()

/**
 * The services, built in the current scope from the packages' public constructors rather than from their
 * layers: the same wiring as `NodeOcidist.layer`, but each `Layer.provide`/`merge` costs a scope, a memo-map entry and a
 * fiber, and building that ~12-node graph took ~25 ms of every command's start (measured in isolation:
 * 40–47 ms → 13–18 ms for a first build). Everything is released when the scope closes.
 *
 * @internal
 */
export const context = (globals: Globals): Effect.Effect<Context.Context<Services>, UsageError, Scope.Scope> =>
  Effect.gen(function*() {
    const options = yield* layerOptions
    const registry = withGlobals(globals, options)
    const hash = yield* NodeHash.make(options.hashThreads)
    // File system, paths, and child processes for credential helpers (not NodeContext's workers and terminal).
    const platform = yield* Layer.build(Layer.mergeAll(
      NodeFileSystem.layer,
      NodePath.layer,
      NodeCommandExecutor.layer.pipe(Layer.provide(NodeFileSystem.layer))
    ))
    // the hash first: the registry client takes it when it is made
    const node = Context.add(platform, Hash.Hash, hash)
    const transport = yield* NodeRegistryClient.makeHttpClient(registry)
    const http = globals.verbose ? NodeRegistryClient.withIterableBodies(logRequests(transport)) : transport
    const credentials = yield* Effect.provide(Credentials.make(), node)
    const withHttp = Context.add(Context.add(node, HttpClient.HttpClient, http), Credentials.Credentials, credentials)
    const auth = yield* Effect.provide(Authenticator.make(), withHttp)
    const withAuth = Context.add(withHttp, Authenticator.Authenticator, auth)
    const client = yield* Effect.provide(RegistryClient.make(registry), withAuth)
    const withClient = Context.add(withAuth, RegistryClient.RegistryClient, client)
    const ocidist = yield* Effect.provide(
      Ocidist.make({ cacheDirectory: cacheDirectoryOf(options) }),
      withClient
    )
    return Context.add(withClient, Ocidist.Ocidist, ocidist)
  })

/**
 * Runs `effect` with the services, releasing them when it ends.
 *
 * @internal
 */
export const provide = <A, E>(
  globals: Globals,
  effect: Effect.Effect<A, E, Services>
): Effect.Effect<A, E | UsageError> =>
  Effect.scoped(Effect.flatMap(context(globals), (services) => Effect.provide(effect, services)))

/** @internal */
export const concurrency = (globals: Globals): number | undefined => Option.getOrUndefined(globals.jobs)

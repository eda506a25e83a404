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
import * as EffectConfig from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as path from "node:path"
import * as NodeCompression from "ocidist/NodeCompression"
import * as NodeOcidist from "ocidist/NodeOcidist"
import * as Ocidist from "ocidist/Ocidist"
import { UsageError } from "../../CliError.js"
import type { Globals } from "../../GlobalOptions.js"
import { version } from "../../Version.js"
import * as Anonymous from "../anonymous.js"
import * as Config from "../config.js"
import { redactHeader, redactUrl } from "../redact.js"
import { sanitize } from "../terminal.js"

/** @internal */
export type Services =
  | Ocidist.Ocidist
  | RegistryClient.RegistryClient
  | Authenticator.Authenticator
  | Credentials.Credentials
  | HttpClient.HttpClient
  | FileSystem.FileSystem
  | Path.Path
  | CommandExecutor.CommandExecutor
  | Hash.Hash

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

/** `OCIDIST_TLS`: comma-separated registries always spoken to over `https://` (loopback ones included). */
const tlsRegistries: Effect.Effect<ReadonlyArray<string>, UsageError> = Effect.mapError(
  EffectConfig.withDefault(EffectConfig.array(EffectConfig.string(), "OCIDIST_TLS"), []),
  (error) => new UsageError({ detail: `invalid configuration: ${String(error).replace(/^\(|\)$/g, "")}` })
)

/** The entry of `registry` in `registries`, its host compared without case. */
const keyOf = (registries: Record<string, unknown>, registry: string): string =>
  Object.keys(registries).find((k) => k.toLowerCase() === registry.toLowerCase()) ?? registry

/**
 * The registry options: a registry's own setting wins over the global options, and the environment's over the
 * configuration file's — `OCIDIST_TLS` / `OCIDIST_PLAIN_HTTP` / `OCIDIST_INSECURE`, then the file's `registries`
 * (`tls`: `enabled`, `disabled`, `insecure`), then `--tls` / `--plain-http` / `--insecure` for every registry.
 * Without any, loopback registries are tried over HTTPS first, then plain HTTP (see `RegistryOptions.plainHttp`).
 */
const withGlobals = (
  globals: Globals,
  options: Ocidist.LayerOptions,
  tls: ReadonlyArray<string>,
  file: Config.File
): Effect.Effect<RegistryClient.Options, UsageError> =>
  Effect.gen(function*() {
    if (globals.tls && globals.plainHttp) {
      return yield* new UsageError({ detail: "--tls and --plain-http contradict each other: use one" })
    }
    const env: Record<string, RegistryClient.RegistryOptions> = { ...options.registry?.registries }
    for (const registry of tls.map((s) => s.trim()).filter((s) => s !== "")) {
      if (env[registry]?.plainHttp === true) {
        return yield* new UsageError({ detail: `${registry} is in both OCIDIST_TLS and OCIDIST_PLAIN_HTTP: use one` })
      }
      env[registry] = { ...env[registry], plainHttp: false }
    }
    const registries = Config.registries(file)
    for (const [registry, own] of Object.entries(env)) {
      const key = keyOf(registries, registry)
      registries[key] = { ...registries[key], ...own }
    }
    return {
      // the CLI's version (its package.json, as `ocidist version` prints it), unless OCIDIST_USER_AGENT is set
      userAgent: `ocidist/${version}`,
      ...options.registry,
      registries,
      ...(globals.insecure ? { insecure: true } : {}),
      ...(globals.plainHttp ? { plainHttp: true } : {}),
      ...(globals.tls ? { plainHttp: false } : {})
    }
  })

/** Registry options from the global options, the environment and the configuration file. */
export const registryOptions = (globals: Globals): Effect.Effect<RegistryClient.Options, UsageError> =>
  Effect.flatMap(
    Effect.all([layerOptions, tlsRegistries, Config.read]),
    ([options, tls, file]) => withGlobals(globals, options, tls, file)
  )

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
export const context = (
  globals: Globals,
  explicit?: ReadonlyArray<readonly [string, Credentials.Credential]>
): Effect.Effect<Context.Context<Services>, UsageError, Scope.Scope> =>
  Effect.gen(function*() {
    const options = yield* layerOptions
    const registry = yield* withGlobals(globals, options, yield* tlsRegistries, yield* Config.read)
    const hash = yield* NodeHash.make(options.hashThreads)
    // File system, paths, and child processes for credential helpers (not NodeContext's workers and terminal).
    const platform = yield* Layer.build(Layer.mergeAll(
      NodeFileSystem.layer,
      NodePath.layer,
      NodeCommandExecutor.layer.pipe(Layer.provide(NodeFileSystem.layer)),
      // layer codecs for recompression (copy --compress), spooling in the cache's staging/ (cache clean empties it)
      NodeCompression.layer({ spoolDirectory: path.join(cacheDirectoryOf(options), "staging") })
    ))
    // the hash first: the registry client takes it when it is made
    const node = Context.add(platform, Hash.Hash, hash)
    const transport = yield* NodeRegistryClient.makeHttpClient(registry)
    const http = globals.verbose ? NodeRegistryClient.withIterableBodies(logRequests(transport)) : transport
    // per-command credentials (`copy --src-creds`) for their registry host only, before every other source
    const credentials = yield* Effect.provide(Credentials.make(explicit === undefined ? {} : { explicit }), node)
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
  effect: Effect.Effect<A, E, Services>,
  explicit?: ReadonlyArray<readonly [string, Credentials.Credential]>
): Effect.Effect<A, E | UsageError> =>
  Effect.scoped(
    Effect.flatMap(
      context(globals, explicit),
      (services) => Effect.provide(Effect.tapError(effect, markAnonymous), services)
    )
  )

/**
 * Marks an access error (`Unauthorized`, `Denied`) of a registry no credentials were found for, so that its
 * message suggests `ocidist login` (see `anonymous.ts`).
 */
const markAnonymous = (error: unknown): Effect.Effect<void, never, Credentials.Credentials> => {
  if (typeof error !== "object" || error === null || !("_tag" in error) || !("registry" in error)) return Effect.void
  if ((error._tag !== "Unauthorized" && error._tag !== "Denied") || typeof error.registry !== "string") {
    return Effect.void
  }
  const registry = error.registry
  return Effect.flatMap(Credentials.Credentials, (credentials) => credentials.lookup(registry)).pipe(
    Effect.flatMap((found) => Option.isNone(found) ? Effect.sync(() => Anonymous.mark(error)) : Effect.void)
  )
}

/** @internal */
export const concurrency = (globals: Globals): number | undefined => Option.getOrUndefined(globals.jobs)

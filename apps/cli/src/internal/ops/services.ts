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
import type * as Path from "@effect/platform/Path"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Ocidist from "ocidist/Ocidist"
import type { Globals } from "../../GlobalOptions.js"

/** @internal */
export type Services =
  | Ocidist.Ocidist
  | RegistryClient.RegistryClient
  | Authenticator.Authenticator
  | HttpClient.HttpClient
  | FileSystem.FileSystem
  | Path.Path
  | CommandExecutor.CommandExecutor

const sensitiveParam = /sig|token|credential|secret|password|key/i

/** A URL with the values of secret-looking query parameters replaced. */
export const redactUrl = (url: string): string => {
  try {
    const u = new URL(url)
    for (const name of [...u.searchParams.keys()]) {
      if (sensitiveParam.test(name)) u.searchParams.set(name, "<redacted>")
    }
    return u.toString()
  } catch {
    return url
  }
}

const redactedHeaders = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"])

const formatHeaders = (prefix: string, headers: Headers.Headers): string =>
  Object.entries(headers).map(([k, v]) =>
    `${prefix} ${k}: ${redactedHeaders.has(k.toLowerCase()) ? "<redacted>" : v}\n`
  )
    .join("")

/** Wraps an HTTP client so that every request and response is logged to stderr, credentials redacted. */
export const logRequests = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  client.pipe(
    HttpClient.tapRequest((request) =>
      Effect.sync(() => {
        const query = request.urlParams.length === 0
          ? ""
          : "?" + request.urlParams.map(([k, v]) => `${k}=${sensitiveParam.test(k) ? "<redacted>" : v}`).join("&")
        process.stderr.write(
          `> ${request.method} ${redactUrl(request.url)}${query}\n${formatHeaders(">", request.headers)}`
        )
      })
    ),
    HttpClient.tap((response) =>
      Effect.sync(() => {
        process.stderr.write(
          `< ${response.status} ${response.request.method} ${redactUrl(response.request.url)}\n${
            formatHeaders("<", response.headers)
          }`
        )
      })
    )
  )

/** Registry options from the global options and the environment (`OCIDIST_PLAIN_HTTP`, …). */
export const registryOptions = (globals: Globals) =>
  Effect.map(
    Effect.orElseSucceed(Ocidist.registryConfig, (): RegistryClient.Options => ({})),
    (fromEnv): RegistryClient.Options => ({
      ...fromEnv,
      ...(globals.insecure ? { insecure: true } : {}),
      ...(globals.plainHttp ? { plainHttp: true } : {})
    })
  )

/** A logger writing to stderr, so that stdout only carries results. */
export const stderrLogger = Logger.make(({ logLevel, message }) => {
  const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
  process.stderr.write(`ocidist: ${logLevel.label.toLowerCase()}: ${text}\n`)
})

/** @internal */
export const layer = (globals: Globals): Layer.Layer<Services> =>
  Layer.unwrapEffect(Effect.map(registryOptions(globals), (registry) => {
    const base = NodeRegistryClient.layerHttpClient(registry)
    const http = globals.verbose
      ? Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, logRequests)).pipe(Layer.provide(base))
      : base
    // File system, paths, and child processes for credential helpers (not NodeContext's workers and terminal).
    const node = Layer.mergeAll(
      NodeFileSystem.layer,
      NodePath.layer,
      NodeCommandExecutor.layer.pipe(Layer.provide(NodeFileSystem.layer))
    )
    const auth = Authenticator.layer.pipe(
      Layer.provide(Credentials.layerDefault),
      Layer.provideMerge(Layer.merge(http, node))
    )
    const client = RegistryClient.layer(registry).pipe(Layer.provideMerge(auth))
    return Ocidist.layerWithoutDependencies.pipe(Layer.provideMerge(client))
  })).pipe(
    Layer.provideMerge(Layer.mergeAll(
      Logger.replace(Logger.defaultLogger, stderrLogger),
      Logger.minimumLogLevel(globals.verbose ? LogLevel.Debug : LogLevel.Warning)
    ))
  )

/** @internal */
export const concurrency = (globals: Globals): number | undefined => Option.getOrUndefined(globals.jobs)

/**
 * Shared helpers of the tests that drive the embedded registry with real clients: skopeo (a child process,
 * never a synchronous one: the registry is served by this process's event loop), our own registry client
 * (`@ocidist/distribution`, with the real `Authenticator`) and the `ocidist` facade, plus a logger that
 * records what the registry logs.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as Digest from "@ocidist/reference/Digest"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as Reference from "@ocidist/reference/Reference"
import { type Fixtures, TestHarnessError, Tools } from "@ocidist/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as Ocidist from "ocidist/Ocidist"
import type * as Registry from "../../src/Registry.js"

/** Retries that keep tests quick: a few, with short waits (a `Retry-After` is still honoured). */
export const fastRetry = { times: 3, base: "5 millis", max: "20 millis", maxRetryAfter: "5 seconds" } as const

export const digest = (s: string): Digest.Digest => Either.getOrThrow(Digest.parse(s))

export const ref = (registry: Registry.Running, rest: string): Reference.Reference =>
  Either.getOrThrow(Reference.parse(`${registry.host}/${rest}`))

export interface User {
  readonly username: string
  readonly password: string
}

const credentialsOf = (registry: Registry.Running, user: User | undefined) =>
  Credentials.layer({
    explicit: user === undefined ? {} : { [registry.host]: Credentials.basic(user.username, user.password) },
    sources: []
  })

/**
 * Our registry client over undici (`NodeRegistryClient`'s HTTP client), with the real `Authenticator` and
 * the given user's credentials (none: anonymous), built in the current scope.
 */
export const client = (
  registry: Registry.Running,
  options: { readonly user?: User | undefined; readonly client?: RegistryClient.Options | undefined } = {}
): Effect.Effect<RegistryClient.Service, never, Scope.Scope> =>
  Effect.map(
    Layer.build(
      RegistryClient.layerWithoutDependencies({ retry: fastRetry, ...options.client }).pipe(
        Layer.provide(Authenticator.layerWithoutDependencies()),
        Layer.provide(
          Layer.mergeAll(
            NodeRegistryClient.layerHttpClient(options.client ?? {}),
            credentialsOf(registry, options.user)
          )
        ),
        Layer.provide(NodeHash.layer)
      )
    ),
    Context.get(RegistryClient.RegistryClient)
  )

/** The `ocidist` facade over the same client stack (a cache directory of its own). */
export const ocidist = (
  registry: Registry.Running,
  cacheDirectory: string,
  options: { readonly user?: User | undefined; readonly client?: RegistryClient.Options | undefined } = {}
): Layer.Layer<Ocidist.Ocidist> =>
  Ocidist.layerWithoutDependencies({ cacheDirectory }).pipe(
    Layer.provide(RegistryClient.layerWithoutDependencies({ retry: fastRetry, ...options.client })),
    Layer.provide(Authenticator.layerWithoutDependencies()),
    Layer.provide(
      Layer.mergeAll(NodeRegistryClient.layerHttpClient(options.client ?? {}), credentialsOf(registry, options.user))
    ),
    Layer.provide(Layer.merge(NodeContext.layer, NodeHash.layer))
  )

/** Runs skopeo and fails (with its stderr) unless it exits with 0. */
export const skopeoOk = (
  args: ReadonlyArray<string>
): Effect.Effect<Tools.RunResult, TestHarnessError.TestHarnessError> =>
  Effect.flatMap(Tools.skopeo(args, { timeoutMs: 60_000 }), (result) =>
    result.exitCode === 0
      ? Effect.succeed(result)
      : Effect.fail(
        TestHarnessError.make(`skopeo ${args.join(" ")} exited with ${result.exitCode}: ${result.stderr.trim()}`)
      ))

/** A file as a stream that can be run again. */
export const fileStream = (path: string): Stream.Stream<Uint8Array, Error> =>
  Stream.suspend(() =>
    Stream.fromAsyncIterable(
      fs.createReadStream(path, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>,
      (e) => e instanceof Error ? e : new Error(String(e))
    )
  )

export const readAll = <E>(stream: Stream.Stream<Uint8Array, E>): Effect.Effect<Buffer, E> =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat([...chunks]))

/** Pushes an image's blobs and manifest (under `tag`) with our client. */
export const pushImage = (
  rc: RegistryClient.Service,
  registry: Registry.Running,
  repository: string,
  tag: string,
  image: Fixtures.Image | Fixtures.Artifact
) =>
  Effect.gen(function*() {
    const repo = ref(registry, repository)
    for (const layer of image.layers) {
      yield* rc.blobs.upload(repo, { stream: fileStream(layer.path), digest: digest(layer.digest), size: layer.size })
    }
    yield* rc.blobs.upload(repo, {
      stream: Stream.make(image.config),
      digest: digest(image.configDigest),
      size: image.config.length
    })
    return yield* rc.manifests.put(ref(registry, `${repository}:${tag}`), {
      bytes: image.manifest,
      mediaType: image.mediaType
    })
  })

/** One record of the logger of {@link capture}. */
export interface LogRecord {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, string>>
  /** Message, annotations and spans as one text, for searching. */
  readonly text: string
}

/**
 * A logger that records every message at Debug and above (the registry's request logs among them): wrap the
 * effect that starts the registry (and the client) with `capture.provide`.
 */
export const capture = () => {
  const records: Array<LogRecord> = []
  const logger = Logger.make(({ annotations, logLevel, message }) => {
    const annotated: Record<string, string> = {}
    for (const [key, value] of HashMap.toEntries(annotations)) annotated[key] = String(value)
    const text = [
      ...(Array.isArray(message) ? message : [message]).map((m) => typeof m === "string" ? m : JSON.stringify(m)),
      JSON.stringify(annotated)
    ].join(" ")
    records.push({ level: logLevel.label, message: text, annotations: annotated, text })
  })
  const provide = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    effect.pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.Debug)
    )
  /** The registry's request logs (`method`, `path`, `status` annotations). */
  const requests = () =>
    records.filter((r) => r.annotations["path"] !== undefined && r.annotations["method"] !== undefined)
  return { records, provide, requests }
}

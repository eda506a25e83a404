/**
 * What every part of the client shares: the resolved options, the transports, the hash service, the
 * per-registry permits, and helpers to name requests.
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as AuthScope from "@ocidist/auth/Scope"
import type { Hash, Reference } from "@ocidist/reference"
import * as Manifest from "@ocidist/spec/Manifest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as RegistryClient from "../RegistryClient.js"
import type * as RegistryError from "../RegistryError.js"
import * as BodyPump from "./bodyPump.js"
import * as Response from "./response.js"
import type { Ctx } from "./response.js"
import * as Retry from "./retry.js"
import * as Transport from "./transport.js"
import { VERSION } from "./version.js"

/** @internal */
export const USER_AGENT = `ocidist/${VERSION}`

/** @internal */
export const MAX_MANIFEST_BYTES = Manifest.MAX_BYTES

const lookupHost = (
  registries: Readonly<Record<string, RegistryClient.RegistryOptions>> | undefined,
  registry: string
): RegistryClient.RegistryOptions | undefined => {
  if (registries === undefined) return undefined
  const lower = registry.toLowerCase()
  for (const [key, value] of Object.entries(registries)) {
    if (key.toLowerCase() === lower) return value
  }
  return undefined
}

const REGISTRY_KEYS = [
  "plainHttp",
  "insecure",
  "ca",
  "cert",
  "key",
  "timeout",
  "idleTimeout",
  "minThroughput",
  "connectTimeout",
  "userAgent",
  "concurrency"
] as const

/** @internal */
export const registryOptions = (
  options: RegistryClient.Options,
  registry: string
): RegistryClient.RegistryOptions => {
  const entry = options.registries?.[registry] ?? lookupHost(options.registries, registry)
  const merged: Record<string, unknown> = {}
  for (const key of REGISTRY_KEYS) {
    const value = entry?.[key] ?? options[key]
    if (value !== undefined) merged[key] = value
  }
  return merged as RegistryClient.RegistryOptions
}

/** @internal */
export interface HostSettings extends Transport.HostOptions {
  readonly concurrency: number
  /** What a blob body must keep up (`idleTimeout`, `minThroughput`). */
  readonly limits: BodyPump.Limits
}

/** Default `minThroughput`: 1 KiB/s over 60 seconds. @internal */
export const MIN_THROUGHPUT = { bytesPerSecond: 1024, window: "60 seconds" } as const

/** Default `idleTimeout` (when `timeout` is not set either). @internal */
export const IDLE_TIMEOUT = "30 seconds"

const bodyLimits = (o: RegistryClient.RegistryOptions): BodyPump.Limits => {
  const min = o.minThroughput ?? MIN_THROUGHPUT
  return BodyPump.limits(
    Duration.decode(o.idleTimeout ?? o.timeout ?? IDLE_TIMEOUT),
    min === false
      ? undefined
      : {
        bytesPerSecond: min.bytesPerSecond,
        windowMillis: Duration.toMillis(Duration.decode(min.window ?? MIN_THROUGHPUT.window))
      }
  )
}

/** @internal */
export interface ClientContext {
  readonly maxManifestBytes: number
  readonly pageSize: number
  readonly maxPages: number
  readonly chunkSize: number
  readonly maxResumes: number
  readonly referrersFallback: boolean
  readonly retry: Retry.Policy
  readonly hash: Hash.Service
  /** The HTTP client sends iterable bodies as streams (see `IterableBody`). */
  readonly iterableBodies: boolean
  readonly host: (registry: string) => HostSettings
  readonly transport: Transport.Transport
  /** The same pipeline, its requests aborted when the caller's scope closes (scoped blob reads). */
  readonly scopedTransport: Transport.Transport<Scope.Scope>
  /** Runs `effect` holding one of the registry's permits (`concurrency`). */
  readonly limited: (registry: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * Takes one of the registry's permits until the scope closes; the effect it returns gives it back earlier
   * (once).
   */
  readonly permit: (registry: string) => Effect.Effect<Effect.Effect<void>, never, Scope.Scope>
}

/** @internal */
export const makeContext = (
  options: RegistryClient.Options,
  services: {
    readonly hash: Hash.Service
    readonly iterableBodies?: boolean | undefined
    readonly transport: (settings: Transport.TransportOptions) => {
      readonly plain: Transport.Transport
      readonly scoped: Transport.Transport<Scope.Scope>
    }
  }
): ClientContext => {
  const retry = Retry.policy(options.retry)
  const hosts = new Map<string, HostSettings>()
  const host = (registry: string): HostSettings => {
    let cached = hosts.get(registry)
    if (cached === undefined) {
      const o = registryOptions(options, registry)
      cached = {
        plainHttp: o.plainHttp ?? false,
        probe: o.plainHttp === undefined && Transport.isLoopbackHost(registry),
        insecure: o.insecure ?? false,
        timeout: Duration.decode(o.timeout ?? "60 seconds"),
        userAgent: o.userAgent ?? USER_AGENT,
        concurrency: Math.max(1, o.concurrency ?? 16),
        limits: bodyLimits(o)
      }
      hosts.set(registry, cached)
    }
    return cached
  }
  const transports = services.transport({
    host,
    retry,
    maxRedirects: options.maxRedirects ?? 5,
    schemes: Transport.makeSchemes()
  })

  // A permit comes back a turn of the event loop after its operation ends (`Transport.nextTurn`): the next
  // operation then finds the connection of the last one free instead of opening another, so the connections
  // open to a registry stay within `concurrency`. The operation itself does not wait for it.
  const giveBack = (permits: Effect.Semaphore) =>
    Effect.asVoid(Effect.forkDaemon(Effect.zipRight(Transport.nextTurn, permits.release(1))))
  const semaphores = new Map<string, Effect.Semaphore>()
  const semaphore = (registry: string) => {
    let found = semaphores.get(registry)
    if (found === undefined) {
      found = Effect.unsafeMakeSemaphore(host(registry).concurrency)
      semaphores.set(registry, found)
    }
    return found
  }

  return {
    maxManifestBytes: options.maxManifestBytes ?? MAX_MANIFEST_BYTES,
    pageSize: options.pageSize ?? 1000,
    maxPages: options.maxPages ?? 1000,
    chunkSize: options.chunkSize ?? 4 * 1024 * 1024,
    maxResumes: options.maxResumes ?? 5,
    referrersFallback: options.referrersFallback ?? true,
    retry,
    hash: services.hash,
    iterableBodies: services.iterableBodies === true,
    host,
    transport: transports.plain,
    scopedTransport: transports.scoped,
    limited: (registry) => (effect) => {
      const permits = semaphore(registry)
      return Effect.acquireUseRelease(permits.take(1), () => effect, () => giveBack(permits))
    },
    permit: (registry) => {
      const permits = semaphore(registry)
      return Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          restore(permits.take(1)),
          Effect.tap(Effect.once(giveBack(permits)), (release) => Effect.addFinalizer(() => release))
        )
      )
    }
  }
}

/** @internal */
export const ctxOf = (registry: string, repository: string | undefined, operation: string): Ctx => ({
  registry,
  repository,
  operation
})

/** @internal */
export const encodePath = (repository: string) => repository.split("/").map(encodeURIComponent).join("/")

/** `<origin>/v2/<repository>/<path>`. @internal */
export const repoUrl = (ctx: ClientContext, ref: Reference.Reference, path: string) =>
  `${ctx.transport.origin(ref.registry)}/v2/${encodePath(ref.repository)}/${path}`

/** @internal */
export const pull = (ref: Reference.Reference) => [AuthScope.pull(ref.repository)]

/** @internal */
export const push = (ref: Reference.Reference) => [AuthScope.push(ref.repository)]

/** `DELETE` a manifest or blob at `url` (200, 202 and 204 are success). @internal */
export const remove = (
  client: ClientContext,
  ref: Reference.Reference,
  operation: string,
  url: string,
  target: string
): Effect.Effect<void, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const ctx = ctxOf(ref.registry, ref.repository, operation)
    const response = yield* client.transport.send(ctx, HttpClientRequest.del(url), {
      scopes: [AuthScope.remove(ref.repository)]
    })
    if (response.status !== 202 && response.status !== 200 && response.status !== 204) {
      return yield* Response.fail(ctx, response, { target })
    }
    yield* Response.discard(response)
  })

/** @internal */
export const span = (name: string, ref: Reference.Reference) =>
  Effect.withSpan(`RegistryClient.${name}`, { attributes: { registry: ref.registry, repository: ref.repository } })

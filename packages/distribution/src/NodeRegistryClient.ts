/**
 * The Node.js transport of the registry client: an undici `HttpClient` whose connections follow the
 * per-registry TLS options (`insecure`, `ca`, `cert`/`key`, `connectTimeout`) and the `HTTPS_PROXY` /
 * `HTTP_PROXY` / `NO_PROXY` environment, plus layers that put it under `RegistryClient`.
 *
 * Requires `@effect/platform-node` (an optional peer dependency of this package).
 *
 * ```ts
 * import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
 *
 * // everything wired: undici, the default credentials (environment, docker, podman), node:crypto hashing
 * const RegistryLive = NodeRegistryClient.layer({ registries: { "registry.internal:5000": { insecure: true } } })
 *
 * // other credentials: the client without its Authenticator, over the Node transport
 * const Anonymous = RegistryClient.layerWithoutDependencies(options).pipe(
 *   Layer.provide(Authenticator.layerWithoutDependencies()),
 *   Layer.provide(Credentials.layer({ sources: [] })),
 *   Layer.provide(NodeRegistryClient.layerHttpClient(options)),
 *   Layer.provide(NodeHash.layer)
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import * as HttpClient from "@effect/platform/HttpClient"
import { Registry } from "@ocidist/reference"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { rootCertificates } from "node:tls"
import * as IterableBody from "./internal/iterableBody.js"
import * as RegistryClient from "./RegistryClient.js"

type TlsOptions = {
  rejectUnauthorized?: boolean
  ca?: Array<string>
  cert?: string
  key?: string
  timeout?: number
}

const tlsOptions = (options: RegistryClient.RegistryOptions): TlsOptions => {
  const tls: TlsOptions = {}
  if (options.insecure === true) tls.rejectUnauthorized = false
  if (options.ca !== undefined) {
    const extra = typeof options.ca === "string" ? [options.ca] : [...options.ca]
    // Extra CAs are added to Node's bundled roots, not a replacement for them.
    tls.ca = [...rootCertificates, ...extra]
  }
  if (options.cert !== undefined) tls.cert = options.cert
  if (options.key !== undefined) tls.key = options.key
  tls.timeout = Duration.toMillis(Duration.decode(options.connectTimeout ?? "30 seconds"))
  return tls
}

/**
 * A dispatcher that sends each request through the dispatcher of its origin's registry options.
 */
class RoutingDispatcher extends Undici.Dispatcher {
  readonly #byKey = new Map<string, Undici.Dispatcher>()
  readonly #options: RegistryClient.Options
  readonly #hostKeys: Map<string, string>

  constructor(options: RegistryClient.Options) {
    super()
    this.#options = options
    this.#hostKeys = new Map()
    for (const registry of Object.keys(options.registries ?? {})) {
      this.#hostKeys.set(Registry.apiHost(registry).toLowerCase(), registry)
    }
  }

  #pick(origin: string): Undici.Dispatcher {
    let host: string
    try {
      host = new URL(origin).host.toLowerCase()
    } catch {
      host = origin
    }
    const registry = this.#hostKeys.get(host)
    const key = registry ?? "\u0000default"
    let dispatcher = this.#byKey.get(key)
    if (dispatcher === undefined) {
      const tls = tlsOptions(
        registry === undefined ? this.#options : RegistryClient.registryOptions(this.#options, registry)
      )
      dispatcher = new Undici.EnvHttpProxyAgent({ connect: tls, requestTls: tls })
      this.#byKey.set(key, dispatcher)
    }
    return dispatcher
  }

  override dispatch(options: Undici.Dispatcher.DispatchOptions, handler: Undici.Dispatcher.DispatchHandler): boolean {
    return this.#pick(String(options.origin)).dispatch(options, handler)
  }

  override close(): Promise<void>
  override close(callback: () => void): void
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([...this.#byKey.values()].map((d) => d.close())).then(() => undefined)
    if (callback === undefined) return done
    void done.then(callback)
  }

  override destroy(): Promise<void>
  override destroy(err: Error | null): Promise<void>
  override destroy(callback: () => void): void
  override destroy(err: Error | null, callback: () => void): void
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === "function" || a === undefined ? null : a
    const callback = typeof a === "function" ? a : b
    const done = Promise.all([...this.#byKey.values()].map((d) => d.destroy(err))).then(() => undefined)
    if (callback === undefined) return done
    void done.then(callback)
  }
}

/**
 * An undici dispatcher honouring the per-registry TLS options and the proxy environment. Closed when the
 * scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeDispatcher = (options: RegistryClient.Options = {}) =>
  Effect.acquireRelease(
    Effect.sync((): Undici.Dispatcher => new RoutingDispatcher(options)),
    (dispatcher) => Effect.promise(() => dispatcher.destroy())
  )

/**
 * The `HttpClient` of {@link layerHttpClient}, built in the current scope: closing the scope closes its
 * connections. For programs that assemble their services in one effect rather than from layers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeHttpClient = (
  options: RegistryClient.Options = {}
): Effect.Effect<HttpClient.HttpClient, never, Scope.Scope> =>
  Effect.map(makeDispatcher(options), (dispatcher) => IterableBody.mark(NodeHttpClient.makeUndici(dispatcher)))

/**
 * Marks a client that wraps the one of {@link makeHttpClient} (with `HttpClient.tapRequest`, `HttpClient.tap`,
 * …) as still sending iterable request bodies as streams, so that uploads from a pump keep that fast lane:
 * the wrappers return new clients, which are otherwise given stream bodies. Mark only wrappers whose
 * requests end up at undici unchanged.
 *
 * @since 0.3.0
 * @category combinators
 */
export const withIterableBodies: <A extends HttpClient.HttpClient>(client: A) => A = IterableBody.mark

/**
 * An `HttpClient` (undici) honouring the per-registry TLS options and the proxy environment. Give the
 * same one to the `Authenticator` so token requests use the same TLS and proxy settings.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpClient = (options: RegistryClient.Options = {}): Layer.Layer<HttpClient.HttpClient> =>
  Layer.scoped(HttpClient.HttpClient, makeHttpClient(options))

/**
 * `RegistryClient` with everything a Node program needs: `RegistryClient.layer(options)` (the default
 * `Authenticator` and credentials) over {@link layerHttpClient}, Node's `FileSystem`, `Path` and
 * `CommandExecutor` (for docker/podman config files and credential helpers) and `node:crypto` hashing
 * (`NodeHash.layer`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: RegistryClient.Options = {}): Layer.Layer<RegistryClient.RegistryClient> =>
  RegistryClient.layer(options).pipe(
    Layer.provide(Layer.merge(layerHttpClient(options), NodeContext.layer)),
    Layer.provide(NodeHash.layer)
  )

/**
 * {@link layer} with options read from `Config`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<RegistryClient.Options>
): Layer.Layer<RegistryClient.RegistryClient, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), layer))

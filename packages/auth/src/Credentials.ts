/**
 * The `Credentials` service answers "what do I send to registry R?". Sources compose in order, the first
 * that knows the registry wins:
 *
 * 1. explicit credentials (`fromEntries`, `make({ explicit })`)
 * 2. the environment (`OCIDIST_USERNAME`/`OCIDIST_PASSWORD`, `OCIDIST_IDENTITY_TOKEN`,
 *    `OCIDIST_REGISTRY_TOKEN`, for the registries named in `OCIDIST_REGISTRY`)
 * 3. docker's `config.json` (`$DOCKER_CONFIG`, `~/.docker`): `credHelpers`, `credsStore`, then `auths`
 * 4. podman's `auth.json` (`$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers`, `~/.config/containers`)
 * 5. anonymous
 *
 * `make(options)` / `layer(options)` build that chain; `options.sources` picks and orders the sources
 * (`layer({ sources: [] })` is anonymous, `layer({ explicit, sources: [] })` fixed credentials).
 *
 * A missing, broken or hanging credential helper, or an unreadable config file, logs a warning
 * (`Effect.logWarning`) and the lookup moves on to the next source.
 *
 * @since 0.1.0
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Registry from "@ocidist/reference/Registry"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as CredentialHelper from "./CredentialHelper.js"
import * as DockerConfig from "./DockerConfig.js"

/**
 * No credentials: anonymous token requests, or nothing for a `Basic` challenge.
 *
 * @since 0.1.0
 * @category models
 */
export class Anonymous extends Data.TaggedClass("Anonymous")<{}> {}

/**
 * A user name and password (or a personal access token used as a password).
 *
 * @since 0.1.0
 * @category models
 */
export class Basic extends Data.TaggedClass("Basic")<{
  readonly username: string
  readonly password: Redacted.Redacted<string>
}> {}

/**
 * An OAuth2 refresh token ("identity token"), exchanged with `grant_type=refresh_token`.
 *
 * @since 0.1.0
 * @category models
 */
export class IdentityToken extends Data.TaggedClass("IdentityToken")<{
  readonly username?: string
  readonly token: Redacted.Redacted<string>
}> {}

/**
 * A pre-issued registry token, sent as `Authorization: Bearer` without any exchange.
 *
 * @since 0.1.0
 * @category models
 */
export class BearerToken extends Data.TaggedClass("BearerToken")<{
  readonly token: Redacted.Redacted<string>
}> {}

/**
 * @since 0.1.0
 * @category models
 */
export type Credential = Anonymous | Basic | IdentityToken | BearerToken

/**
 * @since 0.1.0
 * @category constructors
 */
export const anonymous: Credential = new Anonymous()

const redact = (value: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  typeof value === "string" ? Redacted.make(value) : value

/**
 * @since 0.1.0
 * @category constructors
 */
export const basic = (username: string, password: string | Redacted.Redacted<string>): Basic =>
  new Basic({ username, password: redact(password) })

/**
 * @since 0.1.0
 * @category constructors
 */
export const identityToken = (token: string | Redacted.Redacted<string>, username?: string): IdentityToken =>
  new IdentityToken({ token: redact(token), ...(username === undefined ? {} : { username }) })

/**
 * @since 0.1.0
 * @category constructors
 */
export const bearerToken = (token: string | Redacted.Redacted<string>): BearerToken =>
  new BearerToken({ token: redact(token) })

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The credential this source knows for `registry` (as in a reference: `docker.io`, `ghcr.io`, `host:5000`). */
  readonly lookup: (registry: string) => Effect.Effect<Option.Option<Credential>>
  /** `lookup`, or `Anonymous`. */
  readonly get: (registry: string) => Effect.Effect<Credential>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Credentials extends Context.Tag("@ocidist/auth/Credentials")<Credentials, Service>() {}

/**
 * Builds a service from a lookup function.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromLookup = (lookup: (registry: string) => Effect.Effect<Option.Option<Credential>>): Service =>
  Credentials.of({
    lookup,
    get: (registry) => Effect.map(lookup(registry), Option.getOrElse(() => anonymous))
  })

/**
 * Knows nothing: every registry is anonymous.
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: Service = fromLookup(() => Effect.succeed(Option.none()))

/**
 * Tries each source in order; the first that knows the registry wins.
 *
 * @since 0.1.0
 * @category combinators
 */
export const chain = (...sources: ReadonlyArray<Service>): Service =>
  fromLookup((registry) =>
    Effect.reduce(
      sources,
      Option.none<Credential>(),
      (found, source) => Option.isSome(found) ? Effect.succeed(found) : source.lookup(registry)
    )
  )

/**
 * Explicit credentials keyed by registry. Keys follow `config.json` conventions: any Docker Hub spelling
 * for Docker Hub, hosts with or without scheme, with their port.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEntries = (
  entries: Iterable<readonly [string, Credential]> | Readonly<Record<string, Credential>>
): Service => {
  const list: ReadonlyArray<readonly [string, Credential]> = Symbol.iterator in entries
    ? Array.from(entries as Iterable<readonly [string, Credential]>)
    : Object.entries(entries as Readonly<Record<string, Credential>>)
  return fromLookup((registry) =>
    Effect.succeed(Option.fromNullable(list.find(([key]) => DockerConfig.keyMatches(key, registry, "docker"))?.[1]))
  )
}

/**
 * Environment variables read by `environment`:
 *
 * - `OCIDIST_USERNAME` + `OCIDIST_PASSWORD`: Basic credentials
 * - `OCIDIST_IDENTITY_TOKEN` (with `OCIDIST_USERNAME` if set): an OAuth2 refresh token
 * - `OCIDIST_REGISTRY_TOKEN`: a pre-issued bearer token
 * - `OCIDIST_REGISTRY`: comma-separated registries the above apply to. Required: credentials from the
 *   environment are never sent to a registry it does not name (a warning is logged when it is missing)
 *
 * The first of registry token, identity token, username/password that is set wins.
 *
 * @since 0.1.0
 * @category constants
 */
export const ENV = {
  username: "OCIDIST_USERNAME",
  password: "OCIDIST_PASSWORD",
  identityToken: "OCIDIST_IDENTITY_TOKEN",
  registryToken: "OCIDIST_REGISTRY_TOKEN",
  registry: "OCIDIST_REGISTRY"
} as const

const envString = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Effect.map(Option.filter((s) => s.length > 0)),
    Effect.orElseSucceed(() => Option.none<string>())
  )

/**
 * Credentials from the environment (see `ENV`), read once through the current `ConfigProvider`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const environment: Effect.Effect<Service> = Effect.gen(function*() {
  const username = yield* envString(ENV.username)
  const password = yield* envString(ENV.password)
  const identity = yield* envString(ENV.identityToken)
  const registryToken = yield* envString(ENV.registryToken)
  const registries = Option.map(
    yield* envString(ENV.registry),
    (s) => s.split(",").map((r) => r.trim()).filter((r) => r.length > 0)
  )
  const credential: Option.Option<Credential> = Option.isSome(registryToken)
    ? Option.some(bearerToken(registryToken.value))
    : Option.isSome(identity)
    ? Option.some(identityToken(identity.value, Option.getOrUndefined(username)))
    : Option.isSome(username) && Option.isSome(password)
    ? Option.some(basic(username.value, password.value))
    : Option.none()
  if (Option.isSome(credential) && Option.isNone(registries)) {
    yield* Effect.logWarning(
      `${ENV.username}/${ENV.password}, ${ENV.identityToken} or ${ENV.registryToken} is set without ${ENV.registry}: ` +
        `ignored, so credentials are never sent to an unintended registry; set ${ENV.registry}=<registry>[,<registry>]`
    )
  }
  return fromLookup((registry) =>
    Effect.succeed(
      Option.filter(credential, () =>
        Option.match(registries, {
          onNone: () => false,
          onSome: (list) => list.some((r) => Registry.same(r, registry))
        }))
    )
  )
})

/**
 * Options of the file-based sources.
 *
 * @since 0.1.0
 * @category models
 */
export interface FileOptions {
  /** Read this file instead of the default locations. */
  readonly path?: string
  /** How credential helpers are run (timeout, extra environment). */
  readonly helper?: CredentialHelper.Options
}

const fromHelper = (
  helper: string,
  registry: string,
  options: CredentialHelper.Options | undefined
): Effect.Effect<Option.Option<Credential>, never, CommandExecutor.CommandExecutor> =>
  CredentialHelper.get(helper, Registry.credentialKey(registry), options).pipe(
    Effect.map(Option.map((c): Credential =>
      c.username === "<token>" || c.username.length === 0
        ? identityToken(c.secret)
        : basic(c.username, c.secret)
    )),
    Effect.catchAll((error) =>
      Effect.logWarning(`${error.message}; trying the next credential source`).pipe(
        Effect.as(Option.none<Credential>())
      )
    )
  )

const fromEntry = (entry: DockerConfig.AuthEntry): Option.Option<Credential> => {
  const decoded = entry.auth === undefined || entry.auth.length === 0
    ? Option.none()
    : DockerConfig.decodeAuth(entry.auth)
  const username = Option.isSome(decoded) ? decoded.value.username : entry.username
  const password = Option.isSome(decoded) ? decoded.value.password : entry.password
  if (entry.registrytoken !== undefined && entry.registrytoken.length > 0) {
    return Option.some(bearerToken(entry.registrytoken))
  }
  if (entry.identitytoken !== undefined && entry.identitytoken.length > 0) {
    return Option.some(identityToken(entry.identitytoken, username))
  }
  if (username !== undefined && username.length > 0 && password !== undefined) {
    return Option.some(basic(username, password))
  }
  return Option.none()
}

/**
 * Looks a registry up in one parsed config file: its credential helper first (`credHelpers` entry, else
 * `credsStore`), then `auths`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const lookupInConfig = (
  config: DockerConfig.ConfigFile,
  registry: string,
  flavor: DockerConfig.Flavor,
  options?: CredentialHelper.Options
): Effect.Effect<Option.Option<Credential>, never, CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const helper = DockerConfig.helperFor(config, registry, flavor)
    if (Option.isSome(helper)) {
      const found = yield* fromHelper(helper.value, registry, options)
      if (Option.isSome(found)) return found
    }
    for (const key of DockerConfig.matchingKeys(config.auths, registry, flavor)) {
      const found = fromEntry(config.auths[key]!)
      if (Option.isSome(found)) return found
    }
    return Option.none()
  })

const fromFiles = (
  paths: Effect.Effect<ReadonlyArray<string>, never, Path.Path>,
  flavor: DockerConfig.Flavor,
  options: FileOptions | undefined
): Effect.Effect<Service, never, FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor>()
    const files = options?.path === undefined ? yield* paths : [options.path]
    const lookup = (registry: string) =>
      Effect.gen(function*() {
        for (const path of files) {
          const config = yield* DockerConfig.read(path).pipe(
            Effect.catchAll((error) =>
              Effect.logWarning(`${error.message}; ignoring it`).pipe(Effect.as(Option.none<DockerConfig.ConfigFile>()))
            )
          )
          if (Option.isNone(config)) continue
          const found = yield* lookupInConfig(config.value, registry, flavor, options?.helper)
          if (Option.isSome(found)) return found
        }
        return Option.none<Credential>()
      }).pipe(Effect.provide(context), Effect.withSpan("Credentials.lookup", { attributes: { registry, flavor } }))
    return fromLookup(lookup)
  })

/**
 * Docker's `config.json` (`options.path`, else `$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`), located when the service is built. The file is read on every lookup, so a `login`
 * is seen at once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dockerConfig = (
  options?: FileOptions
): Effect.Effect<Service, never, FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> =>
  fromFiles(Effect.map(DockerConfig.dockerConfigPath, Option.toArray), "docker", options)

/**
 * Podman's `auth.json` (`options.path`, else `$REGISTRY_AUTH_FILE`, else
 * `$XDG_RUNTIME_DIR/containers/auth.json` then `~/.config/containers/auth.json`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const podman = (
  options?: FileOptions
): Effect.Effect<Service, never, FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> =>
  fromFiles(DockerConfig.podmanAuthPaths, "podman", options)

/**
 * Memoizes lookups per registry for `ttl` (default 5 minutes), so a credential helper is not run for every
 * request. Concurrent lookups of one registry share one run.
 *
 * @since 0.1.0
 * @category combinators
 */
export const memoize = (service: Service, ttl: Duration.DurationInput = Duration.minutes(5)): Service => {
  const ttlMillis = Duration.toMillis(ttl)
  const cache = new Map<
    string,
    { readonly at: number; readonly result: Deferred.Deferred<Option.Option<Credential>> }
  >()
  return fromLookup((registry) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.suspend(() => {
        const key = Registry.canonical(registry)
        const hit = cache.get(key)
        if (hit !== undefined && now - hit.at < ttlMillis) return Deferred.await(hit.result)
        const result = Deferred.unsafeMake<Option.Option<Credential>>(FiberId.none)
        cache.set(key, { at: now, result })
        return service.lookup(registry).pipe(
          Effect.intoDeferred(result),
          Effect.forkDaemon,
          Effect.zipRight(Deferred.await(result))
        )
      }))
  )
}

/**
 * A source of the default chain, tried in the order given after the explicit credentials.
 *
 * @since 0.2.0
 * @category models
 */
export type Source = "environment" | "docker" | "podman"

/**
 * Every source, in the default order.
 *
 * @since 0.2.0
 * @category constants
 */
export const SOURCES: ReadonlyArray<Source> = ["environment", "docker", "podman"]

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Explicit credentials keyed by registry (see `fromEntries`), tried before every source. */
  readonly explicit?: Iterable<readonly [string, Credential]> | Readonly<Record<string, Credential>> | undefined
  /**
   * The sources to try after `explicit`, in order. Default all of {@link SOURCES}; `[]` means the explicit
   * credentials or anonymous.
   */
  readonly sources?: ReadonlyArray<Source> | undefined
  /** Options of the docker `config.json` source. */
  readonly docker?: FileOptions | undefined
  /** Options of the podman `auth.json` source. */
  readonly podman?: FileOptions | undefined
  /** How long lookups are memoized per registry. Default 5 minutes. */
  readonly cacheTtl?: Duration.DurationInput | undefined
}

/**
 * What the file sources (docker, podman, credential helpers) need.
 *
 * @since 0.2.0
 * @category models
 */
export type FilePlatform = FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor

/**
 * The requirements of {@link make} for given options: none when `sources` is given and names no file
 * source (`[]`, `["environment"]`), else {@link FilePlatform}.
 *
 * @since 0.2.0
 * @category models
 */
export type Requirements<O extends Options> = O extends { readonly sources: infer S extends ReadonlyArray<Source> }
  ? [Extract<S[number], "docker" | "podman">] extends [never] ? never : FilePlatform
  : FilePlatform

/**
 * The credentials of `options`: explicit → the sources in order (default environment → docker
 * `config.json` (helpers, then `auths`) → podman `auth.json`) → anonymous, memoized per registry.
 *
 * ```ts
 * Credentials.make()                                           // the default chain
 * Credentials.make({ sources: [] })                            // anonymous
 * Credentials.make({ explicit: { "ghcr.io": Credentials.basic("me", token) }, sources: [] })
 * Credentials.make({ sources: ["environment"] })               // the environment only
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = <const O extends Options = {}>(options?: O): Effect.Effect<Service, never, Requirements<O>> => {
  const sources = options?.sources ?? SOURCES
  const build: Effect.Effect<Service, never, FilePlatform> = Effect.gen(function*() {
    const chained: Array<Service> = options?.explicit === undefined ? [] : [fromEntries(options.explicit)]
    for (const source of new Set(sources)) {
      switch (source) {
        case "environment":
          chained.push(yield* environment)
          break
        case "docker":
          chained.push(yield* dockerConfig(options?.docker))
          break
        case "podman":
          chained.push(yield* podman(options?.podman))
          break
      }
    }
    if (chained.length === 0) return none
    const all = chained.length === 1 ? chained[0]! : chain(...chained)
    return sources.length === 0 ? all : memoize(all, options?.cacheTtl)
  })
  // Only the file sources use FileSystem, Path and CommandExecutor: without them the effect needs nothing.
  return build as Effect.Effect<Service, never, never> as Effect.Effect<Service, never, Requirements<O>>
}

/**
 * The `Credentials` service of `options` (see {@link make}). Anonymous: `layer({ sources: [] })`; fixed
 * credentials: `layer({ explicit, sources: [] })`; the environment only: `layer({ sources: ["environment"] })`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = <const O extends Options = {}>(options?: O): Layer.Layer<Credentials, never, Requirements<O>> =>
  Layer.effect(Credentials, make(options))

/**
 * {@link layer} with options read from `Config`, e.g.
 * `Credentials.layerConfig({ cacheTtl: Config.duration("OCIDIST_CREDENTIALS_TTL") })`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<Credentials, ConfigError.ConfigError, FilePlatform> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), (resolved: Options) => layer(resolved)))

/**
 * The `Authenticator` answers registry challenges. Given the `WWW-Authenticate` values of a `401` it finds
 * credentials (through `Credentials`), exchanges them for a token covering the challenged and wanted
 * scopes, caches the token and returns the `Authorization` header to retry with. `cached` returns a header
 * to send up front, without network I/O.
 *
 * Behaviour:
 * - Tokens are cached per registry, realm, service and scope set, until `expires_in` (from `issued_at` when
 *   given; 60 s when absent). A token is refreshed in the background once it enters the last fifth of its
 *   life (at most 30 s before expiry), so callers keep getting a valid token.
 * - Concurrent `authorize` calls needing the same token share one exchange.
 * - Realm policy: credentials go only where the registry's own connection would take them. The realm must be
 *   `https`; an `http` realm is accepted only for a registry that is itself reached over plain HTTP
 *   (`Target.plainHttp`), never for an HTTPS registry, whatever its host (loopback too) and whether TLS
 *   verification is off. A realm with user info (`https://user:pass@host/token`) is refused: credentials are
 *   sent in the `Authorization` header only, never in a URL. A refused realm is a `TokenExchangeError` whose
 *   reason says why and what to do, before any request to it.
 * - Token responses over 128 KiB are rejected. Tokens and passwords are `Redacted` and never appear in
 *   errors, logs or span attributes.
 *
 * Layers: `layer(options)` wires the default `Credentials`; `layerWithoutDependencies(options)` leaves them
 * (and the `HttpClient`) to the caller.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import type * as EffectScope from "effect/Scope"
import type { AuthenticatorError, TokenExchangeError } from "./AuthError.js"
import * as Credentials from "./Credentials.js"
import * as internal from "./internal/authenticator.js"
import type * as Scope from "./Scope.js"

/**
 * What a request needs access to.
 *
 * @since 0.1.0
 * @category models
 */
export interface Target {
  /** The registry as in a reference: `docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
  readonly registry: string
  /** The scopes the request needs, e.g. `repository:library/ubuntu:pull`. */
  readonly scopes: ReadonlyArray<Scope.Scope>
  /**
   * The registry was explicitly allowed over plain HTTP (or, for callers that do not set `plainHttp`, marked
   * insecure). Read as `plainHttp` when that is absent.
   */
  readonly insecure: boolean
  /**
   * Whether the registry itself is reached over plain HTTP. Only then is an `http` token realm accepted: the
   * credentials of an HTTPS registry never go to a plain-HTTP realm (TLS verification being off does not
   * change that). When absent, `insecure` decides, as before 0.4.0.
   *
   * @since 0.4.0
   */
  readonly plainHttp?: boolean | undefined
}

/**
 * Extra information for `authorize`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthorizeOptions {
  /**
   * The `Authorization` value the request that got the `401` carried, if any. A cached token equal to it is
   * dropped instead of being returned again; a rejected `Basic` or pre-issued token fails with `CredentialsRejected`;
   * an `insufficient_scope` refusal of a token that was asked for the challenged scopes fails with
   * `InsufficientScope`. Without it, concurrent callers may see a spurious `InsufficientScope` or an extra
   * exchange, so pass it whenever the request carried a header from `cached`.
   */
  readonly rejected?: Redacted.Redacted<string>
  /**
   * How to retry a token exchange that failed transiently (a `TokenExchangeError` with `transient`: the token
   * server unreachable, its response cut, no answer in time, 408, 429 or 5xx), fed with those errors; a
   * failure's `retryAfterMillis` is there for the schedule to honour. Callers waiting for the same exchange
   * share it, retries included (the schedule of the caller that started it applies). Without it, a failed
   * exchange is not retried. A 401/403 from the token server (`CredentialsRejected`) is never retried.
   *
   * @since 0.4.0
   */
  readonly retry?: Schedule.Schedule<unknown, TokenExchangeError> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * `Authorization` value to send up front: a cached Bearer token covering the scopes, or the Basic (or
   * pre-issued Bearer) value of a registry known to take it. No network I/O.
   */
  readonly cached: (target: Target) => Effect.Effect<Option.Option<Redacted.Redacted<string>>>
  /**
   * After a `401`: given the response's `WWW-Authenticate` values, find credentials, exchange them for a
   * token (merging the challenge's scope with the target's), cache it and return the value to retry with.
   * `None` when no challenge can be answered (e.g. `Basic` without credentials, or an unknown scheme).
   */
  readonly authorize: (
    target: Target,
    wwwAuthenticate: ReadonlyArray<string>,
    options?: AuthorizeOptions
  ) => Effect.Effect<Option.Option<Redacted.Redacted<string>>, AuthenticatorError>
  /** Forget cached tokens (and a remembered Basic value) for the target. */
  readonly invalidate: (target: Target) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Authenticator extends Context.Tag("@ocidist/auth/Authenticator")<Authenticator, Service>() {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Exchange Basic credentials with the OAuth2 password grant (`POST`, falling back to `GET` on 404/405)
   * instead of the Docker `GET`. Default `false`. Identity tokens always use `POST`.
   */
  readonly oauth2?: boolean | undefined
  /** `client_id` sent with OAuth2 requests. Default `ocidist`. */
  readonly clientId?: string | undefined
  /** Give up on a token server after this long. Default 30 seconds. */
  readonly exchangeTimeout?: Duration.DurationInput | undefined
}

/**
 * Builds an authenticator. Background refreshes run in the given scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<Service, never, HttpClient.HttpClient | Credentials.Credentials | EffectScope.Scope> = internal.make

/**
 * The authenticator; its `HttpClient` and `Credentials` stay requirements of the layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWithoutDependencies = (
  options: Options = {}
): Layer.Layer<Authenticator, never, HttpClient.HttpClient | Credentials.Credentials> =>
  Layer.scoped(Authenticator, make(options))

/**
 * The authenticator with the default credentials (`Credentials.layer()`: environment, docker `config.json`,
 * podman `auth.json`). Give it other credentials with
 * `layerWithoutDependencies(options).pipe(Layer.provide(Credentials.layer({ … })))`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<Authenticator, never, HttpClient.HttpClient | Credentials.FilePlatform> =>
  layerWithoutDependencies(options).pipe(Layer.provide(Credentials.layer()))

/**
 * {@link layer} with options read from `Config`, e.g.
 * `Authenticator.layerConfig({ oauth2: Config.boolean("OCIDIST_OAUTH2") })`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<Authenticator, ConfigError.ConfigError, HttpClient.HttpClient | Credentials.FilePlatform> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), layer))

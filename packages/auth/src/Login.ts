/**
 * `login` and `logout`, as `docker login`/`docker logout` do them: `login` first checks the credentials
 * against the registry (`GET /v2/`, answering its challenge with them), then stores them in docker's
 * `config.json`, through the credential helper when one is configured (`credHelpers` entry or
 * `credsStore`), else as a base64 `auth` entry. The file is rewritten atomically (temp file + rename, mode
 * 0600) and every other key is kept.
 *
 * @since 0.1.0
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Path from "@effect/platform/Path"
import * as Registry from "@ocidist/reference/Registry"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Authenticator from "./Authenticator.js"
import { type AuthenticatorError, CredentialsRejected, CredentialStoreError, LoginError } from "./AuthError.js"
import * as CredentialHelper from "./CredentialHelper.js"
import * as Credentials from "./Credentials.js"
import * as DockerConfig from "./DockerConfig.js"

/**
 * Credentials `login` accepts.
 *
 * @since 0.1.0
 * @category models
 */
export type LoginCredential = Credentials.Basic | Credentials.IdentityToken

/**
 * @since 0.1.0
 * @category models
 */
export interface VerifyOptions {
  /** The registry as in a reference: `docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
  readonly registry: string
  readonly credential: LoginCredential
  /**
   * Speak plain HTTP to the registry (and accept an `http` token realm). Default: `true` only for
   * `localhost`, `*.localhost`, `127.0.0.0/8` and `::1`.
   */
  readonly insecure?: boolean
  /** Token exchange options (OAuth2 password grant, client id). */
  readonly authenticator?: Authenticator.Options
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LoginOptions extends VerifyOptions {
  /** The config file to write. Default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  readonly configPath?: string
  /** How the credential helper is run. */
  readonly helper?: CredentialHelper.Options
  /** Check the credentials against the registry first. Default `true`. */
  readonly verify?: boolean
}

/**
 * Where `login` stored the credentials.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoginResult {
  /** The config file written. */
  readonly path: string
  /** The key used: `https://index.docker.io/v1/` for Docker Hub, else the host. */
  readonly key: string
  /** The helper that holds the secret, or `None` when it went into the file. */
  readonly helper: Option.Option<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LogoutOptions {
  readonly registry: string
  readonly configPath?: string
  readonly helper?: CredentialHelper.Options
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LogoutResult {
  readonly path: string
  /** Whether any credentials were found and removed. */
  readonly removed: boolean
}

const drain = (response: { readonly stream: Stream.Stream<Uint8Array, unknown> }) =>
  response.stream.pipe(
    Stream.scan(0, (size, bytes) => size + bytes.length),
    Stream.takeWhile((size) => size < 64 * 1024),
    Stream.runDrain,
    Effect.ignore
  )

/**
 * Checks credentials against a registry: `GET /v2/`, answer the challenge with them (Basic, or a token
 * exchange), and expect `200`.
 *
 * @since 0.1.0
 * @category operations
 */
export const verify: (
  options: VerifyOptions
) => Effect.Effect<void, AuthenticatorError | LoginError, HttpClient.HttpClient> = Effect.fn("Login.verify")(
  function*(options: VerifyOptions) {
    const http = yield* HttpClient.HttpClient
    const insecure = options.insecure ?? Registry.isLoopback(options.registry)
    const url = `${insecure ? "http" : "https"}://${Registry.apiHost(options.registry)}/v2/`
    const fail = (reason: string, status?: number, cause?: unknown) =>
      new LoginError({
        registry: options.registry,
        url,
        reason,
        ...(status === undefined ? {} : { status }),
        ...(cause === undefined ? {} : { cause })
      })
    const get = (authorization: Option.Option<Redacted.Redacted<string>>) => {
      const request = HttpClientRequest.get(url)
      return http.execute(
        Option.isSome(authorization)
          ? HttpClientRequest.setHeader(request, "authorization", Redacted.value(authorization.value))
          : request
      ).pipe(
        // The socket or TLS error as `cause`, never the HttpClientError: its request carries the credentials.
        Effect.catchTag(
          "RequestError",
          (e) =>
            Effect.fail(
              fail(
                `request failed (${e.reason}${e.cause instanceof Error ? `: ${e.cause.message}` : ""})`,
                undefined,
                e.cause
              )
            )
        ),
        Effect.catchTag("ResponseError", (e) => Effect.fail(fail(e.reason, e.response.status, e.cause)))
      )
    }
    const first = yield* get(Option.none())
    yield* drain(first)
    if (first.status === 200) {
      return
    }
    if (first.status !== 401) return yield* fail("expected 200 or 401", first.status)
    const challenge = first.headers["www-authenticate"]
    if (challenge === undefined) return yield* fail("a 401 without a WWW-Authenticate challenge", 401)
    const target: Authenticator.Target = { registry: options.registry, scopes: [], insecure, plainHttp: insecure }
    yield* Effect.scoped(Effect.gen(function*() {
      const authenticator = yield* Authenticator.make(options.authenticator)
      const header = yield* authenticator.authorize(target, [challenge])
      if (Option.isNone(header)) {
        return yield* fail(`the registry's challenge cannot be answered with these credentials (${challenge})`, 401)
      }
      const second = yield* get(header)
      yield* drain(second)
      if (second.status === 200) return
      if (second.status === 401) {
        return yield* new CredentialsRejected({
          registry: options.registry,
          credential: options.credential._tag,
          reason: "the registry rejected the credentials"
        })
      }
      return yield* fail("expected 200 after authenticating", second.status)
    })).pipe(
      Effect.provideService(
        Credentials.Credentials,
        Credentials.fromEntries([[Registry.credentialKey(options.registry), options.credential]])
      )
    )
  }
)

const configPathOf = (path: string | undefined) =>
  path !== undefined ? Effect.succeed(path) : DockerConfig.dockerConfigPath.pipe(
    Effect.flatMap(Option.match({
      onNone: () =>
        Effect.fail(
          new CredentialStoreError({
            path: "~/.docker/config.json",
            operation: "write",
            reason: "neither DOCKER_CONFIG nor HOME is set"
          })
        ),
      onSome: Effect.succeed
    }))
  )

const authsOf = (document: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const auths = document["auths"]
  return typeof auths === "object" && auths !== null && !Array.isArray(auths)
    ? { ...(auths as Record<string, unknown>) }
    : {}
}

/**
 * Verifies credentials (unless `verify: false`) and stores them in docker's `config.json`.
 *
 * @since 0.1.0
 * @category operations
 */
export const login: (
  options: LoginOptions
) => Effect.Effect<
  LoginResult,
  AuthenticatorError | LoginError | CredentialStoreError,
  HttpClient.HttpClient | FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor
> = Effect.fn("Login.login")(function*(options: LoginOptions) {
  if (options.verify !== false) yield* verify(options)
  const path = yield* configPathOf(options.configPath)
  const existing = yield* DockerConfig.read(path)
  const document: Record<string, unknown> = Option.match(existing, { onNone: () => ({}), onSome: (c) => c.document })
  const key = Registry.credentialKey(options.registry)
  const helper = Option.flatMap(existing, (config) => DockerConfig.helperFor(config, options.registry))
  const auths = authsOf(document)
  for (const old of DockerConfig.matchingKeys(auths, options.registry, "docker")) delete auths[old]
  const credential = options.credential
  if (Option.isSome(helper)) {
    yield* CredentialHelper.store(helper.value, {
      serverUrl: key,
      username: credential._tag === "Basic" ? credential.username : "<token>",
      secret: credential._tag === "Basic" ? credential.password : credential.token
    }, options.helper)
    auths[key] = {}
  } else if (credential._tag === "Basic") {
    auths[key] = { auth: DockerConfig.encodeAuth(credential.username, Redacted.value(credential.password)) }
  } else {
    auths[key] = {
      ...(credential.username === undefined ? {} : { auth: DockerConfig.encodeAuth(credential.username, "") }),
      identitytoken: Redacted.value(credential.token)
    }
  }
  yield* DockerConfig.write(path, { ...document, auths })
  return { path, key, helper } satisfies LoginResult
})

/**
 * Removes a registry's credentials from docker's `config.json` (every key spelling of it) and erases them
 * from its credential helper, if one is configured.
 *
 * @since 0.1.0
 * @category operations
 */
export const logout: (
  options: LogoutOptions
) => Effect.Effect<
  LogoutResult,
  AuthenticatorError | CredentialStoreError,
  FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor
> = Effect.fn("Login.logout")(function*(options: LogoutOptions) {
  const path = yield* configPathOf(options.configPath)
  const existing = yield* DockerConfig.read(path)
  if (Option.isNone(existing)) return { path, removed: false } satisfies LogoutResult
  const config = existing.value
  const auths = authsOf(config.document)
  const keys = DockerConfig.matchingKeys(auths, options.registry, "docker")
  const hadSecret = keys.some((k) => {
    const entry = config.auths[k]
    return entry !== undefined && Object.keys(entry).length > 0
  })
  for (const key of keys) delete auths[key]
  if (keys.length > 0) yield* DockerConfig.write(path, { ...config.document, auths })
  const helper = DockerConfig.helperFor(config, options.registry)
  let erased = false
  if (Option.isSome(helper)) {
    const serverUrl = Registry.credentialKey(options.registry)
    const had = yield* CredentialHelper.get(helper.value, serverUrl, options.helper).pipe(
      Effect.map(Option.isSome),
      Effect.orElseSucceed(() => true)
    )
    if (had) {
      yield* CredentialHelper.erase(helper.value, serverUrl, options.helper)
      erased = true
    }
  }
  return { path, removed: hadSecret || erased || keys.length > 0 } satisfies LogoutResult
})

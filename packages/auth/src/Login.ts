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
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
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
   * `true`: speak plain HTTP to the registry (and accept an `http` token realm); `false`: HTTPS. Default:
   * `insecure` when that is set, else HTTPS, except for loopback registries (`localhost`, `*.localhost`,
   * `127.0.0.0/8`, `::1`): they are tried over HTTPS first and spoken to over plain HTTP when the TLS handshake
   * shows a plain-HTTP server (`Registry.speaksPlainHttp`), as the registry client does.
   *
   * @since 0.4.0
   */
  readonly plainHttp?: boolean
  /** Before 0.4.0, what `plainHttp` is now (it is read as `plainHttp` when that is not set). */
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

/** The messages (and codes) of an error and its causes, for `Registry.speaksPlainHttp`. */
const describeCause = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    parts.push(typeof code === "string" ? `${current.message} (${code})` : current.message)
    current = (current as { cause?: unknown }).cause
  }
  return parts.join(": ")
}

/** The start of a (small) error body as one line of text: at most 200 characters, "" when there is none. */
const excerpt = (response: { readonly stream: Stream.Stream<Uint8Array, unknown> }): Effect.Effect<string> =>
  response.stream.pipe(
    Stream.scan(new Uint8Array(0), (all, bytes) => {
      const next = new Uint8Array(all.length + bytes.length)
      next.set(all)
      next.set(bytes, all.length)
      return next
    }),
    Stream.takeUntil((all) => all.length >= 1024),
    Stream.runLast,
    Effect.map((last) =>
      Option.match(last, {
        onNone: () => "",
        onSome: (bytes) => {
          const text = new TextDecoder().decode(bytes.subarray(0, 1024)).replace(/\s+/g, " ").trim()
          return text.length > 200 ? `${text.slice(0, 200)}…` : text
        }
      })
    ),
    Effect.orElseSucceed(() => "")
  )

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
    const chosen = options.plainHttp ?? options.insecure
    // a loopback registry without a choice: HTTPS first, plain HTTP once its handshake shows that
    let probe = chosen === undefined && Registry.isLoopback(options.registry)
    let plainHttp = chosen ?? false
    let url = `${plainHttp ? "http" : "https"}://${Registry.apiHost(options.registry)}/v2/`
    const fail = (reason: string, status?: number, cause?: unknown) =>
      new LoginError({
        registry: options.registry,
        url,
        reason,
        ...(status === undefined ? {} : { status }),
        ...(cause === undefined ? {} : { cause })
      })
    const get = (
      authorization: Option.Option<Redacted.Redacted<string>>
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, LoginError> => {
      const request = HttpClientRequest.get(url)
      return http.execute(
        Option.isSome(authorization)
          ? HttpClientRequest.setHeader(request, "authorization", Redacted.value(authorization.value))
          : request
      ).pipe(
        // The socket or TLS error as `cause`, never the HttpClientError: its request carries the credentials.
        Effect.catchTag("RequestError", (e) => {
          if (probe && Registry.speaksPlainHttp(describeCause(e.cause))) {
            probe = false
            plainHttp = true
            url = `http:${url.slice("https:".length)}`
            return get(authorization)
          }
          return Effect.fail(
            fail(
              `request failed (${e.reason}${e.cause instanceof Error ? `: ${e.cause.message}` : ""})`,
              undefined,
              e.cause
            )
          )
        }),
        Effect.catchTag("ResponseError", (e) => Effect.fail(fail(e.reason, e.response.status, e.cause))),
        // the scheme is settled by the first answer
        Effect.tap(() => Effect.sync(() => (probe = false)))
      )
    }
    const first = yield* get(Option.none())
    if (first.status !== 200 && first.status !== 401) {
      // what the server said, in short: e.g. a Go server's "Client sent an HTTP request to an HTTPS server."
      const said = yield* excerpt(first)
      return yield* fail(`expected 200 or 401${said === "" ? "" : ` (the server answered "${said}")`}`, first.status)
    }
    yield* drain(first)
    if (first.status === 200) {
      return
    }
    const challenge = first.headers["www-authenticate"]
    if (challenge === undefined) return yield* fail("a 401 without a WWW-Authenticate challenge", 401)
    const target: Authenticator.Target = { registry: options.registry, scopes: [], insecure: plainHttp, plainHttp }
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

/**
 * `@ocidist/auth`: `WWW-Authenticate` challenges, registry credentials (environment, docker `config.json`,
 * credential helpers, podman `auth.json`), token exchange and caching, and the `Authenticator` that
 * `@ocidist/distribution` uses to answer `401`s.
 *
 * @since 0.1.0
 */

/**
 * Errors: `ChallengeParseError`, `CredentialHelperError`, `TokenExchangeError`, `CredentialsRejected`,
 * `InsufficientScope`, `CredentialStoreError`, `LoginError`; `isAuthError`.
 *
 * @since 0.1.0
 */
export * as AuthError from "./AuthError.js"

/**
 * The `Authenticator` service: cached `Authorization` values and answers to `401` challenges.
 *
 * @since 0.1.0
 */
export * as Authenticator from "./Authenticator.js"

/**
 * `WWW-Authenticate` parsing (RFC 9110).
 *
 * @since 0.1.0
 */
export * as Challenge from "./Challenge.js"

/**
 * The docker credential helper protocol.
 *
 * @since 0.1.0
 */
export * as CredentialHelper from "./CredentialHelper.js"

/**
 * The `Credentials` service and its sources.
 *
 * @since 0.1.0
 */
export * as Credentials from "./Credentials.js"

/**
 * Docker `config.json` / podman `auth.json`: locations, parsing, key matching, atomic writes.
 *
 * @since 0.1.0
 */
export * as DockerConfig from "./DockerConfig.js"

/**
 * `login` / `logout`.
 *
 * @since 0.1.0
 */
export * as Login from "./Login.js"

/**
 * Token scopes (`repository:name:pull,push`).
 *
 * @since 0.1.0
 */
export * as Scope from "./Scope.js"

/**
 * The errors of `@ocidist/auth`. Every one is a `Schema.TaggedError` branded with {@link TypeId}, so callers
 * match them with `Effect.catchTag` (tags are unique across ocidist's packages) and test for any of them with
 * `isAuthError`. None of them ever carries a password, token or credential-helper output; where a failure
 * has an underlying cause (a spawn error, a transport error) it is kept in `cause`, next to a safe message.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~@ocidist/auth/AuthError"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Whether a value is an error of `@ocidist/auth` (tested on the brand, not on `_tag`).
 *
 * @since 0.2.0
 * @category guards
 */
export const isAuthError = (u: unknown): u is AuthError => Predicate.hasProperty(u, TypeId)

/**
 * A `WWW-Authenticate` header that does not follow RFC 9110's grammar.
 *
 * @since 0.1.0
 * @category errors
 */
export class ChallengeParseError
  extends Schema.TaggedError<ChallengeParseError>("@ocidist/auth/ChallengeParseError")("ChallengeParseError", {
    /** The header value, cut to 256 characters. */
    input: Schema.String,
    /** 0-based character offset where parsing stopped. */
    position: Schema.Number,
    reason: Schema.String
  })
{
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `Malformed WWW-Authenticate header at character ${this.position}: ${this.reason} (header: ${this.input})`
  }
}

/**
 * A docker credential helper (`docker-credential-<name>`) that could not be run, crashed, timed out or
 * answered something that is not the helper protocol.
 *
 * @since 0.1.0
 * @category errors
 */
export class CredentialHelperError
  extends Schema.TaggedError<CredentialHelperError>("@ocidist/auth/CredentialHelperError")("CredentialHelperError", {
    /** The helper suffix, e.g. `osxkeychain` for `docker-credential-osxkeychain`. */
    helper: Schema.String,
    action: Schema.Literal("get", "store", "erase", "list"),
    /** The server the helper was asked about. */
    serverUrl: Schema.optional(Schema.String),
    reason: Schema.String,
    exitCode: Schema.optional(Schema.Number),
    /** What made the helper fail (a spawn error), when there is one. */
    cause: Schema.optional(Schema.Defect)
  })
{
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const server = this.serverUrl === undefined ? "" : ` for ${this.serverUrl}`
    const code = this.exitCode === undefined ? "" : ` (exit code ${this.exitCode})`
    return `Credential helper docker-credential-${this.helper} ${this.action}${server} failed${code}: ${this.reason}`
  }
}

/**
 * Getting a token from a token server (`realm`) failed for a reason other than rejected credentials:
 * a refused realm, an unexpected status, an oversized or malformed response, or a transport failure.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenExchangeError
  extends Schema.TaggedError<TokenExchangeError>("@ocidist/auth/TokenExchangeError")("TokenExchangeError", {
    /** The token server URL without its query string. */
    realm: Schema.String,
    /** The HTTP status, when the server answered. */
    status: Schema.optional(Schema.Number),
    reason: Schema.String,
    /** The transport or decoding failure behind `reason`, when there is one. */
    cause: Schema.optional(Schema.Defect),
    /**
     * Whether the failure may pass on its own: the token server could not be reached, cut its response, did
     * not answer in time, or answered 408, 429 or 5xx. Such exchanges are retried with
     * `AuthorizeOptions.retry`.
     *
     * @since 0.4.0
     */
    transient: Schema.optional(Schema.Boolean),
    /**
     * The delay the token server asked for (`Retry-After` of a 429 or 503), in milliseconds.
     *
     * @since 0.4.0
     */
    retryAfterMillis: Schema.optional(Schema.Number)
  })
{
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    return `Token exchange with ${this.realm} failed${status}: ${this.reason}`
  }
}

/**
 * The registry or its token server rejected the credentials (or demanded credentials and none were found).
 * (`@ocidist/distribution` reports a refused request as its own `Unauthorized`, with the registry's answer.)
 *
 * @since 0.1.0
 * @category errors
 */
export class CredentialsRejected
  extends Schema.TaggedError<CredentialsRejected>("@ocidist/auth/CredentialsRejected")("CredentialsRejected", {
    registry: Schema.String,
    /** The token server, when the rejection came from one. */
    realm: Schema.optional(Schema.String),
    /** What kind of credential was sent: `Anonymous`, `Basic`, `IdentityToken` or `BearerToken`. */
    credential: Schema.String,
    reason: Schema.String
  })
{
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const via = this.realm === undefined ? "" : ` (token server ${this.realm})`
    const hint = this.credential === "Anonymous"
      ? "; no credentials were found for it: log in or set OCIDIST_USERNAME/OCIDIST_PASSWORD"
      : ""
    return `Authentication to ${this.registry} failed with ${this.credential} credentials${via}: ${this.reason}${hint}`
  }
}

/**
 * The registry answered `insufficient_scope`: the token does not grant the listed scopes, even after asking
 * for them.
 *
 * @since 0.1.0
 * @category errors
 */
export class InsufficientScope
  extends Schema.TaggedError<InsufficientScope>("@ocidist/auth/InsufficientScope")("InsufficientScope", {
    registry: Schema.String,
    /** The scopes the registry asked for, e.g. `repository:library/ubuntu:push`. */
    scopes: Schema.Array(Schema.String),
    description: Schema.optional(Schema.String)
  })
{
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const detail = this.description === undefined ? "" : ` (${this.description})`
    return `Access denied by ${this.registry}: the credentials do not grant ${
      this.scopes.join(" ") || "the requested access"
    }${detail}`
  }
}

/**
 * Reading or writing a credentials file (`config.json`, `auth.json`) failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class CredentialStoreError
  extends Schema.TaggedError<CredentialStoreError>("@ocidist/auth/CredentialStoreError")("CredentialStoreError", {
    path: Schema.String,
    operation: Schema.Literal("read", "write"),
    reason: Schema.String,
    /** The file-system failure behind `reason`, when there is one. */
    cause: Schema.optional(Schema.Defect)
  })
{
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `Could not ${this.operation} ${this.path}: ${this.reason}`
  }
}

/**
 * The registry could not be reached or answered something other than success or `401` while checking
 * credentials (`Login.verify`).
 *
 * @since 0.1.0
 * @category errors
 */
export class LoginError extends Schema.TaggedError<LoginError>("@ocidist/auth/LoginError")("LoginError", {
  registry: Schema.String,
  url: Schema.String,
  status: Schema.optional(Schema.Number),
  reason: Schema.String,
  /** The transport failure behind `reason`, when there is one. */
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    return `Could not verify credentials for ${this.registry} at ${this.url}${status}: ${this.reason}`
  }
}

/**
 * Every error an `Authenticator` can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type AuthenticatorError =
  | ChallengeParseError
  | CredentialHelperError
  | TokenExchangeError
  | CredentialsRejected
  | InsufficientScope

/**
 * Every error of `@ocidist/auth`.
 *
 * @since 0.1.0
 * @category errors
 */
export type AuthError = AuthenticatorError | CredentialStoreError | LoginError

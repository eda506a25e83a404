/**
 * Errors of the registry client. Every error carries the registry, the repository (when there is one) and
 * the operation (`manifests.get`, `blobs.upload`, …); none carries credentials or tokens. Registry error
 * bodies (the spec's `{"errors":[{"code","message"}]}` envelope) are decoded into `errors`, read bounded to
 * 64 KiB. Every class is branded with {@link TypeId} (`isRegistryError` tests the brand); `_tag`s are unique
 * across ocidist's packages. Content that does not match its descriptor fails with `DigestMismatch`
 * (`@ocidist/reference`) or `SizeMismatch` (`@ocidist/spec`), shared by every store.
 *
 * @since 0.1.0
 */
import type { DigestMismatch } from "@ocidist/reference/ReferenceError"
import type { SizeMismatch } from "@ocidist/spec/SpecError"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~@ocidist/distribution/RegistryError"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Whether a value is an error of `@ocidist/distribution` (tested on the brand, not on `_tag`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isRegistryError = (u: unknown): u is RegistryError => Predicate.hasProperty(u, TypeId)

/**
 * The error codes of the OCI distribution spec (plus `TOOMANYREQUESTS` and `UNAVAILABLE`, which registries
 * send too). Unknown codes are kept as they come.
 *
 * @since 0.1.0
 * @category models
 */
export const KNOWN_CODES = [
  "BLOB_UNKNOWN",
  "BLOB_UPLOAD_INVALID",
  "BLOB_UPLOAD_UNKNOWN",
  "DIGEST_INVALID",
  "MANIFEST_BLOB_UNKNOWN",
  "MANIFEST_INVALID",
  "MANIFEST_UNKNOWN",
  "NAME_INVALID",
  "NAME_UNKNOWN",
  "SIZE_INVALID",
  "UNAUTHORIZED",
  "DENIED",
  "UNSUPPORTED",
  "TOOMANYREQUESTS",
  "UNAVAILABLE"
] as const

/**
 * One entry of a registry error envelope.
 *
 * @since 0.1.0
 * @category models
 */
export const ErrorEntry = Schema.Struct({
  code: Schema.String,
  message: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ErrorEntry extends Schema.Schema.Type<typeof ErrorEntry> {}

const context = {
  registry: Schema.String,
  repository: Schema.optional(Schema.String),
  operation: Schema.String
}

const response = {
  ...context,
  method: Schema.String,
  status: Schema.Number,
  errors: Schema.Array(ErrorEntry)
}

const where = (self: { readonly registry: string; readonly repository?: string | undefined }): string =>
  self.repository === undefined ? self.registry : `${self.registry}/${self.repository}`

const registryMessages = (errors: ReadonlyArray<ErrorEntry>): string => {
  if (errors.length === 0) return ""
  const text = errors.map((e) => e.message === undefined || e.message === "" ? e.code : `${e.code}: ${e.message}`)
  return ` (registry says: ${text.join("; ")})`
}

/**
 * A manifest, blob, upload session, tag or repository does not exist (HTTP 404, or one of the `*_UNKNOWN`
 * codes).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedError<NotFound>("@ocidist/distribution/NotFound")("NotFound", {
  ...response,
  target: Schema.String
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  get codes(): ReadonlyArray<string> {
    return this.errors.map((e) => e.code)
  }
  override get message(): string {
    return `${this.operation}: ${this.target} not found in ${where(this)} (HTTP ${this.status})${
      registryMessages(this.errors)
    }`
  }
}

/**
 * The registry refused the credentials, or none were available (HTTP 401 after authenticating).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>("@ocidist/distribution/Unauthorized")(
  "Unauthorized",
  {
    ...response,
    reason: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  get codes(): ReadonlyArray<string> {
    return this.errors.map((e) => e.code)
  }
  override get message(): string {
    const reason = this.reason === undefined ? "" : `: ${this.reason}`
    return `${this.operation}: HTTP ${this.status} from ${this.registry}${
      this.repository === undefined ? "" : ` for repository ${this.repository}`
    }${reason}${registryMessages(this.errors)}; run \`ocidist login ${this.registry}\` or check the credentials`
  }
}

/**
 * Authenticated, but not allowed (HTTP 403, `DENIED`, or a token without the needed scope).
 *
 * @since 0.1.0
 * @category errors
 */
export class Denied extends Schema.TaggedError<Denied>("@ocidist/distribution/Denied")("Denied", {
  ...response,
  reason: Schema.optional(Schema.String)
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  get codes(): ReadonlyArray<string> {
    return this.errors.map((e) => e.code)
  }
  override get message(): string {
    const reason = this.reason === undefined ? "" : `: ${this.reason}`
    return `${this.operation}: access to ${where(this)} denied (HTTP ${this.status})${reason}${
      registryMessages(this.errors)
    }; the credentials do not grant this operation`
  }
}

/**
 * Rate limited (HTTP 429 or `TOOMANYREQUESTS`) after the retries ran out, or with a `Retry-After` longer
 * than the client is configured to wait.
 *
 * @since 0.1.0
 * @category errors
 */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>("@ocidist/distribution/TooManyRequests")(
  "TooManyRequests",
  {
    ...response,
    retryAfterMillis: Schema.optional(Schema.Number)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  get codes(): ReadonlyArray<string> {
    return this.errors.map((e) => e.code)
  }
  override get message(): string {
    const after = this.retryAfterMillis === undefined
      ? ""
      : `; the registry asks to retry after ${Math.ceil(this.retryAfterMillis / 1000)} s`
    return `${this.operation}: ${this.registry} is rate limiting requests (HTTP ${this.status})${after}${
      registryMessages(this.errors)
    }`
  }
}

/**
 * Any other error response of the registry (4xx/5xx), with the spec codes it sent: `MANIFEST_INVALID`,
 * `DIGEST_INVALID`, `SIZE_INVALID`, `NAME_INVALID`, `BLOB_UPLOAD_INVALID`, `UNSUPPORTED`, …
 *
 * @since 0.1.0
 * @category errors
 */
export class RegistryResponseError extends Schema.TaggedError<RegistryResponseError>(
  "@ocidist/distribution/RegistryResponseError"
)("RegistryResponseError", response) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * @since 0.1.0
   */
  get codes(): ReadonlyArray<string> {
    return this.errors.map((e) => e.code)
  }
  override get message(): string {
    return `${this.operation}: ${this.method} on ${where(this)} failed with HTTP ${this.status}${
      registryMessages(this.errors)
    }`
  }
}

/**
 * The registry answered with a status the protocol does not allow at this step (for example `200` where an
 * upload must answer `202`), or a redirect that cannot be followed.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnexpectedStatus extends Schema.TaggedError<UnexpectedStatus>("@ocidist/distribution/UnexpectedStatus")(
  "UnexpectedStatus",
  {
    ...context,
    method: Schema.String,
    status: Schema.Number,
    expected: Schema.String
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `${this.operation}: ${this.method} on ${where(this)} answered HTTP ${this.status}, expected ${this.expected}`
  }
}

/**
 * The registry's answer breaks the protocol: missing or foreign upload `Location`, malformed JSON, bad
 * `Content-Range`, too many pages, too many redirects, …
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidResponse extends Schema.TaggedError<InvalidResponse>("@ocidist/distribution/InvalidResponse")(
  "InvalidResponse",
  {
    ...context,
    reason: Schema.String,
    /** The failure behind it (a decoding error, the source stream's error), when there is one. */
    cause: Schema.optional(Schema.Defect)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `${this.operation}: invalid response from ${where(this)}: ${this.reason}`
  }
}

/**
 * Content is larger than allowed: a manifest above the 4 MiB cap, a blob longer than its descriptor says.
 *
 * @since 0.1.0
 * @category errors
 */
export class SizeExceeded extends Schema.TaggedError<SizeExceeded>("@ocidist/distribution/SizeExceeded")(
  "SizeExceeded",
  {
    ...context,
    what: Schema.String,
    limit: Schema.Number,
    size: Schema.optional(Schema.Number)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const size = this.size === undefined ? "larger than" : `${this.size} bytes, above`
    return `${this.operation}: ${this.what} from ${where(this)} is ${size} the limit of ${this.limit} bytes`
  }
}

/**
 * The request did not get an answer: connection refused or reset, TLS failure, DNS, timeout.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Schema.TaggedError<TransportError>("@ocidist/distribution/TransportError")(
  "TransportError",
  {
    ...context,
    method: Schema.String,
    url: Schema.String,
    reason: Schema.String,
    /** The underlying failure (a socket or TLS error), never a request with its headers. */
    cause: Schema.optional(Schema.Defect)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `${this.operation}: ${this.method} ${this.url} failed: ${this.reason}`
  }
}

/**
 * The registry's token server (the `realm` of its `Bearer` challenge) failed to issue a token for a reason
 * other than refused credentials: unreachable, its response cut short, no answer in time, 408/429/5xx (after
 * the client's retries), a malformed answer, or a realm refused by the realm policy. Not a credentials
 * problem: a 401/403 from the token server is `Unauthorized`.
 *
 * @since 0.4.0
 * @category errors
 */
export class TokenServerError extends Schema.TaggedError<TokenServerError>("@ocidist/distribution/TokenServerError")(
  "TokenServerError",
  {
    ...context,
    /** The token server URL without its query string. */
    realm: Schema.String,
    /** The token server's HTTP status, when it answered. */
    status: Schema.optional(Schema.Number),
    reason: Schema.String,
    /** Whether it may pass on its own (and was retried): unreachable, cut response, timeout, 408/429/5xx. */
    transient: Schema.Boolean,
    /** The `TokenExchangeError` of `@ocidist/auth` behind it. */
    cause: Schema.optional(Schema.Defect)
  }
) {
  /**
   * @since 0.4.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    return `${this.operation}: the token server ${this.realm} of ${this.registry} failed${status}: ${this.reason}`
  }
}

/**
 * A manifest media type the client refuses (Docker schema 1) or does not know.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>(
  "@ocidist/distribution/UnsupportedMediaType"
)("UnsupportedMediaType", {
  ...context,
  mediaType: Schema.String,
  reason: Schema.String,
  /** The failure behind it (a decoding error, the source stream's error), when there is one. */
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `${this.operation}: ${where(this)} served ${this.mediaType}: ${this.reason}`
  }
}

/**
 * A caller error detected before any request: a reference without the digest an operation needs, a blob
 * of a different registry, …
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidArgument extends Schema.TaggedError<InvalidArgument>("@ocidist/distribution/InvalidArgument")(
  "InvalidArgument",
  {
    ...context,
    reason: Schema.String,
    /** The failure behind it (a decoding error, the source stream's error), when there is one. */
    cause: Schema.optional(Schema.Defect)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `${this.operation}: ${this.reason}`
  }
}

/**
 * Every error class of `@ocidist/distribution`.
 *
 * @since 0.1.0
 * @category errors
 */
export type RegistryError =
  | NotFound
  | Unauthorized
  | Denied
  | TooManyRequests
  | RegistryResponseError
  | UnexpectedStatus
  | InvalidResponse
  | SizeExceeded
  | TransportError
  | UnsupportedMediaType
  | InvalidArgument
  | TokenServerError

/**
 * What registry client operations fail with: the registry's errors, and content that does not match its
 * descriptor.
 *
 * @since 0.2.0
 * @category errors
 */
export type RegistryClientError = RegistryError | DigestMismatch | SizeMismatch

/**
 * Whether retrying the whole operation later may succeed (transport failures, rate limits, 5xx).
 *
 * @since 0.1.0
 * @category guards
 */
export const isTransient = (error: RegistryClientError): boolean => {
  switch (error._tag) {
    case "TransportError":
    case "TooManyRequests":
      return true
    case "TokenServerError":
      return error.transient
    case "RegistryResponseError":
      return error.status === 408 || (error.status >= 500 && error.status !== 501 && error.status !== 505)
    default:
      return false
  }
}

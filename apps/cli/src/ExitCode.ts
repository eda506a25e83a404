/**
 * The CLI's documented exit codes, and how failures map to them.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  NotFound: 3,
  Auth: 4,
  Verification: 5
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

/**
 * The exit code for a failure, by its `_tag` (tags are unique across ocidist's packages):
 *
 * - 2 usage: bad arguments, references, locations or platforms (`InvalidReference`, `InvalidLocation`,
 *   `InvalidPlatform`, `InvalidArgument`, `InvalidTag`, `InvalidDigest`, `UnsupportedOperation`, `UsageError`,
 *   @effect/cli validation errors)
 * - 3 not found: `NotFound` (manifest, blob, repository), `PlatformNotFound`, `ImageNotFound` / `BlobNotFound`
 *   (no such tag or blob in a layout or archive), `ContentNotFound`
 * - 4 authentication: `Unauthorized`, `Denied`, `InsufficientScope`, `CredentialsRejected`; `TokenExchangeError`
 *   and `LoginError` with HTTP 401/403
 * - 5 verification: content that is not what it should be: `DigestMismatch`, `SizeMismatch`, `InvalidManifest`
 *   (a layout's or archive's), and a manifest a registry serves that cannot be used: not JSON (an HTML page),
 *   an unknown or refused media type, over 4 MiB (@ocidist/distribution reports these as `InvalidResponse` with
 *   an `InvalidManifest` cause, `UnsupportedMediaType` and `SizeExceeded`; `SizeExceeded` also for a blob
 *   longer than its descriptor), `InvalidLayer` (a layer tar stream that cannot be read safely)
 * - 1 everything else, a command stopped by `--timeout` among them; a `CliFailure` carries its own code
 *
 * @since 0.1.0
 * @category mapping
 */
export const forError = (error: unknown): ExitCode => {
  if (typeof error !== "object" || error === null || !("_tag" in error)) return ExitCode.Failure
  const tag = String(error._tag)
  switch (tag) {
    case "InvalidReference":
    case "InvalidPlatform":
    case "InvalidLocation":
    case "InvalidArgument":
    case "InvalidTag":
    case "InvalidDigest":
    case "UnsupportedOperation":
    case "UsageError":
    case "InvalidOptions":
    case "ValidationError":
    case "MissingValue":
    case "InvalidValue":
    case "CommandMismatch":
    case "CorrectedFlag":
    case "UnclusteredFlag":
    case "MultipleValuesDetected":
    case "NoBuiltInMatch":
    case "MissingFlag":
    case "MissingSubcommand":
    case "HelpRequested":
      return ExitCode.Usage
    case "NotFound":
    case "PlatformNotFound":
    case "ImageNotFound":
    case "BlobNotFound":
    case "ContentNotFound":
      return ExitCode.NotFound
    case "Unauthorized":
    case "Denied":
    case "InsufficientScope":
    case "CredentialsRejected":
      return ExitCode.Auth
    case "TokenExchangeError":
    case "LoginError": {
      const status = "status" in error ? error.status : undefined
      return status === 401 || status === 403 ? ExitCode.Auth : ExitCode.Failure
    }
    case "DigestMismatch":
    case "SizeMismatch":
    case "InvalidManifest":
    case "UnsupportedMediaType":
    case "SizeExceeded":
    case "InvalidLayer":
      return ExitCode.Verification
    case "InvalidResponse": {
      // other protocol breaks (an upload without Location, a bad Content-Range, endless pages) stay failures
      const cause = "cause" in error ? error.cause : undefined
      return typeof cause === "object" && cause !== null && "_tag" in cause && cause._tag === "InvalidManifest"
        ? ExitCode.Verification
        : ExitCode.Failure
    }
    case "CliFailure": {
      const code = "exitCode" in error ? error.exitCode : undefined
      return typeof code === "number" ? code as ExitCode : ExitCode.Failure
    }
    default:
      return ExitCode.Failure
  }
}

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
 * The exit code for a failure, by its `_tag`.
 *
 * @since 0.1.0
 * @category mapping
 */
export const forError = (error: unknown): ExitCode => {
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : ""
  switch (tag) {
    case "InvalidReference":
    case "InvalidPlatform":
    case "ValidationError":
    case "MissingValue":
    case "InvalidValue":
    case "CommandMismatch":
    case "CorrectedFlag":
    case "UnclusteredFlag":
    case "MultipleValuesDetected":
    case "NoBuiltInMatch":
      return ExitCode.Usage
    case "DigestMismatch":
      return ExitCode.Verification
    default:
      return ExitCode.Failure
  }
}

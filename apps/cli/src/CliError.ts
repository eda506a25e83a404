/**
 * Errors raised by the CLI itself (not by the libraries it drives).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The command line asks for something that cannot be done as written (exit code 2).
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Schema.TaggedError<UsageError>("@ocidist/cli/UsageError")("UsageError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

/**
 * A local failure: a file that cannot be read or written, a command not available yet (exit code 1, or
 * the code given).
 *
 * @since 0.1.0
 * @category errors
 */
export class CliFailure extends Schema.TaggedError<CliFailure>("@ocidist/cli/CliFailure")("CliFailure", {
  detail: Schema.String,
  exitCode: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return this.detail
  }
}

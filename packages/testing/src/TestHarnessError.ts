/**
 * The one error type of the test harness: starting a registry, generating fixtures, running a tool.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A harness step failed. `message` says what failed and, where it helps, how to fix it
 * (for example the `apt-get install` command of a missing binary, or the tail of the registry log).
 *
 * @since 0.1.0
 * @category errors
 */
export class TestHarnessError extends Schema.TaggedError<TestHarnessError>()("TestHarnessError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * Builds a `TestHarnessError`, appending the cause's message when there is one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (message: string, cause?: unknown): TestHarnessError => {
  const detail = cause instanceof Error ? cause.message : cause === undefined ? undefined : String(cause)
  return new TestHarnessError({
    message: detail === undefined ? message : `${message}: ${detail}`,
    ...(cause === undefined ? {} : { cause })
  })
}

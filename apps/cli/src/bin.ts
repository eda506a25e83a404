#!/usr/bin/env node
/**
 * Entry point of the `ocidist` binary.
 *
 * @since 0.1.0
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { run } from "./Cli.js"
import * as ExitCode from "./ExitCode.js"

const main = run(process.argv).pipe(
  Effect.catchAllCause((cause) =>
    Effect.gen(function*() {
      if (Cause.isInterruptedOnly(cause)) return yield* Effect.sync(() => process.exit(130))
      const failure = Cause.failureOption(cause)
      const error = failure._tag === "Some" ? failure.value : Cause.squash(cause)
      // @effect/cli has already printed its help or usage text for validation errors.
      if (!ValidationError.isValidationError(error)) {
        const verbose = process.argv.includes("--verbose") || process.argv.includes("-v")
        const message = error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
          ? String((error as { readonly message: unknown }).message)
          : String(error)
        yield* Console.error(`ocidist: ${message}`)
        if (verbose) yield* Console.error(Cause.pretty(cause))
      }
      return yield* Effect.sync(() => process.exit(ExitCode.forError(error)))
    })
  ),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(main, { disableErrorReporting: true })

/**
 * Shared plumbing of the command implementations: running with the services, stdout output, progress.
 */
import { Reference } from "@ocidist/reference"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Progress from "ocidist/Progress"
import { UsageError } from "../../CliError.js"
import type { Globals } from "../../GlobalOptions.js"
import * as Renderer from "../progress.js"
import * as Services from "./services.js"

/** Runs an implementation with the services built from the global options. */
export const run = <A, E>(
  globals: Globals,
  effect: Effect.Effect<A, E, Services.Services>
): Effect.Effect<A, E | UsageError> => Services.provide(globals, effect)

const writeStdout = (text: string | Uint8Array) =>
  Effect.async<void>((resume) => {
    process.stdout.write(text, () => resume(Effect.void))
  })

/** Writes raw text or bytes to stdout (waiting for the write to be flushed). */
export const stdout = (data: string | Uint8Array): Effect.Effect<void> => writeStdout(data)

/** Writes one line to stdout. */
export const line = (text: string): Effect.Effect<void> => writeStdout(text + "\n")

/** Writes one JSON document (one line) to stdout. */
export const json = (value: unknown): Effect.Effect<void> => writeStdout(JSON.stringify(value) + "\n")

/** Writes informational text to stderr, unless `--quiet` or `--json`. */
export const info = (globals: Globals, text: string): Effect.Effect<void> =>
  globals.quiet || globals.json ? Effect.void : Effect.sync(() => {
    process.stderr.write(text + "\n")
  })

/** Runs an operation with the progress renderer the global options and stderr call for. */
export const withProgress = (globals: Globals) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => Renderer.make(Renderer.modeOf(globals, process.stderr.isTTY === true))),
    (renderer) => Progress.withReporter((event) => renderer.emit(event))(self),
    (renderer) => Effect.sync(() => renderer.close())
  )

/** Parses a registry reference. */
export const parseReference = (input: string) =>
  Either.match(Reference.parse(input.startsWith("docker://") ? input.slice("docker://".length) : input), {
    onLeft: Effect.fail,
    onRight: Effect.succeed
  })

/** Parses a registry reference that must carry a digest. */
export const parseDigestReference = (input: string, what: string) =>
  Effect.flatMap(parseReference(input), (ref) =>
    ref.digest === undefined
      ? Effect.fail(
        new UsageError({ detail: `${what} needs a reference with a digest (repo@sha256:…), got "${input}"` })
      )
      : Effect.succeed(ref as Reference.Reference & { readonly digest: NonNullable<Reference.Reference["digest"]> }))

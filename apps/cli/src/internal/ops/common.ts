/**
 * Shared plumbing of the command implementations: running with the services, stdout output, progress.
 */
import { Reference } from "@ocidist/reference"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Progress from "ocidist/Progress"
import { UsageError } from "../../CliError.js"
import { type Globals, platforms } from "../../GlobalOptions.js"
import * as Renderer from "../progress.js"
import { sanitize } from "../terminal.js"
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

/** Writes bytes to stdout exactly (waiting for the write to be flushed): blobs, for files and pipes. */
export const stdout = (data: Uint8Array): Effect.Effect<void> => writeStdout(data)

/**
 * Writes content that is text for a person but exact bytes for a program (a manifest, a config): the bytes
 * as they are on a pipe or into a file, their text with control characters escaped on a terminal.
 */
export const display = (data: Uint8Array): Effect.Effect<void> =>
  process.stdout.isTTY === true ? writeStdout(sanitize(new TextDecoder().decode(data), "text")) : writeStdout(data)

/** Writes one line to stdout, control characters (line feeds too) escaped. */
export const line = (text: string): Effect.Effect<void> => writeStdout(sanitize(text) + "\n")

/** Writes lines to stdout in one write, control characters (line feeds too) escaped in each. */
export const lines = (texts: ReadonlyArray<string>): Effect.Effect<void> =>
  texts.length === 0 ? Effect.void : writeStdout(texts.map((t) => sanitize(t) + "\n").join(""))

/** Writes text of several lines to stdout, control characters other than line feeds and tabs escaped. */
export const text = (value: string): Effect.Effect<void> => writeStdout(sanitize(value, "text") + "\n")

/**
 * `KEY=VALUE`s as a record: a value without `=` is a usage error naming the option.
 *
 * @internal
 */
export const keyValues = (option: string, values: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const out: Record<string, string> = {}
    for (const v of values) {
      const at = v.indexOf("=")
      if (at <= 0) {
        return Effect.fail(new UsageError({ detail: `--${option} takes KEY=VALUE, got ${JSON.stringify(v)}` }))
      }
      out[v.slice(0, at)] = v.slice(at + 1)
    }
    return Effect.succeed(out)
  })

/** `{ platform }` of the facade's options: the first `--platform`, if any. @internal */
export const platformOption = (globals: Globals): { readonly platform?: string } => {
  const platform = platforms(globals)?.[0]
  return platform === undefined ? {} : { platform }
}

/** Writes one JSON document (one line) to stdout: exact values, never sanitized. */
export const json = (value: unknown): Effect.Effect<void> => writeStdout(JSON.stringify(value) + "\n")

/** Writes one informational line to stderr (control characters escaped), unless `--quiet` or `--json`. */
export const info = (globals: Globals, message: string): Effect.Effect<void> =>
  globals.quiet || globals.json ? Effect.void : Effect.sync(() => {
    process.stderr.write(sanitize(message) + "\n")
  })

/**
 * Runs an operation with the progress renderer the global options and stderr call for; `start` is announced
 * first (`Pulling SRC → DST`, or a `Started` event with `--json`).
 */
export const withProgress =
  (globals: Globals, start?: Renderer.Start) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.acquireUseRelease(
      Effect.sync(() => Renderer.make(Renderer.modeOf(globals, process.stderr.isTTY === true), Renderer.stderr, start)),
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

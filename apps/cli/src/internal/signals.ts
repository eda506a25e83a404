/**
 * How the program ends on Ctrl-C (SIGINT) or SIGTERM: an interrupted command prints one line on stderr,
 * `ocidist: interrupted; run the same command again to resume` for the commands that resume (`pull`, `push`,
 * `copy`: what is complete and verified is kept), `ocidist: interrupted` for the others (a JSON line with
 * `--json`), and exits 130 — except one whose normal end is a signal (`registry serve`), which exits 0
 * silently once it is up.
 */
import * as Effect from "effect/Effect"

let stopsOnSignal = false
let resumable = false
let reported = false

/** From now on, a signal is the command's normal end: exit 0. */
export const markStopsOnSignal: Effect.Effect<void> = Effect.sync(() => {
  stopsOnSignal = true
})

/** The command resumes what an interrupted run left: the interruption says to run it again. */
export const markResumable: Effect.Effect<void> = Effect.sync(() => {
  resumable = true
})

/** The exit code of a run that was interrupted. */
export const interruptedExitCode = (): number => stopsOnSignal ? 0 : 130

/** What an interrupted run says, if anything (without the `ocidist: ` prefix). */
export const interruptedMessage = (): string | undefined =>
  stopsOnSignal ? undefined : resumable ? "interrupted; run the same command again to resume" : "interrupted"

/**
 * Prints the line of an interrupted run on stderr (once) and returns its exit code. With `json`, the line is
 * `{"event":"Error","error":"Interrupted","message":…,"exitCode":130}`, like other failures.
 */
export const reportInterrupted = (json: boolean): number => {
  const code = interruptedExitCode()
  const message = interruptedMessage()
  if (message !== undefined && !reported) {
    reported = true
    process.stderr.write(
      json
        ? JSON.stringify({ event: "Error", error: "Interrupted", message, exitCode: code }) + "\n"
        : `ocidist: ${message}\n`
    )
  }
  return code
}

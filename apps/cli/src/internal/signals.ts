/**
 * How the program ends on Ctrl-C (SIGINT) or SIGTERM: an interrupted command exits 130, except one whose
 * normal end is a signal (`registry serve`), which exits 0 once it is up.
 */
import * as Effect from "effect/Effect"

let stopsOnSignal = false

/** From now on, a signal is the command's normal end: exit 0. */
export const markStopsOnSignal: Effect.Effect<void> = Effect.sync(() => {
  stopsOnSignal = true
})

/** The exit code of a run that was interrupted. */
export const interruptedExitCode = (): number => stopsOnSignal ? 0 : 130

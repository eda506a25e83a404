/**
 * `--timeout DURATION`: a limit on a whole command. When it elapses the command is interrupted as Ctrl-C
 * interrupts it (transfers stop, temporary files are removed, upload sessions cancelled, what is complete and
 * verified is kept for a rerun), then fails with one line, `ocidist: timed out after 30s (--timeout)`, and
 * exit code 1.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliFailure } from "../CliError.js"
import { ExitCode } from "../ExitCode.js"

/** @internal */
export interface Timeout {
  readonly millis: number
  /** As written on the command line, for the message. */
  readonly text: string
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * Parses `30s`, `2m`, `1h30m`, `1.5s`, `500ms`, or a number of seconds (`45`). `undefined` for anything else,
 * and for zero.
 *
 * @internal
 */
export const parse = (input: string): Timeout | undefined => {
  const text = input.trim()
  let millis: number
  if (/^\d+(\.\d+)?$/.test(text)) {
    millis = Number(text) * 1000
  } else if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) {
    millis = 0
    for (const [, value, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g)) {
      millis += Number(value) * units[unit!]!
    }
  } else {
    return undefined
  }
  millis = Math.round(millis)
  return Number.isFinite(millis) && millis > 0 && millis <= 2_147_483_647 ? { millis, text } : undefined
}

/**
 * Runs `self` with the limit, if there is one: when it elapses `self` is interrupted (its finalizers run to
 * the end) and the command fails with a `CliFailure` (exit code 1).
 *
 * @internal
 */
export const limit = (timeout: Option.Option<Timeout>) =>
<A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E | CliFailure, R> =>
  Option.match(timeout, {
    onNone: () => self,
    onSome: (t) =>
      Effect.timeoutFail(self, {
        duration: t.millis,
        onTimeout: () => new CliFailure({ detail: `timed out after ${t.text} (--timeout)`, exitCode: ExitCode.Failure })
      })
  })

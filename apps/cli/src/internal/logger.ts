/**
 * Where the program's log lines go: stderr only (stdout carries results), one `ocidist: <level>: <message>`
 * line each (with its annotations as `key=value`); warnings and errors, everything with `--verbose`. Messages
 * and annotations have their URLs redacted (redact.ts) and their control characters escaped (terminal.ts).
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { redactUrls } from "./redact.js"
import { sanitize } from "./terminal.js"

const safe = (text: string): string => sanitize(redactUrls(text))

/** A logger writing to stderr, so that stdout only carries results. */
export const stderrLogger = Logger.make(({ annotations, logLevel, message }) => {
  const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
  // annotations (the embedded registry's request log: method, path, status, bytes, ms) as key=value
  let fields = ""
  for (const [key, value] of annotations) {
    fields += ` ${safe(key)}=${safe(typeof value === "string" ? value : String(value))}`
  }
  process.stderr.write(`ocidist: ${logLevel.label.toLowerCase()}: ${safe(text)}${fields}\n`)
})

/** Runs `self` with {@link stderrLogger} as the only logger. */
export const withStderrLogger = (verbose: boolean) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  self.pipe(
    Logger.withMinimumLogLevel(verbose ? LogLevel.Debug : LogLevel.Warning),
    Effect.locally(FiberRef.currentLoggers, HashSet.make(stderrLogger))
  )

import * as Effect from "effect/Effect"
import * as fs from "node:fs"

/** The last `lines` lines of `text`. */
export const tail = (text: string, lines = 30) => text.trimEnd().split("\n").slice(-lines).join("\n")

/** A child's log file, empty while it does not exist. */
export const readLog = (file: string): string => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch {
    return ""
  }
}

// setTimeout, not Effect.sleep: the harness must also work under the TestClock (it.effect / it.scoped).
export const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/**
 * Reading a secret from the terminal without echoing it (`login` without `-p`/`--password-stdin`,
 * `--src-creds USER` without a password), and reading `USER:PASS` pairs from stdin.
 */
import * as Effect from "effect/Effect"
import { CliFailure, UsageError } from "../CliError.js"

/** Whether a prompt can be shown: stdin is a terminal. */
export const interactive = (): boolean => process.stdin.isTTY === true

/** The state of a secret being typed: the characters so far, and whether input ended. */
export interface Typed {
  readonly value: string
  readonly done: "enter" | "interrupt" | "eof" | undefined
}

/**
 * Feeds raw terminal input (echo off, no line editing) to a secret being typed: Enter ends it, Backspace
 * removes the last character, Ctrl-C interrupts, Ctrl-D on an empty line is end of input, Ctrl-U clears;
 * other control characters are ignored. Nothing is ever echoed.
 */
export const feed = (state: Typed, input: string): Typed => {
  let value = state.value
  for (const char of input) {
    if (char === "\r" || char === "\n") return { value, done: "enter" }
    if (char === "\u0003") return { value: "", done: "interrupt" }
    if (char === "\u0004") {
      if (value === "") return { value, done: "eof" }
      continue
    }
    if (char === "\u007f" || char === "\b") {
      value = Array.from(value).slice(0, -1).join("")
      continue
    }
    if (char === "\u0015") {
      value = ""
      continue
    }
    if (char < " ") continue
    value += char
  }
  return { value, done: undefined }
}

/**
 * Asks for a secret on the terminal: the question on stderr, the answer read from stdin in raw mode (so
 * not echoed). Fails when stdin is not a terminal, on Ctrl-C and on end of input.
 */
export const secret = (question: string, nonInteractive: string): Effect.Effect<string, UsageError | CliFailure> =>
  Effect.suspend(() => {
    const stdin = process.stdin
    if (stdin.isTTY !== true) return Effect.fail(new UsageError({ detail: nonInteractive }))
    return Effect.async<string, UsageError | CliFailure>((resume) => {
      let state: Typed = { value: "", done: undefined }
      const restore = () => {
        stdin.removeListener("data", onData)
        stdin.setRawMode(false)
        stdin.pause()
        process.stderr.write("\n")
      }
      const onData = (chunk: Buffer) => {
        state = feed(state, chunk.toString("utf8"))
        if (state.done === undefined) return
        restore()
        if (state.done === "enter") resume(Effect.succeed(state.value))
        else if (state.done === "interrupt") {
          resume(Effect.fail(new CliFailure({ detail: "interrupted", exitCode: 130 })))
        } else resume(Effect.fail(new UsageError({ detail: "no password entered" })))
      }
      // echo off before the prompt shows: what is typed as soon as it appears is never echoed
      stdin.setRawMode(true)
      process.stderr.write(question)
      stdin.resume()
      stdin.on("data", onData)
      return Effect.sync(() => {
        if (state.done === undefined) restore()
      })
    })
  })

/** Reads all of stdin as text, without a final line break. */
export const readStdin = (what: string): Effect.Effect<string, CliFailure> =>
  Effect.tryPromise({
    try: async () => {
      const chunks: Array<Buffer> = []
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "")
    },
    catch: (e) => new CliFailure({ detail: `cannot read ${what} from stdin: ${e instanceof Error ? e.message : e}` })
  })

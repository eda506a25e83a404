/**
 * Command handlers load their implementations on first use.
 */
import * as Effect from "effect/Effect"
import { type Globals, root } from "../GlobalOptions.js"
import type * as Ops from "./ops/index.js"
import * as Timeout from "./timeout.js"

/**
 * Runs `f` with the global options and the (dynamically imported) command implementations, within
 * `--timeout`.
 */
export const withOps = <A, E>(f: (ops: typeof Ops, globals: Globals) => Effect.Effect<A, E>) =>
  Effect.flatMap(
    root,
    (globals) =>
      Effect.flatMap(importOps(() => import("./ops/index.js")), (ops) => f(ops, globals)).pipe(
        Timeout.limit(globals.timeout)
      )
  )

/**
 * Imports command implementations (`load` is the `import()`), and tells the launcher (bin.ts) that this run
 * is worth writing the V8 code cache for.
 */
export const importOps = <A>(load: () => Promise<A>): Effect.Effect<A> =>
  Effect.promise(() => {
    ;(globalThis as Record<symbol, unknown>)[Symbol.for("@ocidist/cli/opsLoaded")] = true
    return load()
  })

/** A command's help (summary, details, examples) as its description: see spec.ts. */
export { describe } from "./spec.js"

/**
 * `mutate` and `append`: thin over `Mutate` of the facade.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Mutate from "ocidist/Mutate"
import { UsageError } from "../../CliError.js"
import { type Globals, platforms } from "../../GlobalOptions.js"
import { info, json, keyValues, line, run } from "./common.js"

/** `--entrypoint`/`--cmd`: each value split on commas (as crane's flags are); `""` alone clears it. */
const list = (values: ReadonlyArray<string>): ReadonlyArray<string> | undefined =>
  values.length === 0 ? undefined : values.flatMap((v) => v === "" ? [] : v.split(","))

/** `--platform`: one platform at most. */
const platformOf = (globals: Globals) => {
  const p = platforms(globals)
  if (p !== undefined && p.length > 1) {
    return Effect.fail(new UsageError({ detail: `--platform takes one platform here, got ${p.join(",")}` }))
  }
  return Effect.succeed(p?.[0])
}

const report = (globals: Globals, verb: string, result: Mutate.MutateResult) =>
  Effect.gen(function*() {
    if (globals.json) return yield* json(result)
    const s = result.stats
    yield* info(
      globals,
      `${verb} ${result.source} → ${result.destination}${result.tags.length > 0 ? ` (tag ${result.tags[0]})` : ""}: ` +
        `${result.images.length} image${result.images.length === 1 ? "" : "s"} rewritten; blobs: ` +
        `${s.transferred} written, ${s.skipped} already there, ${s.mounted} mounted`
    )
    yield* line(result.digest)
  })

/** `mutate <source> [--tag DST] [--label k=v]… …` */
export const mutate = (
  globals: Globals,
  args: {
    readonly source: string
    readonly tag: Option.Option<string>
    readonly label: ReadonlyArray<string>
    readonly annotation: ReadonlyArray<string>
    readonly env: ReadonlyArray<string>
    readonly entrypoint: ReadonlyArray<string>
    readonly cmd: ReadonlyArray<string>
    readonly workdir: Option.Option<string>
    readonly user: Option.Option<string>
  }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const labels = yield* keyValues("label", args.label)
      const annotations = yield* keyValues("annotation", args.annotation)
      yield* keyValues("env", args.env)
      const platform = yield* platformOf(globals)
      const result = yield* Mutate.mutate(args.source, {
        destination: Option.getOrUndefined(args.tag),
        platform,
        labels,
        annotations,
        env: args.env,
        entrypoint: list(args.entrypoint),
        cmd: list(args.cmd),
        workdir: Option.getOrUndefined(args.workdir),
        user: Option.getOrUndefined(args.user)
      })
      yield* report(globals, "mutated", result)
    })
  )

/** `append <source> --layer FILE|DIR [--tag DST]` */
export const append = (
  globals: Globals,
  args: {
    readonly source: string
    readonly tag: Option.Option<string>
    readonly layer: string
    readonly annotation: ReadonlyArray<string>
  }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const annotations = yield* keyValues("annotation", args.annotation)
      const platform = yield* platformOf(globals)
      const result = yield* Mutate.append(args.source, {
        destination: Option.getOrUndefined(args.tag),
        platform,
        annotations,
        layer: args.layer
      })
      yield* report(globals, "appended to", result)
    })
  )

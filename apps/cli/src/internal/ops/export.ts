/**
 * `export` and `flatten`, thin over the facade's `Export` and `Flatten` modules.
 */
import * as Platform from "@ocidist/spec/Platform"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Export from "ocidist/Export"
import * as Flatten from "ocidist/Flatten"
import { UsageError } from "../../CliError.js"
import type { Globals } from "../../GlobalOptions.js"
import * as Format from "../format.js"
import { info, json, line, platformOption, run, stdout } from "./common.js"

/** `export SRC [-o FILE|-]` */
export const exportImage = (
  globals: Globals,
  args: { readonly source: string; readonly output: Option.Option<string> }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const output = Option.getOrElse(args.output, () => "-")
      if (output === "-") {
        if (globals.json) {
          return yield* new UsageError({ detail: "export --json needs -o <file> (the tar itself is not JSON)" })
        }
        if (process.stdout.isTTY === true) {
          return yield* new UsageError({
            detail: "refusing to write a tar to the terminal: use -o <file> or redirect stdout"
          })
        }
        return yield* Stream.runForEach(Export.stream(args.source, platformOption(globals)), stdout)
      }
      const result = yield* Export.toFile(args.source, output, platformOption(globals))
      if (globals.json) return yield* json(result)
      yield* info(globals, `wrote ${Format.bytes(result.size)} (${result.layers} layers merged) to ${result.path}`)
    })
  )

/** `flatten SRC [--tag DST]` */
export const flatten = (
  globals: Globals,
  args: { readonly source: string; readonly tag: Option.Option<string> }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const result = yield* Flatten.flatten(args.source, {
        ...platformOption(globals),
        ...(Option.isSome(args.tag) ? { tag: args.tag.value } : {})
      })
      if (globals.json) return yield* json(result)
      yield* line(result.digest)
      if (result.children !== undefined) {
        // an index: then one line per flattened image, its digest and its platform
        for (const child of result.children) {
          yield* line(`${child.digest} ${child.platform === undefined ? "-" : Platform.format(child.platform)}`)
        }
        return yield* info(
          globals,
          `flattened the ${result.children.length} images of ${result.sourceDigest} into a new index at ${result.location}`
        )
      }
      yield* info(
        globals,
        `flattened ${result.sourceDigest} into one layer (${result.layer?.digest}) at ${result.location}`
      )
    })
  )

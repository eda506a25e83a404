/**
 * `validate`: thin over `Validate` of the facade; exit 5 when a problem is found.
 */
import * as Effect from "effect/Effect"
import * as Validate from "ocidist/Validate"
import { CliFailure } from "../../CliError.js"
import { ExitCode } from "../../ExitCode.js"
import type { Globals } from "../../GlobalOptions.js"
import * as Format from "../format.js"
import { info, json, lines, run } from "./common.js"

/** `validate <location> [--full] [--referrers]` */
export const validate = (
  globals: Globals,
  args: { readonly reference: string; readonly full: boolean; readonly referrers: boolean }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const result = yield* Validate.validate(args.reference, { full: args.full, referrers: args.referrers })
      if (globals.json) {
        yield* json({
          reference: result.location,
          digest: result.digest,
          ok: result.ok,
          checked: result.checked,
          bytes: result.bytes,
          referrers: result.referrers,
          problems: result.problems
        })
      } else {
        yield* lines(result.problems.map((p) =>
          `${p.kind} ${p.digest}${p.parent === undefined ? "" : ` (in ${p.parent})`}: ${p.detail}`
        ))
      }
      if (!result.ok) {
        return yield* new CliFailure({
          detail: `${result.location}: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}`,
          exitCode: ExitCode.Verification
        })
      }
      yield* info(
        globals,
        `${result.location}: ok (${result.checked} descriptors, ${Format.bytes(result.bytes)} read${
          args.full ? ", layers checked" : ""
        }${args.referrers ? `, ${result.referrers} referrer${result.referrers === 1 ? "" : "s"}` : ""})`
      )
    })
  )

/**
 * `pull`, `push` and `copy`.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Ocidist from "ocidist/Ocidist"
import type * as Result from "ocidist/Result"
import { type Globals, platforms } from "../../GlobalOptions.js"
import * as Format from "../format.js"
import { markResumable } from "../signals.js"
import { info, json, line, run, withProgress } from "./common.js"
import * as Creds from "./creds.js"
import * as Services from "./services.js"
import { concurrency } from "./services.js"

const hasTransport = (s: string) => /^(oci|oci-archive|docker-archive|docker):/.test(s.trim())

const optionsOf = (
  globals: Globals,
  extra: { readonly referrers?: boolean; readonly allTags?: boolean; readonly dryRun?: boolean } = {}
): Ocidist.CopyOptions => {
  const p = platforms(globals)
  const jobs = concurrency(globals)
  return {
    ...(p === undefined ? {} : { platform: p.length === 1 ? p[0]! : p }),
    ...(jobs === undefined ? {} : { concurrency: jobs }),
    ...(extra.referrers === true ? { referrers: true } : {}),
    ...(extra.allTags === true ? { allTags: true } : {}),
    ...(extra.dryRun === true ? { dryRun: true } : {})
  }
}

const report = (globals: Globals, verb: readonly [string, string], result: Result.CopyResult, startedAt: number) =>
  Effect.gen(function*() {
    if (globals.json) return yield* json(result)
    if (globals.quiet) return yield* line(result.digest)
    const s = result.stats
    const seconds = (Date.now() - startedAt) / 1000
    const images = result.images.length > 1 ? ` (${result.images.length} images)` : ""
    yield* line(
      `${result.dryRun ? `Would ${verb[0].toLowerCase()}` : verb[1]} ${result.source} to ${result.destination}${images}`
    )
    if (result.images.length > 1) {
      // `--all-tags`: one line per tag, naming it (several tags may share a digest)
      for (const image of result.images) {
        for (const tag of image.tags.length > 0 ? image.tags : ["(untagged)"]) {
          yield* line(`${tag} \u2192 ${image.digest}`)
        }
      }
    } else {
      yield* line(`Digest: ${result.digest}`)
    }
    if (result.dryRun) {
      const manifests = result.images.flatMap((i) => i.manifests)
      const toWrite = manifests.filter((m) => m.action === "write").length
      yield* line(
        `Plan: ${s.transferred} blob(s) to transfer (${
          Format.bytes(s.plannedBytes)
        }), ${s.skipped} present, ${s.mounted} to mount; ${toWrite} manifest(s) to write, ${
          manifests.length - toWrite
        } present`
      )
      for (const b of result.blobs) {
        yield* line(`  ${b.action.padEnd(8)} ${b.digest}  ${Format.kind(b.mediaType)}  ${Format.bytes(b.size)}`)
      }
      return
    }
    yield* line(
      `${s.transferred} blob(s) transferred (${
        Format.bytes(s.bytes)
      }), ${s.skipped} skipped, ${s.mounted} mounted, ${s.manifestsWritten} manifest(s) and ${s.tagsWritten} tag(s) written in ${
        seconds.toFixed(1)
      }s`
    )
  })

/** `pull <ref> <dest>` */
export const pull = (
  globals: Globals,
  args: { readonly reference: string; readonly destination: string; readonly format: Option.Option<string> }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const destination = Option.isSome(args.format) && !hasTransport(args.destination)
        ? `${args.format.value}:${args.destination}`
        : args.destination
      const started = Date.now()
      yield* markResumable
      const result = yield* Ocidist.pull(args.reference, destination, optionsOf(globals)).pipe(
        withProgress(globals, { operation: "pull", source: args.reference, destination })
      )
      yield* report(globals, ["Pull", "Pulled"], result, started)
    })
  )

/** `push <source> <ref>` */
export const push = (globals: Globals, args: { readonly source: string; readonly reference: string }) =>
  run(
    globals,
    Effect.gen(function*() {
      const started = Date.now()
      yield* markResumable
      const result = yield* Ocidist.push(args.source, args.reference, optionsOf(globals)).pipe(
        withProgress(globals, { operation: "push", source: args.source, destination: args.reference })
      )
      yield* report(globals, ["Push", "Pushed"], result, started)
    })
  )

/** `copy <src> <dst>` */
export const copy = (
  globals: Globals,
  args: {
    readonly source: string
    readonly destination: string
    readonly referrers: boolean
    readonly allTags: boolean
    readonly dryRun: boolean
    readonly srcCreds: Option.Option<Redacted.Redacted<string>>
    readonly destCreds: Option.Option<Redacted.Redacted<string>>
    readonly srcCredsStdin: boolean
    readonly destCredsStdin: boolean
  }
) =>
  Effect.flatMap(
    Creds.resolve([
      {
        role: "source",
        flag: "src-creds",
        location: args.source,
        creds: args.srcCreds,
        stdin: args.srcCredsStdin
      },
      {
        role: "destination",
        flag: "dest-creds",
        location: args.destination,
        creds: args.destCreds,
        stdin: args.destCredsStdin
      }
    ]),
    (explicit) =>
      Services.provide(
        globals,
        Effect.gen(function*() {
          const started = Date.now()
          if (args.dryRun) yield* info(globals, "dry run: nothing will be written")
          else yield* markResumable
          const result = yield* Ocidist.copy(
            args.source,
            args.destination,
            optionsOf(globals, { referrers: args.referrers, allTags: args.allTags, dryRun: args.dryRun })
          ).pipe(
            // a dry run announces itself above, and has nothing to resume
            withProgress(
              globals,
              args.dryRun ? undefined : { operation: "copy", source: args.source, destination: args.destination }
            )
          )
          yield* report(globals, ["Copy", "Copied"], result, started)
        }),
        explicit
      )
  )

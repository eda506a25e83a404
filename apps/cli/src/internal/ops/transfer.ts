/**
 * `pull`, `push` and `copy`.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Ocidist from "ocidist/Ocidist"
import type * as Result from "ocidist/Result"
import { UsageError } from "../../CliError.js"
import { type Globals, platforms } from "../../GlobalOptions.js"
import * as Format from "../format.js"
import { markResumable } from "../signals.js"
import { info, json, line, run, withProgress } from "./common.js"
import * as Creds from "./creds.js"
import * as Services from "./services.js"
import { concurrency } from "./services.js"

const hasTransport = (s: string) => /^(oci|oci-archive|docker-archive|docker):/.test(s.trim())

/** `--format`: the media types to write (unset: the facade's default for the destination). */
type MediaFormat = "oci" | "docker" | "keep"

const mediaFormat = (format: Option.Option<string>): MediaFormat | undefined =>
  Option.isSome(format) && (format.value === "oci" || format.value === "docker" || format.value === "keep")
    ? format.value
    : undefined

/** `--compress` and `--compress-level` as given. */
interface CompressArgs {
  readonly compress: Option.Option<string>
  readonly compressLevel: Option.Option<number>
}

const LEVELS = { gzip: [1, 9], zstd: [1, 19] } as const

/**
 * `--compress` and `--compress-level`, checked: a level within the algorithm's range (gzip 1-9, zstd 1-19; without
 * `--compress` it is for the gzip a destination may need), none with `none` or `keep`.
 */
const compression = (
  args: CompressArgs
): Effect.Effect<Pick<Ocidist.CopyOptions, "compress" | "compressLevel">, UsageError> => {
  const c = Option.getOrUndefined(args.compress)
  const compress = c === "gzip" || c === "zstd" || c === "none" || c === "keep" ? c : undefined
  if (Option.isNone(args.compressLevel)) return Effect.succeed(compress === undefined ? {} : { compress })
  const level = args.compressLevel.value
  if (compress === "none" || compress === "keep") {
    return Effect.fail(
      new UsageError({ detail: `--compress-level applies to gzip or zstd, not to --compress ${compress}` })
    )
  }
  const algorithm = compress ?? "gzip"
  const [min, max] = LEVELS[algorithm]
  if (!Number.isInteger(level) || level < min || level > max) {
    return Effect.fail(
      new UsageError({ detail: `--compress-level ${level}: ${algorithm} levels are ${min} to ${max}` })
    )
  }
  return Effect.succeed({ ...(compress === undefined ? {} : { compress }), compressLevel: level })
}

const optionsOf = (
  globals: Globals,
  extra: {
    readonly referrers?: boolean
    readonly allTags?: boolean
    readonly dryRun?: boolean
    readonly format?: MediaFormat | undefined
    readonly compression?: Pick<Ocidist.CopyOptions, "compress" | "compressLevel">
  } = {}
): Ocidist.CopyOptions => {
  const p = platforms(globals)
  const jobs = concurrency(globals)
  return {
    ...(p === undefined ? {} : { platform: p.length === 1 ? p[0]! : p }),
    ...(jobs === undefined ? {} : { concurrency: jobs }),
    ...(extra.referrers === true ? { referrers: true } : {}),
    ...(extra.allTags === true ? { allTags: true } : {}),
    ...(extra.dryRun === true ? { dryRun: true } : {}),
    ...(extra.format === undefined ? {} : { format: extra.format }),
    ...extra.compression
  }
}

/** `Docker manifest list`, `OCI index`…: a manifest media type in words. */
const manifestKind = (mediaType: string): string =>
  `${mediaType.startsWith("application/vnd.docker.") ? "Docker" : "OCI"} ${
    Format.kind(mediaType) === "index"
      ? mediaType.startsWith("application/vnd.docker.") ? "manifest list" : "index"
      : "manifest"
  }`

/** One line per manifest a copy rewrote (format conversion), with both digests. */
const conversions = (result: Result.CopyResult): Array<string> =>
  result.images.flatMap((image) =>
    image.manifests.flatMap((m) =>
      m.converted === undefined || m.sourceDigest === undefined
        ? []
        : [
          `${result.dryRun ? "would convert" : "converted"} ${manifestKind(m.converted.from)} \u2192 ${
            manifestKind(m.converted.to)
          }: ${m.sourceDigest} \u2192 ${m.digest}`
        ]
    )
  )

/** One line for the layers a copy recompressed (`--compress`, or what the destination needs). */
const recompressions = (result: Result.CopyResult): Array<string> => {
  const layers = result.blobs.flatMap((b) => b.recompressed === undefined ? [] : [b.recompressed])
  if (layers.length === 0) return []
  const word = (c: string) => c === "none" ? "uncompressed" : c
  const kinds = [...new Set(layers.map((l) => `${word(l.from)} \u2192 ${word(l.to)}`))].join(", ")
  return [`${result.dryRun ? "would recompress" : "recompressed"} ${layers.length} layer(s): ${kinds}`]
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
    for (const converted of conversions(result)) yield* line(converted)
    for (const recompressed of recompressions(result)) yield* line(recompressed)
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
  args: {
    readonly reference: string
    readonly destination: string
    readonly format: Option.Option<string>
  } & CompressArgs
) =>
  run(
    globals,
    Effect.gen(function*() {
      const compressing = yield* compression(args)
      // `--format oci-archive|docker-archive` named the kind of a bare destination before `--format` named media
      // types: still accepted, as the prefix it stands for
      const kind = Option.isSome(args.format) && args.format.value.endsWith("-archive") ? args.format.value : undefined
      if (kind !== undefined) {
        yield* info(globals, `warning: --format ${kind} is deprecated: write the destination as ${kind}:<path>`)
      }
      const destination = kind !== undefined && !hasTransport(args.destination)
        ? `${kind}:${args.destination}`
        : args.destination
      const started = Date.now()
      yield* markResumable
      const result = yield* Ocidist.pull(
        args.reference,
        destination,
        optionsOf(globals, { format: mediaFormat(args.format), compression: compressing })
      ).pipe(
        withProgress(globals, { operation: "pull", source: args.reference, destination })
      )
      yield* report(globals, ["Pull", "Pulled"], result, started)
    })
  )

/** `push <source> <ref>` */
export const push = (
  globals: Globals,
  args: {
    readonly source: string
    readonly reference: string
    readonly format: Option.Option<string>
  } & CompressArgs
) =>
  run(
    globals,
    Effect.gen(function*() {
      const compressing = yield* compression(args)
      const started = Date.now()
      yield* markResumable
      const result = yield* Ocidist.push(
        args.source,
        args.reference,
        optionsOf(globals, { format: mediaFormat(args.format), compression: compressing })
      ).pipe(
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
    readonly format: Option.Option<string>
    readonly srcCreds: Option.Option<Redacted.Redacted<string>>
    readonly destCreds: Option.Option<Redacted.Redacted<string>>
    readonly srcCredsStdin: boolean
    readonly destCredsStdin: boolean
  } & CompressArgs
) =>
  Effect.flatMap(
    Effect.zip(
      // usage errors before a password is asked for
      compression(args),
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
      ])
    ),
    ([compressing, explicit]) =>
      Services.provide(
        globals,
        Effect.gen(function*() {
          const started = Date.now()
          if (args.dryRun) yield* info(globals, "dry run: nothing will be written")
          else yield* markResumable
          const result = yield* Ocidist.copy(
            args.source,
            args.destination,
            optionsOf(globals, {
              referrers: args.referrers,
              allTags: args.allTags,
              dryRun: args.dryRun,
              format: mediaFormat(args.format),
              compression: compressing
            })
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

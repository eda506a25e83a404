/**
 * `artifact push`, `artifact pull`, `attach`: thin over `Artifact` of the facade.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Artifact from "ocidist/Artifact"
import * as Location from "ocidist/Location"
import { UsageError } from "../../CliError.js"
import { type Globals, platforms } from "../../GlobalOptions.js"
import { info, json, keyValues, line, run } from "./common.js"

/** `FILE[:MEDIATYPE]`: the media type after the last `:` when it looks like one (`type/subtype`). */
export const fileSpec = (input: string): { readonly path: string; readonly mediaType?: string } => {
  const at = input.lastIndexOf(":")
  if (at > 0) {
    const mediaType = input.slice(at + 1)
    if (/^[A-Za-z0-9][\w.+-]*\/[\w.+-]+$/.test(mediaType)) return { path: input.slice(0, at), mediaType }
  }
  return { path: input }
}

/** oras's annotation file: `{"$manifest": {k: v}, "<title>": {k: v}}`, every value a string. */
const annotationFile = (path: Option.Option<string>) =>
  Effect.gen(function*() {
    if (Option.isNone(path)) return undefined
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path.value).pipe(
      Effect.mapError((e) => new UsageError({ detail: `--annotation-file ${path.value}: ${e.message}` }))
    )
    const bad = (detail: string) => new UsageError({ detail: `--annotation-file ${path.value}: ${detail}` })
    const parsed = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: () => bad("not JSON") })
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return yield* bad("expected an object of objects")
    }
    const out: Record<string, Record<string, string>> = {}
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return yield* bad(`"${key}" is not an object`)
      }
      const inner: Record<string, string> = {}
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") return yield* bad(`"${key}"."${k}" is not a string`)
        inner[k] = v
      }
      out[key] = inner
    }
    return out
  })

interface PushArgs {
  readonly reference: string
  readonly files: ReadonlyArray<string>
  readonly artifactType: Option.Option<string>
  readonly annotation: ReadonlyArray<string>
  readonly annotationFile: Option.Option<string>
  readonly config: Option.Option<string>
  readonly exportManifest: Option.Option<string>
}

const pushOptions = (args: PushArgs) =>
  Effect.gen(function*() {
    if (args.files.length === 0 && Option.isNone(args.config)) {
      return yield* new UsageError({ detail: "name at least one file to push" })
    }
    const annotations = yield* keyValues("annotation", args.annotation)
    const fileAnnotations = yield* annotationFile(args.annotationFile)
    const config = Option.getOrUndefined(Option.map(args.config, fileSpec))
    return {
      files: args.files.map(fileSpec),
      options: {
        artifactType: Option.getOrUndefined(args.artifactType),
        annotations,
        fileAnnotations,
        config
      }
    }
  })

const report = (globals: Globals, verb: string, args: PushArgs, result: Artifact.PushResult) =>
  Effect.gen(function*() {
    if (Option.isSome(args.exportManifest)) {
      const fs = yield* FileSystem.FileSystem
      const file = args.exportManifest.value
      yield* fs.writeFileString(file, JSON.stringify(result.manifest)).pipe(
        Effect.mapError((e) => new UsageError({ detail: `--export-manifest ${file}: ${e.message}` }))
      )
    }
    if (globals.json) return yield* json(result)
    yield* info(
      globals,
      `${verb} ${result.manifest.layers.length} file${result.manifest.layers.length === 1 ? "" : "s"} to ` +
        `${result.location}${result.subject === undefined ? "" : ` (subject ${result.subject.digest})`}: ` +
        `${result.blobsPushed} blob${result.blobsPushed === 1 ? "" : "s"} uploaded`
    )
    yield* line(result.digest)
  })

/** The tag or digest `--subject` names in the destination (a full reference: its digest, else its tag). */
const subjectOf = (input: string) =>
  Effect.gen(function*() {
    if (!input.includes("/") && !input.startsWith("oci")) return input
    const location = yield* Location.parse(input)
    const found = location._tag === "Registry"
      ? location.reference.digest ?? location.reference.tag
      : location._tag === "Layout"
      ? location.digest ?? location.tag
      : undefined
    if (found === undefined) {
      return yield* new UsageError({ detail: `--subject ${input}: name a tag or digest` })
    }
    return found
  })

/** `artifact push <ref> FILE[:TYPE]… [--subject REF]` */
export const artifactPush = (globals: Globals, args: PushArgs & { readonly subject: Option.Option<string> }) =>
  run(
    globals,
    Effect.gen(function*() {
      const { files, options } = yield* pushOptions(args)
      const subject = Option.isSome(args.subject) ? yield* subjectOf(args.subject.value) : undefined
      const result = yield* Artifact.push(args.reference, files, { ...options, subject })
      yield* report(globals, "pushed", args, result)
    })
  )

/** `attach <subject> FILE[:TYPE]…` */
export const artifactAttach = (globals: Globals, args: PushArgs) =>
  run(
    globals,
    Effect.gen(function*() {
      const { files, options } = yield* pushOptions(args)
      const result = yield* Artifact.attach(args.reference, files, options)
      yield* report(globals, "attached", args, result)
    })
  )

/** `artifact pull <ref> -o DIR` */
export const artifactPull = (globals: Globals, args: { readonly reference: string; readonly output: string }) =>
  run(
    globals,
    Effect.gen(function*() {
      const p = platforms(globals)
      if (p !== undefined && p.length > 1) {
        return yield* new UsageError({ detail: `--platform takes one platform here, got ${p.join(",")}` })
      }
      const result = yield* Artifact.pull(args.reference, args.output, { platform: p?.[0] })
      if (globals.json) return yield* json(result)
      yield* info(globals, `pulled ${result.location}@${result.digest} into ${result.directory}`)
      for (const f of result.files) yield* line(f.title)
    })
  )

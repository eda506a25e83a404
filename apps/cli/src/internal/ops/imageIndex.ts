/**
 * `index create|append|remove|annotate`: thin over `ImageIndex` of the facade.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ImageIndex from "ocidist/ImageIndex"
import { UsageError } from "../../CliError.js"
import { type Globals, platforms } from "../../GlobalOptions.js"
import { json, keyValues, line, run } from "./common.js"

const report = (globals: Globals, written: ImageIndex.Written) =>
  globals.json
    ? json({
      reference: written.location,
      digest: written.digest,
      mediaType: written.mediaType,
      size: written.size,
      manifests: written.manifests
    })
    : line(written.digest)

const needManifests = (manifests: ReadonlyArray<string>, command: string) =>
  manifests.length === 0
    ? Effect.fail(new UsageError({ detail: `index ${command} needs at least one --manifest LOCATION` }))
    : Effect.void

interface Edit {
  readonly destination: string
  readonly manifest: ReadonlyArray<string>
  readonly annotation: ReadonlyArray<string>
}

/** `index create <dst> -m <ref>…` */
export const indexCreate = (globals: Globals, args: Edit) =>
  run(
    globals,
    Effect.gen(function*() {
      yield* needManifests(args.manifest, "create")
      const annotations = yield* keyValues("annotation", args.annotation)
      yield* report(globals, yield* ImageIndex.create(args.destination, args.manifest, { annotations }))
    })
  )

/** `index append <dst> -m <ref>…` */
export const indexAppend = (globals: Globals, args: Edit) =>
  run(
    globals,
    Effect.gen(function*() {
      yield* needManifests(args.manifest, "append")
      const annotations = yield* keyValues("annotation", args.annotation)
      yield* report(globals, yield* ImageIndex.append(args.destination, args.manifest, { annotations }))
    })
  )

/** `index remove <dst> --platform P | --digest D` */
export const indexRemove = (
  globals: Globals,
  args: { readonly destination: string; readonly digest: Option.Option<string> }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const platform = platforms(globals)
      if (platform !== undefined && platform.length > 1) {
        return yield* new UsageError({ detail: `--platform takes one platform here, got ${platform.join(",")}` })
      }
      if ((platform === undefined) === Option.isNone(args.digest)) {
        return yield* new UsageError({ detail: "index remove needs either --platform or --digest" })
      }
      yield* report(
        globals,
        yield* ImageIndex.remove(args.destination, {
          platform: platform?.[0],
          digest: Option.getOrUndefined(args.digest)
        })
      )
    })
  )

/** `index annotate <dst> [--annotation k=v]… [--manifest-annotation DIGEST=k=v]…` */
export const indexAnnotate = (
  globals: Globals,
  args: {
    readonly destination: string
    readonly annotation: ReadonlyArray<string>
    readonly manifestAnnotation: ReadonlyArray<string>
  }
) =>
  run(
    globals,
    Effect.gen(function*() {
      if (args.annotation.length === 0 && args.manifestAnnotation.length === 0) {
        return yield* new UsageError({ detail: "index annotate needs --annotation or --manifest-annotation" })
      }
      const annotations = yield* keyValues("annotation", args.annotation)
      const perEntry: Record<string, Record<string, string>> = {}
      for (const v of args.manifestAnnotation) {
        const at = v.indexOf("=")
        const [key, value] = at <= 0 ? [undefined, undefined] : [v.slice(0, at), v.slice(at + 1)]
        if (key === undefined || value === undefined || value.indexOf("=") <= 0) {
          return yield* new UsageError({
            detail: `--manifest-annotation takes DIGEST=KEY=VALUE, got ${JSON.stringify(v)}`
          })
        }
        perEntry[key] = { ...perEntry[key], ...(yield* keyValues("manifest-annotation", [value])) }
      }
      yield* report(
        globals,
        yield* ImageIndex.annotate(args.destination, { annotations, manifestAnnotations: perEntry })
      )
    })
  )

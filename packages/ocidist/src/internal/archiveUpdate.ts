/**
 * An `oci-archive` opened for update, for the authoring operations that add to it (`Artifact.push`,
 * `Artifact.attach`): what is written goes into a staging layout (a temporary directory of the scope); reads
 * see the staging layout over the archive as it is; `complete` writes the archive again — its entries kept
 * (an entry whose name is given again is replaced), the new ones added — into a temporary file next to it,
 * renamed into place when complete. Until then the archive is untouched: a failed operation leaves it as it was.
 *
 * @internal
 */
import * as Layout from "@ocidist/layout/Layout"
import * as LayoutError from "@ocidist/layout/LayoutError"
import * as OciArchive from "@ocidist/layout/OciArchive"
import type * as Digest from "@ocidist/reference/Digest"
import * as Annotation from "@ocidist/spec/Annotation"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Location from "../Location.js"
import type { OcidistError } from "../OcidistError.js"
import * as Stores from "./stores.js"

/** @internal */
export interface Update {
  readonly store: Storage.Storage<OcidistError>
  /** The tag (or full name) the location names. */
  readonly tag: string | undefined
  /** Writes the archive: its entries kept, the new ones added. */
  readonly complete: Effect.Effect<void, OcidistError>
}

/** The archive's entries kept, but those the new ones replace: the same name, or (untagged) the same digest. */
const mergeEntries = (
  old: ReadonlyArray<Descriptor.Descriptor>,
  added: ReadonlyArray<Descriptor.Descriptor>
): ReadonlyArray<Descriptor.Descriptor> => {
  const name = (d: Descriptor.Descriptor) => d.annotations?.[Annotation.REF_NAME]
  const names = new Set(added.flatMap((d) => name(d) ?? []))
  const untagged = new Set(added.filter((d) => name(d) === undefined).map((d) => d.digest as string))
  const kept = old.filter((d) => {
    const n = name(d)
    return n === undefined ? !untagged.has(d.digest) : !names.has(n)
  })
  return [...kept, ...added]
}

/** The staging layout over the archive (when there is one): reads try the staging layout first. */
const overlay = (name: string, absolute: string, staging: Layout.Layout, old: Layout.Reader | undefined) => {
  if (old === undefined) return { ...staging, name } satisfies Layout.Reader
  const staged = (digest: Digest.Digest) => Effect.map(staging.blobSize(digest), Option.isSome)
  const reader: Layout.Reader = {
    name,
    path: absolute,
    verifiesBlobs: false,
    entries: Effect.map(Effect.all([old.entries, staging.entries]), ([a, b]) => mergeEntries(a, b)),
    blobSize: (digest) =>
      Effect.flatMap(
        staging.blobSize(digest),
        (size) => Option.isSome(size) ? Effect.succeed(size) : old.blobSize(digest)
      ),
    fetchBlob: (descriptor, options) =>
      Stream.unwrap(Effect.map(
        staged(descriptor.digest),
        (here) => here ? staging.fetchBlob(descriptor, options) : old.fetchBlob(descriptor, options)
      )),
    exists: (descriptor) =>
      Effect.flatMap(staging.exists(descriptor), (here) => here ? Effect.succeed(true) : old.exists(descriptor)),
    fetchManifest: (descriptor) =>
      Effect.flatMap(
        staged(descriptor.digest),
        (here) => here ? staging.fetchManifest(descriptor) : old.fetchManifest(descriptor)
      ),
    // what the operation names is in the archive (a subject); else, what it wrote
    resolve: (reference) =>
      Effect.catchTag(
        old.resolve(reference),
        "ImageNotFound",
        (e) => Effect.catchTag(staging.resolve(reference), "ImageNotFound", () => Effect.fail(e))
      ),
    tags: Effect.map(Effect.all([old.tags, staging.tags]), ([a, b]) => [...new Set([...a, ...b])]),
    referrers: (subject, options) =>
      Effect.map(
        Effect.all([old.referrers(subject, options), staging.referrers(subject, options)]),
        ([a, b]) => mergeEntries(a, b)
      )
  }
  return reader
}

/** Opens an oci-archive for update (see the module documentation); nothing is written before `complete`. @internal */
export const open = (
  env: Stores.Environment,
  location: Location.OciArchive
): Effect.Effect<Update, OcidistError, Scope.Scope> =>
  Effect.gen(function*() {
    const absolute = yield* Stores.checkArchivePath(env, location)
    const tmp = yield* Effect.mapError(
      env.fs.makeTempDirectoryScoped({ prefix: "ocidist-archive-update-" }),
      LayoutError.fromPlatformError("(temporary directory)")
    )
    const exists = Either.isRight(yield* Effect.either(env.fs.stat(absolute)))
    // an existing file that is not an oci-archive (a docker-archive, anything else) fails here: never replaced
    const old = exists
      ? yield* Stores.provide(env)(OciArchive.open(absolute, { directory: env.path.join(tmp, "decompressed") }))
      : undefined
    const staging = yield* Stores.provide(env)(Layout.openOrCreate(env.path.join(tmp, "staging")))
    const name = Location.format(location)
    const reader = overlay(name, absolute, staging, old)
    const store: Storage.Storage<OcidistError> = {
      ...reader,
      pushBlob: (expected, content) => staging.pushBlob(expected, content),
      pushManifest: (manifest, options) => staging.pushManifest(manifest, options),
      tag: (descriptor, tag) => staging.tag(descriptor, tag)
    }
    const complete = Effect.gen(function*() {
      const entries = mergeEntries(old === undefined ? [] : yield* old.entries, yield* staging.entries)
      yield* Stores.provide(env)(OciArchive.write(absolute, reader, { entries }))
    })
    return { store, tag: location.tag, complete }
  })

/**
 * The stores that locations name: a registry repository, an OCI layout (read, or written lazily), an archive
 * (read, or assembled in a staging layout under the cache directory and written when the copy is complete).
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import type * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as Repository from "@ocidist/distribution/Repository"
import * as DockerArchive from "@ocidist/layout/DockerArchive"
import * as Layout from "@ocidist/layout/Layout"
import * as LayoutError from "@ocidist/layout/LayoutError"
import * as OciArchive from "@ocidist/layout/OciArchive"
import * as Digest from "@ocidist/reference/Digest"
import * as Hash from "@ocidist/reference/Hash"
import * as Reference from "@ocidist/reference/Reference"
import * as Annotation from "@ocidist/spec/Annotation"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Location from "../Location.js"
import { InvalidLocation, type OcidistError } from "../OcidistError.js"
import type * as Result from "../Result.js"

/** What opening stores needs, captured once when the service is built. @internal */
export interface Environment {
  readonly client: RegistryClient.Service
  readonly fs: FileSystem.FileSystem
  readonly path: Path.Path
  readonly hash: Hash.Service
  /** Where archives are staged (`<dir>/staging/…`); a temporary directory per operation when undefined. */
  readonly cacheDirectory: string | undefined
}

/** Runs a layout operation with the platform services and the hash implementation of the environment. */
export const provide =
  (env: Environment) =>
  <A, E, R extends FileSystem.FileSystem | Path.Path | Hash.Hash | Scope.Scope = FileSystem.FileSystem | Path.Path>(
    effect: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E, Exclude<Exclude<Exclude<R, FileSystem.FileSystem>, Path.Path>, Hash.Hash>> =>
    effect.pipe(
      Effect.provideService(FileSystem.FileSystem, env.fs),
      Effect.provideService(Path.Path, env.path),
      Effect.provideService(Hash.Hash, env.hash)
    )

/** The store, renamed after the location as the user wrote it (results and messages show that). */
const labeled = <S extends { readonly name: string }>(store: S, location: Location.Location): S => ({
  ...store,
  name: Location.format(location)
})

/** A store to read from, and what to ask it for. @internal */
export interface Opened {
  readonly store: Storage.ReadOnlyStorage<OcidistError>
  /** The reference to resolve in it: a tag, a digest, or `""` for the store's own. */
  readonly reference: string
  /** The tag the location names (the destination's default tag). */
  readonly tag: string | undefined
  /** The repository of the name a layout or oci-archive location names with a full reference (`localhost/app`). */
  readonly repository?: string | undefined
}

/** Readers opened while inferring an archive's format, kept for the location they were inferred as. */
const inferred = new WeakMap<Location.Location, Layout.Reader>()

/** A tar that is neither kind of archive (or not a tar): the layout reader's own answer. */
const notAnArchive = (e: OcidistError): boolean => e._tag === "NotALayout" || e._tag === "InvalidArchive"

/**
 * Where a compressed archive read as a source is decompressed: the cache's staging directory (removed when
 * the operation's scope closes), else a temporary directory of the operation.
 */
const decompressInto = (env: Environment): string | undefined =>
  env.cacheDirectory === undefined ? undefined : env.path.join(env.cacheDirectory, "staging")

/**
 * Opens a reader in a scope of its own, closed at once when the open fails (a compressed archive tried as the
 * wrong kind does not keep its decompressed copy), else when the caller's scope closes.
 */
const attempt = <A, E>(
  open: Effect.Effect<A, E, Scope.Scope>
): Effect.Effect<Either.Either<A, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const inner = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const exit = yield* Effect.exit(Scope.extend(open, inner))
    if (Exit.isFailure(exit)) yield* Scope.close(inner, exit)
    return yield* Effect.either(exit)
  })

/** An existing file on the source side: an `oci-archive` by `oci-layout` + `index.json`, else a `docker-archive` by `manifest.json`. */
const sniffArchive = (env: Environment, input: string, path: string) =>
  Effect.gen(function*() {
    const oci = yield* attempt(provide(env)(OciArchive.open(path, { directory: decompressInto(env) })))
    if (Either.isRight(oci)) {
      const location = Location.ociArchive(path)
      inferred.set(location, oci.right)
      return location
    }
    if (!notAnArchive(oci.left)) return yield* Effect.fail(oci.left)
    const docker = yield* attempt(provide(env)(DockerArchive.open(path, { directory: decompressInto(env) })))
    if (Either.isRight(docker)) {
      const location = Location.dockerArchive(path)
      inferred.set(location, docker.right)
      return location
    }
    if (!notAnArchive(docker.left)) return yield* Effect.fail(docker.left)
    return yield* new InvalidLocation({
      input,
      detail: `${path} is a file but neither an oci-archive (oci-layout and index.json) nor a docker-archive ` +
        `(manifest.json); name its format with oci-archive:${path} or docker-archive:${path}`
    })
  })

/**
 * The location a bare path (no transport) names on the local side of `pull` and `push`: an existing
 * directory is an OCI layout; an existing file is an archive, `oci-archive` or `docker-archive` by what it
 * holds (source); a destination named `*.tar` is written as an `oci-archive`; anything else is a layout
 * directory (created on the first write).
 *
 * @internal
 */
export const resolveLocal = (
  env: Environment,
  input: string,
  role: "source" | "destination"
): Effect.Effect<Location.Location, OcidistError, Scope.Scope> =>
  Effect.gen(function*() {
    const path = input.trim()
    if (path === "") return yield* new InvalidLocation({ input, detail: "the path is empty" })
    const info = yield* Effect.either(env.fs.stat(path))
    const kind = Either.isRight(info) ? info.right.type : undefined
    if (kind === "Directory") return Location.layout(path)
    if (role === "source") {
      if (kind === undefined) {
        return yield* new InvalidLocation({
          input,
          detail: `${path} does not exist (a layout directory or an archive file)`
        })
      }
      return kind === "File" ? yield* sniffArchive(env, input, path) : Location.layout(path)
    }
    if (/\.tar$/i.test(path)) return Location.ociArchive(path)
    if (/\.(tar\.gz|tgz|tar\.zst)$/i.test(path)) {
      return yield* new InvalidLocation({
        input,
        detail: `compressed archives are not written; name an uncompressed tar (oci-archive:${
          path.replace(/\.(tar\.gz|tgz|tar\.zst)$/i, ".tar")
        }) or a directory (oci:${path})`
      })
    }
    if (kind !== undefined) {
      return yield* new InvalidLocation({
        input,
        detail: `${path} is a file, not an OCI layout directory; to write an archive there, name its format: ` +
          `oci-archive:${path} or docker-archive:${path}`
      })
    }
    return Location.layout(path)
  })

/**
 * Opens a local location for reading; a compressed archive's decompressed copy lives as long as the scope.
 * @internal
 */
export const openReader = (
  env: Environment,
  location: Location.Local
): Effect.Effect<Layout.Reader, OcidistError, Scope.Scope> => {
  const reader = inferred.get(location)
  if (reader !== undefined) return Effect.succeed(reader)
  switch (location._tag) {
    case "Layout":
      return provide(env)(Layout.open(location.path))
    case "OciArchive":
      return provide(env)(OciArchive.open(location.path, { directory: decompressInto(env) }))
    case "DockerArchive":
      return provide(env)(DockerArchive.open(location.path, { directory: decompressInto(env) }))
  }
}

/**
 * What a local location selects: its digest (a docker-archive's: an image ID), else its index (`@N`), else its
 * tag, else `""` (the only image). @internal
 */
export const selectorOf = (location: Location.Local): string =>
  (location._tag === "Layout" || location._tag === "DockerArchive" ? location.digest : undefined) ??
    (location._tag === "DockerArchive" && location.index !== undefined ? `@${location.index}` : undefined) ??
    location.tag ?? ""

/** Opens any location for reading. @internal */
export const openSource = (
  env: Environment,
  location: Location.Location
): Effect.Effect<Opened, OcidistError, Scope.Scope> => {
  if (location._tag === "Registry") {
    return Effect.succeed({
      store: labeled(Repository.make(env.client, location.reference), location),
      reference: "",
      tag: location.reference.tag
    })
  }
  return Effect.map(openReader(env, location), (reader) => ({
    store: labeled(reader, location),
    reference: selectorOf(location),
    tag: Location.tagOf(location),
    repository: location._tag === "DockerArchive" ? undefined : repositoryOfName(location.tag)
  }))
}

/** `localhost/app` of an index entry name `localhost/app:1`; nothing for a tag. */
const repositoryOfName = (name: string | undefined): string | undefined => {
  const tag = name === undefined ? undefined : Location.tagOfName(name)
  if (name === undefined || tag === undefined || tag === name) return undefined
  return name.endsWith(`:${tag}`) ? name.slice(0, name.length - tag.length - 1) : name
}

/** A store to write to, and how to complete it once the copy succeeded. @internal */
export interface Destination {
  readonly store: Storage.Storage<OcidistError>
  readonly tag: string | undefined
  /** Writes what the copy stored where the user asked for it (archives); nothing for registries and layouts. */
  readonly complete: (result: Result.CopyResult, source: Opened) => Effect.Effect<void, OcidistError>
}

/**
 * A stable, readable name for the staging directory of one archive path: a rerun for the same file finds
 * what an interrupted run kept.
 */
const stagingName = (absolute: string, basename: string): string =>
  `${basename.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 64)}-${Digest.hex(Digest.ofBytes(absolute)).slice(0, 16)}`

/** The names of compressed archives, which are read (by their content) but not written. */
const COMPRESSED_NAME = /\.(tar\.gz|tgz|tar\.zst)$/i

/** Fails before anything moves when an archive cannot be written where the user asked. @internal */
export const checkArchivePath = (env: Environment, location: Location.OciArchive | Location.DockerArchive) =>
  Effect.gen(function*() {
    const absolute = env.path.resolve(location.path)
    const parent = env.path.dirname(absolute)
    const input = Location.format(location)
    if (location._tag === "DockerArchive" && (location.index !== undefined || location.digest !== undefined)) {
      return yield* new InvalidLocation({
        input,
        detail: "@N and an image ID select an image to read; to write, name the archive " +
          `docker-archive:${location.path}[:name:tag]`
      })
    }
    if (COMPRESSED_NAME.test(absolute)) {
      return yield* new InvalidLocation({
        input,
        detail: `compressed archives are read, not written; name an uncompressed tar (${
          location._tag === "OciArchive" ? "oci-archive" : "docker-archive"
        }:${location.path.replace(COMPRESSED_NAME, ".tar")}) and compress it afterwards`
      })
    }
    const info = yield* Effect.either(env.fs.stat(parent))
    if (Either.isLeft(info) || info.right.type !== "Directory") {
      return yield* new InvalidLocation({ input, detail: `the directory ${parent} does not exist` })
    }
    const existing = yield* Effect.either(env.fs.stat(absolute))
    if (Either.isRight(existing) && existing.right.type === "Directory") {
      return yield* new InvalidLocation({ input, detail: `${absolute} is a directory, not an archive file` })
    }
    return absolute
  })

/** The directory archives are staged under: the cache directory, or a temporary one for this operation. */
const stagingRoot = (env: Environment): Effect.Effect<string, OcidistError, Scope.Scope> =>
  env.cacheDirectory !== undefined
    ? Effect.succeed(env.path.join(env.cacheDirectory, "staging"))
    : Effect.mapError(
      env.fs.makeTempDirectoryScoped({ prefix: "ocidist-staging-" }),
      LayoutError.fromPlatformError("(temporary directory)")
    )

/** The index entries of an oci-archive: one per tag of each image, one untagged entry for an untagged image. */
const archiveEntries = (result: Result.CopyResult): ReadonlyArray<Descriptor.Descriptor> =>
  result.images.flatMap((image) => {
    const descriptor: Descriptor.Descriptor = { mediaType: image.mediaType, digest: image.digest, size: image.size }
    return image.tags.length === 0
      ? [descriptor]
      : image.tags.map((tag) => ({ ...descriptor, annotations: { [Annotation.REF_NAME]: tag } }))
  })

/** The `RepoTags` name of a docker-archive: the name in the location, else the source repository's. */
const dockerName = (location: Location.DockerArchive, source: Opened): string | undefined => {
  const named = location.tag === undefined ? undefined : Either.getOrUndefined(Reference.parse(location.tag))
  if (named !== undefined) {
    return location.tag!.slice(0, location.tag!.length - (named.tag === undefined ? 0 : named.tag.length + 1))
  }
  const from = source.store.location
  return from === undefined ? source.repository : Reference.make(from).familiar
}

/**
 * The `RepoTags` of an image copied with `tags`: `<name>:<tag>` for a tag; a full reference (an index entry
 * name such as `localhost/app:1`, a docker-archive's `app:1`) as it is, or with its tag under `name` when the
 * location names one.
 */
const repoTagsOf = (name: string | undefined, tags: ReadonlyArray<string>): ReadonlyArray<string> =>
  tags.flatMap((t) => {
    const tag = Location.tagOfName(t)
    if (tag === t) return name === undefined ? [] : [`${name}:${t}`]
    if (tag === undefined) return []
    return name !== undefined && name !== "" ? [`${name}:${tag}`] : [t.endsWith(`:${tag}`) ? t : `${t}:${tag}`]
  })

const archiveDestination = (
  env: Environment,
  location: Location.OciArchive | Location.DockerArchive
): Effect.Effect<Destination, OcidistError, Scope.Scope> =>
  Effect.gen(function*() {
    const absolute = yield* checkArchivePath(env, location)
    const staging = env.path.join(
      yield* stagingRoot(env),
      stagingName(absolute, env.path.basename(absolute))
    )
    // Created on the first write only: a copy that fails before content moved leaves nothing behind.
    const layout = yield* provide(env)(Layout.openOrCreate(staging))
    // Content only: the staging layout never lists an image, so nothing there looks like a finished one.
    const store: Storage.Storage<OcidistError> = {
      ...layout,
      name: Location.format(location),
      pushManifest: (manifest) => layout.pushManifest(manifest),
      // a docker-archive holds images only: the copy refuses an artifact before anything is written
      accepts: location._tag === "DockerArchive"
        ? (manifest) => DockerArchive.accepts(absolute, manifest)
        : undefined
    }
    const removeStaging = Effect.mapError(
      env.fs.remove(staging, { recursive: true, force: true }),
      LayoutError.fromPlatformError(staging)
    )
    const complete = (result: Result.CopyResult, source: Opened) =>
      Effect.gen(function*() {
        if (location._tag === "OciArchive") {
          yield* provide(env)(OciArchive.write(absolute, layout, { entries: archiveEntries(result) }))
        } else {
          const name = dockerName(location, source)
          yield* provide(env)(DockerArchive.write(
            absolute,
            layout,
            result.images.map((image) => ({
              descriptor: { mediaType: image.mediaType, digest: image.digest, size: image.size },
              repoTags: repoTagsOf(name, image.tags)
            }))
          ))
        }
        yield* removeStaging
      })
    // an oci-archive keeps a full name (`localhost/app:1`) as it is; a docker-archive takes the tag of its name
    return { store, tag: location._tag === "OciArchive" ? location.tag : Location.tagOf(location), complete }
  })

/** Opens any location for writing. Nothing is created before the first write. @internal */
export const openDestination = (
  env: Environment,
  location: Location.Location
): Effect.Effect<Destination, OcidistError, Scope.Scope> => {
  switch (location._tag) {
    case "Registry":
      return Effect.succeed({
        store: labeled(Repository.make(env.client, location.reference), location),
        tag: location.reference.tag,
        complete: () => Effect.void
      })
    case "Layout":
      return Effect.map(provide(env)(Layout.openOrCreate(location.path)), (layout) => ({
        store: labeled(layout, location),
        tag: location.tag,
        complete: () => Effect.void
      }))
    case "OciArchive":
    case "DockerArchive":
      return archiveDestination(env, location)
  }
}

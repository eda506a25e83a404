/**
 * The `Ocidist` service: locations parsed, their stores opened, the copy engine run between them.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as Hash from "@ocidist/reference/Hash"
import type * as Reference from "@ocidist/reference/Reference"
import * as Platform from "@ocidist/spec/Platform"
import type { InvalidPlatform } from "@ocidist/spec/SpecError"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as Copy from "../Copy.js"
import * as Location from "../Location.js"
import type * as Ocidist from "../Ocidist.js"
import { InvalidLocation, type OcidistError, UnsupportedOperation } from "../OcidistError.js"
import * as Compression from "./compression.js"
import { inspectManifest } from "./inspect.js"
import { selectPlatform } from "./platform.js"
import * as Stores from "./stores.js"

const hasTransport = (s: string) => /^(oci|oci-archive|docker-archive|docker):/.test(s.trim())

const toLocation = (input: Ocidist.LocationInput): Effect.Effect<Location.Location, InvalidLocation> =>
  Location.from(input)

/** Bare strings on the local side of pull/push: a layout directory, or an archive by content or `.tar` name. */
const toLocal = (env: Stores.Environment, role: "source" | "destination") =>
(
  input: Ocidist.LocationInput
): Effect.Effect<Location.Location, OcidistError, Scope.Scope> =>
  typeof input === "string" && !hasTransport(input) ? Stores.resolveLocal(env, input, role) : toLocation(input)

const toRegistry = (input: string | Reference.Reference): Effect.Effect<Location.Registry, InvalidLocation> =>
  Effect.flatMap(toLocation(input), (l) =>
    l._tag === "Registry"
      ? Effect.succeed(l)
      : Effect.fail(
        new InvalidLocation({ input: Location.format(l), detail: "a registry reference is expected here" })
      ))

const parsePlatform = (p: Ocidist.PlatformInput): Effect.Effect<Platform.Platform, InvalidPlatform> =>
  typeof p === "string"
    ? Either.match(Platform.parse(p), { onLeft: Effect.fail, onRight: Effect.succeed })
    : Effect.succeed(p)

const parsePlatforms = (
  p: Ocidist.CopyOptions["platform"]
): Effect.Effect<ReadonlyArray<Platform.Platform> | undefined, InvalidPlatform> =>
  p === undefined
    ? Effect.succeed(undefined)
    : Effect.forEach(typeof p === "string" || !Array.isArray(p) ? [p as Ocidist.PlatformInput] : p, parsePlatform)

/** @internal */
export const make = (
  options: Ocidist.Options = {}
): Effect.Effect<Ocidist.Service, never, RegistryClient.RegistryClient | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const env: Stores.Environment = {
      client: yield* RegistryClient.RegistryClient,
      fs: yield* FileSystem.FileSystem,
      path: yield* Path.Path,
      hash: yield* Hash.Hash,
      cacheDirectory: options.cacheDirectory
    }
    // the layer codecs of the program that built the service (NodeOcidist: NodeCompression), for recompression
    const codecs = yield* Compression.CodecsRef

    const run = (from: Location.Location, to: Location.Location, copyOptions: Ocidist.CopyOptions | undefined) =>
      Effect.scoped(Effect.gen(function*() {
        const platforms = yield* parsePlatforms(copyOptions?.platform)
        const source = yield* Stores.openSource(env, from)
        const destination = yield* Stores.openDestination(env, to)
        const allTags = copyOptions?.allTags ?? false
        const tag = destination.tag ?? source.tag
        const dryRun = copyOptions?.dryRun ?? false
        const result = yield* Copy.copy(source.store, destination.store, {
          reference: source.reference,
          tags: tag === undefined ? [] : [tag],
          allTags,
          // docker load takes one image per platform: default to the running machine's
          platforms: platforms ?? (to._tag === "DockerArchive" ? [Platform.current()] : undefined),
          // …from an index: a single image of another platform is still written
          indexPlatformsOnly: platforms === undefined,
          referrers: copyOptions?.referrers ?? false,
          dryRun,
          concurrency: copyOptions?.concurrency ?? Copy.DEFAULT_CONCURRENCY,
          // OCI tools read only OCI media types from a layout (skopeo converts too); registries and docker
          // archives hold either: keep the digests
          format: copyOptions?.format ?? (to._tag === "Layout" || to._tag === "OciArchive" ? "oci" : "keep"),
          compress: copyOptions?.compress,
          compressLevel: copyOptions?.compressLevel,
          // a docker-archive holds gzip and plain layers only (docker load), whatever the manifest says
          dockerLayers: to._tag === "DockerArchive"
        }).pipe(Effect.provideService(Compression.CodecsRef, codecs))
        if (!dryRun) yield* destination.complete(result, source)
        return result
      }))

    const copy: Ocidist.Service["copy"] = (source, destination, copyOptions) =>
      Effect.flatMap(
        Effect.all([toLocation(source), toLocation(destination)]),
        ([from, to]) => run(from, to, copyOptions)
      ).pipe(Effect.withSpan("Ocidist.copy"))

    const pull: Ocidist.Service["pull"] = (reference, destination, copyOptions) =>
      Effect.flatMap(
        Effect.all([toRegistry(reference), toLocal(env, "destination")(destination)]),
        ([from, to]) => run(from, to, copyOptions)
      ).pipe(Effect.scoped, Effect.withSpan("Ocidist.pull"))

    const push: Ocidist.Service["push"] = (source, reference, copyOptions) =>
      Effect.flatMap(
        Effect.all([toLocal(env, "source")(source), toRegistry(reference)]),
        ([from, to]) => run(from, to, copyOptions)
      ).pipe(Effect.scoped, Effect.withSpan("Ocidist.push"))

    const inspect: Ocidist.Service["inspect"] = (location, inspectOptions) =>
      Effect.gen(function*() {
        const { reference, store } = yield* Stores.openSource(env, yield* toLocation(location))
        let m = yield* Storage.fetchReference(store, reference)
        if (inspectOptions?.platform !== undefined) {
          m = yield* selectPlatform(store, m, yield* parsePlatform(inspectOptions.platform))
        }
        return yield* inspectManifest(store, m)
      }).pipe(Effect.scoped, Effect.withSpan("Ocidist.inspect"))

    const resolve: Ocidist.Service["resolve"] = (location, resolveOptions) =>
      Effect.gen(function*() {
        const { reference, store } = yield* Stores.openSource(env, yield* toLocation(location))
        if (resolveOptions?.platform !== undefined) {
          const wanted = yield* parsePlatform(resolveOptions.platform)
          const m = yield* selectPlatform(store, yield* Storage.fetchReference(store, reference), wanted)
          return { location: store.name, digest: m.digest, mediaType: m.mediaType, size: m.bytes.length }
        }
        const d = yield* store.resolve(reference)
        return { location: store.name, digest: d.digest, mediaType: d.mediaType, size: d.size }
      }).pipe(Effect.scoped, Effect.withSpan("Ocidist.resolve"))

    const unsupported = (operation: string, location: string, detail: string) =>
      new UnsupportedOperation({ operation, location, detail })

    const tags: Ocidist.Service["tags"] = (location) =>
      Effect.gen(function*() {
        const { store } = yield* Stores.openSource(env, yield* toLocation(location))
        if (store.tags === undefined) return yield* unsupported("listing tags", store.name, "it cannot list tags")
        return yield* store.tags
      }).pipe(Effect.scoped, Effect.withSpan("Ocidist.tags"))

    const referrers: Ocidist.Service["referrers"] = (location, referrersOptions) =>
      Effect.gen(function*() {
        const { reference, store } = yield* Stores.openSource(env, yield* toLocation(location))
        if (store.referrers === undefined) {
          return yield* unsupported("listing referrers", store.name, "it cannot list referrers")
        }
        const subject = yield* store.resolve(reference)
        return yield* store.referrers(
          subject,
          referrersOptions?.artifactType === undefined ? {} : { artifactType: referrersOptions.artifactType }
        )
      }).pipe(Effect.scoped, Effect.withSpan("Ocidist.referrers"))

    return { copy, pull, push, inspect, resolve, tags, referrers } satisfies Ocidist.Service
  })

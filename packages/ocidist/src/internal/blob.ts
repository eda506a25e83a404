/**
 * `Blob.push` and `Blob.remove`: a blob uploaded from a file or a stream (spooled to a temporary file while
 * it is hashed: its digest is known only at its end), and a blob deleted (a registry `DELETE`; a layout's
 * file, refused while a manifest uses it). Also the environment every authoring module opens stores with.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as Layout from "@ocidist/layout/Layout"
import * as LayoutError from "@ocidist/layout/LayoutError"
import type * as Digest from "@ocidist/reference/Digest"
import * as Hash from "@ocidist/reference/Hash"
import * as Reference from "@ocidist/reference/Reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type * as Blob from "../Blob.js"
import * as Location from "../Location.js"
import { InvalidLocation, type OcidistError, UnsupportedOperation } from "../OcidistError.js"
import * as Stores from "./stores.js"

/** What the authoring operations need in context. @internal */
export type Requirements = RegistryClient.RegistryClient | FileSystem.FileSystem | Path.Path

/** The store environment from context (no cache directory: archives stage in a temporary directory). @internal */
export const environment: Effect.Effect<Stores.Environment, never, Requirements> = Effect.gen(function*() {
  return {
    client: yield* RegistryClient.RegistryClient,
    fs: yield* FileSystem.FileSystem,
    path: yield* Path.Path,
    hash: yield* Hash.Hash,
    cacheDirectory: undefined
  }
})

/** A location from the facade's inputs. @internal */
export const toLocation = (input: Blob.LocationInput): Effect.Effect<Location.Location, InvalidLocation> =>
  Location.from(input)

const fileError = (path: string) => LayoutError.fromPlatformError(path)

/** Hashes and counts a file's bytes, streaming. */
const describeFile = (env: Stores.Environment, path: string) =>
  Effect.gen(function*() {
    const hasher = env.hash.make("sha256")
    yield* Stream.runForEach(
      env.fs.stream(path, { chunkSize: 256 * 1024 }),
      (chunk) => Effect.sync(() => hasher.update(chunk))
    ).pipe(Effect.mapError(fileError(path)))
    return { digest: hasher.digest(), size: hasher.bytes() }
  })

/** Writes a stream to a temporary file of the scope while hashing it. */
const spool = <E>(env: Stores.Environment, content: Stream.Stream<Uint8Array, E>) =>
  Effect.gen(function*() {
    const dir = yield* Effect.mapError(
      env.fs.makeTempDirectoryScoped({ prefix: "ocidist-blob-" }),
      fileError("(temporary directory)")
    )
    const file = env.path.join(dir, "blob")
    const hasher = env.hash.make("sha256")
    const hashed = Stream.tap(content, (chunk) => Effect.sync(() => hasher.update(chunk)))
    yield* Stream.run(hashed, Sink.mapError(env.fs.sink(file), fileError(file)))
    return { file, digest: hasher.digest(), size: hasher.bytes() }
  })

/** Archives hold images, not loose blobs. */
const noArchive = (location: Location.Location, operation: string) =>
  new UnsupportedOperation({
    operation,
    location: Location.format(location),
    detail: "an archive holds images, not loose blobs: use a registry repository or an OCI layout (oci:DIR)"
  })

/** The registry repository or layout a blob goes to. */
const blobStore = (env: Stores.Environment, location: Location.Location, operation: string) =>
  location._tag === "OciArchive" || location._tag === "DockerArchive"
    ? Effect.fail(noArchive(location, operation))
    : Effect.map(Stores.openDestination(env, location), (d) => d.store)

/** @internal */
export const push = <E>(
  repository: Blob.LocationInput,
  source: string | Stream.Stream<Uint8Array, E>,
  options?: Blob.PushOptions
): Effect.Effect<Descriptor.Descriptor, OcidistError | E, Requirements> =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* environment
    const location = yield* toLocation(repository)
    const store = yield* blobStore(env, location, "pushing a blob")
    const { digest, file, size } = typeof source === "string"
      ? { file: source, ...(yield* describeFile(env, source)) }
      : yield* spool(env, source)
    const descriptor: Descriptor.Descriptor = {
      mediaType: options?.mediaType ?? "application/octet-stream",
      digest,
      size
    }
    if (!(yield* store.exists(descriptor))) {
      yield* store.pushBlob(
        descriptor,
        Storage.fromStream(Stream.mapError(env.fs.stream(file, { chunkSize: 256 * 1024 }), fileError(file)))
      )
    }
    return descriptor
  })).pipe(Effect.withSpan("Blob.push"))

/** The manifests of a layout (from its `index.json` entries, descending indexes) that use `digest`. */
const usersIn = (layout: Layout.Layout, digest: Digest.Digest) =>
  Effect.gen(function*() {
    const users = new Set<string>()
    const seen = new Set<string>()
    const entries = yield* layout.entries
    if (entries.some((e) => e.digest === digest)) users.add("index.json")
    const visit = (d: Descriptor.Descriptor): Effect.Effect<void, OcidistError> =>
      Effect.gen(function*() {
        if (seen.has(d.digest) || !MediaType.isManifest(d.mediaType)) return
        seen.add(d.digest)
        const found = yield* layout.exists(d)
        if (!found) return
        const m = yield* layout.fetchManifest(d)
        const subject = Manifest.subject(m)
        const refs = [...Manifest.children(m), ...(subject === undefined ? [] : [subject])]
        if (refs.some((c) => c.digest === digest)) users.add(m.digest)
        yield* Effect.forEach(refs, visit, { discard: true })
      })
    yield* Effect.forEach(entries, visit, { discard: true })
    return [...users]
  })

/** @internal */
export const remove = (
  blob: Blob.LocationInput,
  options?: Blob.RemoveOptions
): Effect.Effect<Blob.Removed, OcidistError, Requirements> =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* environment
    const location = yield* toLocation(blob)
    const name = Location.format(location)
    const missingDigest = new InvalidLocation({
      input: name,
      detail: "name the blob by digest: repository@sha256:… or oci:DIR@sha256:…"
    })
    if (location._tag === "Registry") {
      const digest = location.reference.digest
      if (digest === undefined) return yield* missingDigest
      yield* env.client.blobs.delete(Reference.repositoryOf(location.reference), digest)
      return { location: name, digest, deleted: true, usedBy: [] }
    }
    if (location._tag !== "Layout") {
      return yield* noArchive(location, "deleting a blob")
    }
    const digest = location.digest
    if (digest === undefined) return yield* missingDigest
    // openOrCreate: a layout that holds only blobs so far (no index.json yet: `blob push` wrote them) opens too
    const layout = yield* Stores.provide(env)(Layout.openOrCreate(location.path))
    const usedBy = yield* usersIn(layout, digest)
    if (usedBy.length > 0 && options?.force !== true) {
      return yield* new UnsupportedOperation({
        operation: "deleting a blob in use",
        location: name,
        detail: `it is used by ${
          usedBy.map((u) => u === "index.json" ? "an index.json entry" : `manifest ${u}`).join(", ")
        }: delete those first, or add --force (leaves them incomplete)`
      })
    }
    if (usedBy.includes("index.json")) yield* layout.removeEntries(digest)
    const deleted = yield* layout.removeBlob(digest)
    return { location: name, digest, deleted, usedBy }
  })).pipe(Effect.withSpan("Blob.remove"))

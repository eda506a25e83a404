/**
 * The Promise API, for programs that do not use Effect: the same operations with plain options. Every
 * rejection is an {@link OcidistFailure}: a discriminated union on `_tag`, one member per typed error
 * (`NotFound`, `Unauthorized`, `PlatformNotFound`, `ImageNotFound`, `DigestMismatch`…, with the error itself
 * as `error`), plus `Interrupted` (aborted), `Closed` (called after `close()`) and `Defect` (a bug; the
 * cause is kept). Pass an `AbortSignal` to cancel, `onProgress` to receive progress events.
 *
 * ```js
 * import { createClient, isOcidistFailure } from "ocidist/promise"
 *
 * const client = createClient()
 * const result = await client.pull("docker.io/library/alpine:3.20", "./alpine", {
 *   platform: "linux/amd64",
 *   onProgress: (event) => { if (event._tag === "BlobDone") console.error(`${event.digest} done`) }
 * })
 * console.log(result.digest)
 *
 * // authoring: artifacts, blobs, indexes, validate, mutate, append, export, flatten
 * await client.artifacts.push("localhost:5000/sbom:1", ["./sbom.json"], { artifactType: "application/spdx+json" })
 * await client.mutate("localhost:5000/app:1", { labels: { "org.example.team": "web" } })
 * const report = await client.validate("localhost:5000/app:1", { full: true })
 * await client.export("localhost:5000/app:1", "./rootfs.tar")
 *
 * try {
 *   await client.resolve("localhost:5000/missing:1")
 * } catch (e) {
 *   if (isOcidistFailure(e) && e._tag === "NotFound") console.error(e.error.status) // typed: 404
 * }
 * await client.close()
 * ```
 *
 * @since 0.1.0
 */
import * as LayoutError from "@ocidist/layout/LayoutError"
import type * as Reference from "@ocidist/reference/Reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Artifact from "./Artifact.js"
import * as Blob from "./Blob.js"
import * as Export from "./Export.js"
import * as Flatten from "./Flatten.js"
import * as ImageIndex from "./ImageIndex.js"
import * as Mutate from "./Mutate.js"
import * as NodeOcidist from "./NodeOcidist.js"
import * as Ocidist from "./Ocidist.js"
import type { OcidistError } from "./OcidistError.js"
import * as Progress from "./Progress.js"
import type * as Result from "./Result.js"
import * as Validate from "./Validate.js"

/**
 * Options every call accepts.
 *
 * @since 0.1.0
 * @category options
 */
export interface CallOptions {
  /** Aborting interrupts the operation (partial downloads are kept for a resume). */
  readonly signal?: AbortSignal | undefined
  /** Called for every progress event, synchronously; keep it quick. */
  readonly onProgress?: ((event: Progress.Event) => void) | undefined
}

/**
 * The `_tag` of a failure: one of the typed errors', or `Interrupted`, `Closed`, `Defect`.
 *
 * @since 0.2.0
 * @category errors
 */
export type FailureTag = OcidistError["_tag"] | "Interrupted" | "Closed" | "Defect"

/**
 * The typed error behind a failure of a tag (`undefined` for `Interrupted`, `Closed`, `Defect`).
 *
 * @since 0.2.0
 * @category errors
 */
export type ErrorOf<Tag extends FailureTag> = Tag extends OcidistError["_tag"] ?
  Extract<OcidistError, { readonly _tag: Tag }>
  : undefined

const FailureTypeId = "~ocidist/promise/OcidistFailure"

/**
 * A failed call, for one tag. Use {@link OcidistFailure} (the union) to narrow on `_tag`.
 *
 * @since 0.2.0
 * @category errors
 */
export class Failure<Tag extends FailureTag = FailureTag> extends Error {
  override readonly name = "OcidistFailure"
  readonly [FailureTypeId] = FailureTypeId
  constructor(
    readonly _tag: Tag,
    message: string,
    readonly error: ErrorOf<Tag>,
    options?: { readonly cause?: unknown }
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
  }
}

/**
 * A failed call: a discriminated union on `_tag`, each member carrying its typed error as `error`.
 *
 * @since 0.1.0
 * @category errors
 */
export type OcidistFailure = { readonly [Tag in FailureTag]: Failure<Tag> }[FailureTag]

/**
 * Whether a rejection is an {@link OcidistFailure} (every rejection of this module is).
 *
 * @since 0.2.0
 * @category guards
 */
export const isOcidistFailure = (u: unknown): u is OcidistFailure =>
  typeof u === "object" && u !== null && FailureTypeId in u

/**
 * What a client's layer must provide: the `Ocidist` service and the services of the other operations (the
 * registry client, `FileSystem`, `Path`, `Hash`), as `NodeOcidist.layer` does.
 *
 * @since 0.5.0
 * @category models
 */
export type Services = NodeOcidist.Services

/**
 * The artifact operations of a {@link Client} (see the `Artifact` module).
 *
 * @since 0.5.0
 * @category models
 */
export interface Artifacts {
  /** Pushes files (and directories, as gzipped tars) as an artifact, as `oras push`. */
  readonly push: (
    destination: Artifact.LocationInput,
    files: ReadonlyArray<Artifact.FileInput>,
    options?: Artifact.PushOptions & CallOptions
  ) => Promise<Artifact.PushResult>
  /** Pushes files as an artifact referring to `subject`, into its repository or layout, as `oras attach`. */
  readonly attach: (
    subject: Artifact.LocationInput,
    files: ReadonlyArray<Artifact.FileInput>,
    options?: Omit<Artifact.PushOptions, "subject" | "tags"> & CallOptions
  ) => Promise<Artifact.PushResult>
  /** Writes each titled layer of an artifact to `directory/<title>` (directories unpacked), as `oras pull`. */
  readonly pull: (
    source: Artifact.LocationInput,
    directory: string,
    options?: Artifact.PullOptions & CallOptions
  ) => Promise<Artifact.PullResult>
}

/**
 * The blob operations of a {@link Client} (see the `Blob` module).
 *
 * @since 0.5.0
 * @category models
 */
export interface Blobs {
  /**
   * Uploads a blob from a file (a path) or a stream of bytes (a Node `Readable`, any `AsyncIterable` of
   * `Uint8Array`: spooled to a temporary file while hashed) and returns its descriptor. A stream that fails
   * rejects with a `FileSystemError`.
   */
  readonly push: (
    repository: Blob.LocationInput,
    source: string | AsyncIterable<Uint8Array>,
    options?: Blob.PushOptions & CallOptions
  ) => Promise<Descriptor.Descriptor>
  /** Deletes a blob named by digest (`repo@sha256:…`, `oci:./dir@sha256:…`). */
  readonly remove: (blob: Blob.LocationInput, options?: Blob.RemoveOptions & CallOptions) => Promise<Blob.Removed>
}

/**
 * The image index operations of a {@link Client} (see the `ImageIndex` module).
 *
 * @since 0.5.0
 * @category models
 */
export interface Indexes {
  /** Creates an index of `manifests` at `destination`. */
  readonly create: (
    destination: ImageIndex.LocationInput,
    manifests: ReadonlyArray<ImageIndex.LocationInput>,
    options?: ImageIndex.CreateOptions & CallOptions
  ) => Promise<ImageIndex.Written>
  /** Adds `manifests` to the index at `destination`. */
  readonly append: (
    destination: ImageIndex.LocationInput,
    manifests: ReadonlyArray<ImageIndex.LocationInput>,
    options?: ImageIndex.CreateOptions & CallOptions
  ) => Promise<ImageIndex.Written>
  /** Removes the entries of a platform, or the entry of a digest, from the index at `destination`. */
  readonly remove: (
    destination: ImageIndex.LocationInput,
    selector: ImageIndex.RemoveSelector,
    options?: CallOptions
  ) => Promise<ImageIndex.Written>
  /** Sets annotations on the index at `destination` or on its entries. */
  readonly annotate: (
    destination: ImageIndex.LocationInput,
    options: ImageIndex.AnnotateOptions & CallOptions
  ) => Promise<ImageIndex.Written>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Client {
  readonly copy: (
    source: Ocidist.LocationInput,
    destination: Ocidist.LocationInput,
    options?: Ocidist.CopyOptions & CallOptions
  ) => Promise<Result.CopyResult>
  readonly pull: (
    reference: string | Reference.Reference,
    destination: Ocidist.LocationInput,
    options?: Ocidist.PullOptions & CallOptions
  ) => Promise<Result.PullResult>
  readonly push: (
    source: Ocidist.LocationInput,
    reference: string | Reference.Reference,
    options?: Ocidist.PushOptions & CallOptions
  ) => Promise<Result.PushResult>
  readonly inspect: (
    location: Ocidist.LocationInput,
    options?: Ocidist.InspectOptions & CallOptions
  ) => Promise<Result.Inspection>
  readonly resolve: (
    location: Ocidist.LocationInput,
    options?: Ocidist.ResolveOptions & CallOptions
  ) => Promise<Result.Resolved>
  readonly tags: (location: Ocidist.LocationInput, options?: CallOptions) => Promise<ReadonlyArray<string>>
  readonly referrers: (
    location: Ocidist.LocationInput,
    options?: Ocidist.ReferrersOptions & CallOptions
  ) => Promise<ReadonlyArray<Descriptor.Descriptor>>
  /**
   * Artifacts: `push`, `attach`, `pull`.
   *
   * @since 0.5.0
   */
  readonly artifacts: Artifacts
  /**
   * Single blobs: `push`, `remove`.
   *
   * @since 0.5.0
   */
  readonly blobs: Blobs
  /**
   * Image indexes: `create`, `append`, `remove`, `annotate`.
   *
   * @since 0.5.0
   */
  readonly indexes: Indexes
  /**
   * Checks everything reachable from what a location names (see the `Validate` module): content problems
   * are in the result (`ok: false`), not rejections.
   *
   * @since 0.5.0
   */
  readonly validate: (
    location: Validate.LocationInput,
    options?: Validate.Options & CallOptions
  ) => Promise<Validate.Validation>
  /**
   * Changes an image's config (labels, env, entrypoint, cmd, workdir, user) and annotations, as `crane mutate`.
   *
   * @since 0.5.0
   */
  readonly mutate: (
    source: Mutate.LocationInput,
    options?: Mutate.MutateOptions & CallOptions
  ) => Promise<Mutate.MutateResult>
  /**
   * Adds a layer (a tar, a compressed tar, a directory) on top of an image, as `crane append`.
   *
   * @since 0.5.0
   */
  readonly append: (
    source: Mutate.LocationInput,
    options: Mutate.AppendOptions & CallOptions
  ) => Promise<Mutate.MutateResult>
  /**
   * Writes an image's merged filesystem to a tar file, as `crane export`.
   *
   * @since 0.5.0
   */
  readonly export: (
    source: Ocidist.LocationInput,
    path: string,
    options?: Export.Options & CallOptions
  ) => Promise<Export.Exported>
  /**
   * Writes an image of one layer, its merged filesystem, as `crane flatten`.
   *
   * @since 0.5.0
   */
  readonly flatten: (
    source: Ocidist.LocationInput,
    options?: Flatten.Options & CallOptions
  ) => Promise<Flatten.Flattened>
  /** Releases connections. Calls made after `close` reject with a `Closed` failure. */
  readonly close: () => Promise<void>
}

const toFailure = (cause: Cause.Cause<OcidistError>): OcidistFailure => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    return new Failure(error._tag, error.message, error) as OcidistFailure
  }
  if (Cause.isInterruptedOnly(cause)) return new Failure("Interrupted", "the operation was interrupted", undefined)
  return new Failure("Defect", `ocidist failed unexpectedly: ${Cause.pretty(cause)}`, undefined, {
    cause: Cause.squash(cause)
  })
}

const closed = (): OcidistFailure => new Failure("Closed", "the client is closed", undefined)

function strip<O extends CallOptions>(options: O): Omit<O, "signal" | "onProgress">
function strip<O extends CallOptions>(options: O | undefined): Omit<O, "signal" | "onProgress"> | undefined
function strip<O extends CallOptions>(options: O | undefined): Omit<O, "signal" | "onProgress"> | undefined {
  if (options === undefined) return undefined
  const { onProgress: _p, signal: _s, ...rest } = options
  return rest
}

/** Bytes from an async iterable (a Node `Readable`), its failure a typed `FileSystemError`. */
const fromAsyncIterable = (source: AsyncIterable<Uint8Array>): Stream.Stream<Uint8Array, OcidistError> =>
  Stream.fromAsyncIterable(source, (cause) =>
    new LayoutError.FileSystemError({
      path: "(stream)",
      detail: `cannot read the stream given to blobs.push: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause
    }))

/**
 * A client over a layer (see {@link createClient} for the default Node stack).
 *
 * @since 0.1.0
 * @category constructors
 */
export const createClientFromLayer = (layer: Layer.Layer<Services>): Client => {
  const runtime = ManagedRuntime.make(layer)
  let isClosed = false
  const run = <A>(
    operation: Effect.Effect<A, OcidistError, Services>,
    options: CallOptions | undefined
  ): Promise<A> => {
    if (isClosed) return Promise.reject(closed())
    const onProgress = options?.onProgress
    let effect = operation
    if (onProgress !== undefined) effect = Progress.withReporter((e) => onProgress(e))(effect)
    return runtime.runPromiseExit(effect, options?.signal === undefined ? {} : { signal: options.signal }).then(
      (exit) =>
        Exit.isSuccess(exit)
          ? exit.value
          : Promise.reject(isClosed ? closed() : toFailure(exit.cause as Cause.Cause<OcidistError>)),
      // the runtime refuses to run once disposed
      (defect: unknown) => Promise.reject(isClosed ? closed() : toFailure(Cause.die(defect)))
    )
  }
  const withService = <A>(
    f: (service: Ocidist.Service) => Effect.Effect<A, OcidistError>,
    options: CallOptions | undefined
  ): Promise<A> => run(Effect.flatMap(Ocidist.Ocidist, f), options)
  return {
    copy: (source, destination, options) => withService((s) => s.copy(source, destination, strip(options)), options),
    pull: (reference, destination, options) =>
      withService((s) => s.pull(reference, destination, strip(options)), options),
    push: (source, reference, options) => withService((s) => s.push(source, reference, strip(options)), options),
    inspect: (location, options) => withService((s) => s.inspect(location, strip(options)), options),
    resolve: (location, options) => withService((s) => s.resolve(location, strip(options)), options),
    tags: (location, options) => withService((s) => s.tags(location), options),
    referrers: (location, options) => withService((s) => s.referrers(location, strip(options)), options),
    artifacts: {
      push: (destination, files, options) => run(Artifact.push(destination, files, strip(options)), options),
      attach: (subject, files, options) => run(Artifact.attach(subject, files, strip(options)), options),
      pull: (source, directory, options) => run(Artifact.pull(source, directory, strip(options)), options)
    },
    blobs: {
      push: (repository, source, options) =>
        run(
          Blob.push(repository, typeof source === "string" ? source : fromAsyncIterable(source), strip(options)),
          options
        ),
      remove: (blob, options) => run(Blob.remove(blob, strip(options)), options)
    },
    indexes: {
      create: (destination, manifests, options) =>
        run(ImageIndex.create(destination, manifests, strip(options)), options),
      append: (destination, manifests, options) =>
        run(ImageIndex.append(destination, manifests, strip(options)), options),
      remove: (destination, selector, options) => run(ImageIndex.remove(destination, selector), options),
      annotate: (destination, options) => run(ImageIndex.annotate(destination, strip(options)), options)
    },
    validate: (location, options) => run(Validate.validate(location, strip(options)), options),
    mutate: (source, options) => run(Mutate.mutate(source, strip(options)), options),
    append: (source, options) => run(Mutate.append(source, strip(options)), options),
    export: (source, path, options) => run(Export.toFile(source, path, strip(options)), options),
    flatten: (source, options) => run(Flatten.flatten(source, strip(options)), options),
    close: () => {
      isClosed = true
      return runtime.dispose()
    }
  }
}

/**
 * A client with the default Node stack (`NodeOcidist.layer`): undici, credentials from the environment,
 * docker `config.json` and podman `auth.json`, the user's cache directory, and the given options (registry
 * options: plain HTTP, TLS, timeouts…; credentials; cache directory).
 *
 * @since 0.1.0
 * @category constructors
 */
export const createClient = (options: Ocidist.LayerOptions = {}): Client =>
  createClientFromLayer(NodeOcidist.layer(options))

let shared: Client | undefined
const defaultClient = () => (shared ??= createClient())

/**
 * Copies with a shared default client.
 *
 * @since 0.1.0
 * @category operations
 */
export const copy: Client["copy"] = (source, destination, options) => defaultClient().copy(source, destination, options)

/**
 * Pulls with a shared default client.
 *
 * @since 0.1.0
 * @category operations
 */
export const pull: Client["pull"] = (reference, destination, options) =>
  defaultClient().pull(reference, destination, options)

/**
 * Pushes with a shared default client.
 *
 * @since 0.1.0
 * @category operations
 */
export const push: Client["push"] = (source, reference, options) => defaultClient().push(source, reference, options)

/**
 * Inspects with a shared default client.
 *
 * @since 0.1.0
 * @category operations
 */
export const inspect: Client["inspect"] = (location, options) => defaultClient().inspect(location, options)

/**
 * Resolves with a shared default client.
 *
 * @since 0.1.0
 * @category operations
 */
export const resolve: Client["resolve"] = (location, options) => defaultClient().resolve(location, options)

/**
 * Lists tags with a shared default client.
 *
 * @since 0.1.0
 * @category operations
 */
export const tags: Client["tags"] = (location, options) => defaultClient().tags(location, options)

/**
 * Lists referrers with a shared default client.
 *
 * @since 0.1.0
 * @category operations
 */
export const referrers: Client["referrers"] = (location, options) => defaultClient().referrers(location, options)

/**
 * The artifact operations (`push`, `attach`, `pull`) with a shared default client.
 *
 * @since 0.5.0
 * @category operations
 */
export const artifacts: Artifacts = {
  push: (destination, files, options) => defaultClient().artifacts.push(destination, files, options),
  attach: (subject, files, options) => defaultClient().artifacts.attach(subject, files, options),
  pull: (source, directory, options) => defaultClient().artifacts.pull(source, directory, options)
}

/**
 * The blob operations (`push`, `remove`) with a shared default client.
 *
 * @since 0.5.0
 * @category operations
 */
export const blobs: Blobs = {
  push: (repository, source, options) => defaultClient().blobs.push(repository, source, options),
  remove: (blob, options) => defaultClient().blobs.remove(blob, options)
}

/**
 * The image index operations (`create`, `append`, `remove`, `annotate`) with a shared default client.
 *
 * @since 0.5.0
 * @category operations
 */
export const indexes: Indexes = {
  create: (destination, manifests, options) => defaultClient().indexes.create(destination, manifests, options),
  append: (destination, manifests, options) => defaultClient().indexes.append(destination, manifests, options),
  remove: (destination, selector, options) => defaultClient().indexes.remove(destination, selector, options),
  annotate: (destination, options) => defaultClient().indexes.annotate(destination, options)
}

/**
 * Validates with a shared default client.
 *
 * @since 0.5.0
 * @category operations
 */
export const validate: Client["validate"] = (location, options) => defaultClient().validate(location, options)

/**
 * Mutates an image with a shared default client.
 *
 * @since 0.5.0
 * @category operations
 */
export const mutate: Client["mutate"] = (source, options) => defaultClient().mutate(source, options)

/**
 * Appends a layer with a shared default client.
 *
 * @since 0.5.0
 * @category operations
 */
export const append: Client["append"] = (source, options) => defaultClient().append(source, options)

/**
 * Exports an image's filesystem to a tar file with a shared default client (`Client.export`: `export` is a
 * reserved word for a module's binding).
 *
 * @since 0.5.0
 * @category operations
 */
export const exportImage: Client["export"] = (source, path, options) => defaultClient().export(source, path, options)

/**
 * Flattens an image with a shared default client.
 *
 * @since 0.5.0
 * @category operations
 */
export const flatten: Client["flatten"] = (source, options) => defaultClient().flatten(source, options)

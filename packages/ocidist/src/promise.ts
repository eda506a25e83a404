/**
 * The Promise API, for programs that do not use Effect: the same operations with plain options. Every
 * rejection is an {@link OcidistFailure}: a discriminated union on `_tag`, one member per typed error
 * (`NotFound`, `Unauthorized`, `PlatformNotFound`, `ImageNotFound`, `DigestMismatch`…, with the error itself
 * as `error`), plus `Interrupted` (aborted), `Closed` (called after `close()`) and `Defect` (a bug; the
 * cause is kept). Pass an `AbortSignal` to cancel, `onProgress` to receive progress events.
 *
 * ```js
 * import { createClient } from "ocidist/promise"
 *
 * const client = createClient()
 * const result = await client.pull("docker.io/library/alpine:3.20", "./alpine", {
 *   platform: "linux/amd64",
 *   onProgress: (event) => { if (event._tag === "BlobDone") console.error(`${event.digest} done`) }
 * })
 * console.log(result.digest)
 * await client.close()
 *
 * try {
 *   await client.resolve("localhost:5000/missing:1")
 * } catch (e) {
 *   if (isOcidistFailure(e) && e._tag === "NotFound") console.error(e.error.status) // typed: 404
 * }
 * ```
 *
 * @since 0.1.0
 */
import type * as Reference from "@ocidist/reference/Reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as NodeOcidist from "./NodeOcidist.js"
import * as Ocidist from "./Ocidist.js"
import type { OcidistError } from "./OcidistError.js"
import * as Progress from "./Progress.js"
import type * as Result from "./Result.js"

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

const strip = <O extends CallOptions>(options: O | undefined): Omit<O, "signal" | "onProgress"> | undefined => {
  if (options === undefined) return undefined
  const { onProgress: _p, signal: _s, ...rest } = options
  return rest
}

/**
 * A client over a layer (see {@link createClient} for the default Node stack).
 *
 * @since 0.1.0
 * @category constructors
 */
export const createClientFromLayer = (layer: Layer.Layer<Ocidist.Ocidist>): Client => {
  const runtime = ManagedRuntime.make(layer)
  let isClosed = false
  const run = <A>(
    f: (service: Ocidist.Service) => Effect.Effect<A, OcidistError>,
    options: CallOptions | undefined
  ): Promise<A> => {
    if (isClosed) return Promise.reject(closed())
    const onProgress = options?.onProgress
    let effect = Effect.flatMap(Ocidist.Ocidist, f)
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
  return {
    copy: (source, destination, options) => run((s) => s.copy(source, destination, strip(options)), options),
    pull: (reference, destination, options) => run((s) => s.pull(reference, destination, strip(options)), options),
    push: (source, reference, options) => run((s) => s.push(source, reference, strip(options)), options),
    inspect: (location, options) => run((s) => s.inspect(location, strip(options)), options),
    resolve: (location, options) => run((s) => s.resolve(location, strip(options)), options),
    tags: (location, options) => run((s) => s.tags(location), options),
    referrers: (location, options) => run((s) => s.referrers(location, strip(options)), options),
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

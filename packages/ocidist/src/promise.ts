/**
 * The Promise API, for programs that do not use Effect: the same operations with plain options.
 * Rejections are {@link OcidistFailure} errors carrying the typed error's `_tag` and `message` (and the
 * error itself as `error`); pass an `AbortSignal` to cancel, `onProgress` to receive progress events.
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
 * A failed operation. `_tag` and `message` are those of the typed error (`NotFound`, `Unauthorized`,
 * `PlatformNotFound`, `LayoutError`, `DigestMismatch`…, or `Interrupted` when aborted); `error` is the
 * error value itself.
 *
 * @since 0.1.0
 * @category errors
 */
export class OcidistFailure extends Error {
  override readonly name = "OcidistFailure"
  constructor(
    readonly _tag: string,
    message: string,
    readonly error: OcidistError | undefined
  ) {
    super(message)
  }
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
  readonly resolve: (location: Ocidist.LocationInput, options?: CallOptions) => Promise<Result.Resolved>
  readonly tags: (location: Ocidist.LocationInput, options?: CallOptions) => Promise<ReadonlyArray<string>>
  readonly referrers: (
    location: Ocidist.LocationInput,
    options?: Ocidist.ReferrersOptions & CallOptions
  ) => Promise<ReadonlyArray<Descriptor.Descriptor>>
  /** Releases connections. Calls made after `close` fail. */
  readonly close: () => Promise<void>
}

const toFailure = (cause: Cause.Cause<OcidistError>): Error => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return new OcidistFailure(failure.value._tag, failure.value.message, failure.value)
  if (Cause.isInterruptedOnly(cause)) {
    return new OcidistFailure("Interrupted", "the operation was interrupted", undefined)
  }
  return new Error(Cause.pretty(cause))
}

const strip = <O extends CallOptions>(options: O | undefined): Omit<O, "signal" | "onProgress"> | undefined => {
  if (options === undefined) return undefined
  const { onProgress: _p, signal: _s, ...rest } = options
  return rest
}

/**
 * A client over a layer (default: `Ocidist.layer()`, the Node stack with docker credentials).
 *
 * @since 0.1.0
 * @category constructors
 */
export const createClientFromLayer = (layer: Layer.Layer<Ocidist.Ocidist, unknown>): Client => {
  const runtime = ManagedRuntime.make(layer)
  const run = <A>(
    f: (service: Ocidist.Service) => Effect.Effect<A, OcidistError>,
    options: CallOptions | undefined
  ): Promise<A> => {
    const onProgress = options?.onProgress
    let effect = Effect.flatMap(Ocidist.Ocidist, f)
    if (onProgress !== undefined) effect = Progress.withReporter((e) => onProgress(e))(effect)
    return runtime.runPromiseExit(effect, options?.signal === undefined ? {} : { signal: options.signal }).then(
      (exit) =>
        Exit.isSuccess(exit)
          ? exit.value
          : Promise.reject(toFailure(exit.cause as Cause.Cause<OcidistError>))
    )
  }
  return {
    copy: (source, destination, options) => run((s) => s.copy(source, destination, strip(options)), options),
    pull: (reference, destination, options) => run((s) => s.pull(reference, destination, strip(options)), options),
    push: (source, reference, options) => run((s) => s.push(source, reference, strip(options)), options),
    inspect: (location, options) => run((s) => s.inspect(location, strip(options)), options),
    resolve: (location, options) => run((s) => s.resolve(location), options),
    tags: (location, options) => run((s) => s.tags(location), options),
    referrers: (location, options) => run((s) => s.referrers(location, strip(options)), options),
    close: () => runtime.dispose()
  }
}

/**
 * A client with the default Node stack: undici, credentials from the environment, docker `config.json`
 * and podman `auth.json`, and the given registry options (plain HTTP, TLS, timeouts…).
 *
 * @since 0.1.0
 * @category constructors
 */
export const createClient = (options: Ocidist.Options = {}): Client => createClientFromLayer(Ocidist.layer(options))

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

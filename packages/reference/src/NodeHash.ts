/**
 * The Node.js implementations of the `Hash` service: `node:crypto`, native code (with SHA extensions where
 * the CPU has them), in the calling thread (`service`, `layer`) or in worker threads (`layerWorkers`), and
 * `layerAuto`, which picks one for the machine. Provide one in Node programs; the Node layers of ocidist
 * (`NodeRegistryClient`, `NodeOcidist`) already do.
 *
 * Hashing is the one part of moving a blob that costs CPU in proportion to its bytes. Where the CPU hashes
 * fast (SHA extensions: ~1.8 GiB/s per core here) it is a small share of a transfer and stays in the calling
 * thread; where it does not (~0.5 GiB/s without them) it caps a download at that speed, and worker threads
 * take it off the thread that reads the network and writes the file.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Hash from "./Hash.js"
import * as Workers from "./internal/NodeHashWorkers.js"

/**
 * @since 0.2.0
 * @category implementations
 */
export const service: Hash.Service = Hash.fromRaw(Workers.inline)

/**
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<never> = Hash.layer(service)

/**
 * Options of {@link makeWorkers}.
 *
 * @since 0.3.0
 * @category models
 */
export interface WorkerOptions {
  /** Worker threads (default: the machine's cores minus one, at least one). */
  readonly threads?: number | undefined
  /** Hashers each thread takes at once (default 8); more hash in the calling thread. */
  readonly slots?: number | undefined
  /** Bytes buffered per hasher (default 1 MiB): `update` waits when its worker is this far behind. */
  readonly ringBytes?: number | undefined
  /**
   * Start threads only on a machine with more than one core whose calling thread hashes slower than this
   * (MiB/s, measured once by {@link measureMiBps} when the first large content arrives); otherwise hash in
   * the calling thread.
   */
  readonly onlyBelowMiBps?: number | undefined
}

/**
 * A `Hash` service whose hashers hash in worker threads: `update` copies each buffer into shared memory (no
 * message or promise per buffer) and returns; `digest` waits for the worker. Memory is bounded: `update`
 * waits while a hasher's ring is full. Content up to 256 KiB is hashed in the calling thread, and the threads
 * start with the first larger content; they stop when the scope closes (and never keep the process alive).
 *
 * @since 0.3.0
 * @category constructors
 */
export const makeWorkers = (options?: WorkerOptions): Effect.Effect<Hash.Service, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(Effect.sync(() => Workers.make(options)), (pool) => Effect.promise(pool.close)),
    (pool) => pool.service
  )

/**
 * {@link makeWorkers} as the hash implementation.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerWorkers = (options?: WorkerOptions): Layer.Layer<never> =>
  Layer.unwrapScoped(Effect.map(makeWorkers(options), Hash.layer))

/**
 * `node:crypto` SHA-256 throughput of this thread, in MiB/s (hashes 4 MiB: a few milliseconds).
 *
 * @since 0.3.0
 * @category utils
 */
export const measureMiBps: () => number = Workers.measureMiBps

/** Below this `node:crypto` throughput (MiB/s, one thread) `"auto"` starts worker threads. */
const AUTO_BELOW_MIBPS = 1024

/**
 * The hash service for a number of threads: `"auto"` (worker threads only on a machine with more than one
 * core whose calling thread hashes slower than 1024 MiB/s, unless `onlyBelowMiBps` says otherwise), `0`
 * ({@link service}, the calling thread), or that many worker threads ({@link makeWorkers}). Content up to
 * 256 KiB (manifests, configs) is always hashed in the calling thread, and no thread starts before the first
 * larger content.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (
  threads: number | "auto" = "auto",
  options?: WorkerOptions
): Effect.Effect<Hash.Service, never, Scope.Scope> =>
  threads === 0
    ? Effect.succeed(service)
    : makeWorkers(
      threads === "auto"
        ? { ...options, onlyBelowMiBps: options?.onlyBelowMiBps ?? AUTO_BELOW_MIBPS }
        : { ...options, threads }
    )

/**
 * {@link make} as the hash implementation.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerThreads = (threads: number | "auto" = "auto", options?: WorkerOptions): Layer.Layer<never> =>
  Layer.unwrapScoped(Effect.map(make(threads, options), Hash.layer))

/**
 * Worker threads where they pay: `layerThreads("auto", options)`.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerAuto = (options?: WorkerOptions): Layer.Layer<never> => layerThreads("auto", options)

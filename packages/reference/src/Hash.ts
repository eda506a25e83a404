/**
 * The hash functions that digests are computed with, as a service. Every streaming hash in ocidist (blob
 * downloads, uploads, layout writes, verification) asks this service for its hasher, so the implementation
 * is chosen once, where the program is wired: the default is portable JavaScript (any runtime, ~150 MiB/s
 * for SHA-256); Node programs provide `NodeHash.layer` (`node:crypto`, native and several times faster).
 *
 * ```ts
 * import { Hash } from "@ocidist/reference"
 * import * as NodeHash from "@ocidist/reference/NodeHash"
 *
 * const digestOf = (chunks: ReadonlyArray<Uint8Array>) =>
 *   Effect.map(Hash.hasher("sha256"), (h) => {
 *     for (const chunk of chunks) h.update(chunk)
 *     return h.digest()
 *   })
 * Effect.runSync(digestOf(chunks).pipe(Effect.provide(NodeHash.layer)))
 * ```
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Algorithm, Digest } from "./Digest.js"
import * as Sha2 from "./internal/sha2.js"

/**
 * An incremental hasher: feed chunks with `update`, read the digest with `digest` (once; `update` after
 * `digest` is a defect). `bytes` counts what was fed.
 *
 * @since 0.2.0
 * @category models
 */
export interface Hasher {
  readonly algorithm: Algorithm
  readonly update: (chunk: Uint8Array) => void
  readonly digest: () => Digest
  readonly bytes: () => number
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** A fresh hasher for one content. */
  readonly make: (algorithm: Algorithm) => Hasher
}

/**
 * Builds a service from a function that makes a raw incremental hash (`update`, then a hex digest once).
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromRaw = (
  raw: (algorithm: Algorithm) => {
    readonly update: (chunk: Uint8Array) => void
    readonly digestHex: () => string
  }
): Service => ({
  make: (algorithm) => {
    const hash = raw(algorithm)
    let bytes = 0
    let result: Digest | undefined
    return {
      algorithm,
      update: (chunk) => {
        if (result !== undefined) throw new Error("Hasher.update called after digest()")
        hash.update(chunk)
        bytes += chunk.length
      },
      digest: () => (result ??= `${algorithm}:${hash.digestHex()}` as Digest),
      bytes: () => bytes
    }
  }
})

/**
 * SHA-256/384/512 in portable JavaScript: the default, for runtimes without a native hash.
 *
 * @since 0.2.0
 * @category implementations
 */
export const portable: Service = fromRaw(Sha2.create)

/**
 * The hash service in context; `portable` unless a program provides another (`NodeHash.layer`).
 *
 * @since 0.2.0
 * @category tags
 */
export class Hash extends Context.Reference<Hash>()("@ocidist/reference/Hash", {
  defaultValue: (): Service => portable
}) {}

/**
 * A layer that makes `service` the hash implementation.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (service: Service): Layer.Layer<never> => Layer.succeed(Hash, service)

/**
 * A fresh hasher from the service in context.
 *
 * @since 0.2.0
 * @category constructors
 */
export const hasher = (algorithm: Algorithm): Effect.Effect<Hasher> =>
  Effect.map(Hash, (service) => service.make(algorithm))

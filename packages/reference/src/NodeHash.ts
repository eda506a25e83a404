/**
 * The Node.js implementation of the `Hash` service: `node:crypto`, native code (with SHA extensions where
 * the CPU has them). Provide it in Node programs; the Node layers of ocidist (`NodeRegistryClient`,
 * `NodeOcidist`) already do.
 *
 * @since 0.2.0
 */
import type * as Layer from "effect/Layer"
import { createHash } from "node:crypto"
import * as Hash from "./Hash.js"

/**
 * @since 0.2.0
 * @category implementations
 */
export const service: Hash.Service = Hash.fromRaw((algorithm) => {
  const hash = createHash(algorithm)
  return { update: (chunk) => void hash.update(chunk), digestHex: () => hash.digest("hex") }
})

/**
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<never> = Hash.layer(service)

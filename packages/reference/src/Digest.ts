/**
 * Content digests (`algorithm:hex`): validation, parsing, and incremental hashing of byte streams.
 *
 * Supported algorithms are those of the OCI image spec: `sha256` (64 hex characters), `sha384` (96) and
 * `sha512` (128), always lower-case hex. Other well-formed algorithms fail as `UnsupportedAlgorithm`.
 *
 * @since 0.1.0
 */
import type * as Brand from "effect/Brand"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { createHash, type Hash } from "node:crypto"
import * as grammar from "./internal/grammar.js"
import { DigestMismatch, InvalidReference } from "./ReferenceError.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Algorithm = "sha256" | "sha384" | "sha512"

/**
 * Hex length of each supported algorithm.
 *
 * @since 0.1.0
 * @category models
 */
export const hexLength: Readonly<Record<Algorithm, number>> = { sha256: 64, sha384: 96, sha512: 128 }

const isAlgorithm = (s: string): s is Algorithm => Object.prototype.hasOwnProperty.call(hexLength, s)

/**
 * A validated digest string such as `sha256:9f86d0…`.
 *
 * @since 0.1.0
 * @category models
 */
export type Digest = string & Brand.Brand<"@ocidist/reference/Digest">

/**
 * Checks a digest string and says why it is not valid, or `undefined` when it is.
 *
 * @since 0.1.0
 * @category parsing
 */
export const validate = (input: string): "BadDigest" | "UnsupportedAlgorithm" | undefined => {
  const match = grammar.digestGrammar.exec(input)
  if (match === null) return "BadDigest"
  const algorithm = match[1]!
  if (!isAlgorithm(algorithm)) return "UnsupportedAlgorithm"
  const hex = match[2]!
  return hex.length === hexLength[algorithm] && /^[a-f0-9]+$/.test(hex) ? undefined : "BadDigest"
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isDigest = (input: unknown): input is Digest => typeof input === "string" && validate(input) === undefined

/**
 * Parses a digest string.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Either.Either<Digest, InvalidReference> => {
  const reason = validate(input)
  return reason === undefined
    ? Either.right(input as Digest)
    : Either.left(new InvalidReference({ input, reason, part: input }))
}

/**
 * Schema of a digest string (decodes and encodes the string form).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Digest: Schema.Schema<Digest, string> = Schema.String.pipe(
  Schema.filter((s) => {
    const reason = validate(s)
    return reason === undefined ||
      `invalid digest "${s}": ${reason === "BadDigest" ? "malformed" : "unsupported algorithm"}`
  }),
  Schema.brand("@ocidist/reference/Digest")
).annotations({ identifier: "Digest" })

/**
 * The algorithm of a digest.
 *
 * @since 0.1.0
 * @category getters
 */
export const algorithm = (digest: Digest): Algorithm => digest.slice(0, digest.indexOf(":")) as Algorithm

/**
 * The hex part of a digest.
 *
 * @since 0.1.0
 * @category getters
 */
export const hex = (digest: Digest): string => digest.slice(digest.indexOf(":") + 1)

/**
 * An incremental hasher: feed chunks with `update`, read the digest with `digest`. `bytes` counts what was fed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Hasher {
  readonly algorithm: Algorithm
  readonly update: (chunk: Uint8Array) => void
  readonly digest: () => Digest
  readonly bytes: () => number
}

/**
 * Creates an incremental hasher.
 *
 * @since 0.1.0
 * @category constructors
 */
export const hasher = (algorithm: Algorithm = "sha256"): Hasher => {
  const hash: Hash = createHash(algorithm)
  let bytes = 0
  let result: Digest | undefined
  return {
    algorithm,
    update: (chunk) => {
      if (result !== undefined) throw new Error("Hasher.update called after digest()")
      hash.update(chunk)
      bytes += chunk.length
    },
    digest: () => (result ??= `${algorithm}:${hash.digest("hex")}` as Digest),
    bytes: () => bytes
  }
}

/**
 * The digest of bytes held in memory (manifests, configs: small content only).
 *
 * @since 0.1.0
 * @category constructors
 */
export const ofBytes = (bytes: Uint8Array | string, algorithm: Algorithm = "sha256"): Digest =>
  `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}` as Digest

/**
 * Hashes a byte stream, consuming it.
 *
 * @since 0.1.0
 * @category hashing
 */
export const fromStream = <E, R>(
  stream: Stream.Stream<Uint8Array, E, R>,
  algorithm: Algorithm = "sha256"
): Effect.Effect<{ readonly digest: Digest; readonly size: number }, E, R> =>
  Effect.suspend(() => {
    const h = hasher(algorithm)
    return Stream.runForEach(stream, (chunk) => Effect.sync(() => h.update(chunk))).pipe(
      Effect.map(() => ({ digest: h.digest(), size: h.bytes() }))
    )
  })

/**
 * Passes a byte stream through unchanged while hashing it, and fails with `DigestMismatch` at the end
 * when the content does not match `expected`. Consumers see every byte before the check, so write them
 * to a temporary place and keep them only when the stream completes.
 *
 * @since 0.1.0
 * @category hashing
 */
export const verifyStream =
  (expected: Digest, subject?: string) =>
  <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | DigestMismatch, R> =>
    Stream.suspend(() => {
      const h = hasher(algorithm(expected))
      return Stream.concat(
        Stream.map(stream, (chunk) => {
          h.update(chunk)
          return chunk
        }),
        Stream.execute(Effect.suspend(() => {
          const actual = h.digest()
          return actual === expected ?
            Effect.void :
            Effect.fail(
              new DigestMismatch(subject === undefined ? { expected, actual } : { expected, actual, subject })
            )
        }))
      )
    })

/**
 * Checks that a stream hashes to `expected`, consuming it.
 *
 * @since 0.1.0
 * @category hashing
 */
export const verify = <E, R>(
  expected: Digest,
  stream: Stream.Stream<Uint8Array, E, R>
): Effect.Effect<void, E | DigestMismatch, R> => Stream.runDrain(verifyStream(expected)(stream))

/**
 * Checks bytes held in memory against a digest.
 *
 * @since 0.1.0
 * @category hashing
 */
export const verifyBytes = (
  expected: Digest,
  bytes: Uint8Array,
  subject?: string
): Either.Either<void, DigestMismatch> => {
  const actual = ofBytes(bytes, algorithm(expected))
  return actual === expected
    ? Either.void
    : Either.left(new DigestMismatch(subject === undefined ? { expected, actual } : { expected, actual, subject }))
}

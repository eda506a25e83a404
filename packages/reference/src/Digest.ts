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
import * as Hash from "./Hash.js"
import * as grammar from "./internal/grammar.js"
import * as Sha2 from "./internal/sha2.js"
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
 * The digest of bytes held in memory, computed synchronously in portable JavaScript: for small content
 * (manifests, configs, index files). Streams go through the `Hash` service ({@link fromStream}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const ofBytes = (bytes: Uint8Array | string, algorithm: Algorithm = "sha256"): Digest => {
  const hash = Sha2.create(algorithm)
  hash.update(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes)
  return `${algorithm}:${hash.digestHex()}` as Digest
}

/**
 * Hashes a byte stream, consuming it, with the `Hash` service in context.
 *
 * @since 0.1.0
 * @category hashing
 */
export const fromStream = <E, R>(
  stream: Stream.Stream<Uint8Array, E, R>,
  algorithm: Algorithm = "sha256"
): Effect.Effect<{ readonly digest: Digest; readonly size: number }, E, R> =>
  Effect.flatMap(Hash.hasher(algorithm), (h) =>
    Stream.runForEachChunk(stream, (chunk) =>
      Effect.sync(() => {
        for (const bytes of chunk) h.update(bytes)
      })).pipe(Effect.map(() => ({ digest: h.digest(), size: h.bytes() }))))

/**
 * Passes a byte stream through unchanged while hashing it (with the `Hash` service), and fails with `DigestMismatch` at the end
 * when the content does not match `expected`. Consumers see every byte before the check, so write them
 * to a temporary place and keep them only when the stream completes.
 *
 * @since 0.1.0
 * @category hashing
 */
export const verifyStream =
  (expected: Digest, subject?: string) =>
  <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | DigestMismatch, R> =>
    Stream.unwrap(Effect.map(Hash.hasher(algorithm(expected)), (h) =>
      Stream.concat(
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
      )))

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

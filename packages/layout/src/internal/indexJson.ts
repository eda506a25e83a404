/**
 * `index.json` and `oci-layout` (de)serialization.
 *
 * @since 0.1.0
 */
import * as Descriptor from "@ocidist/spec/Descriptor"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidIndex } from "../LayoutError.js"

const LAYOUT_VERSION = "1.0.0"

const IndexJson = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  manifests: Schema.Array(Descriptor.Descriptor)
})
const decodeIndexJson = Schema.decodeUnknownEither(IndexJson)
const encodeDescriptor = Schema.encodeSync(Descriptor.Descriptor)
/**
 * The largest `index.json` read or written (16 MiB, some 60 000 entries): parsing one costs about five times
 * its size in memory.
 *
 * @internal
 */
export const MAX_INDEX_BYTES = 16 * 1024 * 1024

const encoder = new TextEncoder()

/**
 * Parses `index.json` bytes into its entries, refusing invalid digests.
 *
 * @internal
 */
export const parseIndex = (
  path: string,
  bytes: Uint8Array
): Either.Either<
  { readonly raw: Record<string, unknown>; readonly manifests: ReadonlyArray<Descriptor.Descriptor> },
  InvalidIndex
> => {
  const invalid = (detail: string, cause?: unknown) =>
    new InvalidIndex({ path, detail, ...(cause === undefined ? {} : { cause }) })
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
  } catch (e) {
    return Either.left(invalid(`index.json is not JSON: ${e instanceof Error ? e.message : String(e)}`, e))
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return Either.left(invalid("index.json is not a JSON object"))
  }
  return Either.map(
    Either.mapLeft(decodeIndexJson(json), (e) => invalid(ParseResult.TreeFormatter.formatErrorSync(e), e)),
    (decoded) => ({ raw: json as Record<string, unknown>, manifests: decoded.manifests })
  )
}

/**
 * Serializes an index (OCI image index media type), keeping unknown top-level fields of `raw`.
 *
 * @internal
 */
export const formatIndex = (
  manifests: ReadonlyArray<Descriptor.Descriptor>,
  raw: Record<string, unknown> = {}
): Uint8Array => {
  const { manifests: _m, mediaType: _t, schemaVersion: _v, ...rest } = raw
  return encoder.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OCI_INDEX,
    manifests: manifests.map((d) => encodeDescriptor(d)),
    ...rest
  }))
}

/** @internal */
export const layoutFileBytes = encoder.encode(JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }))

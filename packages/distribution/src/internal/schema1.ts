/**
 * Docker image manifest schema 1, only as far as reading its bytes and digest needs: a signed one
 * (`application/vnd.docker.distribution.manifest.v1+prettyjws`) is a JSON document with a `signatures` key
 * added by libtrust, and registries and docker address it by the digest of its canonical form, the JWS
 * payload: the first `formatLength` bytes followed by `formatTail`, both from a signature's protected header.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"

const decoder = new TextDecoder()

const parse = (bytes: Uint8Array): unknown => {
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch {
    return undefined
  }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Whether the bytes are a schema 1 manifest (`schemaVersion: 1`), and whether it carries signatures. @internal */
export const detect = (bytes: Uint8Array): { readonly signed: boolean } | undefined => {
  const json = parse(bytes)
  if (!isRecord(json) || json.schemaVersion !== 1) return undefined
  return { signed: Array.isArray(json.signatures) && json.signatures.length > 0 }
}

/**
 * The canonical bytes (the JWS payload, without the signatures) of a signed schema 1 manifest; `undefined`
 * when the bytes are not one or its first signature's protected header does not say how to cut it.
 *
 * @internal
 */
export const canonical = (bytes: Uint8Array): Uint8Array | undefined => {
  const json = parse(bytes)
  if (!isRecord(json) || !Array.isArray(json.signatures)) return undefined
  const first: unknown = json.signatures[0]
  if (!isRecord(first) || typeof first.protected !== "string") return undefined
  const header = Either.getOrUndefined(Encoding.decodeBase64UrlString(first.protected))
  const protectedHeader = header === undefined ? undefined : parse(new TextEncoder().encode(header))
  if (!isRecord(protectedHeader)) return undefined
  const { formatLength, formatTail } = protectedHeader
  if (
    typeof formatLength !== "number" || !Number.isInteger(formatLength) || formatLength < 0 ||
    formatLength > bytes.length || typeof formatTail !== "string"
  ) return undefined
  const tail = Either.getOrUndefined(Encoding.decodeBase64Url(formatTail))
  if (tail === undefined) return undefined
  const out = new Uint8Array(formatLength + tail.length)
  out.set(bytes.subarray(0, formatLength), 0)
  out.set(tail, formatLength)
  return out
}

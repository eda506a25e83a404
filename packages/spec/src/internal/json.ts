/**
 * Strict UTF-8 JSON parsing of bytes, returning the parser's message on failure.
 *
 * @internal
 */
import * as Either from "effect/Either"

/** @internal */
export const parseJson = (bytes: Uint8Array): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)))
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
}

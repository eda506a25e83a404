/**
 * Strict UTF-8 JSON parsing of bytes, returning the parser's message on failure.
 *
 * @internal
 */
import * as Either from "effect/Either"

/** Why bytes are not JSON: the parser's message, and its error. @internal */
export interface NotJson {
  readonly message: string
  readonly cause: unknown
}

/** @internal */
export const parseJson = (bytes: Uint8Array): Either.Either<unknown, NotJson> => {
  try {
    return Either.right(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)))
  } catch (e) {
    return Either.left({ message: e instanceof Error ? e.message : String(e), cause: e })
  }
}

/**
 * Reading a small body whole: a byte stream collected up to a limit and decoded as UTF-8. Used for credential
 * helper output and token server responses, which are bounded before they are parsed.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/**
 * Collects `stream` and decodes it as UTF-8; fails with `tooLarge()` as soon as more than `limit` bytes
 * arrive (nothing beyond the limit is kept).
 *
 * @internal
 */
export const collectText = <E, E2>(
  stream: Stream.Stream<Uint8Array, E>,
  limit: number,
  tooLarge: () => E2
): Effect.Effect<string, E | E2> =>
  Stream.runFoldEffect(
    stream,
    { size: 0, chunks: Chunk.empty<Uint8Array>() },
    (acc, bytes): Effect.Effect<{ size: number; chunks: Chunk.Chunk<Uint8Array> }, E2> =>
      acc.size + bytes.length > limit
        ? Effect.fail(tooLarge())
        : Effect.succeed({ size: acc.size + bytes.length, chunks: Chunk.append(acc.chunks, bytes) })
  ).pipe(
    Effect.map(({ chunks, size }) => {
      const all = new Uint8Array(size)
      let offset = 0
      for (const chunk of chunks) {
        all.set(chunk, offset)
        offset += chunk.length
      }
      return new TextDecoder().decode(all)
    })
  )

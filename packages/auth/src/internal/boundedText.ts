/**
 * Reading a small body whole: a byte stream collected up to a limit and decoded as UTF-8. Used for credential
 * helper output and token server responses, which are bounded before they are parsed.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
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
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    let failure: Either.Either<never, E | E2> | undefined
    // The stream's run never fails (a failure is handed back as a value): a failing run ends the fiber Effect
    // runs a stream in with an error, logged as "Fiber terminated with an unhandled error" though handled here.
    return stream.pipe(
      Stream.either,
      Stream.runForEachWhile((item) =>
        Effect.sync(() => {
          if (Either.isLeft(item)) {
            failure = Either.left(item.left)
            return false
          }
          if (size + item.right.length > limit) {
            failure = Either.left(tooLarge())
            return false
          }
          size += item.right.length
          chunks.push(item.right)
          return true
        })
      ),
      Effect.flatMap(() => {
        if (failure !== undefined) return failure
        const all = new Uint8Array(size)
        let offset = 0
        for (const chunk of chunks) {
          all.set(chunk, offset)
          offset += chunk.length
        }
        return Effect.succeed(new TextDecoder().decode(all))
      })
    )
  })

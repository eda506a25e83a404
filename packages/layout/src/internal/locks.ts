/**
 * Process-wide keyed locks (one permit per key), so every `Layout` value opened on the same directory
 * shares them. Entries are dropped when no fiber holds or waits for them.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"

const locks = new Map<string, { readonly semaphore: Effect.Semaphore; users: number }>()

/** @internal */
export const withLock = (key: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    let entry = locks.get(key)
    if (entry === undefined) {
      entry = { semaphore: Effect.unsafeMakeSemaphore(1), users: 0 }
      locks.set(key, entry)
    }
    const held = entry
    held.users++
    return held.semaphore.withPermits(1)(effect).pipe(
      Effect.ensuring(Effect.sync(() => {
        held.users--
        if (held.users === 0 && locks.get(key) === held) locks.delete(key)
      }))
    )
  })

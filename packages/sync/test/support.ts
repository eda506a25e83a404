// Helpers of the embedded sync tests: ocidist operations on the test registries, and scoped resources held open
// for a whole test file.
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as NodeOcidist from "ocidist/NodeOcidist"
import * as Ocidist from "ocidist/Ocidist"

/** Runs an ocidist operation on its Node layer. */
export const ocidist = <A, E>(effect: Effect.Effect<A, E, Ocidist.Ocidist>) =>
  Effect.runPromise(Effect.provide(effect, NodeOcidist.layer()))

/** The digest `location` resolves to, `undefined` when it does not resolve. */
export const digestOf = (location: string) =>
  ocidist(Effect.map(Effect.either(Ocidist.resolve(location)), (e) => e._tag === "Right" ? e.right.digest : undefined))

/** The tags of a repository, sorted; none when they cannot be listed. */
export const tagsOf = (location: string) =>
  ocidist(Effect.map(Effect.either(Ocidist.tags(location)), (e) => e._tag === "Right" ? [...e.right].sort() : []))

/** Acquires scoped resources; `close` releases them (call it in `afterAll`). */
export const acquire = async <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => {
  const scope = Effect.runSync(Scope.make())
  const value = await Effect.runPromise(Scope.extend(effect, scope))
  return { value, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

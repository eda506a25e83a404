/**
 * Failures met without credentials: an access error (`Unauthorized`, `Denied`) from a registry the user has
 * no credentials for is marked here when the command ends (see `ops/services.ts`), so that the message can
 * suggest `ocidist login` (see `main.ts`). Kept apart from the services so that `main.ts` loads nothing more.
 *
 * @internal
 */
const marked = new WeakSet<object>()

/** @internal */
export const mark = (error: object): void => {
  marked.add(error)
}

/** @internal */
export const isMarked = (error: unknown): boolean => typeof error === "object" && error !== null && marked.has(error)

// Registries and fixtures for the CLI tests, from @ocidist/testing, held open for a whole test file.
import { DockerRegistry, Fixtures, Postgres, RawLayout, Tar, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"

export { DockerRegistry, Fixtures, Postgres, RawLayout, Tar, Tools }

/** Acquires scoped resources; `close` releases them (call it in `afterAll`). */
export const acquire = async <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => {
  const scope = Effect.runSync(Scope.make())
  const value = await Effect.runPromise(Scope.extend(effect, scope))
  return { value, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

export const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

/**
 * Every file under `<layout>/blobs/<alg>/` hashes to its name. Returns the number of blobs (0 when there is
 * no `blobs/` yet: a layout is created by its first write).
 */
export const verifyLayoutBlobs = (layout: string): number => {
  let count = 0
  const root = path.join(layout, "blobs")
  if (!fs.existsSync(root)) return 0
  for (const alg of fs.readdirSync(root)) {
    for (const name of fs.readdirSync(path.join(root, alg))) {
      const file = path.join(root, alg, name)
      const actual = createHash(alg).update(fs.readFileSync(file)).digest("hex")
      if (actual !== name) throw new Error(`corrupt blob in the layout: ${file} hashes to ${actual}`)
      count++
    }
  }
  return count
}

export const layoutIndex = (layout: string) =>
  JSON.parse(fs.readFileSync(path.join(layout, "index.json"), "utf8")) as {
    readonly manifests: ReadonlyArray<
      { readonly digest: string; readonly annotations?: Record<string, string>; readonly mediaType: string }
    >
  }

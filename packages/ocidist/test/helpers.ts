import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Credentials from "@ocidist/auth/Credentials"
import * as Layout from "@ocidist/layout/Layout"
import * as NodeHash from "@ocidist/reference/NodeHash"
import type { DockerRegistry } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Ocidist, Progress } from "../src/index.js"
import * as NodeOcidist from "../src/NodeOcidist.js"

/** The explicit credentials of the write users of the given registries. */
export const credentialsFor = (...registries: ReadonlyArray<DockerRegistry.Instance>): Credentials.Options => ({
  explicit: registries.flatMap((r) =>
    r.mode === "anon" || r.writer === undefined
      ? []
      : [[r.host, Credentials.basic(r.writer.username, r.writer.password)] as const]
  )
})

/**
 * `NodeOcidist.layer(options)` with a cache directory of its own (never the user's), made under the system temp
 * dir when the layer is built and removed when its scope closes.
 */
export const ocidistLayer = (
  options: Omit<Ocidist.LayerOptions, "cacheDirectory"> = {}
): Layer.Layer<NodeOcidist.Services> =>
  Layer.unwrapScoped(Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "ocidist-test-cache-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    ),
    (cacheDirectory) => NodeOcidist.layer({ ...options, cacheDirectory })
  ))

/**
 * The default Node stack (`Ocidist` and the services of the other operations), with the write users of the
 * given registries as explicit credentials and a cache directory of its own (never the user's).
 */
export const ocidistFor = (...registries: ReadonlyArray<DockerRegistry.Instance>): Layer.Layer<NodeOcidist.Services> =>
  ocidistLayer({ credentials: credentialsFor(...registries) })

/** The Node platform services and the native hash, for direct layout calls in tests. */
export const nodeLayer = Layer.merge(NodeContext.layer, NodeHash.layer)

/** Opens a layout and verifies every blob reachable from index.json (sizes and digests). */
export const verifyLayout = (dir: string) =>
  Effect.flatMap(Layout.open(dir), (layout) => layout.verify()).pipe(Effect.provide(nodeLayer))

export const openLayout = (dir: string) => Layout.open(dir).pipe(Effect.provide(nodeLayer))

/** Collects progress events in an array. */
export const recorder = () => {
  const events: Array<Progress.Event> = []
  return { events, record: (e: Progress.Event) => void events.push(e) }
}

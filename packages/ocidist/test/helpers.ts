import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Credentials from "@ocidist/auth/Credentials"
import * as Layout from "@ocidist/layout/Layout"
import type { DockerRegistry } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { Ocidist, type Progress } from "../src/index.js"

/** The default Node stack, with the write users of the given registries as explicit credentials. */
export const ocidistFor = (...registries: ReadonlyArray<DockerRegistry.Instance>): Layer.Layer<Ocidist.Ocidist> =>
  Ocidist.layer({
    credentials: {
      explicit: registries.flatMap((r) =>
        r.mode === "anon" || r.writer === undefined
          ? []
          : [[r.host, Credentials.basic(r.writer.username, r.writer.password)] as const]
      )
    }
  })

/** Opens a layout and verifies every blob reachable from index.json (sizes and digests). */
export const verifyLayout = (dir: string) =>
  Effect.flatMap(Layout.open(dir), (layout) => layout.verify()).pipe(Effect.provide(NodeContext.layer))

export const openLayout = (dir: string) => Layout.open(dir).pipe(Effect.provide(NodeContext.layer))

/** Collects progress events in an array. */
export const recorder = () => {
  const events: Array<Progress.Event> = []
  return { events, record: (e: Progress.Event) => void events.push(e) }
}

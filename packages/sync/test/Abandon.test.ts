// An unfinished run of a configuration that has since changed, in an embedded state directory: `layerEmbedded`
// with `abandonOthers` marks it abandoned before its engine starts (runs of the same configuration are kept, to
// be resumed), and the abandoned run's workflow, executed again as the engine would resume it, copies nothing.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import type * as Registry from "@ocidist/registry/Registry"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Ocidist from "ocidist/Ocidist"
import * as Workflows from "../src/internal/workflows.js"
import * as NodeSync from "../src/NodeSync.js"
import * as Sync from "../src/Sync.js"
import * as SyncConfig from "../src/SyncConfig.js"
import * as SyncStore from "../src/SyncStore.js"
import { acquire, digestOf, ocidist } from "./support.js"

let close: () => Promise<void>
let source: Registry.Running
let target: Registry.Running
const dirs: Array<string> = []

const configOf = (to: string) =>
  Effect.runPromise(SyncConfig.parse(
    `registries:\n  "${source.host}": { tls: false }\n  "${target.host}": { tls: false }\n` +
      `sync:\n  - { source: ${source.host}/app, target: ${target.host}/${to} }\n`,
    "test.yaml"
  ))

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const source = yield* NodeRegistry.start({})
    const target = yield* NodeRegistry.start({})
    const dir = yield* Tools.tempDir("ocidist-sync-abandon-")
    const root = yield* Fixtures.makeImage(dir, { seed: "sync/abandon", layers: [{ size: 200 }] })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ tag: "1.0", root }])
    return { source, target, layout }
  }))
  close = acquired.close
  const started = acquired.value
  source = started.source
  target = started.target
  await ocidist(Ocidist.copy(`oci:${started.layout}:1.0`, `${source.host}/app:1.0`))
}, 60_000)

afterAll(async () => {
  await close?.()
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

describe("NodeSync.layerEmbedded abandonOthers", () => {
  it("abandons the unfinished runs of other configurations only; an abandoned run copies nothing", async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "ocidist-sync-abandon-state-"))
    dirs.push(directory)
    const old = await configOf("old")
    const same = await configOf("new")
    // two unfinished runs, as a SIGKILL leaves them: one of another configuration, one of this one
    const first = ManagedRuntime.make(NodeSync.layerEmbedded({ directory }))
    const oldRun = await first.runPromise(Sync.start(old))
    const sameRun = await first.runPromise(Sync.start(same))
    const before = await first.runPromise(Effect.flatMap(SyncStore.SyncStore, (s) => s.status(oldRun.runId)))
    expect(SyncStore.runState(Option.getOrThrow(before).run)).toBe("unfinished")
    await first.dispose()

    const abandoned: Array<string> = []
    const second = ManagedRuntime.make(NodeSync.layerEmbedded({
      directory,
      abandonOthers: {
        configHash: Sync.configHash(same),
        onAbandoned: (ids) => Effect.sync(() => abandoned.push(...ids))
      }
    }))
    try {
      const resumed = await second.runPromise(Sync.start(same))
      expect(abandoned).toEqual([oldRun.runId])
      expect(resumed).toEqual({ runId: sameRun.runId, resumed: true })

      // the engine resuming the abandoned run's workflow: it ends at once, nothing planned nor copied
      const report = await second.runPromise(Workflows.SyncRun.execute({ runId: oldRun.runId, ...Sync.normalize(old) }))
      expect(report.repositories).toEqual([])
      expect(await digestOf(`${target.host}/old:1.0`)).toBeUndefined()
      const stored = await second.runPromise(Effect.flatMap(SyncStore.SyncStore, (s) => s.status(oldRun.runId)))
      expect(Option.isSome(stored)).toBe(true)
      const run = Option.getOrThrow(stored).run
      // finished (no longer resumable) as abandoned, without a report: its `finish` activity wrote nothing
      expect(run.abandonedAt).toBeDefined()
      expect(run.finishedAt).toBe(run.abandonedAt)
      expect(run.report).toBeUndefined()
      // and told apart from a run finished with its report
      expect(SyncStore.runState(run)).toBe("abandoned")

      // the run of this configuration is resumed and copies
      const copied = await second.runPromise(Sync.run(same))
      expect(copied.runId).toBe(sameRun.runId)
      expect(copied.totals).toMatchObject({ copied: 1, failed: 0 })
      const finished = await second.runPromise(Effect.flatMap(SyncStore.SyncStore, (s) => s.status(sameRun.runId)))
      expect(SyncStore.runState(Option.getOrThrow(finished).run)).toBe("finished")
      expect(await digestOf(`${target.host}/new:1.0`)).toBe(await digestOf(`${source.host}/app:1.0`))
    } finally {
      await second.dispose()
    }
  })
})

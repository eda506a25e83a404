// The embedded mode end to end: two (three) embedded registries on 127.0.0.1, fixtures pushed to the source,
// `Sync.run` on a SQLite state directory. Filters, unchanged skip, changed tag, prune, referrers, platforms,
// dry run, rate-limit budget, failed tags.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import type * as Registry from "@ocidist/registry/Registry"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeOcidist from "ocidist/NodeOcidist"
import * as Ocidist from "ocidist/Ocidist"
import * as NodeSync from "../src/NodeSync.js"
import type * as Report from "../src/Report.js"
import * as Sync from "../src/Sync.js"
import * as SyncConfig from "../src/SyncConfig.js"
import { acquire, digestOf, ocidist, tagsOf } from "./support.js"

let close: () => Promise<void>
let source: Registry.Running
let target: Registry.Running
let refusing: Registry.Running
let layout: string
let state: string
const runtimes: Array<ManagedRuntime.ManagedRuntime<unknown, unknown>> = []
const stateDirectories: Array<string> = []

/** A fresh state directory under the system temp dir, removed in `afterAll` once the runtimes are disposed. */
const stateDirectory = (prefix: string) => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  stateDirectories.push(directory)
  return directory
}

const APP_TAGS = ["3.18", "3.19", "3.20", "3.21", "3.21-rc1", "latest", "edge"]

const embedded = (directory: string) => {
  const runtime = ManagedRuntime.make(Layer.merge(NodeSync.layerEmbedded({ directory }), NodeOcidist.layer()))
  runtimes.push(runtime as ManagedRuntime.ManagedRuntime<unknown, unknown>)
  return runtime
}
let runtime: ReturnType<typeof embedded>

const push = (tag: string, destination: string) =>
  ocidist(Ocidist.copy(`oci:${layout}:${tag}`, destination, { referrers: true }))

const configOf = (yaml: string) => Effect.runPromise(SyncConfig.parse(yaml, "test.yaml"))

/** `Sync.run` of a configuration's YAML, on `on` (the shared embedded runtime by default). */
const syncRun = async (yaml: string, on: typeof runtime = runtime) => on.runPromise(Sync.run(await configOf(yaml)))

const registries = () =>
  `registries:
  "${source.host}": { tls: false }
  "${target.host}": { tls: false }
  "${refusing.host}": { tls: false }
`

const outcomesOf = (report: Report.RunReport, target: string) => {
  const repository = report.repositories.find((r) => r.target === target)
  expect(repository, `no report for ${target}: ${JSON.stringify(report)}`).toBeDefined()
  const byTag: Record<string, string> = {}
  for (const outcome of repository!.outcomes) byTag[outcome.tag] = outcome._tag
  return byTag
}

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const source = yield* NodeRegistry.start({})
    const target = yield* NodeRegistry.start({})
    const refusing = yield* NodeRegistry.start({ faults: { errors: { status: 403, match: "uploads" } } })
    const dir = yield* Tools.tempDir("ocidist-sync-fixtures-")
    const entries: Array<Fixtures.LayoutEntry> = []
    for (const tag of APP_TAGS) {
      entries.push({
        tag,
        root: yield* Fixtures.makeImage(dir, { seed: `sync/app/${tag}`, layers: [{ size: 300 }] })
      })
    }
    entries.push({
      tag: "changed",
      root: yield* Fixtures.makeImage(dir, { seed: "sync/app/changed", layers: [{ size: 300 }] })
    })
    entries.push({ tag: "multi", root: yield* Fixtures.multiPlatformIndex(dir, { seed: "sync/multi" }) })
    const signed = yield* Fixtures.makeImage(dir, { seed: "sync/signed", layers: [{ size: 200 }] })
    entries.push({ tag: "signed", root: signed })
    entries.push({
      tag: "signature",
      root: yield* Fixtures.makeArtifact(dir, {
        subject: signed.descriptor,
        artifactType: "application/vnd.example.signature.v1+json",
        payload: "{\"signed\":true}"
      })
    })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, entries)
    return { source, target, refusing, layout }
  }))
  close = acquired.close
  const started = acquired.value
  source = started.source
  target = started.target
  refusing = started.refusing
  layout = started.layout
  for (const tag of APP_TAGS) await push(tag, `${source.host}/lib/app:${tag}`)
  await push("multi", `${source.host}/lib/multi:1.0`)
  await push("signed", `${source.host}/lib/signed:1.0`)
  await push("signature", `${source.host}/lib/signed:signature`)
  // a namespace of its own for `type: registry`
  await push("3.20", `${source.host}/ns/one:1.0`)
  await push("3.21", `${source.host}/ns/two:1.0`)
  state = stateDirectory("ocidist-sync-state-")
  runtime = embedded(state)
}, 60_000)

afterAll(async () => {
  for (const r of runtimes) await r.dispose()
  await close?.()
  for (const directory of stateDirectories) fs.rmSync(directory, { recursive: true, force: true })
})

describe("Sync.run (embedded)", () => {
  it("copies exactly the selected tags, then finds them unchanged, then copies a changed tag again", async () => {
    const config = await configOf(`${registries()}defaults: { referrers: false }
sync:
  - source: ${source.host}/lib/app
    target: ${target.host}/mirror/app
    tags: { allow: ["^3\\\\.", "latest"], deny: ["-rc"], semver: ">=3.19" }
`)
    const first = await runtime.runPromise(Sync.run(config))
    expect(outcomesOf(first, `${target.host}/mirror/app`)).toEqual({
      "3.19": "Copied",
      "3.20": "Copied",
      "3.21": "Copied",
      latest: "Copied"
    })
    expect(first.totals).toMatchObject({ copied: 4, unchanged: 0, failed: 0 })
    expect(await tagsOf(`${target.host}/mirror/app`)).toEqual(["3.19", "3.20", "3.21", "latest"])
    for (const tag of ["3.19", "3.20", "3.21", "latest"]) {
      expect(await digestOf(`${target.host}/mirror/app:${tag}`)).toBe(await digestOf(`${source.host}/lib/app:${tag}`))
    }

    const second = await runtime.runPromise(Sync.run(config))
    expect(second.runId).not.toBe(first.runId)
    expect(second.totals).toMatchObject({ copied: 0, unchanged: 4, failed: 0 })

    await push("changed", `${source.host}/lib/app:latest`)
    const third = await runtime.runPromise(Sync.run(config))
    expect(outcomesOf(third, `${target.host}/mirror/app`)).toEqual({
      "3.19": "Unchanged",
      "3.20": "Unchanged",
      "3.21": "Unchanged",
      latest: "Copied"
    })
    expect(await digestOf(`${target.host}/mirror/app:latest`)).toBe(await digestOf(`${source.host}/lib/app:latest`))
  }, 30_000)

  it("keeps extra target tags without prune, deletes them with prune: true", async () => {
    const repo = `${target.host}/mirror/prune`
    await push("edge", `${repo}:stale`)
    const yaml = (prune: boolean) =>
      `${registries()}defaults: { referrers: false, prune: ${prune} }
sync:
  - source: ${source.host}/lib/app
    target: ${repo}
    tags: { allow: ["^3\\\\.20$"] }
`
    const off = await syncRun(yaml(false))
    expect(outcomesOf(off, repo)).toEqual({ "3.20": "Copied" })
    expect(await tagsOf(repo)).toEqual(["3.20", "stale"])
    const on = await syncRun(yaml(true))
    expect(outcomesOf(on, repo)).toEqual({ "3.20": "Unchanged", stale: "Pruned" })
    expect(await tagsOf(repo)).toEqual(["3.20"])
  }, 30_000)

  it("copies referrers with referrers: true", async () => {
    const repo = `${target.host}/mirror/signed`
    const report = await syncRun(`${registries()}defaults: { referrers: true }
sync:
  - source: ${source.host}/lib/signed
    target: ${repo}
    tags: { allow: ["^1\\\\.0$"] }
`)
    expect(outcomesOf(report, repo)).toEqual({ "1.0": "Copied" })
    const digest = await digestOf(`${repo}:1.0`)
    const referrers = await ocidist(Ocidist.referrers(`${repo}@${digest}`))
    expect(referrers.map((r) => r.artifactType)).toEqual(["application/vnd.example.signature.v1+json"])
  }, 30_000)

  it("copies a subset of platforms, and finds it unchanged next time", async () => {
    const repo = `${target.host}/mirror/multi`
    const config = await configOf(`${registries()}defaults: { referrers: false, platforms: [linux/arm64] }
sync:
  - source: ${source.host}/lib/multi
    target: ${repo}
`)
    const first = await runtime.runPromise(Sync.run(config))
    const outcome = first.repositories[0]!.outcomes[0]!
    expect(outcome._tag).toBe("Copied")
    const sourceDigest = await digestOf(`${source.host}/lib/multi:1.0`)
    const targetDigest = await digestOf(`${repo}:1.0`)
    expect(targetDigest).not.toBe(sourceDigest)
    expect(targetDigest).toBe(
      await digestOf(`${source.host}/lib/multi:1.0`).then(() =>
        ocidist(
          Effect.map(Ocidist.resolve(`${source.host}/lib/multi:1.0`, { platform: "linux/arm64" }), (r) => r.digest)
        )
      )
    )
    expect(outcome).toMatchObject({ digest: targetDigest, sourceDigest })
    // the plan reads the digest the last run wrote, when a store is provided
    const plan = await runtime.runPromise(Sync.plan(config))
    expect(plan.repositories[0]).toMatchObject({ copy: [], unchanged: [{ tag: "1.0", digest: targetDigest }] })
    const second = await runtime.runPromise(Sync.run(config))
    expect(outcomesOf(second, repo)).toEqual({ "1.0": "Unchanged" })
  }, 30_000)

  it("copies the platforms an index has of those asked for", async () => {
    const repo = `${target.host}/mirror/some-platforms`
    const report = await syncRun(`${registries()}defaults: { referrers: false, platforms: [linux/arm64, linux/s390x] }
sync:
  - source: ${source.host}/lib/multi
    target: ${repo}
`)
    expect(outcomesOf(report, repo)).toEqual({ "1.0": "Copied" })
    expect(await digestOf(`${repo}:1.0`)).toBe(
      await ocidist(
        Effect.map(Ocidist.resolve(`${source.host}/lib/multi:1.0`, { platform: "linux/arm64" }), (r) => r.digest)
      )
    )
  }, 30_000)

  it("expands a namespace through the catalog (type: registry)", async () => {
    const report = await syncRun(`${registries()}defaults: { referrers: false }
sync:
  - source: ${source.host}/ns
    target: ${target.host}/copies
    type: registry
`)
    expect(report.repositories.map((r) => r.target).sort()).toEqual([
      `${target.host}/copies/one`,
      `${target.host}/copies/two`
    ])
    expect(await digestOf(`${target.host}/copies/two:1.0`)).toBe(await digestOf(`${source.host}/ns/two:1.0`))
  }, 30_000)

  it("plans without writing anything (dry run)", async () => {
    const repo = `${target.host}/mirror/dry`
    const plan = await runtime.runPromise(Sync.plan(
      await configOf(`${registries()}defaults: { referrers: false }
sync:
  - source: ${source.host}/lib/app
    target: ${repo}
    tags: { allow: ["^3\\\\.2[01]$"] }
`)
    ))
    expect(plan.repositories).toHaveLength(1)
    expect(plan.repositories[0]!.copy.map((c) => c.tag)).toEqual(["3.20", "3.21"])
    expect(plan.repositories[0]!.copy[0]!.sourceDigest).toBe(await digestOf(`${source.host}/lib/app:3.20`))
    expect(plan.repositories[0]!.bytes).toBeGreaterThan(0)
    expect(await tagsOf(repo)).toEqual([])
  }, 30_000)

  it("defers the tags beyond the rate-limit budget", async () => {
    const directory = stateDirectory("ocidist-sync-ratelimit-")
    const limited = embedded(directory)
    const repo = `${target.host}/mirror/limited`
    const report = await syncRun(
      `registries:
  "${source.host}": { tls: false, ratelimit: { pulls: 2, per: 1h } }
  "${target.host}": { tls: false }
defaults: { referrers: false }
sync:
  - source: ${source.host}/lib/app
    target: ${repo}
    tags: { allow: ["^3\\\\.(19|20|21)$", "latest"] }
`,
      limited
    )
    expect(Object.values(outcomesOf(report, repo)).sort()).toEqual(["Copied", "Copied", "Deferred", "Deferred"])
    expect(report.totals).toMatchObject({ copied: 2, deferred: 2, failed: 0 })
    expect(await tagsOf(repo)).toHaveLength(2)
  }, 30_000)

  it("reports a tag the target refuses as Failed, and the others go on", async () => {
    const repo = `${refusing.host}/mirror/app`
    const report = await syncRun(`${registries()}defaults: { referrers: false }
sync:
  - source: ${source.host}/lib/app
    target: ${repo}
    tags: { allow: ["^3\\\\.20$"] }
  - source: ${source.host}/lib/app
    target: ${target.host}/mirror/ok
    tags: { allow: ["^3\\\\.20$"] }
`)
    const failed = report.repositories.find((r) => r.target === repo)!.outcomes[0]!
    expect(failed).toMatchObject({ _tag: "Failed", tag: "3.20" })
    expect(failed._tag === "Failed" && failed.error._tag).toBeTruthy()
    expect(outcomesOf(report, `${target.host}/mirror/ok`)).toEqual({ "3.20": "Copied" })
    expect(report.totals).toMatchObject({ copied: 1, failed: 1 })
  }, 30_000)
})

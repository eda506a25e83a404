// `ocidist sync` as a subprocess, against embedded registries: output and exit codes, --dry-run, a bad
// configuration, and a run killed with SIGKILL then resumed (same run id, finished repositories not touched
// again, every tag equal in the end). A small proxy in front of the target counts the requests per repository.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { createClient } from "@libsql/client"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, Tools } from "./support.js"
import { digest, killAtRequest, type Proxy, startProxy } from "./syncSupport.js"

const REPOS = ["r1", "r2", "r3", "r4"]
const TAGS = ["1.0", "2.0"]

let close: () => Promise<void>
let source: string
let target: string
let refusing: string
let proxy: Proxy

const tmp = () => tempDir("ocidist-cli-sync-")

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const source = yield* NodeRegistry.start()
    const target = yield* NodeRegistry.start()
    const refusing = yield* NodeRegistry.start({ faults: { errors: { status: 403, match: "uploads" } } })
    const dir = yield* Tools.tempDir("ocidist-cli-sync-")
    const entries: Array<Fixtures.LayoutEntry> = []
    for (const repo of REPOS) {
      for (const tag of TAGS) {
        // r1's tags share a base layer: uploaded once to a target repository, across a kill too
        const layers = repo === "r1" ? [{ seed: "cli-sync/r1/base", size: 500 }, { size: 400 }] : [{ size: 400 }]
        entries.push({
          tag: `${repo}-${tag}`,
          root: yield* Fixtures.makeImage(dir, { seed: `cli-sync/${repo}/${tag}`, layers })
        })
      }
    }
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, entries)
    return { source: source.host, target: target.host, refusing: refusing.host, layout }
  }))
  close = acquired.close
  ;({ refusing, source, target } = acquired.value)
  for (const repo of REPOS) {
    for (const tag of TAGS) {
      const r = await ocidist(["push", "-q", `oci:${acquired.value.layout}:${repo}-${tag}`, `${source}/${repo}:${tag}`])
      expect(r.stderr).toBe("")
    }
  }
  proxy = await startProxy(target)
}, 120_000)

afterAll(async () => {
  proxy?.close()
  await close?.()
})

const writeConfig = (dir: string, body: string) => {
  const file = path.join(dir, "sync.yaml")
  fs.writeFileSync(
    file,
    `registries:\n  "${source}": { tls: false }\n  "${target}": { tls: false }\n  "${proxy.host}": { tls: false }\n` +
      `  "${refusing}": { tls: false }\n${body}`
  )
  return file
}

describe("ocidist sync", () => {
  it("copies, prints a line per repository and a summary, exit 0; --dry-run writes nothing", async () => {
    const dir = tmp()
    const config = writeConfig(
      dir,
      `sync:\n  - { source: ${source}/r1, target: ${target}/plain/r1 }\n  - { source: ${source}/r2, target: ${target}/plain/r2, tags: { allow: ["^1"] } }\n`
    )
    const state = ["--state", path.join(dir, "state")]
    const dry = await ocidist(["sync", "--dry-run", ...state, config])
    expect(dry.stderr).toBe("")
    expect(dry.code).toBe(0)
    expect(dry.stdout).toContain(`${source}/r1 → ${target}/plain/r1: 2 to copy`)
    expect(dry.stdout).toContain("Plan: 2 repositories, 3 tags to copy")
    expect(await digest(`${target}/plain/r1:1.0`)).toBeUndefined()
    expect(fs.existsSync(path.join(dir, "state"))).toBe(false)

    const run = await ocidist(["sync", ...state, config])
    expect(run.code).toBe(0)
    expect(run.stderr).toMatch(/^Starting sync run \S+\n$/)
    const lines = run.stdout.trim().split("\n")
    expect(lines[0]).toBe(`${source}/r1 → ${target}/plain/r1: 2 copied, 0 unchanged`)
    expect(lines[1]).toBe(`${source}/r2 → ${target}/plain/r2: 1 copied, 0 unchanged`)
    expect(lines[2]).toMatch(/^Run \S+: 2 repositories, 3 tags copied \(.+\), 0 unchanged, 0 failed$/)
    expect(await digest(`${target}/plain/r2:1.0`)).toBe(await digest(`${source}/r2:1.0`))
    expect(await digest(`${target}/plain/r2:2.0`)).toBeUndefined()
  })

  it("a failed tag is reported, the others are copied, exit 1", async () => {
    const dir = tmp()
    const config = writeConfig(
      dir,
      `sync:\n  - { source: ${source}/r1, target: ${refusing}/r1, tags: { allow: ["^1"] } }\n  - { source: ${source}/r3, target: ${target}/failing/r3 }\n`
    )
    const run = await ocidist(["sync", "--state", path.join(dir, "state"), config])
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(`${source}/r1 → ${refusing}/r1: 0 copied, 0 unchanged, 1 failed`)
    expect(run.stdout).toMatch(/\n {2}1\.0: failed: \S+: /)
    expect(run.stdout).toContain(`${source}/r3 → ${target}/failing/r3: 2 copied`)
    expect(run.stderr).toContain("1 tag(s) or repositories failed")
  })

  it("a bad configuration: exit 2, the problem at its line", async () => {
    const dir = tmp()
    const config = path.join(dir, "bad.yaml")
    fs.writeFileSync(config, `sync:\n  - source: ${source}/r1\n    target: ${target}/bad\n    tags: { allow: ["("] }\n`)
    const run = await ocidist(["sync", "--state", path.join(dir, "state"), config])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`${config}:4`)
    const missing = await ocidist(["sync"])
    expect(missing.code).toBe(2)
  })

  it("resumes a run killed with SIGKILL: same run id, finished tags not copied again, all tags equal", async () => {
    const dir = tmp()
    const state = path.join(dir, "state")
    // one repository at a time, through the counting proxy
    const config = writeConfig(
      dir,
      `defaults: { concurrency: 1 }\nsync:\n${
        REPOS.map((r) => `  - { source: ${source}/${r}, target: ${proxy.host}/resume/${r} }\n`).join("")
      }`
    )
    proxy.requests.length = 0
    // tags are copied one after the other: the first request for r1's manifest 2.0 comes after r1:1.0 was copied
    // (its activity journaled); kill there, with that request never answered
    const first = await killAtRequest(proxy, "/v2/resume/r1/manifests/2.0", ["sync", "--state", state, config])
    expect(first.signal).toBe("SIGKILL")
    const runId = /Starting sync run (\S+)/.exec(first.stderr)?.[1]
    expect(runId).toBeDefined()

    // what the state database says: the run unfinished, r1:1.0 copied, r1:2.0 being copied
    const db = createClient({ url: `file:${path.join(state, "sync.db")}`, intMode: "bigint" })
    const runs = await db.execute("SELECT id, finished_at FROM ocidist_sync_runs")
    expect(runs.rows.map((r) => [r.id, r.finished_at])).toEqual([[runId, null]])
    const tags = await db.execute("SELECT target, tag, state FROM ocidist_sync_tags ORDER BY target, tag")
    expect(tags.rows.map((r) => [r.target, r.tag, r.state])).toEqual([
      [`${proxy.host}/resume/r1`, "1.0", "copied"],
      [`${proxy.host}/resume/r1`, "2.0", "copying"]
    ])
    db.close()
    const before = proxy.requests.filter((r) => r.includes("/resume/r1/manifests/1.0"))
    expect(before.some((r) => r.startsWith("PUT "))).toBe(true)

    const killedRun = [...proxy.requests]
    proxy.requests.length = 0
    const second = await ocidist(["sync", "--json", "--state", state, config])
    expect(second.stderr).toBe("")
    expect(second.code).toBe(0)
    const report = JSON.parse(second.stdout) as {
      runId: string
      repositories: Array<{ target: string; outcomes: Array<{ _tag: string; tag: string }> }>
    }
    expect(report.runId).toBe(runId)
    // r1:1.0 was copied before the kill: the resumed run does not touch it; r1:2.0's copy runs again
    expect(proxy.requests.filter((r) => r.includes("/resume/r1/manifests/1.0"))).toEqual([])
    expect(proxy.requests.filter((r) => r.startsWith("PUT /v2/resume/r1/manifests/2.0"))).toHaveLength(1)
    expect(proxy.requests.filter((r) => r.includes("/resume/r1/tags/list"))).toEqual([])
    expect(report.repositories.map((r) => [r.target, r.outcomes.map((o) => `${o.tag} ${o._tag}`)])).toEqual(
      REPOS.map((r) => [`${proxy.host}/resume/${r}`, ["1.0 Copied", "2.0 Copied"]])
    )
    for (const repo of REPOS) {
      for (const tag of TAGS) {
        expect(await digest(`${target}/resume/${repo}:${tag}`)).toBe(await digest(`${source}/${repo}:${tag}`))
      }
    }
    // over both runs, each blob was uploaded at most once per target repository (r1's shared base layer too),
    // and each manifest written once (r1:2.0's first PUT was never answered: the process was killed)
    const all = [...killedRun, ...proxy.requests]
    for (const repo of REPOS) {
      const uploads = all.flatMap((r) => {
        const m = new RegExp(`^PUT /v2/resume/${repo}/blobs/uploads/[^?]*\\?(?:.*&)?digest=([^&]+)`).exec(r)
        return m === null ? [] : [decodeURIComponent(m[1]!)]
      })
      // r1: 2 layers + config for 1.0, 1 layer + config for 2.0; the others: 2 blobs per tag
      expect(uploads.length, repo).toBe(repo === "r1" ? 5 : 4)
      expect(new Set(uploads).size, repo).toBe(uploads.length)
      for (const tag of TAGS) {
        const puts = all.filter((r) => r === `PUT /v2/resume/${repo}/manifests/${tag}`)
        expect(puts.length, `${repo}:${tag}`).toBe(repo === "r1" && tag === "2.0" ? 2 : 1)
      }
    }
    expect(killedRun.filter((r) => r === "PUT /v2/resume/r1/manifests/2.0")).toHaveLength(1)
    // the next run is a new one, and finds everything unchanged
    const third = await ocidist(["sync", "--json", "--state", state, config])
    const next = JSON.parse(third.stdout) as { runId: string; totals: { unchanged: number; copied: number } }
    expect(next.runId).not.toBe(runId)
    expect(next.totals).toMatchObject({ copied: 0, unchanged: REPOS.length * TAGS.length })
  })
})

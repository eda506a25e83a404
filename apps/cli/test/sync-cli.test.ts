// `ocidist sync` as a subprocess, the points of the command not covered by sync.test.ts: `--interval` (a run,
// another after the interval that copies a tag added in between, Ctrl-C ends it), an unchanged second run that
// only HEADs the source's manifests (a counting proxy in front of the source), credentials (`passwordEnv` read
// from the environment and never written in the state database nor printed; an inline `password` refused at its
// line), `prune` on and off, `sync status` of an embedded state directory, and a run killed with SIGKILL followed
// by a run of a changed configuration (the killed run is abandoned: the engine, which resumes every journaled
// workflow, copies nothing more for it).
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { createClient } from "@libsql/client"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { collect, ocidist, start, tempDir } from "./cli.js"
import { acquire, Fixtures, Tools } from "./support.js"
import { digest, killAtRequest, type Proxy, startProxy } from "./syncSupport.js"

const TAGS = ["1.0", "2.0", "3.0"]

let close: () => Promise<void>
let source: string
let target: string
let proxy: Proxy

const tmp = () => tempDir("ocidist-cli-sync2-")

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const source = yield* NodeRegistry.start()
    const target = yield* NodeRegistry.start()
    const dir = yield* Tools.tempDir("ocidist-cli-sync2-")
    const entries: Array<Fixtures.LayoutEntry> = []
    for (const tag of TAGS) {
      entries.push({
        tag,
        root: yield* Fixtures.makeImage(dir, { seed: `cli-sync2/${tag}`, layers: [{ size: 300 }] })
      })
    }
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, entries)
    return { source: source.host, target: target.host, layout }
  }))
  close = acquired.close
  ;({ source, target } = acquired.value)
  for (const tag of TAGS) {
    const r = await ocidist(["push", "-q", `oci:${acquired.value.layout}:${tag}`, `${source}/app:${tag}`])
    expect(r.stderr).toBe("")
  }
  proxy = await startProxy(source)
}, 120_000)

afterAll(async () => {
  proxy?.close()
  await close?.()
})

const tags = async (repository: string) => {
  const r = await ocidist(["tags", repository])
  expect(r.code).toBe(0)
  return r.stdout.trim().split("\n").sort()
}

/** Copies `app:<tag>` of the source to `<repository>:<tag>` of the source. */
const seed = async (repository: string, tag: string) => {
  const r = await ocidist(["copy", `${source}/app:${tag}`, `${source}/${repository}:${tag}`])
  expect(r.code).toBe(0)
}

/** A configuration: the registries (`targetSettings` added to the target's), then `body`. */
const writeConfig = (dir: string, body: string, targetSettings = "", name = "sync.yaml") => {
  const file = path.join(dir, name)
  fs.writeFileSync(
    file,
    `registries:\n  "${source}": { tls: false }\n  "${proxy.host}": { tls: false }\n` +
      `  "${target}":\n    tls: false\n${targetSettings}${body}`
  )
  return file
}

/** Resolves once the child's stdout satisfies `ready`. */
const stdoutWhen = (child: ChildProcess, ready: (stdout: string) => boolean) =>
  new Promise<string>((resolve) => {
    let seen = ""
    child.stdout!.on("data", (d: Buffer) => {
      seen += d.toString()
      if (ready(seen)) resolve(seen)
    })
  })

describe("ocidist sync", () => {
  it("--interval: one run, another after the interval copies the tag added in between; Ctrl-C: exit 130", async () => {
    const dir = tmp()
    await seed("interval", "1.0")
    const config = writeConfig(dir, `sync:\n  - { source: ${source}/interval, target: ${target}/interval }\n`)
    const child = start(["sync", "--interval", "1s", "--state", path.join(dir, "state"), config])
    const done = collect(child)
    const line = `${source}/interval → ${target}/interval:`
    await stdoutWhen(child, (out) => out.includes(`${line} 1 copied, 0 unchanged\n`))
    // between two runs (or during the second one: the tag is then copied by the third)
    await seed("interval", "2.0")
    await stdoutWhen(child, (out) => out.includes(`${line} 1 copied, 1 unchanged\n`))
    child.kill("SIGINT")
    const r = await done
    expect(r.code).toBe(130)
    const stderr = r.stderr.trim().split("\n")
    expect(stderr.at(-1)).toBe("ocidist: interrupted")
    const started = stderr.slice(0, -1)
    expect(started.length).toBeGreaterThanOrEqual(2)
    for (const l of started) expect(l).toMatch(/^Starting sync run \S+$/)
    // each iteration is a new run
    expect(new Set(started).size).toBe(started.length)
    const runs = r.stdout.split("\n").filter((l) => l.startsWith("Run "))
    expect(runs.length).toBeGreaterThanOrEqual(2)
    expect(runs[0]).toMatch(/: 1 repositories, 1 tags copied \(.+\), 0 unchanged, 0 failed$/)
    expect(await digest(`${target}/interval:2.0`)).toBe(await digest(`${source}/interval:2.0`))
  })

  it("a second run with nothing changed only HEADs the source's manifests: no GET (Docker Hub counts them)", async () => {
    const dir = tmp()
    for (const tag of TAGS) await seed("heads", tag)
    // the source through the counting proxy
    const config = writeConfig(dir, `sync:\n  - { source: ${proxy.host}/heads, target: ${target}/heads }\n`)
    const state = ["--state", path.join(dir, "state")]
    const first = await ocidist(["sync", "--json", ...state, config])
    expect(first.code).toBe(0)
    expect(JSON.parse(first.stdout).totals).toMatchObject({ copied: TAGS.length, failed: 0 })
    proxy.requests.length = 0
    const second = await ocidist(["sync", "--json", ...state, config])
    expect(second.stderr).toBe("")
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout).totals).toMatchObject({ copied: 0, unchanged: TAGS.length, failed: 0 })
    const manifests = proxy.requests.filter((r) => r.includes("/heads/manifests/"))
    expect(manifests.filter((r) => !r.startsWith("HEAD "))).toEqual([])
    expect(manifests.sort()).toEqual(TAGS.map((t) => `HEAD /v2/heads/manifests/${t}`))
    expect(proxy.requests.filter((r) => r.includes("/blobs/"))).toEqual([])
  })

  it("passwordEnv: read from the environment, never in the state database nor the output (--verbose)", async () => {
    const dir = tmp()
    await seed("secret", "1.0")
    const password = `pw-${Math.random().toString(36).slice(2)}-never-stored`
    const config = writeConfig(
      dir,
      `sync:\n  - { source: ${source}/secret, target: ${target}/secret }\n`,
      `    credentials: { username: mirror, passwordEnv: SYNC_TEST_PASSWORD }\n`
    )
    const state = path.join(dir, "state")
    const run = await ocidist(["sync", "--verbose", "--json", "--state", state, config], {
      env: { SYNC_TEST_PASSWORD: password }
    })
    expect(run.code).toBe(0)
    expect(run.stdout + run.stderr).not.toContain(password)
    // the run's payload (the configuration's registries included) is journaled: the variable's name only
    const files = fs.readdirSync(state).filter((f) => f.startsWith("sync.db"))
    expect(files).toContain("sync.db")
    let journaled = ""
    for (const file of files) journaled += fs.readFileSync(path.join(state, file)).toString("latin1")
    expect(journaled).toContain("SYNC_TEST_PASSWORD")
    expect(journaled).not.toContain(password)
    expect(fs.readFileSync(config, "utf8")).not.toContain(password)
  })

  it("an inline password: exit 2 at its line, passwordEnv suggested, the password not repeated; an unset passwordEnv: exit 2", async () => {
    const dir = tmp()
    const config = writeConfig(
      dir,
      `sync:\n  - { source: ${source}/app, target: ${target}/inline }\n`,
      `    credentials: { username: mirror, password: hunter2-inline }\n`
    )
    const run = await ocidist(["sync", "--state", path.join(dir, "state"), config])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`${config}:6:`)
    expect(run.stderr).toContain("passwordEnv")
    expect(run.stderr).not.toContain("hunter2-inline")
    expect(fs.existsSync(path.join(dir, "state"))).toBe(false)

    // passwordEnv naming a variable that is not set: exit 2 before anything is done
    const unset = writeConfig(
      dir,
      `sync:\n  - { source: ${source}/app, target: ${target}/inline }\n`,
      `    credentials: { username: mirror, passwordEnv: SYNC_TEST_UNSET_PASSWORD }\n`,
      "unset.yaml"
    )
    const missing = await ocidist(["sync", "--state", path.join(dir, "state"), unset])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain(
      `registries["${target}"].credentials.passwordEnv: the variable SYNC_TEST_UNSET_PASSWORD is not set`
    )
    expect(fs.existsSync(path.join(dir, "state"))).toBe(false)
  })

  it("prune off keeps extra target tags, prune: true deletes them; sync status shows the run", async () => {
    const dir = tmp()
    for (const tag of TAGS) await seed("prune", tag)
    const state = ["--state", path.join(dir, "state")]
    const entry = (options: string) => `sync:\n  - { source: ${source}/prune, target: ${target}/prune${options} }\n`
    // the target gets all three tags, then the configuration selects 1.0 only
    const all = await ocidist(["sync", ...state, writeConfig(dir, entry(""))])
    expect(all.code).toBe(0)
    expect(all.stdout).toContain(`${source}/prune → ${target}/prune: 3 copied, 0 unchanged\n`)
    const kept = await ocidist(["sync", ...state, writeConfig(dir, entry(`, tags: { allow: ["^1"] }`))])
    expect(kept.code).toBe(0)
    expect(kept.stdout).toContain(`${source}/prune → ${target}/prune: 0 copied, 1 unchanged\n`)
    expect(await tags(`${target}/prune`)).toEqual(TAGS)

    const dry = await ocidist([
      "sync",
      "--dry-run",
      ...state,
      writeConfig(dir, entry(`, tags: { allow: ["^1"] }, prune: true`))
    ])
    expect(dry.code).toBe(0)
    expect(dry.stdout).toContain(`${source}/prune → ${target}/prune: 0 to copy (0 B), 1 unchanged, 2 to prune\n`)

    const pruned = await ocidist(["sync", ...state, writeConfig(dir, entry(`, tags: { allow: ["^1"] }, prune: true`))])
    expect(pruned.code).toBe(0)
    expect(pruned.stdout).toContain(`${source}/prune → ${target}/prune: 0 copied, 1 unchanged, 2 pruned\n`)
    expect(await tags(`${target}/prune`)).toEqual(["1.0"])

    const status = await ocidist(["sync", "status", "--json", ...state])
    expect(status.code).toBe(0)
    const shown = JSON.parse(status.stdout) as {
      run: { finishedAt?: string | null; abandonedAt?: string | null; state?: string }
      repositories: Array<{ target: string; states: Record<string, number> }>
    }
    expect(shown.run.finishedAt).toBeTruthy()
    expect([shown.run.state, shown.run.abandonedAt]).toEqual(["finished", null])
    expect(shown.repositories).toEqual([
      expect.objectContaining({ target: `${target}/prune`, states: { unchanged: 1, pruned: 2 } })
    ])
    const text = await ocidist(["sync", "status", ...state])
    expect(text.code).toBe(0)
    expect(text.stdout).toContain(`${target}/prune`)
    expect(text.stdout).toMatch(/^run \S+: started \S+, finished \S+; 1\/1 repositories done\n/)
  })

  it("a killed run, then a changed configuration: the killed run is abandoned and copies nothing more", async () => {
    const dir = tmp()
    for (const tag of TAGS) await seed("changed", tag)
    const state = path.join(dir, "state")
    const configA = writeConfig(
      dir,
      `sync:\n  - { source: ${source}/changed, target: ${proxy.host}/changed/a }\n`,
      "",
      "a.yaml"
    )
    // tags are copied one after the other: kill while 2.0's manifest is being written (1.0 copied)
    const killed = await killAtRequest(proxy, "/v2/changed/a/manifests/2.0", ["sync", "--state", state, configA])
    expect(killed.signal).toBe("SIGKILL")
    const runA = /Starting sync run (\S+)/.exec(killed.stderr)?.[1]
    expect(runA).toBeDefined()

    // another configuration, another target; nothing reaches the killed run's target while it runs
    proxy.requests.length = 0
    const configB = writeConfig(
      dir,
      `sync:\n  - { source: ${source}/changed, target: ${target}/changed/b, tags: { allow: ["^1"] } }\n`,
      "",
      "b.yaml"
    )
    const b = await ocidist(["sync", "--state", state, configB])
    expect(b.code).toBe(0)
    // (a loaded machine may make @effect/cluster warn "No healthy runners available" on stderr: not checked here)
    expect(b.stderr.split("\n").filter((l) => !l.includes("No healthy runners available")).join("\n")).toMatch(
      new RegExp(`^Abandoned unfinished sync run ${runA} \\(of another configuration\\)\nStarting sync run \\S+\n$`)
    )
    expect(b.stderr).not.toContain(`Starting sync run ${runA}`)
    expect(b.stdout).toContain(`${source}/changed → ${target}/changed/b: 1 copied, 0 unchanged\n`)
    expect(proxy.requests.filter((r) => r.includes("/changed/a/"))).toEqual([])
    expect(await digest(`${source}/changed/a:2.0`)).toBeUndefined()

    const db = createClient({ url: `file:${path.join(state, "sync.db")}`, intMode: "bigint" })
    const runs = await db.execute("SELECT id, abandoned_at, finished_at, report FROM ocidist_sync_runs ORDER BY id")
    db.close()
    expect(runs.rows).toHaveLength(2)
    const a = runs.rows.find((r) => r.id === runA)!
    expect([a.abandoned_at === null, a.finished_at === null, a.report]).toEqual([false, false, null])
    const other = runs.rows.find((r) => r.id !== runA)!
    expect([other.abandoned_at, other.finished_at === null]).toEqual([null, false])

    // sync status shows the killed run abandoned (not finished: it has no report), the new one finished
    const shownA = await ocidist(["sync", "status", "--json", "--state", state, "--run", runA!])
    expect(shownA.code).toBe(0)
    const statusA = JSON.parse(shownA.stdout) as {
      run: { id: string; state: string; startedAt: string; abandonedAt: string | null }
      repositories: Array<{ target: string; states: Record<string, number> }>
    }
    expect(statusA.run).toMatchObject({ id: runA, state: "abandoned", abandonedAt: String(a.abandoned_at) })
    expect(statusA.repositories.map((r) => [r.target, r.states.copied])).toEqual([[`${proxy.host}/changed/a`, 1]])
    const textA = await ocidist(["sync", "status", "--state", state, "--run", runA!])
    expect(textA.code).toBe(0)
    expect(textA.stdout.split("\n")[0]).toBe(
      `run ${runA}: started ${statusA.run.startedAt}, abandoned ${statusA.run.abandonedAt}; 0/1 repositories done`
    )
    expect(textA.stdout).not.toContain("finished")
    const latest = await ocidist(["sync", "status", "--json", "--state", state])
    expect(JSON.parse(latest.stdout)).toMatchObject({
      run: { id: other.id, state: "finished", abandonedAt: null }
    })
    expect((await ocidist(["sync", "status", "--state", state])).stdout).toMatch(
      new RegExp(`^run ${String(other.id)}: started \\S+, finished \\S+; 1/1 repositories done\n`)
    )

    // the first configuration again: a new run (nothing to resume), 1.0 unchanged, the others copied
    const again = await ocidist(["sync", "--json", "--state", state, configA])
    expect(again.code).toBe(0)
    const report = JSON.parse(again.stdout) as {
      runId: string
      repositories: Array<{ outcomes: Array<{ _tag: string; tag: string }> }>
    }
    expect(report.runId).not.toBe(runA)
    expect(report.repositories[0]!.outcomes.map((o) => `${o.tag} ${o._tag}`)).toEqual([
      "1.0 Unchanged",
      "2.0 Copied",
      "3.0 Copied"
    ])
    for (const tag of TAGS) {
      expect(await digest(`${source}/changed/a:${tag}`)).toBe(await digest(`${source}/changed:${tag}`))
    }
  })
})

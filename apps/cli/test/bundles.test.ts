// The two program bundles: dist/main.cjs without `ocidist sync`'s implementation (@effect/cluster, SQL
// clients), dist/main-sync.cjs with it, chosen by the launcher; each with its own V8 code cache.
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { binary, ocidist } from "./cli.js"

const dist = path.dirname(binary)
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ocidist-cli-bundles-"))

describe.concurrent("program bundles", () => {
  it("main.cjs has no @effect/cluster, main-sync.cjs has", () => {
    // a TypeId of @effect/cluster, a string the minifier keeps
    const marker = `"@effect/cluster/ShardId"`
    expect(fs.readFileSync(path.join(dist, "main.cjs"), "latin1").includes(marker)).toBe(false)
    expect(fs.readFileSync(path.join(dist, "main-sync.cjs"), "latin1").includes(marker)).toBe(true)
  })

  it("`sync …` runs main-sync.cjs, the others main.cjs, each with a code cache of its own", async () => {
    const home = tmp()
    const env = { XDG_CACHE_HOME: home }
    const caches = () => fs.readdirSync(path.join(home, "ocidist")).map((name) => name.split("-")[2]).sort()
    fs.mkdirSync(path.join(home, "ocidist"))
    // named before there were two bundles: removed by the next cache of that tuning
    fs.writeFileSync(path.join(home, "ocidist", "code-speed-0.0.0-v20.0.0-x64-1-1.bin"), "old")
    // a command that loads the implementations writes the cache (it fails here, after loading them)
    const digest = await ocidist(["digest", "oci:/nonexistent/layout:1"], { env })
    expect(digest.code).not.toBe(0)
    expect(caches()).toEqual(["main"])
    const status = await ocidist(["--json", "sync", "status", "--state", path.join(home, "state")], { env })
    expect({ code: status.code, stdout: JSON.parse(status.stdout), stderr: status.stderr }).toEqual({
      code: 0,
      stdout: { run: null, repositories: [] },
      stderr: ""
    })
    expect(caches()).toEqual(["main", "sync"])
    // each run again accepts its cache and leaves the other one alone
    const written = fs.readdirSync(path.join(home, "ocidist")).map((name) => [
      name,
      fs.statSync(path.join(home, "ocidist", name)).mtimeMs
    ])
    expect((await ocidist(["digest", "oci:/nonexistent/layout:1"], { env })).code).toBe(digest.code)
    expect((await ocidist(["sync", "status", "--state", path.join(home, "state")], { env })).code).toBe(0)
    expect(
      fs.readdirSync(path.join(home, "ocidist")).map((name) => [
        name,
        fs.statSync(path.join(home, "ocidist", name)).mtimeMs
      ])
    ).toEqual(written)
  })
})

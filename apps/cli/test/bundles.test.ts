// The two program bundles: dist/main.cjs without `ocidist sync`'s implementation (@effect/cluster, SQL
// clients), dist/main-sync.cjs with it, chosen by the launcher; each with its own V8 code cache.
import { describe, expect, it } from "@effect/vitest"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { binary, ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, Tools } from "./support.js"

const dist = path.dirname(binary)
const tmp = () => tempDir("ocidist-cli-bundles-")

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

  it("a pull that turns on the GC pacing (buffers over 4 MiB) leaves a cache the next start accepts", async () => {
    // the pacing sets --expose-gc to take V8's gc function; a code cache written while a flag differs from the
    // next start's is rejected by it, so every such pull compiled main.cjs anew and wrote a new cache
    const { close, value } = await acquire(Effect.gen(function*() {
      const registry = yield* NodeRegistry.start()
      const dir = yield* Tools.tempDir("ocidist-cli-bundles-")
      const image = yield* Fixtures.makeImage(dir, { seed: "ocidist/bundles", layers: [{ size: 24 * 1024 * 1024 }] })
      const layout = path.join(dir, "layout")
      yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
      return { registry, layout }
    }))
    try {
      const home = tmp()
      const env = { XDG_CACHE_HOME: home }
      const push = await ocidist(["push", "-q", `oci:${value.layout}:v1`, `${value.registry.host}/big:1`], { env })
      expect(push.code).toBe(0)
      const pull = () => ocidist(["pull", "-q", `${value.registry.host}/big:1`, `oci:${tmp()}:1`], { env })
      expect((await pull()).code).toBe(0)
      const cache = () =>
        fs.readdirSync(path.join(home, "ocidist")).filter((n) => n.startsWith("code-")).map((name) => [
          name,
          fs.statSync(path.join(home, "ocidist", name)).mtimeMs
        ])
      const written = cache()
      expect(written).toHaveLength(1)
      expect((await pull()).code).toBe(0)
      expect(cache()).toEqual(written)
    } finally {
      await close()
    }
  }, 120_000)
})

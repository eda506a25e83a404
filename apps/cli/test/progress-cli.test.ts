// Progress of the bundled binary against the embedded registry (@ocidist/registry): the start line, the words
// on a pipe for each state (pushed/pulled/copied, exists, mounted), tiny blobs without a rate, and a pull on a
// 40-column pseudo-terminal (`script`, `stty cols 40`) whose live lines fit.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as path from "node:path"
import { binary, isolatedEnv, ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, Tools } from "./support.js"

let close: () => Promise<void>
let fast: Registry.Running
let slow: Registry.Running
let image: Fixtures.Image
let layout: string

const tmp = () => tempDir("ocidist-cli-progress-")
const short = (digest: string) => digest.slice(0, "sha256:".length + 12)

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const fast = yield* NodeRegistry.start({})
    // blob bodies at 1 MB/s: the 3 MiB layer takes ~3 s
    const slow = yield* NodeRegistry.start({ faults: { bytesPerSecond: 1_000_000 } })
    const dir = yield* Tools.tempDir("ocidist-cli-progress-")
    const image = yield* Fixtures.makeImage(dir, {
      seed: "ocidist/progress-cli",
      layers: [{ size: 16 * 1024 }, { size: 3 * 1024 * 1024 }]
    })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
    return { fast, slow, image, layout }
  }))
  close = acquired.close
  fast = acquired.value.fast
  slow = acquired.value.slow
  image = acquired.value.image
  layout = acquired.value.layout
  const push = await ocidist(["push", "-q", `oci:${layout}:v1`, `${slow.host}/app:1`])
  expect(push.stderr).toBe("")
  expect(push.code).toBe(0)
}, 120_000)

afterAll(() => close?.())

/** The progress lines of a run on a pipe: the word and the short digest of each. */
const words = (stderr: string) =>
  stderr.split("\n").slice(1).filter((l) => l !== "").map((l) => {
    const [word, digest] = l.split(/\s+/)
    return `${word} ${digest}`
  })

describe("on a pipe", () => {
  it("the start line, then the word of each state: pushed, exists, mounted, copied, pulled; tiny blobs without a rate", async () => {
    const blobs = [image.configDigest, ...image.layers.map((l) => l.digest)]
    const manifest = image.manifestDigest
    const sorted = (lines: ReadonlyArray<string>) => [...lines].sort()

    const push = await ocidist(["push", `oci:${layout}:v1`, `${fast.host}/app:1`])
    expect(push.code).toBe(0)
    const pushLines = push.stderr.split("\n")
    expect(pushLines[0]).toBe(`Pushing oci:${layout}:v1 \u2192 ${fast.host}/app:1`)
    expect(sorted(words(push.stderr))).toEqual(sorted([...blobs, manifest].map((d) => `pushed ${short(d)}`)))
    // the config and the 16 KiB layer are tiny: no rate
    for (const d of [image.configDigest, image.layers[0]!.digest]) {
      expect(pushLines.find((l) => l.includes(short(d)))).not.toMatch(/\/s/)
    }

    // the same image again: every blob exists (the manifest is put again, under its tag)
    const again = await ocidist(["push", `oci:${layout}:v1`, `${fast.host}/app:1`])
    expect(again.code).toBe(0)
    expect(sorted(words(again.stderr))).toEqual(
      sorted([...blobs.map((d) => `exists ${short(d)}`), `pushed ${short(manifest)}`])
    )
    expect(again.stdout).toContain(`0 blob(s) transferred (0 B), 3 skipped`)

    // into another repository of the same registry: mounted from app
    const copy = await ocidist(["copy", `${fast.host}/app:1`, `${fast.host}/other:1`])
    expect(copy.code).toBe(0)
    expect(copy.stderr.split("\n")[0]).toBe(`Copying ${fast.host}/app:1 \u2192 ${fast.host}/other:1`)
    expect(sorted(words(copy.stderr))).toEqual(
      sorted([...blobs.map((d) => `mounted ${short(d)}`), `copied ${short(manifest)}`])
    )
    for (const d of blobs) {
      expect(copy.stderr.split("\n").find((l) => l.includes(short(d)))).toMatch(
        new RegExp(`^mounted  ${short(d)}  \\w+  [\\d.]+ (B|KiB|MiB)  from ${fast.host}/app$`)
      )
    }

    const out = path.join(tmp(), "img")
    const pull = await ocidist(["pull", `${fast.host}/other:1`, out])
    expect(pull.code).toBe(0)
    expect(pull.stderr.split("\n")[0]).toBe(`Pulling ${fast.host}/other:1 \u2192 ${out}`)
    expect(sorted(words(pull.stderr))).toEqual(sorted([...blobs, manifest].map((d) => `pulled ${short(d)}`)))
    // again: every blob exists (the manifest is written again, under its tag)
    const repull = await ocidist(["pull", `${fast.host}/other:1`, out])
    expect(repull.code).toBe(0)
    expect(sorted(words(repull.stderr))).toEqual(
      sorted([...blobs.map((d) => `exists ${short(d)}`), `pulled ${short(manifest)}`])
    )
    expect(repull.stdout).toContain(`0 blob(s) transferred (0 B), 3 skipped`)
    // the old words are gone
    expect(pull.stderr + push.stderr).not.toMatch(/^(done|manifest) /m)
  })

  it("a failure before anything moved prints only its error, no start line", async () => {
    const r = await ocidist(["pull", `${fast.host}/app:nope`, path.join(tmp(), "img")])
    expect(r.code).toBe(3)
    expect(r.stderr.split("\n").filter((l) => l !== "")).toHaveLength(1)
    expect(r.stderr).toMatch(/^ocidist: /)
  })

  it("a blob that moved for a while shows its rate", async () => {
    const out = path.join(tmp(), "img")
    const r = await ocidist(["pull", `${slow.host}/app:1`, out])
    expect(r.code).toBe(0)
    const big = image.layers[1]!
    expect(r.stderr).toMatch(new RegExp(`pulled   ${short(big.digest)}  layer  3\\.0 MiB, [\\d.]+ (KiB|MiB)/s\n`))
  }, 30_000)
})

describe("on a 40-column terminal", () => {
  it("every live line fits: columns are dropped (rate, ETA, sizes), none is cut", async () => {
    const out = path.join(tmp(), "img")
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`
    const command = [process.execPath, binary, "pull", `${slow.host}/app:1`, out].map(quote).join(" ")
    const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn("script", ["-qfec", `stty cols 40 rows 24; ${command}`, "/dev/null"], {
        env: isolatedEnv(),
        stdio: ["pipe", "pipe", "pipe"]
      })
      let output = ""
      child.stdout.on("data", (d: Buffer) => (output += d.toString()))
      child.stderr.on("data", (d: Buffer) => (output += d.toString()))
      child.on("error", reject)
      child.on("close", (code) => resolve({ code, output }))
    })
    expect(result.code).toBe(0)
    // eslint-disable-next-line no-control-regex
    const lines = result.output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").split(/\r|\n/).filter((l) => l !== "")
    expect(lines).toContain(`Pulling ${slow.host}/app:1 \u2192 ${out}`)
    const live = lines.filter((l) => /[\u2588\u2591]|%$/.test(l))
    expect(live.length).toBeGreaterThan(3)
    for (const l of live) expect(l.length, l).toBeLessThan(40)
    // at 40 columns: the digest (or `total`), a bar and a percentage
    for (const l of live) expect(l).toMatch(/^(sha256:[0-9a-f]{12}|total {14}) {2}[\u2588\u2591]{10,30} {1,3}\d{1,3}%$/)
    expect(lines.find((l) => l.includes(short(image.layers[1]!.digest)) && l.startsWith("\u2714"))).toBeDefined()
  }, 30_000)
})

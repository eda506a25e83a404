// Against the embedded registry (@ocidist/registry) with faults: `-v pull` through blob redirects to pre-signed
// URLs never logs a signature; `--timeout` stops a pull that a stalled registry would hold, cleanly.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, layoutIndex, Tools, verifyLayoutBlobs } from "./support.js"

let close: () => Promise<void>
let redirecting: Registry.Running
let stalling: Registry.Running
let image: Fixtures.Image

const tmp = () => tempDir("ocidist-cli-embedded-")

/** Every file under `dir`, relative to it. */
const files = (dir: string): Array<string> =>
  fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as Array<string>).sort() : []

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const redirecting = yield* NodeRegistry.start({ faults: { redirectBlobs: true } })
    const stalling = yield* NodeRegistry.start({ faults: { stallAfterBytes: { bytes: 1000 } } })
    const dir = yield* Tools.tempDir("ocidist-cli-embedded-")
    const image = yield* Fixtures.makeImage(dir, {
      seed: "ocidist/embedded",
      layers: [{ size: 64 * 1024 }, { size: 48 * 1024 }]
    })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
    return { redirecting, stalling, image, layout }
  }))
  close = acquired.close
  redirecting = acquired.value.redirecting
  stalling = acquired.value.stalling
  image = acquired.value.image
  for (const registry of [redirecting, stalling]) {
    const push = await ocidist(["push", "-q", `oci:${acquired.value.layout}:v1`, `${registry.host}/app:1`])
    expect(push.stderr).toBe("")
    expect(push.code).toBe(0)
  }
}, 120_000)

afterAll(() => close?.())

describe.concurrent("-v and pre-signed blob URLs", () => {
  it("the Location of a blob redirect and the request that follows it carry no signature", async () => {
    const out = path.join(tmp(), "layout")
    const r = await ocidist(["-v", "pull", `${redirecting.host}/app:1`, out])
    expect(r.code).toBe(0)
    expect(verifyLayoutBlobs(out)).toBe(4)
    const locations = r.stderr.split("\n").filter((l) => l.startsWith("< location: "))
    expect(locations).toHaveLength(image.layers.length + 1)
    for (const l of locations) expect(l).toMatch(/\?X-Amz-Signature=<redacted>$/)
    expect(r.stderr).toMatch(/> GET http:\/\/127\.0\.0\.1:\d+\/blobs\/[\w-]+\?X-Amz-Signature=<redacted>\n/)
    expect(r.stderr).not.toMatch(/X-Amz-Signature=(?!<redacted>)/)
  })
})

describe.concurrent("--timeout", () => {
  it("stops a pull into a layout that a stalled registry holds: exit 1, one line, nothing incomplete", async () => {
    const out = path.join(tmp(), "layout")
    const r = await ocidist(["--timeout", "2s", "pull", `${stalling.host}/app:1`, out])
    expect(r.stdout).toBe("")
    expect(r.stderr.split("\n").filter((l) => l.startsWith("ocidist: "))).toEqual([
      "ocidist: timed out after 2s (--timeout)"
    ])
    expect(r.code).toBe(1)
    // as after Ctrl-C: whatever is under blobs/ is complete and verified, nothing names the image, no temporary
    // file is left outside ingest/ (where a rerun resumes the partial downloads)
    verifyLayoutBlobs(out)
    if (fs.existsSync(path.join(out, "index.json"))) {
      expect(layoutIndex(out).manifests.map((m) => m.digest)).not.toContain(image.manifestDigest)
    }
    expect(files(out).filter((f) => !f.startsWith("ingest") && /tmp|partial|lock/i.test(f))).toEqual([])
  })

  it("stops a pull into an archive: nothing is left beside the destination; --json says it in one line", async () => {
    const dir = tmp()
    const cache = tmp()
    const r = await ocidist(
      ["pull", "--json", "--timeout", "1500ms", `${stalling.host}/app:1`, `oci-archive:${path.join(dir, "app.tar")}`],
      { env: { OCIDIST_CACHE_DIR: cache } }
    )
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    const last = JSON.parse(r.stderr.trim().split("\n").at(-1)!)
    expect(last).toEqual({
      event: "Error",
      error: "CliFailure",
      message: "timed out after 1500ms (--timeout)",
      exitCode: 1
    })
    expect(files(dir)).toEqual([])
  })

  it("a command that ends in time is not affected; an invalid duration is a usage error", async () => {
    const r = await ocidist(["digest", "--timeout", "1m", `${stalling.host}/app:1`])
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(image.manifestDigest)
    for (const bad of ["soon", "0s", "-5s"]) {
      const usage = await ocidist(["digest", `--timeout=${bad}`, `${stalling.host}/app:1`])
      expect(usage.code).toBe(2)
      expect(usage.stderr).toContain("--timeout: expected a duration such as 30s, 2m or 1h30m")
    }
  })
})

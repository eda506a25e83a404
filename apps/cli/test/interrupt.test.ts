// Ctrl-C (SIGINT) and SIGTERM during a pull from the embedded registry (@ocidist/registry, blob bodies slowed to
// 1 MB/s): one line saying how to resume (a JSON line with --json), exit 130, and the same command run again
// completes, skipping what the first run finished. A command with nothing to resume says `interrupted`.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import type { ChildProcess } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { collect, ndjson, ocidist, start, tempDir } from "./cli.js"
import { acquire, Fixtures, layoutIndex, Tools, verifyLayoutBlobs } from "./support.js"

let close: () => Promise<void>
let slow: Registry.Running
let image: Fixtures.Image

const tmp = () => tempDir("ocidist-cli-interrupt-")
const short = (digest: string) => digest.slice(0, "sha256:".length + 12)

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const slow = yield* NodeRegistry.start({ faults: { bytesPerSecond: 1_000_000 } })
    const dir = yield* Tools.tempDir("ocidist-cli-interrupt-")
    const image = yield* Fixtures.makeImage(dir, {
      seed: "ocidist/interrupt",
      layers: [{ size: 16 * 1024 }, { size: 3 * 1024 * 1024 }]
    })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
    return { slow, image, layout }
  }))
  close = acquired.close
  slow = acquired.value.slow
  image = acquired.value.image
  const push = await ocidist(["push", "-q", `oci:${acquired.value.layout}:v1`, `${slow.host}/app:1`])
  expect(push.stderr).toBe("")
  expect(push.code).toBe(0)
}, 120_000)

afterAll(() => close?.())

/** Sends `signal` to the child once its stderr matches `ready`. */
const signalWhen = (child: ChildProcess, ready: (stderr: string) => boolean, signal: NodeJS.Signals) => {
  let seen = ""
  let sent = false
  child.stderr!.on("data", (d: Buffer) => {
    seen += d.toString()
    if (!sent && ready(seen)) {
      sent = true
      child.kill(signal)
    }
  })
  return () => sent
}

describe.concurrent("an interrupted transfer", () => {
  it("Ctrl-C: `interrupted; run the same command again to resume`, exit 130; run again, it completes", async () => {
    const out = path.join(tmp(), "img")
    const args = ["pull", `${slow.host}/app:1`, out]
    const child = start(args)
    // the config and the 16 KiB layer are done; the 3 MiB layer is on its way (~3 s at 1 MB/s)
    const sent = signalWhen(child, (s) => s.split("\n").filter((l) => l.startsWith("pulled ")).length >= 2, "SIGINT")
    const r = await collect(child)
    expect(sent()).toBe(true)
    expect(r.code).toBe(130)
    expect(r.stdout).toBe("")
    const lines = r.stderr.split("\n").filter((l) => l !== "")
    expect(lines[0]).toBe(`Pulling ${slow.host}/app:1 \u2192 ${out}`)
    expect(lines.at(-1)).toBe("ocidist: interrupted; run the same command again to resume")
    expect(lines.filter((l) => l.startsWith("ocidist: "))).toHaveLength(1)
    expect(verifyLayoutBlobs(out)).toBe(2)

    const again = await ocidist(args)
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/1 blob\(s\) transferred \([^)]*\), 2 skipped, 0 mounted/)
    const words = again.stderr.split("\n").filter((l) => l !== "").slice(1).map((l) => l.split(/\s+/).slice(0, 2))
    expect(words).toContainEqual(["exists", short(image.configDigest)])
    expect(words).toContainEqual(["exists", short(image.layers[0]!.digest)])
    expect(words).toContainEqual(["pulled", short(image.layers[1]!.digest)])
    expect(words).toContainEqual(["pulled", short(image.manifestDigest)])
    expect(verifyLayoutBlobs(out)).toBe(4)
    expect(layoutIndex(out).manifests.map((m) => m.digest)).toContain(image.manifestDigest)
  }, 30_000)

  it("SIGTERM with --json: a Started event first, an Interrupted error line last, exit 130", async () => {
    const out = path.join(tmp(), "img")
    const child = start(["pull", "--json", `${slow.host}/app:1`, `oci:${out}:v1`])
    const big = image.layers[1]!.digest
    const sent = signalWhen(
      child,
      (s) => new RegExp(`"event":"BlobProgress","digest":"${big}","size":\\d+,"transferred":[1-9]`).test(s),
      "SIGTERM"
    )
    const r = await collect(child)
    expect(sent()).toBe(true)
    expect(r.code).toBe(130)
    expect(r.stdout).toBe("")
    const events = ndjson(r.stderr)
    expect(events[0]).toEqual({
      event: "Started",
      operation: "pull",
      source: `${slow.host}/app:1`,
      destination: `oci:${out}:v1`
    })
    expect(events.at(-1)).toEqual({
      event: "Error",
      error: "Interrupted",
      message: "interrupted; run the same command again to resume",
      exitCode: 130
    })
  }, 30_000)
})

describe("an interrupted command with nothing to resume", () => {
  it("says `interrupted`, exit 130", async () => {
    // a registry that never answers
    const requests: Array<string> = []
    const server = http.createServer((req) => requests.push(req.url ?? ""))
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const port = (server.address() as AddressInfo).port
    try {
      const child = start(["--plain-http", "tags", `127.0.0.1:${port}/app`])
      const asked = new Promise<void>((resolve) => server.once("request", () => resolve()))
      const result = collect(child)
      await asked
      child.kill("SIGINT")
      const r = await result
      expect(requests.length).toBeGreaterThan(0)
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({
        code: 130,
        stderr: "ocidist: interrupted\n",
        stdout: ""
      })
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }, 30_000)
})

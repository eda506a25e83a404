// Messages a person can act on: an invalid reference in one short line with a pointer to `ocidist ref --help`,
// file system failures in words (no `BadResource`, no `FileSystem.open`), `inspect --json` without `_tag`, `tag`
// with a full reference in the same repository, an ambiguous layout that lists its tags.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, Tools } from "./support.js"

let close: () => Promise<void>
let registry: Registry.Running
let image: Fixtures.Image
let layout: string
let ambiguous: string

const tmp = () => tempDir("ocidist-cli-messages-")

/** The `ocidist: ` lines of stderr. */
const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("ocidist: "))

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* NodeRegistry.start({})
    const dir = yield* Tools.tempDir("ocidist-cli-messages-")
    const image = yield* Fixtures.makeImage(dir, { seed: "ocidist/messages-a", layers: [{ size: 1024 }] })
    const other = yield* Fixtures.makeImage(dir, { seed: "ocidist/messages-b", layers: [{ size: 1024 }] })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
    const ambiguous = path.join(dir, "ambiguous")
    yield* Fixtures.writeLayout(ambiguous, [{ root: image, tag: "alpha" }, { root: other, tag: "beta" }])
    return { registry, image, layout, ambiguous }
  }))
  close = acquired.close
  ;({ registry, image, layout, ambiguous } = acquired.value)
  const push = await ocidist(["push", "-q", `oci:${layout}:v1`, `${registry.host}/small:1`])
  expect(push.stderr).toBe("")
  expect(push.code).toBe(0)
}, 120_000)

afterAll(() => close?.())

describe.concurrent("messages", () => {
  it("an invalid reference: one short line pointing at `ocidist ref --help`, exit 2", async () => {
    const r = await ocidist(["inspect", "foo:bar:baz"])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    const lines = r.stderr.split("\n").filter((l) => l !== "")
    expect(lines).toHaveLength(1)
    expect(lines[0]!.startsWith("ocidist: invalid reference \"foo:bar:baz\"")).toBe(true)
    expect(lines[0]).toContain("ocidist ref --help")
    expect(lines[0]!.length).toBeLessThan(160)
    // said once, not the list of every location form
    expect(lines[0]!.split("foo:bar:baz")).toHaveLength(2)
    expect(lines[0]).not.toContain("docker-archive:")
  })

  it("push from a path inside a regular file: what happened to which path, in words", async () => {
    const dir = tmp()
    const file = path.join(dir, "file")
    fs.writeFileSync(file, "not a directory")
    const r = await ocidist(["push", `oci:${file}/sub`, `${registry.host}/small:enotdir`])
    expect(r.code).toBe(1)
    expect(errorLines(r.stderr)).toEqual([`ocidist: cannot read ${file}/sub/oci-layout: not a directory`])
    expect(r.stderr).not.toMatch(/BadResource|FileSystem\.|SystemError|Fiber|ENOTDIR/)
  })

  it("inspect --json has no _tag: kind is image or index", async () => {
    const r = await ocidist(["inspect", "--json", `${registry.host}/small:1`])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain("_tag")
    const out = JSON.parse(r.stdout) as Record<string, unknown>
    expect(out).toMatchObject({ kind: "image", digest: image.manifestDigest })
  })

  it("tag REG/a:1 REG/a:v3 tags in the same repository; a bare tag as well", async () => {
    const full = await ocidist(["tag", `${registry.host}/small:1`, `${registry.host}/small:v3`])
    expect(full.stderr).toBe("")
    expect(full.code).toBe(0)
    expect(full.stdout).toBe(`${registry.host}/small:v3@${image.manifestDigest}\n`)
    const bare = await ocidist(["tag", `${registry.host}/small:1`, "v4"])
    expect(bare.code).toBe(0)
    const digest = await ocidist(["digest", `${registry.host}/small:v3`])
    expect(digest.stdout).toBe(`${image.manifestDigest}\n`)
  })

  it("tag into another repository says what is expected, exit 2, nothing written", async () => {
    const r = await ocidist(["tag", `${registry.host}/small:1`, `${registry.host}/other:v3`])
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toEqual([
      `ocidist: tag: ${registry.host}/other:v3 is in another repository than ${registry.host}/small:1: expected a ` +
      `tag (e.g. v2) or ${registry.host}/small:<tag> (to copy between repositories, use \`ocidist copy\`)`
    ])
    const tags = await ocidist(["tags", `${registry.host}/other`])
    expect(tags.code).toBe(3)
  })

  it("an ambiguous layout lists its tags and says how to pick one", async () => {
    const r = await ocidist(["inspect", `oci:${ambiguous}`])
    expect(r.code).not.toBe(0)
    const lines = errorLines(r.stderr)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain("2 different manifests (tags: alpha, beta)")
    expect(lines[0]).toContain(`pick one: oci:${ambiguous}:<tag>`)
  })
})

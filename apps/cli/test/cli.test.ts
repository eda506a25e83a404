// The command line itself: help with examples, version, completions, global option placement, usage errors
// (`registry serve` has its own file: serve.test.ts).
import { describe, expect, it } from "@effect/vitest"
import { ocidist } from "./cli.js"

const commands = [
  "pull",
  "push",
  "copy",
  "cp",
  "manifest",
  "digest",
  "config",
  "blob",
  "inspect",
  "tags",
  "ls",
  "catalog",
  "tag",
  "delete",
  "referrers",
  "login",
  "logout",
  "auth",
  "ref",
  "registry",
  "version",
  "completion"
]

describe.concurrent("ocidist", () => {
  it("--help lists every command and shows examples", async () => {
    const r = await ocidist(["--help"])
    expect(r.code).toBe(0)
    for (const c of commands) expect(r.stdout).toContain(c)
    expect(r.stdout).toContain("Examples:")
    expect(r.stdout).toContain("ocidist pull alpine:3.20 ./alpine")
  })

  it.each([
    "pull",
    "push",
    "copy",
    "manifest",
    "digest",
    "config",
    "blob",
    "inspect",
    "tags",
    "catalog",
    "tag",
    "delete",
    "referrers",
    "login",
    "logout",
    "ref",
    "version",
    "completion"
  ])("%s --help shows examples", async (c) => {
    const r = await ocidist([c, "--help"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("Examples:")
    expect(r.stdout).toContain(`ocidist ${c}`)
  })

  it("auth token --help and manifest put --help show examples", async () => {
    for (const args of [["auth", "token", "--help"], ["manifest", "put", "--help"]]) {
      const r = await ocidist(args)
      expect(r.code).toBe(0)
      expect(r.stdout).toContain("Examples:")
    }
  })

  it("version, and version --json", async () => {
    const r = await ocidist(["version"])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^ocidist \d+\.\d+\.\d+/)
    const j = await ocidist(["version", "--json"])
    expect(JSON.parse(j.stdout)).toEqual({
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      node: process.versions.node
    })
    const before = await ocidist(["--json", "version"])
    expect(JSON.parse(before.stdout)).toEqual(JSON.parse(j.stdout))
  })

  it.each(["bash", "zsh", "fish"])("completion %s prints a script", async (shell) => {
    const r = await ocidist(["completion", shell])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("ocidist")
    expect(r.stdout).toContain("pull")
    expect(r.stdout.length).toBeGreaterThan(200)
  })

  it("no command: exit 2", async () => {
    const r = await ocidist([])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--help")
  })

  it("an unknown command or option: exit 2", async () => {
    expect((await ocidist(["frobnicate"])).code).toBe(2)
    expect((await ocidist(["digest", "--frobnicate", "x"])).code).toBe(2)
    expect((await ocidist(["pull", "only-one-arg"])).code).toBe(2)
    expect((await ocidist(["--jobs", "many", "version"])).code).toBe(2)
  })

  it("ref accepts --json after the argument too", async () => {
    const r = await ocidist(["ref", "alpine", "--json"])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ registry: "docker.io", repository: "library/alpine", tag: null })
  })
})

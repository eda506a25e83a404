import { describe, expect, it } from "@effect/vitest"
import { ocidist } from "./cli.js"

describe("ocidist ref", () => {
  it("prints how a reference is understood", async () => {
    const result = await ocidist(["ref", "ubuntu:22.04"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/registry\s+docker\.io/)
    expect(result.stdout).toMatch(/repository\s+library\/ubuntu/)
    expect(result.stdout).toMatch(/reference\s+docker\.io\/library\/ubuntu:22\.04/)
    expect(result.stdout).toMatch(/familiar\s+ubuntu:22\.04/)
  })

  it("prints stable JSON with --json", async () => {
    const digest = `sha256:${"a".repeat(64)}`
    const result = await ocidist(["ref", "--json", `localhost:5000/team/app:1@${digest}`])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({
      input: `localhost:5000/team/app:1@${digest}`,
      registry: "localhost:5000",
      repository: "team/app",
      tag: "1",
      digest,
      identifier: digest,
      reference: `localhost:5000/team/app:1@${digest}`,
      familiar: `localhost:5000/team/app:1@${digest}`
    })
  })

  it("exits 2 with one clear line for an invalid reference", async () => {
    const result = await ocidist(["ref", "Ubuntu"])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe("")
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
    expect(result.stderr).toContain("must be lower-case")
  })

  it("prints its version", async () => {
    const result = await ocidist(["version"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^ocidist \d+\.\d+\.\d+/)
  })
})

// Tar.entry / Tar.archive / Tar.oneFile: GNU tar reads what they write, with the types, modes, links and
// times given.
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as Tar from "../src/Tar.js"

const list = (archive: Uint8Array) =>
  execFileSync("tar", ["--numeric-owner", "--utc", "-tvf", "-"], { input: archive }).toString("utf8").trim()
    .split("\n").map((l) => l.split(/\s+/))

describe("Tar", () => {
  it("writes entries GNU tar lists as given", () => {
    const archive = Tar.archive([
      Tar.entry({ name: "d/", type: "5", mode: 0o755 }),
      Tar.entry({ name: "d/a.txt", data: "hello\n", mtime: 1_700_000_000 }),
      Tar.entry({ name: "d/l", type: "2", linkname: "a.txt" }),
      Tar.entry({ name: "d/h", type: "1", linkname: "d/a.txt" })
    ])
    assert.strictEqual(archive.length % 512, 0)
    const rows = list(archive)
    assert.deepStrictEqual(rows.map((r) => r[0]), ["drwxr-xr-x", "-rw-r--r--", "lrw-r--r--", "hrw-r--r--"])
    assert.deepStrictEqual(rows.map((r) => r[2]), ["0", "6", "0", "0"])
    assert.deepStrictEqual(rows[1]!.slice(3, 6), ["2023-11-14", "22:13", "d/a.txt"])
    assert.deepStrictEqual(rows[2]!.slice(5), ["d/l", "->", "a.txt"])
    assert.deepStrictEqual(rows[3]!.slice(5), ["d/h", "link", "to", "d/a.txt"])
  })

  it("oneFile: one file, then the end-of-archive blocks", () => {
    const archive = Tar.oneFile("etc/motd", new TextEncoder().encode("x".repeat(600)))
    assert.strictEqual(archive.length, 512 + 1024 + 1024)
    const out = execFileSync("tar", ["-xOf", "-", "etc/motd"], { input: archive }).toString("utf8")
    assert.strictEqual(out, "x".repeat(600))
  })
})

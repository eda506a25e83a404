// `--help`: short and crane-like (summary, usage, the command's own flags, examples; the global flags once, in
// the root help), plain text whether piped, with NO_COLOR or in a terminal; and the command tree it is made
// from, read from the @effect/cli descriptors (so that an @effect/cli update that changes them fails here).
import { describe, expect, it } from "@effect/vitest"
import { root } from "../src/Cli.js"
import * as Help from "../src/internal/help.js"
import * as Spec from "../src/internal/spec.js"
import { inPty, ocidist } from "./cli.js"

const tree = Spec.fromDescriptor(root.descriptor)
const globalNames = ["--json", "--quiet", "--verbose", "--insecure", "--plain-http", "--tls", "--platform", "--jobs"]
const lines = (text: string) => text.trimEnd().split("\n")

describe("the command tree", () => {
  it("has every command, each with a one-line summary and 1-4 examples of itself", () => {
    const paths = Spec.all(tree).map((c) => c.path.join(" "))
    for (
      const path of [
        "ocidist",
        "ocidist pull",
        "ocidist copy",
        "ocidist cp",
        "ocidist manifest put",
        "ocidist auth token",
        "ocidist registry serve",
        "ocidist cache clean",
        "ocidist completion"
      ]
    ) expect(paths).toContain(path)
    for (const command of Spec.all(tree)) {
      const name = command.path.join(" ")
      expect(command.help.summary, name).not.toBe("")
      expect(command.help.summary, name).not.toContain("\n")
      expect(command.help.summary.length, name).toBeLessThanOrEqual(80)
      expect(command.help.examples.length, name).toBeGreaterThanOrEqual(1)
      expect(command.help.examples.length, name).toBeLessThanOrEqual(4)
      // an example of the command itself (or of the command it is an alias of)
      const self = command.help.aliasOf === undefined ? name : [...command.path.slice(0, -1), command.help.aliasOf]
        .join(" ")
      expect(command === tree || command.help.examples.some((e) => e.includes(self)), name).toBe(true)
      // no reminder of the global options in each description any more
      expect(command.help.details ?? "", name).not.toContain("Global options")
    }
  })

  it("finds the flags, aliases, kinds, choices and arguments the commands declare", () => {
    expect(tree.flags.map((f) => f.name)).toEqual([...globalNames, "--timeout"])
    expect(Spec.flagNamed(tree.flags, "-j")).toMatchObject({ name: "--jobs", kind: "integer", placeholder: "N" })
    expect(Spec.flagNamed(tree.flags, "-q")).toMatchObject({ name: "--quiet", kind: "boolean", placeholder: "" })
    expect(Spec.flagNamed(tree.flags, "--timeout")).toMatchObject({ kind: "text", placeholder: "DURATION" })

    const pull = Spec.find(tree, ["pull"])!
    expect(pull.args).toEqual([
      expect.objectContaining({ name: "reference", optional: false, variadic: false }),
      expect.objectContaining({ name: "destination", optional: false, variadic: false })
    ])
    expect(Spec.flagNamed(pull.flags, "--format")).toMatchObject({
      kind: "choice",
      choices: ["oci", "docker", "keep", "oci-archive", "docker-archive"]
    })

    const copy = Spec.find(tree, ["copy"])!
    expect(Spec.flagNamed(copy.flags, "-r")?.name).toBe("--referrers")
    expect(Spec.flagNamed(copy.flags, "--src-creds")).toMatchObject({ kind: "secret", placeholder: "USER[:PASS]" })
    expect(Spec.find(tree, ["cp"])?.help.aliasOf).toBe("copy")

    const manifest = Spec.find(tree, ["manifest"])!
    expect(manifest.args).toEqual([expect.objectContaining({ name: "reference", optional: true })])
    expect(manifest.children.map((c) => c.name)).toEqual(["put"])
    expect(Spec.find(tree, ["manifest", "put"])!.args.map((a) => a.name)).toEqual(["reference", "file"])

    const serve = Spec.find(tree, ["registry", "serve"])!
    expect(Spec.flagNamed(serve.flags, "--port")).toMatchObject({ kind: "integer" })
    expect(Spec.flagNamed(serve.flags, "--auth")).toMatchObject({ kind: "text", repeatable: true })
    expect(Spec.flagNamed(Spec.find(tree, ["blob"])!.flags, "-o")).toMatchObject({ name: "--output", kind: "path" })
    expect(Spec.find(tree, ["completion"])!.args).toEqual([
      expect.objectContaining({ name: "shell", choices: ["bash", "zsh", "fish"] })
    ])
    expect(Spec.find(tree, ["auth"])!.args).toEqual([])
  })

  it("renders every command's help in at most 40 lines, wrapped at 80 columns (examples aside)", () => {
    for (const command of Spec.all(tree)) {
      const text = Help.render(tree, command)
      expect(lines(text).length, command.path.join(" ")).toBeLessThanOrEqual(command === tree ? 90 : 40)
      const examples = new Set(command.help.examples.map((e) => `  ${e}`))
      for (const line of lines(text)) {
        // a word longer than a line stays whole
        if (!examples.has(line) && line.includes(" ")) expect(line.length, line).toBeLessThanOrEqual(80)
      }
    }
  })
})

describe.concurrent("ocidist --help", () => {
  it("the root: summary, usage, every command once, the global flags, examples; short", async () => {
    const r = await ocidist(["--help"])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe("")
    const out = lines(r.stdout)
    expect(out.length).toBeGreaterThanOrEqual(30)
    expect(out.length).toBeLessThanOrEqual(90)
    expect(r.stdout).toContain("Usage:\n  ocidist <command>")
    for (const c of ["pull", "push", "copy, cp", "manifest put", "tags, ls", "auth token", "registry serve"]) {
      expect(r.stdout).toMatch(new RegExp(`^  ${c} +\\S`, "m"))
    }
    for (const flag of globalNames) expect(r.stdout).toContain(flag)
    expect(r.stdout).toContain("-j, --jobs N")
    expect(r.stdout).toContain("Examples:\n  ocidist pull alpine:3.20 ./alpine")
    // none of @effect/cli's boilerplate
    for (const text of ["A user-defined piece of text", "This setting is optional", "--wizard", "--log-level"]) {
      expect(r.stdout).not.toContain(text)
    }
    expect(r.stdout).not.toContain("\x1b")
    // `ocidist help` and -h are the same
    expect((await ocidist(["help"])).stdout).toBe(r.stdout)
    expect((await ocidist(["-h"])).stdout).toBe(r.stdout)
  })

  it("a command: summary, usage with its path, its own flags (not the global ones), examples, a pointer", async () => {
    const r = await ocidist(["pull", "--help"])
    expect(r.code).toBe(0)
    const out = lines(r.stdout)
    expect(out.length).toBeGreaterThanOrEqual(12)
    expect(out.length).toBeLessThanOrEqual(32)
    expect(out[0]).toBe("Pull an image into an OCI layout or an archive")
    expect(r.stdout).toContain("Usage:\n  ocidist pull [flags] <reference> <destination>")
    expect(r.stdout).toMatch(/^ {6}--format FORMAT +media types to write/m)
    expect(r.stdout.replace(/\s+/g, " ")).toContain("(oci, docker, keep, oci-archive, docker-archive)")
    expect(r.stdout).toContain("Examples:\n  ocidist pull alpine:3.20 ./alpine")
    // the global flags are not listed as flags of the command, only pointed at
    for (const flag of globalNames) expect(r.stdout).not.toMatch(new RegExp(`^ +(-\\w, )?${flag}\\b`, "m"))
    expect(out.at(-1)).toContain("see \"ocidist --help\"")
    expect(r.stdout).not.toContain("\x1b")
    // after the arguments, with -h, and as `ocidist help pull`: the same
    expect((await ocidist(["pull", "alpine", "out", "-h"])).stdout).toBe(r.stdout)
    expect((await ocidist(["help", "pull"])).stdout).toBe(r.stdout)
    expect((await ocidist(["--json", "pull", "--help"])).stdout).toBe(r.stdout)
  })

  it("a nested command shows its whole path in its usage line, and its own flags", async () => {
    const r = await ocidist(["manifest", "put", "--help"])
    expect(r.code).toBe(0)
    expect(lines(r.stdout).length).toBeLessThanOrEqual(30)
    expect(r.stdout).toContain("Usage:\n  ocidist manifest put [flags] <reference> <file>")
    expect(r.stdout).not.toContain("$ put")
    expect(r.stdout).toMatch(/^ {6}--media-type TYPE +Content-Type to send/m)
    expect(r.stdout).toContain("Examples:\n  ocidist manifest put localhost:5000/app:1.0 manifest.json")
    expect(r.stdout).not.toMatch(/^ {6}--pretty/m) // a flag of `manifest`, not of `manifest put`

    const serve = await ocidist(["registry", "serve", "--help"])
    expect(serve.stdout).toContain("Usage:\n  ocidist registry serve [flags]")
    expect(serve.stdout).toMatch(/^ {6}--port N +TCP port/m)
    expect(lines(serve.stdout).length).toBeLessThanOrEqual(40)
  })

  it("a group lists its commands; an alias names what it is an alias of", async () => {
    const auth = await ocidist(["auth", "--help"])
    expect(auth.code).toBe(0)
    expect(auth.stdout).toContain("Usage:\n  ocidist auth <command> [flags]")
    expect(auth.stdout).toMatch(/^Commands:\n {2}token +Print a bearer token/m)
    const cp = await ocidist(["cp", "--help"])
    expect(cp.stdout).toContain("Usage:\n  ocidist cp [flags] <source> <destination>")
    expect(cp.stdout).toContain("Aliases: copy, cp")
    expect(cp.stdout).toMatch(/^ {2}-r, --referrers +also copy the referrers/m)
  })

  it("no escape sequences with NO_COLOR unset, piped or in a terminal", async () => {
    const piped = await ocidist(["copy", "--help"], { env: { NO_COLOR: "", TERM: "xterm-256color" } })
    expect(piped.code).toBe(0)
    expect(piped.stdout).not.toContain("\x1b")
    const tty = await inPty(["copy", "--help"], { env: { NO_COLOR: "", TERM: "xterm-256color" } })
    expect(tty.code).toBe(0)
    expect(tty.output).toContain("Usage:")
    expect(tty.output).not.toContain("\x1b")
  })

  it("--version and --completions still work", async () => {
    const version = await ocidist(["--version"])
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    const completions = await ocidist(["--completions", "bash"])
    expect(completions.code).toBe(0)
    expect(completions.stdout).toContain("ocidist")
    expect(completions.stdout).toContain("pull")
  })
})

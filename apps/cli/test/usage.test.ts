// Usage errors: one line on stderr, `ocidist: …`, naming the offending command, flag or argument, with the
// closest command or flag suggested; one JSON line with --json; exit 2; nothing on stdout; no request made (the
// references point at a port nothing listens on, so a command that ran would fail differently).
import { describe, expect, it } from "@effect/vitest"
import { closest, distance } from "../src/internal/usage.js"
import { ocidist } from "./cli.js"

const ref = "127.0.0.1:9/app:1"

const usageError = async (args: ReadonlyArray<string>) => {
  const r = await ocidist(args)
  expect(r.code, args.join(" ")).toBe(2)
  expect(r.stdout, args.join(" ")).toBe("")
  const lines = r.stderr.trimEnd().split("\n")
  expect(lines, args.join(" ")).toHaveLength(1)
  expect(lines[0], args.join(" ")).toMatch(/^ocidist: /)
  expect(r.stderr).not.toContain("\x1b")
  // the same as one JSON line with --json
  const j = await ocidist(["--json", ...args])
  expect(j.code).toBe(2)
  expect(j.stdout).toBe("")
  expect(j.stderr.trimEnd().split("\n")).toHaveLength(1)
  expect(JSON.parse(j.stderr)).toEqual({
    event: "Error",
    error: "UsageError",
    message: lines[0]!.slice("ocidist: ".length),
    exitCode: 2
  })
  return lines[0]!
}

describe("suggestions", () => {
  it("by edit distance (transpositions count once), within a third of the length, or a unique prefix", () => {
    expect(distance("frmat", "format")).toBe(1)
    expect(distance("fromat", "format")).toBe(1)
    expect(closest("pul", ["pull", "push", "copy"])).toBe("pull")
    expect(closest("--frmat", ["--format", "--force"])).toBe("--format")
    expect(closest("inpsect", ["inspect", "digest"])).toBe("inspect")
    expect(closest("--plat", ["--platform", "--plain-http"])).toBe("--platform")
    expect(closest("frobnicate", ["pull", "push", "copy", "tags"])).toBeUndefined()
    expect(closest("x", ["ls", "cp"])).toBeUndefined()
  })
})

describe.concurrent("usage errors", () => {
  it("an unknown command: did you mean, at the top and below manifest, auth, registry, cache", async () => {
    expect(await usageError(["pul", ref, "out"])).toBe(`ocidist: unknown command "pul"; did you mean "pull"?`)
    expect(await usageError(["inpsect", ref])).toBe(`ocidist: unknown command "inpsect"; did you mean "inspect"?`)
    expect(await usageError(["frobnicate"])).toBe(
      `ocidist: unknown command "frobnicate"; run "ocidist --help" for the list of commands`
    )
    expect(await usageError(["auth", "tokn", ref])).toBe(
      `ocidist: unknown command "tokn" for "ocidist auth"; did you mean "token"?`
    )
    expect(await usageError(["registry", "srve"])).toBe(
      `ocidist: unknown command "srve" for "ocidist registry"; did you mean "serve"?`
    )
    expect(await usageError(["cache", "cleen"])).toBe(
      `ocidist: unknown command "cleen" for "ocidist cache"; did you mean "clean"?`
    )
    expect(await usageError(["cache", "purge"])).toBe(
      `ocidist: unknown command "purge" for "ocidist cache"; its commands: dir, clean`
    )
    // `manifest <reference>` or `manifest put`: a misspelt put with its two arguments has one too many
    expect(await usageError(["manifest", "pt", ref, "m.json"])).toMatch(
      /^ocidist: unexpected argument "127\.0\.0\.1:9\/app:1" for "ocidist manifest"/
    )
    expect(await usageError(["help", "pul"])).toBe(`ocidist: unknown command "pul"; did you mean "pull"?`)
    expect(await usageError(["pul", "--help"])).toBe(`ocidist: unknown command "pul"; did you mean "pull"?`)
  })

  it("an unknown flag names the flag and the command, and suggests the closest", async () => {
    // the case: it blamed REF
    expect(await usageError(["pull", "--frmat", "oci", "REF", "DIR"])).toBe(
      `ocidist: unknown flag --frmat for "ocidist pull"; did you mean --format?`
    )
    expect(await usageError(["copy", ref, ref, "--dryrun"])).toBe(
      `ocidist: unknown flag --dryrun for "ocidist copy"; did you mean --dry-run?`
    )
    // global flags are candidates anywhere
    expect(await usageError(["tags", ref, "--verbos"])).toBe(
      `ocidist: unknown flag --verbos for "ocidist tags"; did you mean --verbose?`
    )
    expect(await usageError(["--plain-htp", "tags", ref])).toBe(
      `ocidist: unknown flag --plain-htp for "ocidist"; did you mean --plain-http?`
    )
    expect(await usageError(["manifest", "put", ref, "-", "--media-tpye", "x"])).toBe(
      `ocidist: unknown flag --media-tpye for "ocidist manifest put"; did you mean --media-type?`
    )
    // nothing close: where the flag belongs, if anywhere
    expect(await usageError(["tags", "--force", ref])).toBe(
      `ocidist: unknown flag --force for "ocidist tags" (a flag of blob delete, delete); see ocidist tags --help`
    )
    expect(await usageError(["digest", "--frobnicate", ref])).toBe(
      `ocidist: unknown flag --frobnicate for "ocidist digest"; see ocidist digest --help`
    )
    expect(await usageError(["--all-tags", "copy", ref, ref])).toBe(
      `ocidist: unknown flag --all-tags for "ocidist" (a flag of copy, cp: write it after the command name); ` +
        `see ocidist --help`
    )
    // a value that starts with a dash
    expect(await usageError(["tag", ref, "-bad"])).toBe(
      `ocidist: unknown flag -bad for "ocidist tag"; an argument that starts with "-" goes after --; ` +
        `see ocidist tag --help`
    )
    // --help does not hide a misspelt command, but does an unknown flag
    expect((await ocidist(["pull", "--frmat", "--help"])).code).toBe(0)
  })

  it("a flag's value: an integer, one of the choices, present", async () => {
    expect(await usageError(["pull", "--jobs", "abc", ref, "out"])).toBe(
      `ocidist: --jobs: expected an integer, got "abc"`
    )
    expect(await usageError(["-j", "2.5", "pull", ref, "out"])).toBe(
      `ocidist: -j (--jobs): expected an integer, got "2.5"`
    )
    expect(await usageError(["pull", `--jobs=`, ref, "out"])).toBe(`ocidist: --jobs: expected an integer, got ""`)
    expect(await usageError(["registry", "serve", "--port", "http"])).toBe(
      `ocidist: --port: expected an integer, got "http"`
    )
    expect(await usageError(["pull", "--format", "tar", ref, "out"])).toBe(
      `ocidist: --format: expected one of oci, docker, keep, oci-archive, docker-archive, got "tar"`
    )
    expect(await usageError(["pull", "--format=oci-achive", ref, "out"])).toBe(
      `ocidist: --format: expected one of oci, docker, keep, oci-archive, docker-archive, got "oci-achive"; did you mean oci-archive?`
    )
    expect(await usageError(["completion", "tcsh"])).toBe(
      `ocidist: <shell>: expected one of bash, zsh, fish, got "tcsh"`
    )
    expect(await usageError(["tags", ref, "--platform"])).toBe(
      `ocidist: --platform needs a value (OS/ARCH[/VARIANT]); see ocidist tags --help`
    )
    expect(await usageError(["pull", ref, "out", "--format", "-q"])).toBe(
      `ocidist: --format needs a value (one of oci, docker, keep, oci-archive, docker-archive); see ocidist pull --help`
    )
    expect(await usageError(["delete", "--force=maybe", ref])).toBe(`ocidist: --force takes no value, got "maybe"`)
    // what @effect/cli checks itself (a --timeout that is no duration) is one line too
    expect(await usageError(["digest", "--timeout", "banana", ref])).toBe(
      `ocidist: --timeout: expected a duration such as 30s, 2m or 1h30m (a bare number is seconds), got "banana"`
    )
  })

  it("missing and extra arguments, a missing command", async () => {
    expect(await usageError(["pull", ref])).toBe(
      `ocidist: missing argument <destination> for "ocidist pull"; see ocidist pull --help`
    )
    expect(await usageError(["manifest", "put", ref])).toBe(
      `ocidist: missing argument <file> for "ocidist manifest put"; see ocidist manifest put --help`
    )
    expect(await usageError(["pull", ref, "out", "extra"])).toBe(
      `ocidist: unexpected argument "extra" for "ocidist pull", which takes <reference> <destination>; ` +
        `see ocidist pull --help`
    )
    expect(await usageError(["version", "now"])).toBe(
      `ocidist: unexpected argument "now" for "ocidist version", which takes no arguments; see ocidist version --help`
    )
    expect(await usageError([])).toBe(`ocidist: missing command; run "ocidist --help" for the list of commands`)
    expect(await usageError(["auth"])).toBe(
      `ocidist: missing command for "ocidist auth" (token); see ocidist auth --help`
    )
  })

  it("what the parser accepts passes: flags anywhere, --flag=value, -- before a dashed argument", async () => {
    // these get past the checks and fail on the command's own terms (an invalid tag, a refused connection)
    const dashed = await ocidist(["tag", ref, "--", "-bad"])
    expect(dashed.stderr).not.toMatch(/unknown flag|unexpected argument/)
    const placed = await ocidist(["tags", "--omit-digest-tags", ref, "-q", "--jobs=2", "--timeout", "5s"])
    expect(placed.stderr).not.toMatch(/unknown flag|unexpected argument|expected/)
    expect(placed.code).toBe(1) // nothing listens on port 9
    const ok = await ocidist(["ref", "-v", "--json", "alpine"])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ repository: "library/alpine" })
    const bools = await ocidist(["delete", "--force", "true", "--json", ref])
    expect(bools.stderr).not.toMatch(/unknown flag|unexpected argument/)
    expect(bools.code).toBe(1)
  })
})

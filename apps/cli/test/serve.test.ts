// `ocidist registry serve`: the embedded registry as a process. The address line (plain, --json, --quiet),
// push / pull / copy (with mounts) / tags by the CLI itself against it, --dir surviving a restart, --auth,
// SIGINT and SIGTERM ending it with exit 0, and usage errors (exit 2) and a taken port (exit 1) as one line.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist, start, tempDir } from "./cli.js"
import { acquire, Fixtures, layoutIndex, Tools, verifyLayoutBlobs } from "./support.js"

let close: () => Promise<void>
let image: Fixtures.Image
let index: Fixtures.Index
let layout: string

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const dir = yield* Tools.tempDir("ocidist-cli-serve-fixtures-")
    const image = yield* Fixtures.smallImage(dir)
    const index = yield* Fixtures.multiPlatformIndex(dir)
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }, { root: index, tag: "multi" }])
    return { image, index, layout }
  }))
  close = acquired.close
  image = acquired.value.image
  index = acquired.value.index
  layout = acquired.value.layout
}, 300_000)

afterAll(() => close?.())

const tmp = () => tempDir("ocidist-cli-serve-")

interface Served {
  readonly child: ChildProcess
  /** The first line on stdout. */
  readonly line: string
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

const running = new Set<ChildProcess>()
afterAll(() => {
  for (const child of running) child.kill("SIGKILL")
})

/** Starts `ocidist registry serve …` and waits for its first line on stdout. */
const serve = (args: ReadonlyArray<string>, env?: Record<string, string>) =>
  new Promise<Served>((resolve, reject) => {
    const child = start(["registry", "serve", ...args], env === undefined ? undefined : { env })
    running.add(child)
    child.stdin!.end()
    let stdout = ""
    let stderr = ""
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.on("close", (code, signal) => {
        running.delete(child)
        done({ code, signal })
      })
    )
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString()
      const end = stdout.indexOf("\n")
      if (end !== -1) {
        resolve({ child, line: stdout.slice(0, end), stdout: () => stdout, stderr: () => stderr, exited })
      }
    })
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()))
    void exited.then(({ code, signal }) =>
      reject(new Error(`registry serve ended before printing its address (${code ?? signal}): ${stderr}`))
    )
  })

/** The host of the plain address line. */
const hostOf = (line: string): string => {
  const match = /^ocidist registry: serving (\S+) \(/.exec(line)
  if (match === null) throw new Error(`not an address line: ${line}`)
  return match[1]!
}

const stop = async (served: Served, signal: NodeJS.Signals = "SIGINT") => {
  served.child.kill(signal)
  return served.exited
}

describe.concurrent("registry serve", () => {
  it("--port 0: prints its address; push, pull, copy (mounted), tags with the CLI; Ctrl-C exits 0", async () => {
    const served = await serve(["--port", "0"])
    expect(served.line).toMatch(/^ocidist registry: serving 127\.0\.0\.1:\d+ \(memory\)$/)
    const host = hostOf(served.line)
    expect(host).not.toBe("127.0.0.1:0")

    const push = await ocidist(["push", `oci:${layout}:v1`, `${host}/app:v1`])
    expect(push.code).toBe(0)
    expect(push.stdout).toContain(`Digest: ${image.manifestDigest}`)

    const out = path.join(tmp(), "pulled")
    const pull = await ocidist(["pull", `${host}/app:v1`, out])
    expect(pull.code).toBe(0)
    expect(verifyLayoutBlobs(out)).toBe(image.layers.length + 2)
    expect(layoutIndex(out).manifests.map((m) => m.digest)).toEqual([image.manifestDigest])

    const copy = await ocidist(["copy", "--json", `${host}/app:v1`, `${host}/mirror/app:v1`])
    expect(copy.code).toBe(0)
    expect(JSON.parse(copy.stdout).stats).toMatchObject({ mounted: image.layers.length + 1, transferred: 0 })

    const tags = await ocidist(["tags", `${host}/mirror/app`])
    expect(tags.code).toBe(0)
    expect(tags.stdout).toBe("v1\n")
    expect((await ocidist(["catalog", host])).stdout).toBe("app\nmirror/app\n")

    const { code, signal } = await stop(served)
    expect({ code, signal }).toEqual({ code: 0, signal: null })
    expect(served.stderr()).toContain("ocidist registry: stopped")
    expect(served.stdout()).toBe(`${served.line}\n`)
  })

  it("a multi-platform index: pull one platform", async () => {
    const served = await serve(["--port", "0", "--memory"])
    const host = hostOf(served.line)
    expect((await ocidist(["push", `oci:${layout}:multi`, `${host}/multi:1`])).code).toBe(0)
    const wanted = index.images.find((i) => i._tag === "Image" && i.platform.architecture === "arm64")!
    const out = path.join(tmp(), "arm64")
    const pull = await ocidist(["pull", "--platform", "linux/arm64", `${host}/multi:1`, `oci:${out}:1`])
    expect(pull.code).toBe(0)
    expect(layoutIndex(out).manifests.map((m) => m.digest)).toEqual([wanted.manifestDigest])
    expect((await stop(served)).code).toBe(0)
  })

  it("--json prints {host, url, port, storage, auth}; --quiet the host alone; SIGTERM exits 0", async () => {
    const json = await serve(["--port", "0", "--json"])
    const info = JSON.parse(json.line) as { host: string; url: string; port: number; storage: string; auth: null }
    expect(info).toEqual({
      host: `127.0.0.1:${info.port}`,
      url: `http://127.0.0.1:${info.port}`,
      port: expect.any(Number),
      storage: "memory",
      auth: null
    })
    expect(info.port).toBeGreaterThan(0)
    const ping = await fetch(`${info.url}/v2/`)
    expect(ping.status).toBe(200)
    expect(json.stderr()).toBe("")
    expect((await stop(json, "SIGTERM")).code).toBe(0)

    const quiet = await serve(["--port", "0", "-q"])
    expect(quiet.line).toMatch(/^127\.0\.0\.1:\d+$/)
    expect((await ocidist(["tags", `${quiet.line}/nothing`])).code).toBe(3)
    expect((await stop(quiet)).code).toBe(0)
  })

  it("--dir keeps the content across a restart, one OCI layout per repository", async () => {
    const dir = path.join(tmp(), "data")
    const first = await serve(["--port", "0", "--dir", dir])
    expect(first.line).toBe(`ocidist registry: serving ${hostOf(first.line)} (directory ${dir})`)
    expect((await ocidist(["push", `oci:${layout}:v1`, `${hostOf(first.line)}/team/app:v1`])).code).toBe(0)
    expect((await stop(first)).code).toBe(0)
    expect(layoutIndex(path.join(dir, "team", "app")).manifests.map((m) => m.digest)).toContain(image.manifestDigest)

    const second = await serve(["--port", "0", "--dir", dir])
    const host = hostOf(second.line)
    expect((await ocidist(["tags", `${host}/team/app`])).stdout).toBe("v1\n")
    const digest = await ocidist(["digest", `${host}/team/app:v1`])
    expect(digest.stdout.trim()).toBe(image.manifestDigest)
    const out = path.join(tmp(), "pulled")
    expect((await ocidist(["pull", `${host}/team/app:v1`, out])).code).toBe(0)
    expect(verifyLayoutBlobs(out)).toBe(image.layers.length + 2)
    expect((await stop(second)).code).toBe(0)
  })

  it("--auth basic:USER:PASSWORD-FILE: anonymous pushes are refused (exit 4), the user's are accepted", async () => {
    const dir = tmp()
    const passwordFile = path.join(dir, "alice.password")
    fs.writeFileSync(passwordFile, "s3cret-pw\n")
    const served = await serve(["--port", "0", "--auth", `basic:alice:${passwordFile}`])
    expect(served.line).toMatch(/\(memory, basic auth\)$/)
    const host = hostOf(served.line)
    const env = { DOCKER_CONFIG: path.join(dir, "docker") }

    const anonymous = await ocidist(["push", `oci:${layout}:v1`, `${host}/app:v1`], { env })
    expect(anonymous.code).toBe(4)
    expect(anonymous.stderr.trim().split("\n").filter((l) => l.startsWith("ocidist:"))).toHaveLength(1)
    expect((await ocidist(["digest", `${host}/app:v1`], { env })).code).toBe(4)

    const wrong = await ocidist(["login", host, "-u", "alice", "--password-stdin"], { env, stdin: "wrong\n" })
    expect(wrong.code).toBe(4)
    const login = await ocidist(["login", host, "-u", "alice", "--password-stdin"], { env, stdin: "s3cret-pw\n" })
    expect(login.code).toBe(0)
    const push = await ocidist(["push", `oci:${layout}:v1`, `${host}/app:v1`], { env })
    expect(push.code).toBe(0)
    expect((await ocidist(["digest", `${host}/app:v1`], { env })).stdout.trim()).toBe(image.manifestDigest)
    expect((await stop(served)).code).toBe(0)
  })

  it("--auth with --anonymous-pull: anyone pulls, only users push; several --auth users", async () => {
    const dir = tmp()
    fs.writeFileSync(path.join(dir, "a"), "pw-a")
    fs.writeFileSync(path.join(dir, "b"), "pw-b\r\n")
    const served = await serve([
      "--port",
      "0",
      "--auth",
      `basic:alice:${path.join(dir, "a")}`,
      "--auth",
      `basic:bob:${path.join(dir, "b")}`,
      "--anonymous-pull"
    ])
    const host = hostOf(served.line)
    const bob = { DOCKER_CONFIG: path.join(dir, "bob") }
    expect((await ocidist(["login", host, "-u", "bob", "-p", "pw-b"], { env: bob })).code).toBe(0)
    expect((await ocidist(["push", `oci:${layout}:v1`, `${host}/app:v1`], { env: bob })).code).toBe(0)
    const anonymous = { DOCKER_CONFIG: path.join(dir, "anonymous") }
    expect((await ocidist(["digest", `${host}/app:v1`], { env: anonymous })).stdout.trim()).toBe(
      image.manifestDigest
    )
    expect((await ocidist(["tag", `${host}/app:v1`, "v2"], { env: anonymous })).code).toBe(4)
    expect((await stop(served)).code).toBe(0)
  })

  it("--auth token:USER:PASSWORD-FILE: bearer tokens from the registry's own endpoint", async () => {
    const dir = tmp()
    fs.writeFileSync(path.join(dir, "pw"), "token-pw\n")
    const served = await serve(["--port", "0", "--auth", `token:carol:${path.join(dir, "pw")}`])
    expect(served.line).toMatch(/\(memory, token auth\)$/)
    const host = hostOf(served.line)
    const env = { DOCKER_CONFIG: path.join(dir, "docker") }
    expect((await ocidist(["push", `oci:${layout}:v1`, `${host}/app:v1`], { env })).code).toBe(4)
    expect((await ocidist(["login", host, "-u", "carol", "--password-stdin"], { env, stdin: "token-pw\n" })).code)
      .toBe(0)
    expect((await ocidist(["push", `oci:${layout}:v1`, `${host}/app:v1`], { env })).code).toBe(0)
    const token = await ocidist(["auth", "token", `${host}/app`], { env })
    expect(token.code).toBe(0)
    expect(token.stdout.trim()).not.toBe("")
    expect((await stop(served)).code).toBe(0)
  })

  it("usage errors: exit 2 with one line", async () => {
    const cases: ReadonlyArray<[ReadonlyArray<string>, RegExp]> = [
      [["--port", "0", "--dir", tmp(), "--memory"], /^ocidist: --dir and --memory cannot be used together/],
      [["--port", "70000"], /^ocidist: --port must be 0-65535/],
      [["--port", "0", "--auth", "alice:secret"], /^ocidist: --auth takes basic:USER:PASSWORD-FILE/],
      [["--port", "0", "--anonymous-pull"], /^ocidist: --anonymous-pull needs --auth/]
    ]
    for (const [args, message] of cases) {
      const r = await ocidist(["registry", "serve", ...args])
      expect(r.code, args.join(" ")).toBe(2)
      expect(r.stderr).toMatch(message)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stdout).toBe("")
    }
  })

  it("an unreadable password file and a taken port: exit 1 with one line", async () => {
    const missing = await ocidist(["registry", "serve", "--port", "0", "--auth", "basic:alice:/nonexistent/pw"])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^ocidist: --auth basic:alice: cannot read the password file \(ENOENT\)/)
    expect(missing.stderr).not.toContain("/nonexistent/pw") // it may be a password typed in the wrong place

    const served = await serve(["--port", "0"])
    const port = hostOf(served.line).split(":")[1]!
    const taken = await ocidist(["registry", "serve", "--port", port])
    expect(taken.code).toBe(1)
    expect(taken.stderr.trim().split("\n")).toHaveLength(1)
    expect(taken.stderr).toContain(`ocidist: the registry cannot listen on 127.0.0.1:${port}`)
    expect(taken.stderr).toContain("EADDRINUSE")
    expect(taken.stderr).toContain("choose another --port (0: any free port)")
    const json = await ocidist(["registry", "serve", "--json", "--port", port])
    expect(JSON.parse(json.stderr)).toMatchObject({ event: "Error", error: "ListenFailed", exitCode: 1 })
    expect((await stop(served)).code).toBe(0)
  })

  it("--help shows the options and examples", async () => {
    const r = await ocidist(["registry", "serve", "--help"])
    expect(r.code).toBe(0)
    for (const text of ["--port", "--address", "--dir", "--memory", "--auth", "--anonymous-pull", "Examples:"]) {
      expect(r.stdout).toContain(text)
    }
    expect(r.stdout).toContain("ocidist registry serve --port 0")
  })
})

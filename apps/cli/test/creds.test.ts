// Per-command credentials (`copy --src-creds/--dest-creds`, `--dest-creds-stdin`) between two embedded registries
// with different users, and `login`: its password prompt on a terminal (no echo), its warnings for `-p` and for a
// password stored in plain text, and its usage error on a non-terminal stdin.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { feed } from "../src/internal/prompt.js"
import { binary, isolatedEnv, ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, Tools } from "./support.js"

let close: () => Promise<void>
let src: Registry.Running
let dst: Registry.Running
let digest: string

const A = { username: "alice", password: "pa-alice-secret" }
const B = { username: "bob", password: "pb-bob-secret" }

/** A docker config directory of its own (empty: no credentials). */
const dockerConfig = () => tempDir("ocidist-cli-creds-")

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const src = yield* NodeRegistry.start({ auth: { type: "basic", users: [A] } })
    const dst = yield* NodeRegistry.start({ auth: { type: "basic", users: [B] } })
    const dir = yield* Tools.tempDir("ocidist-cli-creds-")
    const image = yield* Fixtures.makeImage(dir, { seed: "ocidist/creds", layers: [{ size: 4 * 1024 }] })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
    return { src, dst, layout, image }
  }))
  close = acquired.close
  src = acquired.value.src
  dst = acquired.value.dst
  digest = acquired.value.image.manifestDigest
  const push = await ocidist(["push", "-q", `oci:${acquired.value.layout}:v1`, `${src.host}/app:1`], {
    env: { OCIDIST_USERNAME: A.username, OCIDIST_PASSWORD: A.password, OCIDIST_REGISTRY: src.host }
  })
  expect(push.stderr).toBe("")
  expect(push.code).toBe(0)
}, 120_000)

afterAll(() => close?.())

/** The digest of `ref` on the destination registry, read with bob's credentials from the environment. */
const digestOnDst = async (ref: string) => {
  const r = await ocidist(["digest", ref], {
    env: { OCIDIST_USERNAME: B.username, OCIDIST_PASSWORD: B.password, OCIDIST_REGISTRY: dst.host }
  })
  expect(r.stderr).toBe("")
  return r.stdout.trim()
}

describe.concurrent("copy --src-creds / --dest-creds", () => {
  it("each registry gets its own credentials, with nothing in docker's config", async () => {
    const r = await ocidist([
      "copy",
      "-q",
      "--src-creds",
      `${A.username}:${A.password}`,
      "--dest-creds",
      `${B.username}:${B.password}`,
      `${src.host}/app:1`,
      `${dst.host}/app:argv`
    ], { env: { DOCKER_CONFIG: dockerConfig() } })
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(digest)
    expect(await digestOnDst(`${dst.host}/app:argv`)).toBe(digest)
  })

  it("--dest-creds-stdin reads USER:PASS from stdin", async () => {
    const r = await ocidist([
      "copy",
      "-q",
      "--src-creds",
      `${A.username}:${A.password}`,
      "--dest-creds-stdin",
      `${src.host}/app:1`,
      `${dst.host}/app:stdin`
    ], { env: { DOCKER_CONFIG: dockerConfig() }, stdin: `${B.username}:${B.password}\n` })
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(await digestOnDst(`${dst.host}/app:stdin`)).toBe(digest)
  })

  it("the per-command credentials win over docker's config, for their host only", async () => {
    const dir = dockerConfig()
    const auth = (u: string, p: string) => ({ auth: Buffer.from(`${u}:${p}`).toString("base64") })
    // a wrong password for the destination in the config; the right one for the source
    fs.writeFileSync(
      path.join(dir, "config.json"),
      JSON.stringify({ auths: { [dst.host]: auth(B.username, "stale"), [src.host]: auth(A.username, A.password) } })
    )
    const r = await ocidist(
      ["copy", "-q", "--dest-creds", `${B.username}:${B.password}`, `${src.host}/app:1`, `${dst.host}/app:cfg`],
      { env: { DOCKER_CONFIG: dir } }
    )
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(await digestOnDst(`${dst.host}/app:cfg`)).toBe(digest)
  })

  it("wrong destination credentials: exit 4", async () => {
    const r = await ocidist([
      "copy",
      "--src-creds",
      `${A.username}:${A.password}`,
      "--dest-creds",
      `${B.username}:wrong`,
      `${src.host}/app:1`,
      `${dst.host}/app:wrong`
    ], { env: { DOCKER_CONFIG: dockerConfig() } })
    expect(r.code).toBe(4)
    expect(r.stderr).not.toContain("wrong")
  })

  it("usage errors: both sides on stdin, a missing password without a terminal, creds for a layout", async () => {
    const env = { DOCKER_CONFIG: dockerConfig() }
    const both = await ocidist(
      ["copy", "--src-creds-stdin", "--dest-creds-stdin", `${src.host}/app:1`, `${dst.host}/app:x`],
      { env, stdin: "a:b\n" }
    )
    expect(both.code).toBe(2)
    expect(both.stderr).toContain("only one of --src-creds-stdin and --dest-creds-stdin")
    const noPass = await ocidist(
      [
        "copy",
        "--src-creds",
        `${A.username}:${A.password}`,
        "--dest-creds",
        B.username,
        `${src.host}/app:1`,
        `${dst.host}/app:x`
      ],
      { env }
    )
    expect(noPass.code).toBe(2)
    expect(noPass.stderr).toContain("--dest-creds-stdin")
    const layout = await ocidist(
      ["copy", "--dest-creds", "u:p", `${src.host}/app:1`, `oci:${dockerConfig()}/out:x`],
      { env }
    )
    expect(layout.code).toBe(2)
    expect(layout.stderr).toContain("not in a registry")
  })
})

describe.concurrent("login", () => {
  it("-p warns that the password is visible, and that it is stored in plain text", async () => {
    const dir = dockerConfig()
    const r = await ocidist(["login", src.host, "-u", A.username, "-p", A.password], { env: { DOCKER_CONFIG: dir } })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("Login Succeeded\n")
    expect(r.stderr).toContain("a password on the command line can be seen by other users")
    expect(r.stderr).toContain("use --password-stdin")
    expect(r.stderr).toContain(`stored unencrypted in ${path.join(dir, "config.json")}`)
    expect(r.stderr).not.toContain(A.password)
  })

  it("--password-stdin with a credential helper: no warning", async () => {
    const dir = dockerConfig()
    const bin = dockerConfig()
    const helper = path.join(bin, "docker-credential-creds-test")
    fs.writeFileSync(helper, `#!/bin/sh\ncat > "${path.join(bin, "stored")}"\n`, { mode: 0o755 })
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ credsStore: "creds-test" }))
    const r = await ocidist(["login", src.host, "-u", A.username, "--password-stdin"], {
      env: { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env["PATH"]}` },
      stdin: `${A.password}\n`
    })
    expect(r.stderr).not.toContain("warning")
    expect(r.stderr).toContain("docker-credential-creds-test")
    expect(r.code).toBe(0)
    expect(JSON.parse(fs.readFileSync(path.join(bin, "stored"), "utf8"))).toMatchObject({ Secret: A.password })
  })

  it("without a password on a non-terminal stdin: a usage error naming --password-stdin", async () => {
    const r = await ocidist(["login", src.host, "-u", A.username], { env: { DOCKER_CONFIG: dockerConfig() } })
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain("--password-stdin")
  })

  it("on a terminal, asks for the password without echoing it", async () => {
    const dir = dockerConfig()
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`
    const command = [process.execPath, binary, "login", src.host, "-u", A.username].map(quote).join(" ")
    const child = spawn("script", ["-qfec", command, "/dev/null"], {
      env: isolatedEnv({ DOCKER_CONFIG: dir }),
      stdio: ["pipe", "pipe", "pipe"]
    })
    let output = ""
    let typed = false
    const onData = (d: Buffer) => {
      output += d.toString()
      if (!typed && output.includes("Password: ")) {
        typed = true
        child.stdin.write(`${A.password}\r`)
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject)
      child.on("close", resolve)
    })
    expect(output).toContain("Password: ")
    expect(output).toContain("Login Succeeded")
    expect(output).not.toContain(A.password)
    expect(code).toBe(0)
    const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"))
    expect(Buffer.from(config.auths[src.host].auth, "base64").toString()).toBe(`${A.username}:${A.password}`)
  })

  it("the prompt's input handling: Enter ends, Backspace and Ctrl-U edit, Ctrl-C and Ctrl-D stop", () => {
    const empty = { value: "", done: undefined }
    expect(feed(empty, "secret\r")).toEqual({ value: "secret", done: "enter" })
    expect(feed(feed(empty, "sec"), "ret\n")).toEqual({ value: "secret", done: "enter" })
    expect(feed(empty, "secx\u007fret\r")).toEqual({ value: "secret", done: "enter" })
    expect(feed(empty, "junk\u0015secret\r")).toEqual({ value: "secret", done: "enter" })
    expect(feed(empty, "abc\u0003")).toEqual({ value: "", done: "interrupt" })
    expect(feed(empty, "\u0004")).toEqual({ value: "", done: "eof" })
    expect(feed(empty, "ab\u0004c")).toEqual({ value: "abc", done: undefined })
  })
})

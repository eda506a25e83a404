// login, logout, auth token and authentication failures (exit code 4) against docker-registry in basic
// (htpasswd) and token (in-process token server) modes.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, DockerRegistry, Fixtures, Tools } from "./support.js"

let close: () => Promise<void>
let basic: DockerRegistry.Instance
let token: DockerRegistry.Instance
let anon: DockerRegistry.Instance
let image: Fixtures.Image

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const basic = yield* DockerRegistry.start({ mode: "basic" })
    const token = yield* DockerRegistry.start({ mode: "token" })
    const anon = yield* DockerRegistry.start({ mode: "anon" })
    const image = yield* Fixtures.smallImage(yield* Tools.tempDir("ocidist-cli-auth-"))
    yield* Fixtures.pushRaw(basic, "app", image, { tags: ["1"] })
    yield* Fixtures.pushRaw(token, "private/app", image, { tags: ["1"] })
    yield* Fixtures.pushRaw(token, "public/app", image, { tags: ["1"] })
    return { basic, token, anon, image }
  }))
  close = acquired.close
  basic = acquired.value.basic
  token = acquired.value.token
  anon = acquired.value.anon
  image = acquired.value.image
}, 300_000)

afterAll(() => close?.())

/** A docker config directory of its own. */
const dockerConfig = () => tempDir("ocidist-cli-docker-")
const env = (dir: string) => ({ DOCKER_CONFIG: dir })
const writer = () => basic.users.find((u) => u.readOnly !== true)!

describe.concurrent("basic auth", () => {
  it("without credentials: exit 4 and a hint to log in", async () => {
    const r = await ocidist(["digest", `${basic.host}/app:1`], { env: env(dockerConfig()) })
    expect(r.code).toBe(4)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain(`ocidist login ${basic.host}`)
  })

  it("login --password-stdin stores the credentials; commands then work; logout removes them", async () => {
    const dir = dockerConfig()
    const user = writer()
    const login = await ocidist(["login", basic.host, "-u", user.username, "--password-stdin"], {
      env: env(dir),
      stdin: `${user.password}\n`
    })
    expect(login.code).toBe(0)
    expect(login.stdout).toBe("Login Succeeded\n")
    const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"))
    expect(Buffer.from(config.auths[basic.host].auth, "base64").toString()).toBe(`${user.username}:${user.password}`)
    const digest = await ocidist(["digest", `${basic.host}/app:1`], { env: env(dir) })
    expect(digest.code).toBe(0)
    expect(digest.stdout.trim()).toBe(image.manifestDigest)
    const logout = await ocidist(["logout", "--json", basic.host], { env: env(dir) })
    expect(logout.code).toBe(0)
    expect(JSON.parse(logout.stdout)).toMatchObject({ registry: basic.host, removed: true })
    expect((await ocidist(["digest", `${basic.host}/app:1`], { env: env(dir) })).code).toBe(4)
  })

  it("logout when not logged in", async () => {
    const r = await ocidist(["logout", basic.host], { env: env(dockerConfig()) })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`Not logged in to ${basic.host}\n`)
  })

  it("login --json", async () => {
    const dir = dockerConfig()
    const user = writer()
    const r = await ocidist(["login", "--json", basic.host, "-u", user.username, "-p", user.password], {
      env: env(dir)
    })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({
      registry: basic.host,
      username: user.username,
      configPath: path.join(dir, "config.json"),
      key: basic.host,
      helper: null
    })
  })

  it("a wrong password exits 4 and stores nothing", async () => {
    const dir = dockerConfig()
    const r = await ocidist(["login", basic.host, "-u", writer().username, "--password-stdin"], {
      env: env(dir),
      stdin: "wrong\n"
    })
    expect(r.code).toBe(4)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(fs.existsSync(path.join(dir, "config.json"))).toBe(false)
  })

  it("login usage errors exit 2", async () => {
    const dir = dockerConfig()
    expect((await ocidist(["login", basic.host, "--password-stdin"], { env: env(dir), stdin: "x" })).code).toBe(2)
    expect((await ocidist(["login", basic.host, "-u", "someone"], { env: env(dir) })).code).toBe(2)
  })

  it("credentials from OCIDIST_USERNAME / OCIDIST_PASSWORD / OCIDIST_REGISTRY", async () => {
    const user = writer()
    const HOST = basic.host
    const r = await ocidist(["digest", `${basic.host}/app:1`], {
      env: {
        ...env(dockerConfig()),
        OCIDIST_USERNAME: user.username,
        OCIDIST_PASSWORD: user.password,
        OCIDIST_REGISTRY: HOST
      }
    })
    expect(r.code).toBe(0)
  })

  it("credentials from a docker credential helper (credHelpers) run as a child process", async () => {
    const user = writer()
    const dir = dockerConfig()
    const bin = tempDir("ocidist-cli-helper-")
    const helper = path.join(bin, "docker-credential-ocidisttest")
    fs.writeFileSync(
      helper,
      `#!/bin/sh\nread server\necho "$1 $server" >> "${path.join(bin, "calls")}"\n` +
        `printf '{"ServerURL":"%s","Username":"${user.username}","Secret":"${user.password}"}' "$server"\n`,
      { mode: 0o755 }
    )
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ credHelpers: { [basic.host]: "ocidisttest" } }))
    const r = await ocidist(["digest", `${basic.host}/app:1`], {
      env: { ...env(dir), PATH: `${bin}:${process.env.PATH ?? ""}` }
    })
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(image.manifestDigest)
    expect(fs.readFileSync(path.join(bin, "calls"), "utf8").trim()).toBe(`get ${basic.host}`)
  })

  it("OCIDIST_USERNAME without OCIDIST_REGISTRY: one warning line on stderr, credentials not sent", async () => {
    const user = writer()
    const r = await ocidist(["digest", `${basic.host}/app:1`], {
      env: { ...env(dockerConfig()), OCIDIST_USERNAME: user.username, OCIDIST_PASSWORD: user.password }
    })
    expect(r.code).toBe(4)
    expect(r.stdout).toBe("")
    const warnings = r.stderr.split("\n").filter((l) => l.includes("OCIDIST_REGISTRY"))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^ocidist: warn: OCIDIST_USERNAME\/OCIDIST_PASSWORD/)
    expect(r.stderr).not.toContain(user.password)
  })

  it("--verbose logs the requests with the credentials redacted", async () => {
    const user = writer()
    const r = await ocidist(["digest", "-v", `${basic.host}/app:1`], {
      env: {
        ...env(dockerConfig()),
        OCIDIST_USERNAME: user.username,
        OCIDIST_PASSWORD: user.password,
        OCIDIST_REGISTRY: basic.host
      }
    })
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/< 401 HEAD/)
    expect(r.stderr).toMatch(/> authorization: <redacted>/i)
    expect(r.stderr).not.toContain(user.password)
    expect(r.stderr).not.toContain(Buffer.from(`${user.username}:${user.password}`).toString("base64"))
  })

  it("auth token on a Basic registry exits 4 (there is no token)", async () => {
    const user = writer()
    const HOST = basic.host
    const r = await ocidist(["auth", "token", `${basic.host}/app`], {
      env: {
        ...env(dockerConfig()),
        OCIDIST_USERNAME: user.username,
        OCIDIST_PASSWORD: user.password,
        OCIDIST_REGISTRY: HOST
      }
    })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain("Basic")
  })
})

describe.concurrent("token auth", () => {
  const tokenWriter = () => token.users.find((u) => u.readOnly !== true)!
  const reader = () => token.users.find((u) => u.readOnly === true)!

  it("anonymous pull of a public repository works; of a private one exits 4", async () => {
    const dir = dockerConfig()
    expect((await ocidist(["digest", `${token.host}/public/app:1`], { env: env(dir) })).code).toBe(0)
    const r = await ocidist(["digest", `${token.host}/private/app:1`], { env: env(dir) })
    expect(r.code).toBe(4)
  })

  it("auth token prints a bearer token that the registry accepts", async () => {
    const dir = dockerConfig()
    const user = tokenWriter()
    const login = await ocidist(["login", token.host, "-u", user.username, "--password-stdin"], {
      env: env(dir),
      stdin: user.password
    })
    expect(login.code).toBe(0)
    const r = await ocidist(["auth", "token", `${token.host}/private/app`], { env: env(dir) })
    expect(r.code).toBe(0)
    const value = r.stdout.trim()
    expect(value.split(".")).toHaveLength(3)
    const response = await Effect.runPromise(
      Tools.request(`${token.url}/v2/private/app/tags/list`, { headers: { authorization: `Bearer ${value}` } })
    )
    expect(response.status).toBe(200)
    const j = await ocidist(["auth", "token", "--json", "--push", `${token.host}/private/app`], { env: env(dir) })
    expect(j.code).toBe(0)
    expect(JSON.parse(j.stdout)).toMatchObject({
      registry: token.host,
      repository: "private/app",
      scopes: ["repository:private/app:pull,push"]
    })
  })

  it("a read-only user cannot push: exit 4", async () => {
    const user = reader()
    const HOST = token.host
    const r = await ocidist(["tag", `${token.host}/private/app:1`, "ro"], {
      env: {
        ...env(dockerConfig()),
        OCIDIST_USERNAME: user.username,
        OCIDIST_PASSWORD: user.password,
        OCIDIST_REGISTRY: HOST
      }
    })
    expect(r.code).toBe(4)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
  })

  it("auth token on a registry without authentication exits 1", async () => {
    const r = await ocidist(["auth", "token", `${anon.host}/app`], { env: env(dockerConfig()) })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("does not ask for authentication")
  })
})

// The scheme of a registry: a loopback registry is tried over HTTPS first and over plain HTTP when it speaks
// that (as crane and regctl do); --tls / OCIDIST_TLS force HTTPS, --plain-http forces plain HTTP; a plain-HTTP
// request to a TLS port is told to add --tls. And an anonymous 401 suggests `ocidist login`.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, DockerRegistry, Fixtures, Tools } from "./support.js"

let close: () => Promise<void>
let tls: DockerRegistry.Instance
let plain: Registry.Running
let token: Registry.Running
let scoped: DockerRegistry.Instance
let basicTls: DockerRegistry.Instance
let tokenTls: DockerRegistry.Instance
let badHead: Registry.Running
let layout: string

const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("ocidist: "))
/** The error lines without warnings (`ocidist: warn: …`, as login's about a password stored in plain text). */
const failures = (stderr: string) => errorLines(stderr).filter((l) => !l.startsWith("ocidist: warn: "))

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const tls = yield* DockerRegistry.start({ tls: true })
    const plain = yield* NodeRegistry.start()
    const token = yield* NodeRegistry.start({ auth: { type: "token", users: [{ username: "u", password: "p" }] } })
    // anonymous tokens that grant nothing: the registry answers insufficient_scope
    const scoped = yield* DockerRegistry.start({ mode: "token", anonymousPullPrefix: "" })
    // TLS with Basic auth, and TLS with a token server (itself on HTTPS)
    const basicTls = yield* DockerRegistry.start({ mode: "basic", tls: true })
    const tokenTls = yield* DockerRegistry.start({ mode: "token", tls: true })
    // a plain-HTTP registry whose manifest HEADs answer a genuine 400
    const badHead = yield* NodeRegistry.start({
      faults: { errors: { status: 400, match: "manifests", methods: ["HEAD"] } }
    })
    const dir = yield* Tools.tempDir("ocidist-cli-tls-")
    const image = yield* Fixtures.makeImage(dir, { seed: "ocidist/tls", layers: [{ size: 1024 }] })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
    return { tls, plain, token, scoped, basicTls, tokenTls, badHead, layout }
  }))
  close = acquired.close
  tls = acquired.value.tls
  plain = acquired.value.plain
  token = acquired.value.token
  scoped = acquired.value.scoped
  basicTls = acquired.value.basicTls
  tokenTls = acquired.value.tokenTls
  badHead = acquired.value.badHead
  layout = acquired.value.layout
  // the TLS registry holds small:v1, pushed by the CLI over HTTPS
  const push = await ocidist(["--insecure", "push", "-q", `oci:${layout}:v1`, `${tls.host}/small:v1`])
  expect(push.stderr).toBe("")
  expect(push.code).toBe(0)
}, 120_000)

afterAll(() => close?.())

describe.concurrent("loopback registries", () => {
  it("a TLS registry on 127.0.0.1 is reached over HTTPS, with --insecure for its self-signed certificate", async () => {
    const r = await ocidist(["--insecure", "tags", `${tls.host}/small`])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("v1\n")
    // the certificate is verified otherwise (no fall back to plain HTTP)
    const strict = await ocidist(["tags", `${tls.host}/small`])
    expect(strict.code).not.toBe(0)
    expect(errorLines(strict.stderr)).toEqual([expect.stringMatching(/https:\/\/.*add --insecure$/)])
  })

  it("a plain-HTTP registry on 127.0.0.1 still works without flags", async () => {
    const push = await ocidist(["push", "-q", `oci:${layout}:v1`, `${plain.host}/plain:v1`])
    expect(push.stderr).toBe("")
    expect(push.code).toBe(0)
    const r = await ocidist(["tags", `${plain.host}/plain`])
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe("v1\n")
  })

  it("--tls forces HTTPS (no fall back), --plain-http forces plain HTTP and is told to add --tls on a TLS port", async () => {
    const forced = await ocidist(["--tls", "--insecure", "tags", `${tls.host}/small`])
    expect(forced.stderr).toBe("")
    expect(forced.stdout).toBe("v1\n")
    const noFallback = await ocidist(["--tls", "tags", `${plain.host}/plain`])
    expect(noFallback.code).toBe(1)
    expect(errorLines(noFallback.stderr)).toEqual([expect.stringMatching(/https:\/\/.*add --plain-http$/)])
    const plainOnTls = await ocidist(["--plain-http", "tags", `${tls.host}/small`])
    expect(plainOnTls.code).not.toBe(0)
    expect(errorLines(plainOnTls.stderr)).toEqual([expect.stringMatching(/the registry may speak HTTPS: add --tls$/)])
  })

  it("OCIDIST_TLS names registries spoken to over HTTPS, winning over --plain-http", async () => {
    const r = await ocidist(["--plain-http", "--insecure", "tags", `${tls.host}/small`], {
      env: { OCIDIST_TLS: `${tls.host}` }
    })
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe("v1\n")
  })

  it("--tls with --plain-http, or a registry in OCIDIST_TLS and OCIDIST_PLAIN_HTTP, is a usage error", async () => {
    const both = await ocidist(["--tls", "--plain-http", "tags", `${tls.host}/small`])
    expect(both.code).toBe(2)
    expect(errorLines(both.stderr)).toEqual([expect.stringMatching(/--tls and --plain-http/)])
    const env = await ocidist(["tags", `${tls.host}/small`], {
      env: { OCIDIST_TLS: tls.host, OCIDIST_PLAIN_HTTP: tls.host }
    })
    expect(env.code).toBe(2)
    expect(errorLines(env.stderr)).toEqual([expect.stringMatching(/OCIDIST_TLS and OCIDIST_PLAIN_HTTP/)])
  })
})

describe("anonymous access to a registry that needs credentials", () => {
  it("suggests `ocidist login <registry>`", async () => {
    const r = await ocidist(["tags", `${token.host}/x`])
    expect(r.code).toBe(4)
    const lines = errorLines(r.stderr)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(`ocidist login ${token.host}`)
    expect(lines[0]).not.toMatch(/credentials do not grant/)
  })

  it("suggests `ocidist login <registry>` when an anonymous token does not grant the operation", async () => {
    const r = await ocidist(["tags", `${scoped.host}/x`])
    expect(r.code).toBe(4)
    const lines = errorLines(r.stderr)
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`no credentials were used: .*ocidist login ${scoped.host}`))
    ])
  })
})

describe.concurrent("a plain-HTTP HEAD that meets a TLS port", () => {
  it("is told to add --tls (digest HEADs the manifest: its 400 has no body)", async () => {
    const r = await ocidist(["--plain-http", "digest", `${tls.host}/small:v1`])
    expect(r.code).toBe(1)
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^ocidist: .*HEAD http:\/\/.*HTTP request to an HTTPS server.*the registry may speak HTTPS: add --tls$/
      )
    ])
  })

  it("a plain-HTTP registry's own 400 to a HEAD gets no such hint", async () => {
    const r = await ocidist(["digest", `${badHead.host}/small:v1`])
    expect(r.code).not.toBe(0)
    const lines = errorLines(r.stderr)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/400/)
    expect(lines[0]).not.toMatch(/--tls|HTTPS/)
  })
})

describe.concurrent("login and auth token against a TLS registry on 127.0.0.1", () => {
  const dockerConfig = () => tempDir("ocidist-cli-tls-docker-")
  const writer = (registry: DockerRegistry.Instance) => registry.users.find((u) => u.readOnly !== true)!

  it("login reaches it over HTTPS (no flag but --insecure for its certificate); commands then use the credentials", async () => {
    const dir = dockerConfig()
    const user = writer(basicTls)
    const login = await ocidist(["--insecure", "login", basicTls.host, "-u", user.username, "--password-stdin"], {
      env: { DOCKER_CONFIG: dir },
      stdin: user.password
    })
    expect(failures(login.stderr)).toEqual([])
    expect(login.code).toBe(0)
    expect(login.stdout).toBe("Login Succeeded\n")
    const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"))
    expect(Buffer.from(config.auths[basicTls.host].auth, "base64").toString()).toBe(`${user.username}:${user.password}`)
    const push = await ocidist(["--insecure", "push", "-q", `oci:${layout}:v1`, `${basicTls.host}/app:v1`], {
      env: { DOCKER_CONFIG: dir }
    })
    expect(push.stderr).toBe("")
    expect(push.code).toBe(0)
    // wrong credentials are rejected by the registry itself (over HTTPS), exit 4
    const wrong = await ocidist(["--insecure", "login", basicTls.host, "-u", user.username, "--password-stdin"], {
      env: { DOCKER_CONFIG: dockerConfig() },
      stdin: "not-the-password"
    })
    expect(wrong.code).toBe(4)
    // the certificate is verified without --insecure (no fall back to plain HTTP)
    const strict = await ocidist(["login", basicTls.host, "-u", user.username, "--password-stdin"], {
      env: { DOCKER_CONFIG: dockerConfig() },
      stdin: user.password
    })
    expect(strict.code).toBe(1)
    expect(errorLines(strict.stderr)).toEqual([expect.stringMatching(/https:\/\/.*add --insecure$/)])
  })

  it("login follows --plain-http, and is then told to add --tls", async () => {
    const user = writer(basicTls)
    const r = await ocidist(["--plain-http", "login", basicTls.host, "-u", user.username, "--password-stdin"], {
      env: { DOCKER_CONFIG: dockerConfig() },
      stdin: user.password
    })
    expect(r.code).toBe(1)
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/http:\/\/.*the registry may speak HTTPS: add --tls$/)])
  })

  it("auth token gets a token from the registry's HTTPS token server", async () => {
    const dir = dockerConfig()
    const user = writer(tokenTls)
    const login = await ocidist(["--insecure", "login", tokenTls.host, "-u", user.username, "--password-stdin"], {
      env: { DOCKER_CONFIG: dir },
      stdin: user.password
    })
    expect(failures(login.stderr)).toEqual([])
    expect(login.code).toBe(0)
    const r = await ocidist(["--insecure", "auth", "token", "--push", `${tokenTls.host}/private/app`], {
      env: { DOCKER_CONFIG: dir }
    })
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const value = r.stdout.trim()
    expect(value.split(".")).toHaveLength(3)
    const response = await Effect.runPromise(
      Tools.request(`${tokenTls.url}/v2/private/app/tags/list`, {
        headers: { authorization: `Bearer ${value}` },
        ca: tokenTls.caCert!
      })
    )
    // the token is accepted (the repository does not exist yet)
    expect(response.status).not.toBe(401)
  })

  it("login and auth token to a plain-HTTP registry on 127.0.0.1 still work without flags (its realm is http://)", async () => {
    const dir = dockerConfig()
    const r = await ocidist(["login", token.host, "-u", "u", "--password-stdin"], {
      env: { DOCKER_CONFIG: dir },
      stdin: "p"
    })
    expect(failures(r.stderr)).toEqual([])
    expect(r.code).toBe(0)
    const t = await ocidist(["auth", "token", `${token.host}/x`], { env: { DOCKER_CONFIG: dir } })
    expect(t.stderr).toBe("")
    expect(t.code).toBe(0)
    expect(t.stdout.trim()).not.toBe("")
  })
})

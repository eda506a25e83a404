// The scheme of a registry: a loopback registry is tried over HTTPS first and over plain HTTP when it speaks
// that (as crane and regctl do); --tls / OCIDIST_TLS force HTTPS, --plain-http forces plain HTTP; a plain-HTTP
// request to a TLS port is told to add --tls. And an anonymous 401 suggests `ocidist login`.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { ocidist } from "./cli.js"
import { acquire, DockerRegistry, Fixtures, Tools } from "./support.js"

let close: () => Promise<void>
let tls: DockerRegistry.Instance
let plain: Registry.Running
let token: Registry.Running
let scoped: DockerRegistry.Instance
let layout: string

const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("ocidist: "))

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const tls = yield* DockerRegistry.start({ tls: true })
    const plain = yield* NodeRegistry.start()
    const token = yield* NodeRegistry.start({ auth: { type: "token", users: [{ username: "u", password: "p" }] } })
    // anonymous tokens that grant nothing: the registry answers insufficient_scope
    const scoped = yield* DockerRegistry.start({ mode: "token", anonymousPullPrefix: "" })
    const dir = yield* Tools.tempDir("ocidist-cli-tls-")
    const image = yield* Fixtures.makeImage(dir, { seed: "ocidist/tls", layers: [{ size: 1024 }] })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
    return { tls, plain, token, scoped, layout }
  }))
  close = acquired.close
  tls = acquired.value.tls
  plain = acquired.value.plain
  token = acquired.value.token
  scoped = acquired.value.scoped
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

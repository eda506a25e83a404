// The configuration file (`$XDG_CONFIG_HOME/ocidist/config.json`, or the one OCIDIST_CONFIG names): its
// `registries` section says per registry whether it speaks TLS (`enabled`), plain HTTP (`disabled`) or TLS
// without certificate verification (`insecure`); the environment's per-registry settings win over it, it wins
// over the global flags. A broken file is a usage error naming it and the key. And --platform on a command
// that reads no manifest is a usage error, before any request.
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
let layout: string
let dir: string

const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("ocidist: "))

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const tls = yield* DockerRegistry.start({ tls: true })
    const plain = yield* NodeRegistry.start()
    const dir = yield* Tools.tempDir("ocidist-cli-config-")
    const image = yield* Fixtures.makeImage(dir, { seed: "ocidist/config", layers: [{ size: 512 }] })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
    return { tls, plain, layout, dir }
  }))
  close = acquired.close
  tls = acquired.value.tls
  plain = acquired.value.plain
  layout = acquired.value.layout
  dir = acquired.value.dir
  for (const [flags, target] of [[["--insecure"], tls.host], [[], plain.host]] as const) {
    const push = await ocidist([...flags, "push", "-q", `oci:${layout}:v1`, `${target}/small:v1`])
    expect(push.stderr).toBe("")
    expect(push.code).toBe(0)
  }
}, 120_000)

afterAll(() => close?.())

let files = 0
/** A configuration file of its own; the environment that names it (OCIDIST_CONFIG). */
const config = (content: unknown): Record<string, string> => {
  const file = path.join(dir, `config-${files++}.json`)
  fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content))
  return { OCIDIST_CONFIG: file }
}

describe.concurrent("the registries section of the configuration file", () => {
  it("\"insecure\": a TLS registry on 127.0.0.1 over HTTPS without certificate verification, no flags", async () => {
    const r = await ocidist(["tags", `${tls.host}/small`], {
      env: config({ registries: { [tls.host]: { tls: "insecure" } } })
    })
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("v1\n")
  })

  it("is read from $XDG_CONFIG_HOME/ocidist/config.json", async () => {
    const xdg = tempDir("ocidist-cli-xdg-")
    fs.mkdirSync(path.join(xdg, "ocidist"))
    fs.writeFileSync(
      path.join(xdg, "ocidist", "config.json"),
      JSON.stringify({ registries: { [tls.host]: { tls: "insecure" } } })
    )
    const r = await ocidist(["digest", `${tls.host}/small:v1`], { env: { XDG_CONFIG_HOME: xdg } })
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/)
    fs.rmSync(xdg, { recursive: true, force: true })
  })

  it("\"enabled\": HTTPS with the certificate verified (--insecure still skips that), no fall back to plain HTTP", async () => {
    const strict = await ocidist(["tags", `${tls.host}/small`], {
      env: config({ registries: { [tls.host]: { tls: "enabled" } } })
    })
    expect(strict.code).toBe(1)
    expect(errorLines(strict.stderr)).toEqual([expect.stringMatching(/https:\/\/.*add --insecure$/)])
    const insecure = await ocidist(["--insecure", "tags", `${tls.host}/small`], {
      env: config({ registries: { [tls.host]: { tls: "enabled" } } })
    })
    expect(insecure.stderr).toBe("")
    expect(insecure.stdout).toBe("v1\n")
    const plainHost = await ocidist(["tags", `${plain.host}/small`], {
      env: config({ registries: { [plain.host]: { tls: "enabled" } } })
    })
    expect(plainHost.code).toBe(1)
    expect(errorLines(plainHost.stderr)).toEqual([expect.stringMatching(/https:\/\/.*add --plain-http$/)])
  })

  it("\"disabled\": plain HTTP (a TLS port is then told to add --tls)", async () => {
    const r = await ocidist(["tags", `${plain.host}/small`], {
      env: config({ registries: { [plain.host]: { tls: "disabled" } } })
    })
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe("v1\n")
    const onTls = await ocidist(["tags", `${tls.host}/small`], {
      env: config({ registries: { [tls.host]: { tls: "disabled" } } })
    })
    expect(onTls.code).toBe(1)
    expect(errorLines(onTls.stderr)).toEqual([expect.stringMatching(/the registry may speak HTTPS: add --tls$/)])
  })

  it("a registry's entry wins over --plain-http / --tls; OCIDIST_TLS and OCIDIST_PLAIN_HTTP win over the file", async () => {
    const overFlag = await ocidist(["--plain-http", "tags", `${tls.host}/small`], {
      env: config({ registries: { [tls.host]: { tls: "insecure" } } })
    })
    expect(overFlag.stderr).toBe("")
    expect(overFlag.stdout).toBe("v1\n")
    const overTls = await ocidist(["--tls", "tags", `${plain.host}/small`], {
      env: config({ registries: { [plain.host]: { tls: "disabled" } } })
    })
    expect(overTls.stderr).toBe("")
    expect(overTls.stdout).toBe("v1\n")
    const env = await ocidist(["--insecure", "tags", `${tls.host}/small`], {
      env: { ...config({ registries: { [tls.host]: { tls: "disabled" } } }), OCIDIST_TLS: tls.host }
    })
    expect(env.stderr).toBe("")
    expect(env.stdout).toBe("v1\n")
    const envPlain = await ocidist(["tags", `${plain.host}/small`], {
      env: { ...config({ registries: { [plain.host]: { tls: "enabled" } } }), OCIDIST_PLAIN_HTTP: plain.host }
    })
    expect(envPlain.stderr).toBe("")
    expect(envPlain.stdout).toBe("v1\n")
  })

  it("a file without an entry for a registry leaves it as without a file (loopback: HTTPS first, then plain HTTP)", async () => {
    const r = await ocidist(["tags", `${plain.host}/small`], {
      env: config({ registries: { "registry.example.com": { tls: "enabled" } } })
    })
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe("v1\n")
  })
})

describe.concurrent("a configuration file that cannot be used", () => {
  const usage = async (env: Record<string, string>, pattern: RegExp) => {
    const r = await ocidist(["tags", `${plain.host}/small`], { env })
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(pattern)])
  }

  it("an unknown value is a usage error naming the file and the key", async () => {
    const env = config({ registries: { [plain.host]: { tls: "yes" } } })
    await usage(
      env,
      new RegExp(
        `^ocidist: invalid configuration file ${env.OCIDIST_CONFIG}: registries\\["${plain.host}"\\]\\.tls: ` +
          `expected "enabled", "disabled" or "insecure", got "yes"$`
      )
    )
  })

  it("an unknown key, a file that is not JSON or of the wrong shape: usage errors naming the file", async () => {
    const typo = config({ registries: { [plain.host]: { tsl: "enabled" } } })
    await usage(
      typo,
      new RegExp(`${typo.OCIDIST_CONFIG}: unknown key registries\\["${plain.host}"\\]\\.tsl \\(known: tls\\)$`)
    )
    const section = config({ registry: {} })
    await usage(section, new RegExp(`${section.OCIDIST_CONFIG}: unknown key registry \\(known: registries\\)$`))
    const notJson = config("{ registries: ")
    await usage(notJson, new RegExp(`^ocidist: invalid configuration file ${notJson.OCIDIST_CONFIG}: not JSON`))
    const shape = config({ registries: [] })
    await usage(shape, new RegExp(`${shape.OCIDIST_CONFIG}: registries: expected an object of registries$`))
  })

  it("OCIDIST_CONFIG naming a missing file is a usage error; a missing default file is no configuration", async () => {
    const missing = path.join(dir, "missing.json")
    await usage({ OCIDIST_CONFIG: missing }, new RegExp(`OCIDIST_CONFIG names ${missing}, which does not exist$`))
    const r = await ocidist(["tags", `${plain.host}/small`], {
      env: { XDG_CONFIG_HOME: path.join(dir, "no-such-dir") }
    })
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe("v1\n")
  })

  it("is not read by commands that talk to no registry", async () => {
    const env = config("not json")
    const r = await ocidist(["ref", "alpine"], { env })
    expect(r.code).toBe(0)
  })
})

describe.concurrent("--platform on a command that reads no manifest", () => {
  // 127.0.0.1:1 refuses connections: a request would fail with exit 1, not 2
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ["tags", ["tags", "127.0.0.1:1/x"]],
    ["login", ["login", "127.0.0.1:1", "-u", "me", "--password-stdin"]],
    ["delete", ["delete", "127.0.0.1:1/x:1"]],
    ["manifest put", ["manifest", "put", "127.0.0.1:1/x:1", "-"]],
    ["registry serve", ["registry", "serve", "--port", "0"]],
    ["cache dir", ["cache", "dir"]]
  ]
  for (const [name, args] of cases) {
    it(`${name}: exit 2, one line, before any request`, async () => {
      const r = await ocidist(["--platform", "linux/amd64", ...args], { stdin: "secret" })
      expect(r.code).toBe(2)
      expect(r.stdout).toBe("")
      expect(r.stderr).toBe(`ocidist: --platform does not apply to ${name}\n`)
    })
  }

  it("after the command too; and the commands that read a manifest take it", async () => {
    const r = await ocidist(["tags", "127.0.0.1:1/x", "--platform=linux/amd64"])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe("ocidist: --platform does not apply to tags\n")
    const json = await ocidist(["--json", "catalog", "127.0.0.1:1", "--platform", "linux/amd64"])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stderr)).toMatchObject({ error: "UsageError", exitCode: 2 })
    const digest = await ocidist(["--platform", "linux/amd64", "digest", `oci:${layout}:v1`])
    expect(digest.stderr).toBe("")
    expect(digest.code).toBe(0)
  })
})

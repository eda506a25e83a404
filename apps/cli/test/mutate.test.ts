// `ocidist mutate` and `ocidist append` through the bundled binary, against the embedded registry, an OCI layout
// and an oci-archive; skopeo and umoci read what they write.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, sha256, Tar, Tools } from "./support.js"

let close: () => Promise<void>
let host: string
let image: Fixtures.Image
let index: Fixtures.Index
let layout: string

const tmp = () => tempDir("ocidist-cli-mutate-")

const skopeo = async (args: ReadonlyArray<string>) => {
  const r = await Effect.runPromise(Tools.skopeo(args))
  expect(r.exitCode, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as Record<string, unknown>
}

/** The blob uploads a `-v` run started (each with a POST to blobs/uploads/; mounts are not counted). */
const uploads = (stderr: string) =>
  stderr.split("\n").filter((l) => /^> POST \S+\/blobs\/uploads\//.test(l) && !l.includes("mount=")).length

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* NodeRegistry.start()
    const dir = yield* Tools.tempDir("ocidist-cli-mutate-")
    const image = yield* Fixtures.smallImage(dir)
    const index = yield* Fixtures.multiPlatformIndex(dir)
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }, { root: index, tag: "multi" }])
    return { host: registry.host, image, index, layout }
  }))
  close = acquired.close
  ;({ host, image, index, layout } = acquired.value)
  for (const [tag, target] of [["v1", "app:1"], ["multi", "multi:1"]] as const) {
    const r = await ocidist(["push", "-q", `oci:${layout}:${tag}`, `${host}/${target}`])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
  }
}, 120_000)

afterAll(() => close?.())

describe("ocidist mutate", () => {
  it("in the same repository: only the config is uploaded, the tag moves, skopeo sees the labels and env", async () => {
    const r = await ocidist([
      "-v",
      "mutate",
      `${host}/app:1`,
      "--label",
      "org.example.team=platform",
      "--env",
      "MODE=prod",
      "--entrypoint",
      "/bin/app,--serve",
      "-t",
      `${host}/app:mutated`
    ])
    expect(r.code, r.stderr).toBe(0)
    const digest = r.stdout.trim()
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(uploads(r.stderr)).toBe(1)
    const inspected = await skopeo(["inspect", "--tls-verify=false", `docker://${host}/app:mutated`]) as {
      Digest: string
      Labels: Record<string, string>
      Env: Array<string>
      Layers: Array<string>
    }
    expect(inspected.Digest).toBe(digest)
    expect(inspected.Labels).toEqual({ "org.example.seed": "ocidist/small", "org.example.team": "platform" })
    expect(inspected.Env).toContain("MODE=prod")
    expect(inspected.Layers).toEqual(image.layers.map((l) => l.digest))
    const config = await skopeo(["inspect", "--config", "--raw", "--tls-verify=false", `docker://${host}/app:mutated`])
    expect((config.config as Record<string, unknown>).Entrypoint).toEqual(["/bin/app", "--serve"])
    // the source is untouched
    const source = await skopeo(["inspect", "--tls-verify=false", `docker://${host}/app:1`]) as { Digest: string }
    expect(source.Digest).toBe(image.manifestDigest)
  })

  it("--json into another repository: layers mounted; --platform on an index replaces one entry", async () => {
    const r = await ocidist(["mutate", "--json", `${host}/app:1`, "--user", "1000", "-t", `${host}/elsewhere:1`])
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as { stats: { mounted: number; transferred: number }; tags: Array<string> }
    expect(result.stats.mounted).toBe(image.layers.length)
    expect(result.stats.transferred).toBe(1)
    expect(result.tags).toEqual(["1"])

    const p = await ocidist(["mutate", "--platform", "linux/arm64", `${host}/multi:1`, "--label", "arm=yes"])
    expect(p.code, p.stderr).toBe(0)
    const raw = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${host}/multi:1`]) as {
      manifests: Array<{ digest: string }>
    }
    expect(raw.manifests.map((m) => m.digest === index.images[1]!.descriptor.digest)).toEqual([false, false, false])
    expect(raw.manifests[0]!.digest).toBe(index.images[0]!.descriptor.digest)
    expect(raw.manifests[2]!.digest).toBe(index.images[2]!.descriptor.digest)
    const arm = await skopeo(["inspect", "--override-arch", "arm64", "--tls-verify=false", `docker://${host}/multi:1`])
    expect((arm.Labels as Record<string, string>).arm).toBe("yes")
  })

  it("an oci-archive in place; usage errors before anything is written", async () => {
    const dir = tmp()
    const archive = path.join(dir, "app.tar")
    const pulled = await ocidist(["copy", "-q", `oci:${layout}:v1`, `oci-archive:${archive}:v1`])
    expect(pulled.code, pulled.stderr).toBe(0)
    const r = await ocidist(["mutate", `oci-archive:${archive}:v1`, "--workdir", "/srv"])
    expect(r.code, r.stderr).toBe(0)
    const config = await skopeo(["inspect", "--config", `oci-archive:${archive}:v1`])
    expect((config.config as Record<string, unknown>).WorkingDir).toBe("/srv")

    const bad = await ocidist(["mutate", `${host}/app:1`, "--label", "novalue"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("--label takes KEY=VALUE")
    const nothing = await ocidist(["mutate", `${host}/app:1`])
    expect(nothing.code).not.toBe(0)
    expect(nothing.stderr).toContain("nothing to change")
  })
})

describe("ocidist append", () => {
  it("a .tar (gzipped), a .tar.gz (kept) and a directory into a layout; umoci unpacks the new files", async () => {
    const dir = tmp()
    const out = path.join(dir, "layout")
    fs.cpSync(layout, out, { recursive: true })
    const plain = Tar.oneFile("hello.txt", "hello from append\n")
    fs.writeFileSync(path.join(dir, "hello.tar"), plain)
    const a = await ocidist([
      "append",
      "--json",
      `oci:${out}:v1`,
      "--layer",
      path.join(dir, "hello.tar"),
      "-t",
      `oci:${out}:a`
    ])
    expect(a.code, a.stderr).toBe(0)
    const first = JSON.parse(a.stdout) as { layer: { diffId: string; compressed: boolean } }
    expect(first.layer).toMatchObject({ diffId: sha256(plain), compressed: true })

    const gz = zlib.gzipSync(Tar.oneFile("second.txt", "second\n"))
    fs.writeFileSync(path.join(dir, "second.tar.gz"), gz)
    const b = await ocidist([
      "append",
      "--json",
      `oci:${out}:a`,
      "-f",
      path.join(dir, "second.tar.gz"),
      "-t",
      `oci:${out}:b`
    ])
    expect(b.code, b.stderr).toBe(0)
    expect((JSON.parse(b.stdout) as { layer: { digest: string } }).layer.digest).toBe(sha256(gz))

    const tree = path.join(dir, "tree")
    fs.mkdirSync(path.join(tree, "opt"), { recursive: true })
    fs.writeFileSync(path.join(tree, "opt", "tool"), "#!/bin/sh\n")
    const c = await ocidist(["append", `oci:${out}:b`, "--layer", tree, "-t", `oci:${out}:c`])
    expect(c.code, c.stderr).toBe(0)

    const bundle = path.join(dir, "bundle")
    const unpacked = await Effect.runPromise(Tools.umoci(["unpack", "--rootless", "--image", `${out}:c`, bundle]))
    expect(unpacked.exitCode, unpacked.stderr).toBe(0)
    const rootfs = path.join(bundle, "rootfs")
    expect(fs.readFileSync(path.join(rootfs, "hello.txt"), "utf8")).toBe("hello from append\n")
    expect(fs.readFileSync(path.join(rootfs, "second.txt"), "utf8")).toBe("second\n")
    expect(fs.readFileSync(path.join(rootfs, "opt", "tool"), "utf8")).toBe("#!/bin/sh\n")
    expect(fs.existsSync(path.join(rootfs, image.layers[0]!.fileName!))).toBe(true)
  })

  it("to a registry: one more layer, its blob uploaded once; a file that is not a tar is refused", async () => {
    const dir = tmp()
    fs.writeFileSync(path.join(dir, "x.tar"), Tar.oneFile("x.txt", "x\n"))
    const r = await ocidist([
      "-v",
      "append",
      `${host}/app:1`,
      "--layer",
      path.join(dir, "x.tar"),
      "-t",
      `${host}/app:x`
    ])
    expect(r.code, r.stderr).toBe(0)
    // the config and the layer
    expect(uploads(r.stderr)).toBe(2)
    const inspected = await skopeo(["inspect", "--tls-verify=false", `docker://${host}/app:x`]) as {
      Layers: Array<string>
    }
    expect(inspected.Layers).toHaveLength(image.layers.length + 1)

    fs.writeFileSync(path.join(dir, "notes.txt"), "not a tar\n")
    const bad = await ocidist(["append", `${host}/app:1`, "--layer", path.join(dir, "notes.txt")])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain("neither a tar")
  })
})

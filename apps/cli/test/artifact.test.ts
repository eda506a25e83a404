// `artifact push`, `artifact pull`, `attach`, `discover` through the bundled binary: the embedded registry (with
// the referrers API), an OCI layout and an oci-archive; skopeo reads what is pushed; hostile artifacts (made
// here, by hand) never write outside the destination.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { ocidist, tempDir } from "./cli.js"
import { acquire, RawLayout, sha256, Tar, Tools } from "./support.js"

let close: () => Promise<void>
let registry: Registry.Running
let host: string

const tmp = () => tempDir("ocidist-cli-artifact-")

// asynchronously: the embedded registry answers from this process
const skopeo = async (args: ReadonlyArray<string>) => {
  const r = await Effect.runPromise(Tools.skopeo(["--insecure-policy", ...args]))
  expect(r.exitCode, r.stderr).toBe(0)
  return r.stdout
}

const ok = async (args: ReadonlyArray<string>) => {
  const r = await ocidist(args)
  expect(r.stderr.split("\n").filter((l) => l.startsWith("ocidist: "))).toEqual([])
  expect(r.code).toBe(0)
  return r
}

/** Every path under `dir` (relative, `/`-separated), sorted. */
const listTree = (dir: string): Array<string> =>
  (fs.readdirSync(dir, { recursive: true }) as Array<string>).map((p) => p.split(path.sep).join("/")).sort()

/** Two files and a directory (with a nested file and a symlink), as a user has them. */
const makeTree = (root: string) => {
  fs.mkdirSync(path.join(root, "chart", "templates"), { recursive: true })
  fs.writeFileSync(path.join(root, "readme.md"), "# files\n")
  fs.writeFileSync(path.join(root, "sbom.json"), "{\"spdxVersion\":\"SPDX-2.3\"}")
  fs.writeFileSync(path.join(root, "chart", "Chart.yaml"), "name: demo\n")
  fs.writeFileSync(path.join(root, "chart", "templates", "svc.yaml"), "kind: Service\n")
  fs.symlinkSync("Chart.yaml", path.join(root, "chart", "current"))
}

// hand-made layouts: blobs and index.json written directly
const { putBlob, writeIndex } = RawLayout

/** An artifact manifest over the given layers, stored in a hand-made layout. */
const artifactOf = (layout: string, layers: ReadonlyArray<Record<string, unknown>>) => {
  const config = putBlob(layout, Buffer.from("{}"), "application/vnd.oci.empty.v1+json")
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: "application/vnd.example.test",
    config,
    layers
  }
  return putBlob(layout, Buffer.from(JSON.stringify(manifest)), "application/vnd.oci.image.manifest.v1+json")
}

const tarEntry = (name: string, type: string, data?: Uint8Array, linkname?: string) =>
  Tar.entry({ name, type, data, linkname })

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    return yield* NodeRegistry.start()
  }))
  registry = acquired.value
  host = registry.host
  close = acquired.close
})

afterAll(() => close())

describe("artifact", () => {
  it("push to a registry and a layout: the same digest, printed; skopeo reads the manifest; pull writes the files", async () => {
    const dir = tmp()
    const src = path.join(dir, "src")
    makeTree(src)
    fs.writeFileSync(
      path.join(dir, "annotations.json"),
      JSON.stringify({
        $manifest: { "org.example.release": "1" },
        "sbom.json": { "org.example.kind": "sbom" }
      })
    )
    const files = [
      path.join(src, "readme.md"),
      `${path.join(src, "sbom.json")}:application/spdx+json`,
      path.join(src, "chart")
    ]
    const common = [
      "--artifact-type",
      "application/vnd.example.bundle",
      "--annotation",
      "org.example.a=b",
      "--annotation-file",
      path.join(dir, "annotations.json")
    ]
    const exported = path.join(dir, "manifest.json")
    const pushed = await ok([
      "artifact",
      "push",
      ...common,
      "--export-manifest",
      exported,
      `${host}/bundle:1`,
      ...files
    ])
    const digest = pushed.stdout.trim()
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(sha256(fs.readFileSync(exported))).toBe(digest)
    const manifest = JSON.parse(fs.readFileSync(exported, "utf8")) as {
      artifactType: string
      config: { mediaType: string }
      annotations: Record<string, string>
      layers: Array<{ mediaType: string; annotations: Record<string, string> }>
    }
    expect(manifest.artifactType).toBe("application/vnd.example.bundle")
    expect(manifest.config.mediaType).toBe("application/vnd.oci.empty.v1+json")
    expect(manifest.annotations).toEqual({ "org.example.release": "1", "org.example.a": "b" })
    expect(manifest.layers.map((l) => [l.mediaType, l.annotations["org.opencontainers.image.title"]])).toEqual([
      ["application/vnd.oci.image.layer.v1.tar", "readme.md"],
      ["application/spdx+json", "sbom.json"],
      ["application/vnd.oci.image.layer.v1.tar+gzip", "chart"]
    ])
    expect(manifest.layers[1]!.annotations["org.example.kind"]).toBe("sbom")
    expect(manifest.layers[2]!.annotations["io.deis.oras.content.unpack"]).toBe("true")

    // skopeo reads the artifact manifest, from the registry and from a layout
    const raw = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${host}/bundle:1`])
    expect(sha256(raw.trim())).toBe(digest)
    const layout = path.join(dir, "layout")
    const local = await ok(["artifact", "push", ...common, `oci:${layout}:1`, ...files])
    expect(local.stdout.trim()).toBe(digest)
    expect(sha256((await skopeo(["inspect", "--raw", `oci:${layout}:1`])).trim())).toBe(digest)
    // again, after touching a file: the same digest
    fs.utimesSync(path.join(src, "chart", "Chart.yaml"), new Date(2001, 1, 1), new Date(2001, 1, 1))
    expect((await ok(["artifact", "push", ...common, `${host}/bundle:2`, ...files])).stdout.trim()).toBe(digest)

    // pull from the registry, the layout and an oci-archive made from it
    const archive = path.join(dir, "bundle.tar")
    await ok(["copy", "-q", `oci:${layout}:1`, `oci-archive:${archive}:1`])
    for (
      const [name, from] of [["registry", `${host}/bundle:1`], ["layout", `oci:${layout}:1`], [
        "archive",
        `oci-archive:${archive}:1`
      ]]
    ) {
      const out = path.join(dir, `out-${name}`)
      const pulled = await ok(["artifact", "pull", from!, "-o", out])
      expect(pulled.stdout.trim().split("\n")).toEqual(["readme.md", "sbom.json", "chart"])
      expect(listTree(out)).toEqual([
        "chart",
        "chart/Chart.yaml",
        "chart/current",
        "chart/templates",
        "chart/templates/svc.yaml",
        "readme.md",
        "sbom.json"
      ])
      expect(fs.readFileSync(path.join(out, "chart", "templates", "svc.yaml"), "utf8")).toBe("kind: Service\n")
      expect(fs.readlinkSync(path.join(out, "chart", "current"))).toBe("Chart.yaml")
    }
  })

  it("attach, discover (a tree, --json), referrers; --subject on push", async () => {
    const dir = tmp()
    const file = path.join(dir, "sig.bin")
    fs.writeFileSync(file, "signature\n")
    const subject = (await ok(["artifact", "push", `${host}/app:1`, file])).stdout.trim()
    const attached = (await ok(["attach", "--artifact-type", "application/vnd.example.sig", `${host}/app:1`, file]))
      .stdout.trim()
    const sbom = (await ok([
      "artifact",
      "push",
      "--artifact-type",
      "application/spdx+json",
      "--subject",
      `${host}/app@${subject}`,
      `${host}/app:sbom`,
      file
    ])).stdout.trim()
    const tree = await ok(["discover", `${host}/app:1`])
    const lines = tree.stdout.trim().split("\n")
    expect(lines[0]).toBe(`${host}/app:1@${subject}`)
    expect(lines.slice(1).sort()).toEqual([
      expect.stringMatching(new RegExp(`^[├└]── application/spdx\\+json  ${sbom}`)),
      expect.stringMatching(new RegExp(`^[├└]── application/vnd\\.example\\.sig  ${attached}`))
    ].sort((a, b) => String(a).localeCompare(String(b))))
    const json = JSON.parse((await ok(["discover", "--json", `${host}/app:1`])).stdout) as {
      referrers: Array<{ digest: string }>
    }
    expect(json.referrers.map((r) => r.digest).sort()).toEqual([attached, sbom].sort())
    // in a layout too
    const layout = path.join(dir, "layout")
    await ok(["artifact", "push", `oci:${layout}:app`, file])
    const inLayout = (await ok(["attach", "--artifact-type", "application/vnd.example.sig", `oci:${layout}:app`, file]))
      .stdout.trim()
    expect((await ok(["referrers", `oci:${layout}:app`])).stdout).toContain(inLayout)
  })

  it("--platform picks an artifact of an index; without it, an index of several is refused", async () => {
    const dir = tmp()
    const layout = path.join(dir, "layout")
    const entries = ["amd64", "arm64"].map((arch) => {
      const blob = putBlob(layout, Buffer.from(`binary for ${arch}\n`), "application/octet-stream", {
        annotations: { "org.opencontainers.image.title": "tool" }
      })
      return { ...artifactOf(layout, [blob]), platform: { os: "linux", architecture: arch } }
    })
    const index = putBlob(
      layout,
      Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: entries })
      ),
      "application/vnd.oci.image.index.v1+json",
      { annotations: { "org.opencontainers.image.ref.name": "tools" } }
    )
    writeIndex(layout, [index])
    const out = path.join(dir, "out")
    await ok(["artifact", "pull", "--platform", "linux/arm64", `oci:${layout}:tools`, "-o", out])
    expect(fs.readFileSync(path.join(out, "tool"), "utf8")).toBe("binary for arm64\n")
    const refused = await ocidist(["artifact", "pull", `oci:${layout}:tools`, "-o", path.join(dir, "none")])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("--platform")
  })

  it("hostile artifacts: escaping titles and tar entries fail, nothing is written outside -o", async () => {
    const dir = tmp()
    const layout = path.join(dir, "evil")
    const text = Buffer.from("pwned\n")
    const titled = (title: string) =>
      putBlob(layout, text, "application/octet-stream", { annotations: { "org.opencontainers.image.title": title } })
    const unpack = (title: string, entries: ReadonlyArray<Uint8Array>) =>
      putBlob(
        layout,
        zlib.gzipSync(Tar.archive(entries)),
        "application/vnd.oci.image.layer.v1.tar+gzip",
        { annotations: { "org.opencontainers.image.title": title, "io.deis.oras.content.unpack": "true" } }
      )
    const cases: Record<string, Record<string, unknown>> = {
      dotdot: artifactOf(layout, [titled("../escaped")]),
      absolute: artifactOf(layout, [titled(path.join(dir, "absolute"))]),
      "tar-dotdot": artifactOf(layout, [unpack("d", [tarEntry("d/", "5"), tarEntry("d/../../escaped", "0", text)])]),
      "tar-symlink": artifactOf(layout, [unpack("d", [tarEntry("d/", "5"), tarEntry("d/l", "2", undefined, dir)])]),
      "tar-hardlink": artifactOf(layout, [unpack("d", [tarEntry("d/", "5"), tarEntry("d/h", "1", undefined, "../x")])])
    }
    writeIndex(
      layout,
      Object.entries(cases).map(([tag, d]) => ({ ...d, annotations: { "org.opencontainers.image.ref.name": tag } }))
    )
    for (const tag of Object.keys(cases)) {
      const out = path.join(dir, "out", tag)
      const r = await ocidist(["artifact", "pull", `oci:${layout}:${tag}`, "-o", out])
      expect(r.code, tag).toBe(1)
      expect(r.stderr, tag).toMatch(/^ocidist: artifact oci:.*(not a safe relative path|outside)/m)
      expect(listTree(out), tag).toEqual([])
    }
    expect(fs.readdirSync(dir).sort()).toEqual(["evil", "out"])
  })
})

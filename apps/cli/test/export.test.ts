// `export` and `flatten` against an OCI layout, an oci-archive and the embedded registry, with umoci and skopeo
// as oracles. The images are built here: layers tarred by GNU tar from directories (files, a deletion
// whiteout, an opaque directory, a symlink, a hard link, a 0755 file) and hostile layers written header by
// header (`../x`, `/abs`, a symlink `l -> /etc` then `l/passwd`, a device, a 2 MiB PAX header).
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import { execFile, execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import * as zlib from "node:zlib"
import { ocidist, tempDir } from "./cli.js"
import { acquire, RawLayout, Tar } from "./support.js"

const root = tempDir("ocidist-cli-export-")
const tmp = () => fs.mkdtempSync(path.join(root, "t-"))

const sha = (bytes: Uint8Array | string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

// ---------------------------------------------------------------------------------------------------------
// building images

/** One tar entry, header by header (for the hostile layers), with a fixed mtime. */
const entry = (options: {
  readonly name: string
  readonly type?: string
  readonly data?: Uint8Array
  readonly linkname?: string
  readonly mode?: number
  readonly devmajor?: number
}): Uint8Array => Tar.entry({ ...options, mtime: 1_700_000_000, devmajor: options.devmajor ?? 0 })

const tarOf = Tar.archive

/** A directory tarred by GNU tar, owners 0, a fixed mtime. */
const tarDirectory = (dir: string): Uint8Array =>
  execFileSync("tar", [
    "--numeric-owner",
    "--owner=0",
    "--group=0",
    "--mtime=@1700000000",
    "--sort=name",
    "-C",
    dir,
    "-cf",
    "-",
    "."
  ], { maxBuffer: 64 * 1024 * 1024 })

const { putBlob } = RawLayout

/** Writes an image of layers (plain tars; `gzip` per layer) into an OCI layout under a tag. */
const writeImage = (
  layout: string,
  tag: string,
  layers: ReadonlyArray<{ tar: Uint8Array; gzip: boolean }>,
  architecture = "amd64"
) => {
  const descriptors = layers.map((l) =>
    l.gzip
      ? putBlob(layout, zlib.gzipSync(l.tar), "application/vnd.oci.image.layer.v1.tar+gzip")
      : putBlob(layout, l.tar, "application/vnd.oci.image.layer.v1.tar")
  )
  const config = putBlob(
    layout,
    Buffer.from(JSON.stringify({
      architecture,
      os: "linux",
      config: { Env: ["PATH=/bin"] },
      rootfs: { type: "layers", diff_ids: layers.map((l) => sha(l.tar)) },
      history: layers.map((_, i) => ({ created_by: `layer ${i}` }))
    })),
    "application/vnd.oci.image.config.v1+json"
  )
  const manifest = putBlob(
    layout,
    Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config,
      layers: descriptors
    })),
    "application/vnd.oci.image.manifest.v1+json"
  )
  RawLayout.addTag(layout, manifest, tag)
  return manifest
}

const write = (file: string, content: string, mode = 0o644) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, content)
  fs.chmodSync(file, mode)
}

/** The test image: three layers over files, a whiteout, an opaque directory, links, an executable. */
const buildImage = (layout: string) => {
  const base = path.join(root, "l0")
  write(path.join(base, "etc/keep.txt"), "keep\n")
  write(path.join(base, "etc/gone.txt"), "gone\n")
  write(path.join(base, "opq/old.txt"), "old\n")
  write(path.join(base, "opq/sub/older.txt"), "older\n")
  write(path.join(base, "data/file.txt"), "one\n")
  write(path.join(base, "bin/tool"), "#!/bin/sh\necho tool\n", 0o755)
  fs.symlinkSync("../data/file.txt", path.join(base, "bin/link"))
  fs.linkSync(path.join(base, "data/file.txt"), path.join(base, "data/hard.txt"))
  // links to a file the next layer replaces: they keep the old content (the old file written under their names)
  write(path.join(base, "data/old.txt"), "old content\n")
  fs.linkSync(path.join(base, "data/old.txt"), path.join(base, "data/old-hard.txt"))
  fs.linkSync(path.join(base, "data/old.txt"), path.join(base, "data/old-hard2.txt"))
  fs.chmodSync(path.join(base, "opq"), 0o750)
  const upper = path.join(root, "l1")
  write(path.join(upper, "etc/.wh.gone.txt"), "")
  write(path.join(upper, "opq/.wh..wh..opq"), "")
  write(path.join(upper, "opq/new.txt"), "new\n")
  write(path.join(upper, "etc/keep.txt"), "kept, changed\n", 0o600)
  write(path.join(upper, "data/old.txt"), "new content\n")
  const top = path.join(root, "l2")
  write(path.join(top, "srv/www/index.html"), "<p>hi</p>\n")
  fs.symlinkSync("/srv/www", path.join(top, "www"))
  return writeImage(layout, "v1", [
    { tar: tarDirectory(base), gzip: true },
    { tar: tarDirectory(upper), gzip: false },
    { tar: tarDirectory(top), gzip: true }
  ])
}

// ---------------------------------------------------------------------------------------------------------
// comparing trees

interface Node {
  readonly type: "file" | "dir" | "symlink" | "other"
  readonly mode: number
  readonly content?: string
  readonly target?: string
  readonly ino?: number
}

/** Every path under a directory: its type, mode, content digest or link target. */
const tree = (dir: string): Map<string, Node> => {
  const out = new Map<string, Node>()
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`
      const full = path.join(dir, r)
      const st = fs.lstatSync(full)
      const mode = st.mode & 0o7777
      if (st.isSymbolicLink()) out.set(r, { type: "symlink", mode: 0, target: fs.readlinkSync(full) })
      else if (st.isDirectory()) {
        out.set(r, { type: "dir", mode })
        walk(r)
      } else if (st.isFile()) out.set(r, { type: "file", mode, content: sha(fs.readFileSync(full)), ino: st.ino })
      else out.set(r, { type: "other", mode })
    }
  }
  walk("")
  return out
}

/** The pairs of paths that are the same file (hard links), as `a=b` strings. */
const links = (t: Map<string, Node>): Array<string> => {
  const byIno = new Map<number, Array<string>>()
  for (const [p, n] of t) if (n.ino !== undefined) byIno.set(n.ino, [...(byIno.get(n.ino) ?? []), p])
  return [...byIno.values()].filter((ps) => ps.length > 1).map((ps) => ps.sort().join("=")).sort()
}

const withoutIno = (t: Map<string, Node>) => new Map([...t].map(([p, { ino: _ino, ...n }]) => [p, n]))

/** Extracts a tar as GNU tar would (as root: modes and owners as written). */
const extract = (tar: string): string => {
  const dir = tmp()
  execFileSync("tar", ["--numeric-owner", "-xpf", tar, "-C", dir])
  return dir
}

/** umoci's rootfs of an image in a layout. */
const umociRootfs = (layout: string, tag: string): string => {
  const bundle = path.join(tmp(), "bundle")
  execFileSync("umoci", ["unpack", "--image", `${layout}:${tag}`, bundle], { stdio: "pipe" })
  return path.join(bundle, "rootfs")
}

/** The entry names of a tar (GNU tar's listing). */
const names = (tar: string): Array<string> =>
  execFileSync("tar", ["-tf", tar], { encoding: "utf8" }).split("\n").filter((l) => l !== "")

/** skopeo, asynchronously: the embedded registry answers from this process's event loop. */
const skopeo = async (args: ReadonlyArray<string>): Promise<string> =>
  (await promisify(execFile)("skopeo", ["--insecure-policy", ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout

// ---------------------------------------------------------------------------------------------------------

let close: () => Promise<void>
let registry: Registry.Running
let layout: string
let archive: string
let expected: Map<string, Node>

beforeAll(async () => {
  const acquired = await acquire(NodeRegistry.start())
  close = acquired.close
  registry = acquired.value
  layout = path.join(root, "layout")
  buildImage(layout)
  // hostile images, each under its own tag
  const text = new TextEncoder()
  writeImage(layout, "dotdot", [{ tar: tarOf([entry({ name: "../x", data: text.encode("x\n") })]), gzip: true }])
  writeImage(layout, "hostile", [
    {
      tar: tarOf([
        entry({ name: "/abs/file", data: text.encode("abs\n") }),
        entry({ name: "l", type: "2", linkname: "/etc" }),
        entry({ name: "l/passwd", data: text.encode("root::0:0::/:/bin/sh\n") }),
        entry({ name: "dev/null", type: "3", mode: 0o666, devmajor: 1 }),
        entry({ name: "./ok.txt", data: text.encode("ok\n") }),
        entry({ name: "up/../l/shadow", data: text.encode("x\n") })
      ]),
      gzip: true
    }
  ])
  // one PAX record of 2 MiB + 20 bytes: "<length> comment=<value>\n", the length counting its own digits
  const body = ` comment=${"a".repeat(2 * 1024 * 1024)}\n`
  const pax = text.encode(`${body.length + 7}${body}`)
  writeImage(layout, "huge", [
    {
      tar: tarOf([entry({ name: "PaxHeaders/x", type: "x", data: pax }), entry({ name: "x", data: text.encode("x") })]),
      gzip: true
    }
  ])
  // a two-platform index: the test image (amd64) and a one-layer arm64 image, an attestation left out by flatten
  const arm = writeImage(layout, "arm", [{
    tar: tarOf([entry({ name: "arm.txt", data: text.encode("arm\n") })]),
    gzip: true
  }], "arm64")
  const attestation = putBlob(
    layout,
    Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: putBlob(layout, Buffer.from("{}"), "application/vnd.oci.empty.v1+json"),
      layers: [putBlob(layout, Buffer.from("{}"), "application/vnd.in-toto+json")]
    })),
    "application/vnd.oci.image.manifest.v1+json"
  )
  const v1 = JSON.parse(fs.readFileSync(path.join(layout, "index.json"), "utf8")) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>
  }
  const amd = v1.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === "v1")!
  const at = (digest: string) => {
    const size = fs.statSync(path.join(layout, "blobs", "sha256", digest.slice(7))).size
    return { mediaType: "application/vnd.oci.image.manifest.v1+json", digest, size }
  }
  const multi = putBlob(
    layout,
    Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { ...at(amd.digest), platform: { os: "linux", architecture: "amd64" } },
        { ...at(arm.digest), platform: { os: "linux", architecture: "arm64" } },
        {
          ...attestation,
          platform: { os: "unknown", architecture: "unknown" },
          annotations: {
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": amd.digest
          }
        }
      ],
      annotations: { "org.example.index": "yes" }
    })),
    "application/vnd.oci.image.index.v1+json"
  )
  RawLayout.addTag(layout, multi, "multi")
  archive = path.join(root, "image.tar")
  const copied = await ocidist(["copy", "-q", `oci:${layout}:v1`, `oci-archive:${archive}:v1`])
  expect(copied.stderr).toBe("")
  const pushed = await ocidist(["push", "-q", `oci:${layout}:v1`, `${registry.host}/app:1`])
  expect(pushed.stderr).toBe("")
  expected = tree(umociRootfs(layout, "v1"))
}, 60_000)

afterAll(() => close?.())

describe("export", () => {
  it("equals umoci's rootfs of the same image, from a layout, an oci-archive and a registry", async () => {
    const outputs: Array<Buffer> = []
    let extracted = ""
    for (const source of [`oci:${layout}:v1`, `oci-archive:${archive}:v1`, `${registry.host}/app:1`]) {
      const file = path.join(tmp(), "rootfs.tar")
      const r = await ocidist(["export", source, "-o", file])
      expect(r.stderr).toContain("3 layers merged")
      expect(r.code).toBe(0)
      extracted = extract(file)
      const got = tree(extracted)
      expect(withoutIno(got)).toEqual(withoutIno(expected))
      expect(links(got)).toEqual(links(expected))
      outputs.push(fs.readFileSync(file))
    }
    // the same bytes whatever the source held the layers as (gzip or plain)
    expect(outputs[1]!.equals(outputs[0]!)).toBe(true)
    expect(outputs[2]!.equals(outputs[0]!)).toBe(true)
    // what the whiteouts deleted is gone, the whiteouts themselves are not written
    expect(expected.has("etc/gone.txt")).toBe(false)
    expect(expected.has("opq/old.txt")).toBe(false)
    expect(expected.get("opq/new.txt")?.type).toBe("file")
    expect(expected.get("bin/tool")?.mode).toBe(0o755)
    expect(expected.get("bin/link")?.target).toBe("../data/file.txt")
    expect(links(expected)).toEqual(["data/file.txt=data/hard.txt", "data/old-hard.txt=data/old-hard2.txt"])
    expect(fs.readFileSync(path.join(extracted, "data/old-hard.txt"), "utf8")).toBe("old content\n")
    expect(fs.readFileSync(path.join(extracted, "data/old.txt"), "utf8")).toBe("new content\n")
  })

  it("writes to stdout (no -o, or -o -) the same bytes as to a file; --json reports the file", async () => {
    const file = path.join(tmp(), "rootfs.tar")
    const r = await ocidist(["--json", "export", `oci:${layout}:v1`, "-o", file])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as Record<string, unknown>
    expect(report).toEqual({
      location: `oci:${layout}:v1`,
      digest: expect.stringMatching(/^sha256:/),
      layers: 3,
      size: fs.statSync(file).size,
      path: file
    })
    const piped = await ocidist(["export", `oci:${layout}:v1`])
    expect(piped.code).toBe(0)
    expect(piped.stdoutBytes.equals(fs.readFileSync(file))).toBe(true)
    const dash = await ocidist(["export", `oci:${layout}:v1`, "-o", "-"])
    expect(dash.stdoutBytes.equals(fs.readFileSync(file))).toBe(true)
    for (const n of names(file)) expect(n).not.toMatch(/(^|\/)\.wh\./)
  })

  it("hostile layers: no path escapes the root, nothing goes through a symlink, devices stay tar entries", async () => {
    const file = path.join(tmp(), "hostile.tar")
    const r = await ocidist(["export", `oci:${layout}:hostile`, "-o", file])
    expect(r.stderr).not.toContain("rror")
    expect(r.code).toBe(0)
    const listing = names(file)
    for (const n of listing) {
      expect(n.startsWith("/")).toBe(false)
      expect(n.split("/")).not.toContain("..")
    }
    // `/abs/file` is `abs/file`; `l/passwd` and `l/shadow` (below the symlink l) are left out
    expect(listing.sort()).toEqual(["abs/file", "dev/null", "l", "ok.txt"])
    const verbose = execFileSync("tar", ["-tvf", file], { encoding: "utf8" })
    expect(verbose).toMatch(/^c.* 1,\s*0 .*dev\/null$/m)
    expect(verbose).toMatch(/^l.* l -> \/etc$/m)
  })

  it("a path climbing out of the root, or a 2 MiB PAX header, is a verification failure (exit 5), no file written", async () => {
    for (
      const [tag, message] of [["dotdot", /climbs out of the root/], ["huge", /extended header of \d+ bytes/]] as const
    ) {
      const dir = tmp()
      const file = path.join(dir, "out.tar")
      const r = await ocidist(["export", `oci:${layout}:${tag}`, "-o", file])
      expect(r.stderr).toMatch(message)
      expect(r.stderr).toMatch(/is not a valid tar stream/)
      expect(r.code).toBe(5)
      expect(fs.readdirSync(dir)).toEqual([])
    }
  })
})

describe("flatten", () => {
  it("a registry image: one layer, skopeo reads it, umoci unpacks the same rootfs", async () => {
    const r = await ocidist(["flatten", `${registry.host}/app:1`, "-t", `${registry.host}/app:flat`])
    expect(r.code).toBe(0)
    const digest = r.stdout.trim()
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    const inspected = JSON.parse(
      await skopeo(["inspect", "--tls-verify=false", `docker://${registry.host}/app:flat`])
    ) as { Digest: string; Layers: Array<string>; Env: Array<string> }
    expect(inspected.Digest).toBe(digest)
    expect(inspected.Layers).toHaveLength(1)
    expect(inspected.Env).toEqual(["PATH=/bin"])
    const config = JSON.parse(
      await skopeo(["inspect", "--config", "--tls-verify=false", `docker://${registry.host}/app:flat`])
    ) as { rootfs: { diff_ids: Array<string> }; history: Array<{ created_by: string }> }
    expect(config.rootfs.diff_ids).toHaveLength(1)
    expect(config.history).toHaveLength(1)
    expect(config.history[0]!.created_by).toMatch(/^ocidist flatten sha256:/)
    const pulled = path.join(tmp(), "layout")
    expect((await ocidist(["pull", "-q", `${registry.host}/app:flat`, `oci:${pulled}:flat`])).code).toBe(0)
    const got = tree(umociRootfs(pulled, "flat"))
    expect(withoutIno(got)).toEqual(withoutIno(expected))
    expect(links(got)).toEqual(links(expected))
  })

  it("an index: every image flattened, a new index (attestation left out); one line per image; --json", async () => {
    const out = path.join(tmp(), "flat")
    const r = await ocidist(["flatten", `oci:${layout}:multi`, "-t", `oci:${out}:f`])
    expect(r.code).toBe(0)
    const [digest, ...lines] = r.stdout.trim().split("\n")
    expect(r.stderr).toContain("flattened the 2 images")
    const raw = JSON.parse(await skopeo(["inspect", "--raw", `oci:${out}:f`])) as {
      annotations: Record<string, string>
      manifests: Array<{ digest: string; platform: { architecture: string } }>
    }
    expect(raw.annotations).toEqual({ "org.example.index": "yes" })
    expect(lines).toEqual(raw.manifests.map((m) => `${m.digest} linux/${m.platform.architecture}`))
    expect(raw.manifests.map((m) => m.platform.architecture)).toEqual(["amd64", "arm64"])
    const inspected = JSON.parse(await skopeo(["inspect", `oci:${out}:f`])) as { Digest: string }
    expect(inspected.Digest).toBe(digest)
    // the amd64 image: one layer, umoci unpacks the merged filesystem of the original
    const single = path.join(tmp(), "single")
    expect((await ocidist(["copy", "-q", `oci:${out}@${raw.manifests[0]!.digest}`, `oci:${single}:a`])).code).toBe(0)
    const got = tree(umociRootfs(single, "a"))
    expect(withoutIno(got)).toEqual(withoutIno(expected))
    // into the embedded registry, --json: the children as written
    const host = registry.host
    expect((await ocidist(["copy", "-q", `oci:${layout}:multi`, `${host}/multi:1`])).code).toBe(0)
    const j = await ocidist(["--json", "flatten", `${host}/multi:1`, "-t", `${host}/multi:flat`])
    expect(j.code).toBe(0)
    const result = JSON.parse(j.stdout) as {
      digest: string
      mediaType: string
      layer?: unknown
      children: Array<{ digest: string; platform: { architecture: string }; layer: { digest: string } }>
    }
    expect(result.mediaType).toBe("application/vnd.oci.image.index.v1+json")
    expect(result.layer).toBeUndefined()
    expect(result.children.map((c) => c.platform.architecture)).toEqual(["amd64", "arm64"])
    const remote = JSON.parse(
      await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${host}/multi:flat`])
    ) as { manifests: Array<{ digest: string }> }
    expect(remote.manifests.map((m) => m.digest)).toEqual(result.children.map((c) => c.digest))
    const arm = JSON.parse(
      await skopeo(["inspect", "--tls-verify=false", `docker://${host}/multi@${result.children[1]!.digest}`])
    ) as { Layers: Array<string>; Architecture: string }
    expect(arm.Layers).toEqual([result.children[1]!.layer.digest])
    expect(arm.Architecture).toBe("arm64")
  })

  it("a layout image into a layout and an oci-archive, --json", async () => {
    for (const destination of [`oci:${path.join(tmp(), "flat")}:f`, `oci-archive:${path.join(tmp(), "flat.tar")}:f`]) {
      const r = await ocidist(["--json", "flatten", `oci:${layout}:v1`, "-t", destination])
      expect(r.stderr).toBe("")
      expect(r.code).toBe(0)
      const result = JSON.parse(r.stdout) as Record<string, unknown>
      expect(result).toEqual({
        location: destination,
        sourceDigest: expect.stringMatching(/^sha256:/),
        digest: expect.stringMatching(/^sha256:/),
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        size: expect.any(Number),
        layer: {
          digest: expect.stringMatching(/^sha256:/),
          size: expect.any(Number),
          diffId: expect.stringMatching(/^sha256:/)
        },
        tag: "f"
      })
      const inspected = JSON.parse(await skopeo(["inspect", destination])) as { Digest: string; Layers: Array<string> }
      expect(inspected.Digest).toBe(result.digest)
      expect(inspected.Layers).toHaveLength(1)
    }
  })
})

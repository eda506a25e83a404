// Layer compression on writes, against the embedded registry: a docker-archive's uncompressed layers are
// gzip-compressed when pushed (skopeo reads the result, the digests verify when pulled back), `--compress
// zstd --format oci` pushes zstd, `--compress`/`--compress-level` are validated (usage errors, exit 2).
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import { execFile, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { ocidist, tempDir } from "./cli.js"
import { acquire, sha256, Tools, verifyLayoutBlobs } from "./support.js"

const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

let close: () => Promise<void>
let registry: Registry.Running
let archive: string
let diffIds: Array<string>
let layerBytes: number

const tmp = () => tempDir("ocidist-cli-compress-")

/** An OCI layout with one image whose two layers are uncompressed tars of text (made with `tar`). */
const plainLayout = (dir: string) => {
  fs.mkdirSync(path.join(dir, "blobs", "sha256"), { recursive: true })
  fs.writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  const blob = (mediaType: string, data: Buffer) => {
    const digest = sha256(data)
    fs.writeFileSync(path.join(dir, "blobs", "sha256", digest.slice(7)), data)
    return { mediaType, digest, size: data.length }
  }
  const tars = [["etc/motd", 24_000], ["app/readme.txt", 6_000]].map(([name, size]) => {
    const root = tmp()
    fs.mkdirSync(path.dirname(path.join(root, name as string)), { recursive: true })
    const lines = Array.from(
      { length: (size as number) / 40 },
      (_, i) => `${String(i).padStart(6)} lorem ipsum dolor sit\n`
    )
    fs.writeFileSync(path.join(root, name as string), lines.join(""))
    const r = spawnSync("tar", ["-cf", "-", "--owner=0", "--group=0", "--mtime=@0", "-C", root, name as string])
    fs.rmSync(root, { recursive: true, force: true })
    return r.stdout
  })
  const layers = tars.map((t) => blob(OCI_LAYER, t))
  const config = blob(
    "application/vnd.oci.image.config.v1+json",
    Buffer.from(JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: tars.map((t) => sha256(t)) }
    }))
  )
  const manifest = blob(
    "application/vnd.oci.image.manifest.v1+json",
    Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config,
      layers
    }))
  )
  fs.writeFileSync(
    path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": "plain" } }]
    })
  )
  return { diffIds: tars.map((t) => sha256(t)), bytes: tars.reduce((n, t) => n + t.length, 0) }
}

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* NodeRegistry.start({})
    const dir = yield* Tools.tempDir("ocidist-cli-compress-")
    return { registry, dir }
  }))
  close = acquired.close
  registry = acquired.value.registry
  const layout = path.join(acquired.value.dir, "layout")
  const made = plainLayout(layout)
  diffIds = made.diffIds
  layerBytes = made.bytes
  // a docker-archive as docker save writes it: uncompressed layers
  archive = path.join(acquired.value.dir, "app.tar")
  const r = await ocidist(["copy", "-q", `oci:${layout}:plain`, `docker-archive:${archive}:app:1`])
  expect(r.stderr).toBe("")
  expect(r.code).toBe(0)
}, 60_000)

afterAll(() => close?.())

/** skopeo, run asynchronously: the embedded registry answers from this process's event loop. */
const skopeo = (args: ReadonlyArray<string>) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    execFile(
      "skopeo",
      args,
      { maxBuffer: 1 << 24 },
      (error, stdout, stderr) =>
        resolve({ status: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  )

describe.concurrent("compression", () => {
  it("push of a docker-archive: its uncompressed layers arrive gzip-compressed, skopeo reads them", async () => {
    const r = await ocidist(["push", "--json", `docker-archive:${archive}`, `${registry.host}/app:1`])
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as {
      blobs: Array<{ digest: string; size: number; recompressed?: { from: string; to: string; sourceSize: number } }>
    }
    const recompressed = result.blobs.filter((b) => b.recompressed !== undefined)
    expect(recompressed.map((b) => [b.recompressed!.from, b.recompressed!.to])).toEqual([["none", "gzip"], [
      "none",
      "gzip"
    ]])

    const raw = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/app:1`])
    expect(raw.status, raw.stderr).toBe(0)
    const manifest = JSON.parse(raw.stdout) as { layers: Array<{ mediaType: string; digest: string; size: number }> }
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([DOCKER_LAYER_GZIP, DOCKER_LAYER_GZIP])
    const pushed = manifest.layers.reduce((n, l) => n + l.size, 0)
    expect(pushed).toBeLessThan(layerBytes / 3)
    expect(manifest.layers.map((l) => l.digest)).toEqual(recompressed.map((b) => b.digest))

    // skopeo copies it out; the blobs hash to their digests and gunzip to the config's diff_ids
    const dir = tmp()
    const copied = await skopeo(["copy", "--src-tls-verify=false", `docker://${registry.host}/app:1`, `dir:${dir}`])
    expect(copied.status, copied.stderr).toBe(0)
    manifest.layers.forEach((l, i) => {
      const bytes = fs.readFileSync(path.join(dir, l.digest.slice(7)))
      expect(sha256(bytes)).toBe(l.digest)
      expect(sha256(zlib.gunzipSync(bytes))).toBe(diffIds[i])
    })

    // pulled back by ocidist: verified
    const back = path.join(tmp(), "back")
    const pulled = await ocidist(["pull", "-q", `${registry.host}/app:1`, back])
    expect(pulled.stderr).toBe("")
    expect(pulled.code).toBe(0)
    expect(verifyLayoutBlobs(back)).toBe(4)
  })

  it("--compress zstd --format oci pushes zstd, --format docker makes it gzip again, keep pushes plain layers", async () => {
    const z = await ocidist([
      "push",
      "-q",
      "--compress",
      "zstd",
      "--compress-level",
      "12",
      "--format",
      "oci",
      `docker-archive:${archive}`,
      `${registry.host}/app:zstd`
    ])
    expect(z.stderr).toBe("")
    expect(z.code).toBe(0)
    const raw = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/app:zstd`])
    expect(raw.status, raw.stderr).toBe(0)
    const manifest = JSON.parse(raw.stdout) as { mediaType: string; layers: Array<{ mediaType: string }> }
    expect(manifest.mediaType).toBe("application/vnd.oci.image.manifest.v1+json")
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.v1.tar+zstd"
    ])
    const dir = tmp()
    const copied = await skopeo([
      "copy",
      "--src-tls-verify=false",
      `docker://${registry.host}/app:zstd`,
      `oci:${dir}:z`
    ])
    expect(copied.status, copied.stderr).toBe(0)

    // the zstd image copied as Docker v2s2: its layers recompressed to gzip, which containers/image accepts
    // (it refuses zstd in v2s2: "unsupported docker v2s2 media type")
    const v2s2 = await ocidist([
      "copy",
      "-q",
      "--format",
      "docker",
      `${registry.host}/app:zstd`,
      `${registry.host}/app:v2s2`
    ])
    expect(v2s2.code, v2s2.stderr).toBe(0)
    const docker = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/app:v2s2`])
    const dockerManifest = JSON.parse(docker.stdout) as { mediaType: string; layers: Array<{ mediaType: string }> }
    expect(dockerManifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json")
    expect(dockerManifest.layers.map((l) => l.mediaType)).toEqual([DOCKER_LAYER_GZIP, DOCKER_LAYER_GZIP])
    const read = await skopeo(["copy", "--src-tls-verify=false", `docker://${registry.host}/app:v2s2`, `dir:${tmp()}`])
    expect(read.status, read.stderr).toBe(0)

    // the output says what was recompressed
    const human = await ocidist(["copy", "--compress", "gzip", `docker-archive:${archive}`, `${registry.host}/app:gz`])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toContain("recompressed 2 layer(s): uncompressed \u2192 gzip")

    const kept = await ocidist([
      "push",
      "--json",
      "--compress",
      "keep",
      `docker-archive:${archive}`,
      `${registry.host}/app:plain`
    ])
    expect(kept.code).toBe(0)
    const result = JSON.parse(kept.stdout) as { blobs: Array<{ recompressed?: unknown }> }
    expect(result.blobs.every((b) => b.recompressed === undefined)).toBe(true)
  })

  it("zstd into Docker v2s2 is refused before anything is pushed", async () => {
    const r = await ocidist([
      "push",
      "--compress",
      "zstd",
      `docker-archive:${archive}`,
      `${registry.host}/refused:1`
    ])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("zstd layers cannot be written into a Docker v2s2 manifest")
    const tags = await skopeo(["list-tags", "--tls-verify=false", `docker://${registry.host}/refused`])
    expect(tags.stdout).not.toContain("\"1\"")
  })

  it("--compress and --compress-level are validated: usage errors, exit 2", async () => {
    for (
      const [args, message] of [
        [["--compress", "gzip", "--compress-level", "10"], "gzip levels are 1 to 9"],
        [["--compress", "zstd", "--compress-level", "20"], "zstd levels are 1 to 19"],
        [["--compress-level", "0"], "gzip levels are 1 to 9"],
        [["--compress", "none", "--compress-level", "3"], "applies to gzip or zstd"],
        [["--compress", "brotli"], "brotli"]
      ] as const
    ) {
      for (
        const command of [["push", `docker-archive:${archive}`, `${registry.host}/bad:1`], [
          "copy",
          `docker-archive:${archive}`,
          `${registry.host}/bad:1`
        ], ["pull", `${registry.host}/app:1`, path.join(tmp(), "x")]]
      ) {
        const r = await ocidist([command[0]!, ...args, ...command.slice(1)])
        expect(r.code, `${command[0]} ${args.join(" ")}: ${r.stderr}`).toBe(2)
        expect(r.stderr).toContain(message)
      }
    }
  })
})

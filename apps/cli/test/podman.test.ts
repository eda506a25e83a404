// podman and buildah (Debian packages, installed by scripts/install-test-deps.sh) reading what ocidist writes
// and writing what ocidist reads, daemonless, with vfs storage in a temporary directory: `podman load` of our
// docker-archive and oci-archive (the image ID is the config digest; an oci-archive keeps the manifest digest),
// `podman save -m` of two images read back by `docker-archive:F:@0` / `@1`, and `buildah push
// --compression-format zstd` to the embedded registry pulled by `ocidist pull`.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, Tools, verifyLayoutBlobs } from "./support.js"

let close: () => Promise<void>
let registry: Registry.Running
let layout: string
let first: Fixtures.Image
let second: Fixtures.Image
let podmanBin: string
let buildahBin: string
let storage: string

const tmp = () => tempDir("ocidist-cli-podman-")

/** podman's and buildah's storage: vfs (no mounts, no daemon) under a directory of this test file's own. */
const storageArgs = () => [
  "--root",
  path.join(storage, "root"),
  "--runroot",
  path.join(storage, "run"),
  "--storage-driver",
  "vfs"
]

const run = (bin: string, args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resolve) => {
    execFile(
      bin,
      [...args],
      {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: storage,
          XDG_RUNTIME_DIR: path.join(storage, "xdg"),
          XDG_CONFIG_HOME: path.join(storage, "config"),
          // no system or user configuration: registries, policy and storage come from the arguments
          CONTAINERS_CONF: path.join(storage, "containers.conf"),
          CONTAINERS_STORAGE_CONF: path.join(storage, "storage.conf"),
          CONTAINERS_REGISTRIES_CONF: path.join(storage, "registries.conf")
        },
        maxBuffer: 16 * 1024 * 1024
      },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  })

const podman = (...args: ReadonlyArray<string>) =>
  run(podmanBin, [...storageArgs(), "--events-backend", "none", "--cgroup-manager", "cgroupfs", ...args])
const buildah = (...args: ReadonlyArray<string>) => run(buildahBin, [...storageArgs(), ...args])

const ok = (r: { readonly code: number; readonly stdout: string; readonly stderr: string }, what: string) => {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr}${r.stdout}`)
  return r.stdout
}

interface PodmanImage {
  readonly Id: string
  readonly Digest: string
  readonly RepoTags: ReadonlyArray<string> | null
}

const inspect = async (name: string): Promise<PodmanImage> =>
  (JSON.parse(ok(await podman("image", "inspect", name), `podman image inspect ${name}`)) as Array<PodmanImage>)[0]!

const hex = (digest: string) => digest.slice("sha256:".length)

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    // fails with the apt-get command when the tools are missing: never skipped
    const podmanBin = yield* Tools.requireBinary("podman")
    const buildahBin = yield* Tools.requireBinary("buildah")
    const registry = yield* NodeRegistry.start({})
    const dir = yield* Tools.tempDir("ocidist-cli-podman-")
    const storage = yield* Tools.tempDir("ocidist-cli-podman-storage-")
    const first = yield* Fixtures.makeImage(dir, {
      seed: "ocidist/podman/first",
      layers: [{ size: 900 }, { size: 2000 }]
    })
    const second = yield* Fixtures.makeImage(dir, { seed: "ocidist/podman/second", layers: [{ size: 1500 }] })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: first, tag: "first" }, { root: second, tag: "second" }])
    return { podmanBin, buildahBin, registry, layout, first, second, storage }
  }))
  close = acquired.close
  ;({ podmanBin, buildahBin, registry, layout, first, second, storage } = acquired.value)
  for (const file of ["containers.conf", "registries.conf"]) fs.writeFileSync(path.join(storage, file), "")
  fs.writeFileSync(
    path.join(storage, "storage.conf"),
    `[storage]\ndriver = "vfs"\nrunroot = ${JSON.stringify(path.join(storage, "run"))}\n` +
      `graphroot = ${JSON.stringify(path.join(storage, "root"))}\n`
  )
  fs.mkdirSync(path.join(storage, "xdg"))
}, 60_000)

afterAll(() => close?.())

// one podman storage for the file: the tests run in order
describe.sequential("podman and buildah", () => {
  it("podman load of our docker-archive: the image ID is the config digest, the name is kept", async () => {
    const archive = path.join(tmp(), "first.tar")
    const copy = await ocidist(["copy", "-q", `oci:${layout}:first`, `docker-archive:${archive}:localhost/app:first`])
    expect(copy.stderr).toBe("")
    expect(copy.code).toBe(0)
    ok(await podman("load", "-q", "-i", archive), "podman load (docker-archive)")
    const image = await inspect("localhost/app:first")
    expect(image.Id).toBe(hex(first.configDigest))
    expect(image.RepoTags).toContain("localhost/app:first")
  })

  it("podman load of our oci-archive: the image ID is the config digest, the manifest digest is ours", async () => {
    const archive = path.join(tmp(), "second.tar")
    const copy = await ocidist(["copy", "-q", `oci:${layout}:second`, `oci-archive:${archive}:second`])
    expect(copy.stderr).toBe("")
    expect(copy.code).toBe(0)
    ok(await podman("load", "-q", "-i", archive), "podman load (oci-archive)")
    const image = await inspect(hex(second.configDigest))
    expect(image.Id).toBe(hex(second.configDigest))
    expect(image.Digest).toBe(second.manifestDigest)
    ok(await podman("tag", image.Id, "localhost/app:second"), "podman tag")
  })

  it("podman save -m of two images: ocidist reads each by docker-archive:F:@0 and @1", async () => {
    const dir = tmp()
    const archive = path.join(dir, "both.tar")
    ok(
      await podman("save", "-q", "-m", "-o", archive, "localhost/app:first", "localhost/app:second"),
      "podman save -m"
    )
    const configs: Array<string> = []
    for (const index of ["@0", "@1"]) {
      const r = await ocidist(["inspect", "--json", `docker-archive:${archive}:${index}`])
      expect(r.stderr, index).toBe("")
      expect(r.code, index).toBe(0)
      configs.push((JSON.parse(r.stdout) as { readonly config: { readonly digest: string } }).config.digest)
      const out = path.join(dir, `layout${index}`)
      const pull = await ocidist(["copy", "-q", `docker-archive:${archive}:${index}`, `oci:${out}:x`])
      expect(pull.stderr, index).toBe("")
      expect(pull.code, index).toBe(0)
      expect(verifyLayoutBlobs(out), index).toBeGreaterThan(2)
    }
    expect(configs).toEqual([first.configDigest, second.configDigest])
  })

  it("buildah push --compression-format zstd to a registry, then ocidist pull", async () => {
    const ref = `${registry.host}/zstd/app:1`
    ok(
      await buildah(
        "push",
        "--quiet",
        "--tls-verify=false",
        "--format",
        "oci",
        "--compression-format",
        "zstd",
        "localhost/app:first",
        `docker://${ref}`
      ),
      "buildah push --compression-format zstd"
    )
    const out = path.join(tmp(), "layout")
    const pull = await ocidist(["pull", "-q", ref, out])
    expect(pull.stderr).toBe("")
    expect(pull.code).toBe(0)
    expect(verifyLayoutBlobs(out)).toBe(4)
    const manifest = await ocidist(["manifest", ref])
    const layers = (JSON.parse(manifest.stdout) as { readonly layers: ReadonlyArray<{ readonly mediaType: string }> })
      .layers
    expect(layers.map((l) => l.mediaType)).toEqual([
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.v1.tar+zstd"
    ])
    const config = await ocidist(["config", ref])
    expect((JSON.parse(config.stdout) as { readonly rootfs: { readonly diff_ids: ReadonlyArray<string> } }).rootfs)
      .toEqual({ type: "layers", diff_ids: first.layers.map((l) => l.diffId) })
  })
})

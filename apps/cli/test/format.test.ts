// `--format oci|docker|keep` on pull, push and copy, against the embedded registry: a Docker image pulled
// into an OCI layout is converted (the output says so, with both digests) and skopeo and umoci read it; a
// Docker manifest list becomes an OCI index that `skopeo copy --all` reads; `--format keep` and copies between
// registries keep digests; `--format docker` writes schema 2 that skopeo inspects, and refuses an artifact
// before writing anything. `pull --format oci-archive|docker-archive` still works, with a deprecation warning.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, layoutIndex, Tools, verifyLayoutBlobs } from "./support.js"

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
const OCI_INDEX = "application/vnd.oci.image.index.v1+json"
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"

let close: () => Promise<void>
let registry: Registry.Running
let docker: Fixtures.Image
let list: Fixtures.Index
let oci: Fixtures.Image
let artifact: Fixtures.Artifact
let layout: string

const tmp = () => tempDir("ocidist-cli-format-")

interface Copied {
  readonly digest: string
  readonly images: ReadonlyArray<{
    readonly sourceDigest: string
    readonly digest: string
    readonly mediaType: string
    readonly converted?: { readonly from: string; readonly to: string }
    readonly manifests: ReadonlyArray<{ readonly digest: string; readonly sourceDigest?: string }>
  }>
}

/** The stdout of a command that succeeded (its stderr has the progress lines). */
const run = (result: { readonly code: number | null; readonly stdout: string; readonly stderr: string }) => {
  expect(result.code, result.stderr).toBe(0)
  return result.stdout
}

const skopeo = async (args: ReadonlyArray<string>) => {
  const r = await Effect.runPromise(Tools.skopeo(args))
  expect(r.stderr).toBe("")
  expect(r.exitCode).toBe(0)
  return r.stdout
}

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* NodeRegistry.start()
    const dir = yield* Tools.tempDir("ocidist-cli-format-")
    const docker = yield* Fixtures.smallImage(path.join(dir, "fixture"), { format: "docker", seed: "cli/docker" })
    const list = yield* Fixtures.multiPlatformIndex(path.join(dir, "fixture"), { format: "docker", seed: "cli/list" })
    const oci = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "cli/oci" })
    const artifact = yield* Fixtures.makeArtifact(path.join(dir, "fixture"), {
      artifactType: "application/vnd.example.sbom.v1",
      payload: "{\"sbom\":true}"
    })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [
      { root: docker, tag: "docker" },
      { root: list, tag: "list" },
      { root: oci, tag: "oci" },
      { root: artifact, tag: "artifact" }
    ])
    return { registry, docker, list, oci, artifact, layout }
  }))
  close = acquired.close
  ;({ artifact, docker, layout, list, oci, registry } = acquired.value)
  // into a registry the default is keep: the Docker image and list are stored as they are
  for (const tag of ["docker", "list", "oci", "artifact"]) {
    run(await ocidist(["push", "-q", `oci:${layout}:${tag}`, `${registry.host}/app:${tag}`]))
  }
}, 120_000)

afterAll(() => close?.())

describe.concurrent("--format", () => {
  it("pull of a Docker image into a directory converts it to OCI and says so; skopeo and umoci read it", async () => {
    const dir = tmp()
    const out = path.join(dir, "layout")
    const text = run(await ocidist(["pull", `${registry.host}/app:docker`, out]))
    const written = layoutIndex(out).manifests[0]!
    expect(written.mediaType).toBe(OCI_MANIFEST)
    expect(text).toContain(`Digest: ${written.digest}\n`)
    expect(text).toContain(
      `converted Docker manifest \u2192 OCI manifest: ${docker.manifestDigest} \u2192 ${written.digest}\n`
    )
    expect(verifyLayoutBlobs(out)).toBe(5)

    const inspected = JSON.parse(await skopeo(["inspect", `oci:${out}:docker`])) as { Digest: string }
    expect(inspected.Digest).toBe(written.digest)
    const stat = await Effect.runPromise(Tools.umoci(["stat", "--json", "--image", `${out}:docker`]))
    expect(stat.exitCode).toBe(0)
    const bundle = path.join(dir, "bundle")
    const unpack = await Effect.runPromise(Tools.umoci(["unpack", "--rootless", "--image", `${out}:docker`, bundle]))
    expect(unpack.exitCode).toBe(0)
    expect(fs.existsSync(path.join(bundle, "rootfs", docker.layers[0]!.fileName!))).toBe(true)
  })

  it("pull --json of a Docker manifest list into oci: gives an OCI index that skopeo copy --all reads", async () => {
    const dir = tmp()
    const out = path.join(dir, "layout")
    const result = JSON.parse(
      run(await ocidist(["pull", "--json", `${registry.host}/app:list`, `oci:${out}:1`]))
    ) as Copied
    const image = result.images[0]!
    expect(image.sourceDigest).toBe(list.digest)
    expect(image.converted).toEqual({ from: DOCKER_LIST, to: OCI_INDEX })
    expect(image.manifests.map((m) => m.sourceDigest)).toEqual([
      ...list.images.map((i) => i.manifestDigest),
      list.digest
    ])
    expect(layoutIndex(out).manifests.map((m) => [m.digest, m.mediaType])).toEqual([[result.digest, OCI_INDEX]])
    await skopeo(["copy", "-q", "--all", `oci:${out}:1`, `dir:${path.join(dir, "dir")}`])
  })

  it("--format keep keeps the Docker digests in a layout", async () => {
    const out = path.join(tmp(), "layout")
    const result = JSON.parse(
      run(await ocidist(["pull", "--json", "--format", "keep", `${registry.host}/app:list`, out]))
    ) as Copied
    expect(result.digest).toBe(list.digest)
    expect(result.images[0]!.converted).toBeUndefined()
    expect(layoutIndex(out).manifests.map((m) => m.mediaType)).toEqual([DOCKER_LIST])
  })

  it("copy between registries keeps digests by default; --format oci converts there too", async () => {
    const kept = JSON.parse(
      run(await ocidist(["copy", "--json", `${registry.host}/app:list`, `${registry.host}/kept:1`]))
    ) as Copied
    expect(kept.digest).toBe(list.digest)
    const converted = JSON.parse(
      run(await ocidist(["copy", "--json", "--format", "oci", `${registry.host}/app:docker`, `${registry.host}/oci:1`]))
    ) as Copied
    expect(converted.images[0]!.converted).toEqual({ from: DOCKER_MANIFEST, to: OCI_MANIFEST })
    const raw = JSON.parse(
      await skopeo(["inspect", "--tls-verify=false", "--raw", `docker://${registry.host}/oci:1`])
    ) as {
      mediaType: string
      annotations: Record<string, string>
    }
    expect(raw.mediaType).toBe(OCI_MANIFEST)
    expect(raw.annotations).toEqual({ "io.ocidist.source.digest": docker.manifestDigest })
  })

  it("push --format docker of an OCI image gives schema 2 that skopeo inspects", async () => {
    const text = run(
      await ocidist(["push", "--format", "docker", `oci:${layout}:oci`, `${registry.host}/v2s2:1`])
    )
    const raw = JSON.parse(
      await skopeo(["inspect", "--tls-verify=false", "--raw", `docker://${registry.host}/v2s2:1`])
    ) as {
      mediaType: string
      config: { mediaType: string; digest: string }
    }
    expect(raw.mediaType).toBe(DOCKER_MANIFEST)
    expect(raw.config).toMatchObject({
      mediaType: "application/vnd.docker.container.image.v1+json",
      digest: oci.configDigest
    })
    const inspected = JSON.parse(
      await skopeo(["inspect", "--tls-verify=false", `docker://${registry.host}/v2s2:1`])
    ) as { Digest: string; Layers: Array<string> }
    expect(inspected.Layers).toEqual(oci.layers.map((l) => l.digest))
    expect(text).toContain(
      `converted OCI manifest \u2192 Docker manifest: ${oci.manifestDigest} \u2192 ${inspected.Digest}`
    )
  })

  it("--format docker refuses an artifact before writing anything, exit 1, naming its type", async () => {
    const r = await ocidist([
      "copy",
      "--format",
      "docker",
      `${registry.host}/app:artifact`,
      `${registry.host}/refused:1`
    ])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain(artifact.manifestDigest)
    expect(r.stderr).toContain("application/vnd.example.sbom.v1")
    expect(r.stderr).toContain("Docker")
    const tags = await ocidist(["tags", `${registry.host}/refused`])
    expect(tags.code).toBe(3)
    const out = path.join(tmp(), "layout")
    const pulled = await ocidist(["pull", "--format", "docker", `${registry.host}/app:artifact`, out])
    expect(pulled.code).toBe(1)
    expect(fs.existsSync(out)).toBe(false)
  })

  it("pull --format oci-archive is deprecated: an archive still, one warning line (none with --json)", async () => {
    const dir = tmp()
    const file = path.join(dir, "app.tar")
    const r = await ocidist(["pull", "--format", "oci-archive", `${registry.host}/app:docker`, file])
    expect(r.code).toBe(0)
    expect(r.stderr.split("\n").filter((l) => l.includes("deprecated"))).toEqual([
      "warning: --format oci-archive is deprecated: write the destination as oci-archive:<path>"
    ])
    expect(fs.statSync(file).isFile()).toBe(true)
    // an oci-archive gets OCI media types
    expect(r.stdout).toContain("converted Docker manifest \u2192 OCI manifest")
    const inspected = JSON.parse(await skopeo(["inspect", `oci-archive:${file}`])) as { Digest: string }
    expect(r.stdout).toContain(`Digest: ${inspected.Digest}`)
    const quiet = await ocidist([
      "pull",
      "--json",
      "--format",
      "docker-archive",
      `${registry.host}/app:docker`,
      path.join(dir, "d.tar")
    ])
    expect(quiet.code).toBe(0)
    expect(quiet.stderr).not.toContain("deprecated")
    expect((JSON.parse(quiet.stdout) as Copied).digest).toBe(docker.manifestDigest)
  })
})

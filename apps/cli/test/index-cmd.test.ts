// `index create|append|remove|annotate` against the embedded registry, an OCI layout and an oci-archive:
// platforms read from the configs, manifests from elsewhere copied in, skopeo reading what is written.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist } from "./cli.js"
import { acquire, Fixtures, layoutIndex, sha256, Tools, verifyLayoutBlobs } from "./support.js"

let close: () => Promise<void>
let registry: Registry.Running
let amd64: Fixtures.Image
let arm64: Fixtures.Image
let dir: string
let source: string

const run = async (args: ReadonlyArray<string>) => {
  const r = await ocidist(args)
  expect(r.stderr, args.join(" ")).toBe("")
  expect(r.code, args.join(" ")).toBe(0)
  return r.stdout.trim()
}

// asynchronous: the embedded registry answers from this process, which spawnSync would block
const skopeo = (args: ReadonlyArray<string>) =>
  new Promise<string>((resolve, reject) => {
    execFile("skopeo", ["--insecure-policy", ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`skopeo ${args.join(" ")}: ${stderr}`))
      else resolve(stdout)
    })
  })

interface Index {
  readonly mediaType: string
  readonly manifests: ReadonlyArray<
    { digest: string; mediaType: string; platform?: { os: string; architecture: string }; annotations?: object }
  >
  readonly annotations?: Record<string, string>
}

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* NodeRegistry.start({})
    const dir = yield* Tools.tempDir("ocidist-cli-index-")
    const fixture = path.join(dir, "fixture")
    const amd64 = yield* Fixtures.makeImage(fixture, { seed: "cli/index/amd64", layers: [{ size: 2000 }] })
    const arm64 = yield* Fixtures.makeImage(fixture, {
      seed: "cli/index/arm64",
      layers: [{ size: 3000 }],
      platform: { os: "linux", architecture: "arm64" }
    })
    const source = path.join(dir, "source")
    yield* Fixtures.writeLayout(source, [{ root: amd64, tag: "amd64" }, { root: arm64, tag: "arm64" }])
    return { registry, dir, amd64, arm64, source }
  }))
  close = acquired.close
  ;({ amd64, arm64, dir, registry, source } = acquired.value)
  await run(["push", "-q", `oci:${source}:amd64`, `${registry.host}/app:amd64`])
  await run(["push", "-q", `oci:${source}:arm64`, `${registry.host}/app:arm64`])
}, 60_000)

afterAll(() => close?.())

describe.concurrent("index (CLI)", () => {
  it("create in a registry: platforms from the configs, the digest printed; skopeo reads and copies it", async () => {
    const digest = await run([
      "index",
      "create",
      `${registry.host}/app:multi`,
      "-m",
      `${registry.host}/app:amd64`,
      "-m",
      `${registry.host}/app:arm64`,
      "--annotation",
      "org.example.k=v"
    ])
    const raw = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/app:multi`])
    expect(sha256(raw)).toBe(digest)
    const index = JSON.parse(raw) as Index
    expect(index.mediaType).toBe("application/vnd.oci.image.index.v1+json")
    expect(index.annotations).toEqual({ "org.example.k": "v" })
    expect(index.manifests.map((m) => [m.digest, m.platform])).toEqual([
      [amd64.manifestDigest, { os: "linux", architecture: "amd64" }],
      [arm64.manifestDigest, { os: "linux", architecture: "arm64" }]
    ])
    const out = path.join(dir, "skopeo-copy")
    await skopeo(["copy", "--all", "--src-tls-verify=false", `docker://${registry.host}/app:multi`, `oci:${out}:x`])
    expect(verifyLayoutBlobs(out)).toBe(7) // index, 2 manifests, 2 configs, 2 layers
  })

  it("create in another repository copies the entries in; append, remove --platform, annotate", async () => {
    const dst = `${registry.host}/other:multi`
    await run(["index", "create", dst, "-m", `${registry.host}/app:amd64`])
    // the manifest and its blobs are now in the other repository
    expect(
      await skopeo([
        "inspect",
        "--raw",
        "--tls-verify=false",
        `docker://${registry.host}/other@${amd64.manifestDigest}`
      ])
    )
      .toBe(Buffer.from(amd64.manifest).toString())
    // from a layout into the registry: copied too
    await run(["index", "append", dst, "-m", `oci:${source}:arm64`])
    let index = JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${dst}`])) as Index
    expect(index.manifests.map((m) => m.digest)).toEqual([amd64.manifestDigest, arm64.manifestDigest])
    await run(["index", "remove", "--platform", "linux/amd64", dst])
    index = JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${dst}`])) as Index
    expect(index.manifests.map((m) => m.digest)).toEqual([arm64.manifestDigest])
    const annotated = JSON.parse(
      await run([
        "index",
        "annotate",
        "--json",
        dst,
        "--annotation",
        "a=1",
        "--manifest-annotation",
        `${arm64.manifestDigest}=b=2`
      ])
    ) as { digest: string; manifests: Index["manifests"] }
    index = JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${dst}`])) as Index
    expect(index.annotations).toEqual({ a: "1" })
    expect(index.manifests[0]!.annotations).toEqual({ b: "2" })
    expect(annotated.manifests).toEqual(index.manifests)
  })

  it("in an OCI layout: a nested index as an entry, no entries for children; remove --digest", async () => {
    const layout = path.join(dir, "layout")
    fs.cpSync(source, layout, { recursive: true })
    const inner = await run(["index", "create", `oci:${layout}:inner`, "-m", `oci:${layout}:amd64`])
    const outer = await run([
      "index",
      "create",
      `oci:${layout}:outer`,
      "-m",
      `oci:${layout}:inner`,
      "-m",
      `oci:${layout}:arm64`
    ])
    const entries = layoutIndex(layout).manifests
    expect(entries.find((e) => e.annotations?.["org.opencontainers.image.ref.name"] === "outer")?.digest).toBe(outer)
    // only the tagged index entries: no untagged entries for the children
    expect(entries.every((e) => e.annotations?.["org.opencontainers.image.ref.name"] !== undefined)).toBe(true)
    const raw = await skopeo(["inspect", "--raw", `oci:${layout}:outer`])
    const index = JSON.parse(raw) as Index
    expect(index.manifests.map((m) => [m.digest, m.mediaType])).toEqual([
      [inner, "application/vnd.oci.image.index.v1+json"],
      [arm64.manifestDigest, "application/vnd.oci.image.manifest.v1+json"]
    ])
    expect(index.manifests[0]!.platform).toBeUndefined()
    const removed = await run(["index", "remove", `oci:${layout}:outer`, "--digest", inner])
    expect(JSON.parse(await skopeo(["inspect", "--raw", `oci:${layout}:outer`])) as Index).toMatchObject({
      manifests: [{ digest: arm64.manifestDigest }]
    })
    expect(sha256(await skopeo(["inspect", "--raw", `oci:${layout}:outer`]))).toBe(removed)
  })

  it("in an oci-archive: written holding the index, from registry manifests; append reads it back", async () => {
    const archive = path.join(dir, "multi.tar")
    await run(["index", "create", `oci-archive:${archive}:multi`, "-m", `${registry.host}/app:amd64`])
    const digest = await run(["index", "append", `oci-archive:${archive}:multi`, "-m", `${registry.host}/app:arm64`])
    const raw = await skopeo(["inspect", "--raw", `oci-archive:${archive}:multi`])
    expect(sha256(raw)).toBe(digest)
    expect((JSON.parse(raw) as Index).manifests.map((m) => m.digest)).toEqual([
      amd64.manifestDigest,
      arm64.manifestDigest
    ])
    const out = path.join(dir, "from-archive")
    await skopeo(["copy", "--all", `oci-archive:${archive}:multi`, `oci:${out}:x`])
    expect(verifyLayoutBlobs(out)).toBe(7)
  })

  it("refusals: no --manifest (exit 2), remove of a platform the index lacks (exit 3), a docker-archive", async () => {
    const none = await ocidist(["index", "create", `${registry.host}/app:none`])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain("--manifest")
    await run(["index", "create", `${registry.host}/app:one`, "-m", `${registry.host}/app:amd64`])
    const missing = await ocidist(["index", "remove", "--platform", "linux/s390x", `${registry.host}/app:one`])
    expect(missing.code).toBe(3)
    expect(missing.stderr).toContain("linux/amd64")
    const docker = await ocidist([
      "index",
      "create",
      `docker-archive:${path.join(dir, "d.tar")}`,
      "-m",
      `${registry.host}/app:amd64`
    ])
    expect(docker.code).toBe(2)
    expect(docker.stderr).toContain("docker-archive holds images")
    const notIndex = await ocidist([
      "index",
      "append",
      `${registry.host}/app:amd64`,
      "-m",
      `${registry.host}/app:arm64`
    ])
    expect(notIndex.code).toBe(2)
    expect(notIndex.stderr).toContain("not an index")
  })
})

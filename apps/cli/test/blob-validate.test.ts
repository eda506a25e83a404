// `blob push` / `blob delete` and `validate` against the embedded registry, an OCI layout and an oci-archive:
// stdin streamed and spooled (its digest equals sha256sum's), blobs in use refused, corruption found (exit 5).
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as TarCodec from "@ocidist/layout/Tar"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist } from "./cli.js"
import { acquire, Fixtures, RawLayout, sha256, Tar, Tools } from "./support.js"

let close: () => Promise<void>
let registry: Registry.Running
let image: Fixtures.Image
let dir: string
let source: string

const run = async (args: ReadonlyArray<string>, stdin?: Uint8Array) => {
  const r = await ocidist(args, stdin === undefined ? {} : { stdin })
  expect(r.stderr, args.join(" ")).toBe("")
  expect(r.code, args.join(" ")).toBe(0)
  return r.stdout.trim()
}

const blobPath = (layout: string, digest: string) =>
  path.join(layout, "blobs", "sha256", digest.slice("sha256:".length))

const copyOf = (name: string) => {
  const layout = path.join(dir, name)
  fs.cpSync(source, layout, { recursive: true })
  return layout
}

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* NodeRegistry.start({})
    const dir = yield* Tools.tempDir("ocidist-cli-blob-validate-")
    const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
      seed: "cli/blob-validate",
      layers: [{ size: 3000 }, { size: 5000 }]
    })
    const source = path.join(dir, "source")
    yield* Fixtures.writeLayout(source, [{ root: image, tag: "v1" }])
    return { registry, dir, image, source }
  }))
  close = acquired.close
  ;({ dir, image, registry, source } = acquired.value)
  await run(["push", "-q", `oci:${source}:v1`, `${registry.host}/app:1`])
}, 60_000)

afterAll(() => close?.())

describe.concurrent("blob push / delete (CLI)", () => {
  it("pushes a few MiB from stdin: the descriptor printed, its digest sha256sum's; downloads back equal", async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17)
    const out = await run(["blob", "push", "--media-type", "application/x-test", `${registry.host}/app`, "-"], bytes)
    expect(JSON.parse(out)).toEqual({ mediaType: "application/x-test", digest: sha256(bytes), size: bytes.length })
    const back = await ocidist(["blob", `${registry.host}/app@${sha256(bytes)}`])
    expect(back.code).toBe(0)
    expect(Buffer.compare(back.stdoutBytes, bytes)).toBe(0)
  })

  it("pushes a file into a layout; deletes it from the registry (then 404: exit 3)", async () => {
    const file = path.join(dir, "payload.bin")
    const bytes = randomBytes(100_000)
    fs.writeFileSync(file, bytes)
    const layout = path.join(dir, "pushed-layout")
    const descriptor = JSON.parse(await run(["blob", "push", `oci:${layout}`, file])) as { digest: string }
    expect(descriptor).toEqual({ mediaType: "application/octet-stream", digest: sha256(bytes), size: bytes.length })
    expect(Buffer.compare(fs.readFileSync(blobPath(layout, descriptor.digest)), bytes)).toBe(0)
    // an unreferenced blob of a layout is deleted
    expect(await run(["blob", "delete", `oci:${layout}@${descriptor.digest}`])).toContain("Deleted")
    expect(fs.existsSync(blobPath(layout, descriptor.digest))).toBe(false)

    await run(["blob", "push", `${registry.host}/scratch`, file])
    const deleted = JSON.parse(await run(["blob", "delete", "--json", `${registry.host}/scratch@${descriptor.digest}`]))
    expect(deleted).toMatchObject({ digest: descriptor.digest, deleted: true })
    expect((await ocidist(["blob", `${registry.host}/scratch@${descriptor.digest}`])).code).toBe(3)
  })

  it("a layout blob a manifest uses: refused naming the manifest (exit 2), deleted with --force", async () => {
    const layout = copyOf("in-use")
    const layer = image.layers[0]!.digest
    const refused = await ocidist(["blob", "delete", `oci:${layout}@${layer}`])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(image.manifestDigest)
    expect(fs.existsSync(blobPath(layout, layer))).toBe(true)
    await run(["blob", "delete", "--force", `oci:${layout}@${layer}`])
    expect(fs.existsSync(blobPath(layout, layer))).toBe(false)
  })

  it("refusals: an archive (exit 2), no digest, no reference", async () => {
    const archive = await ocidist([
      "blob",
      "push",
      `oci-archive:${path.join(dir, "x.tar")}`,
      path.join(source, "oci-layout")
    ])
    expect(archive.code).toBe(2)
    expect(archive.stderr).toContain("an archive holds images")
    const noDigest = await ocidist(["blob", "delete", `${registry.host}/app:1`])
    expect(noDigest.code).toBe(2)
    const bare = await ocidist(["blob"])
    expect(bare.code).toBe(2)
    expect(bare.stderr).toContain("blob push")
  })
})

describe.concurrent("validate (CLI)", () => {
  it("passes on a good image in a registry, a layout and an oci-archive (with --full)", async () => {
    const archive = path.join(dir, "good.tar")
    await run(["pull", "-q", `${registry.host}/app:1`, `oci-archive:${archive}:1`])
    for (const location of [`${registry.host}/app:1`, `oci:${source}:v1`, `oci-archive:${archive}:1`]) {
      await run(["validate", "-q", location])
      const full = JSON.parse(await run(["validate", "--full", "--json", location]))
      expect(full).toMatchObject({ ok: true, problems: [], checked: 4, digest: image.manifestDigest })
    }
  })

  it("finds a flipped byte in a layer (DigestMismatch) and a wrong size: exit 5, one line each", async () => {
    const layout = copyOf("corrupt")
    const [first, second] = image.layers
    const file = blobPath(layout, first!.digest)
    const bytes = fs.readFileSync(file)
    bytes[100] = bytes[100]! ^ 0xff
    fs.writeFileSync(file, bytes)
    fs.appendFileSync(blobPath(layout, second!.digest), "x")
    const r = await ocidist(["validate", `oci:${layout}:v1`])
    expect(r.code).toBe(5)
    const lines = r.stdout.trim().split("\n")
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(new RegExp(`^DigestMismatch ${first!.digest} \\(in ${image.manifestDigest}\\)`))
    expect(lines[1]).toMatch(new RegExp(`^SizeMismatch ${second!.digest}`))
    expect(r.stderr).toContain("2 problems")
    const json = await ocidist(["validate", "--json", "--full", `oci:${layout}:v1`])
    expect(json.code).toBe(5)
    const result = JSON.parse(json.stdout) as { ok: boolean; problems: Array<{ kind: string; digest: string }> }
    expect(result.ok).toBe(false)
    expect(result.problems.map((p) => [p.kind, p.digest])).toEqual([
      ["DigestMismatch", first!.digest],
      ["SizeMismatch", second!.digest]
    ])
  })

  it("--full finds a layer whose uncompressed content is not its diff_id", async () => {
    // a layout whose config lists another diff_id for the first layer: digests all fine, content not
    const layout = copyOf("diffid")
    const config = JSON.parse(fs.readFileSync(blobPath(layout, image.configDigest), "utf8")) as {
      rootfs: { diff_ids: Array<string> }
    }
    config.rootfs.diff_ids[0] = sha256("something else")
    const configBytes = Buffer.from(JSON.stringify(config))
    fs.writeFileSync(blobPath(layout, sha256(configBytes)), configBytes)
    const manifest = JSON.parse(Buffer.from(image.manifest).toString()) as { config: { digest: string; size: number } }
    manifest.config = { ...manifest.config, digest: sha256(configBytes), size: configBytes.length }
    const manifestBytes = Buffer.from(JSON.stringify(manifest))
    fs.writeFileSync(blobPath(layout, sha256(manifestBytes)), manifestBytes)
    const ref = `oci:${layout}@${sha256(manifestBytes)}`
    await run(["validate", "-q", ref])
    const r = await ocidist(["validate", "--full", ref])
    expect(r.code).toBe(5)
    expect(r.stdout).toMatch(new RegExp(`^DiffIdMismatch ${image.layers[0]!.digest}`))
  })

  it("--full takes an entry's size from its PAX record (the ustar field 0), and reports one its data disagrees with", async () => {
    // the data of `big.tar`: a tar entry (its header checksums) then junk, misread by a reader trusting the field
    const body = Buffer.concat([
      Tar.entry({ name: "inner.txt", data: "a tar in the layer" }),
      Buffer.from("junk ".repeat(100))
    ])
    const layer = (size: number) =>
      Tar.archive([
        Tar.entry({ name: "PaxHeaders.0/big.tar", type: "x", data: TarCodec.paxRecord("size", String(size)) }),
        Tar.entry({ name: "big.tar" }),
        Buffer.concat([body, TarCodec.padding(body.length)]),
        Tar.entry({ name: "after.txt", data: "after the big file" })
      ])
    const layout = path.join(dir, "pax-size")
    const imageOf = (tag: string, tar: Uint8Array) => RawLayout.putTarImage(layout, tag, tar).layer.digest
    imageOf("good", layer(body.length))
    const bad = imageOf("bad", layer(body.length + 4096))
    await run(["push", "-q", `oci:${layout}:good`, `${registry.host}/pax:1`])
    for (const location of [`oci:${layout}:good`, `${registry.host}/pax:1`]) {
      expect(JSON.parse(await run(["validate", "--full", "--json", location]))).toMatchObject({ ok: true, checked: 3 })
    }
    const r = await ocidist(["validate", "--full", `oci:${layout}:bad`])
    expect(r.code).toBe(5)
    expect(r.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(
        new RegExp(`^InvalidLayer ${bad} \\(in sha256:[0-9a-f]{64}\\): the tar stream is truncated`)
      )
    ])
  })

  it("--referrers checks an attached SBOM and its signature (registry, layout); a corrupted one only then", async () => {
    const sbomFile = path.join(dir, "sbom.spdx.json")
    fs.writeFileSync(sbomFile, "{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"cli\"}")
    const sigFile = path.join(dir, "sbom.sig")
    fs.writeFileSync(sigFile, "a signature of the sbom")
    const layout = copyOf("referrers")
    await run(["push", "-q", `oci:${source}:v1`, `${registry.host}/referred:1`])
    for (
      const [subject, at] of [
        [`${registry.host}/referred:1`, (d: string) => `${registry.host}/referred@${d}`],
        [`oci:${layout}:v1`, (d: string) => `oci:${layout}@${d}`]
      ] as const
    ) {
      const sbom = await run(["attach", "-q", "--artifact-type", "application/spdx+json", subject, sbomFile])
      await run(["attach", "-q", "--artifact-type", "application/vnd.example.sig", at(sbom), sigFile])
      // the image (manifest, config, 2 layers), the SBOM (manifest, empty config, layer), the signature
      // (manifest, layer)
      const all = JSON.parse(await run(["validate", "--referrers", "--json", subject]))
      expect(all).toMatchObject({ ok: true, problems: [], checked: 9, referrers: 2, digest: image.manifestDigest })
      const plain = JSON.parse(await run(["validate", "--json", subject]))
      expect(plain).toMatchObject({ ok: true, checked: 4, referrers: 0 })
      const r = await ocidist(["validate", "--referrers", subject])
      expect(r.code).toBe(0)
      expect(r.stderr).toMatch(/ok \(9 descriptors, .* read, 2 referrers\)/)
    }
    // the SBOM's layer in the layout, corrupted: not read without --referrers; found with it, under the SBOM
    const sbom = JSON.parse(await run(["referrers", "--json", `oci:${layout}:v1`])) as {
      referrers: Array<{ digest: string }>
    }
    const sbomDigest = sbom.referrers[0]!.digest
    const manifest = JSON.parse(fs.readFileSync(blobPath(layout, sbomDigest), "utf8")) as {
      layers: Array<{ digest: string }>
    }
    const sbomLayer = manifest.layers[0]!.digest
    fs.writeFileSync(blobPath(layout, sbomLayer), "{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"CLI\"}")
    await run(["validate", "-q", `oci:${layout}:v1`])
    const bad = await ocidist(["validate", "--referrers", `oci:${layout}:v1`])
    expect(bad.code).toBe(5)
    expect(bad.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^DigestMismatch ${sbomLayer} \\(in ${sbomDigest}\\)`))
    ])
  })
})

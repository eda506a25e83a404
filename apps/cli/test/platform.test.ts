// --platform selects everywhere it is accepted, or fails with PlatformNotFound (exit 3): `digest` of an index
// returns the platform's manifest digest (as crane does), a single-platform image that does not match is not
// pulled, and nested indexes (index → index → manifests) are descended. Against the embedded registry.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, layoutIndex, Tools, verifyLayoutBlobs } from "./support.js"

let close: () => Promise<void>
let registry: Registry.Running
let multi: Fixtures.Index
let single: Fixtures.Image
let nested: Fixtures.Index
let leaf: Fixtures.Image
let signature: Fixtures.Artifact

const tmp = () => tempDir("ocidist-cli-platform-")

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* NodeRegistry.start({})
    const dir = yield* Tools.tempDir("ocidist-cli-platform-")
    const multi = yield* Fixtures.multiPlatformIndex(dir, { seed: "ocidist/platform/multi" })
    const single = yield* Fixtures.makeImage(dir, { seed: "ocidist/platform/single", layers: [{ size: 700 }] })
    // index → [index → [ppc64le, riscv64], amd64]: the inner index declares no platform
    const ppc = yield* Fixtures.makeImage(dir, {
      seed: "ocidist/platform/ppc",
      layers: [{ size: 500 }],
      platform: { os: "linux", architecture: "ppc64le" }
    })
    const riscv = yield* Fixtures.makeImage(dir, {
      seed: "ocidist/platform/riscv",
      layers: [{ size: 600 }],
      platform: { os: "linux", architecture: "riscv64" }
    })
    const amd = yield* Fixtures.makeImage(dir, { seed: "ocidist/platform/amd", layers: [{ size: 400 }] })
    const inner = yield* Fixtures.makeIndex(dir, [ppc, riscv])
    const nested = yield* Fixtures.makeIndex(dir, [inner as unknown as Fixtures.Image, amd])
    const arm = multi.images.find((i) => i.descriptor.platform?.architecture === "arm64")!
    const signature = yield* Fixtures.makeArtifact(dir, {
      artifactType: "application/vnd.example.signature",
      payload: "signed arm64",
      subject: arm.descriptor
    })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [
      { root: signature, tag: "sig" },
      { root: multi, tag: "multi" },
      { root: single, tag: "single" },
      { root: nested, tag: "nested" }
    ])
    return { registry, multi, single, nested, leaf: riscv, layout, signature }
  }))
  close = acquired.close
  registry = acquired.value.registry
  multi = acquired.value.multi
  single = acquired.value.single
  nested = acquired.value.nested
  leaf = acquired.value.leaf
  signature = acquired.value.signature
  for (const tag of ["multi", "single", "nested", "sig"]) {
    const push = await ocidist(["push", "-q", `oci:${acquired.value.layout}:${tag}`, `${registry.host}/app:${tag}`])
    expect(push.stderr).toBe("")
    expect(push.code).toBe(0)
  }
}, 120_000)

afterAll(() => close?.())

const arm64 = () => multi.images.find((i) => i.descriptor.platform?.architecture === "arm64")!

describe.concurrent("--platform", () => {
  it("digest of an index: without --platform the index, with it the platform's manifest", async () => {
    const plain = await ocidist(["digest", `${registry.host}/app:multi`])
    expect(plain.code).toBe(0)
    expect(plain.stdout.trim()).toBe(multi.digest)
    const r = await ocidist(["digest", "--platform", "linux/arm64", `${registry.host}/app:multi`])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(arm64().manifestDigest)
    const j = await ocidist(["digest", "--json", "--platform", "linux/arm/v7", `${registry.host}/app:multi`])
    expect(j.code).toBe(0)
    const v7 = multi.images.find((i) => i.descriptor.platform?.variant === "v7")!
    expect(JSON.parse(j.stdout)).toMatchObject({ digest: v7.manifestDigest, size: v7.manifest.byteLength })
  })

  it("digest --platform of a platform the index lacks: PlatformNotFound, exit 3, the available ones listed", async () => {
    const r = await ocidist(["digest", "--platform", "linux/s390x", `${registry.host}/app:multi`])
    expect(r.code).toBe(3)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain("no manifest for platform linux/s390x")
    expect(r.stderr).toContain("linux/amd64, linux/arm64, linux/arm/v7")
    const j = await ocidist(["digest", "--json", "--platform", "linux/s390x", `${registry.host}/app:multi`])
    expect(j.code).toBe(3)
    expect(JSON.parse(j.stderr.trim().split("\n").at(-1)!)).toMatchObject({ error: "PlatformNotFound", exitCode: 3 })
  })

  it("digest of a single-platform image: its own digest when it matches, exit 3 when it does not", async () => {
    const ok = await ocidist(["digest", "--platform", "linux/amd64", `${registry.host}/app:single`])
    expect(ok.code).toBe(0)
    expect(ok.stdout.trim()).toBe(single.manifestDigest)
    const r = await ocidist(["digest", "--platform", "linux/arm64", `${registry.host}/app:single`])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain("no manifest for platform linux/arm64 (available: linux/amd64)")
  })

  it("pull --platform of a single-platform image of another platform: exit 3, nothing written", async () => {
    const out = path.join(tmp(), "layout")
    const r = await ocidist(["pull", "--platform", "linux/arm64", `${registry.host}/app:single`, out])
    expect(r.code).toBe(3)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain("no manifest for platform linux/arm64")
    expect(fs.existsSync(path.join(out, "index.json"))).toBe(false)
    expect(verifyLayoutBlobs(out)).toBe(0)
    // the matching platform pulls it as before
    const ok = await ocidist(["pull", "-q", "--platform", "linux/amd64", `${registry.host}/app:single`, out])
    expect(ok.code).toBe(0)
    expect(layoutIndex(out).manifests.map((m) => m.digest)).toEqual([single.manifestDigest])
  })

  it("a nested index (index → index → manifests): digest, manifest, inspect and pull select the leaf", async () => {
    const ref = `${registry.host}/app:nested`
    const d = await ocidist(["digest", "--platform", "linux/riscv64", ref])
    expect(d.stderr).toBe("")
    expect(d.code).toBe(0)
    expect(d.stdout.trim()).toBe(leaf.manifestDigest)
    const m = await ocidist(["manifest", "--platform", "linux/riscv64", ref])
    expect(m.code).toBe(0)
    expect(m.stdoutBytes.equals(Buffer.from(leaf.manifest))).toBe(true)
    const i = await ocidist(["inspect", "--json", "--platform", "linux/riscv64", ref])
    expect(i.code).toBe(0)
    expect(JSON.parse(i.stdout)).toMatchObject({ digest: leaf.manifestDigest })
    const c = await ocidist(["config", "--platform", "linux/riscv64", ref])
    expect(c.code).toBe(0)
    expect(c.stdoutBytes.equals(Buffer.from(leaf.config))).toBe(true)
    const out = path.join(tmp(), "layout")
    const p = await ocidist(["pull", "-q", "--platform", "linux/riscv64", ref, out])
    expect(p.code).toBe(0)
    expect(p.stdout.trim()).toBe(leaf.manifestDigest)
    expect(layoutIndex(out).manifests.map((e) => e.digest)).toEqual([leaf.manifestDigest])
    expect(verifyLayoutBlobs(out)).toBe(3)
    // the direct entry still wins at the top level; a platform nowhere in the tree lists every level's
    const top = await ocidist(["digest", "--platform", "linux/amd64", ref])
    expect(top.stdout.trim()).toBe(nested.images[1]!.manifestDigest)
    const none = await ocidist(["digest", "--platform", "linux/s390x", ref])
    expect(none.code).toBe(3)
    expect(none.stderr).toContain("available: linux/amd64, linux/ppc64le, linux/riscv64")
  })

  it("manifest, config and inspect fail the same way for a platform that is not there", async () => {
    for (const command of ["manifest", "config", "inspect"]) {
      const r = await ocidist([command, "--platform", "linux/s390x", `${registry.host}/app:multi`])
      expect(r.code, command).toBe(3)
      expect(r.stderr, command).toContain("no manifest for platform linux/s390x")
      const s = await ocidist([command, "--platform", "linux/arm64", `${registry.host}/app:single`])
      expect(s.code, command).toBe(3)
    }
  })

  it("referrers --platform lists the referrers of that platform's manifest", async () => {
    const ref = `${registry.host}/app:multi`
    const r = await ocidist(["referrers", "--json", "--platform", "linux/arm64", ref])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const listed = JSON.parse(r.stdout) as {
      subject: { digest: string }
      referrers: ReadonlyArray<{ digest: string }>
    }
    expect(listed.subject.digest).toBe(arm64().manifestDigest)
    expect(listed.referrers.map((x) => x.digest)).toEqual([signature.manifestDigest])
    const none = await ocidist(["referrers", "--json", ref])
    expect(none.code).toBe(0)
    expect((JSON.parse(none.stdout) as { referrers: Array<unknown> }).referrers).toEqual([])
    const missing = await ocidist(["referrers", "--platform", "linux/s390x", ref])
    expect(missing.code).toBe(3)
  })
})

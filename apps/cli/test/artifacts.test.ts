// Artifacts into a docker-archive, which holds container images only: `copy` and `pull` of an artifact (an
// `artifactType`, or a config that is not an image config) fail before anything is written, exit 1
// (`UnsupportedContent`), naming the artifact type; images still go. Against the embedded registry.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, RawLayout, Tools } from "./support.js"

const SBOM = "application/vnd.example.sbom.v1+json"
const HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"

let close: () => Promise<void>
let registry: Registry.Running
let layout: string

const tmp = () => tempDir("ocidist-cli-artifacts-")

/** Adds a blob to a layout; returns its descriptor. */
const blob = (dir: string, mediaType: string, bytes: Uint8Array | string) => RawLayout.putBlob(dir, bytes, mediaType)

/** A Helm-chart-like artifact: no `artifactType`, a config of its own media type, a non-image layer. */
const addHelmChart = (dir: string, tag: string) => {
  const config = blob(dir, HELM_CONFIG, JSON.stringify({ name: "chart", version: "1.0.0" }))
  const layer = blob(dir, "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "not really a chart")
  const manifest = blob(
    dir,
    "application/vnd.oci.image.manifest.v1+json",
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config,
      layers: [layer]
    })
  )
  RawLayout.addTag(dir, manifest, tag)
}

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* NodeRegistry.start({})
    const dir = yield* Tools.tempDir("ocidist-cli-artifacts-")
    const image = yield* Fixtures.makeImage(dir, { seed: "ocidist/artifacts/image", layers: [{ size: 500 }] })
    const sbom = yield* Fixtures.makeArtifact(dir, { artifactType: SBOM, payload: "{\"packages\":[]}" })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "image" }, { root: sbom, tag: "sbom" }])
    return { registry, layout }
  }))
  close = acquired.close
  registry = acquired.value.registry
  layout = acquired.value.layout
  addHelmChart(layout, "chart")
  const push = await ocidist(["push", "-q", `oci:${layout}:sbom`, `${registry.host}/art:sbom`])
  expect(push.stderr).toBe("")
  expect(push.code).toBe(0)
}, 60_000)

afterAll(() => close?.())

describe.concurrent("artifacts into a docker-archive", () => {
  it("copy of an artifact with an artifactType: exit 1 before anything is written, the type named", async () => {
    const dir = tmp()
    const out = path.join(dir, "out.tar")
    for (const extra of [[], ["--dry-run"], ["--platform", "linux/amd64"]]) {
      const r = await ocidist(["copy", ...extra, `oci:${layout}:sbom`, `docker-archive:${out}`])
      expect(r.code, extra.join(" ")).toBe(1)
      expect(r.stdout).toBe("")
      expect(r.stderr).toContain(`artifactType ${SBOM}`)
      expect(r.stderr).toContain("docker-archive holds images only")
      expect(r.stderr).not.toContain("tagged")
      expect(fs.readdirSync(dir)).toEqual([])
    }
    const j = await ocidist(["copy", "--json", `oci:${layout}:sbom`, `docker-archive:${out}`])
    expect(j.code).toBe(1)
    expect(JSON.parse(j.stderr.trim().split("\n").at(-1)!)).toMatchObject({ error: "UnsupportedContent", exitCode: 1 })
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it("copy of an artifact without artifactType (a Helm chart's config): refused, the config type named", async () => {
    const dir = tmp()
    const r = await ocidist(["copy", `oci:${layout}:chart`, `docker-archive:${path.join(dir, "chart.tar")}`])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`config ${HELM_CONFIG}`)
    expect(r.stderr).not.toContain("tagged")
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it("pull of an artifact from a registry into a docker-archive: refused, nothing written", async () => {
    const dir = tmp()
    const r = await ocidist(["pull", `${registry.host}/art:sbom`, `docker-archive:${path.join(dir, "sbom.tar")}`])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain(`artifactType ${SBOM}`)
    expect(r.stderr).not.toContain("tagged")
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it("an image still goes into a docker-archive, and the artifact into an oci-archive", async () => {
    const dir = tmp()
    const image = await ocidist(["copy", "-q", `oci:${layout}:image`, `docker-archive:${path.join(dir, "image.tar")}`])
    expect(image.stderr).toBe("")
    expect(image.code).toBe(0)
    const sbom = await ocidist(["copy", "-q", `oci:${layout}:sbom`, `oci-archive:${path.join(dir, "sbom.tar")}`])
    expect(sbom.stderr).toBe("")
    expect(sbom.code).toBe(0)
    expect(fs.readdirSync(dir).sort()).toEqual(["image.tar", "sbom.tar"])
  })
})

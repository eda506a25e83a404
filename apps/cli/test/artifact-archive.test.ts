// `artifact push` and `attach` straight into an oci-archive, through the bundled binary: a new archive and an
// existing one holding an image (skopeo still reads the image), `artifact pull` from the archive gives the same
// files, `validate --referrers` checks the attached artifact there; a docker-archive refused (exit 2).
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist } from "./cli.js"
import { acquire, Fixtures, Tools } from "./support.js"

let close: () => Promise<void>
let dir: string
let image: Fixtures.Image
let source: string

const run = async (args: ReadonlyArray<string>) => {
  const r = await ocidist(args)
  expect(r.stderr, args.join(" ")).toBe("")
  expect(r.code, args.join(" ")).toBe(0)
  return r.stdout.trim()
}

const skopeo = async (args: ReadonlyArray<string>) => {
  const r = await Effect.runPromise(Tools.skopeo(["--insecure-policy", ...args]))
  expect(r.exitCode, r.stderr).toBe(0)
  return r.stdout
}

/** Every file under `root` (relative path → content), sorted. */
const contents = (root: string): Array<[string, string]> =>
  (fs.readdirSync(root, { recursive: true }) as Array<string>)
    .filter((p) => fs.statSync(path.join(root, p)).isFile())
    .map((p): [string, string] => [p.split(path.sep).join("/"), fs.readFileSync(path.join(root, p), "latin1")])
    .sort(([a], [b]) => a.localeCompare(b))

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const dir = yield* Tools.tempDir("ocidist-cli-artifact-archive-")
    const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
      seed: "cli/artifact-archive",
      layers: [{ size: 4000 }]
    })
    const source = path.join(dir, "source")
    yield* Fixtures.writeLayout(source, [{ root: image, tag: "v1" }])
    const files = path.join(dir, "files")
    fs.mkdirSync(path.join(files, "chart", "templates"), { recursive: true })
    fs.writeFileSync(path.join(files, "sbom.spdx.json"), "{\"spdxVersion\":\"SPDX-2.3\"}")
    fs.writeFileSync(path.join(files, "notes.txt"), "release notes\n")
    fs.writeFileSync(path.join(files, "chart", "Chart.yaml"), "name: demo\n")
    fs.writeFileSync(path.join(files, "chart", "templates", "svc.yaml"), "kind: Service\n")
    return { dir, image, source }
  }))
  close = acquired.close
  ;({ dir, image, source } = acquired.value)
}, 60_000)

afterAll(() => close?.())

describe.concurrent("artifact push / attach into an oci-archive (CLI)", () => {
  it("into a new archive: artifact pull from it gives the same files; skopeo reads it", async () => {
    const work = fs.mkdtempSync(path.join(dir, "new-"))
    const archive = path.join(work, "a.tar")
    const files = path.join(dir, "files")
    const digest = await run([
      "artifact",
      "push",
      "-q",
      "--artifact-type",
      "application/vnd.example.bundle",
      `oci-archive:${archive}:bundle`,
      path.join(files, "sbom.spdx.json"),
      path.join(files, "notes.txt"),
      path.join(files, "chart")
    ])
    const raw = JSON.parse(await skopeo(["inspect", "--raw", `oci-archive:${archive}:bundle`])) as {
      artifactType: string
    }
    expect(raw.artifactType).toBe("application/vnd.example.bundle")
    const out = path.join(work, "out")
    await run(["artifact", "pull", "-q", `oci-archive:${archive}:bundle`, "-o", out])
    expect(contents(out)).toEqual(contents(files))
    expect(JSON.parse(await run(["digest", "--json", `oci-archive:${archive}:bundle`]))).toMatchObject({ digest })
  })

  it("into an archive holding an image: the image is kept; attach + validate --referrers there", async () => {
    const work = fs.mkdtempSync(path.join(dir, "existing-"))
    const archive = path.join(work, "a.tar")
    await run(["copy", "-q", `oci:${source}:v1`, `oci-archive:${archive}:app`])
    const sbom = path.join(dir, "files", "sbom.spdx.json")
    await run(["artifact", "push", "-q", `oci-archive:${archive}:sbom`, sbom])
    // the image is still there (skopeo), the artifact beside it
    const inspected = JSON.parse(await skopeo(["inspect", `oci-archive:${archive}:app`])) as { Digest: string }
    expect(inspected.Digest).toBe(image.manifestDigest)
    expect((await run(["tags", `oci-archive:${archive}`])).split("\n").sort()).toEqual(["app", "sbom"])
    const out = path.join(work, "out")
    await run(["artifact", "pull", "-q", `oci-archive:${archive}:sbom`, "-o", out])
    expect(fs.readFileSync(path.join(out, "sbom.spdx.json"), "utf8")).toBe("{\"spdxVersion\":\"SPDX-2.3\"}")
    // a signature attached to the image inside the archive: listed, and checked by validate --referrers
    const sig = path.join(work, "image.sig")
    fs.writeFileSync(sig, "signature\n")
    const attached = await run([
      "attach",
      "-q",
      "--artifact-type",
      "application/vnd.example.sig",
      `oci-archive:${archive}:app`,
      sig
    ])
    expect(await run(["referrers", `oci-archive:${archive}:app`])).toContain(attached)
    const validated = JSON.parse(await run(["validate", "--referrers", "--json", `oci-archive:${archive}:app`]))
    expect(validated).toMatchObject({ ok: true, referrers: 1, checked: 6, digest: image.manifestDigest })
    await skopeo(["inspect", `oci-archive:${archive}:app`])
  })

  it("a docker-archive is refused (exit 2), nothing written", async () => {
    const work = fs.mkdtempSync(path.join(dir, "docker-"))
    const r = await ocidist([
      "artifact",
      "push",
      `docker-archive:${path.join(work, "d.tar")}`,
      path.join(dir, "files", "notes.txt")
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("docker-archive holds images only")
    expect(fs.readdirSync(work)).toEqual([])
  })
})

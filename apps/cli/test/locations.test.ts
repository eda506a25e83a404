// Locations as people write them, against the embedded registry (@ocidist/registry): a bare `*.tar` on the local
// side of pull/push (an oci-archive written; an archive read as what it holds), `oci:<dir>@<digest>`, and
// `catalog` of something that is not a registry.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, Tools } from "./support.js"

let close: () => Promise<void>
let registry: Registry.Running
let image: Fixtures.Image
let layout: string

const tmp = () => tempDir("ocidist-cli-locations-")

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* NodeRegistry.start()
    const dir = yield* Tools.tempDir("ocidist-cli-locations-")
    const image = yield* Fixtures.makeImage(dir, { seed: "ocidist/locations", layers: [{ size: 4096 }] })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
    return { registry, image, layout }
  }))
  close = acquired.close
  registry = acquired.value.registry
  image = acquired.value.image
  layout = acquired.value.layout
  const push = await ocidist(["push", "-q", `oci:${layout}:v1`, `${registry.host}/small:1`])
  expect(push.stderr).toBe("")
  expect(push.code).toBe(0)
}, 120_000)

afterAll(() => close?.())

describe.concurrent("bare archive paths on pull and push", () => {
  it("pull REF out.tar writes an oci-archive that ocidist and skopeo read", async () => {
    const out = path.join(tmp(), "out.tar")
    const r = await ocidist(["pull", `${registry.host}/small:1`, out])
    expect(r.stderr).not.toMatch(/error/i)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`oci-archive:${out}`)
    expect(fs.statSync(out).isFile()).toBe(true)

    const inspect = await ocidist(["inspect", "--json", `oci-archive:${out}`])
    expect(inspect.code).toBe(0)
    expect(JSON.parse(inspect.stdout).digest).toBe(image.manifestDigest)

    const skopeo = spawnSync("skopeo", ["inspect", `oci-archive:${out}`], { encoding: "utf8" })
    expect(skopeo.stderr).toBe("")
    expect(skopeo.status).toBe(0)
    expect(JSON.parse(skopeo.stdout).Digest).toBe(image.manifestDigest)
  })

  it("push small.tar REF reads an oci-archive", async () => {
    const archive = path.join(tmp(), "small.tar")
    const made = await ocidist(["copy", "-q", `${registry.host}/small:1`, `oci-archive:${archive}`])
    expect(made.code).toBe(0)
    const r = await ocidist(["push", archive, `${registry.host}/from-oci:1`])
    expect(r.stderr).not.toMatch(/ENOTDIR|BadResource/)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`oci-archive:${archive}`)
    const digest = await ocidist(["digest", `${registry.host}/from-oci:1`])
    expect(digest.stdout.trim()).toBe(image.manifestDigest)
  })

  it("push small.tar REF reads a docker-archive", async () => {
    const archive = path.join(tmp(), "small.tar")
    const made = await ocidist(["copy", "-q", `${registry.host}/small:1`, `docker-archive:${archive}:small:1`])
    expect(made.code).toBe(0)
    const r = await ocidist(["push", archive, `${registry.host}/from-docker:1`])
    expect(r.stderr).not.toMatch(/ENOTDIR|BadResource/)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`docker-archive:${archive}`)
    const tags = await ocidist(["tags", `${registry.host}/from-docker`])
    expect(tags.stdout.trim()).toBe("1")
  })

  it("a file that is neither archive: exit 2, naming the prefixes, nothing pushed", async () => {
    const junk = path.join(tmp(), "junk.tar")
    fs.writeFileSync(junk, "not a tar\n".repeat(100))
    const r = await ocidist(["-v", "push", junk, `${registry.host}/junk:1`])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`oci-archive:${junk}`)
    expect(r.stderr).toContain(`docker-archive:${junk}`)
    expect(r.stderr).not.toMatch(/^> (HEAD|GET|POST|PUT) /m)
    const tags = await ocidist(["tags", `${registry.host}/junk`])
    expect(tags.code).toBe(3)
  })

  it("a directory named *.tar stays an OCI layout", async () => {
    const dir = path.join(tmp(), "images.tar")
    fs.mkdirSync(dir)
    const r = await ocidist(["pull", "-q", `${registry.host}/small:1`, dir])
    expect(r.code).toBe(0)
    expect(fs.existsSync(path.join(dir, "index.json"))).toBe(true)
  })
})

describe.concurrent("oci:<dir>@<digest>", () => {
  it("inspect and copy read the image the digest names", async () => {
    const location = `oci:${layout}@${image.manifestDigest}`
    const inspect = await ocidist(["inspect", "--json", location])
    expect(inspect.stderr).toBe("")
    expect(inspect.code).toBe(0)
    expect(JSON.parse(inspect.stdout).digest).toBe(image.manifestDigest)

    const copy = await ocidist(["copy", "-q", location, `${registry.host}/by-digest:1`])
    expect(copy.stderr).toBe("")
    expect(copy.code).toBe(0)
    expect(copy.stdout.trim()).toBe(image.manifestDigest)
  })
})

describe.concurrent("catalog", () => {
  it("of a local location: exit 2, one line, no request", async () => {
    for (const where of ["oci:./dir", "oci-archive:x.tar", "./dir/sub"]) {
      const r = await ocidist(["catalog", where])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^ocidist: catalog needs a registry [^\n]*\n$/)
      expect(r.stdout).toBe("")
      const verbose = await ocidist(["-v", "catalog", where])
      expect(verbose.code).toBe(2)
      expect(verbose.stderr).not.toContain("Invalid URL")
      expect(verbose.stderr).not.toMatch(/^> (HEAD|GET) /m)
    }
  })

  it("of the registry still lists it", async () => {
    const r = await ocidist(["catalog", `http://${registry.host}/`])
    expect(r.code).toBe(0)
    expect(r.stdout.split("\n")).toContain("small")
  })
})

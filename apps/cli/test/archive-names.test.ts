// Formats people have, through the command line: compressed archives read (by content, not name) and never
// written; every image of a docker-archive addressable (`:@N`, `@<image ID>`, exit 3 listing the images when
// missing); layout entries named with full references (`oci:<dir>:localhost/app:1`) read, listed and copied
// by tag (`copy --all-tags`), a clash refused before anything is uploaded. Embedded registry; skopeo as oracle.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { ocidist } from "./cli.js"
import { acquire, Fixtures, Tools } from "./support.js"

let close: () => Promise<void>
let registry: Registry.Running
let one: Fixtures.Image
let two: Fixtures.Image
let dir: string

const run = async (args: ReadonlyArray<string>) => {
  const r = await ocidist(args)
  expect(r.stderr, args.join(" ")).toBe("")
  expect(r.code, args.join(" ")).toBe(0)
  return r.stdout.trim()
}

const skopeo = (args: ReadonlyArray<string>) => {
  const r = spawnSync("skopeo", ["--insecure-policy", ...args], { encoding: "utf8" })
  expect(r.status, `skopeo ${args.join(" ")}: ${r.stderr}`).toBe(0)
  return r.stdout
}

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* NodeRegistry.start({})
    const dir = yield* Tools.tempDir("ocidist-cli-archive-names-")
    const one = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "cli/names/one" })
    const two = yield* Fixtures.smallImage(path.join(dir, "fixture"), { seed: "cli/names/two" })
    const layout = path.join(dir, "fixture-layout")
    yield* Fixtures.writeLayout(layout, [{ root: one, tag: "one" }, { root: two, tag: "two" }])
    return { registry, dir, one, two, layout }
  }))
  close = acquired.close
  registry = acquired.value.registry
  one = acquired.value.one
  two = acquired.value.two
  dir = acquired.value.dir
  await run(["push", "-q", `oci:${acquired.value.layout}:one`, `${registry.host}/app:1`])
  await run(["push", "-q", `oci:${acquired.value.layout}:two`, `${registry.host}/app:2`])
}, 120_000)

afterAll(() => close?.())

describe("archive and layout names (CLI)", () => {
  it("compressed archives: gzip (node:zlib) and zstd read by content; writing one is refused, exit 2", async () => {
    const tar = path.join(dir, "c.tar")
    await run(["pull", "-q", `${registry.host}/app:1`, `oci-archive:${tar}:1`])
    const gz = path.join(dir, "c.tar.gz")
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(tar)))
    const zst = path.join(dir, "c.tar.zst")
    expect(spawnSync("zstd", ["-q", tar, "-o", zst]).status).toBe(0)
    expect(await run(["digest", `oci-archive:${gz}:1`])).toBe(one.manifestDigest)
    expect(await run(["push", "-q", zst, `${registry.host}/from-zst:1`])).toBe(one.manifestDigest)
    expect(await run(["digest", `${registry.host}/from-zst:1`])).toBe(one.manifestDigest)
    expect(JSON.parse(await run(["tags", "--json", `oci-archive:${gz}`]))).toMatchObject({ tags: ["1"] })

    for (const to of [`oci-archive:${dir}/w.tar.gz`, `${dir}/w.tgz`, `docker-archive:${dir}/w.tar.zst`]) {
      const r = await ocidist(["pull", `${registry.host}/app:1`, to])
      expect(r.code, to).toBe(2)
      expect(r.stderr, to).toContain("compressed archives are")
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("w."))).toEqual([])
  })

  it("docker-archive: :@N and @<image ID> select each image; a missing one is exit 3 listing them", async () => {
    const archive = path.join(dir, "multi.tar")
    await run(["copy", "-q", "--all-tags", `${registry.host}/app`, `docker-archive:${archive}`])
    const gz = path.join(dir, "multi.tar.gz")
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(archive)))
    const second = await run(["digest", `docker-archive:${gz}:@1`])
    expect(await run(["digest", `docker-archive:${gz}@${two.configDigest}`])).toBe(second)
    expect(await run(["digest", `docker-archive:${archive}:@${two.configDigest}`])).toBe(second)
    // (the digest pushed may differ: uncompressed docker-archive layers may be compressed on the way)
    await run(["push", "-q", `docker-archive:${gz}:@1`, `${registry.host}/second:1`])
    const config = JSON.parse(await run(["config", `${registry.host}/second:1`])) as unknown
    expect(config).toEqual(JSON.parse(new TextDecoder().decode(two.config)))
    // skopeo's @source-index reads the same image (skopeo 1.9.3 does not read gzip-compressed docker-archives)
    expect(JSON.parse(skopeo(["inspect", "--config", "--raw", `docker-archive:${archive}:@1`]))).toEqual(config)

    const missing = await ocidist(["digest", `docker-archive:${gz}:@5`])
    expect(missing.code).toBe(3)
    expect(missing.stderr).toContain("the archive holds 2 images")
    expect(missing.stderr).toContain(`(image ID ${one.configDigest})`)
    const noId = await ocidist(["digest", `docker-archive:${gz}@sha256:${"1".repeat(64)}`])
    expect(noId.code).toBe(3)
    expect(noId.stderr).toContain(`@1 ${registry.host}/app:2 (image ID ${two.configDigest})`)
  })

  it("layout names that are full references: read, listed as written, --all-tags to their tags, clashes refused", async () => {
    const layout = path.join(dir, "named")
    // ocidist writes one such name, skopeo another; both read back by the same location
    await run(["copy", "-q", `${registry.host}/app:1`, `oci:${layout}:localhost/app:1`])
    const archive = path.join(dir, "for-skopeo.tar")
    await run(["copy", "-q", `${registry.host}/app:2`, `docker-archive:${archive}:app:2`])
    skopeo(["copy", `docker-archive:${archive}:@0`, `oci:${layout}:docker.io/library/alpine:3.20`])
    expect(await run(["digest", `oci:${layout}:localhost/app:1`])).toBe(one.manifestDigest)
    const alpine = await run(["digest", `oci:${layout}:docker.io/library/alpine:3.20`])
    skopeo(["inspect", "--raw", `oci:${layout}:localhost/app:1`])
    expect(JSON.parse(await run(["tags", "--json", `oci:${layout}`])).tags.sort()).toEqual([
      "docker.io/library/alpine:3.20",
      "localhost/app:1"
    ])

    await run(["copy", "-q", "--all-tags", `oci:${layout}`, `${registry.host}/mapped`])
    expect(JSON.parse(await run(["tags", "--json", `${registry.host}/mapped`])).tags.sort()).toEqual(["1", "3.20"])
    expect(await run(["digest", `${registry.host}/mapped:1`])).toBe(one.manifestDigest)
    expect(await run(["digest", `${registry.host}/mapped:3.20`])).toBe(alpine)

    // a second image named …:1: refused before anything is uploaded
    await run(["copy", "-q", `${registry.host}/app:2`, `oci:${layout}:example.com/other:1`])
    const clash = await ocidist(["copy", "--all-tags", `oci:${layout}`, `${registry.host}/clash`])
    expect(clash.code).toBe(2)
    expect(clash.stderr).toContain(`"example.com/other:1", "localhost/app:1" → 1`)
    const listed = await ocidist(["tags", `${registry.host}/clash`])
    expect(listed.code).toBe(3)
  })
})

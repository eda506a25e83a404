// Tags as people meet them: `untag` removes one tag and nothing else (registry and layout), `delete` of a tag that
// shares its manifest with other tags asks for --force, `copy --all-tags` names every tag it wrote and counts
// them, a re-pull counts what it skipped, and `version` is the version the User-Agent sends.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Registry } from "@ocidist/registry"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, DockerRegistry, Fixtures, layoutIndex, Tools } from "./support.js"

let close: () => Promise<void>
let registry: Registry.Running
let noDeletes: Registry.Running
let debian: DockerRegistry.Instance
let image: Fixtures.Image
let layout: string
let multiLayout: string

const tmp = () => tempDir("ocidist-cli-tags-")

/** Pushes the fixture image to `repo` under every tag (the first by push, the others by `ocidist tag`). */
const pushTags = async (host: string, repo: string, tags: ReadonlyArray<string>) => {
  const push = await ocidist(["push", "-q", `oci:${layout}:v1`, `${host}/${repo}:${tags[0]}`])
  expect(push.stderr).toBe("")
  expect(push.code).toBe(0)
  for (const t of tags.slice(1)) {
    const tag = await ocidist(["tag", `${host}/${repo}:${tags[0]}`, t])
    expect(tag.stderr).toBe("")
    expect(tag.code).toBe(0)
  }
}

const listTags = async (ref: string) => {
  const r = await ocidist(["tags", ref])
  expect(r.code).toBe(0)
  return r.stdout.split("\n").filter((l) => l !== "").sort()
}

const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("ocidist: "))

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* NodeRegistry.start()
    const noDeletes = yield* NodeRegistry.start({ deletes: false })
    // Debian's docker-registry (distribution 2.8): deletes on, but not of a tag alone
    const debian = yield* DockerRegistry.start()
    const dir = yield* Tools.tempDir("ocidist-cli-tags-")
    const image = yield* Fixtures.makeImage(dir, { seed: "ocidist/tags", layers: [{ size: 2048 }, { size: 1024 }] })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
    const multiLayout = path.join(dir, "multi")
    yield* Fixtures.writeLayout(multiLayout, [{ root: yield* Fixtures.multiPlatformIndex(dir), tag: "m" }])
    return { registry, noDeletes, debian, image, layout, multiLayout }
  }))
  close = acquired.close
  registry = acquired.value.registry
  noDeletes = acquired.value.noDeletes
  debian = acquired.value.debian
  image = acquired.value.image
  layout = acquired.value.layout
  multiLayout = acquired.value.multiLayout
}, 120_000)

afterAll(() => close?.())

describe.concurrent("untag", () => {
  it("removes the tag alone: the manifest and its other tags stay", async () => {
    await pushTags(registry.host, "untag", ["a", "b", "c"])
    const r = await ocidist(["untag", `${registry.host}/untag:b`])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`Untagged ${registry.host}/untag:b\n`)
    expect(await listTags(`${registry.host}/untag`)).toEqual(["a", "c"])
    const digest = await ocidist(["digest", `${registry.host}/untag:a`])
    expect(digest.stdout.trim()).toBe(image.manifestDigest)
    const byDigest = await ocidist(["digest", `${registry.host}/untag@${image.manifestDigest}`])
    expect(byDigest.code).toBe(0)
  })

  it("--json reports the tag", async () => {
    await pushTags(registry.host, "untag-json", ["x", "y"])
    const r = await ocidist(["--json", "untag", `${registry.host}/untag-json:x`])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ reference: `${registry.host}/untag-json:x`, tag: "x", untagged: true })
  })

  it("on a registry that refuses tag deletes: one clear line, exit 2, the tag kept", async () => {
    const push = await ocidist(["push", "-q", `oci:${layout}:v1`, `${noDeletes.host}/kept:a`])
    expect(push.code).toBe(0)
    const r = await ocidist(["untag", `${noDeletes.host}/kept:a`])
    expect(r.stdout).toBe("")
    expect(errorLines(r.stderr)).toEqual([
      `ocidist: ${noDeletes.host} cannot delete a tag alone (HTTP 405 UNSUPPORTED: deletes are disabled on this ` +
      "registry): retag it with `ocidist tag`, or delete the manifest and all its tags with `ocidist delete --force`"
    ])
    expect(r.code).toBe(2)
    expect(await listTags(`${noDeletes.host}/kept`)).toEqual(["a"])
  })

  it("on distribution 2.8, which deletes manifests but not tags alone: one line, exit 2, the tag kept", async () => {
    const push = await ocidist(["push", "-q", `oci:${layout}:v1`, `${debian.host}/kept:a`])
    expect(push.code).toBe(0)
    const r = await ocidist(["untag", `${debian.host}/kept:a`])
    expect(r.stdout).toBe("")
    const lines = errorLines(r.stderr)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^ocidist: ${debian.host} cannot delete a tag alone \\(HTTP (400|405) `))
    expect(r.code).toBe(2)
    expect(await listTags(`${debian.host}/kept`)).toEqual(["a"])
  })

  it("in a layout removes the tag's index.json entry only", async () => {
    const dir = path.join(tmp(), "layout")
    fs.cpSync(layout, dir, { recursive: true })
    const tag = await ocidist(["copy", "-q", `oci:${dir}:v1`, `oci:${dir}:v2`])
    expect(tag.code).toBe(0)
    const r = await ocidist(["untag", `oci:${dir}:v1`])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const names = layoutIndex(dir).manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"])
    expect(names).toEqual(["v2"])
    const missing = await ocidist(["untag", `oci:${dir}:v1`])
    expect(missing.code).toBe(3)
  })

  it("a reference without a tag is a usage error", async () => {
    const r = await ocidist(["untag", `${registry.host}/untag@${image.manifestDigest}`])
    expect(errorLines(r.stderr)).toHaveLength(1)
    expect(r.code).toBe(2)
  })
})

describe.concurrent("delete of a shared tag", () => {
  it("refuses without --force, naming the other tags (exit 2), and deletes them all with --force", async () => {
    await pushTags(registry.host, "shared", ["one", "three", "two"])
    const refused = await ocidist(["delete", `${registry.host}/shared:one`])
    expect(refused.stdout).toBe("")
    expect(errorLines(refused.stderr)).toEqual([
      `ocidist: deleting ${registry.host}/shared:one deletes manifest ${image.manifestDigest} and all 3 tags ` +
      "pointing at it (also three, two): add --force to delete them all, or run " +
      `\`ocidist untag ${registry.host}/shared:one\` to remove just this tag`
    ])
    expect(refused.code).toBe(2)
    expect(await listTags(`${registry.host}/shared`)).toEqual(["one", "three", "two"])

    const forced = await ocidist(["delete", "--force", `${registry.host}/shared:one`])
    expect(forced.stderr).toBe("")
    expect(forced.code).toBe(0)
    expect(forced.stdout).toBe(`Deleted ${registry.host}/shared@${image.manifestDigest}\n`)
    expect(await listTags(`${registry.host}/shared`)).toEqual([])
  })

  it("deletes a tag that is alone on its manifest without asking", async () => {
    await pushTags(registry.host, "alone", ["only"])
    const r = await ocidist(["delete", `${registry.host}/alone:only`])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
  })
})

describe.concurrent("copy --all-tags and re-pulls", () => {
  const tags = ["t1", "t2", "t3", "t4", "t5"]

  it("prints one `tag → digest` line per tag and counts the tags written", async () => {
    await pushTags(registry.host, "many", tags)
    const r = await ocidist(["copy", "--all-tags", `${registry.host}/many`, `${registry.host}/mirror`])
    expect(r.code).toBe(0)
    const lines = r.stdout.split("\n")
    expect(lines.filter((l) => l.includes(" \u2192 "))).toEqual(tags.map((t) => `${t} \u2192 ${image.manifestDigest}`))
    expect(r.stdout).toContain("1 manifest(s) and 5 tag(s) written")

    const again = await ocidist(["--json", "copy", "--all-tags", `${registry.host}/many`, `${registry.host}/mirror2`])
    expect(again.code).toBe(0)
    const result = JSON.parse(again.stdout) as {
      readonly stats: { readonly manifestsWritten: number; readonly tagsWritten: number }
      readonly images: ReadonlyArray<{ readonly tags: ReadonlyArray<string> }>
    }
    expect(result.stats.manifestsWritten).toBe(1)
    expect(result.stats.tagsWritten).toBe(5)
    expect(result.images.flatMap((i) => i.tags)).toEqual(tags)
    expect(await listTags(`${registry.host}/mirror2`)).toEqual(tags)
  })

  it("a re-pull counts the blobs it already had as skipped", async () => {
    await pushTags(registry.host, "repull", ["v1"])
    const out = path.join(tmp(), "out")
    const first = await ocidist(["pull", `${registry.host}/repull:v1`, out])
    expect(first.code).toBe(0)
    const blobs = image.layers.length + 1
    expect(first.stdout).toContain(`${blobs} blob(s) transferred`)
    const again = await ocidist(["pull", `${registry.host}/repull:v1`, out])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain(`0 blob(s) transferred (0 B), ${blobs} skipped`)
    const json = await ocidist(["--json", "pull", `${registry.host}/repull:v1`, out])
    const stats = (JSON.parse(json.stdout) as { readonly stats: Record<string, number> }).stats
    expect(stats).toMatchObject({ blobs, transferred: 0, skipped: blobs, bytes: 0 })
  })

  it("a re-pull of a multi-platform index counts the blobs of every platform as skipped", async () => {
    const push = await ocidist(["push", "-q", `oci:${multiLayout}:m`, `${registry.host}/repull-multi:m`])
    expect(push.code).toBe(0)
    const out = path.join(tmp(), "out")
    const pull = async () => {
      const r = await ocidist(["--json", "pull", `${registry.host}/repull-multi:m`, out])
      expect(r.code).toBe(0)
      return (JSON.parse(r.stdout) as { readonly stats: Record<string, number> }).stats
    }
    const first = await pull()
    expect(first.transferred).toBeGreaterThan(0)
    expect(await pull()).toMatchObject({ blobs: first.blobs, transferred: 0, skipped: first.blobs, bytes: 0 })
  })
})

describe("version", () => {
  it("is the version the User-Agent sends", async () => {
    const agents: Array<string> = []
    const server = http.createServer((req, res) => {
      agents.push(req.headers["user-agent"] ?? "")
      res.writeHead(404, { "content-type": "application/json" })
      res.end(JSON.stringify({ errors: [{ code: "NAME_UNKNOWN", message: "no such repository" }] }))
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const port = (server.address() as AddressInfo).port
      const version = await ocidist(["--json", "version"])
      expect(version.code).toBe(0)
      const v = (JSON.parse(version.stdout) as { readonly version: string }).version
      const plain = await ocidist(["version"])
      expect(plain.stdout).toBe(`ocidist ${v}\n`)
      const pkg = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
        readonly version: string
      }
      expect(v).toBe(pkg.version)
      await ocidist(["--plain-http", "tags", `127.0.0.1:${port}/app`])
      expect(agents.length).toBeGreaterThan(0)
      expect(new Set(agents)).toEqual(new Set([`ocidist/${v}`]))
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

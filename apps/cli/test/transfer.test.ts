// pull, push, copy/cp: results, --json, progress on a pipe and on a pseudo-terminal, --quiet, exit codes,
// and Ctrl-C (SIGINT) in the middle of a pull.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { collect, inPty, ndjson, ocidist, start, tempDir } from "./cli.js"
import { acquire, DockerRegistry, Fixtures, layoutIndex, Tools, verifyLayoutBlobs } from "./support.js"

const SBOM = "application/vnd.example.sbom"

const slowProxy = Tools.slowProxy

let close: () => Promise<void>
let src: DockerRegistry.Instance
let dst: DockerRegistry.Instance
let f: {
  readonly image: Fixtures.Image
  readonly index: Fixtures.Index
  readonly big: Fixtures.Image
  readonly sbom: Fixtures.Artifact
  readonly layout: string
  readonly bigLayout: string
}

const tmp = () => tempDir("ocidist-cli-transfer-")

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const src = yield* DockerRegistry.start({ mode: "anon" })
    const dst = yield* DockerRegistry.start({ mode: "anon" })
    const dir = yield* Tools.tempDir("ocidist-cli-fixtures-")
    const image = yield* Fixtures.smallImage(dir)
    const index = yield* Fixtures.multiPlatformIndex(dir)
    const big = yield* Fixtures.bigImage(dir, { totalBytes: 192 * 1024 * 1024, layers: 3, seed: "ocidist/cli-big" })
    const sbom = yield* Fixtures.makeArtifact(dir, { subject: image.descriptor, artifactType: SBOM, payload: "sbom" })
    yield* Fixtures.pushRaw(src, "app", image, { tags: ["1.0", "1.1", "latest"] })
    yield* Fixtures.pushRaw(src, "app", sbom)
    yield* Fixtures.pushRaw(src, "app", yield* Fixtures.makeReferrersIndex(dir, [sbom]), {
      tags: [Fixtures.referrersTag(image.manifestDigest)]
    })
    yield* Fixtures.pushRaw(src, "multi", index, { tags: ["1"] })
    yield* Fixtures.pushRaw(src, "big", big, { tags: ["1"] })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
    const bigLayout = path.join(dir, "big-layout")
    yield* Fixtures.writeLayout(bigLayout, [{ root: big, tag: "big" }])
    return { src, dst, f: { image, index, big, sbom, layout, bigLayout } }
  }))
  close = acquired.close
  src = acquired.value.src
  dst = acquired.value.dst
  f = acquired.value.f
}, 600_000)

afterAll(() => close?.())

describe.concurrent("pull", () => {
  it("pulls into a layout directory; progress is one line per blob on a pipe", async () => {
    const out = path.join(tmp(), "img")
    const r = await ocidist(["pull", `${src.host}/app:1.0`, out])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Digest: ${f.image.manifestDigest}`)
    expect(verifyLayoutBlobs(out)).toBe(5)
    expect(layoutIndex(out).manifests.map((m) => m.digest)).toContain(f.image.manifestDigest)
    expect(r.stderr.split("\n")[0]).toBe(`Pulling ${src.host}/app:1.0 \u2192 ${out}`)
    const pulled = r.stderr.split("\n").filter((l) => l.startsWith("pulled "))
    // 4 blobs and the manifest
    expect(pulled).toHaveLength(5)
    expect(r.stderr).not.toContain("\x1b[")
    expect(r.stderr).not.toContain("\r")
  })

  it("--json: the result on stdout, NDJSON progress events on stderr", async () => {
    const out = path.join(tmp(), "img")
    const r = await ocidist(["pull", "--json", `${src.host}/app:1.0`, `oci:${out}:v1`])
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout)
    expect(result).toMatchObject({
      source: `${src.host}/app:1.0`,
      destination: `oci:${out}:v1`,
      dryRun: false,
      digest: f.image.manifestDigest,
      stats: { blobs: 4, transferred: 4, skipped: 0 }
    })
    const events = ndjson(r.stderr)
    expect(events[0]).toEqual({
      event: "Started",
      operation: "pull",
      source: `${src.host}/app:1.0`,
      destination: `oci:${out}:v1`
    })
    expect(events[1]).toMatchObject({ event: "Planned", blobs: 4, manifests: 1 })
    expect(events.filter((e) => e.event === "BlobDone")).toHaveLength(4)
    expect(events.at(-1)).toMatchObject({ event: "ManifestDone", digest: f.image.manifestDigest, tags: ["v1"] })
  })

  it("--quiet prints only the digest, nothing on stderr", async () => {
    const out = path.join(tmp(), "img")
    const r = await ocidist(["pull", "-q", `${src.host}/app:1.0`, out])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`${f.image.manifestDigest}\n`)
    expect(r.stderr).toBe("")
  })

  it("--platform picks one manifest of an index", async () => {
    const arm = f.index.images.find((i) => i._tag === "Image" && i.platform.architecture === "arm64")!
    const out = path.join(tmp(), "img")
    const r = await ocidist(["pull", "--json", "--platform", "linux/arm64", `${src.host}/multi:1`, out])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).digest).toBe(arm.manifestDigest)
    expect(layoutIndex(out).manifests.map((m) => m.digest)).toEqual([arm.manifestDigest])
  })

  it("exits 3 for an unknown image and 2 for an invalid platform", async () => {
    const out = path.join(tmp(), "img")
    expect((await ocidist(["pull", `${src.host}/app:nope`, out])).code).toBe(3)
    expect((await ocidist(["pull", "--platform", "linux", `${src.host}/multi:1`, out])).code).toBe(2)
    expect((await ocidist(["pull", "--platform", "linux/s390x", `${src.host}/multi:1`, out])).code).toBe(3)
  })

  it("draws bars with ANSI escapes on a terminal", async () => {
    const out = path.join(tmp(), "img")
    const r = await inPty(["pull", `${src.host}/big:1`, out])
    expect(r.code).toBe(0)
    expect(r.output).toContain("\x1b[")
    expect(r.output).toMatch(/ETA/)
    expect(r.output).toMatch(/MiB\/s|KiB\/s/)
    expect(r.output).toContain(`Digest: ${f.big.manifestDigest}`)
  })

  it("Ctrl-C stops with 130, leaves no corrupt blob, and a second pull completes", async () => {
    const out = path.join(tmp(), "img")
    const slow = await slowProxy(src.host, 16_384)
    const child = start(["pull", "--json", "--jobs", "2", `${slow.host}/big:1`, out])
    let buffered = ""
    let sent = false
    child.stderr!.on("data", (d: Buffer) => {
      buffered += d.toString()
      if (!sent && buffered.includes("\"event\":\"BlobProgress\"")) {
        sent = true
        child.kill("SIGINT")
      }
    })
    const r = await collect(child)
    await slow.close()
    expect(sent).toBe(true)
    expect(r.code).toBe(130)
    expect(r.stdout).toBe("")
    // Whatever is in blobs/ is complete and verified; nothing names the image yet.
    verifyLayoutBlobs(out)
    if (fs.existsSync(path.join(out, "index.json"))) {
      expect(layoutIndex(out).manifests.map((m) => m.digest)).not.toContain(f.big.manifestDigest)
    }
    const again = await ocidist(["pull", "--json", `${src.host}/big:1`, out])
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout).digest).toBe(f.big.manifestDigest)
    expect(verifyLayoutBlobs(out)).toBe(5)
    expect(layoutIndex(out).manifests.map((m) => m.digest)).toContain(f.big.manifestDigest)
  })
})

describe.concurrent("archives", () => {
  it("pull --format oci-archive writes a tar that digest and push read", async () => {
    const file = path.join(tmp(), "app.tar")
    const r = await ocidist(["pull", "--format", "oci-archive", `${src.host}/app:1.0`, file])
    expect(r.code).toBe(0)
    expect(fs.statSync(file).size).toBeGreaterThan(8000)
    expect((await ocidist(["digest", `oci-archive:${file}`])).stdout.trim()).toBe(f.image.manifestDigest)
    const push = await ocidist(["push", "--json", `oci-archive:${file}`, `${dst.host}/fromarchive:1`])
    expect(push.code).toBe(0)
    expect(JSON.parse(push.stdout).digest).toBe(f.image.manifestDigest)
  })

  it("pull into docker-archive:<file>:<name:tag>; inspect reads it", async () => {
    const file = path.join(tmp(), "docker.tar")
    const r = await ocidist(["pull", `${src.host}/app:1.0`, `docker-archive:${file}:app:1.0`])
    expect(r.code).toBe(0)
    const inspect = await ocidist(["inspect", "--json", `docker-archive:${file}`])
    expect(inspect.code).toBe(0)
    expect(JSON.parse(inspect.stdout).layers).toHaveLength(3)
  })
})

describe.concurrent("Ctrl-C into an archive", () => {
  it("leaves nothing beside the file, keeps its data in the cache; a second pull writes it; cache clean", async () => {
    const dir = tmp()
    const file = path.join(dir, "out", "big.tar")
    fs.mkdirSync(path.dirname(file))
    const cache = path.join(dir, "cache")
    const env = { OCIDIST_CACHE_DIR: cache }
    const slow = await slowProxy(src.host, 16_384)
    const child = start(["pull", "--json", `${slow.host}/big:1`, `oci-archive:${file}`], { env })
    let buffered = ""
    let sent = false
    child.stderr!.on("data", (d: Buffer) => {
      buffered += d.toString()
      // once a megabyte of a layer has arrived, some of it is stored
      if (!sent && /"event":"BlobProgress"[^\n]*"transferred":\d{7,}/.test(buffered)) {
        sent = true
        child.kill("SIGINT")
      }
    })
    const r = await collect(child)
    await slow.close()
    expect(sent).toBe(true)
    expect(r.code).toBe(130)
    expect(fs.readdirSync(path.dirname(file))).toEqual([])
    expect((await ocidist(["cache", "dir"], { env })).stdout.trim()).toBe(cache)
    const staged = fs.readdirSync(path.join(cache, "staging"), { recursive: true })
    expect(staged.length).toBeGreaterThan(0)

    const again = await ocidist(["pull", "-q", `${src.host}/big:1`, `oci-archive:${file}`], { env })
    expect(again.code).toBe(0)
    expect((await ocidist(["digest", `oci-archive:${file}`])).stdout.trim()).toBe(f.big.manifestDigest)
    expect(fs.readdirSync(path.dirname(file))).toEqual(["big.tar"])
    expect(fs.readdirSync(path.join(cache, "staging"))).toEqual([])

    // an interrupted write again, then `cache clean` removes what it kept
    const slow2 = await slowProxy(src.host, 16_384)
    const second = start(["pull", "--json", `${slow2.host}/big:1`, `docker-archive:${file}.docker:big:1`], { env })
    let seen = ""
    let interrupted = false
    second.stderr!.on("data", (d: Buffer) => {
      seen += d.toString()
      if (!interrupted && /"event":"BlobProgress"[^\n]*"transferred":\d{7,}/.test(seen)) {
        interrupted = true
        second.kill("SIGINT")
      }
    })
    expect((await collect(second)).code).toBe(130)
    await slow2.close()
    expect(fs.readdirSync(path.join(cache, "staging")).length).toBe(1)
    const clean = await ocidist(["cache", "clean", "--json"], { env })
    expect(clean.code).toBe(0)
    const report = JSON.parse(clean.stdout) as {
      removedFiles: number
      removedBytes: number
      directory: string
      staging: string
    }
    expect(report.directory).toBe(cache)
    expect(report.staging).toBe(path.join(cache, "staging"))
    expect(report.removedFiles).toBeGreaterThan(0)
    expect(fs.existsSync(path.join(cache, "staging"))).toBe(false)
  })
})

describe.concurrent("push", () => {
  it("pushes a layout to a registry", async () => {
    const r = await ocidist(["push", `oci:${f.layout}:v1`, `${dst.host}/pushed:v1`])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Digest: ${f.image.manifestDigest}`)
    const raw = await Effect.runPromise(Fixtures.inspect(dst, "pushed:v1"))
    expect(raw).toBe(new TextDecoder().decode(f.image.manifest))
  })

  it("--json; a second push skips every blob", async () => {
    await ocidist(["push", `oci:${f.layout}:v1`, `${dst.host}/pushed2:v1`])
    const r = await ocidist(["push", "--json", f.layout, `${dst.host}/pushed2:v2`])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ digest: f.image.manifestDigest, stats: { transferred: 0, bytes: 0 } })
  })

  it("transfer commands run with a memory-lean V8 tuning, each tuning with its own code cache", async () => {
    const cache = tmp()
    const env = { XDG_CACHE_HOME: cache }
    const out = tmp()
    expect((await ocidist(["--jobs", "2", "pull", "-q", `${src.host}/app:1.0`, out], { env })).code).toBe(0)
    const caches = () => fs.readdirSync(path.join(cache, "ocidist")).map((name) => name.split("-")[1]).sort()
    expect(caches()).toEqual(["size"])
    expect((await ocidist(["digest", `${src.host}/app:1.0`], { env })).code).toBe(0)
    expect(caches()).toEqual(["size", "speed"])
    // a second run of each uses its cache and leaves the other one alone
    expect((await ocidist(["pull", "-q", `${src.host}/app:1.0`, out], { env })).code).toBe(0)
    expect(caches()).toEqual(["size", "speed"])
  })

  it("Ctrl-C during a push stops with 130, cancels the upload sessions, and a second push completes", async () => {
    const slow = await slowProxy(dst.host, 16_384)
    const child = start(["push", "--json", `oci:${f.bigLayout}:big`, `${slow.host}/interrupted:1`])
    let buffered = ""
    let sent = false
    child.stderr!.on("data", (d: Buffer) => {
      buffered += d.toString()
      if (!sent && /"event":"BlobProgress","digest":"[^"]+","size":\d{8,}/.test(buffered)) {
        sent = true
        child.kill("SIGINT")
      }
    })
    const r = await collect(child)
    await slow.close()
    expect(sent).toBe(true)
    expect({ code: r.code, signal: r.signal, stderr: r.code === 130 ? "" : r.stderr.slice(-2000) }).toEqual({
      code: 130,
      signal: null,
      stderr: ""
    })
    expect((await ocidist(["digest", `${dst.host}/interrupted:1`])).code).toBe(3)
    const cancelled = await Effect.runPromise(
      dst.countRequests({ method: "DELETE", path: "/interrupted/blobs/uploads/" })
    )
    expect(cancelled).toBeGreaterThan(0)
    const again = await ocidist(["push", "-q", `oci:${f.bigLayout}:big`, `${dst.host}/interrupted:1`])
    expect(again.code).toBe(0)
    expect(again.stdout.trim()).toBe(f.big.manifestDigest)
  })

  it("exits 2, before any request, for an OCIDIST_* variable it cannot read, naming it", async () => {
    const r = await ocidist(["push", f.layout, `${dst.host}/config:1`], { env: { OCIDIST_TIMEOUT: "banana" } })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("OCIDIST_TIMEOUT")
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(await Effect.runPromise(dst.countRequests({ path: "/config/" }))).toBe(0)
  })

  it("exits 2 for a registry destination that is not a reference", async () => {
    const r = await ocidist(["push", f.layout, "oci:/tmp/x"])
    expect(r.code).toBe(2)
  })

  it("fails with exit 2 for a source path that does not exist, in one line", async () => {
    const r = await ocidist(["push", path.join(tmp(), "missing"), `${dst.host}/x:1`])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/does not exist/)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
  })
})

describe.concurrent("copy", () => {
  it("copies between registries, preserving the digest", async () => {
    const r = await ocidist(["copy", `${src.host}/app:1.0`, `${dst.host}/copied:1.0`])
    expect(r.code).toBe(0)
    expect((await ocidist(["digest", `${dst.host}/copied:1.0`])).stdout.trim()).toBe(f.image.manifestDigest)
  })

  it("cp -r copies referrers too", async () => {
    const r = await ocidist(["cp", "-r", "--json", `${src.host}/app:1.0`, `${dst.host}/withrefs:1.0`])
    expect(r.code).toBe(0)
    const refs = await ocidist(["referrers", "--json", `${dst.host}/withrefs:1.0`])
    expect(refs.code).toBe(0)
    expect(JSON.parse(refs.stdout).referrers.map((x: { digest: string }) => x.digest)).toEqual([f.sbom.manifestDigest])
  })

  it("--all-tags copies every tag", async () => {
    const r = await ocidist(["copy", "--all-tags", "--json", `${src.host}/app`, `${dst.host}/alltags`])
    expect(r.code).toBe(0)
    const tags =
      JSON.parse((await ocidist(["tags", "--json", "--omit-digest-tags", `${dst.host}/alltags`])).stdout).tags
    expect(tags).toEqual(expect.arrayContaining(["1.0", "1.1", "latest"]))
  })

  it("--dry-run writes nothing and says what it would do", async () => {
    const r = await ocidist(["copy", "--dry-run", `${src.host}/app:1.0`, `${dst.host}/dry:1.0`])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("Would copy")
    expect(r.stdout).toMatch(/Plan: 4 blob\(s\) to transfer/)
    expect((await ocidist(["digest", `${dst.host}/dry:1.0`])).code).toBe(3)
    const j = await ocidist(["copy", "--dry-run", "--json", `${src.host}/app:1.0`, `${dst.host}/dry:1.0`])
    expect(JSON.parse(j.stdout)).toMatchObject({ dryRun: true, digest: f.image.manifestDigest })
  })

  it("registry to layout and layout to registry", async () => {
    const out = path.join(tmp(), "img")
    expect((await ocidist(["copy", `${src.host}/app:1.0`, `oci:${out}:a`])).code).toBe(0)
    expect((await ocidist(["copy", `oci:${out}:a`, `${dst.host}/fromlayout:a`])).code).toBe(0)
    expect((await ocidist(["digest", `oci:${out}:a`])).stdout.trim()).toBe(f.image.manifestDigest)
    expect((await ocidist(["digest", `${dst.host}/fromlayout:a`])).stdout.trim()).toBe(f.image.manifestDigest)
    expect(JSON.parse((await ocidist(["tags", "--json", `oci:${out}`])).stdout).tags).toEqual(["a"])
    const inspect = await ocidist(["inspect", `oci:${out}:a`])
    expect(inspect.code).toBe(0)
    expect(inspect.stdout).toContain("Layers:     3")
    expect((await ocidist(["inspect", `oci:${out}:missing`])).code).toBe(3)
  })

  it("exits 2 for an unsupported transport, 3 for a missing source", async () => {
    expect((await ocidist(["copy", "dir:/tmp/x", `${dst.host}/x:1`])).code).toBe(2)
    expect((await ocidist(["copy", `${src.host}/app:nope`, `${dst.host}/x:1`])).code).toBe(3)
  })
})

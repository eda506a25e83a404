// manifest, manifest put, digest, config, blob, inspect, tags/ls, catalog, tag, delete, referrers — against a
// real docker-registry on loopback, through the bundled binary.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, DockerRegistry, Fixtures, sha256, Tools } from "./support.js"

const SBOM = "application/vnd.example.sbom"
const SIG = "application/vnd.example.signature"

let close: () => Promise<void>
let host: string
let fixtures: {
  readonly image: Fixtures.Image
  readonly index: Fixtures.Index
  readonly sbom: Fixtures.Artifact
  readonly signature: Fixtures.Artifact
  readonly dir: string
}

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* DockerRegistry.start({ mode: "anon" })
    const dir = yield* Tools.tempDir("ocidist-cli-read-")
    const image = yield* Fixtures.smallImage(dir)
    const index = yield* Fixtures.multiPlatformIndex(dir)
    const sbom = yield* Fixtures.makeArtifact(dir, { subject: image.descriptor, artifactType: SBOM, payload: "sbom" })
    const signature = yield* Fixtures.makeArtifact(dir, {
      subject: sbom.descriptor,
      artifactType: SIG,
      payload: "signature"
    })
    for (const repo of ["app", "tagme", "deleteme"]) {
      yield* Fixtures.pushRaw(registry, repo, image, { tags: ["1.0", "latest"] })
    }
    yield* Fixtures.pushRaw(registry, "multi", index, { tags: ["1"] })
    yield* Fixtures.pushRaw(registry, "app", sbom)
    yield* Fixtures.pushRaw(registry, "app", signature)
    yield* Fixtures.pushRaw(registry, "app", yield* Fixtures.makeReferrersIndex(dir, [sbom]), {
      tags: [Fixtures.referrersTag(image.manifestDigest)]
    })
    yield* Fixtures.pushRaw(registry, "app", yield* Fixtures.makeReferrersIndex(dir, [signature]), {
      tags: [Fixtures.referrersTag(sbom.manifestDigest)]
    })
    return { registry, fixtures: { image, index, sbom, signature, dir } }
  }))
  close = acquired.close
  host = acquired.value.registry.host
  fixtures = acquired.value.fixtures
}, 120_000)

afterAll(() => close?.())

describe.concurrent("digest", () => {
  it("prints the digest of a tag (HEAD)", async () => {
    const r = await ocidist(["digest", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`${fixtures.image.manifestDigest}\n`)
  })

  it("--json gives reference, digest, mediaType, size", async () => {
    const r = await ocidist(["digest", "--json", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({
      reference: `${host}/app:1.0`,
      digest: fixtures.image.manifestDigest,
      mediaType: fixtures.image.mediaType,
      size: fixtures.image.manifest.length
    })
  })

  it("global options work before the command too", async () => {
    const r = await ocidist(["--json", "digest", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).digest).toBe(fixtures.image.manifestDigest)
  })

  it("exits 3 with one line naming the reference for an unknown tag", async () => {
    const r = await ocidist(["digest", `${host}/app:nope`])
    expect(r.code).toBe(3)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/^ocidist: .*nope.*not found/)
  })

  it("with --json, a failure is one JSON line on stderr", async () => {
    const r = await ocidist(["digest", "--json", `${host}/app:nope`])
    expect(r.code).toBe(3)
    expect(JSON.parse(r.stderr)).toMatchObject({ event: "Error", error: "NotFound", exitCode: 3 })
  })

  it("exits 2 for an invalid reference", async () => {
    const r = await ocidist(["digest", `${host}/App:1`])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("lower-case")
  })

  it("exits 1 with a hint when nothing listens", async () => {
    const port = await Effect.runPromise(Tools.freePort)
    const r = await ocidist(["digest", `127.0.0.1:${port}/app:1`])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("ECONNREFUSED")
    expect(r.stderr).toContain("is the registry running")
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it("--verbose logs requests and shows the cause", async () => {
    const r = await ocidist(["digest", "-v", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(`> HEAD http://${host}/v2/app/manifests/1.0`)
    expect(r.stderr).toMatch(/< 200 HEAD/)
  })
})

describe.concurrent("V8 code cache", () => {
  const cacheHome = () => tempDir("ocidist-cli-cache-")
  const cacheFiles = (home: string) => {
    const dir = path.join(home, "ocidist")
    return fs.existsSync(dir) ? fs.readdirSync(dir).map((name) => path.join(dir, name)) : []
  }

  it("is written by a registry command, then used; a corrupt one is replaced", async () => {
    const home = cacheHome()
    const env = { XDG_CACHE_HOME: home }
    const first = await ocidist(["digest", `${host}/app:1.0`], { env })
    expect(first.stdout.trim()).toBe(fixtures.image.manifestDigest)
    const [file] = cacheFiles(home)
    expect(path.basename(file!)).toMatch(/^code-speed-/)
    const written = fs.statSync(file!)
    expect(written.size).toBeGreaterThan(100_000)
    const second = await ocidist(["digest", `${host}/app:1.0`], { env })
    expect(second.stdout.trim()).toBe(fixtures.image.manifestDigest)
    expect(fs.statSync(file!).mtimeMs).toBe(written.mtimeMs) // accepted, not rewritten
    fs.writeFileSync(file!, "not a code cache")
    const third = await ocidist(["digest", `${host}/app:1.0`], { env })
    expect({ code: third.code, stdout: third.stdout.trim(), stderr: third.stderr }).toEqual({
      code: 0,
      stdout: fixtures.image.manifestDigest,
      stderr: ""
    })
    expect(fs.statSync(file!).size).toBeGreaterThan(100_000)
  })

  it("OCIDIST_NO_CODE_CACHE=1 writes none; an unwritable cache directory is no error", async () => {
    const home = cacheHome()
    const off = await ocidist(["digest", `${host}/app:1.0`], {
      env: { XDG_CACHE_HOME: home, OCIDIST_NO_CODE_CACHE: "1" }
    })
    expect(off.stdout.trim()).toBe(fixtures.image.manifestDigest)
    expect(cacheFiles(home)).toEqual([])
    // a file where the cache directory should be: nothing can be created under it
    const blocked = path.join(cacheHome(), "file")
    fs.writeFileSync(blocked, "")
    const r = await ocidist(["digest", `${host}/app:1.0`], { env: { XDG_CACHE_HOME: blocked } })
    expect({ code: r.code, stdout: r.stdout.trim(), stderr: r.stderr }).toEqual({
      code: 0,
      stdout: fixtures.image.manifestDigest,
      stderr: ""
    })
  })
})

describe.concurrent("manifest", () => {
  it("prints the manifest bytes exactly", async () => {
    const r = await ocidist(["manifest", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    expect(sha256(r.stdoutBytes)).toBe(fixtures.image.manifestDigest)
  })

  it("--pretty indents", async () => {
    const r = await ocidist(["manifest", "--pretty", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("\n  \"schemaVersion\": 2")
  })

  it("--json wraps it with its digest", async () => {
    const r = await ocidist(["manifest", "--json", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out).toMatchObject({ digest: fixtures.image.manifestDigest, mediaType: fixtures.image.mediaType })
    expect(out.manifest.schemaVersion).toBe(2)
  })

  it("--platform picks a manifest of an index", async () => {
    const arm = fixtures.index.images.find((i) => i._tag === "Image" && i.platform.architecture === "arm64")!
    const r = await ocidist(["manifest", "--platform", "linux/arm64", `${host}/multi:1`])
    expect(r.code).toBe(0)
    expect(sha256(r.stdoutBytes)).toBe(arm.manifestDigest)
  })

  it("exits 3 for an unknown platform", async () => {
    const r = await ocidist(["manifest", "--platform", "linux/s390x", `${host}/multi:1`])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain("linux/arm64")
  })

  it("exits 3 for an unknown manifest, with the registry's code", async () => {
    const r = await ocidist(["manifest", `${host}/app:nope`])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain("MANIFEST_UNKNOWN")
  })

  it("exits 2 without a reference", async () => {
    const r = await ocidist(["manifest"])
    expect(r.code).toBe(2)
  })

  it("put uploads a file and prints its digest", async () => {
    const file = path.join(tempDir("ocidist-cli-"), "manifest.json")
    fs.writeFileSync(file, fixtures.image.manifest)
    const r = await ocidist(["manifest", "put", `${host}/app:put-file`, file])
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(fixtures.image.manifestDigest)
    expect((await ocidist(["digest", `${host}/app:put-file`])).stdout.trim()).toBe(fixtures.image.manifestDigest)
  })

  it("put reads stdin with -, --json", async () => {
    const r = await ocidist(["manifest", "put", "--json", `${host}/app:put-stdin`, "-"], {
      stdin: fixtures.image.manifest
    })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({
      digest: fixtures.image.manifestDigest,
      mediaType: fixtures.image.mediaType,
      size: fixtures.image.manifest.length
    })
  })

  it("put exits 5 for bytes that are not a manifest", async () => {
    const r = await ocidist(["manifest", "put", `${host}/app:bad`, "-"], { stdin: "not json" })
    expect(r.code).toBe(5)
    expect(r.stderr).toContain("not JSON")
  })
})

describe.concurrent("config and blob", () => {
  it("config prints the config blob", async () => {
    const r = await ocidist(["config", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    expect(sha256(r.stdoutBytes)).toBe(fixtures.image.configDigest)
  })

  it("config --json", async () => {
    const r = await ocidist(["config", "--json", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.digest).toBe(fixtures.image.configDigest)
    expect(out.config.config.Labels["org.example.seed"]).toBe("ocidist/small")
  })

  it("config of an index uses --platform", async () => {
    const arm = fixtures.index.images.find((i) => i._tag === "Image" && i.platform.architecture === "arm64")!
    const r = await ocidist(["config", "--platform", "linux/arm64", `${host}/multi:1`])
    expect(r.code).toBe(0)
    expect(sha256(r.stdoutBytes)).toBe(arm.configDigest)
  })

  it("config exits 3 for an unknown image", async () => {
    const r = await ocidist(["config", `${host}/app:nope`])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain("MANIFEST_UNKNOWN")
  })

  it("blob streams to stdout", async () => {
    const layer = fixtures.image.layers[1]!
    const r = await ocidist(["blob", `${host}/app@${layer.digest}`])
    expect(r.code).toBe(0)
    expect(sha256(r.stdoutBytes)).toBe(layer.digest)
  })

  it("blob -o writes a file, --json describes it", async () => {
    const layer = fixtures.image.layers[2]!
    const file = path.join(tempDir("ocidist-cli-"), "layer.bin")
    const r = await ocidist(["blob", "--json", "-o", file, `${host}/app@${layer.digest}`])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({
      reference: `${host}/app@${layer.digest}`,
      digest: layer.digest,
      size: layer.size,
      path: file
    })
    expect(sha256(fs.readFileSync(file))).toBe(layer.digest)
    expect(fs.existsSync(`${file}.partial`)).toBe(false)
  })

  it("blob -o from a registry that serves other bytes: exit 5, neither the file nor its partial left", async () => {
    const wrong = Buffer.from("not the blob that was asked for")
    const server = http.createServer((req, res) => {
      res.writeHead(200, { "content-length": req.url === "/v2/" ? 0 : wrong.length })
      res.end(req.url === "/v2/" ? undefined : wrong)
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const port = (server.address() as AddressInfo).port
    const file = path.join(tempDir("ocidist-cli-"), "layer.bin")
    const r = await ocidist(["blob", "-o", file, `127.0.0.1:${port}/app@${sha256(Buffer.from("the real blob"))}`])
    server.close()
    expect(r.code).toBe(5)
    expect(r.stderr).toContain("digest mismatch")
    expect(fs.existsSync(file)).toBe(false)
    expect(fs.existsSync(`${file}.partial`)).toBe(false)
  })

  it("blob exits 2 without a digest, 3 for an unknown one", async () => {
    expect((await ocidist(["blob", `${host}/app:1.0`])).code).toBe(2)
    const r = await ocidist(["blob", `${host}/app@sha256:${"0".repeat(64)}`])
    expect(r.code).toBe(3)
  })
})

describe.concurrent("inspect", () => {
  it("summarizes an image", async () => {
    const r = await ocidist(["inspect", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Digest:     ${fixtures.image.manifestDigest}`)
    expect(r.stdout).toContain("Platform:   linux/amd64")
    expect(r.stdout).toContain("Created:    1970-01-01T00:00:00Z")
    expect(r.stdout).toContain("Layers:     3")
    expect(r.stdout).toContain("org.example.seed=ocidist/small")
  })

  it("lists the platforms of an index", async () => {
    const r = await ocidist(["inspect", `${host}/multi:1`])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("Platforms:  linux/amd64, linux/arm64, linux/arm/v7")
  })

  it("--json has stable fields and no raw manifest", async () => {
    const r = await ocidist(["inspect", "--json", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out).toMatchObject({ kind: "image", digest: fixtures.image.manifestDigest })
    expect(out.layers).toHaveLength(3)
    expect(out.configSummary.labels).toEqual({ "org.example.seed": "ocidist/small" })
    expect(out.manifest).toBeUndefined()
  })

  it("exits 3 for an unknown image", async () => {
    expect((await ocidist(["inspect", `${host}/nothing:1`])).code).toBe(3)
  })
})

describe.concurrent("tags, catalog, tag, delete", () => {
  it("tags lists tags; ls is the same", async () => {
    const r = await ocidist(["tags", `${host}/tagme`])
    expect(r.code).toBe(0)
    expect(r.stdout.trim().split("\n")).toEqual(expect.arrayContaining(["1.0", "latest"]))
    const ls = await ocidist(["ls", `${host}/tagme`])
    expect(ls.stdout.trim().split("\n")).toEqual(expect.arrayContaining(["1.0", "latest"]))
  })

  it("--omit-digest-tags leaves out referrers tags; --json", async () => {
    const all = JSON.parse((await ocidist(["tags", "--json", `${host}/app`])).stdout).tags as Array<string>
    expect(all).toContain(Fixtures.referrersTag(fixtures.image.manifestDigest))
    const r = await ocidist(["tags", "--json", "--omit-digest-tags", `${host}/app`])
    expect(r.code).toBe(0)
    const tags = JSON.parse(r.stdout).tags as Array<string>
    expect(tags).toContain("1.0")
    expect(tags.some((t) => t.startsWith("sha256-"))).toBe(false)
  })

  it("tags of an unknown repository exits 3", async () => {
    const r = await ocidist(["tags", `${host}/nothing-here`])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain("NAME_UNKNOWN")
  })

  it("catalog lists repositories", async () => {
    const r = await ocidist(["catalog", host])
    expect(r.code).toBe(0)
    expect(r.stdout.split("\n")).toEqual(expect.arrayContaining(["app", "multi"]))
    const j = await ocidist(["catalog", "--json", host])
    expect(JSON.parse(j.stdout)).toMatchObject({
      registry: host,
      repositories: expect.arrayContaining(["app", "multi"])
    })
  })

  it("catalog exits 1 when nothing listens", async () => {
    const port = await Effect.runPromise(Tools.freePort)
    const r = await ocidist(["catalog", `127.0.0.1:${port}`])
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
  })

  it("tag adds a tag pointing at the same manifest", async () => {
    const r = await ocidist(["tag", `${host}/tagme:1.0`, "stable"])
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(`${host}/tagme:stable@${fixtures.image.manifestDigest}`)
    expect((await ocidist(["digest", `${host}/tagme:stable`])).stdout.trim()).toBe(fixtures.image.manifestDigest)
    const j = await ocidist(["tag", "--json", `${host}/tagme:1.0`, "other"])
    expect(JSON.parse(j.stdout)).toEqual({
      source: `${host}/tagme:1.0`,
      reference: `${host}/tagme:other`,
      digest: fixtures.image.manifestDigest
    })
  })

  it("tag exits 2 for an invalid tag, 3 for an unknown source", async () => {
    expect((await ocidist(["tag", `${host}/tagme:1.0`, "-bad"])).code).toBe(2)
    expect((await ocidist(["tag", `${host}/tagme:nope`, "x"])).code).toBe(3)
  })

  it("delete removes the manifest (by digest), with --force when other tags share it", async () => {
    // deleteme:latest points at the same manifest: deleting 1.0 would take it too
    const refused = await ocidist(["delete", `${host}/deleteme:1.0`])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/add --force/)
    expect((await ocidist(["digest", `${host}/deleteme:latest`])).code).toBe(0)
    const r = await ocidist(["delete", "--force", "--json", `${host}/deleteme:1.0`])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({
      reference: `${host}/deleteme:1.0`,
      digest: fixtures.image.manifestDigest,
      deleted: true
    })
    expect((await ocidist(["digest", `${host}/deleteme:latest`])).code).toBe(3)
    expect((await ocidist(["delete", `${host}/deleteme:1.0`])).code).toBe(3)
  })
})

describe.concurrent("referrers", () => {
  it("prints a tree (referrers of referrers included)", async () => {
    const r = await ocidist(["referrers", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split("\n")
    expect(lines[0]).toBe(`${host}/app:1.0@${fixtures.image.manifestDigest}`)
    expect(lines[1]).toMatch(new RegExp(`^└── ${SBOM}  ${fixtures.sbom.manifestDigest}`))
    expect(lines[2]).toMatch(new RegExp(`^    └── ${SIG}  ${fixtures.signature.manifestDigest}`))
  })

  it("--json nests referrers", async () => {
    const r = await ocidist(["referrers", "--json", `${host}/app:1.0`])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.subject.digest).toBe(fixtures.image.manifestDigest)
    expect(out.referrers).toHaveLength(1)
    expect(out.referrers[0]).toMatchObject({ digest: fixtures.sbom.manifestDigest, artifactType: SBOM })
    expect(out.referrers[0].referrers[0]).toMatchObject({
      digest: fixtures.signature.manifestDigest,
      artifactType: SIG
    })
  })

  it("--artifact-type filters", async () => {
    const r = await ocidist(["referrers", "--json", "--artifact-type", SIG, `${host}/app:1.0`])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).referrers).toEqual([])
  })

  it("exits 3 for an unknown subject", async () => {
    expect((await ocidist(["referrers", `${host}/app:nope`])).code).toBe(3)
  })
})

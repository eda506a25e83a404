// Docker image manifest schema 1: `digest` and `manifest` read it (its bytes as served; a signed one is
// addressed by the digest of its canonical form, the JWS payload without signatures, as registries, docker and
// skopeo address it); `pull` and `copy` refuse it (exit 5) saying that schema 1 is not supported. The embedded
// registry refuses schema 1 pushes, so: a loopback server of the test's own, and the Debian docker-registry
// with `compatibility.schema1.enabled` (it verifies the libtrust signature the test makes).
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { ocidist, tempDir } from "./cli.js"
import { acquire, DockerRegistry, Fixtures, sha256, Tools } from "./support.js"

const SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
const UNSIGNED = "application/vnd.docker.distribution.manifest.v1+json"

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url")

/**
 * A schema 1 manifest signed as libtrust signs it (docker 1.x, distribution): the JSON indented by three
 * spaces; the protected header says how long its formatted part is (`formatLength`) and what closes it
 * (`formatTail`); the `signatures` array is spliced in before the closing brace. Returns the canonical bytes
 * (the JWS payload) and the signed ones.
 */
const signSchema1 = (value: object) => {
  const canonical = Buffer.from(JSON.stringify(value, null, 3))
  const formatLength = canonical.length - 2 // without the closing "\n}"
  const protectedHeader = b64url(JSON.stringify({
    formatLength,
    formatTail: b64url(canonical.subarray(formatLength)),
    time: "2016-01-01T00:00:00Z"
  }))
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
  const signature = crypto.sign("sha256", Buffer.from(`${protectedHeader}.${b64url(canonical)}`), {
    key: privateKey,
    dsaEncoding: "ieee-p1363"
  })
  const jwk = publicKey.export({ format: "jwk" })
  const signatures = [{
    header: { jwk: { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }, alg: "ES256" },
    signature: b64url(signature),
    protected: protectedHeader
  }]
  const signed = Buffer.concat([
    canonical.subarray(0, formatLength),
    Buffer.from(`,\n   "signatures": ${JSON.stringify(signatures, null, 3).replace(/\n/g, "\n   ")}`),
    canonical.subarray(formatLength)
  ])
  return { canonical, signed }
}

const schema1Value = (name: string, tag: string, layerDigest: string) => ({
  schemaVersion: 1,
  name,
  tag,
  architecture: "amd64",
  fsLayers: [{ blobSum: layerDigest }],
  history: [{
    v1Compatibility: JSON.stringify({
      id: "a".repeat(64),
      created: "2016-01-01T00:00:00Z",
      container_config: { Cmd: ["/bin/sh"] },
      architecture: "amd64",
      os: "linux"
    })
  }]
})

const tmp = () => tempDir("ocidist-cli-schema1-")

let close: () => Promise<void>
let server: http.Server
let loopback: string
let registryHost: string
let pushedDigest: string
const LAYER = Buffer.from("a schema 1 layer (its bytes are not read)")
const local = signSchema1(schema1Value("old/app", "signed", sha256(LAYER)))
const unsigned = Buffer.from(JSON.stringify(schema1Value("old/app", "unsigned", sha256(LAYER)), null, 3))
const remote = signSchema1(schema1Value("legacy", "v1", sha256(LAYER)))

beforeAll(async () => {
  // served as distribution serves them: the signed one under the digest of its canonical form
  const served: Record<string, { readonly bytes: Buffer; readonly type: string; readonly digest?: string }> = {
    signed: { bytes: local.signed, type: SIGNED, digest: sha256(local.canonical) },
    [sha256(local.canonical)]: { bytes: local.signed, type: SIGNED, digest: sha256(local.canonical) },
    // no Docker-Content-Digest: HEAD falls back to a GET, the digest is computed
    unsigned: { bytes: unsigned, type: UNSIGNED },
    "unsigned-signed": { bytes: local.signed, type: SIGNED },
    // the registry names a digest the bytes do not have
    tampered: { bytes: local.signed, type: SIGNED, digest: sha256("something else") }
  }
  server = http.createServer((req, res) => {
    const match = /^\/v2\/old\/app\/manifests\/([^/?]+)$/.exec(req.url ?? "")
    if (req.url === "/v2/") {
      res.writeHead(200, { "content-type": "application/json" })
      return res.end("{}")
    }
    const entry = match === null ? undefined : served[decodeURIComponent(match[1]!)]
    if (entry === undefined || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "application/json" })
      return res.end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }))
    }
    res.writeHead(200, {
      "content-type": entry.type,
      "content-length": String(entry.bytes.length),
      ...(entry.digest === undefined ? {} : { "docker-content-digest": entry.digest })
    })
    res.end(req.method === "HEAD" ? undefined : entry.bytes)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  loopback = `127.0.0.1:${(server.address() as AddressInfo).port}`

  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* DockerRegistry.start({ mode: "anon", schema1: true })
    const dir = yield* Tools.tempDir("ocidist-cli-schema1-")
    const layerPath = path.join(dir, "layer")
    fs.writeFileSync(layerPath, LAYER)
    const pusher = Fixtures.rawPusher(registry, "legacy")
    yield* pusher.pushBlob({ digest: sha256(LAYER), path: layerPath })
    const digest = yield* pusher.putManifest("v1", remote.signed, SIGNED)
    return { host: registry.host, digest }
  }))
  close = acquired.close
  registryHost = acquired.value.host
  pushedDigest = acquired.value.digest
}, 60_000)

afterAll(async () => {
  await close?.()
  await new Promise<void>((resolve) => server?.close(() => resolve()))
})

describe.concurrent("Docker schema 1", () => {
  it("digest of a signed one: the digest of its canonical form (the JWS payload), not of the bytes", async () => {
    const canonical = sha256(local.canonical)
    expect(canonical).not.toBe(sha256(local.signed))
    const d = await ocidist(["digest", `${loopback}/old/app:signed`])
    expect(d.stderr).toBe("")
    expect(d.code).toBe(0)
    expect(d.stdout.trim()).toBe(canonical)
    // without Docker-Content-Digest it is computed the same way
    const computed = await ocidist(["digest", `${loopback}/old/app:unsigned-signed`])
    expect(computed.code).toBe(0)
    expect(computed.stdout.trim()).toBe(canonical)
    const plain = await ocidist(["digest", `${loopback}/old/app:unsigned`])
    expect(plain.code).toBe(0)
    expect(plain.stdout.trim()).toBe(sha256(unsigned))
  })

  it("manifest prints the bytes as served; --json names the schema 1 media type and the digest", async () => {
    const m = await ocidist(["manifest", `${loopback}/old/app:signed`])
    expect(m.stderr).toBe("")
    expect(m.code).toBe(0)
    expect(m.stdoutBytes.equals(local.signed)).toBe(true)
    const j = await ocidist(["manifest", "--json", `${loopback}/old/app:signed`])
    expect(j.code).toBe(0)
    expect(JSON.parse(j.stdout)).toMatchObject({
      digest: sha256(local.canonical),
      mediaType: SIGNED,
      size: local.signed.length,
      manifest: { schemaVersion: 1, name: "old/app" }
    })
    // by digest: the canonical digest addresses it
    const byDigest = await ocidist(["manifest", `${loopback}/old/app@${sha256(local.canonical)}`])
    expect(byDigest.code).toBe(0)
    expect(byDigest.stdoutBytes.equals(local.signed)).toBe(true)
    const u = await ocidist(["manifest", "--json", `${loopback}/old/app:unsigned`])
    expect(u.code).toBe(0)
    expect(JSON.parse(u.stdout)).toMatchObject({ digest: sha256(unsigned), mediaType: UNSIGNED })
  })

  it("a digest the bytes do not have is refused (exit 5)", async () => {
    const m = await ocidist(["manifest", `${loopback}/old/app:tampered`])
    expect(m.code).toBe(5)
    expect(m.stdout).toBe("")
  })

  it("pull and copy refuse it: exit 5, schema 1 named as not supported, nothing written", async () => {
    const dir = tmp()
    for (
      const args of [
        ["pull", `${loopback}/old/app:signed`, path.join(dir, "layout")],
        ["copy", `${loopback}/old/app:signed`, `oci-archive:${path.join(dir, "a.tar")}`],
        ["inspect", `${loopback}/old/app:signed`],
        ["manifest", "--platform", "linux/amd64", `${loopback}/old/app:signed`]
      ]
    ) {
      const r = await ocidist(args)
      expect(r.code, args[0]).toBe(5)
      expect(r.stderr, args[0]).toContain("schema 1 is deprecated and not supported")
      expect(r.stderr, args[0]).not.toContain("re-push")
    }
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it("docker-registry (schema 1 enabled): digest is the registry's and skopeo's, manifest its bytes, pull refused", async () => {
    const ref = `${registryHost}/legacy:v1`
    const skopeo = JSON.parse(
      execFileSync("skopeo", ["inspect", "--tls-verify=false", "--no-tags", `docker://${ref}`], { encoding: "utf8" })
    ) as { readonly Digest: string }
    const d = await ocidist(["digest", ref])
    expect(d.stderr).toBe("")
    expect(d.code).toBe(0)
    expect(d.stdout.trim()).toBe(pushedDigest)
    expect(d.stdout.trim()).toBe(skopeo.Digest)
    expect(d.stdout.trim()).toBe(sha256(remote.canonical))
    const m = await ocidist(["manifest", ref])
    expect(m.code).toBe(0)
    expect(JSON.parse(m.stdout)).toMatchObject({ schemaVersion: 1, name: "legacy", tag: "v1" })
    const byDigest = await ocidist(["manifest", "--json", `${registryHost}/legacy@${pushedDigest}`])
    expect(byDigest.code).toBe(0)
    expect(JSON.parse(byDigest.stdout)).toMatchObject({ digest: pushedDigest, mediaType: SIGNED })
    const out = path.join(tmp(), "layout")
    const p = await ocidist(["pull", ref, out])
    expect(p.code).toBe(5)
    expect(p.stderr).toContain("schema 1 is deprecated and not supported")
    expect(fs.existsSync(out)).toBe(false)
  })
})

/**
 * Requests a careless or hostile client sends: names that would land in a layout's own files, blob deletes of
 * manifests, ranges over empty blobs, malformed paths, and the token realm on the host the client reached.
 */
import { assert, describe, it } from "@effect/vitest"
import { Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as NodeRegistry from "../src/NodeRegistry.js"

const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

const request = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    const text = await response.text()
    return { status: response.status, headers: response.headers, text }
  })

const codeOf = (text: string) => (JSON.parse(text) as { errors: Array<{ code: string }> }).errors[0]!.code

const pushBlob = (url: string, name: string, bytes: string) =>
  request(`${url}/v2/${name}/blobs/uploads/?digest=${sha256(bytes)}`, { method: "POST", body: bytes })

describe("hardening", () => {
  it.scopedLive("directory storage refuses names whose components are a layout's own files", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-registry-names-")
      const registry = yield* NodeRegistry.start({ storage: { directory: dir } })
      assert.strictEqual((yield* pushBlob(registry.url, "x", "{}")).status, 201)
      for (const name of ["x/oci-layout", "x/index.json", "x/blobs", "ingest/y", "blobs"]) {
        const res = yield* pushBlob(registry.url, name, "{}")
        assert.strictEqual(res.status, 400, name)
        assert.strictEqual(codeOf(res.text), "NAME_INVALID", name)
      }
      assert.isFalse(fs.existsSync(path.join(dir, "x", "oci-layout", "oci-layout")))
      const catalog = yield* request(`${registry.url}/v2/_catalog`)
      assert.deepStrictEqual(JSON.parse(catalog.text), { repositories: ["x"] })
      // the memory storage has no such files: the same names are fine there
      const memory = yield* NodeRegistry.start({})
      assert.strictEqual((yield* pushBlob(memory.url, "x/blobs", "{}")).status, 201)
    }))

  it.scopedLive("a manifest is deleted as a manifest, not as a blob; an empty blob has no range", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry.start({})
      const config = "{}"
      yield* pushBlob(registry.url, "app", config)
      yield* pushBlob(registry.url, "app", "")
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.empty.v1+json", digest: sha256(config), size: 2 },
        layers: []
      })
      const put = yield* request(`${registry.url}/v2/app/manifests/v1`, {
        method: "PUT",
        headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
        body: manifest
      })
      assert.strictEqual(put.status, 201)
      const asBlob = yield* request(`${registry.url}/v2/app/blobs/${sha256(manifest)}`, { method: "DELETE" })
      assert.strictEqual(asBlob.status, 405)
      assert.strictEqual(codeOf(asBlob.text), "UNSUPPORTED")
      assert.strictEqual((yield* request(`${registry.url}/v2/app/manifests/v1`)).status, 200, "the tag still works")
      const ranged = yield* request(`${registry.url}/v2/app/blobs/${sha256("")}`, { headers: { range: "bytes=-5" } })
      assert.strictEqual(ranged.status, 416)
      assert.strictEqual(ranged.headers.get("content-range"), "bytes */0")
      const whole = yield* request(`${registry.url}/v2/app/blobs/${sha256("")}`)
      assert.strictEqual(whole.status, 200)
      assert.strictEqual(whole.headers.get("content-length"), "0")
    }))

  it.scopedLive("a path that is not valid percent-encoding is a 400, not a crash", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry.start({})
      const res = yield* request(`${registry.url}/v2/%zz/tags/list`)
      assert.strictEqual(res.status, 400)
      assert.strictEqual(codeOf(res.text), "NAME_INVALID")
      assert.strictEqual((yield* request(`${registry.url}/v2/`)).status, 200, "the registry still answers")
    }))

  it.scopedLive("the token realm names the host the client reached", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry.start({
        auth: { type: "token", users: [{ username: "u", password: "p" }] }
      })
      const viaIp = yield* request(`${registry.url}/v2/app/tags/list`)
      assert.strictEqual(viaIp.status, 401)
      assert.include(viaIp.headers.get("www-authenticate") ?? "", `realm="${registry.url}/token"`)
      const viaName = yield* request(`http://localhost:${registry.port}/v2/app/tags/list`)
      assert.include(viaName.headers.get("www-authenticate") ?? "", `realm="http://localhost:${registry.port}/token"`)
      // a token that grants nothing to an anonymous caller is not kept: it is refused as invalid
      const token = JSON.parse((yield* request(`${registry.url}/token?service=x&scope=repository:app:push`)).text) as {
        token: string
      }
      const used = yield* request(`${registry.url}/v2/`, { headers: { authorization: `Bearer ${token.token}` } })
      assert.strictEqual(used.status, 401)
      assert.include(used.headers.get("www-authenticate") ?? "", `error="invalid_token"`)
    }))
})

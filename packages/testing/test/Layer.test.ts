import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { DockerRegistry, Fixtures, Tools } from "../src/index.js"

// One registry shared by the tests of the block, stopped after the last one.
layer(DockerRegistry.layer({ mode: "basic" }), { excludeTestServices: true })("a shared registry", (it) => {
  it.scoped("pushRaw a small OCI image", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.DockerRegistry
      const image = yield* Fixtures.smallImage(yield* Tools.tempDir())
      yield* Fixtures.pushRaw(registry, "small", image, { tags: ["1"] })
      const res = yield* Tools.request(`${registry.url}/v2/small/manifests/1`, {
        method: "HEAD",
        headers: {
          authorization: `Basic ${Buffer.from("testuser:testpassword").toString("base64")}`,
          accept: Fixtures.MediaType.ociManifest
        }
      })
      assert.strictEqual(res.header("docker-content-digest"), image.manifestDigest)
    }))

  it.scoped("pushRaw a Docker manifest list", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.DockerRegistry
      const list = yield* Fixtures.multiPlatformIndex(yield* Tools.tempDir(), { format: "docker" })
      assert.strictEqual(list.images.length, 3)
      yield* Fixtures.pushRaw(registry, "multi-docker", list, { tags: ["1"] })
      const res = yield* Tools.skopeo([
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        "testuser:testpassword",
        `docker://${registry.host}/multi-docker:1`
      ])
      assert.strictEqual(res.exitCode, 0, res.stderr)
      assert.include(res.stdout, Fixtures.MediaType.dockerManifestList)
      assert.include(res.stdout, `"variant":"v7"`)
    }))
})

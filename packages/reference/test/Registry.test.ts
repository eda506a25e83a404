import { assert, describe, it } from "@effect/vitest"
import { Registry } from "@ocidist/reference"

describe("Registry", () => {
  it("maps Docker Hub to its API host and credential key", () => {
    assert.strictEqual(Registry.apiHost("docker.io"), "registry-1.docker.io")
    assert.strictEqual(Registry.credentialKey("docker.io"), "https://index.docker.io/v1/")
    assert.strictEqual(Registry.apiHost("ghcr.io"), "ghcr.io")
    assert.strictEqual(Registry.credentialKey("localhost:5000"), "localhost:5000")
  })

  it("recognizes every Docker Hub alias and key", () => {
    for (
      const key of [
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "https://index.docker.io/v1/",
        "https://registry-1.docker.io",
        "Docker.IO"
      ]
    ) {
      assert.isTrue(Registry.isDockerHub(key), key)
      assert.strictEqual(Registry.canonical(key), "docker.io")
    }
    assert.isFalse(Registry.isDockerHub("ghcr.io"))
    assert.isFalse(Registry.isDockerHub("docker.io.example.com"))
  })

  it("normalizes keys and URLs to host[:port]", () => {
    assert.strictEqual(Registry.normalizeHost("https://GHCR.io/v2/"), "ghcr.io")
    assert.strictEqual(Registry.normalizeHost("http://localhost:5000"), "localhost:5000")
    assert.strictEqual(Registry.normalizeHost("quay.io"), "quay.io")
    assert.isTrue(Registry.same("https://quay.io/", "quay.io"))
    assert.isFalse(Registry.same("quay.io:443", "quay.io"))
  })

  it("knows loopback registries", () => {
    for (const r of ["localhost", "localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000", "foo.localhost:80"]) {
      assert.isTrue(Registry.isLoopback(r), r)
    }
    for (const r of ["ghcr.io", "10.0.0.1:5000", "localhost.example.com", "128.0.0.1"]) {
      assert.isFalse(Registry.isLoopback(r), r)
    }
    assert.strictEqual(Registry.hostname("[::1]:5000"), "::1")
    assert.strictEqual(Registry.hostname("127.0.0.1:5000"), "127.0.0.1")
  })
})

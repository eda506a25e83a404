import { assert, describe, it } from "@effect/vitest"
import { Digest } from "@ocidist/reference"
import { ImageConfig, Manifest, MediaType, SpecError } from "@ocidist/spec"
import * as Either from "effect/Either"

const enc = (s: string) => new TextEncoder().encode(s)
const d = (c: string) => `sha256:${c.repeat(64)}`
const image =
  `{"schemaVersion":2,"mediaType":"${MediaType.OCI_MANIFEST}","config":{"mediaType":"${MediaType.OCI_CONFIG}","digest":"${
    d("a")
  }","size":10},"layers":[{"mediaType":"${MediaType.OCI_LAYER_GZIP}","digest":"${
    d("b")
  }","size":20}],"annotations":{"x":"y"}}`

describe("Manifest.decode", () => {
  it("decodes an OCI image manifest and digests the exact bytes", () => {
    const bytes = enc(`  ${image}\n`)
    const m = Either.getOrThrow(Manifest.decode(bytes))
    assert.strictEqual(m._tag, "ImageManifest")
    assert.strictEqual(m.mediaType, MediaType.OCI_MANIFEST)
    assert.strictEqual(m.digest, Digest.ofBytes(bytes))
    assert.strictEqual(m.bytes, bytes)
    assert.deepStrictEqual(Manifest.children(m).map((c) => c.size), [10, 20])
    assert.strictEqual(Manifest.descriptorOf(m).size, bytes.length)
  })

  it("uses the Content-Type when the body has no mediaType, else infers from the shape", () => {
    const body = enc(
      `{"schemaVersion":2,"manifests":[{"mediaType":"${MediaType.OCI_MANIFEST}","digest":"${
        d("c")
      }","size":3,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}`
    )
    const withHeader = Either.getOrThrow(
      Manifest.decode(body, { contentType: `${MediaType.DOCKER_MANIFEST_LIST}; charset=utf-8` })
    )
    assert.strictEqual(withHeader._tag, "ImageIndex")
    assert.strictEqual(withHeader.mediaType, MediaType.DOCKER_MANIFEST_LIST)
    const inferred = Either.getOrThrow(Manifest.decode(body))
    assert.strictEqual(inferred.mediaType, MediaType.OCI_INDEX)
    if (inferred._tag === "ImageIndex") assert.strictEqual(inferred.manifest.manifests[0]?.platform?.variant, "v8")
  })

  it("refuses Docker schema 1 with a clear message", () => {
    const schema1 = enc(`{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}`)
    const e1 = Either.getOrThrow(Either.flip(Manifest.decode(schema1)))
    assert.strictEqual(e1.reason, "Schema1")
    assert.include(e1.message, "schema 1")
    const e2 = Either.getOrThrow(
      Either.flip(Manifest.decode(enc("{}"), { contentType: MediaType.DOCKER_SCHEMA1_SIGNED }))
    )
    assert.strictEqual(e2.reason, "Schema1")
  })

  it("reports malformed and unsupported content", () => {
    const notJson = Either.getOrThrow(Either.flip(Manifest.decode(enc("not json"))))
    assert.strictEqual(notJson.reason, "Malformed")
    assert.instanceOf(notJson.cause, SyntaxError, "the parser's error is kept as the cause")
    assert.isTrue(SpecError.isSpecError(notJson))
    assert.strictEqual(Either.getOrThrow(Either.flip(Manifest.decode(enc("[1]")))).reason, "Malformed")
    assert.strictEqual(
      Either.getOrThrow(Either.flip(Manifest.decode(enc(image.replace(d("a"), "sha256:bad"))))).reason,
      "Malformed"
    )
    assert.strictEqual(
      Either.getOrThrow(Either.flip(Manifest.decode(enc(image.replace("\"size\":10", "\"size\":-1"))))).reason,
      "Malformed"
    )
    const unknown = Either.getOrThrow(
      Either.flip(Manifest.decode(enc(`{"schemaVersion":2,"mediaType":"application/x-other"}`)))
    )
    assert.strictEqual(unknown.reason, "UnsupportedMediaType")
    assert.include(unknown.message, "application/x-other")
  })

  it("keeps subject and artifactType", () => {
    const artifact = enc(
      `{"schemaVersion":2,"mediaType":"${MediaType.OCI_MANIFEST}","artifactType":"application/vnd.example.sbom","config":{"mediaType":"${MediaType.OCI_EMPTY}","digest":"${
        d("4")
      }","size":2},"layers":[],"subject":{"mediaType":"${MediaType.OCI_MANIFEST}","digest":"${d("5")}","size":7}}`
    )
    const m = Either.getOrThrow(Manifest.decode(artifact))
    assert.strictEqual(Manifest.subject(m)?.digest, d("5"))
    assert.strictEqual(Manifest.descriptorOf(m).artifactType, "application/vnd.example.sbom")
  })

  it("decodes image configs, tolerating nulls and unknown fields", () => {
    const config = Either.getOrThrow(
      ImageConfig.decode(
        enc(
          `{"architecture":"amd64","os":"linux","config":{"Env":null,"Labels":{"a":"b"}},"rootfs":{"type":"layers","diff_ids":["${
            d("e")
          }"]},"extra":1}`
        )
      )
    )
    assert.strictEqual(config.config?.Labels?.a, "b")
    assert.strictEqual(config.rootfs.diff_ids.length, 1)
    const invalidConfig = Either.getOrThrow(Either.flip(ImageConfig.decode(enc(`{"os":"linux"}`))))
    assert.strictEqual(invalidConfig.reason, "Malformed")
    assert.strictEqual((invalidConfig.cause as { readonly _tag?: string })._tag, "ParseError")
  })

  it("encodes to compact JSON whose digest is of those bytes", () => {
    const m = Either.getOrThrow(Manifest.decode(enc(image)))
    const bytes = Manifest.encode(m.manifest)
    assert.strictEqual(Either.getOrThrow(Manifest.decode(bytes)).digest, Digest.ofBytes(bytes))
  })
})

/**
 * A port of the OCI distribution-spec conformance suite (v1.1.1: pull, push, content discovery, content
 * management, with automatic cross-mount on), plus cases the suite does not test (pagination `Link`s,
 * catalog, blob ranges, manifest verification and size, name, digest and upload-session errors, disabled
 * deletes, `Accept` negotiation, the error envelope). One shared suite runs against three targets: the
 * embedded registry in memory, the embedded registry on a directory, and the Debian `docker-registry`
 * (CNCF distribution 2.8). What distribution 2.8 cannot do is a capability of the target: without it, the
 * case asserts what 2.8 does instead, so nothing is skipped.
 *
 * Each workflow runs in order against one registry per target, with state carried over from one
 * workflow to the next as in the real suite (manifests deleted by digest take their tags with them, so
 * discovery sees 5 tags and management 1).
 */
import { describe, expect, layer } from "@effect/vitest"
import { DockerRegistry, Tar, Tools } from "@ocidist/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as crypto from "node:crypto"
import * as http from "node:http"
import * as zlib from "node:zlib"
import * as NodeRegistry from "../src/NodeRegistry.js"

// ---- targets -------------------------------------------------------------------------------------------

interface Capabilities {
  /** `GET /v2/<name>/referrers/<digest>` (OCI 1.1). distribution 2.8 has no such route: 404. */
  readonly referrers: boolean
  /** `OCI-Subject` on a manifest PUT with a `subject`. distribution 2.8 ignores `subject`: no header. */
  readonly subjectHeader: boolean
  /** `?artifactType=` filtering with `OCI-Filters-Applied: artifactType`. */
  readonly artifactTypeFilter: boolean
  /** `POST …/blobs/uploads/?mount=<digest>` without `from` mounts from any repository. 2.8: a session (202). */
  readonly automaticCrossMount: boolean
  /** `POST …/blobs/uploads/?digest=<d>` with the body completes the upload (201). 2.8: a session (202). */
  readonly singlePostUpload: boolean
  /** A chunk whose `Content-Range` does not start where the upload ends is refused with 416. 2.8 ignores it. */
  readonly contentRangeChecks: boolean
  /**
   * Every `Location` a session was given stays valid (the session is the id in the path). distribution 2.8
   * signs the upload's offset into the URL (`_state`): a stale or missing state is 404 `BLOB_UPLOAD_INVALID`.
   */
  readonly stableUploadUrls: boolean
  /** `DELETE …/manifests/<tag>` removes the tag (202). 2.8 parses the tag as a digest: 400 `DIGEST_INVALID`. */
  readonly tagDelete: boolean
  /** Tags are listed in lexical order, paginated by `n` and `last` with `Link`. 2.8: any order, no paging. */
  readonly tagPagination: boolean
  /** A repository without tags lists `"tags": []`. 2.8: `"tags": null`. */
  readonly emptyTagsArray: boolean
  /** `_catalog` is in plain lexical order. 2.8 walks its storage tree: ordered by path component. */
  readonly catalogLexicalOrder: boolean
  /** Manifests over 4 MiB are refused with 413. 2.8 refuses them with 400 `MANIFEST_INVALID`. */
  readonly manifestTooLarge413: boolean
  /**
   * A manifest reference that is neither a tag nor a digest (`sha256:totallywrong`) is not found (404
   * `MANIFEST_UNKNOWN`). 2.8 looks it up as a tag and fails on the storage path: 500 `UNKNOWN`.
   */
  readonly malformedReferenceNotFound: boolean
  /**
   * Requests that match no route (names outside the grammar, `.INVALID_MANIFEST_NAME`, invalid tags) still
   * get the JSON error envelope with the right code. 2.8's router answers a plain-text 404.
   */
  readonly envelopeOnUnroutable: boolean
  /**
   * Names over 255 characters or with upper case are 400 `NAME_INVALID`. 2.8's router takes them, then they
   * fail to parse: 500 (`UNKNOWN` for the long name, an empty `{}` body for upper case).
   */
  readonly nameInvalidErrors: boolean
  /**
   * The 416 of an unsatisfiable `Range` carries the JSON error envelope. 2.8 answers Go's plain text (and
   * keeps the blob's `Content-Length`, so the response is cut short).
   */
  readonly envelopeOnRangeError: boolean
  /** The registry can be started with deletes switched off (405 `UNSUPPORTED`). */
  readonly deletesSwitch: boolean
}

interface Running {
  readonly url: string
}

interface Target {
  readonly name: string
  readonly start: (options: { readonly deletes: boolean }) => Effect.Effect<Running, unknown, Scope.Scope>
  readonly capabilities: Capabilities
}

const embedded: Capabilities = {
  referrers: true,
  subjectHeader: true,
  artifactTypeFilter: true,
  automaticCrossMount: true,
  singlePostUpload: true,
  contentRangeChecks: true,
  stableUploadUrls: true,
  tagDelete: true,
  tagPagination: true,
  emptyTagsArray: true,
  catalogLexicalOrder: true,
  manifestTooLarge413: true,
  malformedReferenceNotFound: true,
  envelopeOnUnroutable: true,
  nameInvalidErrors: true,
  envelopeOnRangeError: true,
  deletesSwitch: true
}

const targets: ReadonlyArray<Target> = [
  {
    name: "embedded registry (memory storage)",
    start: ({ deletes }) => NodeRegistry.start({ deletes }),
    capabilities: embedded
  },
  {
    name: "embedded registry (directory storage)",
    start: ({ deletes }) =>
      Effect.flatMap(
        Tools.tempDir("ocidist-conformance-"),
        (directory) => NodeRegistry.start({ storage: { directory }, deletes })
      ),
    capabilities: embedded
  },
  {
    name: "docker-registry (distribution 2.8)",
    // the harness always configures `storage.delete.enabled: true`
    start: ({ deletes }) =>
      deletes ? DockerRegistry.start() : Effect.dieMessage("docker-registry: deletes cannot be switched off"),
    capabilities: {
      referrers: false,
      subjectHeader: false,
      artifactTypeFilter: false,
      automaticCrossMount: false,
      singlePostUpload: false,
      contentRangeChecks: false,
      stableUploadUrls: false,
      tagDelete: false,
      tagPagination: false,
      emptyTagsArray: false,
      catalogLexicalOrder: false,
      manifestTooLarge413: false,
      malformedReferenceNotFound: false,
      envelopeOnUnroutable: false,
      nameInvalidErrors: false,
      envelopeOnRangeError: false,
      deletesSwitch: false
    }
  }
]

// ---- HTTP ----------------------------------------------------------------------------------------------

interface Res {
  readonly status: number
  /** The connection ended before the declared `Content-Length` (distribution 2.8's 416). */
  readonly truncated: boolean
  readonly headers: http.IncomingHttpHeaders
  readonly body: Uint8Array
  readonly text: string
  readonly header: (name: string) => string | undefined
}

interface Req {
  readonly method?: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: Uint8Array | string
  /**
   * Send the body with `Transfer-Encoding: chunked` and no `Content-Length`, as the suite's Go client
   * (reggie/resty over an `io.NopCloser`) does. Default: `Content-Length`.
   */
  readonly chunked?: boolean
}

const send = (url: string, req: Req = {}): Effect.Effect<Res> =>
  Effect.async<Res>((resume) => {
    const body = req.body === undefined
      ? undefined
      : typeof req.body === "string"
      ? Buffer.from(req.body)
      : Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength)
    const headers: Record<string, string> = { ...req.headers }
    if (body !== undefined && req.chunked !== true) headers["content-length"] = String(body.length)
    let done = false
    const request = http.request(url, { method: req.method ?? "GET", headers, agent: false }, (res) => {
      const chunks: Array<Buffer> = []
      const finish = (truncated: boolean) => {
        if (done) return
        done = true
        const data = Buffer.concat(chunks)
        resume(Effect.succeed({
          status: res.statusCode ?? 0,
          truncated,
          headers: res.headers,
          body: new Uint8Array(data),
          text: data.toString("utf8"),
          header: (name: string) => {
            const value = res.headers[name.toLowerCase()]
            return Array.isArray(value) ? value.join(", ") : value
          }
        }))
      }
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("aborted", () => finish(true))
      res.on("error", () => finish(true))
      res.on("end", () => finish(false))
    })
    request.on("error", (error) => {
      if (done) return
      done = true
      resume(Effect.die(new Error(`${req.method ?? "GET"} ${url}: ${error.message}`)))
    })
    if (body !== undefined && req.chunked === true) {
      // two writes, so the body really goes out in chunks
      const half = Math.floor(body.length / 2)
      request.write(body.subarray(0, half))
      request.end(body.subarray(half))
    } else {
      request.end(body)
    }
    return Effect.sync(() => request.destroy())
  })

// ---- fixtures (setup.go / image.go of the suite) ----------------------------------------------------------

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
const OCI_INDEX = "application/vnd.oci.image.index.v1+json"
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
const OCI_EMPTY = "application/vnd.oci.empty.v1+json"
const OCTET = "application/octet-stream"
const ANNOTATION = "org.opencontainers.conformance.test"
const ARTIFACT_A = "application/vnd.nhl.peanut.butter.bagel"
const ARTIFACT_B = "application/vnd.nba.strawberry.jam.croissant"
const ARTIFACT_INDEX = "application/vnd.food.stand"
const EMPTY_JSON_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
const NONEXISTENT_MANIFEST = ".INVALID_MANIFEST_NAME"
const ERROR_CODES = [
  "BLOB_UNKNOWN",
  "BLOB_UPLOAD_INVALID",
  "BLOB_UPLOAD_UNKNOWN",
  "DIGEST_INVALID",
  "MANIFEST_BLOB_UNKNOWN",
  "MANIFEST_INVALID",
  "MANIFEST_UNKNOWN",
  "MANIFEST_UNVERIFIED",
  "NAME_INVALID",
  "NAME_UNKNOWN",
  "SIZE_INVALID",
  "TAG_INVALID",
  "UNAUTHORIZED",
  "DENIED",
  "UNSUPPORTED"
]

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const sha256 = (bytes: Uint8Array) => `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`
const randomBytes = (n: number) => new Uint8Array(crypto.randomBytes(n))
const randomString = (n: number) => {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
  return Array.from(crypto.randomBytes(n), (b) => letters[b % letters.length]).join("")
}
/** Go's `json.MarshalIndent(v, "", "\t")`, near enough: the bytes are what the digests are of. */
const indent = (value: unknown) => utf8(JSON.stringify(value, null, "\t"))

interface Desc {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
}

const descOf = (mediaType: string, bytes: Uint8Array): Desc => ({
  mediaType,
  digest: sha256(bytes),
  size: bytes.length
})

/** A one-file ustar archive, gzipped: the suite's small test layer. */
const makeLayer = (): Uint8Array =>
  new Uint8Array(zlib.gzipSync(Tar.archive([
    Tar.entry({ name: "hello.txt", data: `conformance ${randomString(8)}\n`, mtime: Math.floor(Date.now() / 1000) })
  ])))

interface Fixtures {
  readonly configs: ReadonlyArray<Uint8Array>
  readonly configDescs: ReadonlyArray<Desc>
  readonly layer: Uint8Array
  readonly layerDesc: Desc
  readonly manifests: ReadonlyArray<Uint8Array>
  readonly manifestDigests: ReadonlyArray<string>
  readonly emptyLayerManifest: Uint8Array
  readonly emptyLayerManifestDigest: string
  readonly testBlobA: Uint8Array
  readonly testBlobADigest: string
  readonly dummyDigest: string
  readonly emptyJSON: Uint8Array
  readonly emptyJSONDesc: Desc
  readonly refBlobA: Uint8Array
  readonly refBlobB: Uint8Array
  readonly refs: {
    readonly AConfig: Uint8Array
    readonly ALayer: Uint8Array
    readonly BConfig: Uint8Array
    readonly BLayer: Uint8Array
    readonly CLayer: Uint8Array
    readonly Index: Uint8Array
  }
  readonly refDigests: {
    readonly AConfig: string
    readonly ALayer: string
    readonly BConfig: string
    readonly BLayer: string
    readonly CLayer: string
    readonly Index: string
  }
}

const makeFixtures = (): Fixtures => {
  const configs = Array.from({ length: 5 }, () =>
    indent({
      author: randomString(16),
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [] }
    }))
  const configDescs = configs.map((c) => descOf(OCI_CONFIG, c))
  const layer = makeLayer()
  const layerDesc = descOf(OCI_LAYER_GZIP, layer)
  const manifests = configs.map((config, i) =>
    indent({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        ...configDescs[i]!,
        data: Buffer.from(config).toString("base64"),
        newUnspecifiedField: "aGVsbG8gd29ybGQ="
      },
      layers: [{ ...layerDesc, newUnspecifiedField: null }]
    })
  )
  const manifestDigests = manifests.map(sha256)
  // no mediaType field, no layers
  const emptyLayerManifest = indent({ schemaVersion: 2, config: configDescs[1]!, layers: [] })

  const emptyJSON = utf8("{}")
  const emptyJSONDesc = descOf(OCI_EMPTY, emptyJSON)
  const refBlobA = utf8("NHL Peanut Butter on my NHL bagel")
  const refBlobB = utf8("NBA Strawberry Jam on my NBA croissant")
  const subjectOf = (i: number): Desc => ({
    mediaType: OCI_MANIFEST,
    digest: manifestDigests[i]!,
    size: manifests[i]!.length
  })
  const configArtifact = (type: string, blob: Uint8Array, value: string) =>
    indent({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descOf(type, blob),
      layers: [emptyJSONDesc],
      subject: subjectOf(4),
      annotations: { [ANNOTATION]: value }
    })
  const layerArtifact = (type: string, blob: Uint8Array, subject: number, value: string | undefined) =>
    indent({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: type,
      config: emptyJSONDesc,
      layers: [descOf(type, blob)],
      subject: subjectOf(subject),
      ...(value === undefined ? {} : { annotations: { [ANNOTATION]: value } })
    })
  const AConfig = configArtifact(ARTIFACT_A, refBlobA, "test config a")
  const ALayer = layerArtifact(ARTIFACT_A, refBlobA, 4, "test layer a")
  const BConfig = configArtifact(ARTIFACT_B, refBlobB, "test config b")
  const BLayer = layerArtifact(ARTIFACT_B, refBlobB, 4, "test layer b")
  const CLayer = layerArtifact(ARTIFACT_B, refBlobB, 3, undefined)
  const Index = indent({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    artifactType: ARTIFACT_INDEX,
    manifests: [descOf(OCI_MANIFEST, AConfig), descOf(OCI_MANIFEST, ALayer)],
    subject: subjectOf(4),
    annotations: { [ANNOTATION]: "test index" }
  })
  const testBlobA = randomBytes(42)
  return {
    configs,
    configDescs,
    layer,
    layerDesc,
    manifests,
    manifestDigests,
    emptyLayerManifest,
    emptyLayerManifestDigest: sha256(emptyLayerManifest),
    testBlobA,
    testBlobADigest: sha256(testBlobA),
    dummyDigest: sha256(utf8("hello world")),
    emptyJSON,
    emptyJSONDesc,
    refBlobA,
    refBlobB,
    refs: { AConfig, ALayer, BConfig, BLayer, CLayer, Index },
    refDigests: {
      AConfig: sha256(AConfig),
      ALayer: sha256(ALayer),
      BConfig: sha256(BConfig),
      BLayer: sha256(BLayer),
      CLayer: sha256(CLayer),
      Index: sha256(Index)
    }
  }
}

// ---- the shared context of one target --------------------------------------------------------------------

/** What the suite's global variables carry from one case (and one workflow) to the next. */
interface State {
  /** `testBlobB` and its two chunks (rebuilt when the registry asks for a larger `OCI-Chunk-Min-Length`). */
  blobB: Uint8Array
  chunk1: Uint8Array
  chunk2: Uint8Array
  /** Location of the PATCH of the streamed upload. */
  streamedLocation: string
  /** The response of the chunked upload's POST (`prevResponse`). */
  chunkedPostLocation: string
  chunkedPatchLocation: string
  chunkedNextLocation: string
  monolithicPostStatus: number
  mountStatus: number
  emptyLayerPushed: boolean
  discoveryTags: ReadonlyArray<string>
  managementTagsBefore: number
  blobDeleteAllowed: boolean
}

interface Ctx {
  readonly target: Target
  readonly caps: Capabilities
  readonly url: string
  readonly fx: Fixtures
  readonly state: State
}

class Conformance extends Context.Tag("test/Conformance")<Conformance, Ctx>() {}

const contextLayer = (target: Target) =>
  Layer.scoped(
    Conformance,
    Effect.gen(function*() {
      const running = yield* target.start({ deletes: true })
      const fx = makeFixtures()
      const blobB = randomBytes(42)
      return {
        target,
        caps: target.capabilities,
        url: running.url,
        fx,
        state: {
          blobB,
          chunk1: blobB.subarray(0, 22),
          chunk2: blobB.subarray(22),
          streamedLocation: "",
          chunkedPostLocation: "",
          chunkedPatchLocation: "",
          chunkedNextLocation: "",
          monolithicPostStatus: 0,
          mountStatus: 0,
          emptyLayerPushed: false,
          discoveryTags: [],
          managementTagsBefore: 0,
          blobDeleteAllowed: true
        }
      }
    })
  )

// ---- helpers ------------------------------------------------------------------------------------------------

const NAMESPACE = "conformance/oci-test"
const crossmountNamespace = () => `conformance-${crypto.randomUUID()}`

/** reggie's `GetRelativeLocation`: the path and query of `Location`, sent to the registry's root URL. */
const relative = (location: string | undefined): string => {
  expect(location, "Location header").toBeTruthy()
  const url = new URL(location!, "http://placeholder")
  return `${url.pathname}${url.search}`
}

/** A relative location with a query parameter set (resty's `SetQueryParam`: merged into the query). */
const withQuery = (path: string, key: string, value: string) => {
  const url = new URL(path, "http://placeholder")
  url.searchParams.set(key, value)
  return `${url.pathname}${url.search}`
}

const is2xx = (status: number) => status >= 200 && status < 300

const expectStatus = (res: Res, accepted: ReadonlyArray<number | "2xx">, what = "") => {
  const ok = accepted.some((a) => a === "2xx" ? is2xx(res.status) : a === res.status)
  expect(ok, `${what} status ${res.status} not in [${accepted.join(", ")}]; body: ${res.text.slice(0, 500)}`).toBe(true)
}

interface ErrorEnvelope {
  readonly errors: ReadonlyArray<{ readonly code: string; readonly message: string; readonly detail?: unknown }>
}

/** The spec's error envelope `{"errors":[{"code","message"}]}`, with `code` first. */
const expectError = (res: Res, status: number, code: string) => {
  expect(res.status, res.text.slice(0, 500)).toBe(status)
  expect(res.header("content-type") ?? "").toMatch(/^application\/json/)
  const body = JSON.parse(res.text) as ErrorEnvelope
  expect(Array.isArray(body.errors)).toBe(true)
  expect(body.errors.length).toBeGreaterThan(0)
  expect(body.errors[0]!.code).toBe(code)
  expect(typeof body.errors[0]!.message).toBe("string")
  return body
}

/** Optional headers the suite checks only when present. */
const expectDigestHeaderIfPresent = (res: Res, digest: string) => {
  const header = res.header("docker-content-digest")
  if (header !== undefined) expect(header).toBe(digest)
}

const client = Effect.map(Conformance, (ctx) => {
  const call = (method: string, path: string, req: Omit<Req, "method"> = {}) =>
    send(`${ctx.url}${path}`, { ...req, method })
  return {
    ctx,
    get: (path: string, req?: Omit<Req, "method">) => call("GET", path, req),
    head: (path: string, req?: Omit<Req, "method">) => call("HEAD", path, req),
    post: (path: string, req?: Omit<Req, "method">) => call("POST", path, req),
    put: (path: string, req?: Omit<Req, "method">) => call("PUT", path, req),
    patch: (path: string, req?: Omit<Req, "method">) => call("PATCH", path, req),
    del: (path: string, req?: Omit<Req, "method">) => call("DELETE", path, req),
    /** The suite's two-step blob push: POST, then `PUT <Location>?digest=` with the bytes (chunked). */
    pushBlob: (name: string, bytes: Uint8Array) =>
      Effect.gen(function*() {
        const post = yield* call("POST", `/v2/${name}/blobs/uploads/`)
        const put = yield* call("PUT", withQuery(relative(post.header("location")), "digest", sha256(bytes)), {
          headers: { "content-type": OCTET },
          body: bytes,
          chunked: true
        })
        expectStatus(put, ["2xx"], `blob push ${sha256(bytes)}`)
        return put
      }),
    putManifest: (name: string, reference: string, bytes: Uint8Array, contentType = OCI_MANIFEST) =>
      call("PUT", `/v2/${name}/manifests/${reference}`, {
        headers: { "content-type": contentType },
        body: bytes,
        chunked: true
      })
  }
})

const acceptManifest = { headers: { accept: OCI_MANIFEST } }

interface TagList {
  readonly name: string
  readonly tags: ReadonlyArray<string> | null
}

interface IndexBody {
  readonly schemaVersion: number
  readonly mediaType?: string
  readonly manifests:
    | ReadonlyArray<{
      readonly mediaType: string
      readonly digest: string
      readonly size: number
      readonly artifactType?: string
      readonly annotations?: Readonly<Record<string, string>>
    }>
    | null
}

/** A `Link: <url>; rel="next"` header: its relative URL, or undefined. */
const nextLink = (res: Res): string | undefined => {
  const link = res.header("link")
  if (link === undefined) return undefined
  const match = /^<([^>]+)>;\s*rel="next"$/.exec(link.trim())
  expect(match, `Link header ${link}`).not.toBeNull()
  return relative(match![1]!)
}

// ---- the suite -----------------------------------------------------------------------------------------------

const conformance = (target: Target) =>
  layer(contextLayer(target), { timeout: 60_000, excludeTestServices: true })(target.name, (it) => {
    // ---- 01 pull --------------------------------------------------------------------------------------------
    describe("Pull", () => {
      describe("Setup", () => {
        it.effect("Populate registry with test blob (configs[0], configs[1]) and test layer", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx } = c.ctx
            yield* c.pushBlob(NAMESPACE, fx.configs[0]!)
            yield* c.pushBlob(NAMESPACE, fx.configs[1]!)
            yield* c.pushBlob(NAMESPACE, fx.layer)
          }))

        it.effect("Populate registry with test manifest (tagtest0, and manifests[1] by digest)", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx } = c.ctx
            expectStatus(yield* c.putManifest(NAMESPACE, "tagtest0", fx.manifests[0]!), ["2xx"])
            expectStatus(yield* c.putManifest(NAMESPACE, fx.manifestDigests[1]!, fx.manifests[1]!), ["2xx"])
          }))
      })

      describe("Pull blobs", () => {
        it.effect("HEAD request to nonexistent blob should result in 404 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            expect((yield* c.head(`/v2/${NAMESPACE}/blobs/${c.ctx.fx.dummyDigest}`)).status).toBe(404)
          }))

        it.effect("HEAD request to existing blob should yield 200", () =>
          Effect.gen(function*() {
            const c = yield* client
            const digest = c.ctx.fx.configDescs[0]!.digest
            const res = yield* c.head(`/v2/${NAMESPACE}/blobs/${digest}`)
            expect(res.status).toBe(200)
            expectDigestHeaderIfPresent(res, digest)
          }))

        it.effect("GET nonexistent blob should result in 404 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/blobs/${c.ctx.fx.dummyDigest}`)
            expectError(res, 404, "BLOB_UNKNOWN")
          }))

        it.effect("GET request to existing blob URL should yield 200", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/blobs/${c.ctx.fx.configDescs[0]!.digest}`)
            expect(res.status).toBe(200)
            expect(Buffer.from(res.body).equals(Buffer.from(c.ctx.fx.configs[0]!))).toBe(true)
          }))
      })

      describe("Pull manifests", () => {
        it.effect("HEAD request to nonexistent manifest should return 404", () =>
          Effect.gen(function*() {
            const c = yield* client
            expect((yield* c.head(`/v2/${NAMESPACE}/manifests/${NONEXISTENT_MANIFEST}`, acceptManifest)).status).toBe(
              404
            )
          }))

        it.effect("HEAD request to manifest[0] path (digest) should yield 200 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const digest = c.ctx.fx.manifestDigests[0]!
            const res = yield* c.head(`/v2/${NAMESPACE}/manifests/${digest}`, acceptManifest)
            expect(res.status).toBe(200)
            expectDigestHeaderIfPresent(res, digest)
          }))

        it.effect("HEAD request to manifest[1] path (digest) should yield 200 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const digest = c.ctx.fx.manifestDigests[1]!
            const res = yield* c.head(`/v2/${NAMESPACE}/manifests/${digest}`, acceptManifest)
            expect(res.status).toBe(200)
            expectDigestHeaderIfPresent(res, digest)
          }))

        it.effect("HEAD request to manifest path (tag) should yield 200 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.head(`/v2/${NAMESPACE}/manifests/tagtest0`, acceptManifest)
            expect(res.status).toBe(200)
            expectDigestHeaderIfPresent(res, c.ctx.fx.manifestDigests[0]!)
          }))

        it.effect("GET nonexistent manifest should return 404", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/manifests/${NONEXISTENT_MANIFEST}`, acceptManifest)
            if (c.ctx.caps.envelopeOnUnroutable) expectError(res, 404, "MANIFEST_UNKNOWN")
            // distribution 2.8: `.INVALID_MANIFEST_NAME` matches no route, so its router answers a plain 404
            else expect(res.status).toBe(404)
          }))

        it.effect("GET request to manifest[0] path (digest) should yield 200 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/manifests/${c.ctx.fx.manifestDigests[0]!}`, acceptManifest)
            expect(res.status).toBe(200)
            // the registry must keep the bytes exactly (unknown fields, `data`, nulls)
            expect(Buffer.from(res.body).equals(Buffer.from(c.ctx.fx.manifests[0]!))).toBe(true)
          }))

        it.effect("GET request to manifest[1] path (digest) should yield 200 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/manifests/${c.ctx.fx.manifestDigests[1]!}`, acceptManifest)
            expect(res.status).toBe(200)
            expect(Buffer.from(res.body).equals(Buffer.from(c.ctx.fx.manifests[1]!))).toBe(true)
          }))

        it.effect("GET request to manifest path (tag) should yield 200 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/manifests/tagtest0`, acceptManifest)
            expect(res.status).toBe(200)
            expect(res.header("content-type")).toBe(OCI_MANIFEST)
          }))
      })

      describe("Error codes", () => {
        it.effect("400 response body should contain OCI-conforming JSON message", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/manifests/sha256:totallywrong`, {
              headers: { "content-type": OCI_MANIFEST }
            })
            if (!c.ctx.caps.malformedReferenceNotFound) {
              // distribution 2.8 fails this case: it looks `sha256:totallywrong` up as a tag, and the `:` in
              // its storage path ends in 500 UNKNOWN
              expectError(res, 500, "UNKNOWN")
              return
            }
            expectStatus(res, [400, 404])
            if (res.status === 400) {
              const body = JSON.parse(res.text) as ErrorEnvelope
              expect(body.errors.length).toBeGreaterThan(0)
              expect(ERROR_CODES).toContain(body.errors[0]!.code)
            }
            // neither a tag nor a digest: no such manifest
            expectError(res, 404, "MANIFEST_UNKNOWN")
          }))
      })

      describe("Teardown", () => {
        it.effect("Delete manifests created in tests (2xx or 405, not 404)", () =>
          Effect.gen(function*() {
            const c = yield* client
            for (const digest of c.ctx.fx.manifestDigests.slice(0, 2)) {
              expectStatus(yield* c.del(`/v2/${NAMESPACE}/manifests/${digest}`), ["2xx", 405], digest)
            }
          }))

        it.effect("Delete config blobs and layer blob created in setup (2xx, 404 or 405)", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx } = c.ctx
            for (const digest of [fx.configDescs[0]!.digest, fx.configDescs[1]!.digest, fx.layerDesc.digest]) {
              expectStatus(yield* c.del(`/v2/${NAMESPACE}/blobs/${digest}`), ["2xx", 404, 405], digest)
            }
          }))
      })
    })

    // ---- 02 push --------------------------------------------------------------------------------------------
    describe("Push", () => {
      describe("Blob Upload Streamed", () => {
        it.effect("PATCH request with blob in body should yield 202 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const post = yield* c.post(`/v2/${NAMESPACE}/blobs/uploads/`)
            expect(post.header("location")).toBeTruthy()
            const patch = yield* c.patch(relative(post.header("location")), {
              headers: { "content-type": OCTET },
              body: c.ctx.fx.testBlobA,
              chunked: true
            })
            expect(patch.status, patch.text).toBe(202)
            c.ctx.state.streamedLocation = relative(patch.header("location"))
          }))

        it.effect("PUT request to session URL with digest should yield 201 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.put(withQuery(c.ctx.state.streamedLocation, "digest", c.ctx.fx.testBlobADigest), {
              headers: { "content-type": OCTET }
            })
            expect(res.status, res.text).toBe(201)
            expect(res.header("location")).toBeTruthy()
          }))
      })

      describe("Blob Upload Monolithic", () => {
        it.effect("GET nonexistent blob should result in 404 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            expect((yield* c.get(`/v2/${NAMESPACE}/blobs/${c.ctx.fx.dummyDigest}`)).status).toBe(404)
          }))

        it.effect("POST request with digest and blob should yield a 201 or 202", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx, state } = c.ctx
            const res = yield* c.post(`/v2/${NAMESPACE}/blobs/uploads/?digest=${fx.configDescs[1]!.digest}`, {
              headers: { "content-type": OCTET },
              body: fx.configs[1]!,
              chunked: true
            })
            expect(res.header("location")).toBeTruthy()
            expectStatus(res, [201, 202])
            state.monolithicPostStatus = res.status
            // the embedded registry completes a single-POST upload; distribution 2.8 opens a session and
            // drops the body
            expect(res.status).toBe(c.ctx.caps.singlePostUpload ? 201 : 202)
          }))

        it.effect("GET request to blob URL from prior request should yield 200 or 404 based on response code", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/blobs/${c.ctx.fx.configDescs[1]!.digest}`)
            expect(res.status).toBe(c.ctx.state.monolithicPostStatus === 202 ? 404 : 200)
          }))

        it.effect("POST request should yield a session ID", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.post(`/v2/${NAMESPACE}/blobs/uploads/`)
            expect(res.status).toBe(202)
            expect(res.header("location")).toBeTruthy()
          }))

        it.effect("PUT upload of a blob should yield a 201 Response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx } = c.ctx
            const post = yield* c.post(`/v2/${NAMESPACE}/blobs/uploads/`)
            const res = yield* c.put(
              withQuery(relative(post.header("location")), "digest", fx.configDescs[1]!.digest),
              {
                headers: { "content-type": OCTET },
                body: fx.configs[1]!,
                chunked: true
              }
            )
            expect(res.status, res.text).toBe(201)
            expect(res.header("location")).toBeTruthy()
          }))

        it.effect("GET request to existing blob should yield 200 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            expect((yield* c.get(`/v2/${NAMESPACE}/blobs/${c.ctx.fx.configDescs[1]!.digest}`)).status).toBe(200)
          }))

        it.effect("PUT upload of a layer blob should yield a 201 Response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx } = c.ctx
            const post = yield* c.post(`/v2/${NAMESPACE}/blobs/uploads/`)
            const res = yield* c.put(withQuery(relative(post.header("location")), "digest", fx.layerDesc.digest), {
              headers: { "content-type": OCTET },
              body: fx.layer,
              chunked: true
            })
            expect(res.status, res.text).toBe(201)
            expect(res.header("location")).toBeTruthy()
          }))

        it.effect("GET request to existing layer should yield 200 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            expect((yield* c.get(`/v2/${NAMESPACE}/blobs/${c.ctx.fx.layerDesc.digest}`)).status).toBe(200)
          }))
      })

      describe("Blob Upload Chunked", () => {
        it.effect("Out-of-order blob upload should return 416", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { state } = c.ctx
            const post = yield* c.post(`/v2/${NAMESPACE}/blobs/uploads/`, { headers: { "content-length": "0" } })
            expect(post.header("location")).toBeTruthy()
            const min = Number(post.header("oci-chunk-min-length") ?? "0")
            if (min > state.chunk1.length) {
              state.blobB = randomBytes(min * 2 - 2)
              state.chunk1 = state.blobB.subarray(0, min)
              state.chunk2 = state.blobB.subarray(min)
            }
            const res = yield* c.patch(relative(post.header("location")), {
              headers: {
                "content-type": OCTET,
                "content-range": `${state.chunk1.length}-${state.blobB.length - 1}`
              },
              body: state.chunk2,
              chunked: true
            })
            if (c.ctx.caps.contentRangeChecks) expect(res.status, res.text).toBe(416)
            // distribution 2.8 does not look at Content-Range: it appends the chunk (the session is abandoned)
            else expect(res.status, res.text).toBe(202)
          }))

        it.effect("PATCH request with first chunk should return 202", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { state } = c.ctx
            const post = yield* c.post(`/v2/${NAMESPACE}/blobs/uploads/`, { headers: { "content-length": "0" } })
            state.chunkedPostLocation = relative(post.header("location"))
            const res = yield* c.patch(state.chunkedPostLocation, {
              headers: { "content-type": OCTET, "content-range": `0-${state.chunk1.length - 1}` },
              body: state.chunk1,
              chunked: true
            })
            expect(res.status, res.text).toBe(202)
            expect(res.header("range")).toBe(`0-${state.chunk1.length - 1}`)
            state.chunkedPatchLocation = relative(res.header("location"))
          }))

        it.effect("Retry previous blob chunk should return 416", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { state } = c.ctx
            const res = yield* c.patch(state.chunkedPostLocation, {
              headers: { "content-type": OCTET, "content-range": `0-${state.chunk1.length - 1}` },
              body: state.chunk1,
              chunked: true
            })
            if (c.ctx.caps.stableUploadUrls) expect(res.status, res.text).toBe(416)
            // distribution 2.8: the POST's Location carries the offset 0 in its signed `_state`, the upload
            // is at 22 bytes
            else expectError(res, 404, "BLOB_UPLOAD_INVALID")
          }))

        it.effect("Get on stale blob upload should return 204 with a range and location", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { state } = c.ctx
            let res = yield* c.get(state.chunkedPostLocation)
            if (!c.ctx.caps.stableUploadUrls) {
              // distribution 2.8: the stale `_state` of the POST's Location is refused; the status of the
              // session is at the Location of its last PATCH
              expectError(res, 404, "BLOB_UPLOAD_INVALID")
              res = yield* c.get(state.chunkedPatchLocation)
            }
            expect(res.status, res.text).toBe(204)
            expect(res.header("location")).toBeTruthy()
            expect(res.header("range")).toBe(`0-${state.chunk1.length - 1}`)
            state.chunkedNextLocation = relative(res.header("location"))
          }))

        it.effect("PATCH request with second chunk should return 202", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { state } = c.ctx
            const res = yield* c.patch(state.chunkedNextLocation, {
              headers: {
                "content-type": OCTET,
                "content-range": `${state.chunk1.length}-${state.blobB.length - 1}`
              },
              body: state.chunk2,
              chunked: true
            })
            expect(res.status, res.text).toBe(202)
            expect(res.header("location")).toBeTruthy()
            state.chunkedNextLocation = relative(res.header("location"))
          }))

        it.effect("PUT request with digest should return 201", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { state } = c.ctx
            const res = yield* c.put(withQuery(state.chunkedNextLocation, "digest", sha256(state.blobB)), {
              headers: { "content-length": "0", "content-type": OCTET }
            })
            expect(res.status, res.text).toBe(201)
            expect(res.header("location")).toBeTruthy()
            // the chunks were assembled in order
            const blob = yield* c.get(`/v2/${NAMESPACE}/blobs/${sha256(state.blobB)}`)
            expect(Buffer.from(blob.body).equals(Buffer.from(state.blobB))).toBe(true)
          }))
      })

      describe("Cross-Repository Blob Mount", () => {
        const X = crossmountNamespace()

        it.effect("Cross-mounting of a blob without the from argument should yield session id", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.post(`/v2/${X}/blobs/uploads/?mount=${c.ctx.fx.dummyDigest}`)
            expect(res.status, res.text).toBe(202)
            expect(res.header("location")).toBeTruthy()
          }))

        it.effect("POST request to mount another repository's blob should return 201 or 202", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx, state } = c.ctx
            const res = yield* c.post(`/v2/${X}/blobs/uploads/?mount=${fx.testBlobADigest}&from=${NAMESPACE}`)
            expectStatus(res, [201, 202])
            state.mountStatus = res.status
            if (res.status === 201) {
              // Location must be exactly the blob's path
              const location = relative(res.header("location"))
              expect(location).toBe(`/v2/${X}/blobs/${fx.testBlobADigest}`)
              expect((yield* c.get(location)).status).toBe(200)
            } else {
              expect(relative(res.header("location")).startsWith(`/v2/${X}/blobs/uploads/`)).toBe(true)
            }
            expect(res.status).toBe(201) // both registries mount with `from`
          }))

        it.effect("Cross-mounting without from (automatic cross-mount)", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { caps, fx, state } = c.ctx
            expect(state.mountStatus).toBe(201)
            const res = yield* c.post(`/v2/${X}/blobs/uploads/?mount=${fx.testBlobADigest}`)
            // OCI_AUTOMATIC_CROSSMOUNT=true expects 201; =false expects 202 even though X has the blob now
            expect(res.status, res.text).toBe(caps.automaticCrossMount ? 201 : 202)
          }))
      })

      describe("Manifest Upload", () => {
        it.effect("GET nonexistent manifest should return 404", () =>
          Effect.gen(function*() {
            const c = yield* client
            expect((yield* c.get(`/v2/${NAMESPACE}/manifests/${NONEXISTENT_MANIFEST}`)).status).toBe(404)
          }))

        it.effect("PUT should accept a manifest upload (test0..test3)", () =>
          Effect.gen(function*() {
            const c = yield* client
            for (const tag of ["test0", "test1", "test2", "test3"]) {
              const res = yield* c.putManifest(NAMESPACE, tag, c.ctx.fx.manifests[1]!)
              expect(res.status, `${tag}: ${res.text}`).toBe(201)
              expect(res.header("location")).toBeTruthy()
            }
          }))

        it.effect("Registry should accept a manifest upload with no layers", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.putManifest(NAMESPACE, "emptylayer", c.ctx.fx.emptyLayerManifest)
            c.ctx.state.emptyLayerPushed = res.status === 201
            // the suite only warns otherwise; every target here accepts it
            expect(res.status, res.text).toBe(201)
            expect(res.header("location")).toBeTruthy()
          }))

        it.effect("GET request to manifest URL (digest) should yield 200 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/manifests/${c.ctx.fx.manifestDigests[1]!}`, acceptManifest)
            expect(res.status).toBe(200)
          }))
      })

      describe("Teardown", () => {
        it.effect("Delete manifests created in tests (2xx or 405)", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx, state } = c.ctx
            expectStatus(yield* c.del(`/v2/${NAMESPACE}/manifests/${fx.manifestDigests[1]!}`), ["2xx", 405])
            if (state.emptyLayerPushed) {
              expectStatus(yield* c.del(`/v2/${NAMESPACE}/manifests/${fx.emptyLayerManifestDigest}`), ["2xx", 405])
            }
          }))

        it.effect("Delete config blob and layer blob created in tests (2xx, 404 or 405)", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx } = c.ctx
            for (const digest of [fx.configDescs[1]!.digest, fx.layerDesc.digest]) {
              expectStatus(yield* c.del(`/v2/${NAMESPACE}/blobs/${digest}`), ["2xx", 404, 405], digest)
            }
          }))
      })
    })

    // ---- 03 content discovery ---------------------------------------------------------------------------------
    describe("Content Discovery", () => {
      const expectSubject = (res: Res, subject: string, caps: Capabilities) => {
        expectStatus(res, ["2xx"])
        if (caps.subjectHeader) expect(res.header("oci-subject")).toBe(subject)
        // distribution 2.8 does not know `subject`
        else expect(res.header("oci-subject")).toBeUndefined()
      }

      describe("Setup", () => {
        it.effect("Populate registry with test config blob and layer", () =>
          Effect.gen(function*() {
            const c = yield* client
            yield* c.pushBlob(NAMESPACE, c.ctx.fx.configs[2]!)
            yield* c.pushBlob(NAMESPACE, c.ctx.fx.layer)
          }))

        it.effect("Populate registry with test tags", () =>
          Effect.gen(function*() {
            const c = yield* client
            for (const tag of ["test0", "test1", "test2", "test3"]) {
              expectStatus(yield* c.putManifest(NAMESPACE, tag, c.ctx.fx.manifests[2]!), ["2xx"], tag)
            }
            yield* c.get(`/v2/${NAMESPACE}/tags/list`)
          }))

        it.effect("References setup", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { caps, fx } = c.ctx
            expect(fx.emptyJSONDesc.digest).toBe(EMPTY_JSON_DIGEST)
            expect(fx.emptyJSONDesc.size).toBe(2)
            yield* c.pushBlob(NAMESPACE, fx.emptyJSON)
            yield* c.pushBlob(NAMESPACE, fx.refBlobA)
            // the subject (manifests[4]) does not exist yet
            const m4 = fx.manifestDigests[4]!
            expectSubject(yield* c.putManifest(NAMESPACE, fx.refDigests.AConfig, fx.refs.AConfig), m4, caps)
            expectSubject(yield* c.putManifest(NAMESPACE, fx.refDigests.ALayer, fx.refs.ALayer), m4, caps)
            expectSubject(yield* c.putManifest(NAMESPACE, fx.refDigests.Index, fx.refs.Index, OCI_INDEX), m4, caps)
            yield* c.pushBlob(NAMESPACE, fx.configs[4]!)
            yield* c.pushBlob(NAMESPACE, fx.layer)
            expectStatus(yield* c.putManifest(NAMESPACE, "tagtest0", fx.manifests[4]!), ["2xx"])
            yield* c.pushBlob(NAMESPACE, fx.refBlobB)
            expectSubject(yield* c.putManifest(NAMESPACE, fx.refDigests.BConfig, fx.refs.BConfig), m4, caps)
            expectSubject(yield* c.putManifest(NAMESPACE, fx.refDigests.BLayer, fx.refs.BLayer), m4, caps)
            // CLayer's subject, manifests[3], is never pushed in this workflow
            expectSubject(
              yield* c.putManifest(NAMESPACE, fx.refDigests.CLayer, fx.refs.CLayer),
              fx.manifestDigests[3]!,
              caps
            )
          }))
      })

      describe("Test content discovery endpoints (listing tags)", () => {
        it.effect("GET request to list tags should yield 200 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/tags/list`)
            expect(res.status).toBe(200)
            const body = JSON.parse(res.text) as TagList
            expect(body.name).toBe(NAMESPACE)
            c.ctx.state.discoveryTags = body.tags ?? []
            // pull's tagtest0 and push's test0..3 and emptylayer went with their manifests (deleted by digest)
            const expected = ["tagtest0", "test0", "test1", "test2", "test3"]
            if (c.ctx.caps.tagPagination) expect(body.tags).toEqual(expected)
            // distribution 2.8 lists tags in no particular order
            else expect([...(body.tags ?? [])].sort()).toEqual(expected)
          }))

        it.effect("GET number of tags should be limitable by `n` query parameter", () =>
          Effect.gen(function*() {
            const c = yield* client
            const n = Math.floor(c.ctx.state.discoveryTags.length / 2)
            const res = yield* c.get(`/v2/${NAMESPACE}/tags/list?n=${n}`)
            expect(res.status).toBe(200)
            const body = JSON.parse(res.text) as TagList
            if (c.ctx.caps.tagPagination) {
              expect(body.tags?.length).toBe(n)
            } else {
              // distribution 2.8 fails this case: it ignores `n` and lists every tag, without a Link
              expect(body.tags?.length).toBe(c.ctx.state.discoveryTags.length)
              expect(res.header("link")).toBeUndefined()
            }
          }))

        it.effect("GET start of tag is set by `last` query parameter", () =>
          Effect.gen(function*() {
            const c = yield* client
            const all = c.ctx.state.discoveryTags
            const n = Math.floor(all.length / 2)
            const first = JSON.parse((yield* c.get(`/v2/${NAMESPACE}/tags/list?n=${n}`)).text) as TagList
            const last = first.tags![n - 1]!
            const res = yield* c.get(`/v2/${NAMESPACE}/tags/list?n=${n}&last=${last}`)
            expect(res.status).toBe(200)
            const body = JSON.parse(res.text) as TagList
            const tags = body.tags ?? []
            if (!c.ctx.caps.tagPagination) {
              // distribution 2.8 ignores `n` and `last`: every tag again
              expect([...tags].sort()).toEqual([...all].sort())
              return
            }
            // properly: at most n tags, strictly after `last`, in lexical order
            expect(tags.length).toBeLessThanOrEqual(n)
            expect(tags).not.toContain(last)
            expect(tags).toEqual([...all].sort().filter((t) => t > last).slice(0, n))
          }))
      })

      describe("Test content discovery endpoints (listing references)", () => {
        const referrers = (path: string) =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(path)
            if (!c.ctx.caps.referrers) {
              // distribution 2.8 has no referrers route: clients fall back to the tag schema on 404
              expect(res.status).toBe(404)
              return undefined
            }
            expect(res.status, res.text).toBe(200)
            expect(res.header("content-type")).toBe(OCI_INDEX)
            const body = JSON.parse(res.text) as IndexBody
            expect(body.schemaVersion).toBe(2)
            expect(body.mediaType).toBe(OCI_INDEX)
            return { res, manifests: body.manifests ?? [] }
          })

        const expectOneAnnotation = (
          manifests: NonNullable<IndexBody["manifests"]>,
          fx: Fixtures
        ) => {
          const expected: Record<string, string> = {
            [fx.refDigests.AConfig]: "test config a",
            [fx.refDigests.ALayer]: "test layer a",
            [fx.refDigests.BConfig]: "test config b",
            [fx.refDigests.BLayer]: "test layer b",
            [fx.refDigests.Index]: "test index"
          }
          for (const m of manifests) expect(m.annotations).toEqual({ [ANNOTATION]: expected[m.digest] })
        }

        it.effect("GET request to nonexistent blob should result in empty 200 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const found = yield* referrers(`/v2/${NAMESPACE}/referrers/${c.ctx.fx.dummyDigest}`)
            if (found !== undefined) expect(found.manifests).toEqual([])
          }))

        it.effect("GET request to existing blob should yield 200", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx } = c.ctx
            const found = yield* referrers(`/v2/${NAMESPACE}/referrers/${fx.manifestDigests[4]!}`)
            if (found === undefined) return
            const { manifests } = found
            expect(manifests.length).toBe(5)
            expect(manifests[0]!.digest).not.toBe(manifests[1]!.digest)
            expect(manifests.map((m) => m.digest).sort()).toEqual(
              [
                fx.refDigests.AConfig,
                fx.refDigests.ALayer,
                fx.refDigests.Index,
                fx.refDigests.BConfig,
                fx.refDigests.BLayer
              ]
                .sort()
            )
            expectOneAnnotation(manifests, fx)
            const byDigest = new Map(manifests.map((m) => [m.digest, m]))
            // artifactType of a manifest without one is its config's media type
            expect(byDigest.get(fx.refDigests.AConfig)?.artifactType).toBe(ARTIFACT_A)
            expect(byDigest.get(fx.refDigests.ALayer)?.artifactType).toBe(ARTIFACT_A)
            expect(byDigest.get(fx.refDigests.BConfig)?.artifactType).toBe(ARTIFACT_B)
            expect(byDigest.get(fx.refDigests.Index)?.artifactType).toBe(ARTIFACT_INDEX)
            expect(byDigest.get(fx.refDigests.Index)?.mediaType).toBe(OCI_INDEX)
            expect(byDigest.get(fx.refDigests.Index)?.size).toBe(fx.refs.Index.length)
          }))

        it.effect("GET request to existing blob with filter should yield 200", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { caps, fx } = c.ctx
            const found = yield* referrers(
              `/v2/${NAMESPACE}/referrers/${fx.manifestDigests[4]!}?artifactType=${ARTIFACT_A}`
            )
            if (found === undefined) return
            const applied = found.res.header("oci-filters-applied")
            if (caps.artifactTypeFilter) expect(applied).toBe("artifactType")
            if (applied !== undefined) {
              expect(applied).toBe("artifactType")
              expect(found.manifests.length).toBe(2)
              expect(found.manifests.map((m) => m.digest).sort()).toEqual(
                [fx.refDigests.AConfig, fx.refDigests.ALayer].sort()
              )
              expectOneAnnotation(found.manifests, fx)
            } else {
              // the suite only warns: "filtering by artifact-type is not implemented"
              expect(found.manifests.length).toBe(5)
            }
          }))

        it.effect("GET request to missing manifest should yield 200", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx } = c.ctx
            const found = yield* referrers(`/v2/${NAMESPACE}/referrers/${fx.manifestDigests[3]!}`)
            if (found === undefined) return
            expect(found.manifests.length).toBe(1)
            expect(found.manifests[0]!.digest).toBe(fx.refDigests.CLayer)
          }))
      })

      describe("Teardown", () => {
        it.effect("Delete created manifest & associated tags", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx } = c.ctx
            const r = fx.refDigests
            // v1.1.1 (#525): by digest only; deleting a subject that still has referrers is allowed
            for (
              const reference of [
                r.Index,
                fx.manifestDigests[2]!,
                fx.manifestDigests[4]!,
                r.AConfig,
                r.ALayer,
                r.BConfig,
                r.BLayer,
                r.CLayer
              ]
            ) {
              expectStatus(yield* c.del(`/v2/${NAMESPACE}/manifests/${reference}`), ["2xx", 404, 405], reference)
            }
          }))

        it.effect("Delete config blob and layer blob created in tests", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx } = c.ctx
            for (const digest of [fx.configDescs[2]!.digest, fx.layerDesc.digest]) {
              expectStatus(yield* c.del(`/v2/${NAMESPACE}/blobs/${digest}`), ["2xx", 404, 405], digest)
            }
          }))

        it.effect("References teardown (repeat deletes answer 404)", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx } = c.ctx
            const r = fx.refDigests
            for (const reference of [r.Index, r.AConfig, r.ALayer, fx.manifestDigests[4]!, r.BConfig, r.BLayer]) {
              const res = yield* c.del(`/v2/${NAMESPACE}/manifests/${reference}`)
              expectStatus(res, ["2xx", 404, 405], reference)
              // these were deleted above
              expectError(res, 404, "MANIFEST_UNKNOWN")
            }
            for (
              const digest of [
                fx.configDescs[4]!.digest,
                sha256(fx.refBlobA),
                sha256(fx.refBlobB),
                fx.emptyJSONDesc.digest
              ]
            ) {
              expectStatus(yield* c.del(`/v2/${NAMESPACE}/blobs/${digest}`), ["2xx", 404, 405], digest)
            }
          }))
      })
    })

    // ---- 04 content management -------------------------------------------------------------------------------
    describe("Content Management", () => {
      describe("Setup", () => {
        it.effect("Populate registry with test config blob and layer", () =>
          Effect.gen(function*() {
            const c = yield* client
            yield* c.pushBlob(NAMESPACE, c.ctx.fx.configs[3]!)
            yield* c.pushBlob(NAMESPACE, c.ctx.fx.layer)
          }))

        it.effect("Populate registry with test tag", () =>
          Effect.gen(function*() {
            const c = yield* client
            expectStatus(yield* c.putManifest(NAMESPACE, "tagtest0", c.ctx.fx.manifests[3]!), ["2xx"])
          }))

        it.effect("Check how many tags there are before anything gets deleted", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/tags/list`)
            expect(res.status).toBe(200)
            const body = JSON.parse(res.text) as TagList
            c.ctx.state.managementTagsBefore = body.tags?.length ?? 0
            expect(body.tags).toEqual(["tagtest0"])
          }))
      })

      describe("Manifest delete", () => {
        it.effect("DELETE request to manifest tag should return 202, unless tag deletion is disallowed (400/405)", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.del(`/v2/${NAMESPACE}/manifests/tagtest0`)
            if (!c.ctx.caps.tagDelete) {
              // distribution 2.8 fails this case: it reads the tag as a digest (400 DIGEST_INVALID, where the
              // suite accepts 400 only with UNSUPPORTED)
              expectError(res, 400, "DIGEST_INVALID")
              return
            }
            expectStatus(res, [202, 400, 405])
            if (res.status === 400) expect((JSON.parse(res.text) as ErrorEnvelope).errors[0]!.code).toBe("UNSUPPORTED")
            expect(res.status).toBe(202)
          }))

        it.effect("DELETE request to manifest (digest) should yield 202 response unless already deleted", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.del(`/v2/${NAMESPACE}/manifests/${c.ctx.fx.manifestDigests[3]!}`)
            expectStatus(res, [202, 404])
            expect(res.status).toBe(202) // the tag delete left the manifest
          }))

        it.effect("GET request to deleted manifest URL should yield 404 response, unless delete is disallowed", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/manifests/${c.ctx.fx.manifestDigests[3]!}`)
            expectStatus(res, [404, 200])
            expectError(res, 404, "MANIFEST_UNKNOWN")
          }))

        it.effect("GET request to tags list should reflect manifest deletion", () =>
          Effect.gen(function*() {
            const c = yield* client
            const res = yield* c.get(`/v2/${NAMESPACE}/tags/list`)
            expectStatus(res, [200, 404])
            if (res.status === 200) {
              const tags = (JSON.parse(res.text) as TagList).tags ?? []
              expect(tags.length).toBe(c.ctx.state.managementTagsBefore - 1)
            }
            // an empty list once the last tag is gone (distribution 2.8: `"tags": null`)
            expect(JSON.parse(res.text)).toEqual({ name: NAMESPACE, tags: c.ctx.caps.emptyTagsArray ? [] : null })
          }))
      })

      describe("Blob delete", () => {
        it.effect("DELETE request to blob URL should yield 202 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            const { fx, state } = c.ctx
            const config = yield* c.del(`/v2/${NAMESPACE}/blobs/${fx.configDescs[3]!.digest}`)
            expectStatus(config, [202, 404, 405])
            const layer = yield* c.del(`/v2/${NAMESPACE}/blobs/${fx.layerDesc.digest}`)
            expectStatus(layer, [202, 404, 405])
            state.blobDeleteAllowed = layer.status !== 405
            expect(config.status).toBe(202)
            expect(layer.status).toBe(202)
          }))

        it.effect("GET request to deleted blob URL should yield 404 response", () =>
          Effect.gen(function*() {
            const c = yield* client
            expect(c.ctx.state.blobDeleteAllowed).toBe(true)
            const res = yield* c.get(`/v2/${NAMESPACE}/blobs/${c.ctx.fx.configDescs[3]!.digest}`)
            expectError(res, 404, "BLOB_UNKNOWN")
          }))
      })
    })

    // ---- beyond the suite ------------------------------------------------------------------------------------
    describe("Beyond the conformance suite", () => {
      const EXTRA = "conformance/extras"

      /** Pushes a small image (config, layer, manifest) under the given tags; returns the manifest. */
      const pushImage = (name: string, tags: ReadonlyArray<string>) =>
        Effect.gen(function*() {
          const c = yield* client
          const config = indent({
            author: randomString(16),
            architecture: "amd64",
            os: "linux",
            rootfs: { type: "layers", diff_ids: [] }
          })
          const layer = makeLayer()
          yield* c.pushBlob(name, config)
          yield* c.pushBlob(name, layer)
          const manifest = indent({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            config: descOf(OCI_CONFIG, config),
            layers: [descOf(OCI_LAYER_GZIP, layer)]
          })
          for (const tag of tags.length === 0 ? [sha256(manifest)] : tags) {
            const res = yield* c.putManifest(name, tag, manifest)
            expect(res.status, res.text).toBe(201)
          }
          return { manifest, digest: sha256(manifest), config, layer }
        })

      it.effect("tags/list pagination: `n`, `last` and `Link` headers", () =>
        Effect.gen(function*() {
          const c = yield* client
          const name = `${EXTRA}/tags`
          const tags = ["t-a", "t-b", "t-c", "t-d", "t-e"]
          yield* pushImage(name, [...tags].reverse())
          const full = yield* c.get(`/v2/${name}/tags/list`)
          expect(full.header("link")).toBeUndefined()
          if (!c.ctx.caps.tagPagination) {
            // distribution 2.8: no order, and `n` and `last` are ignored (every tag, no Link)
            const body = JSON.parse(full.text) as TagList
            expect([...(body.tags ?? [])].sort()).toEqual(tags)
            for (const query of ["n=2", "n=2&last=t-b", "last=t-c"]) {
              const res = yield* c.get(`/v2/${name}/tags/list?${query}`)
              expect([...((JSON.parse(res.text) as TagList).tags ?? [])].sort()).toEqual(tags)
              expect(res.header("link")).toBeUndefined()
            }
            return
          }
          expect(JSON.parse(full.text)).toEqual({ name, tags })

          const pages: Array<ReadonlyArray<string>> = []
          let path: string | undefined = `/v2/${name}/tags/list?n=2`
          while (path !== undefined) {
            const res: Res = yield* c.get(path)
            expect(res.status).toBe(200)
            pages.push((JSON.parse(res.text) as TagList).tags ?? [])
            path = nextLink(res)
            if (path !== undefined) {
              const next = new URL(path, "http://placeholder")
              expect(next.pathname).toBe(`/v2/${name}/tags/list`)
              expect(next.searchParams.get("n")).toBe("2")
            }
          }
          expect(pages.flat()).toEqual(tags)
          expect(pages.slice(0, 3)).toEqual([["t-a", "t-b"], ["t-c", "t-d"], ["t-e"]])

          const after = yield* c.get(`/v2/${name}/tags/list?n=2&last=t-b`)
          expect((JSON.parse(after.text) as TagList).tags).toEqual(["t-c", "t-d"])
          expect(nextLink(after)).toBeDefined()
          const rest = yield* c.get(`/v2/${name}/tags/list?last=t-c`)
          expect((JSON.parse(rest.text) as TagList).tags).toEqual(["t-d", "t-e"])
        }))

      it.effect("_catalog pagination: `n`, `last` and `Link` headers", () =>
        Effect.gen(function*() {
          const c = yield* client
          for (const suffix of ["a", "b", "c"]) yield* pushImage(`${EXTRA}/catalog-${suffix}`, ["v1"])
          const full = yield* c.get("/v2/_catalog")
          expect(full.status).toBe(200)
          const all = (JSON.parse(full.text) as { readonly repositories: ReadonlyArray<string> }).repositories
          if (c.ctx.caps.catalogLexicalOrder) {
            expect(all).toEqual([...all].sort())
          } else {
            // distribution 2.8 walks its storage tree: `a/b` comes before `a-b`
            const byComponent = (a: string, b: string) => {
              const x = a.split("/")
              const y = b.split("/")
              for (let i = 0; i < Math.min(x.length, y.length); i++) {
                if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1
              }
              return x.length - y.length
            }
            expect(all).toEqual([...all].sort(byComponent))
          }
          for (const suffix of ["a", "b", "c"]) expect(all).toContain(`${EXTRA}/catalog-${suffix}`)
          expect(all).toContain(NAMESPACE)

          const pages: Array<ReadonlyArray<string>> = []
          let path: string | undefined = "/v2/_catalog?n=2"
          while (path !== undefined) {
            const res: Res = yield* c.get(path)
            expect(res.status).toBe(200)
            const page = (JSON.parse(res.text) as { readonly repositories: ReadonlyArray<string> }).repositories
            expect(page.length).toBeLessThanOrEqual(2)
            pages.push(page)
            path = nextLink(res)
          }
          expect(pages.flat()).toEqual(all)

          const after = yield* c.get(`/v2/_catalog?n=2&last=${encodeURIComponent(`${EXTRA}/catalog-a`)}`)
          expect(after.status).toBe(200)
          expect((JSON.parse(after.text) as { readonly repositories: ReadonlyArray<string> }).repositories).toEqual([
            `${EXTRA}/catalog-b`,
            `${EXTRA}/catalog-c`
          ])
        }))

      it.effect("blob Range GET: 206 with Content-Range, 416 with `Content-Range: bytes */size`", () =>
        Effect.gen(function*() {
          const c = yield* client
          const name = `${EXTRA}/range`
          const blob = randomBytes(100)
          const digest = sha256(blob)
          yield* c.pushBlob(name, blob)
          const part = yield* c.get(`/v2/${name}/blobs/${digest}`, { headers: { range: "bytes=10-19" } })
          expect(part.status).toBe(206)
          expect(part.header("content-range")).toBe("bytes 10-19/100")
          expect(part.header("content-length")).toBe("10")
          expect(Buffer.from(part.body).equals(Buffer.from(blob.subarray(10, 20)))).toBe(true)
          const tail = yield* c.get(`/v2/${name}/blobs/${digest}`, { headers: { range: "bytes=90-" } })
          expect(tail.status).toBe(206)
          expect(tail.header("content-range")).toBe("bytes 90-99/100")
          expect(Buffer.from(tail.body).equals(Buffer.from(blob.subarray(90)))).toBe(true)
          const outside = yield* c.get(`/v2/${name}/blobs/${digest}`, { headers: { range: "bytes=100-" } })
          expect(outside.status).toBe(416)
          expect(outside.header("content-range")).toBe("bytes */100")
          if (c.ctx.caps.envelopeOnRangeError) {
            expect(outside.truncated).toBe(false)
            const body = JSON.parse(outside.text) as ErrorEnvelope
            expect(typeof body.errors[0]!.code).toBe("string")
            expect(typeof body.errors[0]!.message).toBe("string")
          } else {
            // distribution 2.8: Go's http.ServeContent text, under the blob's Content-Length (cut short)
            expect(outside.header("content-type")).toMatch(/^text\/plain/)
            expect(outside.text).toMatch(/^invalid range/)
          }
        }))

      it.effect("manifest PUT referencing a missing blob → 400 MANIFEST_BLOB_UNKNOWN", () =>
        Effect.gen(function*() {
          const c = yield* client
          const name = `${EXTRA}/verify`
          const config = indent({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } })
          yield* c.pushBlob(name, config)
          const manifest = indent({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            config: descOf(OCI_CONFIG, config),
            layers: [descOf(OCI_LAYER_GZIP, randomBytes(64))]
          })
          expectError(yield* c.putManifest(name, "missing", manifest), 400, "MANIFEST_BLOB_UNKNOWN")
          expect((yield* c.get(`/v2/${name}/manifests/missing`)).status).toBe(404)
        }))

      it.effect("manifest larger than 4 MiB → 413", () =>
        Effect.gen(function*() {
          const c = yield* client
          const name = `${EXTRA}/big`
          const { config, layer } = yield* pushImage(name, ["small"])
          const manifest = indent({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            config: descOf(OCI_CONFIG, config),
            layers: [descOf(OCI_LAYER_GZIP, layer)],
            annotations: { "org.example.padding": "x".repeat(4 * 1024 * 1024) }
          })
          expect(manifest.length).toBeGreaterThan(4 * 1024 * 1024)
          const res = yield* c.putManifest(name, "big", manifest)
          if (c.ctx.caps.manifestTooLarge413) {
            expect(res.status, res.text).toBe(413)
            const body = JSON.parse(res.text) as ErrorEnvelope
            expect(body.errors[0]!.code).toBe("SIZE_INVALID")
            // also when the size is only found while reading (no Content-Length)
            const streamed = yield* c.put(`/v2/${name}/manifests/big`, {
              headers: { "content-type": OCI_MANIFEST },
              body: manifest,
              chunked: true
            })
            expectError(streamed, 413, "SIZE_INVALID")
            expect((yield* c.get(`/v2/${name}/manifests/big`)).status).toBe(404)
          } else {
            // distribution 2.8 reads at most 4 MiB of a manifest and calls the rest invalid
            expectError(res, 400, "MANIFEST_INVALID")
            expect((yield* c.get(`/v2/${name}/manifests/big`)).status).toBe(404)
          }
        }))

      it.effect("invalid repository name → 400 NAME_INVALID", () =>
        Effect.gen(function*() {
          const c = yield* client
          // too long (more than 255 characters) but otherwise well formed
          const long = `${"a".repeat(200)}/${"b".repeat(60)}`
          for (const res of [yield* c.get(`/v2/${long}/tags/list`), yield* c.post(`/v2/${long}/blobs/uploads/`)]) {
            if (c.ctx.caps.nameInvalidErrors) expectError(res, 400, "NAME_INVALID")
            // distribution 2.8 finds the name invalid but answers 500 UNKNOWN
            else expectError(res, 500, "UNKNOWN")
          }
          const upper = yield* c.get(`/v2/Upper/case/manifests/latest`)
          if (c.ctx.caps.nameInvalidErrors) {
            expectError(upper, 400, "NAME_INVALID")
          } else {
            // distribution 2.8: "repository name must be lowercase", answered 500 with `{}`
            expect(upper.status).toBe(500)
            expect(JSON.parse(upper.text)).toEqual({})
          }
          for (const bad of ["double__-sep", "trailing-/x", "a..b", "-lead"]) {
            const res = yield* c.get(`/v2/${bad}/manifests/latest`)
            if (c.ctx.caps.envelopeOnUnroutable) expectError(res, 400, "NAME_INVALID")
            // distribution 2.8: names outside its grammar match no route
            else expect(res.status, `${bad}: ${res.text}`).toBe(404)
          }
        }))

      it.effect("digest mismatch on upload → 400 DIGEST_INVALID", () =>
        Effect.gen(function*() {
          const c = yield* client
          const name = `${EXTRA}/digest`
          const blob = randomBytes(64)
          const post = yield* c.post(`/v2/${name}/blobs/uploads/`)
          expect(post.status).toBe(202)
          const res = yield* c.put(withQuery(relative(post.header("location")), "digest", sha256(randomBytes(8))), {
            headers: { "content-type": OCTET },
            body: blob
          })
          expectError(res, 400, "DIGEST_INVALID")
          expect((yield* c.head(`/v2/${name}/blobs/${sha256(blob)}`)).status).toBe(404)
          // a malformed digest too
          const post2 = yield* c.post(`/v2/${name}/blobs/uploads/`)
          const malformed = yield* c.put(withQuery(relative(post2.header("location")), "digest", "sha256:nothex"), {
            headers: { "content-type": OCTET },
            body: blob
          })
          expectError(malformed, 400, "DIGEST_INVALID")
        }))

      it.effect("upload session DELETE → 204, then 404 BLOB_UPLOAD_UNKNOWN", () =>
        Effect.gen(function*() {
          const c = yield* client
          const name = `${EXTRA}/cancel`
          const post = yield* c.post(`/v2/${name}/blobs/uploads/`)
          const location = relative(post.header("location"))
          const patch = yield* c.patch(location, { headers: { "content-type": OCTET }, body: randomBytes(10) })
          expect(patch.status).toBe(202)
          const session = relative(patch.header("location"))
          const cancel = yield* c.del(session)
          expect(cancel.status, cancel.text).toBe(204)
          expectError(yield* c.get(session), 404, "BLOB_UPLOAD_UNKNOWN")
          expectError(
            yield* c.patch(session, { headers: { "content-type": OCTET }, body: randomBytes(10) }),
            404,
            "BLOB_UPLOAD_UNKNOWN"
          )
          expectError(yield* c.del(session), 404, "BLOB_UPLOAD_UNKNOWN")
        }))

      it.scoped("`deletes: false` → 405 UNSUPPORTED", () =>
        Effect.gen(function*() {
          const c = yield* client
          const { caps, target } = c.ctx
          if (!caps.deletesSwitch) {
            // the docker-registry of @ocidist/testing always runs with `storage.delete.enabled: true`
            // (with it false, distribution also answers 405 UNSUPPORTED): deletes work there
            const name = `${EXTRA}/deletes`
            const { digest } = yield* pushImage(name, ["v1"])
            expect((yield* c.del(`/v2/${name}/manifests/${digest}`)).status).toBe(202)
            return
          }
          const registry = yield* target.start({ deletes: false })
          const url = registry.url
          const name = "no/deletes"
          const config = utf8("{}")
          const post = yield* send(`${url}/v2/${name}/blobs/uploads/`, { method: "POST" })
          const put = yield* send(`${url}${withQuery(relative(post.header("location")), "digest", sha256(config))}`, {
            method: "PUT",
            body: config
          })
          expect(put.status).toBe(201)
          const manifest = indent({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            config: descOf(OCI_CONFIG, config),
            layers: []
          })
          const tagged = yield* send(`${url}/v2/${name}/manifests/v1`, {
            method: "PUT",
            headers: { "content-type": OCI_MANIFEST },
            body: manifest
          })
          expect(tagged.status).toBe(201)
          for (const path of [`manifests/${sha256(manifest)}`, "manifests/v1", `blobs/${sha256(config)}`]) {
            expectError(yield* send(`${url}/v2/${name}/${path}`, { method: "DELETE" }), 405, "UNSUPPORTED")
          }
          expect((yield* send(`${url}/v2/${name}/manifests/v1`)).status).toBe(200)
          expect((yield* send(`${url}/v2/${name}/blobs/${sha256(config)}`)).status).toBe(200)
        }))

      it.effect("automatic cross-mount into a fresh repository (no `from`)", () =>
        Effect.gen(function*() {
          const c = yield* client
          const source = `${EXTRA}/mount-source`
          const blob = randomBytes(33)
          yield* c.pushBlob(source, blob)
          const target = `${EXTRA}/mount-target-${randomString(6).toLowerCase()}`
          const res = yield* c.post(`/v2/${target}/blobs/uploads/?mount=${sha256(blob)}`)
          if (c.ctx.caps.automaticCrossMount) {
            expect(res.status, res.text).toBe(201)
            expect(relative(res.header("location"))).toBe(`/v2/${target}/blobs/${sha256(blob)}`)
            const got = yield* c.get(`/v2/${target}/blobs/${sha256(blob)}`)
            expect(Buffer.from(got.body).equals(Buffer.from(blob))).toBe(true)
          } else {
            // distribution 2.8 mounts only with `from`: a new upload session
            expect(res.status).toBe(202)
            expect(relative(res.header("location")).startsWith(`/v2/${target}/blobs/uploads/`)).toBe(true)
          }
        }))

      it.effect("Accept negotiation: an OCI index is not served to a client that accepts only image manifests", () =>
        Effect.gen(function*() {
          const c = yield* client
          const name = `${EXTRA}/accept`
          const image = yield* pushImage(name, [])
          const index = indent({
            schemaVersion: 2,
            mediaType: OCI_INDEX,
            manifests: [{
              ...descOf(OCI_MANIFEST, image.manifest),
              platform: { architecture: "arm64", os: "linux" }
            }]
          })
          const digest = sha256(index)
          expect((yield* c.putManifest(name, "multi", index, OCI_INDEX)).status).toBe(201)
          for (const reference of [digest, "multi"]) {
            const both = yield* c.get(`/v2/${name}/manifests/${reference}`, {
              headers: { accept: `${OCI_MANIFEST}, ${OCI_INDEX}` }
            })
            expect(both.status).toBe(200)
            expect(both.header("content-type")).toBe(OCI_INDEX)
            expect(both.header("docker-content-digest")).toBe(digest)
          }
          const onlyManifest = yield* c.get(`/v2/${name}/manifests/multi`, acceptManifest)
          const byDigest = yield* c.get(`/v2/${name}/manifests/${digest}`, acceptManifest)
          // distribution 2.8 too: "OCI index found, but accept header does not support OCI indexes"
          expectError(onlyManifest, 404, "MANIFEST_UNKNOWN")
          expectError(byDigest, 404, "MANIFEST_UNKNOWN")
          expect((yield* c.head(`/v2/${name}/manifests/multi`, acceptManifest)).status).toBe(404)
          expect((yield* c.head(`/v2/${name}/manifests/${digest}`, acceptManifest)).status).toBe(404)
        }))

      it.effect("referrers: `OCI-Subject` and `artifactType` filtering with `OCI-Filters-Applied`", () =>
        Effect.gen(function*() {
          const c = yield* client
          const { caps } = c.ctx
          const name = `${EXTRA}/referrers`
          const image = yield* pushImage(name, ["v1"])
          const blob = utf8("{}")
          yield* c.pushBlob(name, blob)
          const artifact = indent({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            artifactType: "application/vnd.example.sbom",
            config: descOf(OCI_EMPTY, blob),
            layers: [descOf(OCI_EMPTY, blob)],
            subject: descOf(OCI_MANIFEST, image.manifest)
          })
          const put = yield* c.putManifest(name, sha256(artifact), artifact)
          expect(put.status).toBe(201)
          expect(put.header("oci-subject")).toBe(caps.subjectHeader ? image.digest : undefined)
          const matching = yield* c.get(
            `/v2/${name}/referrers/${image.digest}?artifactType=application/vnd.example.sbom`
          )
          const none = yield* c.get(`/v2/${name}/referrers/${image.digest}?artifactType=application/vnd.example.other`)
          if (!caps.referrers) {
            expect(matching.status).toBe(404)
            expect(none.status).toBe(404)
            return
          }
          expect(matching.status).toBe(200)
          expect(matching.header("oci-filters-applied")).toBe("artifactType")
          const found = (JSON.parse(matching.text) as IndexBody).manifests ?? []
          expect(found.map((m) => [m.digest, m.artifactType])).toEqual([[
            sha256(artifact),
            "application/vnd.example.sbom"
          ]])
          expect(none.header("oci-filters-applied")).toBe("artifactType")
          expect((JSON.parse(none.text) as IndexBody).manifests).toEqual([])
          const unfiltered = yield* c.get(`/v2/${name}/referrers/${image.digest}`)
          expect(unfiltered.header("oci-filters-applied")).toBeUndefined()
          // a malformed digest is an error with the envelope
          expectError(yield* c.get(`/v2/${name}/referrers/sha256:nothex`), 400, "DIGEST_INVALID")
        }))

      it.effect("error envelope `{\"errors\":[{code,message}]}` on the common errors", () =>
        Effect.gen(function*() {
          const c = yield* client
          const { caps, fx } = c.ctx
          const name = `${EXTRA}/errors`
          yield* pushImage(name, ["v1"])
          expectError(yield* c.get(`/v2/${name}/blobs/${fx.dummyDigest}`), 404, "BLOB_UNKNOWN")
          expectError(yield* c.get(`/v2/${name}/manifests/nope`), 404, "MANIFEST_UNKNOWN")
          expectError(yield* c.get(`/v2/${name}/manifests/${fx.dummyDigest}`), 404, "MANIFEST_UNKNOWN")
          expectError(yield* c.get(`/v2/conformance/never-pushed/tags/list`), 404, "NAME_UNKNOWN")
          expectError(
            yield* c.put(`/v2/${name}/manifests/bad`, {
              headers: { "content-type": OCI_MANIFEST },
              body: "blablabla"
            }),
            400,
            "MANIFEST_INVALID"
          )
          expectError(yield* c.del(`/v2/${name}/blobs/${fx.dummyDigest}`), 404, "BLOB_UNKNOWN")
          expectError(yield* c.del(`/v2/${name}/manifests/${fx.dummyDigest}`), 404, "MANIFEST_UNKNOWN")
          expectError(
            yield* c.get(`/v2/${name}/blobs/uploads/00000000-0000-0000-0000-000000000000`),
            404,
            // distribution 2.8: a session URL without its signed `_state` is invalid rather than unknown
            caps.stableUploadUrls ? "BLOB_UPLOAD_UNKNOWN" : "BLOB_UPLOAD_INVALID"
          )
          const badTag = yield* c.put(`/v2/${name}/manifests/-bad`, {
            headers: { "content-type": OCI_MANIFEST },
            body: fx.manifests[0]!
          })
          if (caps.envelopeOnUnroutable) expectError(badTag, 400, "TAG_INVALID")
          else expect(badTag.status).toBe(404)
        }))
    })
  })

for (const target of targets) conformance(target)

/**
 * Deterministic OCI test content generated on disk: images (OCI or Docker schema 2), indexes / manifest
 * lists, OCI 1.1 artifacts with a `subject`, referrers fallback indexes, plain OCI image layouts, and
 * pushing them to a {@link DockerRegistry} with `skopeo` or a tiny raw HTTP pusher.
 *
 * Layers are valid tar+gzip: one regular file of pseudo-random content (AES-256-CTR keystream of
 * sha256(seed)) in a ustar tar, gzip-framed with stored deflate blocks (no name, mtime 0), so the bytes
 * and digests are the same on every run and machine. They are generated streaming and cached per
 * (seed, size) under `os.tmpdir()/ocidist-fixtures-cache` (override: `OCIDIST_FIXTURES_CACHE`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type * as DockerRegistry from "./DockerRegistry.js"
import * as Http from "./internal/http.js"
import * as Layer from "./internal/layer.js"
import * as TestHarnessError from "./TestHarnessError.js"
import * as Tools from "./Tools.js"

/**
 * Media types used by the fixtures.
 *
 * @since 0.1.0
 * @category constants
 */
export const MediaType = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip"
} as const

/**
 * A layer: `size` bytes of pseudo-random file content (the tar and gzip add a little).
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerSpec {
  readonly size: number
  /** Default: `${image seed}/layer-${index}`. */
  readonly seed?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Platform {
  readonly os: string
  readonly architecture: string
  readonly variant?: string
}

/**
 * An OCI content descriptor.
 *
 * @since 0.1.0
 * @category models
 */
export interface Descriptor {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
  readonly platform?: Platform
  readonly artifactType?: string
  readonly annotations?: Record<string, string>
}

/**
 * A blob stored as a file (`path`) under the fixture dir (`<dir>/blobs/sha256/<hex>`).
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobFile {
  readonly digest: string
  readonly size: number
  readonly mediaType: string
  readonly path: string
  /** Layers: sha256 of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  readonly diffId?: string
  /** Layers: name of the single file inside the tar. */
  readonly fileName?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export type Format = "oci" | "docker"

/**
 * @since 0.1.0
 * @category models
 */
export interface Image {
  readonly _tag: "Image"
  readonly format: Format
  readonly manifest: Uint8Array
  readonly manifestDigest: string
  readonly mediaType: string
  readonly config: Uint8Array
  readonly configDigest: string
  readonly configMediaType: string
  /** The config blob's file under the fixture dir. */
  readonly configPath: string
  readonly layers: ReadonlyArray<BlobFile>
  readonly platform: Platform
  /** Descriptor of the manifest, with `platform`. */
  readonly descriptor: Descriptor
}

/**
 * An OCI image index or a Docker manifest list. `index` and `manifest` are the same bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Index {
  readonly _tag: "Index"
  readonly format: Format
  readonly index: Uint8Array
  readonly manifest: Uint8Array
  readonly digest: string
  readonly manifestDigest: string
  readonly mediaType: string
  /** Child manifests (images or artifacts). */
  readonly images: ReadonlyArray<Image | Artifact>
  readonly descriptor: Descriptor
}

/**
 * An OCI 1.1 artifact manifest: empty config, `artifactType`, `subject`, one payload layer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Artifact {
  readonly _tag: "Artifact"
  readonly manifest: Uint8Array
  readonly manifestDigest: string
  readonly mediaType: string
  readonly artifactType: string
  readonly config: Uint8Array
  readonly configDigest: string
  readonly configMediaType: string
  /** The config blob's file under the fixture dir. */
  readonly configPath: string
  readonly layers: ReadonlyArray<BlobFile>
  readonly subject: Descriptor | undefined
  /** Descriptor of the manifest, with `artifactType` and `annotations` (as listed by a referrers index). */
  readonly descriptor: Descriptor
}

/**
 * @since 0.1.0
 * @category models
 */
export type Root = Image | Index | Artifact

const encoder = new TextEncoder()

const sha256 = (data: Uint8Array | string) => `sha256:${crypto.createHash("sha256").update(data).digest("hex")}`

const blobPath = (dir: string, digest: string) => path.join(dir, "blobs", "sha256", digest.slice("sha256:".length))

const fsTry = <A>(what: string, f: () => A) =>
  Effect.try({ try: f, catch: (error) => TestHarnessError.make(what, error) })

const writeJsonBlob = (dir: string, value: unknown) =>
  fsTry(`cannot write a blob into ${dir}`, () => {
    const bytes = encoder.encode(JSON.stringify(value))
    const digest = sha256(bytes)
    const file = blobPath(dir, digest)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    if (!fs.existsSync(file)) fs.writeFileSync(file, bytes)
    return { bytes, digest, size: bytes.byteLength, path: file }
  })

/** Large files are hard links into the cache (never modify them in place); small ones are copies. */
const placeFile = (source: string, target: string, size: number) => {
  fs.mkdirSync(path.dirname(target), { recursive: true })
  if (fs.existsSync(target)) return
  const tmp = `${target}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`
  if (size >= 8 * 1024 * 1024) {
    try {
      fs.linkSync(source, tmp)
    } catch {
      fs.copyFileSync(source, tmp)
    }
  } else {
    fs.copyFileSync(source, tmp)
  }
  fs.renameSync(tmp, target)
}

const descriptorOf = (b: { readonly mediaType: string; readonly digest: string; readonly size: number }) => ({
  mediaType: b.mediaType,
  digest: b.digest,
  size: b.size
})

/**
 * Generates (or takes from the cache) one gzip layer and places it in `dir`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeLayer = (
  dir: string,
  spec: { readonly size: number; readonly seed: string; readonly mediaType?: string }
): Effect.Effect<BlobFile, TestHarnessError.TestHarnessError> =>
  Effect.gen(function*() {
    if (!Number.isSafeInteger(spec.size) || spec.size < 0) {
      return yield* Effect.fail(TestHarnessError.make(`invalid layer size ${spec.size}`))
    }
    const generated = yield* Effect.tryPromise({
      try: () => Layer.layer(spec.seed, spec.size),
      catch: (error) => TestHarnessError.make(`cannot generate the layer ${spec.seed} (${spec.size} bytes)`, error)
    })
    const target = blobPath(dir, generated.digest)
    yield* fsTry(`cannot place a layer in ${dir}`, () => placeFile(generated.path, target, generated.size))
    return {
      digest: generated.digest,
      size: generated.size,
      mediaType: spec.mediaType ?? MediaType.ociLayerGzip,
      path: target,
      diffId: generated.diffId,
      fileName: generated.fileName
    }
  })

/**
 * The pseudo-random content of a layer's file (for comparing an unpacked file). Reads `size` bytes into
 * memory: use it for small layers only.
 *
 * @since 0.1.0
 * @category utils
 */
export const layerContent = (seed: string, size: number): Uint8Array =>
  new Uint8Array(Layer.keystream(seed).update(Buffer.alloc(size, 0)))

/**
 * Name of the single file inside the tar of the layer generated from `seed`.
 *
 * @since 0.1.0
 * @category utils
 */
export const layerFileName = (seed: string): string => Layer.fileNameOf(seed)

/**
 * Options of {@link makeImage}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImageSpec {
  readonly seed: string
  readonly layers: ReadonlyArray<LayerSpec>
  /** Default linux/amd64. */
  readonly platform?: Platform
  /** Manifest annotations (OCI format only). */
  readonly annotations?: Record<string, string>
  /** Default "oci". */
  readonly format?: Format
}

/**
 * Generates an image: its layers (streaming, cached), config and manifest, written as blobs under
 * `<dir>/blobs/sha256/`. Same spec, same digests, everywhere.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeImage = Effect.fn("Fixtures.makeImage")(function*(dir: string, spec: ImageSpec) {
  const format = spec.format ?? "oci"
  const platform: Platform = spec.platform ?? { os: "linux", architecture: "amd64" }
  const docker = format === "docker"
  const layers = yield* Effect.forEach(
    spec.layers,
    (layer, i) =>
      makeLayer(dir, {
        size: layer.size,
        seed: layer.seed ?? `${spec.seed}/layer-${i}`,
        mediaType: docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip
      }),
    { concurrency: 2 }
  )
  const configMediaType = docker ? MediaType.dockerConfig : MediaType.ociConfig
  const config = yield* writeJsonBlob(dir, {
    created: "1970-01-01T00:00:00Z",
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["/bin/sh"],
      Labels: { "org.example.seed": spec.seed }
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created: "1970-01-01T00:00:00Z", created_by: "@ocidist/testing" }))
  })
  const mediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest
  const manifest = yield* writeJsonBlob(dir, {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: configMediaType, digest: config.digest, size: config.size },
    layers: layers.map(descriptorOf),
    ...(docker || spec.annotations === undefined ? {} : { annotations: spec.annotations })
  })
  const image: Image = {
    _tag: "Image",
    format,
    manifest: manifest.bytes,
    manifestDigest: manifest.digest,
    mediaType,
    config: config.bytes,
    configDigest: config.digest,
    configMediaType,
    configPath: config.path,
    layers,
    platform,
    descriptor: { mediaType, digest: manifest.digest, size: manifest.size, platform }
  }
  return image
}) as (dir: string, spec: ImageSpec) => Effect.Effect<Image, TestHarnessError.TestHarnessError>

/**
 * Writes an OCI image index (or, with `format: "docker"`, a Docker manifest list) of the given images.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeIndex = Effect.fn("Fixtures.makeIndex")(function*(
  dir: string,
  images: ReadonlyArray<Image | Artifact>,
  options: { readonly format?: Format; readonly annotations?: Record<string, string> } = {}
) {
  const format = options.format ?? "oci"
  const mediaType = format === "docker" ? MediaType.dockerManifestList : MediaType.ociIndex
  const index = yield* writeJsonBlob(dir, {
    schemaVersion: 2,
    mediaType,
    manifests: images.map((i) => i.descriptor),
    ...(format === "docker" || options.annotations === undefined ? {} : { annotations: options.annotations })
  })
  const result: Index = {
    _tag: "Index",
    format,
    index: index.bytes,
    manifest: index.bytes,
    digest: index.digest,
    manifestDigest: index.digest,
    mediaType,
    images,
    descriptor: { mediaType, digest: index.digest, size: index.size }
  }
  return result
}) as (
  dir: string,
  images: ReadonlyArray<Image | Artifact>,
  options?: { readonly format?: Format; readonly annotations?: Record<string, string> }
) => Effect.Effect<Index, TestHarnessError.TestHarnessError>

/**
 * Options of {@link makeArtifact}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ArtifactSpec {
  /** The manifest this artifact refers to (omit for an artifact without subject). */
  readonly subject?: Descriptor | undefined
  readonly artifactType: string
  readonly payload: Uint8Array | string
  /** Default: `artifactType`. */
  readonly payloadMediaType?: string
  /** Manifest annotations; default `{"org.opencontainers.image.created": "1970-01-01T00:00:00Z"}`. */
  readonly annotations?: Record<string, string>
}

/**
 * Writes an OCI 1.1 artifact: empty config (`application/vnd.oci.empty.v1+json`, `{}`), `artifactType`,
 * `subject`, and the payload as its single layer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeArtifact = Effect.fn("Fixtures.makeArtifact")(function*(dir: string, spec: ArtifactSpec) {
  const empty = yield* writeJsonBlob(dir, {})
  const payloadBytes = typeof spec.payload === "string" ? encoder.encode(spec.payload) : spec.payload
  const payloadDigest = sha256(payloadBytes)
  const payloadPath = blobPath(dir, payloadDigest)
  yield* fsTry(`cannot write a blob into ${dir}`, () => {
    fs.mkdirSync(path.dirname(payloadPath), { recursive: true })
    if (!fs.existsSync(payloadPath)) fs.writeFileSync(payloadPath, payloadBytes)
  })
  const payload: BlobFile = {
    digest: payloadDigest,
    size: payloadBytes.byteLength,
    mediaType: spec.payloadMediaType ?? spec.artifactType,
    path: payloadPath
  }
  const annotations = spec.annotations ?? { "org.opencontainers.image.created": "1970-01-01T00:00:00Z" }
  const mediaType = MediaType.ociManifest
  const manifest = yield* writeJsonBlob(dir, {
    schemaVersion: 2,
    mediaType,
    artifactType: spec.artifactType,
    config: { mediaType: MediaType.ociEmpty, digest: empty.digest, size: empty.size },
    layers: [descriptorOf(payload)],
    ...(spec.subject === undefined ? {} : { subject: descriptorOf(spec.subject) }),
    annotations
  })
  const artifact: Artifact = {
    _tag: "Artifact",
    manifest: manifest.bytes,
    manifestDigest: manifest.digest,
    mediaType,
    artifactType: spec.artifactType,
    config: empty.bytes,
    configDigest: empty.digest,
    configMediaType: MediaType.ociEmpty,
    configPath: empty.path,
    layers: [payload],
    subject: spec.subject,
    descriptor: {
      mediaType,
      digest: manifest.digest,
      size: manifest.size,
      artifactType: spec.artifactType,
      annotations
    }
  }
  return artifact
}) as (dir: string, spec: ArtifactSpec) => Effect.Effect<Artifact, TestHarnessError.TestHarnessError>

/**
 * The referrers tag-schema fallback tag of a subject digest: `sha256:abc…` → `sha256-abc…`.
 *
 * @since 0.1.0
 * @category utils
 */
export const referrersTag = (subjectDigest: string): string => subjectDigest.replace(":", "-")

/**
 * The OCI index listing `artifacts` (their descriptors carry `artifactType` and `annotations`), as pushed
 * under {@link referrersTag} for registries without the referrers API (distribution 2.8).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeReferrersIndex = (
  dir: string,
  artifacts: ReadonlyArray<Artifact>
): Effect.Effect<Index, TestHarnessError.TestHarnessError> => makeIndex(dir, artifacts, { format: "oci" })

const blobsOf = (
  root: Root
): Array<{ readonly digest: string; readonly size: number; readonly bytes?: Uint8Array; readonly path?: string }> => {
  switch (root._tag) {
    case "Image":
    case "Artifact":
      return [
        ...root.layers.map((l) => ({ digest: l.digest, size: l.size, path: l.path })),
        { digest: root.configDigest, size: root.config.byteLength, bytes: root.config },
        { digest: root.manifestDigest, size: root.manifest.byteLength, bytes: root.manifest }
      ]
    case "Index":
      return [
        ...root.images.flatMap(blobsOf),
        { digest: root.digest, size: root.index.byteLength, bytes: root.index }
      ]
  }
}

/**
 * An entry of {@link writeLayout}: `tag` becomes the `org.opencontainers.image.ref.name` annotation.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayoutEntry {
  readonly tag?: string
  readonly root: Root
}

/**
 * Writes (or adds to) a plain OCI image layout with `node:fs`: `oci-layout`, `index.json`, and every blob
 * reachable from the roots. An existing entry with the same tag is replaced.
 *
 * @since 0.1.0
 * @category constructors
 */
export const writeLayout = Effect.fn("Fixtures.writeLayout")(function*(
  layoutDir: string,
  entries: ReadonlyArray<LayoutEntry>
) {
  yield* fsTry(`cannot write the OCI layout ${layoutDir}`, () => {
    fs.mkdirSync(path.join(layoutDir, "blobs", "sha256"), { recursive: true })
    fs.writeFileSync(path.join(layoutDir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
    for (const entry of entries) {
      for (const blob of blobsOf(entry.root)) {
        const target = blobPath(layoutDir, blob.digest)
        if (fs.existsSync(target)) continue
        if (blob.bytes !== undefined) fs.writeFileSync(target, blob.bytes)
        else if (blob.path !== undefined) placeFile(blob.path, target, blob.size)
      }
    }
    const indexPath = path.join(layoutDir, "index.json")
    let manifests: Array<Descriptor> = []
    if (fs.existsSync(indexPath)) {
      manifests = (JSON.parse(fs.readFileSync(indexPath, "utf8")) as { manifests?: Array<Descriptor> }).manifests ?? []
    }
    for (const entry of entries) {
      const d = entry.root.descriptor
      const descriptor: Descriptor = {
        mediaType: d.mediaType,
        digest: d.digest,
        size: d.size,
        ...(d.platform === undefined || entry.root._tag !== "Image" ? {} : { platform: d.platform }),
        ...(d.artifactType === undefined ? {} : { artifactType: d.artifactType }),
        ...(entry.tag === undefined ? {} : { annotations: { "org.opencontainers.image.ref.name": entry.tag } })
      }
      manifests = manifests.filter((m) =>
        entry.tag === undefined
          ? !(m.digest === d.digest && m.annotations?.["org.opencontainers.image.ref.name"] === undefined)
          : m.annotations?.["org.opencontainers.image.ref.name"] !== entry.tag
      )
      manifests.push(descriptor)
    }
    const tmp = `${indexPath}.${process.pid}.tmp`
    fs.writeFileSync(tmp, JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }))
    fs.renameSync(tmp, indexPath)
  })
}) as (layoutDir: string, entries: ReadonlyArray<LayoutEntry>) => Effect.Effect<void, TestHarnessError.TestHarnessError>

/**
 * Options of {@link push}.
 *
 * @since 0.1.0
 * @category models
 */
export interface PushOptions {
  /** Default: the registry's first full-access user when it needs credentials. */
  readonly user?: DockerRegistry.User
  /** Ask skopeo to convert the manifest ("v2s2" = Docker schema 2). Default: keep it as is. */
  readonly format?: "v2s2" | "oci"
  /** Copy every image of an index (`--all`). Default true. */
  readonly all?: boolean
}

/**
 * Pushes `layoutDir:layoutTag` to `registry/ref` with `skopeo copy` (TLS verification off; credentials
 * from `options.user` or the registry's first full-access user when it is not anonymous).
 *
 * @since 0.1.0
 * @category push
 */
export const push = Effect.fn("Fixtures.push")(function*(
  registry: DockerRegistry.Instance,
  ref: string,
  layoutDir: string,
  layoutTag: string,
  options: PushOptions = {}
) {
  const user = options.user ?? (registry.mode === "anon" ? undefined : registry.writer)
  const args = [
    "copy",
    "-q",
    "--dest-tls-verify=false",
    ...(user === undefined ? [] : ["--dest-creds", `${user.username}:${user.password}`]),
    ...(options.format === undefined ? ["--preserve-digests"] : ["--format", options.format]),
    ...(options.all === false ? [] : ["--all"]),
    `oci:${layoutDir}:${layoutTag}`,
    `docker://${registry.host}/${ref}`
  ]
  const result = yield* Tools.skopeo(args)
  if (result.exitCode !== 0) {
    return yield* Effect.fail(
      TestHarnessError.make(`skopeo copy to ${registry.host}/${ref} failed: ${result.stderr.trim().slice(-4000)}`)
    )
  }
}) as (
  registry: DockerRegistry.Instance,
  ref: string,
  layoutDir: string,
  layoutTag: string,
  options?: PushOptions
) => Effect.Effect<void, TestHarnessError.TestHarnessError>

/**
 * Options of {@link pushRaw}.
 *
 * @since 0.1.0
 * @category models
 */
export interface PushRawOptions {
  /** Tags to put the root manifest under. Default: none (pushed by digest only). */
  readonly tags?: ReadonlyArray<string>
  /** Default: the registry's first full-access user when it needs credentials. */
  readonly user?: DockerRegistry.User
  /** Parallel tag PUTs. Default 8. */
  readonly concurrency?: number
}

interface Auth {
  readonly header: () => Effect.Effect<Record<string, string>, TestHarnessError.TestHarnessError>
}

const makeAuth = (registry: DockerRegistry.Instance, repo: string, user: DockerRegistry.User | undefined): Auth => {
  const ca = registry.caCert === undefined ? {} : { ca: registry.caCert }
  const basic = user === undefined
    ? undefined
    : `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`
  if (registry.mode === "anon") return { header: () => Effect.succeed({}) }
  if (registry.mode === "basic") {
    return { header: () => Effect.succeed(basic === undefined ? {} : { authorization: basic }) }
  }
  const tokenServer = registry.tokenServer!
  let token: string | undefined
  return {
    header: () =>
      Effect.gen(function*() {
        if (token === undefined) {
          const url = new URL(tokenServer.url)
          url.searchParams.set("service", tokenServer.service)
          url.searchParams.set("scope", `repository:${repo}:pull,push`)
          const res = yield* Http.request(url.toString(), {
            ...ca,
            headers: basic === undefined ? {} : { authorization: basic }
          })
          if (res.status !== 200) {
            return yield* Effect.fail(
              TestHarnessError.make(`token request for ${repo} failed: ${res.status} ${res.text}`)
            )
          }
          const body = JSON.parse(res.text) as { token?: string; access_token?: string }
          token = body.token ?? body.access_token ?? ""
        }
        return { authorization: `Bearer ${token}` }
      })
  }
}

/**
 * A registry session for raw pushes (blob uploads and manifest PUTs), with Basic or token auth.
 *
 * @since 0.1.0
 * @category push
 */
export interface RawPusher {
  /** HEAD, then POST + monolithic PUT (streamed from the file) unless the blob exists. */
  readonly pushBlob: (
    blob: { readonly digest: string; readonly path: string }
  ) => Effect.Effect<void, TestHarnessError.TestHarnessError>
  /** PUT a manifest; returns the `Docker-Content-Digest` the registry answered. */
  readonly putManifest: (
    reference: string,
    bytes: Uint8Array,
    mediaType: string
  ) => Effect.Effect<string, TestHarnessError.TestHarnessError>
}

/**
 * Makes a {@link RawPusher} for one repository.
 *
 * @since 0.1.0
 * @category push
 */
export const rawPusher = (
  registry: DockerRegistry.Instance,
  repo: string,
  options: { readonly user?: DockerRegistry.User } = {}
): RawPusher => {
  const user = options.user ?? (registry.mode === "anon" ? undefined : registry.writer)
  const auth = makeAuth(registry, repo, user)
  const ca = registry.caCert === undefined ? {} : { ca: registry.caCert }
  const base = `${registry.url}/v2/${repo}`
  const expect = (res: Http.Response, ok: ReadonlyArray<number>, what: string) =>
    ok.includes(res.status)
      ? Effect.succeed(res)
      : Effect.fail(TestHarnessError.make(`${what}: HTTP ${res.status} ${res.text.slice(0, 2000)}`))
  return {
    pushBlob: (blob) =>
      Effect.gen(function*() {
        const headers = yield* auth.header()
        const head = yield* Http.request(`${base}/blobs/${blob.digest}`, { ...ca, method: "HEAD", headers })
        if (head.status === 200) return
        const start = yield* Http.request(`${base}/blobs/uploads/`, { ...ca, method: "POST", headers }).pipe(
          Effect.flatMap((res) => expect(res, [202], `POST ${base}/blobs/uploads/`))
        )
        const location = new URL(start.header("location") ?? "", registry.url)
        location.searchParams.set("digest", blob.digest)
        yield* Http.request(location.toString(), {
          ...ca,
          method: "PUT",
          headers: { ...headers, "content-type": "application/octet-stream" },
          body: { file: blob.path }
        }).pipe(Effect.flatMap((res) => expect(res, [201], `PUT blob ${blob.digest} to ${repo}`)))
      }),
    putManifest: (reference, bytes, mediaType) =>
      Effect.gen(function*() {
        const headers = yield* auth.header()
        const res = yield* Http.request(`${base}/manifests/${reference}`, {
          ...ca,
          method: "PUT",
          headers: { ...headers, "content-type": mediaType },
          body: bytes
        }).pipe(Effect.flatMap((res) => expect(res, [201], `PUT manifest ${repo}:${reference}`)))
        return res.header("docker-content-digest") ?? ""
      })
  }
}

const pushTree = (pusher: RawPusher, root: Root): Effect.Effect<void, TestHarnessError.TestHarnessError> =>
  Effect.gen(function*() {
    if (root._tag === "Index") {
      for (const child of root.images) {
        yield* pushTree(pusher, child)
        yield* pusher.putManifest(child.manifestDigest, child.manifest, child.mediaType)
      }
      return
    }
    yield* Effect.forEach(root.layers, (l) => pusher.pushBlob(l), { concurrency: 4, discard: true })
    yield* pusher.pushBlob({ digest: root.configDigest, path: root.configPath })
  })

/**
 * Pushes a fixture with plain HTTP (no skopeo): all blobs (HEAD, POST, monolithic PUT), child manifests
 * by digest, then the root manifest by digest and under each of `options.tags`. For what skopeo cannot
 * push: artifacts with `subject`, referrers fallback indexes, 150 tags quickly. Returns the root digest.
 *
 * @since 0.1.0
 * @category push
 */
export const pushRaw = Effect.fn("Fixtures.pushRaw")(function*(
  registry: DockerRegistry.Instance,
  repo: string,
  root: Root,
  options: PushRawOptions = {}
) {
  const pusher = rawPusher(registry, repo, options.user === undefined ? {} : { user: options.user })
  yield* pushTree(pusher, root)
  const digest = yield* pusher.putManifest(root.manifestDigest, root.manifest, root.mediaType)
  yield* Effect.forEach(options.tags ?? [], (tag) => pusher.putManifest(tag, root.manifest, root.mediaType), {
    concurrency: options.concurrency ?? 8,
    discard: true
  })
  return digest
}) as (
  registry: DockerRegistry.Instance,
  repo: string,
  root: Root,
  options?: PushRawOptions
) => Effect.Effect<string, TestHarnessError.TestHarnessError>

/**
 * A small image: 3 layers (365 B, 3.4 KiB, 4.3 KiB of file content), linux/amd64.
 *
 * @since 0.1.0
 * @category presets
 */
export const smallImage = (
  dir: string,
  options: { readonly format?: Format; readonly seed?: string } = {}
): Effect.Effect<Image, TestHarnessError.TestHarnessError> =>
  makeImage(dir, {
    seed: options.seed ?? "ocidist/small",
    layers: [{ size: 365 }, { size: 3400 }, { size: 4300 }],
    ...(options.format === undefined ? {} : { format: options.format }),
    ...(options.format === "docker" ? {} : { annotations: { "org.opencontainers.image.title": "ocidist small" } })
  })

/**
 * A multi-platform index (Docker manifest list with `format: "docker"`) of linux/amd64, linux/arm64 and
 * linux/arm/v7 images sharing their first layer.
 *
 * @since 0.1.0
 * @category presets
 */
export const multiPlatformIndex = (
  dir: string,
  options: { readonly format?: Format; readonly seed?: string } = {}
): Effect.Effect<Index, TestHarnessError.TestHarnessError> =>
  Effect.gen(function*() {
    const seed = options.seed ?? "ocidist/multi"
    const platforms: ReadonlyArray<Platform> = [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
      { os: "linux", architecture: "arm", variant: "v7" }
    ]
    const images = yield* Effect.forEach(platforms, (platform) =>
      makeImage(dir, {
        seed: `${seed}/${platform.architecture}${platform.variant ?? ""}`,
        layers: [{ size: 1024, seed: `${seed}/common` }, { size: 2048 }],
        platform,
        ...(options.format === undefined ? {} : { format: options.format })
      }))
    return yield* makeIndex(dir, images, options.format === undefined ? {} : { format: options.format })
  })

/**
 * A big image: `layers` (default 4) layers of incompressible content, `totalBytes` (default 512 MiB) in
 * all. Built streaming and cached per machine (512 MiB: about 4 s the first time).
 *
 * @since 0.1.0
 * @category presets
 */
export const bigImage = (
  dir: string,
  options: { readonly totalBytes?: number; readonly layers?: number; readonly seed?: string } = {}
): Effect.Effect<Image, TestHarnessError.TestHarnessError> => {
  const count = options.layers ?? 4
  const per = Math.floor((options.totalBytes ?? 512 * 1024 * 1024) / count)
  return makeImage(dir, {
    seed: options.seed ?? "ocidist/big",
    layers: Array.from({ length: count }, () => ({ size: per }))
  })
}

const skopeoCreds = (registry: DockerRegistry.Instance, flag: string, user: DockerRegistry.User | undefined) => {
  const u = user ?? (registry.mode === "anon" ? undefined : registry.writer)
  return u === undefined ? [] : [flag, `${u.username}:${u.password}`]
}

/**
 * `skopeo inspect` of `registry/ref` (an oracle independent of our client). With `raw` (default true) the
 * manifest bytes exactly as the registry serves them; otherwise skopeo's JSON summary.
 *
 * @since 0.1.0
 * @category oracles
 */
export const inspect = (
  registry: DockerRegistry.Instance,
  ref: string,
  options: { readonly raw?: boolean; readonly config?: boolean; readonly user?: DockerRegistry.User } = {}
): Effect.Effect<string, TestHarnessError.TestHarnessError> =>
  Effect.flatMap(
    Tools.skopeo([
      "inspect",
      "--tls-verify=false",
      ...skopeoCreds(registry, "--creds", options.user),
      ...(options.raw === false ? [] : ["--raw"]),
      ...(options.config === true ? ["--config"] : []),
      `docker://${registry.host}/${ref}`
    ]),
    (result) =>
      result.exitCode === 0
        ? Effect.succeed(result.stdout)
        : Effect.fail(TestHarnessError.make(`skopeo inspect ${registry.host}/${ref} failed: ${result.stderr.trim()}`))
  )

/**
 * Pulls `registry/ref` into the OCI layout `layoutDir` under `layoutTag` with `skopeo copy` (an oracle for
 * what a registry holds after our client pushed). `all` (default true) copies every image of an index.
 *
 * @since 0.1.0
 * @category oracles
 */
export const pull = (
  registry: DockerRegistry.Instance,
  ref: string,
  layoutDir: string,
  layoutTag: string,
  options: { readonly all?: boolean; readonly user?: DockerRegistry.User } = {}
): Effect.Effect<void, TestHarnessError.TestHarnessError> =>
  Effect.flatMap(
    Tools.skopeo([
      "copy",
      "-q",
      "--src-tls-verify=false",
      ...skopeoCreds(registry, "--src-creds", options.user),
      "--preserve-digests",
      ...(options.all === false ? [] : ["--all"]),
      `docker://${registry.host}/${ref}`,
      `oci:${layoutDir}:${layoutTag}`
    ]),
    (result) =>
      result.exitCode === 0
        ? Effect.void
        : Effect.fail(TestHarnessError.make(`skopeo copy from ${registry.host}/${ref} failed: ${result.stderr.trim()}`))
  )

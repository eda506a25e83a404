/**
 * `Mutate.mutate` and `Mutate.append`: the manifests of an image (or of every image, or one platform's, of an
 * index) rewritten in memory — a new config blob (the `config` object edited, or a layer's diffID and history
 * entry appended), new manifest bytes (config descriptor, annotations, the appended layer) and a new index over
 * the rewritten entries — then written by the copy engine from an overlay of the source that serves the new
 * content and the source's for the rest. A destination that has the layers (the same repository or layout) skips
 * them; another repository of the same registry mounts them; anywhere else they are streamed.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Digest from "@ocidist/reference/Digest"
import * as Hash from "@ocidist/reference/Hash"
import * as ImageConfig from "@ocidist/spec/ImageConfig"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Platform from "@ocidist/spec/Platform"
import * as Storage from "@ocidist/spec/Storage"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Copy from "../Copy.js"
import * as Location from "../Location.js"
import type * as Mutate from "../Mutate.js"
import { InvalidLocation, type OcidistError, PlatformNotFound, UnsupportedOperation } from "../OcidistError.js"
import * as Blob from "./blob.js"
import * as Compression from "./compression.js"
import * as Stores from "./stores.js"
import { tarDirectory } from "./tarDirectory.js"

type Json = Record<string, unknown>

/** The layer an append adds: its bytes (a file, or a spool file), digest, size and diffID. */
interface NewLayer {
  readonly compression: Compression.Algorithm
  readonly digest: Digest.Digest
  readonly size: number
  readonly diffId: Digest.Digest
  readonly read: (offset: number) => Stream.Stream<Uint8Array, OcidistError>
  /** The history entry's `comment`: the file's base name. */
  readonly comment: string
  /** Whether the file's bytes are the layer's (a compressed tar), or they were compressed here. */
  readonly kept: boolean
}

/** What to change in each image manifest rewritten. */
interface Change {
  readonly config?: ((config: Json) => Json) | undefined
  readonly layer?: NewLayer | undefined
  readonly annotations?: Readonly<Record<string, string>> | undefined
}

/** What a rewrite produced: the new manifests and config blobs, by digest, and the images rewritten. */
interface Rewritten {
  readonly manifests: Map<string, Manifest.Manifest>
  readonly blobs: Map<string, (offset: number) => Stream.Stream<Uint8Array, OcidistError>>
  readonly images: Array<
    { readonly sourceDigest: Digest.Digest; readonly digest: Digest.Digest; platform?: Platform.Platform }
  >
}

const unsupported = (operation: string, location: string, detail: string) =>
  new UnsupportedOperation({ operation, location, detail })

const parseObject = (bytes: Uint8Array, what: string, location: string): Effect.Effect<Json, UnsupportedOperation> =>
  Effect.suspend(() => {
    try {
      const value: unknown = JSON.parse(new TextDecoder().decode(bytes))
      if (typeof value === "object" && value !== null && !Array.isArray(value)) return Effect.succeed(value as Json)
    } catch {
      // reported below
    }
    return Effect.fail(unsupported("rewriting", location, `${what} is not a JSON object`))
  })

const isImageConfig = (mediaType: string) => {
  const m = MediaType.essence(mediaType)
  return m === MediaType.OCI_CONFIG || m === MediaType.DOCKER_CONFIG
}

const objectOr = (value: unknown): Json =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? { ...(value as Json) } : {}

/**
 * The config edit of `mutate`: the `config` object's labels merged, environment variables set (replacing one
 * of the same name in place, else appended), entrypoint, cmd, working directory and user replaced. Every other
 * field, and the order of the keys, is kept.
 *
 * @internal
 */
export const editConfig = (options: Mutate.MutateOptions) => (config: Json): Json => {
  const c = objectOr(config.config)
  if (options.labels !== undefined && Object.keys(options.labels).length > 0) {
    c.Labels = { ...objectOr(c.Labels), ...options.labels }
  }
  if (options.env !== undefined && options.env.length > 0) {
    const env = Array.isArray(c.Env) ? c.Env.filter((e): e is string => typeof e === "string") : []
    for (const entry of options.env) {
      const name = entry.split("=")[0]!
      const at = env.findIndex((e) => e.split("=")[0] === name)
      if (at === -1) env.push(entry)
      else env[at] = entry
    }
    c.Env = env
  }
  if (options.entrypoint !== undefined) c.Entrypoint = [...options.entrypoint]
  if (options.cmd !== undefined) c.Cmd = [...options.cmd]
  if (options.workdir !== undefined) c.WorkingDir = options.workdir
  if (options.user !== undefined) c.User = options.user
  return { ...config, config: c }
}

/** Whether `mutate`'s options change the config at all (else its bytes, and digest, are kept). */
const changesConfig = (o: Mutate.MutateOptions): boolean =>
  (o.labels !== undefined && Object.keys(o.labels).length > 0) || (o.env !== undefined && o.env.length > 0) ||
  o.entrypoint !== undefined || o.cmd !== undefined || o.workdir !== undefined || o.user !== undefined

/** A layer's diffID and history entry appended to an image config. */
const appendToConfig = (config: Json, layer: NewLayer, layers: number): Json => {
  const rootfs = objectOr(config.rootfs)
  const diffIds = Array.isArray(rootfs.diff_ids) ? [...rootfs.diff_ids] : []
  const out: Json = {
    ...config,
    rootfs: { ...rootfs, type: rootfs.type ?? "layers", diff_ids: [...diffIds, layer.diffId] }
  }
  const entry = { created_by: "ocidist append", comment: layer.comment }
  // a history that lists every layer gets one more entry; an image without history gets one only when this is its
  // first layer (an entry for the new layer alone would not line up with the others)
  if (Array.isArray(config.history)) out.history = [...config.history, entry]
  else if (layers === 0) out.history = [entry]
  return out
}

const layerMediaType = (layer: NewLayer, docker: boolean, location: string) =>
  docker && layer.compression === "zstd"
    ? Effect.fail(unsupported(
      "appending a zstd layer",
      location,
      "a Docker v2s2 manifest has no zstd layer media type: append a gzip or plain tar, or convert the image " +
        "with ocidist copy --format oci first"
    ))
    : Effect.succeed(Compression.layerMediaType(layer.compression, docker)!)

const decodeManifest = (bytes: Uint8Array, mediaType: string) =>
  Either.match(Manifest.decode(bytes, { contentType: mediaType }), {
    onLeft: (e) => Effect.fail(e),
    onRight: (m) => Effect.succeed(m)
  })

const rewriteImage = (
  store: Storage.ReadOnlyStorage<OcidistError>,
  m: Manifest.Manifest,
  change: Change,
  out: Rewritten
): Effect.Effect<Manifest.Manifest, OcidistError> =>
  Effect.gen(function*() {
    if (m._tag !== "ImageManifest") return m
    const raw = yield* parseObject(m.bytes, `manifest ${m.digest}`, store.name)
    const docker = MediaType.isDocker(m.mediaType)
    const config = m.manifest.config
    if (change.config !== undefined || change.layer !== undefined) {
      if (!isImageConfig(config.mediaType)) {
        return yield* unsupported(
          change.layer !== undefined ? "appending a layer" : "changing the config",
          store.name,
          `${m.digest} is an artifact (config ${config.mediaType}), not an image`
        )
      }
      const bytes = yield* Storage.readBlob(store, config, ImageConfig.MAX_BYTES)
      let edited = yield* parseObject(bytes, `config ${config.digest}`, store.name)
      if (change.config !== undefined) edited = change.config(edited)
      if (change.layer !== undefined) edited = appendToConfig(edited, change.layer, m.manifest.layers.length)
      const encoded = new TextEncoder().encode(JSON.stringify(edited))
      const digest = Digest.ofBytes(encoded)
      out.blobs.set(digest, (offset) => Storage.fromBytes(encoded).open(offset))
      raw.config = { ...objectOr(raw.config), digest, size: encoded.length }
    }
    if (change.layer !== undefined) {
      const mediaType = yield* layerMediaType(change.layer, docker, store.name)
      const layers = Array.isArray(raw.layers) ? raw.layers : []
      raw.layers = [...layers, { mediaType, digest: change.layer.digest, size: change.layer.size }]
    }
    if (change.annotations !== undefined && Object.keys(change.annotations).length > 0) {
      if (docker) return yield* noDockerAnnotations(store.name, m)
      raw.annotations = { ...objectOr(raw.annotations), ...change.annotations }
    }
    const rewritten = yield* decodeManifest(Manifest.encode(raw), m.mediaType)
    out.manifests.set(rewritten.digest, rewritten)
    out.images.push({ sourceDigest: m.digest, digest: rewritten.digest })
    return rewritten
  })

const noDockerAnnotations = (location: string, m: Manifest.Manifest) =>
  Effect.fail(unsupported(
    "annotating",
    location,
    `${m.digest} is a Docker ${
      m._tag === "ImageIndex" ? "manifest list" : "v2s2 manifest"
    }, which has no annotations: convert it with ocidist copy --format oci first`
  ))

/** Nested indexes followed at most this deep. */
const MAX_DEPTH = 8

/**
 * An index rewritten: with `platform`, the entry that best matches it (descended into when it is an index);
 * without, every entry that is an image (artifacts such as attestations are left as they are) or an index.
 * Annotations go on the selected image with `platform`, on the index itself without.
 */
const rewriteIndex = (
  store: Storage.ReadOnlyStorage<OcidistError>,
  index: Manifest.Manifest,
  platform: Platform.Platform | undefined,
  change: Change,
  out: Rewritten,
  depth: number
): Effect.Effect<Manifest.Manifest, OcidistError> =>
  Effect.gen(function*() {
    if (index._tag !== "ImageIndex") return index
    const raw = yield* parseObject(index.bytes, `index ${index.digest}`, store.name)
    const rawEntries = Array.isArray(raw.manifests) ? [...(raw.manifests as Array<unknown>)] : []
    const entries = index.manifest.manifests
    const selected: Array<number> = []
    if (platform !== undefined) {
      const best = Platform.best(platform, entries)
      if (best === undefined) {
        return yield* new PlatformNotFound({
          location: store.name,
          wanted: Platform.format(platform),
          available: Platform.available(entries)
        })
      }
      selected.push(entries.indexOf(best))
    } else {
      entries.forEach((e, i) => {
        if (MediaType.isManifest(e.mediaType)) selected.push(i)
      })
    }
    const childChange: Change = platform === undefined ? { ...change, annotations: undefined } : change
    let changed = 0
    for (const i of selected) {
      const entry = entries[i]!
      const child = yield* store.fetchManifest(entry)
      if (child._tag === "ImageIndex") {
        if (depth >= MAX_DEPTH) continue
        const before = out.images.length
        const next = yield* rewriteIndex(store, child, platform, childChange, out, depth + 1)
        if (out.images.length === before) continue
        rawEntries[i] = { ...objectOr(rawEntries[i]), digest: next.digest, size: next.bytes.length }
      } else {
        const touchesConfig = childChange.config !== undefined || childChange.layer !== undefined
        // without a platform, artifacts beside the images (attestations, signatures) are left as they are
        if (platform === undefined && touchesConfig && !isImageConfig(child.manifest.config.mediaType)) continue
        if (!touchesConfig && (childChange.annotations === undefined)) continue
        const next = yield* rewriteImage(store, child, childChange, out)
        const last = out.images[out.images.length - 1]
        if (last !== undefined && entry.platform !== undefined) last.platform = entry.platform
        rawEntries[i] = { ...objectOr(rawEntries[i]), digest: next.digest, size: next.bytes.length }
      }
      changed++
    }
    const annotate = platform === undefined && change.annotations !== undefined &&
      Object.keys(change.annotations).length > 0
    if (changed === 0 && !annotate && depth === 0) {
      return yield* unsupported(
        "rewriting",
        store.name,
        `index ${index.digest} has no image to change (only artifacts, or nothing asked)`
      )
    }
    if (changed === 0 && !annotate) return index
    raw.manifests = rawEntries
    if (annotate) {
      if (MediaType.isDocker(index.mediaType)) return yield* noDockerAnnotations(store.name, index)
      raw.annotations = { ...objectOr(raw.annotations), ...change.annotations }
    }
    const rewritten = yield* decodeManifest(Manifest.encode(raw), index.mediaType)
    out.manifests.set(rewritten.digest, rewritten)
    return rewritten
  })

/**
 * The source store with the rewritten content over it: the new manifests and blobs served from memory (and the
 * appended layer from its file), everything else from the source. No tags, no referrers: only what a copy of
 * the new root needs.
 */
const overlay = (
  source: Storage.ReadOnlyStorage<OcidistError>,
  out: Rewritten
): Storage.ReadOnlyStorage<OcidistError> => ({
  name: source.name,
  location: source.location,
  verifiesBlobs: source.verifiesBlobs,
  resolve: (reference) => {
    const m = out.manifests.get(reference)
    return m !== undefined ? Effect.succeed(Manifest.descriptorOf(m)) : source.resolve(reference)
  },
  fetchManifest: (d) => {
    const m = out.manifests.get(d.digest)
    return m !== undefined ? Effect.succeed(m) : source.fetchManifest(d)
  },
  fetchBlob: (d, options) => {
    const read = out.blobs.get(d.digest)
    return read !== undefined ? read(options?.offset ?? 0) : source.fetchBlob(d, options)
  },
  pumpBlob: (d, sink, options) => {
    const read = out.blobs.get(d.digest)
    return read !== undefined
      ? Storage.pumpStream(read(options?.offset ?? 0), sink)
      : Storage.pumpBlob(source, d, sink, options)
  },
  exists: (d) => out.manifests.has(d.digest) || out.blobs.has(d.digest) ? Effect.succeed(true) : source.exists(d)
})

const parsePlatform = (input: Mutate.MutateOptions["platform"]) =>
  input === undefined
    ? Effect.succeed(undefined)
    : typeof input === "string"
    ? Either.match(Platform.parse(input), { onLeft: Effect.fail, onRight: Effect.succeed })
    : Effect.succeed(input)

/** Runs a rewrite of the image a location names, and writes it to the destination (the source by default). */
const run = (
  source: Mutate.LocationInput,
  options: Mutate.CommonOptions,
  change: (env: Stores.Environment, location: string) => Effect.Effect<Change, OcidistError, Scope.Scope>,
  operation: string
): Effect.Effect<Mutate.MutateResult, OcidistError, Blob.Requirements> =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* Blob.environment
    const codecs = yield* Compression.CodecsRef
    const from = yield* Blob.toLocation(source)
    const to = options.destination === undefined ? from : yield* Blob.toLocation(options.destination)
    const platform = yield* parsePlatform(options.platform)
    const wanted = yield* change(env, Location.format(from))
    const opened = yield* Stores.openSource(env, from)
    const root = yield* Storage.fetchReference(opened.store, opened.reference)
    const out: Rewritten = { manifests: new Map(), blobs: new Map(), images: [] }
    if (wanted.layer !== undefined) out.blobs.set(wanted.layer.digest, wanted.layer.read)
    const rewritten = root._tag === "ImageIndex"
      ? yield* rewriteIndex(opened.store, root, platform, wanted, out, 0)
      : yield* rewriteImage(
        opened.store,
        platform === undefined ? root : yield* Copy.selectPlatform(opened.store, root, platform),
        wanted,
        out
      )
    const destination = yield* Stores.openDestination(env, to)
    const tag = destination.tag ?? opened.tag
    const result = yield* Copy.copy(overlay(opened.store, out), destination.store, {
      reference: rewritten.digest,
      tags: tag === undefined ? [] : [tag],
      // OCI tools read only OCI media types from a layout or an oci-archive (as copy writes them)
      format: to._tag === "Layout" || to._tag === "OciArchive" ? "oci" : "keep",
      dockerLayers: to._tag === "DockerArchive"
    }).pipe(Effect.provideService(Compression.CodecsRef, codecs))
    yield* destination.complete(result, opened)
    // what was written for each rewritten manifest (a conversion into a layout gives it another digest)
    const written = new Map(
      result.images.flatMap((i) => i.manifests).map((m) => [m.sourceDigest ?? m.digest, m.digest] as const)
    )
    const layer = wanted.layer
    return {
      source: opened.store.name,
      destination: destination.store.name,
      sourceDigest: root.digest,
      digest: result.digest,
      mediaType: result.mediaType,
      size: result.size,
      tags: tag === undefined ? [] : [tag],
      images: out.images.map((i) => ({
        sourceDigest: i.sourceDigest,
        digest: written.get(i.digest) ?? i.digest,
        ...(i.platform === undefined ? {} : { platform: i.platform })
      })),
      ...(layer === undefined ? {} : {
        layer: {
          digest: layer.digest,
          size: layer.size,
          diffId: layer.diffId,
          compression: layer.compression,
          compressed: !layer.kept
        }
      }),
      stats: result.stats
    } satisfies Mutate.MutateResult
  })).pipe(Effect.withSpan(operation))

/** @internal */
export const mutate = (
  source: Mutate.LocationInput,
  options: Mutate.MutateOptions = {}
): Effect.Effect<Mutate.MutateResult, OcidistError, Blob.Requirements> =>
  run(source, options, (_env, location) =>
    Effect.suspend(() => {
      const annotations = options.annotations
      const nothing = !changesConfig(options) && (annotations === undefined || Object.keys(annotations).length === 0)
      if (nothing) {
        return Effect.fail(unsupported(
          "mutating",
          location,
          "nothing to change: give a label, an annotation, an environment variable, an entrypoint, a cmd, a " +
            "working directory or a user"
        ))
      }
      return Effect.succeed({
        config: changesConfig(options) ? editConfig(options) : undefined,
        annotations
      })
    }), "Mutate.mutate")

const fileError = (path: string) => (e: unknown) =>
  new InvalidLocation({ input: path, detail: e instanceof Error ? e.message : String(e) })

const USTAR = new TextEncoder().encode("ustar")

const isTar = (head: Uint8Array) => head.length >= 262 && USTAR.every((b, i) => head[257 + i] === b)

/**
 * A stream gzip-compressed into a spool file. A failure of the stream itself (a file that cannot be read) is
 * reported as it is, not as the codec's failure that it causes.
 */
const gzipped = (input: Stream.Stream<Uint8Array, OcidistError>, subject: string) =>
  Effect.suspend(() => {
    let failure: OcidistError | undefined
    const watched = Stream.tapError(input, (e) =>
      Effect.sync(() => {
        failure ??= e
      }))
    return Effect.catchAll(
      Compression.recompress(watched, { to: "gzip", subject }),
      (e) => Effect.fail(failure ?? e)
    )
  })

/** The layer of `append`: a compressed tar as it is (its diffID hashed from its decompressed stream), a plain tar or a directory gzip-compressed into a spool file. */
/** A tar stream gzipped into a spool file, as the new layer. */
const gzippedLayer = (tar: Stream.Stream<Uint8Array, OcidistError>, subject: string, comment: string) =>
  Effect.map(gzipped(tar, subject), (spooled): NewLayer => ({
    compression: "gzip",
    digest: spooled.digest,
    size: spooled.size,
    diffId: spooled.diffId,
    read: spooled.read,
    comment,
    kept: false
  }))

const prepareLayer = (
  env: Stores.Environment,
  file: string
): Effect.Effect<NewLayer, OcidistError, Scope.Scope> =>
  Effect.gen(function*() {
    const info = yield* Effect.mapError(env.fs.stat(file), fileError(file))
    const comment = env.path.basename(env.path.resolve(file))
    if (info.type === "Directory") {
      // the directory's content at the root of the image's file system: `./<path>` entries, without the entry
      // for the directory itself (one 512-byte header block), which would set the root's mode
      const tar = Storage.dropBytes(512)(
        tarDirectory(file, ".").pipe(
          Stream.provideService(FileSystem.FileSystem, env.fs),
          Stream.provideService(Path.Path, env.path)
        )
      )
      return yield* gzippedLayer(tar, `directory ${file}`, comment)
    }
    const read = (offset: number) =>
      Stream.mapError(
        env.fs.stream(file, offset > 0 ? { offset, chunkSize: 256 * 1024 } : { chunkSize: 256 * 1024 }),
        fileError(file)
      )
    const [head, whole] = yield* Compression.peek(read(0), 512)
    const compression = Compression.sniff(head)
    if (compression === "none") {
      if (!isTar(head)) {
        return yield* unsupported("appending a layer", file, "it is neither a tar (no ustar header) nor gzip or zstd")
      }
      return yield* gzippedLayer(whole, `layer ${file}`, comment)
    }
    // kept as it is: its digest hashed from its bytes, its diffID from the decompressed stream, in one pass
    const codecs = yield* Compression.CodecsRef
    yield* codecs.check(compression)
    const raw = yield* Hash.hasher("sha256")
    const plain = yield* Hash.hasher("sha256")
    const tapped = Stream.mapChunks(whole, (chunk) => {
      for (const b of Chunk.toReadonlyArray(chunk)) raw.update(b)
      return chunk
    })
    yield* Stream.runForEach(
      codecs.decompress(compression, `layer ${file}`)(tapped),
      (b) => Effect.sync(() => plain.update(b))
    )
    return { compression, digest: raw.digest(), size: raw.bytes(), diffId: plain.digest(), read, comment, kept: true }
  }).pipe(Effect.provideService(Hash.Hash, env.hash))

/** @internal */
export const append = (
  source: Mutate.LocationInput,
  options: Mutate.AppendOptions
): Effect.Effect<Mutate.MutateResult, OcidistError, Blob.Requirements> =>
  run(source, options, (env) =>
    Effect.map(prepareLayer(env, options.layer), (layer) => ({
      layer,
      annotations: options.annotations
    })), "Mutate.append")

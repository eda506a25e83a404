/**
 * Layer compression: what a layer is compressed with (by media type, by magic bytes), the codecs a platform
 * provides (`NodeCompression`: gzip by `node:zlib`, zstd by Node's own zlib or the `zstd` program), and the
 * recompression of a layer in one streaming pass into a spool file: source bytes → decompress → (diffID
 * hashed) → compress → (new digest hashed, size counted) → temporary file. The new descriptor is known when
 * the pass ends; the blob is then pushed from the file, which is removed with the scope.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Digest from "@ocidist/reference/Digest"
import * as Hash from "@ocidist/reference/Hash"
import { DigestMismatch } from "@ocidist/reference/ReferenceError"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as ImageConfig from "@ocidist/spec/ImageConfig"
import type * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import type { ContentTooLarge, InvalidManifest, SizeMismatch } from "@ocidist/spec/SpecError"
import * as Storage from "@ocidist/spec/Storage"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import {
  CompressionFailed,
  CompressionUnavailable,
  IncompatibleCompression,
  UnsupportedOperation
} from "../OcidistError.js"
import type * as Progress from "../Progress.js"

/** A compression algorithm of layers. @internal */
export type Algorithm = "gzip" | "zstd"

/** How a layer's bytes are stored: compressed with an algorithm, or a plain tar. @internal */
export type Compression = Algorithm | "none"

/** The uncompressed Docker layer media type (docker-archive layers, containers/image's `DockerV2SchemaLayerMediaTypeUncompressed`). @internal */
export const DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"

/** Compression levels per algorithm: the range accepted and the default. @internal */
export const LEVELS: Readonly<
  Record<Algorithm, { readonly min: number; readonly max: number; readonly default: number }>
> = {
  gzip: { min: 1, max: 9, default: 6 },
  zstd: { min: 1, max: 19, default: 3 }
}

/** Whether `level` is a valid level of `algorithm`. @internal */
export const validLevel = (algorithm: Algorithm, level: number): boolean =>
  Number.isInteger(level) && level >= LEVELS[algorithm].min && level <= LEVELS[algorithm].max

/**
 * The compression magic bytes say: gzip `1f 8b`, zstd `28 b5 2f fd`, anything else a plain tar.
 *
 * @internal
 */
export const sniff = (head: Uint8Array): Compression =>
  head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
    ? "gzip"
    : head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd
    ? "zstd"
    : "none"

const BY_MEDIA_TYPE: ReadonlyMap<string, Compression> = new Map([
  [MediaType.OCI_LAYER, "none"],
  [MediaType.OCI_LAYER_GZIP, "gzip"],
  [MediaType.OCI_LAYER_ZSTD, "zstd"],
  [MediaType.DOCKER_LAYER_GZIP, "gzip"],
  [DOCKER_LAYER_TAR, "none"]
])

/**
 * The compression a layer media type names; `undefined` for anything that is not a (distributable) image
 * layer: configs, artifact blobs, foreign layers. Only these layers are ever recompressed.
 *
 * @internal
 */
export const ofMediaType = (mediaType: string): Compression | undefined =>
  BY_MEDIA_TYPE.get(MediaType.essence(mediaType))

/**
 * The layer media type of a compression in a Docker v2s2 manifest (`docker`) or an OCI one; `undefined` for
 * zstd in Docker v2s2, which has no such media type.
 *
 * @internal
 */
export const layerMediaType = (compression: Compression, docker: boolean): string | undefined =>
  docker
    ? compression === "gzip" ? MediaType.DOCKER_LAYER_GZIP : compression === "none" ? DOCKER_LAYER_TAR : undefined
    : compression === "gzip"
    ? MediaType.OCI_LAYER_GZIP
    : compression === "zstd"
    ? MediaType.OCI_LAYER_ZSTD
    : MediaType.OCI_LAYER

/**
 * The codecs of a platform. `compress` and `decompress` transform a byte stream in a stream (bounded
 * buffers, backpressure), failing with `CompressionFailed` (corrupt input, a codec process that failed);
 * `check` fails with `CompressionUnavailable` when an algorithm cannot be used here, and says which
 * implementation is used otherwise. `fs` and `spoolDirectory` hold the spool files of recompression.
 *
 * @internal
 */
export interface Codecs {
  readonly check: (algorithm: Algorithm) => Effect.Effect<string, CompressionUnavailable>
  readonly compress: (
    algorithm: Algorithm,
    level: number,
    subject: string
  ) => <E>(stream: Stream.Stream<Uint8Array, E>) => Stream.Stream<Uint8Array, E | CompressionFailed>
  readonly decompress: (
    algorithm: Algorithm,
    subject: string
  ) => <E>(stream: Stream.Stream<Uint8Array, E>) => Stream.Stream<Uint8Array, E | CompressionFailed>
  readonly fs: FileSystem.FileSystem | undefined
  /** Where spool files go (created on demand); the system's temporary directory when undefined. */
  readonly spoolDirectory: string | undefined
}

const UNAVAILABLE = "this program has no compression codecs: provide NodeCompression.layer (NodeOcidist.layer does)"

/** The codecs of a program that provides none: every algorithm unavailable. @internal */
export const unavailable: Codecs = {
  check: (algorithm) => Effect.fail(new CompressionUnavailable({ algorithm, detail: UNAVAILABLE })),
  compress: (algorithm, _level, subject) => (stream) =>
    Stream.concat(
      Stream.drain(stream),
      Stream.fail(new CompressionFailed({ operation: "compress", algorithm, subject, detail: UNAVAILABLE }))
    ),
  decompress: (algorithm, subject) => (stream) =>
    Stream.concat(
      Stream.drain(stream),
      Stream.fail(new CompressionFailed({ operation: "decompress", algorithm, subject, detail: UNAVAILABLE }))
    ),
  fs: undefined,
  spoolDirectory: undefined
}

/**
 * The codecs in context: none unless the program provides them (`NodeCompression.layer`, which
 * `NodeOcidist.layer` includes).
 *
 * @internal
 */
export class CodecsRef extends Context.Reference<CodecsRef>()("ocidist/internal/compression/Codecs", {
  defaultValue: (): Codecs => unavailable
}) {}

/** A layer recompressed into a spool file. @internal */
export interface Spooled {
  /** What the source bytes were compressed with (by their magic bytes). */
  readonly from: Compression
  readonly to: Compression
  readonly digest: Digest.Digest
  readonly size: number
  /** The digest of the uncompressed bytes (checked against the config's `rootfs.diff_ids` when given). */
  readonly diffId: Digest.Digest
  /** The spooled bytes from `offset` (the file lives as long as the scope). */
  readonly read: (offset: number) => Stream.Stream<Uint8Array, CompressionFailed>
}

/** @internal */
export interface RecompressOptions {
  readonly to: Compression
  /** The level of `to` (its default when undefined). */
  readonly level?: number | undefined
  /** The config's diff_id of this layer: the uncompressed bytes must hash to it. */
  readonly diffId?: Digest.Digest | undefined
  /** The layer for messages: `layer sha256:… of docker.io/library/alpine`. */
  readonly subject: string
}

/**
 * The first bytes of a stream (at least `n` unless it is shorter) and the whole stream again.
 *
 * @internal
 */
export const peek = <E>(
  stream: Stream.Stream<Uint8Array, E>,
  n: number
): Effect.Effect<readonly [Uint8Array, Stream.Stream<Uint8Array, E>], E, Scope.Scope> =>
  // a pull in the caller's scope rather than `Stream.peel`: peel's producer fiber, left waiting to hand over the
  // rest when a consumer stopped early (a malformed tar, a `take`), hung the closing of that scope
  Effect.gen(function*() {
    const pull = yield* Stream.toPull(stream)
    const head: Array<Uint8Array> = []
    let total = 0
    let ended = false
    while (total < n) {
      const chunk = yield* Effect.catchAll(pull, (e) =>
        Option.isNone(e) ?
          Effect.sync(() => {
            ended = true
            return Chunk.empty<Uint8Array>()
          }) :
          Effect.fail(e.value))
      if (ended) break
      for (const b of Chunk.toReadonlyArray(chunk)) {
        head.push(b)
        total += b.length
      }
    }
    const bytes = new Uint8Array(Math.min(total, n))
    let filled = 0
    for (const b of head) {
      if (filled >= bytes.length) break
      const take = Math.min(b.length, bytes.length - filled)
      bytes.set(b.subarray(0, take), filled)
      filled += take
    }
    const rest = ended ? Stream.empty : Stream.repeatEffectChunkOption(pull)
    return [bytes, Stream.concat(Stream.fromIterable(head), rest)] as const
  })

/** Passes a stream through, feeding every buffer to a hasher (one effect per chunk of buffers). */
const tapHash = <E>(stream: Stream.Stream<Uint8Array, E>, h: Hash.Hasher): Stream.Stream<Uint8Array, E> =>
  Stream.mapChunks(stream, (chunk) => {
    for (const b of Chunk.toReadonlyArray(chunk)) h.update(b)
    return chunk
  })

const spoolError = (subject: string) => (e: unknown) =>
  new CompressionFailed({
    operation: "spool",
    algorithm: "none",
    subject,
    detail: e instanceof Error ? e.message : String(e)
  })

/**
 * Recompresses a layer's bytes (`input`, verified by the caller) to `options.to` into a spool file, in one
 * streaming pass: the source's compression is read from its magic bytes, the uncompressed bytes are hashed
 * (their digest must equal `options.diffId` when given: `DigestMismatch` otherwise), the new bytes are hashed
 * and counted on their way to the file. Nothing is held in memory beyond the codecs' buffers. The file is
 * removed when the scope closes.
 *
 * @internal
 */
export const recompress = <E>(
  input: Stream.Stream<Uint8Array, E>,
  options: RecompressOptions
): Effect.Effect<Spooled, E | CompressionFailed | CompressionUnavailable | DigestMismatch, Scope.Scope> =>
  Effect.gen(function*() {
    const codecs = yield* CodecsRef
    const { subject, to } = options
    if (to !== "none") yield* codecs.check(to)
    const fs = codecs.fs
    if (fs === undefined) {
      return yield* new CompressionUnavailable({ algorithm: to, detail: UNAVAILABLE })
    }
    const [head, whole] = yield* peek(input, 4)
    const from = sniff(head)
    if (from !== "none") yield* codecs.check(from)
    const failed = spoolError(subject)
    if (codecs.spoolDirectory !== undefined) {
      yield* Effect.mapError(fs.makeDirectory(codecs.spoolDirectory, { recursive: true }), failed)
    }
    const dir = yield* Effect.mapError(
      fs.makeTempDirectoryScoped({
        prefix: "recompress-",
        ...(codecs.spoolDirectory === undefined ? {} : { directory: codecs.spoolDirectory })
      }),
      failed
    )
    const file = `${dir}/layer`
    const diffHasher = yield* Hash.hasher(options.diffId === undefined ? "sha256" : Digest.algorithm(options.diffId))
    const outHasher = yield* Hash.hasher("sha256")
    const plain = tapHash(from === "none" ? whole : codecs.decompress(from, subject)(whole), diffHasher)
    const level = to === "none" ? 0 : options.level ?? LEVELS[to].default
    const packed = tapHash(to === "none" ? plain : codecs.compress(to, level, subject)(plain), outHasher)
    yield* Stream.run(packed, Sink.mapError(fs.sink(file), failed))
    const diffId = diffHasher.digest()
    if (options.diffId !== undefined && diffId !== options.diffId) {
      return yield* new DigestMismatch({
        expected: options.diffId,
        actual: diffId,
        subject: `uncompressed ${subject} (the config's rootfs.diff_ids)`
      })
    }
    return {
      from,
      to,
      digest: outHasher.digest(),
      size: outHasher.bytes(),
      diffId,
      read: (offset: number) => Stream.mapError(fs.stream(file, offset > 0 ? { offset } : {}), failed)
    }
  })

// ---------------------------------------------------------------------------------------------------------
// the copy's side: which layers to recompress (planning) and the recompressing transfer
// ---------------------------------------------------------------------------------------------------------

/**
 * What a copy does with layer compression (`Copy.Options.compress`): recompress every layer to an algorithm,
 * store them uncompressed (`"none"`), or never recompress (`"keep"`: what the destination cannot hold is
 * refused). Unset: only the conversions a destination needs (see {@link decide}).
 *
 * @internal
 */
export type Policy = Algorithm | "none" | "keep"

/** The compression settings of one copy. @internal */
export interface Settings {
  readonly compress: Policy | undefined
  readonly level: number | undefined
  /** The destination is a registry (`location`): uncompressed layers are gzip-compressed by default. */
  readonly registry: boolean
  /** The destination holds Docker layers only, whatever the manifest's media type (a docker-archive). */
  readonly dockerLayers: boolean
  /** The destination, for messages. */
  readonly destination: string
}

/** A layer the blob stage recompresses. @internal */
export interface LayerPlan {
  readonly to: Compression
  readonly level: number | undefined
  /** From the config's rootfs.diff_ids, when the config lists it. */
  readonly diffId: Digest.Digest | undefined
  /** The layer goes (also) into a Docker v2s2 manifest: written with a Docker media type. */
  docker: boolean
}

const incompatible = (settings: Settings, layer: Descriptor.Descriptor, compression: Compression, detail: string) =>
  new IncompatibleCompression({ location: settings.destination, digest: layer.digest, compression, detail })

/**
 * The compression a layer is written with, `undefined` when it is copied as it is:
 *
 * - `compress` set to an algorithm or `"none"`: that, for every image layer that has another one; zstd into
 *   a Docker v2s2 manifest or a docker-archive is refused (no such media type).
 * - unset: a zstd layer going into a Docker v2s2 manifest or a docker-archive is recompressed to gzip, an
 *   uncompressed layer going to a registry is gzip-compressed (as skopeo and docker push do); others kept.
 * - `"keep"`: nothing recompressed; a zstd layer going into Docker v2s2 is refused.
 *
 * `docker`: the layer goes into a Docker v2s2 manifest (or the destination holds Docker layers only).
 *
 * @internal
 */
export const decide = (
  settings: Settings,
  layer: Descriptor.Descriptor,
  docker: boolean
): Either.Either<Compression | undefined, IncompatibleCompression> => {
  const from = ofMediaType(layer.mediaType)
  if (from === undefined) return Either.right(undefined)
  const c = settings.compress
  const where = settings.dockerLayers ? "a docker-archive" : "a Docker v2s2 manifest"
  if (c === "gzip" || c === "zstd" || c === "none") {
    if (c === "zstd" && docker) {
      return Either.left(incompatible(
        settings,
        layer,
        from,
        `zstd layers cannot be written into ${where} (it has no zstd media type): write OCI (--format oci` +
          `${settings.dockerLayers ? ", to another destination" : ""}) or compress with gzip`
      ))
    }
    return Either.right(from === c ? undefined : c)
  }
  if (from === "zstd" && docker) {
    return c === "keep"
      ? Either.left(incompatible(
        settings,
        layer,
        from,
        `${where} has no zstd layers and recompression is off (--compress keep): recompress with ` +
          `--compress gzip, or write OCI (--format oci)`
      ))
      : Either.right("gzip")
  }
  if (from === "none" && settings.registry && c === undefined) return Either.right("gzip")
  return Either.right(undefined)
}

const isImageConfig = (mediaType: string) => {
  const m = MediaType.essence(mediaType)
  return m === MediaType.OCI_CONFIG || m === MediaType.DOCKER_CONFIG
}

/**
 * Plans the recompression of an image manifest's layers (see {@link decide}) into `plans` (by source layer
 * digest), before anything is written: refuses what cannot be written (`IncompatibleCompression`), checks
 * that the codecs are here (`CompressionUnavailable`), reads the config for the layers' diff_ids. Artifacts
 * (a config that is not an image config) and indexes are left alone. Returns the lookup a manifest rewrite
 * takes: a planned layer's descriptor with its new media type (its digest and size are known after the
 * blob stage only).
 *
 * @internal
 */
export const planLayers = <E>(
  source: Storage.ReadOnlyStorage<E>,
  manifest: Manifest.Manifest,
  docker: boolean,
  settings: Settings,
  plans: Map<string, LayerPlan>
): Effect.Effect<
  (digest: Digest.Digest) => Descriptor.Descriptor | undefined,
  | E
  | IncompatibleCompression
  | CompressionUnavailable
  | UnsupportedOperation
  | SizeMismatch
  | ContentTooLarge
  | DigestMismatch
  | InvalidManifest
> =>
  Effect.gen(function*() {
    const lookup = (layers: ReadonlyArray<Descriptor.Descriptor>) => {
      const byDigest = new Map(layers.map((l) => [l.digest as string, l]))
      return (digest: Digest.Digest): Descriptor.Descriptor | undefined => {
        const plan = plans.get(digest)
        const layer = byDigest.get(digest)
        if (plan === undefined || layer === undefined) return undefined
        return { ...layer, mediaType: layerMediaType(plan.to, plan.docker) ?? layerMediaType(plan.to, false)! }
      }
    }
    if (manifest._tag !== "ImageManifest" || !isImageConfig(manifest.manifest.config.mediaType)) {
      return () => undefined
    }
    const layers = manifest.manifest.layers
    const wanted: Array<readonly [number, Compression]> = []
    for (let i = 0; i < layers.length; i++) {
      const to = yield* decide(settings, layers[i]!, docker)
      if (to !== undefined) wanted.push([i, to])
    }
    if (wanted.length === 0) return lookup(layers)
    const level = settings.level
    const codecs = yield* CodecsRef
    for (const [i, to] of wanted) {
      const from = ofMediaType(layers[i]!.mediaType)
      if (from !== undefined && from !== "none") yield* codecs.check(from)
      if (to !== "none") {
        yield* codecs.check(to)
        if (level !== undefined && !validLevel(to, level)) {
          return yield* new UnsupportedOperation({
            operation: `compression level ${level}`,
            location: settings.destination,
            detail: `${to} levels are ${LEVELS[to].min} to ${LEVELS[to].max}`
          })
        }
      }
    }
    const config = yield* ImageConfig.decode(
      yield* Storage.readBlob(source, manifest.manifest.config, ImageConfig.MAX_BYTES)
    )
    const diffIds = config.rootfs.diff_ids
    for (const [i, to] of wanted) {
      const layer = layers[i]!
      const known = plans.get(layer.digest)
      if (known !== undefined) {
        known.docker ||= docker
        continue
      }
      const diffId = diffIds.length === layers.length ? diffIds[i] : undefined
      plans.set(layer.digest, {
        to,
        level: to === "none" ? undefined : level,
        diffId: diffId !== undefined && Digest.isDigest(diffId) ? diffId : undefined,
        docker
      })
    }
    return lookup(layers)
  })

/** How often a recompressing transfer reports its progress. */
const PROGRESS_INTERVAL = Duration.millis(100)

/**
 * Copies a layer recompressed (see {@link LayerPlan}): the source's bytes (verified against `layer` unless
 * the source verifies its own) recompressed into a spool file, then pushed under the new descriptor, unless
 * the destination has that already. Progress is reported under the source layer's digest, in source bytes.
 * Returns the descriptor written and the source bytes read.
 *
 * @internal
 */
export const transferRecompressed = <E1, E2>(
  source: Storage.ReadOnlyStorage<E1>,
  target: Storage.Storage<E2>,
  reporter: Progress.Service,
  layer: Descriptor.Descriptor,
  plan: LayerPlan
): Effect.Effect<
  { readonly written: Descriptor.Descriptor; readonly transferred: number },
  E1 | E2 | CompressionFailed | CompressionUnavailable | DigestMismatch
> =>
  Effect.scoped(Effect.gen(function*() {
    const subject = `layer ${layer.digest} of ${source.name}`
    let moved = 0
    let reported = -1
    const report = Effect.suspend(() => {
      if (moved === reported) return Effect.void
      reported = moved
      return reporter.emit({ _tag: "BlobProgress", digest: layer.digest, size: layer.size, transferred: moved })
    })
    yield* reporter.emit({
      _tag: "BlobStarted",
      digest: layer.digest,
      mediaType: layer.mediaType,
      size: layer.size,
      offset: 0
    })
    const fetched = source.fetchBlob(layer)
    const input = Stream.mapChunks(
      source.verifiesBlobs ? fetched : Digest.verifyStream(layer.digest, subject)(fetched),
      (chunk) => {
        for (const b of Chunk.toReadonlyArray(chunk)) moved += b.length
        return chunk
      }
    )
    const work = yield* Effect.fork(recompress(input, {
      to: plan.to,
      level: plan.level,
      diffId: plan.diffId,
      subject
    }))
    const spooled = yield* Effect.ensuring(
      Effect.raceFirst(Fiber.join(work), Effect.forever(Effect.delay(report, PROGRESS_INTERVAL))),
      Fiber.interrupt(work)
    )
    yield* report
    const written: Descriptor.Descriptor = {
      ...layer,
      mediaType: layerMediaType(plan.to, plan.docker) ?? layerMediaType(plan.to, false)!,
      digest: spooled.digest,
      size: spooled.size
    }
    if (!(yield* target.exists(written))) {
      yield* target.pushBlob(written, { open: spooled.read, verified: false })
    }
    yield* reporter.emit({
      _tag: "BlobDone",
      digest: layer.digest,
      mediaType: layer.mediaType,
      size: layer.size,
      transferred: moved
    })
    return { written, transferred: moved }
  }))

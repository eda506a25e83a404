/**
 * `Validate.validate`: every descriptor reachable from what a location names — index children, manifests,
 * configs, layers — read and checked (present, size, digest, media type consistent); with `full`, every
 * image layer read through its decompression and a tar parser, its uncompressed digest checked against the
 * config's `rootfs.diff_ids`.
 *
 * @internal
 */
import * as Tar from "@ocidist/layout/Tar"
import * as Digest from "@ocidist/reference/Digest"
import type * as Hash from "@ocidist/reference/Hash"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as ImageConfig from "@ocidist/spec/ImageConfig"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { type OcidistError, UnsupportedOperation } from "../OcidistError.js"
import type * as Validate from "../Validate.js"
import { environment, type Requirements, toLocation } from "./blob.js"
import * as Compression from "./compression.js"
import * as Stores from "./stores.js"

/** The failures of reading content that are findings about the content, not about the way to it. */
const findingOf = (e: OcidistError): Validate.ProblemKind | undefined => {
  switch (e._tag) {
    case "NotFound":
    case "BlobNotFound":
    case "ContentNotFound":
      return "Missing"
    case "SizeMismatch":
    case "SizeExceeded":
      return "SizeMismatch"
    case "DigestMismatch":
      return "DigestMismatch"
    case "InvalidManifest":
    case "UnsupportedMediaType":
      return "InvalidManifest"
    case "CompressionFailed":
    case "InvalidLayer":
      return "InvalidLayer"
    default:
      return undefined
  }
}

type Hasher = ReturnType<Hash.Service["make"]>

const BLOCK = Tar.BLOCK

/** The zero bytes after `size` bytes of entry data, to the next block. */
const padOf = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK

/** An extended header being read (PAX, GNU long name): its data, found at byte `at` of the tar stream. */
interface Meta {
  readonly typeflag: string
  readonly data: Uint8Array
  filled: number
  readonly at: number
}

/**
 * A streaming tar reader that only checks structure: every header decoded by the tar codec's
 * {@link Tar.Decoder} (checksums, numeric fields in octal or base-256, PAX records and GNU long names, extended
 * headers of at most {@link Tar.MAX_META} bytes), so an entry's size is the one its PAX `size` record gives
 * when it has one; entry data skipped, never held; the end of the archive (two zero blocks, nothing after one).
 */
const tarChecker = () => {
  const decoder = new Tar.Decoder()
  const header = new Uint8Array(BLOCK)
  let headerFill = 0
  /** Bytes of the tar stream read so far. */
  let offset = 0
  /** Entry data and padding still to pass over. */
  let skip = 0
  /** The extended header being read: its data is decoded once whole (at most `Tar.MAX_META` bytes). */
  let meta: Meta | undefined
  let zeroBlocks = 0
  let error: string | undefined
  const endMeta = ({ at, data, typeflag }: Meta) => {
    meta = undefined
    error = decoder.extended(typeflag, data, at)
    skip = padOf(data.length)
  }
  const onHeader = () => {
    const at = offset - BLOCK
    const decoded = decoder.decode(header, at)
    if (Either.isRight(decoded) && decoded.right._tag === "End") {
      zeroBlocks++
      return
    }
    if (zeroBlocks > 0) {
      error = `entry after an end-of-archive block (entry ${decoder.entries + 1})`
      return
    }
    if (Either.isLeft(decoded)) {
      error = `${decoded.left} (entry ${decoder.entries + 1})`
      return
    }
    const block = decoded.right
    if (block._tag === "Extended") {
      meta = { typeflag: block.typeflag, data: new Uint8Array(block.size), filled: 0, at }
      if (block.size === 0) endMeta(meta)
    } else if (block._tag === "Entry") {
      // links, directories, devices and FIFOs have no data whatever their size field says (size 0 here)
      const size = block.header.size
      skip = size + padOf(size)
    }
  }
  return {
    update: (chunk: Uint8Array) => {
      let i = 0
      while (i < chunk.length && error === undefined) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - i)
          skip -= n
          i += n
          offset += n
          continue
        }
        if (meta !== undefined) {
          const n = Math.min(meta.data.length - meta.filled, chunk.length - i)
          meta.data.set(chunk.subarray(i, i + n), meta.filled)
          meta.filled += n
          i += n
          offset += n
          if (meta.filled === meta.data.length) endMeta(meta)
          continue
        }
        if (zeroBlocks >= 2) return // trailing padding after the end of the archive
        const n = Math.min(BLOCK - headerFill, chunk.length - i)
        header.set(chunk.subarray(i, i + n), headerFill)
        headerFill += n
        i += n
        offset += n
        if (headerFill === BLOCK) {
          headerFill = 0
          onHeader()
        }
      }
    },
    end: (): string | undefined => {
      if (error !== undefined) return error
      if (skip > 0 || headerFill > 0 || meta !== undefined) {
        return `the tar stream is truncated (after ${decoder.entries} entries)`
      }
      if (decoder.pending) return `the tar stream ends after an extended header, before its entry`
      if (decoder.entries > 0 && zeroBlocks === 0) return `the tar stream has no end-of-archive blocks`
      return undefined
    }
  }
}

/** @internal */
export const validate = (
  input: Validate.LocationInput,
  options?: Validate.Options
): Effect.Effect<Validate.Validation, OcidistError, Requirements> =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* environment
    const codecs = yield* Compression.CodecsRef
    const full = options?.full ?? false
    const withReferrers = options?.referrers ?? false
    const { reference, store } = yield* Stores.openSource(env, yield* toLocation(input))
    const root = yield* store.resolve(reference)
    const problems: Array<Validate.Problem> = []
    const seen = new Set<string>()
    let checked = 0
    let bytes = 0
    let referrers = 0

    const report = (d: Descriptor.Descriptor, kind: Validate.ProblemKind, detail: string, parent?: string) =>
      Effect.sync(() => {
        problems.push({
          digest: d.digest,
          mediaType: d.mediaType,
          kind,
          detail,
          ...(parent === undefined ? {} : { parent })
        })
      })

    /** A failure that is a finding becomes a problem; others (the registry unreachable…) fail the run. */
    const orReport = <A>(
      d: Descriptor.Descriptor,
      parent: string | undefined,
      effect: Effect.Effect<A, OcidistError>
    ): Effect.Effect<Either.Either<A, void>, OcidistError> =>
      Effect.catchAll(Effect.map(effect, Either.right), (e) => {
        const kind = findingOf(e)
        return kind === undefined
          ? Effect.fail(e)
          : Effect.as(report(d, kind, e.message, parent), Either.left(undefined))
      })

    /** Digest and size of a blob's bytes as read (a problem reported otherwise); whether they match. */
    const verifyRead = (d: Descriptor.Descriptor, parent: string, hasher: Hasher) =>
      Effect.gen(function*() {
        bytes += hasher.bytes()
        if (hasher.bytes() !== d.size) {
          yield* report(
            d,
            "SizeMismatch",
            `the descriptor says ${d.size} bytes, the blob has ${hasher.bytes()}`,
            parent
          )
          return false
        }
        if (hasher.digest() !== d.digest) {
          yield* report(d, "DigestMismatch", `the blob's bytes hash to ${hasher.digest()}`, parent)
          return false
        }
        return true
      })

    const hashed = (d: Descriptor.Descriptor, hasher: Hasher) =>
      Stream.tap(store.fetchBlob(d), (chunk) => Effect.sync(() => hasher.update(chunk)))

    /** Reads a blob: its digest and size checked. */
    const checkBlob = (d: Descriptor.Descriptor, parent: string): Effect.Effect<boolean, OcidistError> =>
      Effect.gen(function*() {
        const hasher = env.hash.make(Digest.algorithm(d.digest))
        const outcome = yield* orReport(d, parent, Stream.runDrain(hashed(d, hasher)))
        checked++
        return Either.isRight(outcome) && (yield* verifyRead(d, parent, hasher))
      })

    /**
     * Reads a layer once through its decompression and the tar checker: digest and size, then the tar
     * stream; its uncompressed digest returned. A layer that does not decompress is read again plainly, so that
     * a corrupted blob is reported as such (a digest mismatch) rather than as a bad layer.
     */
    const checkLayer = (
      d: Descriptor.Descriptor,
      parent: string,
      compression: Compression.Compression
    ): Effect.Effect<Digest.Digest | undefined, OcidistError> =>
      Effect.gen(function*() {
        const hasher = env.hash.make(Digest.algorithm(d.digest))
        const diffHasher = env.hash.make("sha256")
        const tar = tarChecker()
        const compressed = hashed(d, hasher)
        const plain = compression === "none"
          ? compressed
          : codecs.decompress(compression, `layer ${d.digest}`)(compressed)
        const outcome = yield* Effect.either(Stream.runForEach(plain, (chunk) =>
          Effect.sync(() => {
            diffHasher.update(chunk)
            tar.update(chunk)
          })))
        if (Either.isLeft(outcome)) {
          const kind = findingOf(outcome.left)
          if (kind === undefined) return yield* Effect.fail(outcome.left)
          if (kind === "InvalidLayer") {
            if (yield* checkBlob(d, parent)) yield* report(d, "InvalidLayer", outcome.left.message, parent)
          } else {
            checked++
            yield* report(d, kind, outcome.left.message, parent)
          }
          return undefined
        }
        checked++
        if (!(yield* verifyRead(d, parent, hasher))) return undefined
        const broken = tar.end()
        if (broken !== undefined) {
          yield* report(d, "InvalidLayer", broken, parent)
          return undefined
        }
        return diffHasher.digest()
      })

    const visit = (
      d: Descriptor.Descriptor,
      parent: string | undefined,
      check?: (m: Manifest.Manifest) => Effect.Effect<void>
    ): Effect.Effect<void, OcidistError> =>
      Effect.gen(function*() {
        if (seen.has(d.digest)) return
        seen.add(d.digest)
        const fetched = yield* orReport(d, parent, store.fetchManifest(d))
        checked++
        if (Either.isLeft(fetched)) return
        const m = fetched.right
        bytes += m.bytes.length
        if (check !== undefined) yield* check(m)
        if (MediaType.essence(m.mediaType) !== MediaType.essence(d.mediaType)) {
          yield* report(
            d,
            "MediaTypeMismatch",
            `the descriptor says ${d.mediaType}, the manifest is ${m.mediaType}`,
            parent
          )
        }
        if (withReferrers) yield* visitReferrers(m)
        if (m._tag === "ImageIndex") {
          for (const child of m.manifest.manifests) {
            if (!MediaType.isManifest(child.mediaType)) {
              yield* report(child, "UnknownMediaType", `an index entry of media type ${child.mediaType}`, m.digest)
              continue
            }
            yield* visit(child, m.digest)
          }
          return
        }
        const config = m.manifest.config
        const image = config.mediaType === MediaType.OCI_CONFIG || config.mediaType === MediaType.DOCKER_CONFIG
        if (seen.has(config.digest)) {
          // shared configs are checked once
        } else {
          seen.add(config.digest)
          yield* checkBlob(config, m.digest)
        }
        let diffIds: ReadonlyArray<string> | undefined
        if (full && image) {
          const bytesOf = yield* Effect.either(Storage.readBlob(store, config, ImageConfig.MAX_BYTES))
          const decoded = Either.isRight(bytesOf) ? ImageConfig.decode(bytesOf.right) : undefined
          if (decoded !== undefined && Either.isRight(decoded)) diffIds = decoded.right.rootfs.diff_ids
          else if (decoded !== undefined) yield* report(config, "InvalidConfig", decoded.left.message, m.digest)
          if (diffIds !== undefined && diffIds.length !== m.manifest.layers.length) {
            yield* report(
              config,
              "DiffIdMismatch",
              `rootfs.diff_ids has ${diffIds.length} entries for ${m.manifest.layers.length} layers`,
              m.digest
            )
            diffIds = undefined
          }
        }
        for (const [i, layer] of m.manifest.layers.entries()) {
          const compression = Compression.ofMediaType(layer.mediaType)
          if (image && compression === undefined && !isForeign(layer.mediaType)) {
            yield* report(layer, "UnknownMediaType", `not a layer media type: ${layer.mediaType}`, m.digest)
          }
          if (layer.urls !== undefined && layer.urls.length > 0 && !(yield* store.exists(layer))) continue
          if (seen.has(layer.digest) && diffIds === undefined) continue
          seen.add(layer.digest)
          let diffId: Digest.Digest | undefined
          if (full && image && compression !== undefined) diffId = yield* checkLayer(layer, m.digest, compression)
          else yield* checkBlob(layer, m.digest)
          if (diffIds !== undefined && diffId !== undefined && diffIds[i] !== diffId) {
            yield* report(
              layer,
              "DiffIdMismatch",
              `its uncompressed digest is ${diffId}, the config's rootfs.diff_ids[${i}] says ${diffIds[i]}`,
              m.digest
            )
          }
        }
      })

    /**
     * The referrers of a manifest (Referrers API or tag fallback; a layout's entries with that subject), each
     * checked as a manifest under it, its `subject` compared; their own referrers in turn (`visit`). A referrer
     * seen already (a cycle, or listed twice) is not checked again.
     */
    const visitReferrers = (m: Manifest.Manifest): Effect.Effect<void, OcidistError> =>
      Effect.gen(function*() {
        if (store.referrers === undefined) {
          return yield* new UnsupportedOperation({
            operation: "listing referrers",
            location: store.name,
            detail: "it cannot list referrers: validate without --referrers"
          })
        }
        const subject: Descriptor.Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length }
        const listed = yield* orReport(subject, undefined, store.referrers(subject))
        if (Either.isLeft(listed)) return
        for (const r of listed.right) {
          if (seen.has(r.digest)) continue
          referrers++
          if (!MediaType.isManifest(r.mediaType)) {
            seen.add(r.digest)
            yield* report(r, "UnknownMediaType", `a referrer of media type ${r.mediaType}`, m.digest)
            continue
          }
          yield* visit(r, m.digest, (referrer) => {
            const pointsAt = Manifest.subject(referrer)?.digest
            return pointsAt === m.digest ? Effect.void : report(
              r,
              "SubjectMismatch",
              pointsAt === undefined
                ? `listed as a referrer of ${m.digest}, it has no subject`
                : `listed as a referrer of ${m.digest}, its subject is ${pointsAt}`,
              m.digest
            )
          })
        }
      })

    yield* visit(root, undefined)
    return {
      location: store.name,
      digest: root.digest,
      ok: problems.length === 0,
      checked,
      bytes,
      referrers,
      problems
    }
  })).pipe(Effect.withSpan("Validate.validate"))

const isForeign = (mediaType: string): boolean =>
  mediaType.includes("foreign") || mediaType.includes("nondistributable")

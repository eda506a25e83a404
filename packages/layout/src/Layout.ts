/**
 * OCI image layout directories (image-spec `image-layout.md`): `oci-layout`, `index.json`,
 * `blobs/<alg>/<hex>`, tags as `org.opencontainers.image.ref.name` annotations on `index.json` entries.
 *
 * Writes are content-addressed: a blob is streamed into `ingest/<alg>-<hex>.partial` inside the layout,
 * hashed while it is written, synced, and renamed to `blobs/<alg>/<hex>` only when digest (and size, when
 * given) match. `index.json` is replaced atomically (temporary file + rename) and its updates are serialized
 * per layout directory within the process. Digests are validated before they become paths.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Digest, Hash, ReferenceError } from "@ocidist/reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import type * as Platform from "@ocidist/spec/Platform"
import type * as SpecError from "@ocidist/spec/SpecError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import { formatIndex, layoutFileBytes, MAX_INDEX_BYTES, parseIndex } from "./internal/indexJson.js"
import { withLock } from "./internal/locks.js"
import {
  checkDigest,
  collect,
  isValidTag,
  makeReader,
  MAX_MANIFEST_BYTES,
  REF_NAME,
  refName
} from "./internal/reader.js"
import { fromPlatformError, LayoutError } from "./LayoutError.js"

/**
 * The read side of a content store: a layout directory, an `oci-archive` or a `docker-archive`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reader {
  /** The layout directory or archive file. */
  readonly path: string
  /** The entries of `index.json` (for a docker-archive: one synthesized entry per `RepoTags` item). */
  readonly entries: Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, LayoutError>
  /**
   * Finds an index entry by `org.opencontainers.image.ref.name`, by digest (also a manifest blob that is
   * not in the index), by position (`"@0"`), or, with `""`, the only entry. Fails `NotFound` or `Ambiguous`.
   */
  readonly resolve: (reference: string) => Effect.Effect<Descriptor.Descriptor, LayoutError>
  readonly hasBlob: (digest: Digest.Digest) => Effect.Effect<boolean, LayoutError>
  readonly blobSize: (digest: Digest.Digest) => Effect.Effect<Option.Option<number>, LayoutError>
  /** Streams a blob from the file (from `offset`), without verifying it; fails `BlobNotFound`. */
  readonly readBlob: (
    digest: Digest.Digest,
    options?: { readonly offset?: number }
  ) => Stream.Stream<Uint8Array, LayoutError>
  /** Reads a manifest into memory (at most 4 MiB), checking its size and digest, and decodes it. */
  readonly readManifest: (
    descriptor: Descriptor.Descriptor
  ) => Effect.Effect<Manifest.Manifest, LayoutError | ReferenceError.DigestMismatch | SpecError.InvalidManifest>
}

/**
 * What `writeBlob` did: `existed` is true when the blob was already there (the content was not read).
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteResult {
  readonly digest: Digest.Digest
  readonly size: number
  readonly existed: boolean
}

/**
 * One problem found by `verify`.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerifyProblem {
  readonly digest: string
  readonly kind: "Missing" | "SizeMismatch" | "DigestMismatch" | "InvalidManifest"
  readonly detail: string
  /** The manifest that references the blob (absent for `index.json` entries). */
  readonly parent?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface VerifyReport {
  readonly ok: boolean
  /** Number of distinct blobs (manifests included) checked. */
  readonly checked: number
  /** Bytes read and hashed. */
  readonly bytes: number
  readonly problems: ReadonlyArray<VerifyProblem>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface GcResult {
  readonly removed: ReadonlyArray<Digest.Digest>
  readonly bytes: number
  /** Partial files removed from `ingest/` (only with `partials: true`). */
  readonly partials: number
}

/**
 * An OCI image layout directory.
 *
 * @since 0.1.0
 * @category models
 */
export interface Layout extends Reader {
  /**
   * Streams content into the layout. Skips (without reading `content`) when the blob exists. Fails with
   * `DigestMismatch` or `SizeMismatch` (the partial file is removed) or with the content's error; when the
   * content fails or the fiber is interrupted, the partial file stays, and `partialSize` + `resumeFrom`
   * continue it: the existing prefix (`resumeFrom` bytes) is re-hashed and `content` must start there.
   * Concurrent writers of the same blob (in this process) are serialized; all succeed with one final file.
   * `verified: true` says that `content` itself fails unless its bytes match `expected` (as the streams of
   * `RegistryClient.blobs.get` do), so a fresh write (no `resumeFrom`) counts bytes without hashing them
   * again; the file is still only renamed into place once `content` has completed.
   */
  readonly writeBlob: <E = never, R = never>(
    expected: { readonly digest: Digest.Digest; readonly size?: number | undefined },
    content: Stream.Stream<Uint8Array, E, R>,
    options?: { readonly resumeFrom?: number | undefined; readonly verified?: boolean | undefined }
  ) => Effect.Effect<WriteResult, LayoutError | ReferenceError.DigestMismatch | E, R>
  /** Size of the partial file of an interrupted write, if any. */
  readonly partialSize: (digest: Digest.Digest) => Effect.Effect<Option.Option<number>, LayoutError>
  /** Removes the partial file of an interrupted write, if any. */
  readonly discardPartial: (digest: Digest.Digest) => Effect.Effect<void, LayoutError>
  /**
   * Validates manifest bytes (media type from `mediaType`, else from the body), writes them as a blob and,
   * with `tag`, points the tag at them. Returns the manifest's descriptor.
   */
  readonly writeManifest: (
    bytes: Uint8Array,
    options?: {
      readonly mediaType?: string | undefined
      readonly tag?: string | undefined
      readonly platform?: Platform.Platform | undefined
      readonly annotations?: Readonly<Record<string, string>> | undefined
    }
  ) => Effect.Effect<Descriptor.Descriptor, LayoutError | SpecError.InvalidManifest | ReferenceError.DigestMismatch>
  /** Adds or replaces the `index.json` entry tagged `tag` (atomically). */
  readonly tag: (descriptor: Descriptor.Descriptor, tag: string) => Effect.Effect<void, LayoutError>
  /** Removes the entries tagged `tag`; true when there was one. */
  readonly untag: (tag: string) => Effect.Effect<boolean, LayoutError>
  /** Adds an untagged `index.json` entry (once per digest). */
  readonly addEntry: (descriptor: Descriptor.Descriptor) => Effect.Effect<void, LayoutError>
  /** Removes all `index.json` entries of a digest (tagged or not); returns how many. */
  readonly removeEntries: (digest: Digest.Digest) => Effect.Effect<number, LayoutError>
  /** Atomic read-modify-write of the `index.json` entries, serialized with every other index update. */
  readonly updateIndex: <E = never>(
    f: (entries: ReadonlyArray<Descriptor.Descriptor>) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, E>
  ) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, LayoutError | E>
  /**
   * Checks everything reachable from `index.json`: every blob present with the size of its descriptor and
   * (unless `hash: false`) the right digest, every manifest decodable. Blobs with `urls` may be absent.
   */
  readonly verify: (options?: { readonly hash?: boolean }) => Effect.Effect<VerifyReport, LayoutError>
  /**
   * Removes blobs not reachable from `index.json` (entries → manifests → configs, layers, child manifests;
   * referrers are kept only if they are in `index.json`). Fails, removing nothing, when a reachable
   * manifest is missing or invalid. `partials: true` also clears `ingest/`. Do not run it while another
   * fiber is writing an image that is not yet tagged: its blobs are unreachable until then.
   */
  readonly gc: (
    options?: { readonly dryRun?: boolean; readonly partials?: boolean }
  ) => Effect.Effect<GcResult, LayoutError | ReferenceError.DigestMismatch | SpecError.InvalidManifest>
}

const tempSuffix = () => `${randomBytes(6).toString("hex")}.tmp`

const make = (root: string): Effect.Effect<Layout, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const hash = yield* Hash.Hash
    const io = (digest?: string) => fromPlatformError(root, digest)
    const indexPath = pathService.join(root, "index.json")
    const blobPath = (digest: Digest.Digest) =>
      pathService.join(root, "blobs", Digest.algorithm(digest), Digest.hex(digest))
    const ingestDir = pathService.join(root, "ingest")
    const partialPath = (digest: Digest.Digest) =>
      pathService.join(ingestDir, `${Digest.algorithm(digest)}-${Digest.hex(digest)}.partial`)

    const statSize = (file: string, digest?: string) =>
      fs.stat(file).pipe(
        Effect.map((info) => Option.some(Number(info.size))),
        Effect.catchIf(
          (e) => e._tag === "SystemError" && e.reason === "NotFound",
          () => Effect.succeed(Option.none<number>())
        ),
        Effect.mapError(io(digest))
      )

    const readIndex = Effect.gen(function*() {
      const size = yield* statSize(indexPath)
      if (Option.isNone(size)) {
        return yield* new LayoutError({ reason: "NotALayout", path: root, detail: "index.json is missing" })
      }
      if (size.value > MAX_INDEX_BYTES) {
        return yield* new LayoutError({ reason: "TooLarge", path: root, detail: `index.json has ${size.value} bytes` })
      }
      const bytes = yield* Effect.mapError(fs.readFile(indexPath), io())
      return yield* parseIndex(root, bytes)
    })

    const writeAtomically = (target: string, bytes: Uint8Array) =>
      Effect.gen(function*() {
        const temp = `${target}.${tempSuffix()}`
        yield* Effect.scoped(Effect.gen(function*() {
          const file = yield* fs.open(temp, { flag: "wx" })
          yield* file.writeAll(bytes)
          yield* file.sync
        })).pipe(
          Effect.zipRight(fs.rename(temp, target)),
          Effect.onError(() => Effect.ignore(fs.remove(temp))),
          Effect.mapError(io())
        )
      })

    const updateIndex = <E>(
      f: (entries: ReadonlyArray<Descriptor.Descriptor>) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, E>
    ): Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, LayoutError | E> =>
      withLock(`index:${root}`)(Effect.gen(function*() {
        const { manifests, raw } = yield* readIndex
        const next = yield* f(manifests)
        for (const d of next) yield* checkDigest(root, d.digest)
        yield* writeAtomically(indexPath, formatIndex(next, raw))
        return next
      }))

    const checkTag = (tag: string) =>
      isValidTag(tag) ? Effect.void : Effect.fail(
        new LayoutError({
          reason: "InvalidTag",
          path: root,
          detail: `"${tag.slice(0, 300)}" is not a valid org.opencontainers.image.ref.name`
        })
      )

    const tag = (descriptor: Descriptor.Descriptor, name: string) =>
      Effect.gen(function*() {
        yield* checkTag(name)
        yield* checkDigest(root, descriptor.digest)
        const entry: Descriptor.Descriptor = {
          ...descriptor,
          annotations: { ...descriptor.annotations, [REF_NAME]: name }
        }
        yield* updateIndex((entries) => {
          const at = entries.findIndex((d) => refName(d) === name)
          if (at === -1) return Effect.succeed([...entries, entry])
          return Effect.succeed([
            ...entries.slice(0, at),
            entry,
            ...entries.slice(at + 1).filter((d) => refName(d) !== name)
          ])
        })
      })

    const untag = (name: string) =>
      Effect.gen(function*() {
        let removed = false
        yield* updateIndex((entries) => {
          const next = entries.filter((d) => refName(d) !== name)
          removed = next.length !== entries.length
          return Effect.succeed(next)
        })
        return removed
      })

    const addEntry = (descriptor: Descriptor.Descriptor) =>
      Effect.asVoid(updateIndex((entries) =>
        Effect.succeed(
          entries.some((d) => d.digest === descriptor.digest && refName(d) === undefined)
            ? entries
            : [...entries, descriptor]
        )
      ))

    const removeEntries = (digest: Digest.Digest) =>
      Effect.gen(function*() {
        let removed = 0
        yield* updateIndex((entries) => {
          const next = entries.filter((d) => d.digest !== digest)
          removed = entries.length - next.length
          return Effect.succeed(next)
        })
        return removed
      })

    const reader = makeReader({
      path: root,
      entries: Effect.map(readIndex, (i) => i.manifests),
      blobSize: (digest) => statSize(blobPath(digest), digest),
      readBlob: (digest, offset) =>
        Stream.mapError(
          fs.stream(blobPath(digest), { offset, chunkSize: 1024 * 1024 }),
          io(digest)
        )
    })

    const partialSize = (digest: Digest.Digest) =>
      Effect.flatMap(checkDigest(root, digest), (d) => statSize(partialPath(d), d))

    const discardPartial = (digest: Digest.Digest) =>
      Effect.flatMap(
        checkDigest(root, digest),
        (d) => Effect.mapError(fs.remove(partialPath(d), { force: true }), io(d))
      )

    const writeBlob = <E, R>(
      expected: { readonly digest: Digest.Digest; readonly size?: number | undefined },
      content: Stream.Stream<Uint8Array, E, R>,
      options?: { readonly resumeFrom?: number | undefined; readonly verified?: boolean | undefined }
    ): Effect.Effect<WriteResult, LayoutError | ReferenceError.DigestMismatch | E, R> =>
      Effect.gen(function*() {
        const digest = yield* checkDigest(root, expected.digest)
        return yield* withLock(`blob:${root}:${digest}`)(Effect.gen(function*() {
          const final = blobPath(digest)
          const partial = partialPath(digest)
          const existing = yield* statSize(final, digest)
          if (Option.isSome(existing) && (expected.size === undefined || existing.value === expected.size)) {
            yield* Effect.ignore(fs.remove(partial, { force: true }))
            return { digest, size: existing.value, existed: true }
          }
          yield* Effect.mapError(
            Effect.zipRight(
              fs.makeDirectory(ingestDir, { recursive: true }),
              fs.makeDirectory(pathService.dirname(final), { recursive: true })
            ),
            io(digest)
          )
          const hasher = hash.make(Digest.algorithm(digest))
          const resumeFrom = options?.resumeFrom ?? 0
          if (resumeFrom > 0) {
            const have = yield* statSize(partial, digest)
            if (Option.isNone(have) || have.value < resumeFrom) {
              return yield* new LayoutError({
                reason: "PartialMissing",
                path: root,
                digest,
                detail: Option.isNone(have)
                  ? "there is no partial file"
                  : `the partial file has ${have.value} bytes, fewer than ${resumeFrom}`
              })
            }
            if (have.value > resumeFrom) yield* Effect.mapError(fs.truncate(partial, resumeFrom), io(digest))
            yield* fs.stream(partial, { bytesToRead: resumeFrom, chunkSize: 1024 * 1024 }).pipe(
              Stream.runForEach((chunk) => Effect.sync(() => hasher.update(chunk))),
              Effect.mapError(io(digest))
            )
          }
          const sizeMismatch = (actual: string) =>
            new LayoutError({
              reason: "SizeMismatch",
              path: root,
              digest,
              detail: `expected ${expected.size} bytes, got ${actual}`
            })
          // A fresh write of content that verifies itself is counted, not hashed a second time.
          const trusted = options?.verified === true && resumeFrom === 0
          let written = resumeFrom
          let invalid = false
          yield* content.pipe(
            Stream.tap((chunk) => {
              if (!trusted) hasher.update(chunk)
              written += chunk.length
              if (expected.size !== undefined && written > expected.size) {
                invalid = true
                return Effect.fail(sizeMismatch("more"))
              }
              return Effect.void
            }),
            Stream.run(Sink.mapError(fs.sink(partial, { flag: resumeFrom > 0 ? "a" : "w" }), io(digest))),
            // content errors and interruption keep the partial file for a resume; wrong content does not
            Effect.onError(() => invalid ? Effect.ignore(fs.remove(partial, { force: true })) : Effect.void)
          )
          const size = written
          const removePartial = Effect.ignore(fs.remove(partial, { force: true }))
          if (expected.size !== undefined && size !== expected.size) {
            yield* removePartial
            return yield* sizeMismatch(String(size))
          }
          const actual = trusted ? digest : hasher.digest()
          if (actual !== digest) {
            yield* removePartial
            return yield* new ReferenceError.DigestMismatch({ expected: digest, actual, subject: digest })
          }
          yield* Effect.scoped(Effect.flatMap(fs.open(partial, { flag: "r+" }), (file) => file.sync)).pipe(
            Effect.zipRight(fs.rename(partial, final)),
            Effect.mapError(io(digest))
          )
          return { digest, size, existed: false }
        }))
      })

    const writeManifest: Layout["writeManifest"] = (bytes, options) =>
      Effect.gen(function*() {
        if (options?.tag !== undefined) yield* checkTag(options.tag)
        if (bytes.length > MAX_MANIFEST_BYTES) {
          return yield* new LayoutError({
            reason: "TooLarge",
            path: root,
            detail: `manifest of ${bytes.length} bytes, the limit is ${MAX_MANIFEST_BYTES}`
          })
        }
        const manifest = yield* Manifest.decode(bytes, { contentType: options?.mediaType })
        yield* writeBlob({ digest: manifest.digest, size: bytes.length }, Stream.make(bytes))
        const artifactType = manifest.manifest.artifactType
        const descriptor: Descriptor.Descriptor = {
          mediaType: manifest.mediaType,
          digest: manifest.digest,
          size: bytes.length,
          ...(artifactType === undefined ? {} : { artifactType }),
          ...(options?.platform === undefined ? {} : { platform: options.platform }),
          ...(options?.annotations === undefined ? {} : { annotations: options.annotations })
        }
        if (options?.tag !== undefined) yield* tag(descriptor, options.tag)
        return descriptor
      })

    const verify = (options?: { readonly hash?: boolean }) =>
      Effect.gen(function*() {
        const hash = options?.hash ?? true
        const entries = yield* reader.entries
        const problems: Array<VerifyProblem> = []
        const seen = new Set<string>()
        let bytes = 0
        const problem = (p: VerifyProblem) => Effect.sync(() => problems.push(p))
        const visit = (
          descriptor: Descriptor.Descriptor,
          parent: string | undefined
        ): Effect.Effect<void, LayoutError> =>
          Effect.gen(function*() {
            if (seen.has(descriptor.digest)) return
            seen.add(descriptor.digest)
            const withParent = parent === undefined ? {} : { parent }
            const size = yield* reader.blobSize(descriptor.digest)
            if (Option.isNone(size)) {
              if (descriptor.urls !== undefined && descriptor.urls.length > 0) return
              return yield* problem({
                digest: descriptor.digest,
                kind: "Missing",
                detail: "blob is missing",
                ...withParent
              })
            }
            if (size.value !== descriptor.size) {
              return yield* problem({
                digest: descriptor.digest,
                kind: "SizeMismatch",
                detail: `descriptor says ${descriptor.size} bytes, the file has ${size.value}`,
                ...withParent
              })
            }
            if (MediaType.isManifest(descriptor.mediaType)) {
              const result = yield* Effect.either(reader.readManifest(descriptor))
              bytes += descriptor.size
              if (Either.isLeft(result)) {
                const e = result.left
                if (e._tag === "LayoutError" && e.reason !== "SizeMismatch" && e.reason !== "TooLarge") {
                  return yield* e
                }
                return yield* problem({
                  digest: descriptor.digest,
                  kind: e._tag === "DigestMismatch" ? "DigestMismatch" : "InvalidManifest",
                  detail: e.message,
                  ...withParent
                })
              }
              for (const child of Manifest.children(result.right)) yield* visit(child, descriptor.digest)
              return
            }
            if (!hash) return
            const actual = yield* Digest.fromStream(
              reader.readBlob(descriptor.digest),
              Digest.algorithm(descriptor.digest)
            )
            bytes += actual.size
            if (actual.digest !== descriptor.digest) {
              yield* problem({
                digest: descriptor.digest,
                kind: "DigestMismatch",
                detail: `content hashes to ${actual.digest}`,
                ...withParent
              })
            }
          })
        for (const entry of entries) yield* visit(entry, undefined)
        return { ok: problems.length === 0, checked: seen.size, bytes, problems }
      })

    const gc = (options?: { readonly dryRun?: boolean; readonly partials?: boolean }) =>
      withLock(`index:${root}`)(Effect.gen(function*() {
        const { manifests } = yield* readIndex
        const reachable = yield* collect(reader, manifests)
        const keep = new Set<string>([
          ...reachable.blobs.map((d) => d.digest),
          ...reachable.manifests.map((m) => m.descriptor.digest)
        ])
        const blobsDir = pathService.join(root, "blobs")
        const algorithms = yield* fs.readDirectory(blobsDir).pipe(
          Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "NotFound", () => Effect.succeed([])),
          Effect.mapError(io())
        )
        const removed: Array<Digest.Digest> = []
        let bytes = 0
        for (const algorithm of algorithms) {
          if (!Object.prototype.hasOwnProperty.call(Digest.hexLength, algorithm)) continue
          const names = yield* Effect.mapError(fs.readDirectory(pathService.join(blobsDir, algorithm)), io())
          for (const name of names) {
            const digest = `${algorithm}:${name}`
            if (!Digest.isDigest(digest) || keep.has(digest)) continue
            const file = blobPath(digest)
            const size = yield* statSize(file, digest)
            if (Option.isNone(size)) continue
            if (options?.dryRun !== true) yield* Effect.mapError(fs.remove(file, { force: true }), io(digest))
            removed.push(digest)
            bytes += size.value
          }
        }
        let partials = 0
        if (options?.partials === true) {
          const names = yield* fs.readDirectory(ingestDir).pipe(
            Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "NotFound", () => Effect.succeed([])),
            Effect.mapError(io())
          )
          for (const name of names) {
            if (options.dryRun !== true) {
              yield* Effect.mapError(fs.remove(pathService.join(ingestDir, name), { force: true }), io())
            }
            partials++
          }
        }
        return { removed, bytes, partials }
      }))

    return {
      ...reader,
      writeBlob,
      partialSize,
      discardPartial,
      writeManifest,
      tag,
      untag,
      addEntry,
      removeEntries,
      updateIndex,
      verify,
      gc
    }
  })

const ioAt = (root: string) => fromPlatformError(root)

const readLayoutFile = (root: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const file = pathService.join(root, "oci-layout")
    const notALayout = (detail: string) => new LayoutError({ reason: "NotALayout", path: root, detail })
    const bytes = yield* fs.readFile(file).pipe(
      Effect.mapError((e) =>
        e._tag === "SystemError" && e.reason === "NotFound" ? notALayout("oci-layout is missing") : ioAt(root)(e)
      )
    )
    if (bytes.length > 64 * 1024) return yield* notALayout("oci-layout is too large")
    let json: unknown
    try {
      json = JSON.parse(new TextDecoder().decode(bytes))
    } catch {
      return yield* notALayout("oci-layout is not JSON")
    }
    const version = typeof json === "object" && json !== null
      ? (json as { readonly imageLayoutVersion?: unknown }).imageLayoutVersion
      : undefined
    if (typeof version !== "string" || !version.startsWith("1.")) {
      return yield* notALayout(`unsupported imageLayoutVersion ${JSON.stringify(version)}`)
    }
  })

/**
 * Opens an existing layout directory (checks `oci-layout`; `index.json` is read on each use).
 *
 * @since 0.1.0
 * @category constructors
 */
export const open: (path: string) => Effect.Effect<Layout, LayoutError, FileSystem.FileSystem | Path.Path> = Effect
  .fn("Layout.open")(function*(path: string) {
    const pathService = yield* Path.Path
    const root = pathService.resolve(path)
    yield* readLayoutFile(root)
    const fs = yield* FileSystem.FileSystem
    const hasIndex = yield* Effect.mapError(fs.exists(pathService.join(root, "index.json")), ioAt(root))
    if (!hasIndex) return yield* new LayoutError({ reason: "NotALayout", path: root, detail: "index.json is missing" })
    return yield* make(root)
  })

/**
 * Creates a new, empty layout (the directory may exist but must not hold an `oci-layout` file).
 *
 * @since 0.1.0
 * @category constructors
 */
export const create: (path: string) => Effect.Effect<Layout, LayoutError, FileSystem.FileSystem | Path.Path> = Effect
  .fn("Layout.create")(function*(path: string) {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const root = pathService.resolve(path)
    const layoutFile = pathService.join(root, "oci-layout")
    if (yield* Effect.mapError(fs.exists(layoutFile), ioAt(root))) {
      return yield* new LayoutError({ reason: "NotALayout", path: root, detail: "a layout already exists here" })
    }
    yield* withLock(`index:${root}`)(
      Effect.gen(function*() {
        yield* fs.makeDirectory(pathService.join(root, "blobs", "sha256"), { recursive: true })
        const indexPath = pathService.join(root, "index.json")
        if (!(yield* fs.exists(indexPath))) {
          const temp = `${indexPath}.${tempSuffix()}`
          yield* fs.writeFile(temp, formatIndex([]), { flag: "wx" })
          yield* fs.rename(temp, indexPath)
        }
        const temp = `${layoutFile}.${tempSuffix()}`
        yield* fs.writeFile(temp, layoutFileBytes, { flag: "wx" })
        yield* fs.rename(temp, layoutFile)
      }).pipe(Effect.mapError(ioAt(root)))
    )
    return yield* make(root)
  })

/**
 * Opens the layout at `path`, creating it when there is no `oci-layout` file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const openOrCreate: (path: string) => Effect.Effect<Layout, LayoutError, FileSystem.FileSystem | Path.Path> =
  Effect.fn("Layout.openOrCreate")(function*(path: string) {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const root = pathService.resolve(path)
    const exists = yield* Effect.mapError(fs.exists(pathService.join(root, "oci-layout")), ioAt(root))
    return yield* exists ? open(root) : create(root).pipe(
      // another fiber or process may have created it in between
      Effect.catchIf((e) => e.reason === "NotALayout", () => open(root))
    )
  })

/**
 * Copies an image (a manifest or an index, and everything it references) from any `Reader` into a layout,
 * children before parents, skipping blobs the layout already has; with `tag`, tags it, else adds an
 * untagged `index.json` entry. Every blob is verified while it is written.
 *
 * @since 0.1.0
 * @category combinators
 */
export const copy: (
  from: Reader,
  to: Layout,
  descriptor: Descriptor.Descriptor,
  options?: { readonly tag?: string | undefined; readonly concurrency?: number | undefined }
) => Effect.Effect<void, LayoutError | ReferenceError.DigestMismatch | SpecError.InvalidManifest> = Effect.fn(
  "Layout.copy"
)(function*(from, to, descriptor, options) {
  const graph = yield* collect(from, [descriptor])
  yield* Effect.forEach(
    graph.blobs,
    (blob) =>
      Effect.gen(function*() {
        if (yield* to.hasBlob(blob.digest)) return
        const size = yield* from.blobSize(blob.digest)
        if (Option.isNone(size) && blob.urls !== undefined && blob.urls.length > 0) return
        yield* to.writeBlob(blob, from.readBlob(blob.digest))
      }),
    { concurrency: options?.concurrency ?? 3, discard: true }
  )
  for (const { descriptor: d, manifest } of graph.manifests) {
    yield* to.writeBlob({ digest: d.digest, size: d.size }, Stream.make(manifest.bytes))
  }
  if (options?.tag !== undefined) yield* to.tag(descriptor, options.tag)
  else yield* to.addEntry(descriptor)
})

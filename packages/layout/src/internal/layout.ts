/**
 * The layout directory store: index updates, manifests, and the constructors (`open`, `create`, lazy
 * `openOrCreate`).
 *
 * @since 0.2.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import type * as Digest from "@ocidist/reference/Digest"
import * as Hash from "@ocidist/reference/Hash"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import { ContentTooLarge } from "@ocidist/spec/SpecError"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { GcResult, Layout, PushManifestBytesOptions } from "../Layout.js"
import { FileSystemError, fromPlatformError, type LayoutError, type LayoutFailure, NotALayout } from "../LayoutError.js"
import { isNotFound, makeFiles, READ, tempSuffix } from "./files.js"
import { gc as collectGarbage } from "./gc.js"
import { formatIndex, layoutFileBytes, MAX_INDEX_BYTES, parseIndex } from "./indexJson.js"
import { makeLayoutLock } from "./lockFile.js"
import { withLock } from "./locks.js"
import { checkDigest, checkTag, makeReader, REF_NAME, refName } from "./reader.js"
import { verify as verifyLayout } from "./verify.js"
import { makeBlobWriter } from "./write.js"

const make = (options: {
  readonly root: string
  readonly name: string
  /** `index.json` must exist (`open`, `create`); else a missing one reads as empty (`openOrCreate`). */
  readonly strict: boolean
  /** Whether `oci-layout` exists. */
  readonly created: boolean
}): Effect.Effect<Layout, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const hash = yield* Hash.Hash
    const { name, root } = options
    const files = makeFiles({ root, name, fs, path, hash, created: options.created })

    const readIndex = Effect.gen(function*() {
      const size = yield* files.statSize(files.indexPath)
      if (Option.isNone(size)) {
        if (options.strict) {
          return yield* new NotALayout({ path: root, detail: "index.json is missing: an unfinished write?" })
        }
        return { manifests: [], raw: {}, exists: false }
      }
      const tooLarge = (actual: number) =>
        new ContentTooLarge({ subject: `index.json of ${name}`, limit: MAX_INDEX_BYTES, size: actual })
      // checked before reading, and the read is bounded too (the file may be replaced in between)
      if (size.value > MAX_INDEX_BYTES) return yield* tooLarge(size.value)
      const bytes = yield* files.readBounded(files.indexPath, MAX_INDEX_BYTES)
      if (Option.isNone(bytes)) return yield* tooLarge(MAX_INDEX_BYTES + 1)
      return { ...yield* parseIndex(root, bytes.value), exists: true }
    })
    const entries = Effect.map(readIndex, (index) => index.manifests)

    const lock = makeLayoutLock({ fs, root, join: path.join })

    const writeIndex = (next: ReadonlyArray<Descriptor.Descriptor>, raw: Record<string, unknown>) =>
      Effect.gen(function*() {
        const bytes = formatIndex(next, raw)
        // never write an index.json that could not be read again
        if (bytes.length > MAX_INDEX_BYTES) {
          return yield* new ContentTooLarge({
            subject: `the updated index.json of ${name}`,
            limit: MAX_INDEX_BYTES,
            size: bytes.length
          })
        }
        yield* files.ensureCreated
        yield* files.writeAtomically(files.indexPath, bytes)
      })

    const checkEntries = (next: ReadonlyArray<Descriptor.Descriptor>) =>
      Effect.forEach(next, (d) => checkDigest(root, d.digest), { discard: true })

    const updateIndex = <E>(
      f: (entries: ReadonlyArray<Descriptor.Descriptor>) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, E>
    ): Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, LayoutFailure | E> =>
      withLock(`index:${root}`)(Effect.gen(function*() {
        const locked = yield* lock.run(Effect.gen(function*() {
          const { exists, manifests, raw } = yield* readIndex
          const next = yield* f(manifests)
          yield* checkEntries(next)
          // index.json appears with the first entry, never empty before that
          if (!exists && next.length === 0) return next
          yield* writeIndex(next, raw)
          return next
        }))
        if (Option.isSome(locked)) return locked.value
        // No layout directory yet (`openOrCreate`), so no lock file: an update to nothing writes nothing,
        // anything else creates the layout, then writes under the lock (applying `f` again only if another
        // process wrote entries meanwhile).
        const first = yield* f([])
        yield* checkEntries(first)
        if (first.length === 0) return first
        yield* files.ensureCreated
        const written = yield* lock.run(Effect.gen(function*() {
          const { manifests, raw } = yield* readIndex
          const next = manifests.length === 0 ? first : yield* f(manifests)
          if (next !== first) yield* checkEntries(next)
          yield* writeIndex(next, raw)
          return next
        }))
        if (Option.isSome(written)) return written.value
        return yield* new FileSystemError({ path: root, detail: "the layout directory vanished while it was written" })
      }))

    const tag = (descriptor: Descriptor.Descriptor, tagName: string) =>
      Effect.gen(function*() {
        yield* checkTag(root, tagName)
        yield* checkDigest(root, descriptor.digest)
        const entry: Descriptor.Descriptor = {
          ...descriptor,
          annotations: { ...descriptor.annotations, [REF_NAME]: tagName }
        }
        yield* updateIndex((current) => {
          const at = current.findIndex((d) => refName(d) === tagName)
          if (at === -1) return Effect.succeed([...current, entry])
          return Effect.succeed([
            ...current.slice(0, at),
            entry,
            ...current.slice(at + 1).filter((d) => refName(d) !== tagName)
          ])
        })
      })

    const untag = (tagName: string) =>
      Effect.gen(function*() {
        let removed = false
        yield* updateIndex((current) => {
          const next = current.filter((d) => refName(d) !== tagName)
          removed = next.length !== current.length
          return Effect.succeed(next)
        })
        return removed
      })

    const addEntry = (descriptor: Descriptor.Descriptor) =>
      Effect.asVoid(updateIndex((current) =>
        Effect.succeed(
          current.some((d) => d.digest === descriptor.digest && refName(d) === undefined)
            ? current
            : [...current, descriptor]
        )
      ))

    const removeEntries = (digest: Digest.Digest) =>
      Effect.gen(function*() {
        let removed = 0
        yield* updateIndex((current) => {
          const next = current.filter((d) => d.digest !== digest)
          removed = current.length - next.length
          return Effect.succeed(next)
        })
        return removed
      })

    const removeBlob = (digest: Digest.Digest) =>
      Effect.gen(function*() {
        yield* checkDigest(root, digest)
        return yield* files.fs.remove(files.blobPath(digest)).pipe(
          Effect.as(true),
          Effect.catchIf(isNotFound, () => Effect.succeed(false)),
          Effect.mapError(files.io(digest))
        )
      })

    const reader = makeReader({
      name,
      path: root,
      entries,
      blobSize: (digest) => files.statSize(files.blobPath(digest), digest),
      readBlob: (digest, offset) =>
        Stream.mapError(fs.stream(files.blobPath(digest), { ...READ, offset }), files.io(digest))
    })
    const writer = makeBlobWriter(files)

    const checkManifestSize = (size: number) =>
      size > Manifest.MAX_BYTES
        ? Effect.fail(new ContentTooLarge({ subject: `a manifest for ${name}`, limit: Manifest.MAX_BYTES, size }))
        : Effect.void

    const storeManifest = (
      manifest: Manifest.Manifest,
      descriptor: Descriptor.Descriptor,
      tags: ReadonlyArray<string>,
      asRoot: boolean
    ) =>
      Effect.gen(function*() {
        for (const t of tags) yield* checkTag(root, t)
        yield* checkManifestSize(manifest.bytes.length)
        yield* writer.pushBlob(descriptor, Storage.fromBytes(manifest.bytes))
        if (tags.length > 0) {
          for (const t of tags) yield* tag(descriptor, t)
        } else if (asRoot) {
          yield* addEntry(descriptor)
        }
        return descriptor
      })

    /** The `index.json` entry of a manifest (its own annotations stay in the manifest). */
    const entryOf = (manifest: Manifest.Manifest, extra?: Partial<Descriptor.Descriptor>): Descriptor.Descriptor => {
      const artifactType = manifest.manifest.artifactType
      return {
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.bytes.length,
        ...(artifactType === undefined ? {} : { artifactType }),
        ...extra
      }
    }

    const pushManifest = (manifest: Manifest.Manifest, pushOptions?: Storage.PushManifestOptions) =>
      storeManifest(manifest, entryOf(manifest), pushOptions?.tags ?? [], pushOptions?.root === true)

    const pushManifestBytes = (bytes: Uint8Array, pushOptions?: PushManifestBytesOptions) =>
      Effect.gen(function*() {
        if (pushOptions?.tag !== undefined) yield* checkTag(root, pushOptions.tag)
        yield* checkManifestSize(bytes.length)
        const manifest = yield* Manifest.decode(bytes, { contentType: pushOptions?.mediaType })
        const descriptor = entryOf(manifest, {
          ...(pushOptions?.platform === undefined ? {} : { platform: pushOptions.platform }),
          ...(pushOptions?.annotations === undefined ? {} : { annotations: pushOptions.annotations })
        })
        return yield* storeManifest(
          manifest,
          descriptor,
          pushOptions?.tag === undefined ? [] : [pushOptions.tag],
          pushOptions?.root === true
        )
      })

    const layout: Layout = {
      ...reader,
      pushBlob: writer.pushBlob,
      pushManifest,
      pushManifestBytes,
      tag,
      untag,
      addEntry,
      removeEntries,
      removeBlob,
      updateIndex,
      verify: (verifyOptions) => verifyLayout(reader, entries, hash, verifyOptions),
      gc: (gcOptions) =>
        withLock(`index:${root}`)(
          lock.run(Effect.flatMap(readIndex, (index) => collectGarbage(files, reader, index.manifests, gcOptions)))
        ).pipe(Effect.map(Option.getOrElse((): GcResult => ({ removed: [], bytes: 0, partials: 0, recent: 0 })))),
      partialSize: writer.partialSize,
      discardPartial: writer.discardPartial
    }
    return layout satisfies Storage.Storage<LayoutFailure>
  })

const readLayoutFile = (root: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(root, "oci-layout")
    const notALayout = (detail: string) => new NotALayout({ path: root, detail })
    const bytes = yield* fs.readFile(file).pipe(
      Effect.mapError((e) =>
        e._tag === "SystemError" && e.reason === "NotFound"
          ? notALayout("oci-layout is missing")
          : fromPlatformError(root)(e)
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

/** @internal */
export const open: (path: string) => Effect.Effect<Layout, LayoutError, FileSystem.FileSystem | Path.Path> = Effect
  .fn("Layout.open")(function*(path: string) {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const root = pathService.resolve(path)
    yield* readLayoutFile(root)
    const hasIndex = yield* Effect.mapError(fs.exists(pathService.join(root, "index.json")), fromPlatformError(root))
    if (!hasIndex) {
      return yield* new NotALayout({ path: root, detail: "index.json is missing: an unfinished write?" })
    }
    return yield* make({ root, name: `oci:${path}`, strict: true, created: true })
  })

/** @internal */
export const create: (path: string) => Effect.Effect<Layout, LayoutError, FileSystem.FileSystem | Path.Path> = Effect
  .fn("Layout.create")(function*(path: string) {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const root = pathService.resolve(path)
    const io = fromPlatformError(root)
    const layoutFile = pathService.join(root, "oci-layout")
    if (yield* Effect.mapError(fs.exists(layoutFile), io)) {
      return yield* new NotALayout({ path: root, detail: "a layout already exists here" })
    }
    yield* withLock(`index:${root}`)(
      Effect.gen(function*() {
        yield* Effect.mapError(fs.makeDirectory(pathService.join(root, "blobs", "sha256"), { recursive: true }), io)
        const done = yield* makeLayoutLock({ fs, root, join: pathService.join }).run(
          Effect.gen(function*() {
            const indexPath = pathService.join(root, "index.json")
            if (!(yield* fs.exists(indexPath))) {
              const temp = `${indexPath}.${yield* tempSuffix}`
              yield* fs.writeFile(temp, formatIndex([]), { flag: "wx" })
              yield* fs.rename(temp, indexPath)
            }
            const temp = `${layoutFile}.${yield* tempSuffix}`
            yield* fs.writeFile(temp, layoutFileBytes, { flag: "wx" })
            yield* fs.rename(temp, layoutFile)
          }).pipe(Effect.mapError(io))
        )
        if (Option.isNone(done)) {
          return yield* new FileSystemError({
            path: root,
            detail: "the layout directory vanished while it was created"
          })
        }
      })
    )
    return yield* make({ root, name: `oci:${path}`, strict: true, created: true })
  })

/** @internal */
export const openOrCreate: (path: string) => Effect.Effect<Layout, LayoutError, FileSystem.FileSystem | Path.Path> =
  Effect.fn("Layout.openOrCreate")(function*(path: string) {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const root = pathService.resolve(path)
    const exists = yield* Effect.mapError(fs.exists(pathService.join(root, "oci-layout")), fromPlatformError(root))
    if (exists) yield* readLayoutFile(root)
    return yield* make({ root, name: `oci:${path}`, strict: false, created: exists })
  })

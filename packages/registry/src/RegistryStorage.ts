/**
 * Where an embedded registry keeps its content: one content store of `@ocidist/spec` per repository, plus
 * the few operations a registry needs beyond the `Storage` interface (deletes, sizes, the repository list)
 * and a place for upload sessions. Two are built in:
 *
 * - {@link memory}: everything in memory (tests, short-lived registries);
 * - {@link directory}: a directory holding one OCI image layout per repository (`DIR/library/alpine/` is the
 *   layout of repository `library/alpine`), content-addressed with atomic writes, so it survives restarts
 *   and a layout written by `ocidist pull oci:DIR/NAME` is served as repository `NAME` as it is. Upload
 *   sessions are spooled to files in `DIR/.uploads/` and moved into place when complete.
 *
 * @since 0.4.0
 */
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Layout from "@ocidist/layout/Layout"
import { fromPlatformError, type LayoutFailure } from "@ocidist/layout/LayoutError"
import * as Digest from "@ocidist/reference/Digest"
import type { Descriptor } from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as MemoryStore from "@ocidist/spec/MemoryStore"
import type * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/**
 * One repository of the registry: a content store and the registry's extra operations on it.
 *
 * @since 0.4.0
 * @category models
 */
export interface RepositoryStore<E> {
  /** Blobs and manifests are pushed and read through this store. */
  readonly store: Storage.Storage<E>
  /** The size of a stored blob (or of a manifest's bytes), if stored. */
  readonly blobSize: (digest: Digest.Digest) => Effect.Effect<Option.Option<number>, E>
  /** A stored manifest by digest, decoded; `None` when absent or when the content is not a manifest. */
  readonly manifest: (digest: Digest.Digest) => Effect.Effect<Option.Option<Manifest.Manifest>, E>
  /** The descriptor a tag points at. */
  readonly resolveTag: (tag: string) => Effect.Effect<Option.Option<Descriptor>, E>
  /** Every tag (any order). */
  readonly tags: Effect.Effect<ReadonlyArray<string>, E>
  /** Removes a tag; true when there was one. */
  readonly untag: (tag: string) => Effect.Effect<boolean, E>
  /** Removes a manifest and the tags pointing at it; true when it was there. */
  readonly deleteManifest: (digest: Digest.Digest) => Effect.Effect<boolean, E>
  /** Removes a blob; true when it was there. */
  readonly deleteBlob: (digest: Digest.Digest) => Effect.Effect<boolean, E>
  /** The manifests whose `subject` is `subject`, as the referrers API lists them. */
  readonly referrers: (subject: Digest.Digest) => Effect.Effect<ReadonlyArray<Descriptor>, E>
  /** Optional: the file holding a stored blob, which a platform can stream itself. */
  readonly blobPath?: ((digest: Digest.Digest) => string) | undefined
}

/**
 * A place for the bytes of unfinished uploads (chunked `PATCH`es), keyed by session id.
 *
 * @since 0.4.0
 * @category models
 */
export interface UploadSpool<E> {
  /**
   * Writes a stream to a session's bytes from `offset` on (creating them; anything stored past `offset`, as
   * a chunk cut off mid-write leaves, is dropped first). `written` is called after each buffer is stored, so
   * a caller counting and hashing there stays consistent with what is stored whenever the stream fails or is
   * interrupted.
   */
  readonly append: <E2>(
    id: string,
    offset: number,
    bytes: Stream.Stream<Uint8Array, E2>,
    written: (chunk: Uint8Array) => void
  ) => Effect.Effect<void, E | E2>
  /** A session's bytes so far. */
  readonly read: (id: string) => Stream.Stream<Uint8Array, E>
  /** Forgets a session's bytes. */
  readonly remove: (id: string) => Effect.Effect<void, E>
  /**
   * Optional fast path: makes the session's bytes blob `digest` of `repository` without copying them
   * (a rename). `false` when the store cannot; the registry then pushes the bytes through the store.
   */
  readonly adopt?: ((id: string, repository: string, digest: Digest.Digest) => Effect.Effect<boolean, E>) | undefined
}

/**
 * The content of a registry.
 *
 * @since 0.4.0
 * @category models
 */
export interface RegistryStorage<E> {
  /** For logs and the CLI: `memory` or the directory. */
  readonly description: string
  /**
   * The store of a repository (a valid name). With `create`, the store is kept for writes (a directory's
   * layout is still only created by its first write); without, a repository that does not exist reads as
   * empty and nothing is kept for it.
   */
  readonly repository: (
    name: string,
    options?: { readonly create?: boolean | undefined }
  ) => Effect.Effect<RepositoryStore<E>, E>
  /** Whether a repository holds anything. */
  readonly hasRepository: (name: string) => Effect.Effect<boolean, E>
  /** Every repository that holds something (any order). */
  readonly repositories: Effect.Effect<ReadonlyArray<string>, E>
  /** Where upload sessions keep their bytes. */
  readonly uploads: UploadSpool<E>
  /**
   * Optional: why a repository name (valid by the spec's grammar) cannot be stored here, if it cannot; the
   * registry answers 400 `NAME_INVALID` with it.
   */
  readonly refuseName?: ((name: string) => string | undefined) | undefined
  /**
   * Optional fast mount: makes blob `digest` of repository `from` a blob of `to` without copying it (a hard
   * link). `false` when it cannot; the registry then copies the bytes through the stores.
   */
  readonly linkBlob?: ((from: string, to: string, digest: Digest.Digest) => Effect.Effect<boolean, E>) | undefined
}

const subjectOf = (manifest: Manifest.Manifest) => Manifest.subject(manifest)?.digest

const decodeStored = (bytes: Uint8Array, digest: Digest.Digest) => Either.getRight(Manifest.decode(bytes, { digest }))

/**
 * A registry in memory: one `MemoryStore` per repository, upload sessions as chunks in memory.
 *
 * @since 0.4.0
 * @category constructors
 */
export const memory = (): Effect.Effect<RegistryStorage<MemoryStore.MemoryStoreError>> =>
  Effect.sync(() => {
    const repositories = new Map<string, MemoryStore.MemoryStore>()
    const sessions = new Map<string, Array<Uint8Array>>()

    const repositoryStore = (store: MemoryStore.MemoryStore): RepositoryStore<MemoryStore.MemoryStoreError> => {
      const manifest = (digest: Digest.Digest) =>
        Effect.gen(function*() {
          const size = yield* store.sizeOf(digest)
          if (size === undefined) return Option.none()
          const exists = yield* store.exists({ mediaType: MediaType.OCI_MANIFEST, digest, size })
          if (!exists) return Option.none()
          const bytes = yield* Stream.runCollect(store.fetchBlob({ mediaType: MediaType.OCI_MANIFEST, digest, size }))
          const joined = concat([...bytes])
          return decodeStored(joined, digest)
        })
      return {
        store,
        blobSize: (digest) => Effect.map(store.sizeOf(digest), Option.fromNullable),
        manifest,
        resolveTag: (tag) => Effect.map(store.tagged, (tags) => Option.fromNullable(tags.get(tag))),
        tags: store.tags,
        untag: store.untag,
        deleteManifest: (digest) =>
          Effect.flatMap(manifest(digest), (m) => Option.isNone(m) ? Effect.succeed(false) : store.remove(digest)),
        deleteBlob: store.remove,
        referrers: (subject) => store.referrers({ mediaType: MediaType.OCI_MANIFEST, digest: subject, size: 0 })
      }
    }

    return {
      description: "memory",
      repository: (name, options) =>
        Effect.gen(function*() {
          const existing = repositories.get(name)
          if (existing !== undefined) return repositoryStore(existing)
          const store = yield* MemoryStore.make({ name })
          if (options?.create === true) repositories.set(name, store)
          return repositoryStore(store)
        }),
      hasRepository: (name) =>
        Effect.suspend(() => {
          const store = repositories.get(name)
          return store === undefined ? Effect.succeed(false) : Effect.map(store.digests, (d) => d.length > 0)
        }),
      repositories: Effect.suspend(() =>
        Effect.map(
          Effect.forEach([...repositories], ([name, store]) =>
            Effect.map(store.digests, (d) => [name, d.length] as const)),
          (all) =>
            all.filter(([, n]) => n > 0).map(([name]) => name)
        )
      ),
      uploads: {
        append: (id, offset, bytes, written) =>
          Effect.suspend(() => {
            const chunks = truncate(sessions.get(id) ?? [], offset)
            sessions.set(id, chunks)
            return Stream.runForEach(bytes, (chunk) =>
              Effect.sync(() => {
                chunks.push(chunk)
                written(chunk)
              }))
          }),
        read: (id) => Stream.suspend(() => Stream.fromIterable(sessions.get(id) ?? [])),
        remove: (id) =>
          Effect.sync(() => {
            sessions.delete(id)
          })
      }
    }
  })

/** The first `length` bytes of a list of chunks. */
const truncate = (chunks: ReadonlyArray<Uint8Array>, length: number): Array<Uint8Array> => {
  const kept: Array<Uint8Array> = []
  let left = length
  for (const chunk of chunks) {
    if (left <= 0) break
    kept.push(chunk.length <= left ? chunk : chunk.subarray(0, left))
    left -= chunk.length
  }
  return kept
}

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

/**
 * What a directory registry fails with: the layouts' errors and file-system errors of upload sessions.
 *
 * @since 0.4.0
 * @category errors
 */
export type DirectoryError = LayoutFailure

const UPLOADS = ".uploads"
/** Names of an OCI layout's own files and directories: never a repository path component. */
const RESERVED: ReadonlySet<string> = new Set(["blobs", "ingest", "oci-layout", "index.json"])
/** A path component of a repository name (the spec's grammar). */
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/
const READ = { chunkSize: 1024 * 1024 } as const

/**
 * A registry in a directory: one OCI image layout per repository (`DIR/<name>/`), created on first write;
 * upload sessions in `DIR/.uploads/`. Existing layouts under `DIR` are served as they are.
 *
 * @since 0.4.0
 * @category constructors
 */
export const directory = (
  dir: string
): Effect.Effect<RegistryStorage<DirectoryError>, DirectoryError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = path.resolve(dir)
    const io = fromPlatformError(root)
    const uploadsDir = path.join(root, UPLOADS)
    yield* Effect.mapError(fs.makeDirectory(uploadsDir, { recursive: true }), io)
    // sessions do not survive a restart: their state is in memory
    for (const entry of yield* Effect.mapError(fs.readDirectory(uploadsDir), io)) {
      yield* Effect.ignore(fs.remove(path.join(uploadsDir, entry)))
    }
    const provide = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | Path.Path>) =>
      Effect.provideService(Effect.provideService(effect, FileSystem.FileSystem, fs), Path.Path, path)
    // layouts kept for writes; reads of repositories that do not exist keep nothing
    const layouts = new Map<string, Layout.Layout>()
    const layoutOf = (name: string, create = true) =>
      Effect.suspend(() => {
        const existing = layouts.get(name)
        if (existing !== undefined) return Effect.succeed(existing)
        return Effect.map(provide(Layout.openOrCreate(path.join(root, ...name.split("/")))), (layout) => {
          if (create) layouts.set(name, layout)
          return layout
        })
      })

    const blobFile = (layout: Layout.Layout, digest: Digest.Digest) =>
      path.join(layout.path, "blobs", Digest.algorithm(digest), Digest.hex(digest))

    const repositoryStore = (layout: Layout.Layout): RepositoryStore<DirectoryError> => {
      const manifest = (digest: Digest.Digest) =>
        Effect.gen(function*() {
          const size = yield* layout.blobSize(digest)
          if (Option.isNone(size) || size.value > Manifest.MAX_BYTES) return Option.none()
          const entry = (yield* layout.entries).find((d) => d.digest === digest)
          return yield* layout.fetchManifest({
            mediaType: entry?.mediaType ?? MediaType.OCI_MANIFEST,
            digest,
            size: size.value
          }).pipe(
            Effect.map(Option.some),
            Effect.catchTag("InvalidManifest", () => Effect.succeed(Option.none()))
          )
        })
      return {
        store: layout,
        blobSize: layout.blobSize,
        manifest,
        resolveTag: (tag) =>
          Effect.map(
            layout.entries,
            (entries) =>
              Option.fromNullable(entries.find((d) => d.annotations?.["org.opencontainers.image.ref.name"] === tag))
          ),
        tags: layout.tags,
        untag: layout.untag,
        deleteManifest: (digest) =>
          Effect.gen(function*() {
            const found = yield* manifest(digest)
            if (Option.isNone(found)) return false
            yield* layout.removeEntries(digest)
            yield* layout.removeBlob(digest)
            return true
          }),
        deleteBlob: layout.removeBlob,
        blobPath: (digest) => blobFile(layout, digest),
        referrers: (subject) =>
          Effect.gen(function*() {
            const found: Array<Descriptor> = []
            for (const entry of yield* layout.entries) {
              if (!MediaType.isManifest(entry.mediaType)) continue
              const m = yield* manifest(entry.digest)
              if (Option.isSome(m) && subjectOf(m.value) === subject && !found.some((d) => d.digest === entry.digest)) {
                found.push(Manifest.descriptorOf(m.value))
              }
            }
            return found
          })
      }
    }

    const isLayout = (dirPath: string) => Effect.mapError(fs.exists(path.join(dirPath, "oci-layout")), io)

    const notFound = (e: PlatformError.PlatformError) => e._tag === "SystemError" && e.reason === "NotFound"

    /** Repositories under a directory; the depth bound stops symbolic-link loops. */
    const walk = (
      dirPath: string,
      prefix: string,
      depth: number
    ): Effect.Effect<ReadonlyArray<string>, DirectoryError> =>
      Effect.gen(function*() {
        if (depth > 32) return []
        const names = yield* fs.readDirectory(dirPath).pipe(
          Effect.catchIf(notFound, () => Effect.succeed([] as Array<string>)),
          Effect.mapError(io)
        )
        const found: Array<string> = []
        for (const entry of names.sort()) {
          if (!COMPONENT.test(entry) || RESERVED.has(entry)) continue
          const child = path.join(dirPath, entry)
          const info = yield* fs.stat(child).pipe(
            Effect.map(Option.some),
            Effect.catchIf(notFound, () => Effect.succeed(Option.none())),
            Effect.mapError(io)
          )
          if (Option.isNone(info) || info.value.type !== "Directory") continue
          const name = prefix === "" ? entry : `${prefix}/${entry}`
          if (yield* isLayout(child)) found.push(name)
          found.push(...(yield* walk(child, name, depth + 1)))
        }
        return found
      })

    const sessionPath = (id: string) => path.join(uploadsDir, id)

    const uploads: UploadSpool<DirectoryError> = {
      append: (id, offset, bytes, written) =>
        Effect.scoped(Effect.gen(function*() {
          const file = yield* Effect.mapError(fs.open(sessionPath(id), { flag: offset === 0 ? "w" : "r+" }), io)
          // what a write cut off mid-chunk left past `offset` goes
          yield* Effect.mapError(file.truncate(FileSystem.Size(offset)), io)
          yield* Effect.mapError(file.seek(FileSystem.Size(offset), "start"), io)
          yield* Stream.runForEach(bytes, (chunk) =>
            Effect.mapError(
              Effect.tap(file.writeAll(chunk), () => written(chunk)),
              io
            ))
        })),
      read: (id) => Stream.mapError(fs.stream(sessionPath(id), READ), io),
      remove: (id) => Effect.ignore(fs.remove(sessionPath(id))),
      adopt: (id, repository, digest) =>
        Effect.gen(function*() {
          const layout = yield* layoutOf(repository)
          if (Option.isSome(yield* layout.blobSize(digest))) {
            yield* Effect.ignore(fs.remove(sessionPath(id)))
            return true
          }
          const target = yield* prepareBlobFile(layout, digest)
          yield* Effect.mapError(fs.rename(sessionPath(id), target), io)
          return true
        })
    }

    /** Where a blob goes in a layout, with the layout created (oci-layout, blobs/, an empty index) if new. */
    const prepareBlobFile = (layout: Layout.Layout, digest: Digest.Digest) =>
      Effect.gen(function*() {
        if (!(yield* isLayout(layout.path))) {
          yield* provide(Layout.create(layout.path)).pipe(Effect.catchTag("NotALayout", () => Effect.void))
        }
        const target = blobFile(layout, digest)
        yield* Effect.mapError(fs.makeDirectory(path.dirname(target), { recursive: true }), io)
        return target
      })

    const linkBlob = (from: string, to: string, digest: Digest.Digest) =>
      Effect.gen(function*() {
        const source = yield* layoutOf(from)
        if (Option.isNone(yield* source.blobSize(digest))) return false
        const target = yield* prepareBlobFile(yield* layoutOf(to), digest)
        // a hard link shares the verified file; another file system or a link that exists falls back to a copy
        return yield* fs.link(blobFile(source, digest), target).pipe(
          Effect.as(true),
          Effect.orElseSucceed(() => false)
        )
      })

    return {
      description: root,
      linkBlob,
      // a repository inside another's layout files would mix the two
      refuseName: (name) =>
        name.split("/").some((part) => RESERVED.has(part))
          ? `a path component is one of ${[...RESERVED].join(", ")}, which OCI layouts use for their own files`
          : undefined,
      repository: (name, options) => Effect.map(layoutOf(name, options?.create === true), repositoryStore),
      hasRepository: (name) => isLayout(path.join(root, ...name.split("/"))),
      repositories: walk(root, "", 0),
      uploads
    }
  })

/**
 * OCI image layout directories (image-spec `image-layout.md`): `oci-layout`, `index.json`,
 * `blobs/<alg>/<hex>`, tags as `org.opencontainers.image.ref.name` annotations on `index.json` entries.
 *
 * A layout is a content store: it implements `Storage` of `@ocidist/spec` (read with `resolve`,
 * `fetchManifest`, `fetchBlob`, `exists`; write with `pushBlob`, `pushManifest`, `tag`), so the copy engine
 * of the `ocidist` facade, or any code written against those interfaces, copies into and out of it. The
 * archives (`OciArchive.open`, `DockerArchive.open`) give a {@link Reader}, the read side.
 *
 * Writes are content-addressed and transactional: a blob is streamed into `ingest/<alg>-<hex>.partial`
 * inside the layout, hashed while it is written, synced, and renamed to `blobs/<alg>/<hex>` only when its
 * size and digest match. An interrupted write resumes: the next `pushBlob` of the same blob re-hashes the
 * partial file and asks the content for the rest only. `index.json` is replaced atomically (temporary file
 * + rename) and its updates are serialized per layout directory, within the process and across processes (a
 * lock file, `index.json.lock`, with stale-lock detection). Digests are validated before they become paths.
 *
 * `openOrCreate` creates nothing until the first write, and `index.json` only with the first entry: a copy
 * that fails before content moved leaves no trace, one that fails later leaves blobs and resumable partials
 * but nothing that looks like a finished image.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Digest from "@ocidist/reference/Digest"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Manifest from "@ocidist/spec/Manifest"
import type * as Platform from "@ocidist/spec/Platform"
import type { ContentTooLarge } from "@ocidist/spec/SpecError"
import type * as Storage from "@ocidist/spec/Storage"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/layout.js"
import type { LayoutError, LayoutFailure } from "./LayoutError.js"

/**
 * The read side of a local content store: a layout directory, an `oci-archive` or a `docker-archive`. A
 * `ReadOnlyStorage` of `@ocidist/spec` with the `tags` and `referrers` capabilities, plus the store's
 * entries, its path and blob sizes.
 *
 * - `name`: the location as a user writes it: `oci:<path>`, `oci-archive:<path>`, `docker-archive:<path>`.
 * - `resolve(reference)`: an index entry by `org.opencontainers.image.ref.name`, by digest (also a manifest
 *   blob that is not in the index), by position (`"@0"`), or, with `""`, the only entry. Fails
 *   `ImageNotFound` or `AmbiguousReference`.
 * - `fetchManifest(descriptor)`: read into memory (at most 4 MiB), size and digest checked, decoded.
 * - `fetchBlob(descriptor, { offset })`: the file (range) as stored, not verified (`verifiesBlobs` is false);
 *   fails `BlobNotFound`.
 * - `exists(descriptor)`: whether the blob is stored with the descriptor's size.
 * - `tags`: the `org.opencontainers.image.ref.name`s of the index entries, in index order.
 * - `referrers(subject)`: the index entries whose manifest's `subject` is `subject` (descriptors carry the
 *   manifest's `artifactType` and annotations, as the referrers API reports them).
 *
 * @since 0.1.0
 * @category models
 */
export interface Reader extends Storage.ReadOnlyStorage<LayoutFailure> {
  /** The layout directory or archive file (absolute). */
  readonly path: string
  /** The entries of `index.json` (for a docker-archive: one synthesized entry per `RepoTags` item). */
  readonly entries: Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, LayoutFailure>
  /** The size of a stored blob, if it is stored. */
  readonly blobSize: (digest: Digest.Digest) => Effect.Effect<Option.Option<number>, LayoutError>
  readonly fetchBlob: (
    descriptor: Descriptor.Descriptor,
    options?: Storage.FetchOptions
  ) => Stream.Stream<Uint8Array, LayoutError>
  readonly exists: (descriptor: Descriptor.Descriptor) => Effect.Effect<boolean, LayoutError>
  readonly tags: Effect.Effect<ReadonlyArray<string>, LayoutFailure>
  readonly referrers: (
    subject: Descriptor.Descriptor,
    options?: Storage.ReferrersOptions
  ) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, LayoutFailure>
}

/**
 * What `pushBlob` did: `existed` is true when the blob was already there (the content was not read).
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
  /**
   * Unreachable blobs (and, with `partials: true`, files of `ingest/`) kept because they were modified within
   * the grace period.
   *
   * @since 0.4.0
   */
  readonly recent: number
}

/**
 * Options of `gc`.
 *
 * @since 0.4.0
 * @category models
 */
export interface GcOptions {
  /** Report what would be removed, remove nothing. */
  readonly dryRun?: boolean | undefined
  /** Also clear `ingest/` (partial files of interrupted writes). */
  readonly partials?: boolean | undefined
  /**
   * Unreachable blobs and partial files modified within this period are kept (default 10 minutes): another
   * process may be writing an image whose `index.json` entry does not exist yet. `0` collects everything
   * unreachable.
   */
  readonly gracePeriod?: Duration.DurationInput | undefined
}

/**
 * Options of `pushManifestBytes`.
 *
 * @since 0.2.0
 * @category models
 */
export interface PushManifestBytesOptions {
  /** The media type; else the one in the body. */
  readonly mediaType?: string | undefined
  /** Point this tag at the manifest. */
  readonly tag?: string | undefined
  /** Without a tag: add an untagged `index.json` entry (once per digest). */
  readonly root?: boolean | undefined
  /** Recorded on the `index.json` entry. */
  readonly platform?: Platform.Platform | undefined
  /** Recorded on the `index.json` entry (with the tag's `ref.name`). */
  readonly annotations?: Readonly<Record<string, string>> | undefined
}

/**
 * An OCI image layout directory: a `Storage` of `@ocidist/spec` (assignable to
 * `Storage.Storage<LayoutFailure>`), plus index and maintenance operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface Layout extends Reader {
  /**
   * Streams a blob into the layout. Skips (without reading `content`) when the blob is stored with
   * `expected.size`. Otherwise, when `ingest/` holds a partial file of an interrupted write shorter than
   * `expected.size`, the partial is re-hashed and only `content.open(partialSize)` is read; if the whole then
   * does not match `expected` (a wrong prefix), the partial is discarded and the write starts over once from
   * `content.open(0)`. A partial that is not shorter than `expected.size` is discarded.
   *
   * Fails with `DigestMismatch` or `SizeMismatch` (the partial file is removed) or with the content's error;
   * when the content fails or the fiber is interrupted, the partial file stays for the next `pushBlob`.
   * `content.verified` (the content itself fails unless its bytes match, as registry downloads do) makes a
   * fresh write count bytes without hashing them a second time; the file is still only renamed into place
   * once the content has completed. Concurrent pushes of the same blob are serialized, within the process and
   * across processes (the lock file `ingest/<alg>-<hex>.lock`, waited for as long as its holder lives): one
   * writes, the others find it. Nothing is created on disk before the content's first byte (in a layout not
   * created yet, the lock is taken then). A blob found already stored gets its modification time refreshed, so
   * `gc`'s grace period covers it until it is tagged.
   */
  readonly pushBlob: <E2>(
    expected: Descriptor.Descriptor,
    content: Storage.BlobContent<E2>
  ) => Effect.Effect<WriteResult, LayoutFailure | E2>
  /**
   * Stores a manifest (its bytes, digest-checked) and, with `tags`, points them at it (`index.json`
   * entries); without tags but with `root: true`, adds an untagged entry (once per digest); otherwise only
   * stores the blob (a child of an index). Returns the descriptor of the entry.
   */
  readonly pushManifest: (
    manifest: Manifest.Manifest,
    options?: Storage.PushManifestOptions
  ) => Effect.Effect<Descriptor.Descriptor, LayoutFailure>
  /**
   * Validates manifest bytes (media type from `mediaType`, else from the body), stores them as a blob and,
   * with `tag` (or `root`), adds an `index.json` entry with `platform` and `annotations`. Returns the
   * entry's descriptor.
   */
  readonly pushManifestBytes: (
    bytes: Uint8Array,
    options?: PushManifestBytesOptions
  ) => Effect.Effect<Descriptor.Descriptor, LayoutFailure>
  /** Adds or replaces the `index.json` entry tagged `tag` (atomically). */
  readonly tag: (descriptor: Descriptor.Descriptor, tag: string) => Effect.Effect<void, LayoutFailure>
  /** Removes the entries tagged `tag`; true when there was one. */
  readonly untag: (tag: string) => Effect.Effect<boolean, LayoutFailure>
  /** Adds an untagged `index.json` entry (once per digest). */
  readonly addEntry: (descriptor: Descriptor.Descriptor) => Effect.Effect<void, LayoutFailure>
  /** Removes all `index.json` entries of a digest (tagged or not); returns how many. */
  readonly removeEntries: (digest: Digest.Digest) => Effect.Effect<number, LayoutFailure>
  /**
   * Deletes a blob file (a layer, a config or a manifest's bytes), whatever references it; true when it was
   * there. `index.json` is not changed: remove the entries of a manifest first (`removeEntries`).
   *
   * @since 0.4.0
   */
  readonly removeBlob: (digest: Digest.Digest) => Effect.Effect<boolean, LayoutError>
  /**
   * Atomic read-modify-write of the `index.json` entries, serialized with every other index update of this
   * process and, through the lock file `index.json.lock`, of other processes. An update that leaves a layout
   * without `index.json` empty writes nothing. On a layout not created yet (`openOrCreate`), `f` runs on no
   * entries first, and once more if another process wrote entries while the layout was created. An
   * `index.json` that would exceed 16 MiB is not written (`ContentTooLarge`).
   */
  readonly updateIndex: <E = never>(
    f: (entries: ReadonlyArray<Descriptor.Descriptor>) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, E>
  ) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, LayoutFailure | E>
  /**
   * Checks everything reachable from `index.json`: every blob present with the size of its descriptor and
   * (unless `hash: false`) the right digest, every manifest decodable. Blobs with `urls` may be absent.
   */
  readonly verify: (
    options?: { readonly hash?: boolean }
  ) => Effect.Effect<VerifyReport, LayoutError | ContentTooLarge>
  /**
   * Removes blobs not reachable from `index.json` (entries → manifests → configs, layers, child manifests;
   * referrers are kept only if they are in `index.json`). Fails, removing nothing, when a reachable
   * manifest is missing or invalid. `partials: true` also clears `ingest/`.
   *
   * Safe next to writers in other processes and fibers: it holds the layout lock (in-process and
   * `index.json.lock`), so no index update interleaves, and keeps unreachable blobs and partial files modified
   * within `gracePeriod` (default 10 minutes; counted in `recent`): the blobs of an image being written are
   * unreachable until its `index.json` entry exists. (`pushBlob` refreshes the modification time of a blob it
   * finds stored.) `gracePeriod: 0` collects everything unreachable: only when nothing else writes the layout.
   */
  readonly gc: (options?: GcOptions) => Effect.Effect<GcResult, LayoutFailure>
  /** Size of the partial file of an interrupted write, if any. */
  readonly partialSize: (digest: Digest.Digest) => Effect.Effect<Option.Option<number>, LayoutError>
  /** Removes the partial file of an interrupted write, if any. */
  readonly discardPartial: (digest: Digest.Digest) => Effect.Effect<void, LayoutError>
}

/**
 * Opens an existing layout directory: `oci-layout` (version 1.x) and `index.json` must be there (a directory
 * with `oci-layout` but no `index.json` is an unfinished write: `NotALayout`; `openOrCreate` continues it).
 * `index.json` is read on each use.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open: (path: string) => Effect.Effect<Layout, LayoutError, FileSystem.FileSystem | Path.Path> =
  internal.open

/**
 * Creates a new, empty layout now: the directory (with parents), `oci-layout`, `blobs/` and an empty
 * `index.json`. The directory may exist but must not hold an `oci-layout` file (`NotALayout`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const create: (path: string) => Effect.Effect<Layout, LayoutError, FileSystem.FileSystem | Path.Path> =
  internal.create

/**
 * The layout at `path`, created lazily: when there is no `oci-layout` file, nothing is created until the
 * first write (the first blob or manifest creates the directory with its parents, `oci-layout` and
 * `blobs/`; `index.json` is written with the first entry). Until then it reads as empty. A directory with
 * `oci-layout` but no `index.json` (an unfinished write) is opened as empty and continued.
 *
 * @since 0.1.0
 * @category constructors
 */
export const openOrCreate: (path: string) => Effect.Effect<Layout, LayoutError, FileSystem.FileSystem | Path.Path> =
  internal.openOrCreate

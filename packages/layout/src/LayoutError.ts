/**
 * Errors of `@ocidist/layout`: one class per failure, each branded with {@link TypeId} (`isLayoutError` tests
 * the brand, not `_tag`), with `_tag`s unique across ocidist's packages, so callers can `catchTags` on them
 * next to the errors of other packages. `path` is always the layout directory or archive file.
 *
 * Content that does not match its descriptor fails with errors shared by every store: `SizeMismatch` and
 * `ContentTooLarge` of `@ocidist/spec`, `DigestMismatch` of `@ocidist/reference`; manifests that cannot be
 * decoded with `InvalidManifest` of `@ocidist/spec`. {@link LayoutFailure} is the union of all of them.
 *
 * @since 0.1.0
 */
import type * as PlatformError from "@effect/platform/Error"
import type { DigestMismatch } from "@ocidist/reference/ReferenceError"
import type { ContentTooLarge, InvalidManifest, SizeMismatch } from "@ocidist/spec/SpecError"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~@ocidist/layout/LayoutError"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Whether a value is an error of `@ocidist/layout` (tested on the brand, not on `_tag`).
 *
 * @since 0.2.0
 * @category guards
 */
export const isLayoutError = (u: unknown): u is LayoutError => Predicate.hasProperty(u, TypeId)

const inBlob = (digest: string | undefined) => digest === undefined ? "" : ` (${digest})`

/**
 * The directory (or archive) is not an OCI image layout: no valid `oci-layout` file, no `index.json` (an
 * unfinished write), or `create` found a layout already there.
 *
 * @since 0.2.0
 * @category errors
 */
export class NotALayout extends Schema.TaggedError<NotALayout>("@ocidist/layout/NotALayout")("NotALayout", {
  path: Schema.String,
  detail: Schema.String
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `${this.path} is not an OCI image layout: ${this.detail}`
  }
}

/**
 * `index.json` (or a docker-archive's `manifest.json`) is not valid.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidIndex extends Schema.TaggedError<InvalidIndex>("@ocidist/layout/InvalidIndex")("InvalidIndex", {
  path: Schema.String,
  detail: Schema.String,
  /** The failure behind it (a JSON or schema error, the parse error of a digest), when there is one. */
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `invalid index in ${this.path}: ${this.detail}`
  }
}

/**
 * A digest that is malformed or would escape the layout as a path (`sha256:../../x`). `digest` is the value
 * given, cut to 200 characters.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidDigest extends Schema.TaggedError<InvalidDigest>("@ocidist/layout/InvalidDigest")(
  "InvalidDigest",
  {
    path: Schema.String,
    digest: Schema.String,
    detail: Schema.String,
    /** The failure behind it (a JSON or schema error, the parse error of a digest), when there is one. */
    cause: Schema.optional(Schema.Defect)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `refusing invalid digest ${JSON.stringify(this.digest)} in ${this.path}: ${this.detail}`
  }
}

/**
 * A tag that is not a valid `org.opencontainers.image.ref.name` (or, for a docker-archive, not `name:tag`).
 * `tag` is cut to 300 characters.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidTag extends Schema.TaggedError<InvalidTag>("@ocidist/layout/InvalidTag")("InvalidTag", {
  path: Schema.String,
  tag: Schema.String,
  detail: Schema.String
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `invalid tag ${JSON.stringify(this.tag)} for ${this.path}: ${this.detail}`
  }
}

/**
 * No index entry (or, for a digest, no manifest blob) matches a reference; also an index without a manifest
 * for the wanted platform. `reference` is what was asked for (`""`: the only image).
 *
 * @since 0.2.0
 * @category errors
 */
export class ImageNotFound extends Schema.TaggedError<ImageNotFound>("@ocidist/layout/ImageNotFound")(
  "ImageNotFound",
  { path: Schema.String, reference: Schema.String, detail: Schema.String }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `not found in ${this.path}: ${this.detail}`
  }
}

/**
 * Several different index entries match a reference (or `""` and the index has more than one image).
 *
 * @since 0.2.0
 * @category errors
 */
export class AmbiguousReference extends Schema.TaggedError<AmbiguousReference>("@ocidist/layout/AmbiguousReference")(
  "AmbiguousReference",
  { path: Schema.String, reference: Schema.String, detail: Schema.String }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `ambiguous reference in ${this.path}: ${this.detail}`
  }
}

/**
 * A blob is not in the layout or archive.
 *
 * @since 0.2.0
 * @category errors
 */
export class BlobNotFound extends Schema.TaggedError<BlobNotFound>("@ocidist/layout/BlobNotFound")("BlobNotFound", {
  path: Schema.String,
  digest: Schema.String
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `blob ${this.digest} not found in ${this.path}`
  }
}

/**
 * A resumed write found its partial file in `ingest/` gone or shorter than a moment before (another process
 * is cleaning or writing the same layout).
 *
 * @since 0.2.0
 * @category errors
 */
export class PartialMissing extends Schema.TaggedError<PartialMissing>("@ocidist/layout/PartialMissing")(
  "PartialMissing",
  { path: Schema.String, digest: Schema.String, detail: Schema.String }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `cannot resume ${this.digest} in ${this.path}: ${this.detail}`
  }
}

/**
 * A tar archive that cannot be read.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidArchive extends Schema.TaggedError<InvalidArchive>("@ocidist/layout/InvalidArchive")(
  "InvalidArchive",
  { path: Schema.String, detail: Schema.String }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `invalid archive ${this.path}: ${this.detail}`
  }
}

/**
 * Content that cannot be processed here: a zstd layer or a nested index for a docker-archive, a config whose
 * `diff_ids` do not fit the layers, a layer that does not gunzip.
 *
 * @since 0.2.0
 * @category errors
 */
export class UnsupportedContent extends Schema.TaggedError<UnsupportedContent>("@ocidist/layout/UnsupportedContent")(
  "UnsupportedContent",
  { path: Schema.String, digest: Schema.optional(Schema.String), detail: Schema.String }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `unsupported content${inBlob(this.digest)} in ${this.path}: ${this.detail}`
  }
}

/**
 * Another process held the layout's lock file (`index.json.lock`) for longer than a writer waits (5 minutes)
 * and kept it fresh, so it was not taken over as stale. `owner` describes the holder as the lock file records
 * it (pid, host, since when).
 *
 * @since 0.4.0
 * @category errors
 */
export class LayoutLocked extends Schema.TaggedError<LayoutLocked>("@ocidist/layout/LayoutLocked")("LayoutLocked", {
  path: Schema.String,
  lockFile: Schema.String,
  owner: Schema.String,
  /** How long this process waited, in milliseconds. */
  waitedMillis: Schema.Number
}) {
  /**
   * @since 0.4.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `layout ${this.path} is locked by ${this.owner}: gave up after waiting ${
      Math.round(this.waitedMillis / 1000)
    }s; if no ocidist process uses the layout any more, remove ${this.lockFile}`
  }
}

/**
 * The file system failed. `cause` keeps the `PlatformError`.
 *
 * @since 0.2.0
 * @category errors
 */
export class FileSystemError extends Schema.TaggedError<FileSystemError>("@ocidist/layout/FileSystemError")(
  "FileSystemError",
  {
    path: Schema.String,
    digest: Schema.optional(Schema.String),
    detail: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    // a detail in words names the file already (`cannot open /x/y: not a directory`)
    return this.detail.startsWith("cannot ")
      ? `${this.detail}${inBlob(this.digest)}`
      : `file system error on ${this.path}${inBlob(this.digest)}: ${this.detail}`
  }
}

/**
 * Every error of `@ocidist/layout`.
 *
 * @since 0.1.0
 * @category errors
 */
export type LayoutError =
  | NotALayout
  | InvalidIndex
  | InvalidDigest
  | InvalidTag
  | ImageNotFound
  | AmbiguousReference
  | BlobNotFound
  | PartialMissing
  | InvalidArchive
  | UnsupportedContent
  | LayoutLocked
  | FileSystemError

/**
 * Everything a layout or archive operation fails with: a {@link LayoutError}, or content that does not match
 * its descriptor or cannot be used (`SizeMismatch`, `ContentTooLarge`, `InvalidManifest` of `@ocidist/spec`,
 * `DigestMismatch` of `@ocidist/reference`). The error type of the stores' `ReadOnlyStorage`/`Storage`.
 *
 * @since 0.2.0
 * @category errors
 */
export type LayoutFailure = LayoutError | SizeMismatch | ContentTooLarge | InvalidManifest | DigestMismatch

const verbs: Record<string, string> = {
  open: "open",
  readFile: "read",
  readFileString: "read",
  read: "read",
  stream: "read",
  writeFile: "write",
  writeFileString: "write",
  write: "write",
  sink: "write",
  truncate: "truncate",
  sync: "sync",
  stat: "access",
  access: "access",
  exists: "access",
  makeDirectory: "create directory",
  makeTempDirectory: "create a temporary directory in",
  makeTempDirectoryScoped: "create a temporary directory in",
  makeTempFile: "create a temporary file in",
  makeTempFileScoped: "create a temporary file in",
  readDirectory: "list",
  remove: "remove",
  rename: "rename",
  copy: "copy",
  copyFile: "copy",
  link: "link",
  symlink: "link",
  readLink: "resolve",
  realPath: "resolve",
  chmod: "change the mode of",
  chown: "change the owner of",
  utimes: "set the times of"
}

const reasons: Record<string, string> = {
  AlreadyExists: "already exists",
  BadResource: "not usable here",
  Busy: "busy",
  InvalidData: "invalid data",
  NotFound: "no such file or directory",
  PermissionDenied: "permission denied",
  TimedOut: "timed out",
  UnexpectedEof: "unexpected end of file",
  WouldBlock: "would block",
  WriteZero: "nothing written"
}

/**
 * The words of a Node.js system error (`ENOTDIR: not a directory, open '/x'` → `not a directory`), if it is one.
 */
const errnoWords = (text: string | undefined): string | undefined => {
  const match = text === undefined ? null : /^E[A-Z0-9]+: ([^,]+)/.exec(text)
  return match === null ? undefined : match[1]!.trim()
}

/**
 * A `PlatformError` in words, naming the file: `cannot open /x/y: not a directory` (the module, method and
 * reason names stay in `cause`, for `--verbose`). `path` is named when the error has no path of its own.
 *
 * @since 0.4.0
 * @category errors
 */
export const describePlatformError = (error: PlatformError.PlatformError, path?: string): string => {
  const verb = verbs[error.method] ?? "access"
  if (error._tag === "BadArgument") {
    return `cannot ${verb}${path === undefined ? "" : ` ${path}`}: ${error.description ?? "invalid argument"}`
  }
  const target = typeof error.pathOrDescriptor === "string" ? error.pathOrDescriptor : path
  const words = errnoWords(error.description) ??
    (error.cause instanceof Error ? errnoWords(error.cause.message) : undefined) ??
    (error.reason === "Unknown" && error.description !== undefined && error.description !== ""
      ? error.description
      : reasons[error.reason] ?? "failed")
  return `cannot ${verb}${target === undefined ? "" : ` ${target}`}: ${words}`
}

/**
 * A failure of a Node.js file system call in words (`cannot write /x: no space left on device`).
 *
 * @since 0.4.0
 * @category errors
 */
export const describeSystemCause = (verb: string, path: string, cause: unknown): string =>
  `cannot ${verb} ${path}: ${
    (cause instanceof Error ? errnoWords(cause.message) ?? cause.message : undefined) ?? String(cause)
  }`

/**
 * Wraps a `PlatformError`: `BlobNotFound` when the file is missing and a digest is given, otherwise
 * `FileSystemError` (keeping the `PlatformError` as `cause`, its message in words: {@link describePlatformError}).
 *
 * @since 0.1.0
 * @category errors
 */
export const fromPlatformError =
  (path: string, digest?: string) => (error: PlatformError.PlatformError): BlobNotFound | FileSystemError =>
    digest !== undefined && error._tag === "SystemError" && error.reason === "NotFound"
      ? new BlobNotFound({ path, digest })
      : new FileSystemError({
        path,
        detail: describePlatformError(error, path),
        cause: error,
        ...(digest === undefined ? {} : { digest })
      })

/**
 * Where an image is: in a registry, in an OCI image layout directory, or in an `oci-archive` /
 * `docker-archive` tar file. The string forms are those of skopeo:
 *
 * - `registry.example.com/app:1.0`, `docker://registry.example.com/app@sha256:…` — a registry reference
 *   (bare references are normalized as docker does: `alpine` → `docker.io/library/alpine:latest`)
 * - `oci:<dir>[:<name>|@<digest>]` — an OCI image layout directory (`oci:<dir>:<digest>` is read as a digest
 *   too). `<name>` is the `org.opencontainers.image.ref.name` of an index entry: a tag (`1.0`) or a full
 *   reference as podman and skopeo write it (`localhost/app:1`, `docker.io/library/alpine:3.20`)
 * - `oci-archive:<file>[:<name>]` — a tar of an OCI image layout (gzip or zstd compressed too, when read)
 * - `docker-archive:<file>[:<name:tag>|:@<N>|@<image ID>]` — a `docker save` tarball (`manifest.json` +
 *   `repositories`; gzip or zstd compressed too, when read): an image by name, by position in `manifest.json`
 *   (`@0` is the first, as skopeo's `@source-index`), or by image ID (its config digest, `sha256:…`, also
 *   written `:@sha256:…`)
 *
 * A path is everything up to the first `:` after the transport name, so paths cannot contain `:`; everything
 * after it is the name (which may itself contain `:` and `/`).
 *
 * @since 0.1.0
 */
import * as Digest from "@ocidist/reference/Digest"
import * as Reference from "@ocidist/reference/Reference"
import * as Either from "effect/Either"
import { InvalidLocation } from "./OcidistError.js"

/**
 * An image in a registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Registry {
  readonly _tag: "Registry"
  readonly reference: Reference.Reference
}

/**
 * An image in an OCI image layout directory, selected by tag (`org.opencontainers.image.ref.name`) or
 * digest. Neither: the layout's only image (reading), or untagged (writing).
 *
 * @since 0.1.0
 * @category models
 */
export interface Layout {
  readonly _tag: "Layout"
  readonly path: string
  readonly tag?: string
  readonly digest?: Digest.Digest
}

/**
 * An image in a tar of an OCI image layout.
 *
 * @since 0.1.0
 * @category models
 */
export interface OciArchive {
  readonly _tag: "OciArchive"
  readonly path: string
  readonly tag?: string
}

/**
 * An image in a `docker save` tarball, selected by one of: `tag`, a docker reference (`app:1.0`) of its
 * `RepoTags`; `index`, its position in `manifest.json` (from 0); `digest`, its image ID (config digest).
 *
 * @since 0.1.0
 * @category models
 */
export interface DockerArchive {
  readonly _tag: "DockerArchive"
  readonly path: string
  readonly tag?: string
  /** @since 0.5.0 */
  readonly index?: number
  /** @since 0.5.0 */
  readonly digest?: Digest.Digest
}

/**
 * @since 0.1.0
 * @category models
 */
export type Location = Registry | Layout | OciArchive | DockerArchive

/**
 * A local location (layout directory or archive).
 *
 * @since 0.1.0
 * @category models
 */
export type Local = Layout | OciArchive | DockerArchive

/**
 * @since 0.1.0
 * @category constructors
 */
export const registry = (reference: Reference.Reference): Registry => ({ _tag: "Registry", reference })

/**
 * @since 0.1.0
 * @category constructors
 */
export const layout = (
  path: string,
  selector?: { readonly tag?: string; readonly digest?: Digest.Digest }
): Layout => ({
  _tag: "Layout",
  path,
  ...(selector?.tag === undefined ? {} : { tag: selector.tag }),
  ...(selector?.digest === undefined ? {} : { digest: selector.digest })
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const ociArchive = (path: string, tag?: string): OciArchive => ({
  _tag: "OciArchive",
  path,
  ...(tag === undefined ? {} : { tag })
})

/**
 * A docker-archive location: by name (a string), or (since 0.5.0) by `index` or `digest` (image ID).
 *
 * @since 0.1.0
 * @category constructors
 */
export const dockerArchive = (
  path: string,
  selector?: string | { readonly tag?: string; readonly index?: number; readonly digest?: Digest.Digest }
): DockerArchive => {
  const s = typeof selector === "string" ? { tag: selector } : selector
  return {
    _tag: "DockerArchive",
    path,
    ...(s?.tag === undefined ? {} : { tag: s.tag }),
    ...(s?.index === undefined ? {} : { index: s.index }),
    ...(s?.digest === undefined ? {} : { digest: s.digest })
  }
}

const unsupportedTransports = new Set([
  "dir",
  "docker-daemon",
  "containers-storage",
  "ostree",
  "sif",
  "ocidir",
  "oci-layout",
  "http",
  "https"
])

const TAG = /^[\w][\w.-]{0,127}$/

/**
 * Whether a string may name an index entry (`org.opencontainers.image.ref.name`): a tag, or a full reference
 * (`localhost/app:1`). The grammar of the OCI image spec widened to Docker tags, as `@ocidist/layout` checks
 * it when it writes one: every name ocidist writes can be given back in a location.
 *
 * @since 0.5.0
 * @category parsing
 */
export const isIndexName = (name: string): boolean =>
  name.length > 0 && name.length <= 255 && /^[A-Za-z0-9_](?:[A-Za-z0-9._\-:@+/]*[A-Za-z0-9_])?$/.test(name) &&
  !name.includes("//") && !name.includes("..") && !name.includes("/.") && !name.includes("./")

/**
 * The tag an index entry name stands for in a registry: a tag itself (`1.0`), else the tag of the full
 * reference it is (`localhost/app:1` → `1`; `localhost/app` → `latest`, as docker normalizes). `undefined`
 * when it is neither (a name with a digest, or not a reference).
 *
 * @since 0.5.0
 * @category getters
 */
export const tagOfName = (name: string): string | undefined => {
  if (TAG.test(name)) return name
  const parsed = Either.getOrUndefined(Reference.parse(name))
  if (parsed === undefined) return undefined
  return parsed.tag ?? (parsed.digest === undefined ? Reference.DEFAULT_TAG : undefined)
}

const splitPath = (input: string, rest: string): Either.Either<{ path: string; suffix?: string }, InvalidLocation> => {
  const colon = rest.indexOf(":")
  const path = colon === -1 ? rest : rest.slice(0, colon)
  if (path === "") return Either.left(new InvalidLocation({ input, detail: "the path is empty" }))
  return Either.right(colon === -1 ? { path } : { path, suffix: rest.slice(colon + 1) })
}

/**
 * `<path>@<algorithm>:…` at the end of a location, for the registered algorithms: the path and the digest text
 * (not yet validated). `oci:/data/user@host:v1` stays a path with an `@` and a tag.
 */
const AT_DIGEST = /^(.*)@((?:sha256|sha384|sha512|blake3):[^:@]*)$/

/**
 * A location ending in `@<digest>` (or `:@<digest>`): its path and validated digest, built by `make`; `undefined`
 * when `rest` has no digest at its end.
 */
const atDigest = <A>(
  input: string,
  rest: string,
  make: (path: string, digest: Digest.Digest) => A,
  errors: { readonly both: string; readonly invalid: (text: string) => InvalidLocation }
): Either.Either<A, InvalidLocation> | undefined => {
  const at = AT_DIGEST.exec(rest)
  if (at === null) return undefined
  const [, before, digestText] = at as unknown as [string, string, string]
  return Either.flatMap(
    splitPath(input, before.endsWith(":") ? before.slice(0, -1) : before),
    ({ path, suffix }) =>
      suffix !== undefined
        ? Either.left(new InvalidLocation({ input, detail: errors.both }))
        : Digest.validate(digestText) === undefined
        ? Either.right(make(path, digestText as Digest.Digest))
        : Either.left(errors.invalid(digestText))
  )
}

const parseLayout = (input: string, rest: string): Either.Either<Layout, InvalidLocation> => {
  // `oci:<dir>:@<digest>` is accepted too (the form of earlier versions)
  const withDigest = atDigest(input, rest, (path, digest) => layout(path, { digest }), {
    both: "give a tag or a digest, not both",
    invalid: (text) => new InvalidLocation({ input, detail: `"${text}" is not a valid digest` })
  })
  if (withDigest !== undefined) return withDigest
  return Either.flatMap(splitPath(input, rest), ({ path, suffix }) => {
    if (suffix === undefined || suffix === "") return Either.right(layout(path))
    const digestText = suffix.startsWith("@") ? suffix.slice(1) : Digest.validate(suffix) === undefined ? suffix : null
    if (digestText !== null) {
      return Digest.validate(digestText) === undefined
        ? Either.right(layout(path, { digest: digestText as Digest.Digest }))
        : Either.left(new InvalidLocation({ input, detail: `"${digestText}" is not a valid digest` }))
    }
    return isIndexName(suffix)
      ? Either.right(layout(path, { tag: suffix }))
      : Either.left(new InvalidLocation({ input, detail: `"${suffix}" is not a valid tag or name` }))
  })
}

/** `docker-archive:<file>@<image ID>`, `docker-archive:<file>:@<image ID>`, `…:<image ID>` */
const parseDockerArchive = (input: string, rest: string): Either.Either<DockerArchive, InvalidLocation> => {
  const invalidId = (text: string) => new InvalidLocation({ input, detail: `"${text}" is not a valid image ID` })
  const withDigest = atDigest(input, rest, (path, digest) => dockerArchive(path, { digest }), {
    both: "give a name, an @N or an image ID, not several",
    invalid: invalidId
  })
  if (withDigest !== undefined) return withDigest
  return Either.flatMap(splitPath(input, rest), ({ path, suffix }) => {
    if (suffix === undefined || suffix === "") return Either.right(dockerArchive(path))
    if (suffix.startsWith("@")) {
      return /^@\d{1,9}$/.test(suffix)
        ? Either.right(dockerArchive(path, { index: Number(suffix.slice(1)) }))
        : Either.left(
          new InvalidLocation({
            input,
            detail: `"${suffix}" is neither @N (an image's position in manifest.json, from @0) nor @<image ID>`
          })
        )
    }
    if (/^(?:sha256|sha384|sha512|blake3):/.test(suffix)) {
      return Digest.validate(suffix) === undefined
        ? Either.right(dockerArchive(path, { digest: suffix as Digest.Digest }))
        : Either.left(invalidId(suffix))
    }
    return Either.match(Reference.parse(suffix), {
      onLeft: (e) => Either.left(new InvalidLocation({ input, detail: e.message, cause: e })),
      onRight: () => Either.right(dockerArchive(path, suffix))
    })
  })
}

/** oci-archives are selected by name only: `<file>@<digest>` says so rather than reading `<file>@sha256` as the path. */
const archiveDigest = (
  input: string,
  rest: string,
  transport: string
): Either.Either<never, InvalidLocation> | undefined =>
  AT_DIGEST.exec(rest)?.[1]?.includes(":") === false
    ? Either.left(
      new InvalidLocation({
        input,
        detail:
          `${transport} selects an image by name only (${transport}<file>[:name]); for a digest, use oci:<dir>@<digest>`
      })
    )
    : undefined

/**
 * Parses a location string (see the module documentation for the forms).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Either.Either<Location, InvalidLocation> => {
  const trimmed = input.trim()
  if (trimmed.startsWith("oci:")) return parseLayout(input, trimmed.slice("oci:".length))
  if (trimmed.startsWith("oci-archive:")) {
    const rest = trimmed.slice("oci-archive:".length)
    const digest = archiveDigest(input, rest, "oci-archive:")
    if (digest !== undefined) return digest
    return Either.flatMap(
      splitPath(input, trimmed.slice("oci-archive:".length)),
      ({ path, suffix }) =>
        suffix === undefined || suffix === ""
          ? Either.right(ociArchive(path))
          : isIndexName(suffix)
          ? Either.right(ociArchive(path, suffix))
          : Either.left(new InvalidLocation({ input, detail: `"${suffix}" is not a valid tag or name` }))
    )
  }
  if (trimmed.startsWith("docker-archive:")) return parseDockerArchive(input, trimmed.slice("docker-archive:".length))
  const text = trimmed.startsWith("docker://") ? trimmed.slice("docker://".length) : trimmed
  const scheme = /^([a-z-]+):/.exec(text)?.[1]
  if (scheme !== undefined && unsupportedTransports.has(scheme)) {
    return Either.left(new InvalidLocation({ input, detail: `the transport "${scheme}:" is not supported` }))
  }
  return Either.match(Reference.parse(text), {
    onLeft: (e) => Either.left(new InvalidLocation({ input, detail: e.message, cause: e })),
    onRight: (reference) => Either.right(registry(reference))
  })
}

/**
 * Formats a location in the string form {@link parse} reads (registry references in full form, without
 * `docker://`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (location: Location): string => {
  switch (location._tag) {
    case "Registry":
      return location.reference.toString()
    case "Layout":
      return `oci:${location.path}${
        location.digest !== undefined ? `@${location.digest}` : location.tag !== undefined ? `:${location.tag}` : ""
      }`
    case "OciArchive":
      return `oci-archive:${location.path}${location.tag === undefined ? "" : `:${location.tag}`}`
    case "DockerArchive":
      return `docker-archive:${location.path}${
        location.digest !== undefined
          ? `@${location.digest}`
          : location.index !== undefined
          ? `:@${location.index}`
          : location.tag === undefined
          ? ""
          : `:${location.tag}`
      }`
  }
}

/**
 * Accepts a location string or value (a `Reference` means a registry location).
 *
 * @since 0.1.0
 * @category parsing
 */
export const from = (
  input: string | Location | Reference.Reference
): Either.Either<Location, InvalidLocation> =>
  typeof input === "string"
    ? parse(input)
    : input instanceof Reference.Reference
    ? Either.right(registry(input))
    : Either.right(input)

/**
 * The tag a location names, if any (for `docker-archive`, the tag of its docker reference; for a layout or
 * oci-archive name that is a full reference, its tag: see {@link tagOfName}).
 *
 * @since 0.1.0
 * @category getters
 */
export const tagOf = (location: Location): string | undefined => {
  switch (location._tag) {
    case "Registry":
      return location.reference.tag
    case "DockerArchive":
      return location.tag === undefined ? undefined : Either.getOrUndefined(Reference.parse(location.tag))?.tag
    default:
      return location.tag === undefined ? undefined : tagOfName(location.tag)
  }
}

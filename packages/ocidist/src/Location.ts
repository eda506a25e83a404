/**
 * Where an image is: in a registry, in an OCI image layout directory, or in an `oci-archive` /
 * `docker-archive` tar file. The string forms are those of skopeo:
 *
 * - `registry.example.com/app:1.0`, `docker://registry.example.com/app@sha256:…` — a registry reference
 *   (bare references are normalized as docker does: `alpine` → `docker.io/library/alpine:latest`)
 * - `oci:<dir>[:<tag>|@<digest>]` — an OCI image layout directory (`oci:<dir>:<digest>` is read as a digest too)
 * - `oci-archive:<file>[:<tag>]` — a tar of an OCI image layout
 * - `docker-archive:<file>[:<name:tag>]` — a `docker save` tarball (`manifest.json` + `repositories`)
 *
 * A path is everything up to the first `:` after the transport name, so paths cannot contain `:`.
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
 * An image in a `docker save` tarball; `tag` is a docker reference (`app:1.0`) of its `RepoTags`.
 *
 * @since 0.1.0
 * @category models
 */
export interface DockerArchive {
  readonly _tag: "DockerArchive"
  readonly path: string
  readonly tag?: string
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
 * @since 0.1.0
 * @category constructors
 */
export const dockerArchive = (path: string, tag?: string): DockerArchive => ({
  _tag: "DockerArchive",
  path,
  ...(tag === undefined ? {} : { tag })
})

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

const parseLayout = (input: string, rest: string): Either.Either<Layout, InvalidLocation> => {
  const at = AT_DIGEST.exec(rest)
  if (at !== null) {
    const [, before, digestText] = at as unknown as [string, string, string]
    // `oci:<dir>:@<digest>` is accepted too (the form of earlier versions)
    return Either.flatMap(
      splitPath(input, before.endsWith(":") ? before.slice(0, -1) : before),
      ({ path, suffix }) =>
        suffix !== undefined
          ? Either.left(new InvalidLocation({ input, detail: "give a tag or a digest, not both" }))
          : Digest.validate(digestText) === undefined
          ? Either.right(layout(path, { digest: digestText as Digest.Digest }))
          : Either.left(new InvalidLocation({ input, detail: `"${digestText}" is not a valid digest` }))
    )
  }
  return Either.flatMap(splitPath(input, rest), ({ path, suffix }) => {
    if (suffix === undefined || suffix === "") return Either.right(layout(path))
    const digestText = suffix.startsWith("@") ? suffix.slice(1) : Digest.validate(suffix) === undefined ? suffix : null
    if (digestText !== null) {
      return Digest.validate(digestText) === undefined
        ? Either.right(layout(path, { digest: digestText as Digest.Digest }))
        : Either.left(new InvalidLocation({ input, detail: `"${digestText}" is not a valid digest` }))
    }
    return TAG.test(suffix)
      ? Either.right(layout(path, { tag: suffix }))
      : Either.left(new InvalidLocation({ input, detail: `"${suffix}" is not a valid tag` }))
  })
}

/** Archives are selected by tag only: `<file>@<digest>` says so rather than reading `<file>@sha256` as the path. */
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
          `${transport} selects an image by tag only (${transport}<file>[:tag]); for a digest, use oci:<dir>@<digest>`
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
          : TAG.test(suffix)
          ? Either.right(ociArchive(path, suffix))
          : Either.left(new InvalidLocation({ input, detail: `"${suffix}" is not a valid tag` }))
    )
  }
  if (trimmed.startsWith("docker-archive:")) {
    const digest = archiveDigest(input, trimmed.slice("docker-archive:".length), "docker-archive:")
    if (digest !== undefined) return digest
    return Either.flatMap(splitPath(input, trimmed.slice("docker-archive:".length)), ({ path, suffix }) => {
      if (suffix === undefined || suffix === "") return Either.right(dockerArchive(path))
      return Either.match(Reference.parse(suffix), {
        onLeft: (e) => Either.left(new InvalidLocation({ input, detail: e.message, cause: e })),
        onRight: () => Either.right(dockerArchive(path, suffix))
      })
    })
  }
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
      return `docker-archive:${location.path}${location.tag === undefined ? "" : `:${location.tag}`}`
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
 * The tag a location names, if any (for `docker-archive`, the tag of its docker reference).
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
      return location.tag
  }
}

/**
 * Image references: `[registry/]repository[:tag][@digest]`, parsed with the grammar of distribution's
 * `reference` package and normalized as docker does (`ubuntu` → `docker.io/library/ubuntu`).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Digest from "./Digest.js"
import * as grammar from "./internal/grammar.js"
import { InvalidReference, type InvalidReferenceReason } from "./ReferenceError.js"
import * as Registry from "./Registry.js"

/**
 * The tag requested when a reference has neither tag nor digest.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_TAG = "latest"

/**
 * A fully-qualified image reference. A reference may carry a tag, a digest, both (the digest decides what
 * is fetched, the tag is kept for display and for pushing), or neither (`latest` is requested).
 *
 * @since 0.1.0
 * @category models
 */
export class Reference extends Schema.Class<Reference>("@ocidist/reference/Reference")({
  registry: Schema.String,
  repository: Schema.String,
  tag: Schema.optional(Schema.String),
  digest: Schema.optional(Digest.Digest)
}) {
  /** `registry/repository`, e.g. `docker.io/library/ubuntu`. */
  get name(): string {
    return `${this.registry}/${this.repository}`
  }

  /** What to put in `/v2/<name>/manifests/<identifier>`: the digest, else the tag, else `latest`. */
  get identifier(): string {
    return this.digest ?? this.tag ?? DEFAULT_TAG
  }

  /** The short form docker prints: `ubuntu:22.04`, `ghcr.io/org/app@sha256:…`. */
  get familiar(): string {
    return `${familiarName(this.registry, this.repository)}${suffix(this)}`
  }

  /** The full form: `docker.io/library/ubuntu:22.04`. */
  override toString(): string {
    return `${this.name}${suffix(this)}`
  }

  /** Same as `toString()`, so references serialize as strings in JSON output. */
  toJSON(): string {
    return this.toString()
  }
}

const suffix = (ref: { readonly tag?: string | undefined; readonly digest?: string | undefined }): string =>
  `${ref.tag === undefined ? "" : `:${ref.tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`

const familiarName = (registry: string, repository: string): string => {
  if (registry !== Registry.DOCKER_HUB) return `${registry}/${repository}`
  const rest = repository.startsWith("library/") ? repository.slice("library/".length) : undefined
  return rest !== undefined && !rest.includes("/") ? rest : repository
}

const fail = (input: string, reason: InvalidReferenceReason, part?: string) =>
  Either.left(new InvalidReference(part === undefined ? { input, reason } : { input, reason, part }))

const splitDockerDomain = (name: string): { readonly registry: string; readonly repository: string } => {
  const slash = name.indexOf("/")
  let registry: string
  let repository: string
  const first = slash === -1 ? "" : name.slice(0, slash)
  if (
    slash === -1 ||
    (!first.includes(".") && !first.includes(":") && first !== "localhost" && first.toLowerCase() === first)
  ) {
    registry = Registry.DOCKER_HUB
    repository = name
  } else {
    registry = first
    repository = name.slice(slash + 1)
  }
  if (registry === "index.docker.io") registry = Registry.DOCKER_HUB
  if (registry === Registry.DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`
  return { registry, repository }
}

/**
 * Parses a reference as docker does: a name without a domain is on `docker.io`, and a one-component Docker
 * Hub name is in `library/`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Either.Either<Reference, InvalidReference> => {
  if (input.length === 0) return fail(input, "Empty")
  if (grammar.identifier.test(input)) return fail(input, "NameIsDigest", input)
  const at = input.indexOf("@")
  const nameAndTag = at === -1 ? input : input.slice(0, at)
  const digestPart = at === -1 ? undefined : input.slice(at + 1)
  // The tag is after the last ':' that follows the last '/' (a ':' before it is a port).
  const lastSlash = nameAndTag.lastIndexOf("/")
  const colon = nameAndTag.indexOf(":", lastSlash + 1)
  const name = colon === -1 ? nameAndTag : nameAndTag.slice(0, colon)
  const tag = colon === -1 ? undefined : nameAndTag.slice(colon + 1)
  if (name.length === 0) return fail(input, "BadFormat", nameAndTag)

  const { registry, repository } = splitDockerDomain(name)
  if (repository !== repository.toLowerCase()) {
    return fail(input, "UppercaseRepository", repository)
  }
  if (!grammar.domain.test(registry) || !grammar.repository.test(repository)) {
    return fail(input, "BadFormat", grammar.domain.test(registry) ? repository : registry)
  }
  if (tag !== undefined && !grammar.validTag.test(tag)) {
    return /^[\w][\w.-]*$/.test(tag) ? fail(input, "TagTooLong", tag) : fail(input, "BadFormat", tag)
  }
  if (registry.length + 1 + repository.length > grammar.NAME_TOTAL_LENGTH_MAX) {
    return fail(input, "TooLong", `${registry}/${repository}`)
  }
  let digest: Digest.Digest | undefined
  if (digestPart !== undefined) {
    const reason = Digest.validate(digestPart)
    if (reason !== undefined) return fail(input, reason, digestPart)
    digest = digestPart as Digest.Digest
  }
  return Either.right(make({ registry, repository, tag, digest }))
}

/**
 * Builds a reference from parts already validated (or trusted), normalizing the registry name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (parts: {
  readonly registry: string
  readonly repository: string
  readonly tag?: string | undefined
  readonly digest?: Digest.Digest | undefined
}): Reference =>
  new Reference({
    registry: parts.registry === "index.docker.io" ? Registry.DOCKER_HUB : parts.registry,
    repository: parts.repository,
    ...(parts.tag === undefined ? {} : { tag: parts.tag }),
    ...(parts.digest === undefined ? {} : { digest: parts.digest })
  }, { disableValidation: true })

/**
 * Parses a repository name (`[registry/]repository`, no tag, no digest).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseRepository = (input: string): Either.Either<Reference, InvalidReference> =>
  Either.flatMap(parse(input), (ref) =>
    ref.tag !== undefined || ref.digest !== undefined
      ? fail(input, "BadFormat", input.slice(input.length - suffix(ref).length))
      : Either.right(ref))

/**
 * Returns the reference with another tag (the digest is kept).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withTag = (ref: Reference, tag: string): Either.Either<Reference, InvalidReference> =>
  grammar.validTag.test(tag)
    ? Either.right(make({ ...ref, tag }))
    : fail(tag, /^[\w][\w.-]*$/.test(tag) ? "TagTooLong" : "BadFormat", tag)

/**
 * Returns the reference with a digest (the tag is kept).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withDigest = (ref: Reference, digest: Digest.Digest): Reference => make({ ...ref, digest })

/**
 * Returns the reference without its tag.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withoutTag = (ref: Reference): Reference => make({ ...ref, tag: undefined })

/**
 * Returns the reference without its digest.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withoutDigest = (ref: Reference): Reference => make({ ...ref, digest: undefined })

/**
 * Returns the repository alone (no tag, no digest).
 *
 * @since 0.1.0
 * @category combinators
 */
export const repositoryOf = (ref: Reference): Reference => make({ registry: ref.registry, repository: ref.repository })

/**
 * A Schema that decodes a reference from its string form and encodes it back to the full form. For configs
 * and CLI options: `Schema.decodeUnknown(Reference.FromString)("ubuntu")`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FromString: Schema.Schema<Reference, string> = Schema.transformOrFail(
  Schema.String,
  Schema.instanceOf(Reference),
  {
    strict: true,
    decode: (input, _options, ast) =>
      Either.mapLeft(parse(input), (error) => new ParseResult.Type(ast, input, error.message)),
    encode: (ref) => ParseResult.succeed(ref.toString())
  }
).annotations({ identifier: "ReferenceFromString" })

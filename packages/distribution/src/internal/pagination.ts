/**
 * Paginated listings: tags (`/tags/list`) and the catalog (`/_catalog`), following `Link` headers on the
 * registry's origin, pages bounded in size and number and decoded with Schema.
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as AuthScope from "@ocidist/auth/Scope"
import type { Reference } from "@ocidist/reference"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as RegistryClient from "../RegistryClient.js"
import type * as RegistryError from "../RegistryError.js"
import { type ClientContext, ctxOf, pull, repoUrl } from "./context.js"
import * as Response from "./response.js"

/** The URL of the `rel="next"` link of a `Link` header. @internal */
export const parseLinkNext = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  for (const part of value.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part)
    if (match !== null && /(?:^|;)\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(?:;|$)/i.test(match[2]!)) {
      return match[1]
    }
  }
  return undefined
}

/** The next page of a listing, refused on another origin. @internal */
export const nextPage = (
  client: ClientContext,
  ctx: Response.Ctx,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<string | undefined, RegistryError.InvalidResponse> =>
  Effect.suspend(() => {
    const link = parseLinkNext(Response.header(response, "link"))
    if (link === undefined) return Effect.succeed(undefined)
    let next: URL
    try {
      next = new URL(link, response.request.url)
    } catch {
      return Effect.fail(Response.invalidResponse(ctx, `malformed Link header "${link}"`))
    }
    if (next.origin !== new URL(client.transport.origin(ctx.registry)).origin) {
      return Effect.fail(Response.invalidResponse(ctx, `Link to another origin (${next.origin}) refused`))
    }
    return Effect.succeed(next.href as string | undefined)
  })

const Names = Schema.NullishOr(Schema.Array(Schema.String))

/** A page of `/tags/list`: `{ "name": "<repository>", "tags": [...] }` (`tags` may be `null`). @internal */
export const TagsPage = Schema.parseJson(Schema.Struct({ name: Schema.optional(Schema.String), tags: Names }))

/** A page of `/_catalog`: `{ "repositories": [...] }`. @internal */
export const CatalogPage = Schema.parseJson(Schema.Struct({ repositories: Names }))

const decoders = {
  tags: Schema.decodeUnknownEither(TagsPage),
  repositories: Schema.decodeUnknownEither(CatalogPage)
}

const decodePage = (
  ctx: Response.Ctx,
  field: "tags" | "repositories",
  bytes: Uint8Array
): Either.Either<ReadonlyArray<string>, RegistryError.InvalidResponse> => {
  const decoded = field === "tags"
    ? Either.map(decoders.tags(new TextDecoder().decode(bytes)), (page) => page.tags)
    : Either.map(decoders.repositories(new TextDecoder().decode(bytes)), (page) => page.repositories)
  return Either.mapBoth(decoded, {
    onLeft: (error) =>
      Response.invalidResponse(
        ctx,
        Response.isJsonSyntaxError(error)
          ? `the ${field} page is not JSON`
          : `"${field}" is not a list of strings: ${Response.formatParseError(error)}`,
        error
      ),
    onRight: (names) => names ?? []
  })
}

const paginate = (
  client: ClientContext,
  ctx: Response.Ctx,
  firstUrl: URL,
  scopes: ReadonlyArray<AuthScope.Scope>,
  field: "tags" | "repositories",
  options: RegistryClient.ListOptions | undefined
): Stream.Stream<string, RegistryError.RegistryClientError> => {
  firstUrl.searchParams.set("n", String(options?.pageSize ?? client.pageSize))
  if (options?.last !== undefined) firstUrl.searchParams.set("last", options.last)
  const limit = options?.maxPages ?? client.maxPages
  return Stream.paginateChunkEffect(
    { url: firstUrl.href, page: 0 },
    ({ page, url }) =>
      Effect.gen(function*() {
        if (page >= limit) {
          return yield* Response.invalidResponse(ctx, `more than ${limit} pages; raise maxPages to list further`)
        }
        // each page (its request and its body) holds one of the registry's permits; none is held between pages
        const { bytes, response } = yield* client.limited(ctx.registry)(Effect.gen(function*() {
          const response = yield* client.transport.send(
            ctx,
            HttpClientRequest.get(url, { headers: { accept: "application/json" } }),
            { scopes, read: { limit: client.maxManifestBytes, what: `${field} page` } }
          )
          if (response.status !== 200) {
            return yield* Response.fail(ctx, response, { target: field === "tags" ? "tags" : "catalog" })
          }
          const bytes = yield* Response.readBounded(ctx, response, client.maxManifestBytes, `${field} page`)
          return { bytes, response }
        }))
        const names = yield* decodePage(ctx, field, bytes)
        const next = yield* nextPage(client, ctx, response)
        return [
          Chunk.fromIterable(names),
          next === undefined ? Option.none() : Option.some({ url: next, page: page + 1 })
        ] as const
      })
  )
}

/** @internal */
export const tags = (client: ClientContext, repository: Reference.Reference, options?: RegistryClient.ListOptions) =>
  paginate(
    client,
    ctxOf(repository.registry, repository.repository, "tags"),
    new URL(repoUrl(client, repository, "tags/list")),
    pull(repository),
    "tags",
    options
  )

/** @internal */
export const catalog = (client: ClientContext, registry: string, options?: RegistryClient.ListOptions) =>
  paginate(
    client,
    ctxOf(registry, undefined, "catalog"),
    new URL(`${client.transport.origin(registry)}/v2/_catalog`),
    [AuthScope.catalog],
    "repositories",
    options
  )

/**
 * Assembles the registry client: reads its dependencies once, builds the shared context (options,
 * transports, permits) and wires the operations of `manifests.ts`, `blobs.ts`, `pagination.ts` and
 * `referrers.ts`, each under its span and one of the registry's permits, held until its response bodies are
 * read (blob downloads: in the caller's scope, until their body is read; listings: per page).
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Authenticator from "@ocidist/auth/Authenticator"
import { Hash } from "@ocidist/reference"
import * as Effect from "effect/Effect"
import type * as RegistryClient from "../RegistryClient.js"
import * as Blobs from "./blobs.js"
import { ctxOf, makeContext, span } from "./context.js"
import * as IterableBody from "./iterableBody.js"
import * as Manifests from "./manifests.js"
import * as Pagination from "./pagination.js"
import * as Referrers from "./referrers.js"
import * as Response from "./response.js"
import * as Transport from "./transport.js"

/** @internal */
export const make = (
  options: RegistryClient.Options = {}
): Effect.Effect<RegistryClient.Service, never, HttpClient.HttpClient | Authenticator.Authenticator> =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const auth = yield* Authenticator.Authenticator
    const hash = yield* Hash.Hash
    const client = makeContext(options, {
      hash,
      iterableBodies: IterableBody.supported(http),
      transport: (settings) => ({
        plain: Transport.makeTransport(http, auth, settings),
        scoped: Transport.makeTransport(HttpClient.withScope(http), auth, settings)
      })
    })
    const { limited } = client

    const ping = (registry: string) =>
      Effect.gen(function*() {
        const ctx = ctxOf(registry, undefined, "ping")
        const response = yield* client.transport.send(
          ctx,
          HttpClientRequest.get(`${client.transport.origin(registry)}/v2/`),
          { scopes: [], anonymous: true }
        )
        if (response.status !== 200 && response.status !== 401) return yield* Response.fail(ctx, response)
        yield* Response.discard(response)
        const challenge = Response.header(response, "www-authenticate")
        const scheme = challenge === undefined ? undefined : /^\s*([A-Za-z][\w-]*)/.exec(challenge)?.[1]
        return {
          status: response.status,
          apiVersion: Response.header(response, "docker-distribution-api-version"),
          challenge,
          scheme,
          plainHttp: client.transport.plainHttp(registry)
        } satisfies RegistryClient.PingResult
      }).pipe(Effect.withSpan("RegistryClient.ping", { attributes: { registry } }))

    const service: RegistryClient.Service = {
      ping: (registry) => limited(registry)(ping(registry)),
      manifests: {
        head: (ref) => Manifests.head(client, ref).pipe(limited(ref.registry), span("manifests.head", ref)),
        get: (ref, o) => Manifests.get(client, ref, o?.accept).pipe(limited(ref.registry), span("manifests.get", ref)),
        getRaw: (ref) => Manifests.getRaw(client, ref).pipe(limited(ref.registry), span("manifests.getRaw", ref)),
        put: (ref, m) =>
          Manifests.put(client, ref, m).pipe(
            Effect.flatMap((put) => Referrers.afterPut(client, ref, put)),
            limited(ref.registry),
            span("manifests.put", ref)
          ),
        delete: (ref) => Manifests.del(client, ref).pipe(limited(ref.registry), span("manifests.delete", ref))
      },
      blobs: {
        head: (ref, d) => Blobs.head(client, ref, d).pipe(limited(ref.registry), span("blobs.head", ref)),
        exists: (ref, d) =>
          Blobs.head(client, ref, d).pipe(
            Effect.as(true),
            Effect.catchTag("NotFound", () => Effect.succeed(false)),
            limited(ref.registry),
            span("blobs.exists", ref)
          ),
        get: (ref, d, o) => Blobs.get(client, ref, d, o).pipe(span("blobs.get", ref)),
        stream: (ref, d, o) => Blobs.stream(client, ref, d, o),
        pump: (ref, d, sink, o) => Blobs.pump(client, ref, d, sink, o).pipe(span("blobs.pump", ref)),
        delete: (ref, d) => Blobs.del(client, ref, d).pipe(limited(ref.registry), span("blobs.delete", ref)),
        upload: (ref, s, o) => Blobs.upload(client, ref, s, o).pipe(limited(ref.registry), span("blobs.upload", ref)),
        mount: (ref, d, from, s) =>
          Blobs.mount(client, ref, d, from, s).pipe(limited(ref.registry), span("blobs.mount", ref))
      },
      tags: (repository, o) => Pagination.tags(client, repository, o),
      catalog: (registry, o) => Pagination.catalog(client, registry, o),
      referrers: (subject, o) =>
        Referrers.list(client, subject, o).pipe(limited(subject.registry), span("referrers", subject))
    }
    return service
  })

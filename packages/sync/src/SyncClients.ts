/**
 * The registry services a sync copies with, per configuration `registries` section (TLS, credentials):
 * `NodeSync.layerClients` builds them for Node.js and caches one set per distinct section.
 *
 * @since 0.5.0
 */
import type * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Ocidist from "ocidist/Ocidist"

/**
 * The settings of one registry a sync uses, as the workflows carry them (a configuration's `registries`
 * entry; `passwordEnv` is read where the clients are built, so no secret is journaled).
 *
 * @since 0.5.0
 * @category models
 */
export const RegistrySettings = Schema.Struct({
  tls: Schema.optional(Schema.Union(Schema.Boolean, Schema.Literal("insecure"))),
  ratelimit: Schema.optional(Schema.Struct({ pulls: Schema.Number, per: Schema.String })),
  credentials: Schema.optional(Schema.Union(
    Schema.Literal("docker-config"),
    Schema.Struct({
      username: Schema.String,
      // the name of the variable only: the payload is journaled, the password is read by the runner copying
      passwordEnv: Schema.optional(Schema.String)
    })
  ))
})

/**
 * @since 0.5.0
 * @category models
 */
export type RegistrySettings = typeof RegistrySettings.Type

/**
 * @since 0.5.0
 * @category models
 */
export const Registries = Schema.Record({ key: Schema.String, value: RegistrySettings })

/**
 * @since 0.5.0
 * @category models
 */
export type Registries = typeof Registries.Type

/**
 * The services for one `registries` section.
 *
 * @since 0.5.0
 * @category models
 */
export interface Clients {
  readonly ocidist: Ocidist.Service
  readonly registry: RegistryClient.Service
}

/**
 * @since 0.5.0
 * @category models
 */
export interface Service {
  readonly get: (registries: Registries) => Effect.Effect<Clients>
}

/**
 * @since 0.5.0
 * @category tags
 */
export class SyncClients extends Context.Tag("@ocidist/sync/SyncClients")<SyncClients, Service>() {}

/**
 * The settings of the registry of a repository (`host[:port]/path`; Docker Hub for a bare path), its key
 * compared without case.
 *
 * @since 0.5.0
 * @category utils
 */
export const settingsOf = (registries: Registries, repository: string): {
  readonly registry: string
  readonly settings: RegistrySettings | undefined
} => {
  const registry = registryOf(repository)
  const key = Object.keys(registries).find((k) => k.toLowerCase() === registry.toLowerCase())
  const alias = registry === "docker.io"
    ? Object.keys(registries).find((k) => ["registry-1.docker.io", "index.docker.io"].includes(k.toLowerCase()))
    : undefined
  const found = key ?? alias
  return { registry, settings: found === undefined ? undefined : registries[found] }
}

/**
 * The registry host of a repository name: its first component when that is a host (`.` or `:` or
 * `localhost`), else `docker.io`.
 *
 * @since 0.5.0
 * @category utils
 */
export const registryOf = (repository: string): string => {
  const slash = repository.indexOf("/")
  if (slash < 0) return repository.includes(".") || repository.includes(":") ? repository : "docker.io"
  const first = repository.slice(0, slash)
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : "docker.io"
}

/**
 * A repository of a registry as a content store: `@ocidist/spec`'s `Storage` over a `RegistryClient`, so the
 * copy engine (and any code written against `Storage`) reads from and writes to registries as it does to OCI
 * layouts, archives or memory.
 *
 * ```ts
 * const program = Effect.gen(function*() {
 *   const client = yield* RegistryClient.RegistryClient
 *   const source = Repository.make(client, Reference.parse("ghcr.io/org/app:1.0").pipe(Either.getOrThrow))
 *   const memory = yield* MemoryStore.make()
 *   const descriptor = yield* source.resolve("")          // the reference's own tag (or digest)
 *   const manifest = yield* source.fetchManifest(descriptor)
 *   // … fetchBlob / pushBlob the children, then pushManifest
 * })
 * ```
 *
 * - `resolve("")` is the reference's own identifier (its digest, else its tag, else `latest`); `resolve(tag)`
 *   and `resolve(digest)` look in the same repository. All by a manifest `HEAD`.
 * - `fetchManifest(d)` gets the manifest by digest (the client checks the digest; a size other than `d.size`
 *   fails with `SizeMismatch`); `fetchReference` does `resolve` and `fetchManifest` in one `GET`.
 * - `fetchBlob` is a verifying, resuming download (`verifiesBlobs`), holding a registry permit while it runs.
 * - `pushBlob` uploads; when the upload fails because the content's stream failed, that failure is reported,
 *   not the client's generic one. `pushManifest` puts by digest, or under each tag.
 *
 * @since 0.2.0
 */
import type { Reference } from "@ocidist/reference"
import type { Descriptor } from "@ocidist/spec/Descriptor"
import type * as Manifest from "@ocidist/spec/Manifest"
import type * as Storage from "@ocidist/spec/Storage"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/repository.js"
import type * as RegistryClient from "./RegistryClient.js"
import type * as RegistryError from "./RegistryError.js"

/**
 * A registry repository as a `Storage`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Repository extends Storage.Storage<RegistryError.RegistryClientError> {
  /** The reference the store was made for: its repository, and the default of `resolve("")`. */
  readonly reference: Reference.Reference
  readonly location: Storage.RepositoryLocation
  readonly fetchReference: (reference: string) => Effect.Effect<Manifest.Manifest, RegistryError.RegistryClientError>
  readonly tags: Effect.Effect<ReadonlyArray<string>, RegistryError.RegistryClientError>
  readonly referrers: (
    subject: Descriptor,
    options?: Storage.ReferrersOptions
  ) => Effect.Effect<ReadonlyArray<Descriptor>, RegistryError.RegistryClientError>
  readonly mount: (
    descriptor: Descriptor,
    from: Storage.RepositoryLocation
  ) => Effect.Effect<boolean, RegistryError.RegistryClientError>
}

/**
 * The repository of `reference` in the registry `client` talks to.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: (client: RegistryClient.Service, reference: Reference.Reference) => Repository = internal.make

/**
 * The registry implementation of `Storage` (see `Repository.ts`).
 *
 * @internal
 */
import { Digest, Reference } from "@ocidist/reference"
import type { Descriptor } from "@ocidist/spec/Descriptor"
import type * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import { SizeMismatch } from "@ocidist/spec/SpecError"
import * as Storage from "@ocidist/spec/Storage"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as RegistryClient from "../RegistryClient.js"
import type * as RegistryError from "../RegistryError.js"
import type { Repository } from "../Repository.js"

/**
 * Reports the failure of a blob's source as itself when an upload fails because of it (the client only sees
 * "reading the blob failed"). The source goes to the upload as a stream and as a pump, whichever it reads,
 * and as `open` (a resumed upload re-opens it at an offset).
 */
const keepSourceError = <A, E, E2>(
  content: Storage.BlobContent<E2>,
  upload: (source: {
    readonly stream: Stream.Stream<Uint8Array, E2>
    readonly pump: (sink: Storage.ChunkSink) => Effect.Effect<void, E2>
    readonly open: (offset: number) => Stream.Stream<Uint8Array, E2>
  }) => Effect.Effect<A, E>
): Effect.Effect<A, E | E2> =>
  Effect.suspend(() => {
    let failure: { readonly error: E2 } | undefined
    const track = (error: E2) =>
      Effect.sync(() => {
        failure = { error }
      })
    return Effect.catchAll(
      upload({
        stream: Stream.tapError(content.open(0), track),
        pump: (sink) => Effect.tapError(Storage.pump(content, 0, sink), track),
        open: (offset) => Stream.tapError(content.open(offset), track)
      }),
      (error): Effect.Effect<never, E | E2> => Effect.fail(failure === undefined ? error : failure.error)
    )
  })

/** @internal */
export const make = (client: RegistryClient.Service, reference: Reference.Reference): Repository => {
  const repository = Reference.repositoryOf(reference)
  const name = reference.toString()
  const atDigest = (digest: Digest.Digest) =>
    Reference.make({ registry: reference.registry, repository: reference.repository, digest })
  const atTag = (tag: string) => Reference.make({ registry: reference.registry, repository: reference.repository, tag })
  const at = (ref: string) => ref === "" ? reference : Digest.isDigest(ref) ? atDigest(ref) : atTag(ref)

  const resolve = (ref: string): Effect.Effect<Descriptor, RegistryError.RegistryClientError> =>
    Effect.map(client.manifests.head(at(ref)), (head) => ({
      mediaType: head.mediaType,
      digest: head.digest,
      size: head.size
    }))

  const fetchManifest = (descriptor: Descriptor): Effect.Effect<Manifest.Manifest, RegistryError.RegistryClientError> =>
    Effect.flatMap(
      client.manifests.get(atDigest(descriptor.digest)),
      (got): Effect.Effect<Manifest.Manifest, RegistryError.RegistryClientError> =>
        got.size === descriptor.size
          ? Effect.succeed(got.manifest)
          : Effect.fail(
            new SizeMismatch({
              subject: `manifest ${descriptor.digest} in ${name}`,
              expected: descriptor.size,
              actual: got.size
            })
          )
    )

  const exists = (descriptor: Descriptor): Effect.Effect<boolean, RegistryError.RegistryClientError> =>
    MediaType.isManifest(descriptor.mediaType)
      ? client.manifests.head(atDigest(descriptor.digest)).pipe(
        Effect.as(true),
        Effect.catchTag("NotFound", () => Effect.succeed(false))
      )
      : client.blobs.exists(repository, descriptor.digest)

  const put = (manifest: Manifest.Manifest, ref: Reference.Reference) =>
    client.manifests.put(ref, { bytes: manifest.bytes, mediaType: manifest.mediaType })

  return {
    name,
    reference,
    location: { registry: reference.registry, repository: reference.repository },
    verifiesBlobs: true,
    resolve,
    fetchReference: (ref) => Effect.map(client.manifests.get(at(ref)), (got) => got.manifest),
    fetchManifest,
    fetchBlob: (descriptor, options) =>
      client.blobs.stream(repository, descriptor.digest, { size: descriptor.size, offset: options?.offset }),
    pumpBlob: (descriptor, sink, options) =>
      client.blobs.pump(repository, descriptor.digest, sink, { size: descriptor.size, offset: options?.offset }),
    exists,
    tags: Effect.map(Stream.runCollect(client.tags(repository)), Chunk.toReadonlyArray),
    referrers: (subject, options) =>
      Effect.map(
        client.referrers(atDigest(subject.digest), { artifactType: options?.artifactType }),
        (result) => result.manifests
      ),
    pushBlob: (expected, content) =>
      keepSourceError(
        content,
        (source) =>
          client.blobs.upload(repository, {
            ...source,
            digest: expected.digest,
            size: expected.size,
            verified: content.verified
          })
      ).pipe(Effect.asVoid),
    pushManifest: (manifest, options) => {
      const tags = options?.tags ?? []
      return tags.length === 0
        ? Effect.asVoid(put(manifest, atDigest(manifest.digest)))
        : Effect.forEach(tags, (tag) => put(manifest, atTag(tag)), { concurrency: 8, discard: true })
    },
    tag: (descriptor, tag) =>
      Effect.flatMap(fetchManifest(descriptor), (manifest) => Effect.asVoid(put(manifest, atTag(tag)))),
    mount: (descriptor, from) =>
      Effect.map(
        client.blobs.mount(
          repository,
          descriptor.digest,
          Reference.make({ registry: from.registry, repository: from.repository })
        ),
        (result) => result.mounted
      )
  }
}

/**
 * Registry endpoints over `RegistryClient`.
 */
import type * as RegistryClient from "@ocidist/distribution/RegistryClient"
import type * as Digest from "@ocidist/reference/Digest"
import * as Reference from "@ocidist/reference/Reference"
import type * as Manifest from "@ocidist/spec/Manifest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { OcidistError } from "../OcidistError.js"
import type { Source, Target } from "./endpoint.js"

const atDigest = (ref: Reference.Reference, digest: Digest.Digest) =>
  Reference.make({ registry: ref.registry, repository: ref.repository, digest })

const atTag = (ref: Reference.Reference, tag: string) =>
  Reference.make({ registry: ref.registry, repository: ref.repository, tag })

export const listTags = (client: RegistryClient.Service, ref: Reference.Reference) =>
  Effect.map(Stream.runCollect(client.tags(Reference.repositoryOf(ref))), Chunk.toReadonlyArray)

export const source = (client: RegistryClient.Service, ref: Reference.Reference): Source => {
  const repo = Reference.repositoryOf(ref)
  return {
    label: ref.toString(),
    tag: ref.tag,
    root: Effect.map(client.manifests.get(ref), (r) => r.manifest),
    rootOf: (tag) => Effect.map(client.manifests.get(atTag(ref, tag)), (r) => r.manifest),
    tags: listTags(client, ref),
    manifest: (d) => Effect.map(client.manifests.get(atDigest(ref, d.digest)), (r) => r.manifest),
    blob: (d, offset) =>
      Stream.unwrap(
        Effect.map(
          client.blobs.get(repo, d.digest, offset > 0 ? { size: d.size, offset } : { size: d.size }),
          (r) => r.stream
        )
      ),
    verifiesBlobs: true,
    referrers: (digest) => Effect.map(client.referrers(atDigest(ref, digest)), (r) => r.manifests),
    repository: { registry: ref.registry, repository: ref.repository }
  }
}

/**
 * Runs `f` with the source stream instrumented so that, when the upload fails because the *source* failed,
 * the source's own typed error is reported instead of the client's generic "reading the blob failed".
 */
const keepSourceError = <A, E2>(
  stream: Stream.Stream<Uint8Array, OcidistError>,
  f: (stream: Stream.Stream<Uint8Array, OcidistError>) => Effect.Effect<A, E2>
): Effect.Effect<A, E2 | OcidistError> =>
  Effect.suspend(() => {
    let failure: OcidistError | undefined
    const tracked = Stream.tapError(stream, (e) =>
      Effect.sync(() => {
        failure = e
      }))
    return Effect.catchAll(f(tracked), (e) => Effect.fail(failure ?? e))
  })

export const target = (client: RegistryClient.Service, ref: Reference.Reference): Target => {
  const repo = Reference.repositoryOf(ref)
  const put = (m: Manifest.Manifest, at: Reference.Reference) =>
    client.manifests.put(at, { bytes: m.bytes, mediaType: m.mediaType })
  return {
    label: ref.toString(),
    tag: ref.tag,
    hasBlob: (d) => client.blobs.exists(repo, d.digest),
    hasManifest: (d) =>
      client.manifests.head(atDigest(ref, d.digest)).pipe(
        Effect.as(true),
        Effect.catchTag("NotFound", () => Effect.succeed(false))
      ),
    writeBlob: (d, open) =>
      keepSourceError(
        open(0),
        (stream) => client.blobs.upload(repo, { stream, digest: d.digest, size: d.size })
      ).pipe(Effect.asVoid),
    mount: (d, from) =>
      Effect.map(
        client.blobs.mount(repo, d.digest, Reference.make({ registry: from.registry, repository: from.repository })),
        (r) => r.mounted
      ),
    repository: { registry: ref.registry, repository: ref.repository },
    writeManifest: (m, tags) =>
      tags.length === 0
        ? Effect.asVoid(put(m, atDigest(ref, m.digest)))
        : Effect.forEach(tags, (tag) => put(m, atTag(ref, tag)), { concurrency: 8, discard: true }),
    commit: Effect.void
  }
}

/**
 * A test-local copy of one image through the `@ocidist/spec` content interfaces (the copy engine itself
 * lives in the `ocidist` facade): children before parents, blobs the target has are skipped, foreign layers
 * the source does not have are left out, the root pushed with `root: true` and `tags`.
 */
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import type * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"

export const copyImage = <E1, E2>(
  from: Storage.ReadOnlyStorage<E1>,
  to: Storage.Storage<E2>,
  reference: string,
  options?: { readonly tags?: ReadonlyArray<string>; readonly concurrency?: number }
): Effect.Effect<Descriptor.Descriptor, E1 | E2> =>
  Effect.gen(function*() {
    const root = yield* from.resolve(reference)
    const seen = new Set<string>()
    const visit = (descriptor: Descriptor.Descriptor, isRoot: boolean): Effect.Effect<void, E1 | E2> =>
      Effect.gen(function*() {
        if (seen.has(descriptor.digest)) return
        seen.add(descriptor.digest)
        if (MediaType.isManifest(descriptor.mediaType)) {
          const manifest = yield* from.fetchManifest(descriptor)
          yield* Effect.forEach(Manifest.children(manifest), (child) => visit(child, false), {
            concurrency: options?.concurrency ?? 3,
            discard: true
          })
          yield* to.pushManifest(manifest, isRoot ? { tags: options?.tags ?? [], root: true } : {})
          return
        }
        if (yield* to.exists(descriptor)) return
        if (descriptor.urls !== undefined && descriptor.urls.length > 0 && !(yield* from.exists(descriptor))) return
        yield* to.pushBlob(descriptor, {
          open: (offset) => from.fetchBlob(descriptor, offset > 0 ? { offset } : {}),
          verified: from.verifiesBlobs
        })
      })
    yield* visit(root, true)
    return root
  })

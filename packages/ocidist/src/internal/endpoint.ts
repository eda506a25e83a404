/**
 * The small interface the copy engine drives: a readable Source and a writable Target. Adapters for
 * registries and local layouts / archives implement it.
 */
import type * as Digest from "@ocidist/reference/Digest"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Manifest from "@ocidist/spec/Manifest"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { OcidistError } from "../OcidistError.js"

/** A repository of a registry, for cross-repository mounts. */
export interface RepositoryRef {
  readonly registry: string
  readonly repository: string
}

export interface Source {
  /** For messages and results (the formatted location). */
  readonly label: string
  /** The tag the location names (for the destination's default tag). */
  readonly tag: string | undefined
  /** The root manifest the location names. */
  readonly root: Effect.Effect<Manifest.Manifest, OcidistError>
  /** The root manifest under another tag of the same repository / layout (for `allTags`). */
  readonly rootOf: (tag: string) => Effect.Effect<Manifest.Manifest, OcidistError>
  /** Every tag of the repository / layout. */
  readonly tags: Effect.Effect<ReadonlyArray<string>, OcidistError>
  /** A manifest by digest (verified). */
  readonly manifest: (descriptor: Descriptor.Descriptor) => Effect.Effect<Manifest.Manifest, OcidistError>
  /** A blob's bytes from `offset` on (the target verifies the whole content). */
  readonly blob: (descriptor: Descriptor.Descriptor, offset: number) => Stream.Stream<Uint8Array, OcidistError>
  /** `blob(d, 0)` fails unless its bytes match `d`'s digest and size, so a target need not hash them again. */
  readonly verifiesBlobs: boolean
  /** Manifests whose subject is `digest` (OCI 1.1 referrers, with tag-schema fallback). */
  readonly referrers: (digest: Digest.Digest) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, OcidistError>
  /** Set when blobs can be mounted from here into another repository of the same registry. */
  readonly repository: RepositoryRef | undefined
}

export interface Target {
  readonly label: string
  /** The tag the location names, if any. */
  readonly tag: string | undefined
  readonly hasBlob: (descriptor: Descriptor.Descriptor) => Effect.Effect<boolean, OcidistError>
  readonly hasManifest: (descriptor: Descriptor.Descriptor) => Effect.Effect<boolean, OcidistError>
  /**
   * Stores a blob. The target asks `open` for the bytes from the offset it has already (0, or the length
   * of a partial download it resumes), verifies size and digest, and stores it atomically.
   */
  readonly writeBlob: (
    descriptor: Descriptor.Descriptor,
    open: (offset: number) => Stream.Stream<Uint8Array, OcidistError>,
    options: { readonly sourceVerifies: boolean }
  ) => Effect.Effect<void, OcidistError>
  /** Cross-repository mount; `false` when the registry declined (the caller then transfers). */
  readonly mount:
    | ((descriptor: Descriptor.Descriptor, from: RepositoryRef) => Effect.Effect<boolean, OcidistError>)
    | undefined
  readonly repository: RepositoryRef | undefined
  /**
   * Stores a manifest (its children are already there) and points `tags` at it. Roots and referrers are
   * entry points (a layout lists them in `index.json` even untagged); children are not.
   */
  readonly writeManifest: (
    manifest: Manifest.Manifest,
    tags: ReadonlyArray<string>,
    role: "root" | "child" | "referrer"
  ) => Effect.Effect<void, OcidistError>
  /** Completes the destination (archives are written here). */
  readonly commit: Effect.Effect<void, OcidistError>
}

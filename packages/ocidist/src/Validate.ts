/**
 * Checks an image, index or artifact where it is stored (registry, OCI layout, archive): every descriptor
 * reachable from it — index children, manifests, configs, layers — is read and checked: present, of the size
 * and digest the descriptor says, its media type known and consistent with what it is. With `full`, every
 * image layer is also read through its decompression (gzip, zstd, none) and a tar parser (header checksums,
 * sizes, PAX `size` records included, end of archive), and its uncompressed digest compared with the config's
 * `rootfs.diff_ids`.
 *
 * With `referrers`, the referrers of every manifest checked (the registry's Referrers API or its tag fallback,
 * a layout's `index.json` entries whose manifest has that `subject`) are listed and checked the same way,
 * recursively (a signature of an SBOM of an image too); a referrer whose `subject` is not the manifest it was
 * listed for is a `SubjectMismatch`.
 *
 * Findings about the content are problems in the result; failures reaching it (a registry unreachable,
 * credentials refused) fail the operation.
 *
 * @since 0.5.0
 */
import type * as Reference from "@ocidist/reference/Reference"
import type * as Effect from "effect/Effect"
import type * as Blob from "./Blob.js"
import * as internal from "./internal/validate.js"
import type * as Location from "./Location.js"
import type { OcidistError } from "./OcidistError.js"

/**
 * @since 0.5.0
 * @category models
 */
export type LocationInput = string | Location.Location | Reference.Reference

/**
 * @since 0.5.0
 * @category options
 */
export interface Options {
  /** Also read every layer through its decompression and tar stream, and check `rootfs.diff_ids`. */
  readonly full?: boolean | undefined
  /**
   * Also list the referrers of every manifest checked and check them (and their own referrers) the same way.
   *
   * @since 0.5.0
   */
  readonly referrers?: boolean | undefined
}

/**
 * What a problem is about.
 *
 * @since 0.5.0
 * @category models
 */
export type ProblemKind =
  | "Missing"
  | "SizeMismatch"
  | "DigestMismatch"
  | "InvalidManifest"
  | "MediaTypeMismatch"
  | "UnknownMediaType"
  | "InvalidConfig"
  | "InvalidLayer"
  | "DiffIdMismatch"
  | "SubjectMismatch"

/**
 * @since 0.5.0
 * @category models
 */
export interface Problem {
  readonly digest: string
  readonly mediaType: string
  readonly kind: ProblemKind
  readonly detail: string
  /** The manifest whose descriptor it is, or the manifest a referrer was listed for (none for the root). */
  readonly parent?: string
}

/**
 * @since 0.5.0
 * @category models
 */
export interface Validation {
  readonly location: string
  /** The digest of the root. */
  readonly digest: string
  readonly ok: boolean
  /** Descriptors read. */
  readonly checked: number
  /** Bytes read (compressed). */
  readonly bytes: number
  /** Referrers listed and checked (with `referrers`; else 0). */
  readonly referrers: number
  readonly problems: ReadonlyArray<Problem>
}

/**
 * Validates what a location names (see the module documentation).
 *
 * @since 0.5.0
 * @category operations
 */
export const validate: (
  location: LocationInput,
  options?: Options
) => Effect.Effect<Validation, OcidistError, Blob.Requirements> = internal.validate

/**
 * `Layout.verify`: everything reachable from `index.json` present, of the right size and digest, and every
 * manifest decodable.
 *
 * @since 0.2.0
 */
import * as Digest from "@ocidist/reference/Digest"
import * as Hash from "@ocidist/reference/Hash"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import type { ContentTooLarge } from "@ocidist/spec/SpecError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Reader, VerifyProblem, VerifyReport } from "../Layout.js"
import { isLayoutError, type LayoutError } from "../LayoutError.js"

/** @internal */
export const verify = (
  reader: Reader,
  entries: Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, LayoutError | ContentTooLarge>,
  hash: Hash.Service,
  options?: { readonly hash?: boolean }
): Effect.Effect<VerifyReport, LayoutError | ContentTooLarge> =>
  Effect.gen(function*() {
    const hashBlobs = options?.hash ?? true
    const roots = yield* entries
    const problems: Array<VerifyProblem> = []
    const seen = new Set<string>()
    let bytes = 0
    const problem = (p: VerifyProblem) => Effect.sync(() => problems.push(p))
    const visit = (descriptor: Descriptor.Descriptor, parent: string | undefined): Effect.Effect<void, LayoutError> =>
      Effect.gen(function*() {
        if (seen.has(descriptor.digest)) return
        seen.add(descriptor.digest)
        const withParent = parent === undefined ? {} : { parent }
        const size = yield* reader.blobSize(descriptor.digest)
        if (Option.isNone(size)) {
          if (descriptor.urls !== undefined && descriptor.urls.length > 0) return
          return yield* problem({
            digest: descriptor.digest,
            kind: "Missing",
            detail: "blob is missing",
            ...withParent
          })
        }
        if (size.value !== descriptor.size) {
          return yield* problem({
            digest: descriptor.digest,
            kind: "SizeMismatch",
            detail: `descriptor says ${descriptor.size} bytes, the file has ${size.value}`,
            ...withParent
          })
        }
        if (MediaType.isManifest(descriptor.mediaType)) {
          const result = yield* Effect.either(reader.fetchManifest(descriptor))
          bytes += descriptor.size
          if (Either.isLeft(result)) {
            const e = result.left
            // the layout failing to read is an error; content that is not a manifest is a finding
            if (isLayoutError(e)) return yield* e
            return yield* problem({
              digest: descriptor.digest,
              kind: e._tag === "DigestMismatch" ? "DigestMismatch" : "InvalidManifest",
              detail: e.message,
              ...withParent
            })
          }
          for (const child of Manifest.children(result.right)) yield* visit(child, descriptor.digest)
          return
        }
        if (!hashBlobs) return
        const actual = yield* Digest.fromStream(reader.fetchBlob(descriptor), Digest.algorithm(descriptor.digest))
          .pipe(Effect.provideService(Hash.Hash, hash))
        bytes += actual.size
        if (actual.digest !== descriptor.digest) {
          yield* problem({
            digest: descriptor.digest,
            kind: "DigestMismatch",
            detail: `content hashes to ${actual.digest}`,
            ...withParent
          })
        }
      })
    for (const entry of roots) yield* visit(entry, undefined)
    return { ok: problems.length === 0, checked: seen.size, bytes, problems }
  })

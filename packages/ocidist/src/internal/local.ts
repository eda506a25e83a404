/**
 * Local endpoints: any `@ocidist/layout` `Reader` (layout directory, oci-archive, docker-archive) as a
 * source; a layout directory as a target.
 */
import type * as Layout from "@ocidist/layout/Layout"
import type * as Digest from "@ocidist/reference/Digest"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Source, Target } from "./endpoint.js"

const REF_NAME = "org.opencontainers.image.ref.name"

export const refName = (d: Descriptor.Descriptor): string | undefined => d.annotations?.[REF_NAME]

export const tagsOf = (reader: Layout.Reader) =>
  Effect.map(reader.entries, (entries) => {
    const tags: Array<string> = []
    for (const e of entries) {
      const name = refName(e)
      if (name !== undefined && !tags.includes(name)) tags.push(name)
    }
    return tags
  })

/** Manifests listed in the reader's index whose `subject` is `digest`. */
export const referrersOf = (reader: Layout.Reader, digest: Digest.Digest) =>
  Effect.gen(function*() {
    const entries = yield* reader.entries
    const found: Array<Descriptor.Descriptor> = []
    for (const e of entries) {
      if (found.some((f) => f.digest === e.digest)) continue
      const m = yield* reader.readManifest(e)
      if (m.manifest.subject?.digest === digest) {
        const { annotations: _a, ...rest } = e
        const annotations = m.manifest.annotations
        found.push(annotations === undefined ? rest : { ...rest, annotations })
      }
    }
    return found
  })

export const source = (
  reader: Layout.Reader,
  label: string,
  selector: { readonly tag?: string | undefined; readonly digest?: string | undefined }
): Source => ({
  label,
  tag: selector.tag,
  root: Effect.flatMap(reader.resolve(selector.digest ?? selector.tag ?? ""), reader.readManifest),
  rootOf: (tag) => Effect.flatMap(reader.resolve(tag), reader.readManifest),
  tags: tagsOf(reader),
  manifest: (d) => reader.readManifest(d),
  blob: (d, offset) => reader.readBlob(d.digest, offset > 0 ? { offset } : {}),
  verifiesBlobs: false,
  referrers: (digest) => referrersOf(reader, digest),
  repository: undefined
})

export const target = (layout: Layout.Layout, label: string, tag: string | undefined): Target => ({
  label,
  tag,
  hasBlob: (d) => layout.hasBlob(d.digest),
  hasManifest: (d) => layout.hasBlob(d.digest),
  writeBlob: (d, open, { sourceVerifies }) =>
    Effect.gen(function*() {
      const partial = yield* layout.partialSize(d.digest)
      const offset = Option.getOrElse(partial, () => 0)
      const resumable = offset > 0 && offset < d.size
      if (offset > 0 && !resumable) yield* layout.discardPartial(d.digest)
      const fresh = layout.writeBlob({ digest: d.digest, size: d.size }, open(0), { verified: sourceVerifies })
      if (!resumable) return yield* fresh
      // A partial file whose prefix turns out wrong (the whole content does not match) is discarded by the
      // layout; start over once from byte 0 rather than failing the pull.
      yield* layout.writeBlob({ digest: d.digest, size: d.size }, open(offset), { resumeFrom: offset }).pipe(
        Effect.catchIf(
          (e) => e._tag === "DigestMismatch" || (e._tag === "LayoutError" && e.reason === "SizeMismatch"),
          () => Effect.zipRight(layout.discardPartial(d.digest), fresh)
        )
      )
    }),
  mount: undefined,
  repository: undefined,
  writeManifest: (m, tags, role) =>
    Effect.gen(function*() {
      const descriptor = yield* layout.writeManifest(m.bytes, { mediaType: m.mediaType })
      if (tags.length > 0) {
        for (const t of tags) yield* layout.tag(descriptor, t)
      } else if (role !== "child") {
        yield* layout.addEntry(descriptor)
      }
    }),
  commit: Effect.void
})

/**
 * The copy engine: walks the graph of the source (roots → index children → config and layers, plus
 * referrers), decides per blob whether to skip, mount or transfer, then runs the plan with bounded
 * concurrency: blobs first, then manifests children-before-parents, then the tags.
 */
import type * as Digest from "@ocidist/reference/Digest"
import * as Registry from "@ocidist/reference/Registry"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as Platform from "@ocidist/spec/Platform"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { NothingToCopy, type OcidistError, PlatformNotFound } from "../OcidistError.js"
import * as Progress from "../Progress.js"
import type * as Result from "../Result.js"
import type { RepositoryRef, Source, Target } from "./endpoint.js"

export interface CopyConfig {
  readonly platforms: ReadonlyArray<Platform.Platform> | undefined
  readonly referrers: boolean
  readonly allTags: boolean
  readonly dryRun: boolean
  readonly concurrency: number
  /** Tags for the root at the destination (when not `allTags`); default: the target's tag, else the source's. */
  readonly tags?: ReadonlyArray<string> | undefined
}

interface PlannedManifest {
  readonly manifest: Manifest.Manifest
  readonly role: Result.ManifestRole
  readonly platform: Platform.Platform | undefined
  action: "write" | "skip"
  readonly tags: Array<string>
  /** Digests of this manifest's graph (children, itself, referrers), in result order. */
  subtree: ReadonlyArray<Digest.Digest>
}

interface PlannedBlob {
  readonly descriptor: Descriptor.Descriptor
  action: Result.BlobAction
  transferred: number
}

interface PlannedImage {
  readonly sourceDigest: Digest.Digest
  readonly root: Manifest.Manifest
  readonly tags: ReadonlyArray<string>
  readonly manifests: Array<Digest.Digest>
}

export interface Plan {
  readonly images: ReadonlyArray<PlannedImage>
  /** Every manifest once, in write order. */
  readonly manifests: ReadonlyArray<PlannedManifest>
  readonly blobs: ReadonlyArray<PlannedBlob>
}

const METADATA_CONCURRENCY = 8

const isNonDistributable = (d: Descriptor.Descriptor) =>
  d.urls !== undefined && d.urls.length > 0 &&
  (d.mediaType.includes("foreign") || d.mediaType.includes("nondistributable"))

const descriptorOf = (m: Manifest.Manifest): Descriptor.Descriptor => Manifest.descriptorOf(m)

/**
 * Chooses what to store for a root when platforms are selected: the root itself (no selection, or an
 * image manifest), the one matching manifest (one platform), or a rewritten index (several).
 */
const selectPlatforms = (
  source: Source,
  root: Manifest.Manifest,
  platforms: ReadonlyArray<Platform.Platform> | undefined
): Effect.Effect<Manifest.Manifest, OcidistError> =>
  Effect.gen(function*() {
    if (platforms === undefined || platforms.length === 0 || root._tag !== "ImageIndex") return root
    const entries = root.manifest.manifests
    const chosen: Array<Descriptor.Descriptor> = []
    for (const wanted of platforms) {
      const match = Platform.best(wanted, entries)
      if (match === undefined) {
        return yield* new PlatformNotFound({
          location: source.label,
          wanted: Platform.format(wanted),
          available: entries.flatMap((e) => e.platform === undefined ? [] : [Platform.format(e.platform)])
        })
      }
      if (!chosen.some((c) => c.digest === match.digest)) chosen.push(match)
    }
    if (chosen.length === 1) {
      const child = yield* source.manifest(chosen[0]!)
      return child._tag === "ImageIndex" ? yield* selectPlatforms(source, child, platforms) : child
    }
    // Several platforms: rewrite the index keeping its other fields and the raw entries, in index order.
    const raw = JSON.parse(new TextDecoder().decode(root.bytes)) as Record<string, unknown>
    const rawEntries = Array.isArray(raw.manifests) ? (raw.manifests as Array<Record<string, unknown>>) : []
    const keep = new Set(chosen.map((c) => c.digest))
    const rewritten = Manifest.encode({ ...raw, manifests: rawEntries.filter((e) => keep.has(e.digest as never)) })
    return yield* Either.match(Manifest.decode(rewritten, { contentType: root.mediaType }), {
      onLeft: (e) => Effect.fail(e),
      onRight: (m) => Effect.succeed(m)
    })
  })

export const plan = (source: Source, target: Target, config: CopyConfig): Effect.Effect<Plan, OcidistError> =>
  Effect.gen(function*() {
    // Metadata requests (manifests, HEADs) are small: run more of them at once than blob transfers.
    const concurrency = Math.max(METADATA_CONCURRENCY, config.concurrency)
    // 1. Roots.
    const roots: Array<{ readonly manifest: Manifest.Manifest; readonly tags: ReadonlyArray<string> }> = []
    if (config.allTags) {
      // sorted: the result order must not depend on the registry's listing order
      const tags = [...(yield* source.tags)].sort()
      if (tags.length === 0) {
        return yield* new NothingToCopy({ location: source.label, detail: "it has no tags" })
      }
      const manifests = yield* Effect.forEach(tags, (tag) => source.rootOf(tag), { concurrency })
      manifests.forEach((manifest, i) => roots.push({ manifest, tags: [tags[i]!] }))
    } else {
      const manifest = yield* source.root
      const tag = target.tag ?? source.tag
      roots.push({ manifest, tags: config.tags ?? (tag === undefined ? [] : [tag]) })
    }

    // 2. Walk.
    const manifests = new Map<string, PlannedManifest>()
    const order: Array<PlannedManifest> = []
    const blobs = new Map<string, PlannedBlob>()
    const images: Array<PlannedImage> = []

    const addBlob = (d: Descriptor.Descriptor) => {
      if (isNonDistributable(d) || blobs.has(d.digest)) return
      blobs.set(d.digest, { descriptor: d, action: "transfer", transferred: 0 })
    }

    /** Child manifests and whether the destination has them, fetched concurrently; order kept. */
    const fetchAll = (
      descriptors: ReadonlyArray<Descriptor.Descriptor>
    ): Effect.Effect<ReadonlyArray<readonly [Manifest.Manifest, boolean | undefined]>, OcidistError> =>
      Effect.forEach(
        descriptors,
        (d): Effect.Effect<readonly [Manifest.Manifest, boolean | undefined], OcidistError> =>
          manifests.has(d.digest)
            ? Effect.map(source.manifest(d), (m) => [m, undefined] as const)
            : Effect.all([source.manifest(d), target.hasManifest(d)]),
        { concurrency }
      )

    const visit = (
      image: PlannedImage,
      manifest: Manifest.Manifest,
      role: Result.ManifestRole,
      platform: Platform.Platform | undefined,
      tags: ReadonlyArray<string>,
      known?: boolean | undefined
    ): Effect.Effect<void, OcidistError> =>
      Effect.gen(function*() {
        const seen = manifests.get(manifest.digest)
        if (seen !== undefined) {
          for (const d of seen.subtree) if (!image.manifests.includes(d)) image.manifests.push(d)
          for (const t of tags) if (!seen.tags.includes(t)) seen.tags.push(t)
          if (tags.length > 0) seen.action = "write"
          return
        }
        const exists = known ?? (yield* target.hasManifest(descriptorOf(manifest)))
        const entry: PlannedManifest = {
          manifest,
          role,
          platform,
          action: exists && tags.length === 0 ? "skip" : "write",
          tags: [...tags],
          subtree: []
        }
        const before = image.manifests.length
        manifests.set(manifest.digest, entry)
        if (!exists) {
          if (manifest._tag === "ImageIndex") {
            const children = manifest.manifest.manifests
            const fetched = yield* fetchAll(children)
            for (let i = 0; i < fetched.length; i++) {
              const [child, childExists] = fetched[i]!
              const childRole = role === "referrer" ? "referrer" : "child"
              yield* visit(image, child, childRole, children[i]!.platform, [], childExists)
            }
          } else {
            addBlob(manifest.manifest.config)
            for (const layer of manifest.manifest.layers) addBlob(layer)
          }
        }
        order.push(entry)
        image.manifests.push(manifest.digest)
        if (config.referrers) {
          // sorted by digest: the listing order differs between the referrers API and the fallback index
          const referrers = [...(yield* source.referrers(manifest.digest))].sort((a, b) =>
            a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0
          )
          const fetched = yield* fetchAll(referrers)
          for (const [r, rExists] of fetched) yield* visit(image, r, "referrer", undefined, [], rExists)
        }
        entry.subtree = image.manifests.slice(before)
      })

    for (const root of roots) {
      const stored = yield* selectPlatforms(source, root.manifest, config.platforms)
      const image: PlannedImage = { sourceDigest: root.manifest.digest, root: stored, tags: root.tags, manifests: [] }
      images.push(image)
      yield* visit(image, stored, "root", undefined, root.tags)
    }

    // 3. Blob actions.
    const from = source.repository
    const to = target.repository
    const canMount = target.mount !== undefined && from !== undefined && to !== undefined &&
      Registry.same(from.registry, to.registry) && from.repository !== to.repository
    const planned = [...blobs.values()]
    yield* Effect.forEach(planned, (b) =>
      Effect.map(target.hasBlob(b.descriptor), (has) => {
        b.action = has ? "skip" : canMount ? "mount" : "transfer"
      }), { concurrency, discard: true })

    return { images, manifests: order, blobs: planned }
  })

const transferBlob = (
  source: Source,
  target: Target,
  reporter: Progress.Service,
  b: PlannedBlob
): Effect.Effect<void, OcidistError> =>
  Effect.gen(function*() {
    const d = b.descriptor
    let moved = 0
    yield* target.writeBlob(d, (offset) =>
      Stream.unwrap(Effect.suspend(() => {
        moved = 0
        return Effect.as(
          reporter.emit({ _tag: "BlobStarted", digest: d.digest, mediaType: d.mediaType, size: d.size, offset }),
          source.blob(d, offset).pipe(
            Stream.tap((chunk) => {
              moved += chunk.length
              return reporter.emit({
                _tag: "BlobProgress",
                digest: d.digest,
                size: d.size,
                transferred: offset + moved
              })
            })
          )
        )
      })), { sourceVerifies: source.verifiesBlobs })
    b.transferred = moved
    yield* reporter.emit({
      _tag: "BlobDone",
      digest: d.digest,
      mediaType: d.mediaType,
      size: d.size,
      transferred: moved
    })
  })

const runBlob = (
  source: Source,
  target: Target,
  reporter: Progress.Service,
  b: PlannedBlob
): Effect.Effect<void, OcidistError> => {
  const d = b.descriptor
  switch (b.action) {
    case "skip":
      return reporter.emit({ _tag: "BlobSkipped", digest: d.digest, mediaType: d.mediaType, size: d.size })
    case "mount": {
      const from = source.repository!
      return Effect.flatMap(target.mount!(d, from), (mounted) => {
        if (mounted) {
          return reporter.emit({
            _tag: "BlobMounted",
            digest: d.digest,
            mediaType: d.mediaType,
            size: d.size,
            from: `${from.registry}/${from.repository}`
          })
        }
        b.action = "transfer"
        return transferBlob(source, target, reporter, b)
      })
    }
    case "transfer":
      return transferBlob(source, target, reporter, b)
  }
}

export const execute = (
  source: Source,
  target: Target,
  plan: Plan,
  config: CopyConfig
): Effect.Effect<void, OcidistError> =>
  Effect.gen(function*() {
    const reporter = yield* Progress.Reporter
    const transfers = plan.blobs.filter((b) => b.action === "transfer")
    yield* reporter.emit({
      _tag: "Planned",
      manifests: plan.manifests.length,
      blobs: plan.blobs.length,
      bytes: transfers.reduce((n, b) => n + b.descriptor.size, 0),
      skipped: plan.blobs.filter((b) => b.action === "skip").length,
      mounts: plan.blobs.filter((b) => b.action === "mount").length
    })
    yield* Effect.forEach(plan.blobs, (b) => runBlob(source, target, reporter, b), {
      concurrency: Math.max(1, config.concurrency),
      discard: true
    })
    for (const m of plan.manifests) {
      const { digest, mediaType, bytes } = m.manifest
      if (m.action === "skip") {
        yield* reporter.emit({ _tag: "ManifestSkipped", digest, mediaType, size: bytes.length })
      } else {
        yield* target.writeManifest(m.manifest, m.tags, m.role)
        yield* reporter.emit({ _tag: "ManifestDone", digest, mediaType, size: bytes.length, tags: m.tags })
      }
    }
    yield* target.commit
  })

export const toResult = (
  source: Source,
  target: Target,
  plan: Plan,
  dryRun: boolean
): Result.CopyResult => {
  const byDigest = new Map(plan.manifests.map((m) => [m.manifest.digest as string, m]))
  const images = plan.images.map((image): Result.ImageEntry => ({
    source: source.label,
    destination: target.label,
    sourceDigest: image.sourceDigest,
    digest: image.root.digest,
    mediaType: image.root.mediaType,
    size: image.root.bytes.length,
    tags: image.tags,
    manifests: image.manifests.flatMap((digest) => {
      const m = byDigest.get(digest)
      if (m === undefined) return []
      const artifactType = Manifest.descriptorOf(m.manifest).artifactType
      return [{
        digest: m.manifest.digest,
        mediaType: m.manifest.mediaType,
        size: m.manifest.bytes.length,
        role: m.role,
        action: m.action,
        ...(m.platform === undefined ? {} : { platform: m.platform }),
        ...(artifactType === undefined ? {} : { artifactType }),
        tags: m.tags
      }]
    })
  }))
  const blobs = plan.blobs.map((b): Result.BlobEntry => ({
    digest: b.descriptor.digest,
    mediaType: b.descriptor.mediaType,
    size: b.descriptor.size,
    action: b.action,
    transferred: dryRun ? 0 : b.transferred
  }))
  const first = images[0]!
  const count = (a: Result.BlobAction) => blobs.filter((b) => b.action === a).length
  return {
    source: source.label,
    destination: target.label,
    dryRun,
    digest: first.digest,
    mediaType: first.mediaType,
    size: first.size,
    images,
    blobs,
    stats: {
      manifests: plan.manifests.length,
      manifestsWritten: dryRun ? 0 : plan.manifests.filter((m) => m.action === "write").length,
      blobs: blobs.length,
      transferred: count("transfer"),
      skipped: count("skip"),
      mounted: count("mount"),
      bytes: blobs.reduce((n, b) => n + b.transferred, 0),
      plannedBytes: blobs.filter((b) => b.action === "transfer").reduce((n, b) => n + b.size, 0),
      totalBytes: blobs.reduce((n, b) => n + b.size, 0)
    }
  }
}

export const copy = (
  source: Source,
  target: Target,
  config: CopyConfig
): Effect.Effect<Result.CopyResult, OcidistError> =>
  Effect.gen(function*() {
    const p = yield* plan(source, target, config)
    if (!config.dryRun) yield* execute(source, target, p, config)
    return toResult(source, target, p, config.dryRun)
  })

export type { RepositoryRef }

/**
 * The copy engine (see `Copy.ts`): walks the graph of the source (roots → index children → config and
 * layers, plus referrers), decides per blob whether to skip, mount or transfer, then runs the plan with
 * bounded concurrency: blobs first, then manifests children-before-parents, roots last with their tags.
 *
 * @internal
 */
import type * as Digest from "@ocidist/reference/Digest"
import * as Registry from "@ocidist/reference/Registry"
import * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import type * as Platform from "@ocidist/spec/Platform"
import * as Storage from "@ocidist/spec/Storage"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import type * as Copy from "../Copy.js"
import { NothingToCopy, UnsupportedOperation } from "../OcidistError.js"
import * as Progress from "../Progress.js"
import type * as Result from "../Result.js"
import { selectPlatforms } from "./platform.js"

type Source<E> = Storage.ReadOnlyStorage<E>
type Target<E> = Storage.Storage<E>

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

const descriptorOf = (m: Manifest.Manifest): Descriptor.Descriptor => Manifest.descriptorOf(m)

interface Settings {
  readonly platforms: ReadonlyArray<Platform.Platform> | undefined
  readonly indexPlatformsOnly: boolean
  readonly referrers: boolean
  readonly dryRun: boolean
  readonly concurrency: number
}

const plan = <E1, E2>(
  source: Source<E1>,
  target: Target<E2>,
  options: Copy.Options | undefined,
  settings: Settings
): Effect.Effect<Plan, E1 | E2 | Copy.CopyError> =>
  Effect.gen(function*() {
    // Metadata requests (manifests, HEADs) are small: run more of them at once than blob transfers.
    const concurrency = Math.max(METADATA_CONCURRENCY, settings.concurrency)
    // 1. Roots.
    const roots: Array<{ readonly manifest: Manifest.Manifest; readonly tags: ReadonlyArray<string> }> = []
    if (options?.allTags === true) {
      if (source.tags === undefined) {
        return yield* new UnsupportedOperation({
          operation: "copying every tag",
          location: source.name,
          detail: "this store cannot list its tags"
        })
      }
      // sorted: the result order must not depend on the registry's listing order
      const tags = [...(yield* source.tags)].sort()
      if (tags.length === 0) {
        return yield* new NothingToCopy({ location: source.name, detail: "it has no tags" })
      }
      const manifests = yield* Effect.forEach(tags, (tag) => Storage.fetchReference(source, tag), { concurrency })
      manifests.forEach((manifest, i) => roots.push({ manifest, tags: [tags[i]!] }))
    } else {
      const manifest = yield* Storage.fetchReference(source, options?.reference ?? "")
      roots.push({ manifest, tags: options?.tags ?? [] })
    }

    // 2. Walk.
    const manifests = new Map<string, PlannedManifest>()
    const order: Array<PlannedManifest> = []
    const blobs = new Map<string, PlannedBlob>()
    const images: Array<PlannedImage> = []

    /** `present`: the blob of a manifest the destination has (so it has the blob too): skipped, not asked. */
    const present = new Set<string>()
    const addBlob = (d: Descriptor.Descriptor, has = false) => {
      if (Descriptor.isNonDistributable(d)) return
      if (has) present.add(d.digest)
      if (blobs.has(d.digest)) return
      blobs.set(d.digest, { descriptor: d, action: "transfer", transferred: 0 })
    }

    /**
     * The blobs of a manifest the destination has (an index's children read from the source, not walked as
     * manifests of the copy): listed as skipped, so that a re-pull counts what it already had.
     */
    const addPresent = (manifest: Manifest.Manifest): Effect.Effect<void, E1> =>
      manifest._tag === "ImageIndex"
        ? Effect.flatMap(
          Effect.forEach(manifest.manifest.manifests, (d) => source.fetchManifest(d), { concurrency }),
          (children) => Effect.forEach(children, addPresent, { discard: true })
        )
        : Effect.sync(() => {
          addBlob(manifest.manifest.config, true)
          for (const layer of manifest.manifest.layers) addBlob(layer, true)
        })

    /** Child manifests and whether the destination has them, fetched concurrently; order kept. */
    const fetchAll = (
      descriptors: ReadonlyArray<Descriptor.Descriptor>
    ): Effect.Effect<ReadonlyArray<readonly [Manifest.Manifest, boolean | undefined]>, E1 | E2> =>
      Effect.forEach(
        descriptors,
        (d): Effect.Effect<readonly [Manifest.Manifest, boolean | undefined], E1 | E2> =>
          manifests.has(d.digest)
            ? Effect.map(source.fetchManifest(d), (m) => [m, undefined] as const)
            : Effect.all([source.fetchManifest(d), target.exists(d)]),
        { concurrency }
      )

    const referrersOf = (manifest: Manifest.Manifest): Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, E1> =>
      source.referrers === undefined ? Effect.succeed([]) : source.referrers(descriptorOf(manifest))

    const visit = (
      image: PlannedImage,
      manifest: Manifest.Manifest,
      role: Result.ManifestRole,
      platform: Platform.Platform | undefined,
      tags: ReadonlyArray<string>,
      known?: boolean | undefined
    ): Effect.Effect<void, E1 | E2> =>
      Effect.gen(function*() {
        const seen = manifests.get(manifest.digest)
        if (seen !== undefined) {
          for (const d of seen.subtree) if (!image.manifests.includes(d)) image.manifests.push(d)
          for (const t of tags) if (!seen.tags.includes(t)) seen.tags.push(t)
          if (tags.length > 0) seen.action = "write"
          return
        }
        const exists = known ?? (yield* target.exists(descriptorOf(manifest)))
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
        } else {
          yield* addPresent(manifest)
        }
        order.push(entry)
        image.manifests.push(manifest.digest)
        if (settings.referrers) {
          // sorted by digest: the listing order differs between the referrers API and the fallback index
          const referrers = [...(yield* referrersOf(manifest))].sort((a, b) =>
            a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0
          )
          const fetched = yield* fetchAll(referrers)
          for (const [r, rExists] of fetched) yield* visit(image, r, "referrer", undefined, [], rExists)
        }
        entry.subtree = image.manifests.slice(before)
      })

    for (const root of roots) {
      const stored = settings.indexPlatformsOnly && root.manifest._tag !== "ImageIndex"
        ? root.manifest
        : yield* selectPlatforms(source, root.manifest, settings.platforms)
      const image: PlannedImage = { sourceDigest: root.manifest.digest, root: stored, tags: root.tags, manifests: [] }
      images.push(image)
      yield* visit(image, stored, "root", undefined, root.tags)
    }

    // 3. Blob actions.
    const from = source.location
    const to = target.location
    const canMount = target.mount !== undefined && from !== undefined && to !== undefined &&
      Registry.same(from.registry, to.registry) && from.repository !== to.repository
    const planned = [...blobs.values()]
    yield* Effect.forEach(planned, (b) =>
      present.has(b.descriptor.digest)
        ? Effect.sync(() => {
          b.action = "skip"
        })
        : Effect.map(target.exists(b.descriptor), (has) => {
          b.action = has ? "skip" : canMount ? "mount" : "transfer"
        }), { concurrency, discard: true })

    return { images, manifests: order, blobs: planned }
  })

/** How often a blob's progress is reported while it moves (a timer reads a counter: no stage per buffer). */
const PROGRESS_INTERVAL = Duration.millis(100)

const transferBlob = <E1, E2>(
  source: Source<E1>,
  target: Target<E2>,
  reporter: Progress.Service,
  b: PlannedBlob
): Effect.Effect<void, E1 | E2> =>
  Effect.gen(function*() {
    const d = b.descriptor
    let moved = 0
    let from: number | undefined
    // the destination asks from the offset it resumes at (0, or the length of a partial download it kept)
    const begin = (offset: number) =>
      Effect.suspend(() => {
        moved = 0
        from = offset
        return reporter.emit({ _tag: "BlobStarted", digest: d.digest, mediaType: d.mediaType, size: d.size, offset })
      })
    let reported = -1
    const report = Effect.suspend(() => {
      if (from === undefined || moved === 0 || moved === reported) return Effect.void
      reported = moved
      return reporter.emit({ _tag: "BlobProgress", digest: d.digest, size: d.size, transferred: from + moved })
    })
    const push = target.pushBlob(d, {
      open: (offset) =>
        Stream.unwrap(Effect.as(
          begin(offset),
          Stream.mapChunks(source.fetchBlob(d, offset > 0 ? { offset } : undefined), (chunk) => {
            for (const buffer of chunk) moved += buffer.length
            return chunk
          })
        )),
      pump: (offset, sink) =>
        Effect.zipRight(
          begin(offset),
          Storage.pumpBlob(source, d, (buffer) => {
            moved += buffer.length
            return sink(buffer)
          }, offset > 0 ? { offset } : undefined)
        ),
      verified: source.verifiesBlobs
    })
    // The transfer runs in a fiber of its own, the reporter beside it: a reporter that dies or interrupts
    // itself stops the transfer (as it would with an event per buffer), and an interruption from above waits
    // for the transfer's finalizers (an upload session cancelled) before it goes on.
    const transfer = yield* Effect.fork(push)
    yield* Effect.ensuring(
      Effect.raceFirst(Fiber.join(transfer), Effect.forever(Effect.delay(report, PROGRESS_INTERVAL))),
      Fiber.interrupt(transfer)
    )
    yield* report
    b.transferred = moved
    yield* reporter.emit({
      _tag: "BlobDone",
      digest: d.digest,
      mediaType: d.mediaType,
      size: d.size,
      transferred: moved
    })
  })

const runBlob = <E1, E2>(
  source: Source<E1>,
  target: Target<E2>,
  reporter: Progress.Service,
  b: PlannedBlob
): Effect.Effect<void, E1 | E2> => {
  const d = b.descriptor
  switch (b.action) {
    case "skip":
      return reporter.emit({ _tag: "BlobSkipped", digest: d.digest, mediaType: d.mediaType, size: d.size })
    case "mount": {
      const from = source.location!
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

const execute = <E1, E2>(
  source: Source<E1>,
  target: Target<E2>,
  plan: Plan,
  settings: Settings
): Effect.Effect<void, E1 | E2> =>
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
      concurrency: Math.max(1, settings.concurrency),
      discard: true
    })
    for (const m of plan.manifests) {
      const { digest, mediaType, bytes } = m.manifest
      if (m.action === "skip") {
        yield* reporter.emit({ _tag: "ManifestSkipped", digest, mediaType, size: bytes.length })
      } else {
        yield* target.pushManifest(m.manifest, { tags: m.tags, root: m.role !== "child" })
        yield* reporter.emit({ _tag: "ManifestDone", digest, mediaType, size: bytes.length, tags: m.tags })
      }
    }
  })

const toResult = <E1, E2>(
  source: Source<E1>,
  target: Target<E2>,
  plan: Plan,
  dryRun: boolean
): Result.CopyResult => {
  const byDigest = new Map(plan.manifests.map((m) => [m.manifest.digest as string, m]))
  const images = plan.images.map((image): Result.ImageEntry => ({
    source: source.name,
    destination: target.name,
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
    source: source.name,
    destination: target.name,
    dryRun,
    digest: first.digest,
    mediaType: first.mediaType,
    size: first.size,
    images,
    blobs,
    stats: {
      manifests: plan.manifests.length,
      manifestsWritten: dryRun ? 0 : plan.manifests.filter((m) => m.action === "write").length,
      tagsWritten: dryRun ? 0 : plan.manifests.reduce((n, m) => n + (m.action === "write" ? m.tags.length : 0), 0),
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

/** @internal */
export const copy = <E1, E2>(
  source: Source<E1>,
  target: Target<E2>,
  options?: Copy.Options
): Effect.Effect<Result.CopyResult, E1 | E2 | Copy.CopyError> =>
  Effect.gen(function*() {
    const settings: Settings = {
      platforms: options?.platforms,
      indexPlatformsOnly: options?.indexPlatformsOnly ?? false,
      referrers: options?.referrers ?? false,
      dryRun: options?.dryRun ?? false,
      concurrency: options?.concurrency ?? 4
    }
    const p = yield* plan(source, target, options, settings)
    if (!settings.dryRun) yield* execute(source, target, p, settings)
    return toResult(source, target, p, settings.dryRun)
  })

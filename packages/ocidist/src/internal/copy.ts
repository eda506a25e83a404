/**
 * The copy engine (see `Copy.ts`): walks the graph of the source (roots → index children → config and
 * layers, plus referrers), decides per blob whether to skip, mount or transfer, then runs the plan with
 * bounded concurrency: blobs first, then manifests children-before-parents, roots last with their tags.
 * A manifest whose format is converted (`format`, see `convert.ts`), or whose children were written under
 * other digests (converted manifests, recompressed layers), is rewritten just before it is written, from the
 * map of what was written instead (`Written`), and never looked up at the destination by its source digest.
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
import * as Location from "../Location.js"
import { NothingToCopy, UnsupportedOperation } from "../OcidistError.js"
import * as Progress from "../Progress.js"
import type * as Result from "../Result.js"
import * as Compression from "./compression.js"
import * as Convert from "./convert.js"
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
  /**
   * Known when planning: it will be rewritten (its format converted, or a child, layer or subject it points
   * to rewritten), so its source digest says nothing about what the destination has: it is written, not
   * looked up.
   */
  rewrite: boolean
  /** What was (or, in a dry run, would be) written, when it differs from `manifest`. */
  written?: Manifest.Manifest | undefined
}

interface PlannedBlob {
  readonly descriptor: Descriptor.Descriptor
  action: Result.BlobAction
  transferred: number
  /** The layer is recompressed on its way (see `compression.ts`). */
  recompress?: Compression.LayerPlan | undefined
  /** What was written instead (a recompressed layer), once written. */
  written?: Descriptor.Descriptor | undefined
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
  /** Media types to write (see `Copy.Options.format`). */
  readonly format: Convert.Format
  /** Layer compression (see `Copy.Options.compress`). */
  readonly compression: Compression.Settings
}

/**
 * The tags of `copy --all-tags` into a registry: an index entry named with a full reference (`localhost/app:1`,
 * as podman and skopeo write; a docker-archive's `app:1`) is copied to its tag (`1`). Names that map to one
 * tag are one root when they are one image; two different images for one tag, or a name with no tag (a
 * digest reference), are refused, naming them, before anything is uploaded.
 */
const registryTags = (
  sourceName: string,
  targetName: string,
  names: ReadonlyArray<string>,
  manifests: ReadonlyArray<Manifest.Manifest>
): Effect.Effect<ReadonlyArray<{ readonly tag: string; readonly manifest: Manifest.Manifest }>, UnsupportedOperation> =>
  Effect.suspend(() => {
    const byTag = new Map<string, Array<{ readonly name: string; readonly manifest: Manifest.Manifest }>>()
    const untaggable: Array<string> = []
    names.forEach((name, i) => {
      const tag = Location.tagOfName(name)
      if (tag === undefined) return untaggable.push(name)
      byTag.set(tag, [...(byTag.get(tag) ?? []), { name, manifest: manifests[i]! }])
    })
    const refuse = (detail: string) =>
      Effect.fail(new UnsupportedOperation({ operation: "copying every tag", location: sourceName, detail }))
    const quote = (list: ReadonlyArray<string>) => list.map((n) => JSON.stringify(n.slice(0, 200))).join(", ")
    if (untaggable.length > 0) {
      return refuse(
        `${quote(untaggable.slice(0, 10))} name${untaggable.length === 1 ? "s" : ""} no tag for ${targetName}`
      )
    }
    const clashes = [...byTag].filter(([, list]) => new Set(list.map((e) => e.manifest.digest)).size > 1)
    if (clashes.length > 0) {
      return refuse(
        `different images would get the same tag in ${targetName}: ${
          clashes.slice(0, 10).map(([tag, list]) => `${quote(list.map((e) => e.name))} → ${tag}`).join("; ")
        }; copy them one at a time, to tags you choose`
      )
    }
    return Effect.succeed([...byTag].map(([tag, list]) => ({ tag, manifest: list[0]!.manifest })))
  })

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
      // a registry takes tags: names that are full references are copied to their tag (before anything moves)
      const named = target.location === undefined
        ? tags.map((tag, i) => ({ tag, manifest: manifests[i]! }))
        : yield* registryTags(source.name, target.name, tags, manifests)
      for (const { manifest, tag } of named) roots.push({ manifest, tags: [tag] })
    } else {
      const manifest = yield* Storage.fetchReference(source, options?.reference ?? "")
      roots.push({ manifest, tags: options?.tags ?? [] })
    }

    // 2. Walk.
    const manifests = new Map<string, PlannedManifest>()
    const order: Array<PlannedManifest> = []
    const blobs = new Map<string, PlannedBlob>()
    /** Layers to recompress, by source digest (`Copy.Options.compress`). */
    const layerPlans = new Map<string, Compression.LayerPlan>()
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
    ): Effect.Effect<void, E1 | E2 | Copy.CopyError> =>
      Effect.gen(function*() {
        const seen = manifests.get(manifest.digest)
        if (seen !== undefined) {
          for (const d of seen.subtree) if (!image.manifests.includes(d)) image.manifests.push(d)
          for (const t of tags) if (!seen.tags.includes(t)) seen.tags.push(t)
          if (tags.length > 0) seen.action = "write"
          return
        }
        // Fails here, before anything is written, when the wanted format cannot hold it (OCI → Docker).
        // recompression: the layers the blob stage will recompress (`compress`, or zstd bound for Docker v2s2),
        // with their planned media types, so that the rewrite accepts them; refused here when it cannot be done.
        const docker = Convert.targetFamily(manifest, settings.format) === "docker" ||
          settings.compression.dockerLayers
        const layerLookup = yield* Compression.planLayers(source, manifest, docker, settings.compression, layerPlans)
        const converted = yield* Convert.rewrite(manifest, settings.format, layerLookup)
        const subject = manifest.manifest.subject
        const rewrite = converted !== manifest ||
          (subject !== undefined && manifests.get(subject.digest)?.rewrite === true)
        const exists = rewrite ? false : known ?? (yield* target.exists(descriptorOf(manifest)))
        const entry: PlannedManifest = {
          manifest,
          role,
          platform,
          action: exists && tags.length === 0 ? "skip" : "write",
          tags: [...tags],
          subtree: [],
          rewrite
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
            // an index of rewritten manifests is rewritten to point at them
            if (children.some((c) => manifests.get(c.digest)?.rewrite === true)) entry.rewrite = true
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
      // a destination that holds some kinds of content only (a docker-archive: images) refuses the rest here,
      // before anything is written: the root as asked for, then what a platform selection made of it
      if (target.accepts !== undefined) yield* target.accepts(root.manifest)
      const stored = settings.indexPlatformsOnly && root.manifest._tag !== "ImageIndex"
        ? root.manifest
        : yield* selectPlatforms(source, root.manifest, settings.platforms)
      if (target.accepts !== undefined && stored !== root.manifest) yield* target.accepts(stored)
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
    for (const b of planned) b.recompress = layerPlans.get(b.descriptor.digest)
    yield* Effect.forEach(planned, (b) =>
      // a layer recompressed gets its digest when written: neither looked up nor mounted
      b.recompress !== undefined
        ? Effect.sync(() => {
          b.action = "transfer"
        })
        : present.has(b.descriptor.digest)
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
  b: PlannedBlob,
  written: Written
): Effect.Effect<void, E1 | E2 | Copy.CopyError> => {
  const d = b.descriptor
  if (b.recompress !== undefined && b.action === "transfer") {
    return Effect.map(Compression.transferRecompressed(source, target, reporter, d, b.recompress), (out) => {
      b.transferred = out.transferred
      b.written = out.written
      written.blobs.set(d.digest, out.written)
    })
  }
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

/**
 * Where the children of a manifest were written, by source digest: manifests rewritten (converted, or
 * pointing at rewritten children) and blobs replaced by the blob stage. The rewrite of a manifest reads it;
 * manifests are rewritten children first, so a parent finds its children here.
 */
interface Written {
  /** Manifests written under another digest than the source's. */
  readonly manifests: Map<string, Descriptor.Descriptor>
  /**
   * Blobs written under another digest than the source's.
   * recompression: the blob stage puts here, under the source layer's digest, the descriptor of the layer it
   * wrote instead (new digest, size, media type); the manifest rewrite then points at it.
   */
  readonly blobs: Map<string, Descriptor.Descriptor>
}

const lookupIn = (written: Written): Convert.Lookup => (digest) =>
  written.manifests.get(digest) ?? written.blobs.get(digest)

/** The manifest to write for `m` (the source's when nothing changes), recorded in `written`. */
const rewriteManifest = (
  m: PlannedManifest,
  format: Convert.Format,
  written: Written
): Effect.Effect<Manifest.Manifest, Copy.CopyError> =>
  Effect.map(Convert.rewrite(m.manifest, format, lookupIn(written)), (out) => {
    if (out !== m.manifest) {
      m.written = out
      written.manifests.set(m.manifest.digest, descriptorOf(out))
    }
    return out
  })

const execute = <E1, E2>(
  source: Source<E1>,
  target: Target<E2>,
  plan: Plan,
  settings: Settings
): Effect.Effect<void, E1 | E2 | Copy.CopyError> =>
  Effect.gen(function*() {
    const written: Written = { manifests: new Map(), blobs: new Map() }
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
    yield* Effect.forEach(plan.blobs, (b) => runBlob(source, target, reporter, b, written), {
      concurrency: Math.max(1, settings.concurrency),
      discard: true
    })
    for (const m of plan.manifests) {
      if (m.action === "skip") {
        const { digest, mediaType, bytes } = m.manifest
        yield* reporter.emit({ _tag: "ManifestSkipped", digest, mediaType, size: bytes.length })
      } else {
        const out = yield* rewriteManifest(m, settings.format, written)
        const { digest, mediaType, bytes } = out
        yield* target.pushManifest(out, { tags: m.tags, root: m.role !== "child" })
        yield* reporter.emit({
          _tag: "ManifestDone",
          digest,
          mediaType,
          size: bytes.length,
          tags: m.tags,
          ...(out === m.manifest ? {} : { sourceDigest: m.manifest.digest, sourceMediaType: m.manifest.mediaType })
        })
      }
    }
  })

/** A dry run's rewrites: what `execute` would write, from the source's blobs (no blob is replaced). */
const rewriteDry = (plan: Plan, settings: Settings): Effect.Effect<void, Copy.CopyError> =>
  Effect.suspend(() => {
    const written: Written = { manifests: new Map(), blobs: new Map() }
    return Effect.forEach(plan.manifests, (m) =>
      m.action === "write" ? rewriteManifest(m, settings.format, written) : Effect.void, {
      discard: true
    })
  })

const toResult = <E1, E2>(
  source: Source<E1>,
  target: Target<E2>,
  plan: Plan,
  dryRun: boolean
): Result.CopyResult => {
  const byDigest = new Map(plan.manifests.map((m) => [m.manifest.digest as string, m]))
  const converted = (m: PlannedManifest | undefined) =>
    m?.written === undefined ? {} : { converted: { from: m.manifest.mediaType, to: m.written.mediaType } }
  const images = plan.images.map((image): Result.ImageEntry => {
    const rootEntry = byDigest.get(image.root.digest)
    const root = rootEntry?.written ?? image.root
    return {
      source: source.name,
      destination: target.name,
      sourceDigest: image.sourceDigest,
      digest: root.digest,
      mediaType: root.mediaType,
      size: root.bytes.length,
      tags: image.tags,
      ...converted(rootEntry),
      manifests: image.manifests.flatMap((digest) => {
        const m = byDigest.get(digest)
        if (m === undefined) return []
        const out = m.written ?? m.manifest
        const artifactType = Manifest.descriptorOf(out).artifactType
        return [{
          digest: out.digest,
          mediaType: out.mediaType,
          size: out.bytes.length,
          role: m.role,
          action: m.action,
          ...(m.platform === undefined ? {} : { platform: m.platform }),
          ...(artifactType === undefined ? {} : { artifactType }),
          tags: m.tags,
          ...(m.written === undefined ? {} : { sourceDigest: m.manifest.digest }),
          ...converted(m)
        }]
      })
    }
  })
  const blobs = plan.blobs.map((b): Result.BlobEntry => {
    const d = b.written ?? b.descriptor
    const r = b.recompress
    return {
      digest: d.digest,
      mediaType: d.mediaType,
      size: d.size,
      action: b.action,
      transferred: dryRun ? 0 : b.transferred,
      ...(r === undefined ? {} : {
        recompressed: {
          from: Compression.ofMediaType(b.descriptor.mediaType) ?? "none",
          to: r.to,
          sourceDigest: b.descriptor.digest,
          sourceMediaType: b.descriptor.mediaType,
          sourceSize: b.descriptor.size
        }
      })
    }
  })
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
      concurrency: options?.concurrency ?? 4,
      format: options?.format ?? "keep",
      compression: {
        compress: options?.compress,
        level: options?.compressLevel,
        registry: target.location !== undefined,
        dockerLayers: options?.dockerLayers ?? false,
        destination: target.name
      }
    }
    const p = yield* plan(source, target, options, settings)
    if (!settings.dryRun) yield* execute(source, target, p, settings)
    else yield* rewriteDry(p, settings)
    return toResult(source, target, p, settings.dryRun)
  })

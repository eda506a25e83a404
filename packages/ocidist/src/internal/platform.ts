/**
 * Platform selection, one implementation for every operation that takes a platform (`copy`/`pull`/`push`,
 * `inspect`, `resolve`, and the CLI's `manifest`/`config`/`digest`): an index is searched for the wanted
 * platform, descending into nested indexes; a single image manifest is checked against its config.
 *
 * @internal
 */
import type { DigestMismatch } from "@ocidist/reference/ReferenceError"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as ImageConfig from "@ocidist/spec/ImageConfig"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Platform from "@ocidist/spec/Platform"
import type { ContentTooLarge, InvalidManifest, SizeMismatch } from "@ocidist/spec/SpecError"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { PlatformNotFound } from "../OcidistError.js"

/** The failures of a selection besides the store's own. @internal */
export type SelectError = PlatformNotFound | InvalidManifest | SizeMismatch | ContentTooLarge | DigestMismatch

/** Nested indexes followed at most this deep (an index of indexes of indexes…). */
const MAX_DEPTH = 8

/** The platform an image config declares (`os`, `architecture`, `variant`, `os.version`), if it is readable. @internal */
export const configPlatform = <E>(
  source: Storage.ReadOnlyStorage<E>,
  m: Manifest.Manifest
): Effect.Effect<Platform.Platform | undefined, E | SelectError> =>
  Effect.gen(function*() {
    if (m._tag !== "ImageManifest") return undefined
    const config = m.manifest.config
    const isImageConfig = config.mediaType === MediaType.OCI_CONFIG || config.mediaType === MediaType.DOCKER_CONFIG
    // an artifact (empty or custom config) declares no platform; a huge config is not read
    if (!isImageConfig || config.size > ImageConfig.MAX_BYTES) return undefined
    const bytes = yield* Storage.readBlob(source, config, ImageConfig.MAX_BYTES)
    let json: unknown
    try {
      json = JSON.parse(new TextDecoder().decode(bytes))
    } catch {
      return undefined
    }
    if (typeof json !== "object" || json === null) return undefined
    const c = json as Record<string, unknown>
    if (typeof c.os !== "string" || typeof c.architecture !== "string" || c.os === "" || c.architecture === "") {
      return undefined
    }
    return {
      os: c.os,
      architecture: c.architecture,
      ...(typeof c.variant === "string" && c.variant !== "" ? { variant: c.variant } : {}),
      ...(typeof c["os.version"] === "string" && c["os.version"] !== "" ? { "os.version": c["os.version"] } : {})
    }
  })

/** A leaf found for a wanted platform: its descriptor as the index that lists it has it, and the manifest. */
interface Found {
  readonly entry: Descriptor.Descriptor
  readonly manifest: Manifest.Manifest
}

/**
 * Searches an index for a wanted platform: the best matching entry (an image, or an index descended into),
 * else the nested indexes that declare no platform, in order. `available` collects every platform seen.
 */
const search = <E>(
  source: Storage.ReadOnlyStorage<E>,
  index: Manifest.Manifest & { readonly _tag: "ImageIndex" },
  wanted: Platform.Platform,
  available: Array<string>,
  depth: number
): Effect.Effect<Found | undefined, E | SelectError> =>
  Effect.gen(function*() {
    const entries = index.manifest.manifests
    for (const p of Platform.available(entries)) if (!available.includes(p)) available.push(p)
    const match = Platform.best(wanted, entries)
    if (match !== undefined) {
      const child = yield* source.fetchManifest(match)
      if (child._tag !== "ImageIndex") return { entry: match, manifest: child }
      if (depth < MAX_DEPTH) {
        const found = yield* search(source, child, wanted, available, depth + 1)
        if (found !== undefined) return found
      }
    }
    if (depth >= MAX_DEPTH) return undefined
    for (const entry of entries) {
      if (entry.platform !== undefined || !MediaType.isIndex(entry.mediaType)) continue
      const child = yield* source.fetchManifest(entry)
      if (child._tag !== "ImageIndex") continue
      const found = yield* search(source, child, wanted, available, depth + 1)
      if (found !== undefined) return found
    }
    return undefined
  })

const notFound = (source: { readonly name: string }, wanted: string, available: ReadonlyArray<string>) =>
  new PlatformNotFound({ location: source.name, wanted, available })

/**
 * The manifest of one platform: for an index, the matching image manifest (nested indexes descended); for an
 * image manifest, itself when its config declares a matching platform (or none, as artifacts do).
 *
 * @internal
 */
export const selectPlatform = <E>(
  source: Storage.ReadOnlyStorage<E>,
  root: Manifest.Manifest,
  wanted: Platform.Platform
): Effect.Effect<Manifest.Manifest, E | SelectError> =>
  Effect.gen(function*() {
    if (root._tag === "ImageIndex") {
      const available: Array<string> = []
      const found = yield* search(source, root, wanted, available, 0)
      if (found === undefined) return yield* notFound(source, Platform.format(wanted), available)
      return found.manifest
    }
    const own = yield* configPlatform(source, root)
    if (own !== undefined && !Platform.matches(wanted, own)) {
      return yield* notFound(source, Platform.format(wanted), [Platform.format(own)])
    }
    return root
  })

/**
 * What to store for a root when platforms are selected: the root itself (no selection, or an image manifest
 * that matches one of them), the one matching manifest (one platform), or a rewritten index of the matching
 * manifests (several; found in nested indexes too, listed flat in the order of the wanted platforms).
 *
 * @internal
 */
export const selectPlatforms = <E>(
  source: Storage.ReadOnlyStorage<E>,
  root: Manifest.Manifest,
  platforms: ReadonlyArray<Platform.Platform> | undefined
): Effect.Effect<Manifest.Manifest, E | SelectError> =>
  Effect.gen(function*() {
    if (platforms === undefined || platforms.length === 0) return root
    if (platforms.length === 1) return yield* selectPlatform(source, root, platforms[0]!)
    if (root._tag !== "ImageIndex") {
      const own = yield* configPlatform(source, root)
      if (own !== undefined && !platforms.some((p) => Platform.matches(p, own))) {
        return yield* notFound(source, platforms.map(Platform.format).join(","), [Platform.format(own)])
      }
      return root
    }
    const chosen: Array<Found> = []
    for (const wanted of platforms) {
      const available: Array<string> = []
      const found = yield* search(source, root, wanted, available, 0)
      if (found === undefined) return yield* notFound(source, Platform.format(wanted), available)
      if (!chosen.some((c) => c.entry.digest === found.entry.digest)) chosen.push(found)
    }
    if (chosen.length === 1) return chosen[0]!.manifest
    // Several platforms: rewrite the index keeping its other fields and the raw entries of the root (in index
    // order); leaves found in nested indexes are listed with the descriptor their index gave them.
    const raw = JSON.parse(new TextDecoder().decode(root.bytes)) as Record<string, unknown>
    const rawEntries = Array.isArray(raw.manifests) ? (raw.manifests as Array<Record<string, unknown>>) : []
    const direct = rawEntries.filter((e) => chosen.some((c) => c.entry.digest === e.digest))
    const nested = chosen.filter((c) => !rawEntries.some((e) => e.digest === c.entry.digest)).map((c) => c.entry)
    const rewritten = Manifest.encode({ ...raw, manifests: [...direct, ...nested] })
    return yield* Either.match(Manifest.decode(rewritten, { contentType: root.mediaType }), {
      onLeft: (e) => Effect.fail(e),
      onRight: (m) => Effect.succeed(m)
    })
  })

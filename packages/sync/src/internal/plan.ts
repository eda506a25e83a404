/**
 * Planning, shared by the workflows' activities and the dry run: namespaces expanded through the catalog,
 * tags listed and filtered, digests compared with HEAD requests (never a manifest GET: Docker Hub counts
 * those), target tags to prune.
 */
import * as Reference from "@ocidist/reference/Reference"
import type { InvalidReference } from "@ocidist/reference/ReferenceError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Report from "../Report.js"
import type * as SyncClients from "../SyncClients.js"
import * as SyncStore from "../SyncStore.js"
import * as TagFilter from "../TagFilter.js"

/** A tag filter rule as the configuration writes it. */
export const TagRule = Schema.Struct({
  allow: Schema.optional(Schema.Array(Schema.String)),
  deny: Schema.optional(Schema.Array(Schema.String)),
  semver: Schema.optional(Schema.String)
})

/** One repository to sync, with its effective options. */
export const RepositoryTask = Schema.Struct({
  source: Schema.String,
  target: Schema.String,
  tags: Schema.optional(TagRule),
  platforms: Schema.optional(Schema.Array(Schema.String)),
  referrers: Schema.Boolean,
  prune: Schema.Boolean
})
export type RepositoryTask = typeof RepositoryTask.Type

/** A configuration entry, with its effective options. */
export const Entry = Schema.Struct({
  ...RepositoryTask.fields,
  type: Schema.Literal("repository", "registry")
})
export type Entry = typeof Entry.Type

/** What `expand` returns: the repositories, and the namespaces whose catalog could not be read. */
export const Expansion = Schema.Struct({
  repositories: Schema.Array(RepositoryTask),
  errors: Schema.Array(Report.RepositoryReport)
})
export type Expansion = typeof Expansion.Type

/** `{ _tag, message }` of any failure. */
export const errorInfo = (error: unknown): Report.ErrorInfo => {
  if (typeof error === "object" && error !== null) {
    const tag = "_tag" in error ? String(error._tag) : "Error"
    const message = "message" in error && typeof error.message === "string" && error.message !== ""
      ? error.message
      : String(error)
    return { _tag: tag, message }
  }
  return { _tag: "Error", message: String(error) }
}

export const isNotFound = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "_tag" in error &&
  (error._tag === "NotFound" || (error._tag === "RegistryResponseError" && "status" in error && error.status === 404))

/** A reference, parsed. */
export const parseReference = (input: string): Effect.Effect<Reference.Reference, InvalidReference> =>
  Reference.parse(input)

/** Tags the referrers fallback and signing tools write (`sha256-<hex>[.sig|.att|…]`): never synced as tags. */
const isDigestTag = (tag: string): boolean => /^sha256-[0-9a-f]{64}/.test(tag)

/**
 * Entries → repositories: a `registry` entry is every repository of the source registry under its namespace
 * (the catalog), mapped to the same path under the target.
 */
export const expand = (
  clients: SyncClients.Clients,
  entries: ReadonlyArray<Entry>
): Effect.Effect<Expansion> =>
  Effect.gen(function*() {
    const repositories: Array<RepositoryTask> = []
    const errors: Array<Report.RepositoryReport> = []
    for (const entry of entries) {
      const { type: _type, ...task } = entry
      if (entry.type === "repository") {
        repositories.push(task)
        continue
      }
      const slash = entry.source.indexOf("/")
      const host = slash < 0 ? entry.source : entry.source.slice(0, slash)
      const namespace = slash < 0 ? "" : entry.source.slice(slash + 1).replace(/\/+$/, "")
      const listed = yield* Effect.either(Stream.runCollect(clients.registry.catalog(host)))
      if (listed._tag === "Left") {
        errors.push({ source: entry.source, target: entry.target, outcomes: [], error: errorInfo(listed.left) })
        continue
      }
      const target = entry.target.replace(/\/+$/, "")
      for (const name of listed.right) {
        if (namespace !== "" && !name.startsWith(`${namespace}/`)) continue
        const rest = namespace === "" ? name : name.slice(namespace.length + 1)
        repositories.push({ ...task, source: `${host}/${name}`, target: `${target}/${rest}` })
      }
    }
    return { repositories, errors }
  })

/** Whether a media type is an index (copying it GETs its children too). */
export const isIndex = (mediaType: string): boolean =>
  mediaType === "application/vnd.oci.image.index.v1+json" ||
  mediaType === "application/vnd.docker.distribution.manifest.list.v2+json"

/** The plan of one repository. `withBytes`: ask the copy engine for the bytes to move (manifest GETs). */
export const planRepository = (
  clients: SyncClients.Clients,
  task: RepositoryTask,
  options: { readonly withBytes: boolean }
): Effect.Effect<Report.RepositoryPlan> =>
  Effect.gen(function*() {
    const store = yield* Effect.serviceOption(SyncStore.SyncStore)
    const empty = { source: task.source, target: task.target, copy: [], unchanged: [], prune: [], failed: [] }
    const sourceTags = yield* Effect.either(clients.ocidist.tags(task.source))
    if (sourceTags._tag === "Left") return { ...empty, error: errorInfo(sourceTags.left) }
    const targetTags = yield* Effect.either(clients.ocidist.tags(task.target))
    if (targetTags._tag === "Left" && !isNotFound(targetTags.left)) {
      return { ...empty, error: errorInfo(targetTags.left) }
    }
    const existing = new Set(targetTags._tag === "Right" ? targetTags.right : [])
    const selected = TagFilter.select(task.tags ?? {}, sourceTags.right.filter((t) => !isDigestTag(t)))
    const copy: Array<Report.PlannedCopy> = []
    const unchanged: Array<{ tag: string; digest: string }> = []
    const failed: Array<Report.Failed> = []
    const compared = yield* Effect.forEach(selected, (tag) =>
      Effect.gen(function*() {
        const source = yield* clients.ocidist.resolve(`${task.source}:${tag}`)
        if (!existing.has(tag)) return { tag, source, target: undefined }
        const target = yield* clients.ocidist.resolve(`${task.target}:${tag}`).pipe(
          Effect.map((r) => r.digest as string),
          Effect.catchIf(isNotFound, () => Effect.succeed(undefined))
        )
        return { tag, source, target }
      }).pipe(Effect.either), { concurrency: 4 })
    for (const [i, result] of compared.entries()) {
      if (result._tag === "Left") {
        failed.push(new Report.Failed({ tag: selected[i]!, error: errorInfo(result.left) }))
        continue
      }
      const { source, tag, target } = result.right
      if (target !== undefined) {
        if (target === source.digest) {
          unchanged.push({ tag, digest: target })
          continue
        }
        // a platform subset or a conversion: what the last sync wrote for this source digest
        const last = Option.isSome(store)
          ? yield* Effect.orElseSucceed(store.value.lastSynced(task.target, tag), () => Option.none())
          : Option.none()
        if (Option.isSome(last) && last.value.sourceDigest === source.digest && last.value.digest === target) {
          unchanged.push({ tag, digest: target })
          continue
        }
      }
      copy.push({
        tag,
        sourceDigest: source.digest,
        mediaType: source.mediaType,
        ...(target === undefined ? {} : { targetDigest: target })
      })
    }
    const keep = new Set(selected)
    const prune: Array<{ tag: string; digest: string }> = []
    if (task.prune) {
      for (const tag of existing) {
        if (keep.has(tag) || isDigestTag(tag)) continue
        const digest = yield* Effect.either(clients.ocidist.resolve(`${task.target}:${tag}`))
        if (digest._tag === "Right") prune.push({ tag, digest: digest.right.digest })
      }
    }
    let bytes: number | undefined
    if (options.withBytes) {
      bytes = 0
      for (const planned of copy) {
        const dry = yield* Effect.either(
          clients.ocidist.copy(`${task.source}@${planned.sourceDigest}`, `${task.target}:${planned.tag}`, {
            dryRun: true,
            referrers: task.referrers,
            ...(task.platforms === undefined ? {} : { platform: task.platforms })
          })
        )
        if (dry._tag === "Right") bytes += dry.right.stats.plannedBytes
      }
    }
    return { ...empty, copy, unchanged, prune, failed, ...(bytes === undefined ? {} : { bytes }) }
  })

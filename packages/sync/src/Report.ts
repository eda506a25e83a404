/**
 * What a sync reports: per tag a {@link TagOutcome}, per repository a {@link RepositoryReport}, per run a
 * {@link RunReport}; and what a dry run would do, a {@link Plan}. All are Schemas: workflow activities return
 * them (they are journaled) and `--json` prints them.
 *
 * @since 0.5.0
 */
import * as Schema from "effect/Schema"

/**
 * A tag copied to the target: `digest` is what the target stores, `sourceDigest` what the source had when
 * they differ (a platform subset of an index), `bytes` the bytes moved.
 *
 * @since 0.5.0
 * @category models
 */
export class Copied extends Schema.TaggedClass<Copied>("@ocidist/sync/Copied")("Copied", {
  tag: Schema.String,
  digest: Schema.String,
  sourceDigest: Schema.optional(Schema.String),
  bytes: Schema.Number
}) {}

/**
 * A tag the target already had at the source's digest (or at the digest the last sync wrote for it).
 *
 * @since 0.5.0
 * @category models
 */
export class Unchanged extends Schema.TaggedClass<Unchanged>("@ocidist/sync/Unchanged")("Unchanged", {
  tag: Schema.String,
  digest: Schema.String
}) {}

/**
 * The error of a failed tag: its `_tag` and message.
 *
 * @since 0.5.0
 * @category models
 */
export const ErrorInfo = Schema.Struct({ _tag: Schema.String, message: Schema.String })

/**
 * @since 0.5.0
 * @category models
 */
export type ErrorInfo = typeof ErrorInfo.Type

/**
 * A tag whose copy failed; the other tags went on.
 *
 * @since 0.5.0
 * @category models
 */
export class Failed extends Schema.TaggedClass<Failed>("@ocidist/sync/Failed")("Failed", {
  tag: Schema.String,
  error: ErrorInfo
}) {}

/**
 * A tag left for a later run: the source registry's rate-limit budget was exhausted.
 *
 * @since 0.5.0
 * @category models
 */
export class Deferred extends Schema.TaggedClass<Deferred>("@ocidist/sync/Deferred")("Deferred", {
  tag: Schema.String,
  reason: Schema.String
}) {}

/**
 * A target tag deleted because the source no longer selects it (`prune: true` only).
 *
 * @since 0.5.0
 * @category models
 */
export class Pruned extends Schema.TaggedClass<Pruned>("@ocidist/sync/Pruned")("Pruned", {
  tag: Schema.String,
  digest: Schema.String
}) {}

/**
 * @since 0.5.0
 * @category models
 */
export const TagOutcome = Schema.Union(Copied, Unchanged, Failed, Deferred, Pruned)

/**
 * @since 0.5.0
 * @category models
 */
export type TagOutcome = typeof TagOutcome.Type

/**
 * One repository of a run. `error` is set when the repository could not be planned at all (its tags could
 * not be listed); `outcomes` is then empty.
 *
 * @since 0.5.0
 * @category models
 */
export const RepositoryReport = Schema.Struct({
  source: Schema.String,
  target: Schema.String,
  outcomes: Schema.Array(TagOutcome),
  error: Schema.optional(ErrorInfo)
})

/**
 * @since 0.5.0
 * @category models
 */
export type RepositoryReport = typeof RepositoryReport.Type

/**
 * @since 0.5.0
 * @category models
 */
export const Totals = Schema.Struct({
  copied: Schema.Number,
  unchanged: Schema.Number,
  failed: Schema.Number,
  deferred: Schema.Number,
  pruned: Schema.Number,
  bytes: Schema.Number
})

/**
 * @since 0.5.0
 * @category models
 */
export type Totals = typeof Totals.Type

/**
 * The report of a run. `totals.failed` counts failed tags and repositories that could not be listed.
 *
 * @since 0.5.0
 * @category models
 */
export const RunReport = Schema.Struct({
  runId: Schema.String,
  repositories: Schema.Array(RepositoryReport),
  totals: Totals
})

/**
 * @since 0.5.0
 * @category models
 */
export type RunReport = typeof RunReport.Type

/**
 * The totals of repository reports.
 *
 * @since 0.5.0
 * @category constructors
 */
export const totalsOf = (repositories: ReadonlyArray<RepositoryReport>): Totals => {
  const totals = { copied: 0, unchanged: 0, failed: 0, deferred: 0, pruned: 0, bytes: 0 }
  for (const repository of repositories) {
    if (repository.error !== undefined) totals.failed++
    for (const outcome of repository.outcomes) {
      switch (outcome._tag) {
        case "Copied":
          totals.copied++
          totals.bytes += outcome.bytes
          break
        case "Unchanged":
          totals.unchanged++
          break
        case "Failed":
          totals.failed++
          break
        case "Deferred":
          totals.deferred++
          break
        case "Pruned":
          totals.pruned++
          break
      }
    }
  }
  return totals
}

/**
 * A tag a run would copy: the source's digest, and the target's when it has the tag (at another digest).
 *
 * @since 0.5.0
 * @category models
 */
export const PlannedCopy = Schema.Struct({
  tag: Schema.String,
  sourceDigest: Schema.String,
  /** The source manifest's media type (an index costs more manifest GETs). */
  mediaType: Schema.String,
  targetDigest: Schema.optional(Schema.String)
})

/**
 * @since 0.5.0
 * @category models
 */
export type PlannedCopy = typeof PlannedCopy.Type

/**
 * The plan of one repository: tags to copy, unchanged tags, tags that could not be compared, target tags to prune (only with `prune: true`),
 * and the bytes to move when that was cheap to learn (no rate limit on the source: it needs manifest GETs).
 *
 * @since 0.5.0
 * @category models
 */
export const RepositoryPlan = Schema.Struct({
  source: Schema.String,
  target: Schema.String,
  copy: Schema.Array(PlannedCopy),
  unchanged: Schema.Array(Schema.Struct({ tag: Schema.String, digest: Schema.String })),
  prune: Schema.Array(Schema.Struct({ tag: Schema.String, digest: Schema.String })),
  /** Tags whose digest could not be learnt (HEAD failed). */
  failed: Schema.Array(Failed),
  bytes: Schema.optional(Schema.Number),
  error: Schema.optional(ErrorInfo)
})

/**
 * @since 0.5.0
 * @category models
 */
export type RepositoryPlan = typeof RepositoryPlan.Type

/**
 * What `ocidist sync --dry-run` prints.
 *
 * @since 0.5.0
 * @category models
 */
export const Plan = Schema.Struct({
  repositories: Schema.Array(RepositoryPlan)
})

/**
 * @since 0.5.0
 * @category models
 */
export type Plan = typeof Plan.Type

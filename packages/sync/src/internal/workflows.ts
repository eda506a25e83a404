/**
 * The durable workflows of a sync, the same in the embedded and the distributed mode:
 *
 * - `SyncRun` (idempotency key: the run id): activity `expand` (namespaces → repositories through the
 *   catalog), then a child `SyncRepository` per repository with the configured concurrency, then activity
 *   `finish` (the report into the store).
 * - `SyncRepository` (idempotency key: run id + target repository): activity `plan` (tags listed and filtered,
 *   digests compared with HEAD), one activity `copy:<tag>` per tag to copy, one after the other (a blob is
 *   uploaded at most once per target repository), then `prune` when the entry asks for it.
 *
 * Activity results are Schemas (journaled). A copy failure is a value (`Failed`), not a workflow failure.
 * Every activity is idempotent: a copy skips the blobs and manifests the target already has.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Activity from "@effect/workflow/Activity"
import * as Workflow from "@effect/workflow/Workflow"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as OcidistError from "ocidist/OcidistError"
import * as Report from "../Report.js"
import * as SyncClients from "../SyncClients.js"
import * as SyncConfig from "../SyncConfig.js"
import * as SyncStore from "../SyncStore.js"
import * as Plan from "./plan.js"

/** The payload of a run: the run id and the normalized configuration. */
export const RunPayload = Schema.Struct({
  runId: Schema.String,
  concurrency: Schema.Number,
  registries: SyncClients.Registries,
  entries: Schema.Array(Plan.Entry)
})
export type RunPayload = typeof RunPayload.Type

/** A run of a configuration. */
export const SyncRun = Workflow.make({
  name: "ocidist/SyncRun",
  payload: RunPayload,
  success: Report.RunReport,
  idempotencyKey: (payload) => payload.runId
})

/** The payload of one repository of a run. */
export const RepositoryPayload = Schema.Struct({
  runId: Schema.String,
  registries: SyncClients.Registries,
  task: Plan.RepositoryTask
})

/** One repository of a run. */
export const SyncRepository = Workflow.make({
  name: "ocidist/SyncRepository",
  payload: RepositoryPayload,
  success: Report.RepositoryReport,
  idempotencyKey: (payload) => `${payload.runId}/${payload.task.target}`
})

/**
 * Manifest GETs a copy will make, for the rate-limit budget (HEADs are free), conservatively: 1 for an
 * image; for an index 1 + its platforms, and with no platform filter 1 + 4 (its children are unknown before
 * it is fetched); 1 more with referrers.
 */
export const costOf = (mediaType: string, task: Plan.RepositoryTask): number =>
  (Plan.isIndex(mediaType) ? 1 + (task.platforms?.length ?? 4) : 1) + (task.referrers ? 1 : 0)

const orDie = <A, R>(effect: Effect.Effect<A, SqlError.SqlError, R>) => Effect.orDie(effect)

/**
 * Why the activities of an abandoned run do nothing: an unfinished run of another configuration is given up
 * when a new run starts in an embedded state directory, but the engine may still resume it (its messages are
 * journaled): each activity checks first, so an abandoned run copies, plans and prunes nothing.
 */
export const abandonedReason = "run abandoned: a run of another configuration started in this state directory"

const abandoned = (runId: string): Effect.Effect<boolean, never, SyncStore.SyncStore> =>
  Effect.flatMap(SyncStore.SyncStore, (store) => orDie(store.isAbandoned(runId)))

/** The activity copying one tag: rate-limit reservation, then the copy engine. */
const copyTag = (
  payload: typeof RepositoryPayload.Type,
  planned: Report.PlannedCopy
): Effect.Effect<Report.TagOutcome, never, SyncClients.SyncClients | SyncStore.SyncStore> =>
  Effect.gen(function*() {
    const { runId, task } = payload
    if (yield* abandoned(runId)) return new Report.Deferred({ tag: planned.tag, reason: abandonedReason })
    const store = yield* SyncStore.SyncStore
    const clients = yield* Effect.flatMap(SyncClients.SyncClients, (c) => c.get(payload.registries))
    const { registry, settings } = SyncClients.settingsOf(payload.registries, task.source)
    if (settings?.ratelimit !== undefined) {
      const reserved = yield* orDie(store.reserve(
        registry,
        costOf(planned.mediaType, task),
        settings.ratelimit.pulls,
        SyncConfig.perMillis(settings.ratelimit)
      ))
      if (!reserved) {
        const reason = `rate limit of ${registry} (${settings.ratelimit.pulls} pulls per ${settings.ratelimit.per}) ` +
          "exhausted: left for a later run"
        yield* orDie(
          store.setTag({ runId, source: task.source, target: task.target, tag: planned.tag, state: "deferred" })
        )
        return new Report.Deferred({ tag: planned.tag, reason })
      }
    }
    yield* orDie(store.setTag({ runId, source: task.source, target: task.target, tag: planned.tag, state: "copying" }))
    const copy = (platforms: ReadonlyArray<string> | undefined) =>
      clients.ocidist.copy(`${task.source}@${planned.sourceDigest}`, `${task.target}:${planned.tag}`, {
        referrers: task.referrers,
        ...(platforms === undefined ? {} : { platform: platforms })
      })
    const copied = yield* Effect.either(
      copy(task.platforms).pipe(
        // an index without some of the platforms: the ones it has (a mirror copies what there is)
        Effect.catchIf(
          (error): error is OcidistError.PlatformNotFound =>
            error._tag === "PlatformNotFound" && Plan.isIndex(planned.mediaType) && (task.platforms?.length ?? 0) > 1,
          (error) => {
            const present = (task.platforms ?? []).filter((p) => error.available.includes(p))
            return present.length > 0 ? copy(present) : Effect.fail(error)
          }
        )
      )
    )
    if (copied._tag === "Left") {
      const error = Plan.errorInfo(copied.left)
      yield* orDie(store.setTag({
        runId,
        source: task.source,
        target: task.target,
        tag: planned.tag,
        state: "failed",
        error: `${error._tag}: ${error.message}`
      }))
      return new Report.Failed({ tag: planned.tag, error })
    }
    const result = copied.right
    yield* orDie(store.recordSynced(task.target, planned.tag, planned.sourceDigest, result.digest))
    yield* orDie(store.setTag({
      runId,
      source: task.source,
      target: task.target,
      tag: planned.tag,
      state: "copied",
      digest: result.digest
    }))
    return new Report.Copied({
      tag: planned.tag,
      digest: result.digest,
      ...(result.digest === planned.sourceDigest ? {} : { sourceDigest: planned.sourceDigest }),
      bytes: result.stats.bytes
    })
  })

/** The activity deleting the target tags the source no longer selects. */
const pruneTags = (
  payload: typeof RepositoryPayload.Type,
  tags: ReadonlyArray<{ readonly tag: string; readonly digest: string }>
): Effect.Effect<ReadonlyArray<Report.TagOutcome>, never, SyncClients.SyncClients | SyncStore.SyncStore> =>
  Effect.gen(function*() {
    const { runId, task } = payload
    if (yield* abandoned(runId)) return []
    const store = yield* SyncStore.SyncStore
    const clients = yield* Effect.flatMap(SyncClients.SyncClients, (c) => c.get(payload.registries))
    const outcomes: Array<Report.TagOutcome> = []
    for (const { digest, tag } of tags) {
      const deleted = yield* Effect.either(
        Effect.flatMap(Plan.parseReference(`${task.target}:${tag}`), (ref) => clients.registry.manifests.delete(ref))
      )
      if (deleted._tag === "Left" && !Plan.isNotFound(deleted.left)) {
        const error = Plan.errorInfo(deleted.left)
        yield* orDie(store.setTag({
          runId,
          source: task.source,
          target: task.target,
          tag,
          state: "failed",
          error: `${error._tag}: ${error.message}`
        }))
        outcomes.push(new Report.Failed({ tag, error }))
        continue
      }
      yield* orDie(store.forgetSynced(task.target, tag))
      yield* orDie(store.setTag({ runId, source: task.source, target: task.target, tag, state: "pruned", digest }))
      outcomes.push(new Report.Pruned({ tag, digest }))
    }
    return outcomes
  })

const repositoryWorkflow = SyncRepository.toLayer((payload) =>
  Effect.gen(function*() {
    const { runId, task } = payload
    const plan = yield* Activity.make({
      name: "plan",
      success: Report.RepositoryPlan,
      execute: Effect.gen(function*() {
        if (yield* abandoned(runId)) {
          return {
            source: task.source,
            target: task.target,
            copy: [],
            unchanged: [],
            prune: [],
            failed: [],
            error: { _tag: "RunAbandoned", message: abandonedReason }
          }
        }
        const store = yield* SyncStore.SyncStore
        const clients = yield* Effect.flatMap(SyncClients.SyncClients, (c) => c.get(payload.registries))
        const plan = yield* Plan.planRepository(clients, task, { withBytes: false }).pipe(
          Effect.provideService(SyncStore.SyncStore, store)
        )
        const states: Array<{ tag: string; state: SyncStore.TagState; digest?: string; error?: string }> = [
          ...plan.copy.map((c) => ({ tag: c.tag, state: "planned" as const, digest: c.sourceDigest })),
          ...plan.unchanged.map((u) => ({ tag: u.tag, state: "unchanged" as const, digest: u.digest })),
          ...plan.failed.map((f) => ({
            tag: f.tag,
            state: "failed" as const,
            error: `${f.error._tag}: ${f.error.message}`
          }))
        ]
        for (const entry of states) {
          yield* orDie(store.setTag({ runId, source: task.source, target: task.target, ...entry }))
        }
        return plan
      })
    })
    if (plan.error !== undefined) {
      return { source: task.source, target: task.target, outcomes: [], error: plan.error }
    }
    const outcomes: Array<Report.TagOutcome> = [
      ...plan.unchanged.map((u) => new Report.Unchanged({ tag: u.tag, digest: u.digest })),
      ...plan.failed
    ]
    let deferred: string | undefined
    for (const planned of plan.copy) {
      if (deferred !== undefined) {
        outcomes.push(new Report.Deferred({ tag: planned.tag, reason: deferred }))
        continue
      }
      const outcome = yield* Activity.make({
        name: `copy:${planned.tag}`,
        success: Report.TagOutcome,
        execute: copyTag(payload, planned)
      })
      if (outcome._tag === "Deferred") deferred = outcome.reason
      outcomes.push(outcome)
    }
    if (task.prune && plan.prune.length > 0) {
      const pruned = yield* Activity.make({
        name: "prune",
        success: Schema.Array(Report.TagOutcome),
        execute: pruneTags(payload, plan.prune)
      })
      outcomes.push(...pruned)
    }
    return { source: task.source, target: task.target, outcomes }
  })
)

const runWorkflow = SyncRun.toLayer((payload) =>
  Effect.gen(function*() {
    const expansion = yield* Activity.make({
      name: "expand",
      success: Plan.Expansion,
      execute: Effect.flatMap(abandoned(payload.runId), (gone) =>
        gone
          ? Effect.succeed({ repositories: [], errors: [] })
          : Effect.flatMap(
            Effect.flatMap(SyncClients.SyncClients, (c) => c.get(payload.registries)),
            (clients) => Plan.expand(clients, payload.entries)
          ))
    })
    const reports = yield* Effect.forEach(
      expansion.repositories,
      (task) => SyncRepository.execute({ runId: payload.runId, registries: payload.registries, task }),
      { concurrency: Math.max(1, payload.concurrency) }
    )
    const repositories = [...expansion.errors, ...reports]
    const report: Report.RunReport = { runId: payload.runId, repositories, totals: Report.totalsOf(repositories) }
    yield* Activity.make({
      name: "finish",
      execute: Effect.flatMap(
        SyncStore.SyncStore,
        (store) => orDie(store.finishRun(payload.runId, JSON.stringify(Schema.encodeSync(Report.RunReport)(report))))
      )
    })
    return report
  })
)

/**
 * The workflows, registered with the engine in context. Hosted by `SingleRunner` (embedded) and by socket
 * runners (distributed) alike.
 */
export const layer: Layer.Layer<
  never,
  SqlError.SqlError,
  WorkflowEngine.WorkflowEngine | SqlClient.SqlClient | SyncClients.SyncClients
> = Layer.mergeAll(runWorkflow, repositoryWorkflow).pipe(Layer.provide(SyncStore.layer))

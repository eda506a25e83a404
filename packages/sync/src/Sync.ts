/**
 * Mirror the repositories a configuration names: {@link plan} (a dry run: nothing written anywhere) and
 * {@link run} (the durable `SyncRun` workflow on whatever `WorkflowEngine` is provided: `NodeSync.layerEmbedded`
 * for one process, the cluster layers for many).
 *
 * ```ts
 * import { NodeSync, Sync, SyncConfig } from "@ocidist/sync"
 *
 * const program = Effect.flatMap(SyncConfig.load("sync.yaml"), (config) => Sync.run(config))
 * program.pipe(Effect.provide(NodeSync.layerEmbedded({ directory: NodeSync.defaultStateDirectory() })))
 * ```
 *
 * @since 0.5.0
 */
import type * as SqlError from "@effect/sql/SqlError"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as crypto from "node:crypto"
import * as Plan from "./internal/plan.js"
import * as Workflows from "./internal/workflows.js"
import type * as Report from "./Report.js"
import * as SyncClients from "./SyncClients.js"
import * as SyncConfig from "./SyncConfig.js"
import * as SyncStore from "./SyncStore.js"

/**
 * What a run works from: the configuration with each entry's effective options (defaults applied).
 *
 * @since 0.5.0
 * @category models
 */
export type Normalized = Omit<Workflows.RunPayload, "runId">

/**
 * The configuration with the defaults applied to every entry.
 *
 * @since 0.5.0
 * @category constructors
 */
export const normalize = (config: SyncConfig.SyncConfig): Normalized => ({
  concurrency: config.defaults.concurrency,
  registries: config.registries,
  // an entry's options without `concurrency` (the run's): the fields, in their order, make the configuration's hash
  entries: config.sync.map((entry) => {
    const { concurrency: _, ...options } = SyncConfig.effective(config, entry)
    return options
  })
})

/**
 * The identity of a configuration (SHA-256 of its normalized form): an unfinished run of the same hash is
 * resumed.
 *
 * @since 0.5.0
 * @category constructors
 */
export const configHash = (config: SyncConfig.SyncConfig): string =>
  crypto.createHash("sha256").update(JSON.stringify(normalize(config))).digest("hex")

/**
 * What a run would do, without a workflow and without writing anything: tags to copy with their source and
 * target digests, unchanged tags, tags to prune, and the bytes to move for sources without a rate limit (the
 * copy engine's dry run GETs manifests). Reads the store's last synced digests when one is provided.
 *
 * @since 0.5.0
 * @category operations
 */
export const plan = (config: SyncConfig.SyncConfig): Effect.Effect<Report.Plan, never, SyncClients.SyncClients> =>
  Effect.gen(function*() {
    const normalized = normalize(config)
    const clients = yield* Effect.flatMap(SyncClients.SyncClients, (c) => c.get(normalized.registries))
    const expansion = yield* Plan.expand(clients, normalized.entries)
    const errors: ReadonlyArray<Report.RepositoryPlan> = expansion.errors.map((e) => ({
      source: e.source,
      target: e.target,
      copy: [],
      unchanged: [],
      prune: [],
      failed: [],
      ...(e.error === undefined ? {} : { error: e.error })
    }))
    const planned = yield* Effect.forEach(expansion.repositories, (task) =>
      Plan.planRepository(clients, task, {
        withBytes: SyncClients.settingsOf(normalized.registries, task.source).settings?.ratelimit === undefined
      }), { concurrency: Math.max(1, normalized.concurrency) })
    return { repositories: [...errors, ...planned] }
  })

/**
 * Options of {@link run}.
 *
 * @since 0.5.0
 * @category options
 */
export interface RunOptions {
  /** Start a new run even when one of this configuration is unfinished. Default false. */
  readonly fresh?: boolean | undefined
  /** Called with the run id before the run is submitted (resumed: an unfinished run is continued). */
  readonly onStart?: ((run: Started) => Effect.Effect<void>) | undefined
}

/**
 * The run {@link start} chose.
 *
 * @since 0.5.0
 * @category models
 */
export interface Started {
  readonly runId: string
  /** An unfinished run of the same configuration, continued. */
  readonly resumed: boolean
}

/**
 * The run id for a configuration: its latest unfinished run's (that is how a killed run resumes), else a new
 * one recorded in the store.
 *
 * @since 0.5.0
 * @category operations
 */
export const start = (
  config: SyncConfig.SyncConfig,
  options: RunOptions = {}
): Effect.Effect<Started, SqlError.SqlError, SyncStore.SyncStore> =>
  Effect.gen(function*() {
    const store = yield* SyncStore.SyncStore
    const hash = configHash(config)
    if (options.fresh !== true) {
      const unfinished = yield* store.unfinished(hash)
      if (Option.isSome(unfinished)) return { runId: unfinished.value.id, resumed: true }
    }
    return { runId: yield* store.startRun(hash), resumed: false }
  })

/**
 * Submits the `SyncRun` workflow of a run without waiting (the engine runs it; `await` or `run` gets its
 * report). Idempotent: submitting a run id again continues the same execution.
 *
 * @since 0.5.0
 * @category operations
 */
export const submit = (
  config: SyncConfig.SyncConfig,
  runId: string
): Effect.Effect<string, never, WorkflowEngine.WorkflowEngine> =>
  Workflows.SyncRun.execute({ runId, ...normalize(config) }, { discard: true })

/**
 * Gives up the unfinished runs of configurations other than `configHash` (a configuration changed after a
 * run of it was killed): each is marked abandoned in the store, so that its activities do nothing when the
 * engine, which resumes every journaled workflow, resumes it; it then ends at once. For a store one process
 * uses (the embedded mode: `NodeSync.layerEmbedded`'s `abandonOthers` does it before its engine starts); a
 * cluster runs several configurations at once. Returns their ids.
 *
 * @since 0.5.0
 * @category operations
 */
export const abandonOthers = (
  configHash: string
): Effect.Effect<ReadonlyArray<string>, SqlError.SqlError, SyncStore.SyncStore> =>
  Effect.gen(function*() {
    const store = yield* SyncStore.SyncStore
    const others = yield* store.unfinishedOthers(configHash)
    for (const other of others) yield* store.abandonRun(other.id)
    return others.map((run) => run.id)
  })

/**
 * Runs (or resumes, see {@link start}) a sync of `config` and waits for its report. A failed tag is a
 * `Failed` outcome in the report, not a failure of this effect.
 *
 * @since 0.5.0
 * @category operations
 */
export const run = (
  config: SyncConfig.SyncConfig,
  options: RunOptions = {}
): Effect.Effect<Report.RunReport, SqlError.SqlError, WorkflowEngine.WorkflowEngine | SyncStore.SyncStore> =>
  Effect.gen(function*() {
    const started = yield* start(config, options)
    if (options.onStart !== undefined) yield* options.onStart(started)
    return yield* Workflows.SyncRun.execute({ runId: started.runId, ...normalize(config) })
  })

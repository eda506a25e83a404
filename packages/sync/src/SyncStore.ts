/**
 * The sync's own tables, next to the workflow engine's, through `@effect/sql` (the same SQL on SQLite and
 * PostgreSQL): runs (config hash, start, end, report), per-tag progress of each run (what `ocidist sync status`
 * shows), the digest last synced to each target tag (how a platform subset is recognised as unchanged), and
 * the rate-limit windows of source registries (reserved atomically before manifest GETs).
 *
 * @since 0.5.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as crypto from "node:crypto"

/**
 * A run as stored.
 *
 * @since 0.5.0
 * @category models
 */
export interface Run {
  readonly id: string
  readonly configHash: string
  readonly startedAt: string
  /**
   * When the run ended: with its report, or when it was abandoned (then equal to `abandonedAt`): tell the two
   * apart with {@link runState}.
   */
  readonly finishedAt: string | undefined
  /**
   * When the run was given up unfinished (embedded: a run of another configuration started in its state
   * directory); it is then also finished, without a report, and its activities copy nothing more.
   */
  readonly abandonedAt: string | undefined
  /** The final report (JSON of `Report.RunReport`), once finished (not when abandoned). */
  readonly report: string | undefined
}

/**
 * How a run ended, if it did: `unfinished` (running, or killed and not resumed yet), `finished` (with its
 * report), `abandoned` (given up unfinished, without a report: see {@link Run}'s `abandonedAt`).
 *
 * @since 0.5.0
 * @category models
 */
export type RunState = "unfinished" | "finished" | "abandoned"

/**
 * The {@link RunState} of a run: an abandoned run has a `finishedAt` too, but no report.
 *
 * @since 0.5.0
 * @category getters
 */
export const runState = (run: Run): RunState =>
  run.abandonedAt !== undefined ? "abandoned" : run.finishedAt !== undefined ? "finished" : "unfinished"

/**
 * The state of a tag in a run.
 *
 * @since 0.5.0
 * @category models
 */
export type TagState = "planned" | "copying" | "copied" | "unchanged" | "failed" | "deferred" | "pruned"

/**
 * Progress of one repository of a run: tags per state.
 *
 * @since 0.5.0
 * @category models
 */
export interface RepositoryStatus {
  readonly source: string
  readonly target: string
  readonly states: Readonly<Record<string, number>>
  readonly errors: ReadonlyArray<{ readonly tag: string; readonly error: string }>
  readonly updatedAt: string
}

/**
 * What `status` returns: the run (the latest one unless an id is given) and its repositories.
 *
 * @since 0.5.0
 * @category models
 */
export interface Status {
  readonly run: Run
  readonly repositories: ReadonlyArray<RepositoryStatus>
}

/**
 * @since 0.5.0
 * @category models
 */
export interface Service {
  /** The latest unfinished run of a configuration (by hash), if there is one. */
  readonly unfinished: (configHash: string) => Effect.Effect<Option.Option<Run>, SqlError.SqlError>
  /** Records a new run and returns its id. */
  readonly startRun: (configHash: string) => Effect.Effect<string, SqlError.SqlError>
  /** Marks a run finished with its report (JSON), unless it was abandoned. */
  readonly finishRun: (runId: string, report: string) => Effect.Effect<void, SqlError.SqlError>
  /**
   * The unfinished runs, of any configuration but `exceptConfigHash`, newest first: what a new run in an
   * embedded state directory (one process at a time) abandons.
   */
  readonly unfinishedOthers: (
    exceptConfigHash: string
  ) => Effect.Effect<ReadonlyArray<Run>, SqlError.SqlError>
  /** Marks an unfinished run abandoned (and finished, without a report). */
  readonly abandonRun: (runId: string) => Effect.Effect<void, SqlError.SqlError>
  /** Whether a run was abandoned: its activities then copy, plan and prune nothing. */
  readonly isAbandoned: (runId: string) => Effect.Effect<boolean, SqlError.SqlError>
  /** Sets the state of a tag in a run. */
  readonly setTag: (entry: {
    readonly runId: string
    readonly source: string
    readonly target: string
    readonly tag: string
    readonly state: TagState
    readonly digest?: string | undefined
    readonly error?: string | undefined
  }) => Effect.Effect<void, SqlError.SqlError>
  /** The digests last synced to a target tag: what the source had and what the target stored. */
  readonly lastSynced: (
    target: string,
    tag: string
  ) => Effect.Effect<Option.Option<{ readonly sourceDigest: string; readonly digest: string }>, SqlError.SqlError>
  /** Records what a copy wrote to a target tag. */
  readonly recordSynced: (
    target: string,
    tag: string,
    sourceDigest: string,
    digest: string
  ) => Effect.Effect<void, SqlError.SqlError>
  /** Forgets a pruned target tag. */
  readonly forgetSynced: (target: string, tag: string) => Effect.Effect<void, SqlError.SqlError>
  /**
   * Reserves `cost` pulls of `registry`'s budget of `limit` per `perMillis` window (fixed windows), atomically:
   * `false` when the current window has not that much left.
   */
  readonly reserve: (
    registry: string,
    cost: number,
    limit: number,
    perMillis: number
  ) => Effect.Effect<boolean, SqlError.SqlError>
  /** Progress of a run (the latest when `runId` is omitted); none when there is no run. */
  readonly status: (runId?: string) => Effect.Effect<Option.Option<Status>, SqlError.SqlError>
}

/**
 * @since 0.5.0
 * @category tags
 */
export class SyncStore extends Context.Tag("@ocidist/sync/SyncStore")<SyncStore, Service>() {}

const text = (value: unknown): string | undefined => value === null || value === undefined ? undefined : String(value)

const toRun = (row: Record<string, unknown>): Run => ({
  id: String(row.id),
  configHash: String(row.config_hash),
  startedAt: String(row.started_at),
  finishedAt: text(row.finished_at),
  abandonedAt: text(row.abandoned_at),
  report: text(row.report)
})

/**
 * Creates the tables if they do not exist (idempotent; the same statements on SQLite and PostgreSQL).
 *
 * @since 0.5.0
 * @category constructors
 */
export const migrate: Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS ocidist_sync_runs (
    id TEXT PRIMARY KEY,
    config_hash TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    abandoned_at TEXT,
    report TEXT
  )`
  yield* sql`CREATE INDEX IF NOT EXISTS ocidist_sync_runs_hash ON ocidist_sync_runs (config_hash, started_at)`
  yield* sql`CREATE TABLE IF NOT EXISTS ocidist_sync_tags (
    run_id TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    tag TEXT NOT NULL,
    state TEXT NOT NULL,
    digest TEXT,
    error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (run_id, target, tag)
  )`
  yield* sql`CREATE TABLE IF NOT EXISTS ocidist_sync_digests (
    target TEXT NOT NULL,
    tag TEXT NOT NULL,
    source_digest TEXT NOT NULL,
    digest TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (target, tag)
  )`
  yield* sql`CREATE TABLE IF NOT EXISTS ocidist_sync_ratelimit (
    registry TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (registry, window_start)
  )`
})

const now = () => new Date().toISOString()

/**
 * Builds the service over the `SqlClient` in context, after {@link migrate}.
 *
 * @since 0.5.0
 * @category constructors
 */
export const make: Effect.Effect<Service, SqlError.SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* migrate
  const unfinished = (configHash: string) =>
    Effect.map(
      sql<Record<string, unknown>>`SELECT * FROM ocidist_sync_runs
        WHERE config_hash = ${configHash} AND finished_at IS NULL ORDER BY started_at DESC LIMIT 1`,
      (rows) => rows.length === 0 ? Option.none() : Option.some(toRun(rows[0]!))
    )
  const runById = (runId: string | undefined) =>
    Effect.map(
      runId === undefined
        ? sql<Record<string, unknown>>`SELECT * FROM ocidist_sync_runs ORDER BY started_at DESC LIMIT 1`
        : sql<Record<string, unknown>>`SELECT * FROM ocidist_sync_runs WHERE id = ${runId}`,
      (rows) => rows.length === 0 ? Option.none<Run>() : Option.some(toRun(rows[0]!))
    )
  return SyncStore.of({
    unfinished,
    startRun: (configHash) =>
      Effect.gen(function*() {
        // sortable by time, unique: the start time and random bits
        const id = `${Date.now().toString(36).padStart(9, "0")}-${crypto.randomBytes(6).toString("hex")}`
        yield* sql`INSERT INTO ocidist_sync_runs (id, config_hash, started_at) VALUES (${id}, ${configHash}, ${now()})`
        return id
      }),
    finishRun: (runId, report) =>
      Effect.asVoid(
        sql`UPDATE ocidist_sync_runs SET finished_at = ${now()}, report = ${report}
          WHERE id = ${runId} AND abandoned_at IS NULL`
      ),
    unfinishedOthers: (exceptConfigHash) =>
      Effect.map(
        sql<Record<string, unknown>>`SELECT * FROM ocidist_sync_runs
          WHERE config_hash <> ${exceptConfigHash} AND finished_at IS NULL ORDER BY started_at DESC`,
        (rows) => rows.map(toRun)
      ),
    abandonRun: (runId) =>
      Effect.suspend(() => {
        const at = now()
        return Effect.asVoid(
          sql`UPDATE ocidist_sync_runs SET abandoned_at = ${at}, finished_at = ${at}
            WHERE id = ${runId} AND finished_at IS NULL`
        )
      }),
    isAbandoned: (runId) =>
      Effect.map(
        sql<Record<string, unknown>>`SELECT abandoned_at FROM ocidist_sync_runs WHERE id = ${runId}`,
        (rows) => rows.length > 0 && rows[0]!.abandoned_at !== null && rows[0]!.abandoned_at !== undefined
      ),
    setTag: (entry) =>
      Effect.asVoid(
        sql`INSERT INTO ocidist_sync_tags (run_id, source, target, tag, state, digest, error, updated_at)
          VALUES (${entry.runId}, ${entry.source}, ${entry.target}, ${entry.tag}, ${entry.state},
            ${entry.digest ?? null}, ${entry.error ?? null}, ${now()})
          ON CONFLICT (run_id, target, tag) DO UPDATE SET state = excluded.state, digest = excluded.digest,
            error = excluded.error, updated_at = excluded.updated_at`
      ),
    lastSynced: (target, tag) =>
      Effect.map(
        sql<Record<string, unknown>>`SELECT source_digest, digest FROM ocidist_sync_digests
          WHERE target = ${target} AND tag = ${tag}`,
        (rows) =>
          rows.length === 0
            ? Option.none()
            : Option.some({ sourceDigest: String(rows[0]!.source_digest), digest: String(rows[0]!.digest) })
      ),
    recordSynced: (target, tag, sourceDigest, digest) =>
      Effect.asVoid(
        sql`INSERT INTO ocidist_sync_digests (target, tag, source_digest, digest, updated_at)
          VALUES (${target}, ${tag}, ${sourceDigest}, ${digest}, ${now()})
          ON CONFLICT (target, tag) DO UPDATE SET source_digest = excluded.source_digest,
            digest = excluded.digest, updated_at = excluded.updated_at`
      ),
    forgetSynced: (target, tag) =>
      Effect.asVoid(sql`DELETE FROM ocidist_sync_digests WHERE target = ${target} AND tag = ${tag}`),
    reserve: (registry, cost, limit, perMillis) =>
      Effect.gen(function*() {
        if (cost > limit) return false
        const window = Math.floor(Date.now() / perMillis) * perMillis
        // one statement: insert the window, or add to it only while it stays within the limit
        const rows = yield* sql<
          Record<string, unknown>
        >`INSERT INTO ocidist_sync_ratelimit (registry, window_start, used)
          VALUES (${registry}, ${window}, ${cost})
          ON CONFLICT (registry, window_start) DO UPDATE SET used = ocidist_sync_ratelimit.used + excluded.used
          WHERE ocidist_sync_ratelimit.used + excluded.used <= ${limit}
          RETURNING used`
        return rows.length > 0
      }),
    status: (runId) =>
      Effect.gen(function*() {
        const run = yield* runById(runId)
        if (Option.isNone(run)) return Option.none()
        const rows = yield* sql<Record<string, unknown>>`SELECT source, target, tag, state, error, updated_at
          FROM ocidist_sync_tags WHERE run_id = ${run.value.id} ORDER BY target, tag`
        const byTarget = new Map<string, {
          source: string
          target: string
          states: Record<string, number>
          errors: Array<{ tag: string; error: string }>
          updatedAt: string
        }>()
        for (const row of rows) {
          const target = String(row.target)
          let entry = byTarget.get(target)
          if (entry === undefined) {
            entry = { source: String(row.source), target, states: {}, errors: [], updatedAt: "" }
            byTarget.set(target, entry)
          }
          const state = String(row.state)
          entry.states[state] = (entry.states[state] ?? 0) + 1
          if (row.error !== null && row.error !== undefined) {
            entry.errors.push({ tag: String(row.tag), error: String(row.error) })
          }
          const updated = String(row.updated_at)
          if (updated > entry.updatedAt) {
            entry.updatedAt = updated
          }
        }
        return Option.some({ run: run.value, repositories: [...byTarget.values()] })
      })
  })
})

/**
 * The store over the `SqlClient` provided to it; its tables are created when it is built.
 *
 * @since 0.5.0
 * @category layers
 */
export const layer: Layer.Layer<SyncStore, SqlError.SqlError, SqlClient.SqlClient> = Layer.effect(SyncStore, make)

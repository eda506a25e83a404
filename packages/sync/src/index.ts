/**
 * `@ocidist/sync`: mirror many repositories between registries as a durable workflow, embedded (one
 * process, SQLite) or distributed on `@effect/cluster` with PostgreSQL. The Node.js wiring is imported by
 * path: `@ocidist/sync/NodeSync` (embedded mode) and `@ocidist/sync/NodeSyncCluster` (runners and clients of a
 * cluster).
 *
 * @since 0.5.0
 */

/**
 * The configuration file: model (Schemas), YAML parsing with errors at `file:line:column`, defaults.
 *
 * @since 0.5.0
 */
export * as SyncConfig from "./SyncConfig.js"

/**
 * Tag selection: allow and deny regular expressions, semver ranges.
 *
 * @since 0.5.0
 */
export * as TagFilter from "./TagFilter.js"

/**
 * Errors of the package.
 *
 * @since 0.5.0
 */
export * as SyncError from "./SyncError.js"

/**
 * Reports of runs (per tag, repository, run) and the plan of a dry run.
 *
 * @since 0.5.0
 */
export * as Report from "./Report.js"

/**
 * Plan and run a sync (the durable `SyncRun` workflow).
 *
 * @since 0.5.0
 */
export * as Sync from "./Sync.js"

/**
 * The sync's own tables: runs, per-tag progress, last synced digests, rate-limit windows.
 *
 * @since 0.5.0
 */
export * as SyncStore from "./SyncStore.js"

/**
 * The registry services a sync copies with, per configuration `registries` section.
 *
 * @since 0.5.0
 */
export * as SyncClients from "./SyncClients.js"

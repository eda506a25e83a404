/**
 * Errors of `@ocidist/sync`. Every class is a `Schema.TaggedError` (so errors serialize into workflow
 * results and reports) branded with {@link TypeId}; `isSyncError` accepts exactly these brands.
 *
 * @since 0.5.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * The brand of every error of this package.
 *
 * @since 0.5.0
 * @category type ids
 */
export const TypeId = "~@ocidist/sync/SyncError"

/**
 * @since 0.5.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Whether a value is an error of `@ocidist/sync` (tested on the brand, not on `_tag`).
 *
 * @since 0.5.0
 * @category guards
 */
export const isSyncError = (u: unknown): u is SyncError => Predicate.hasProperty(u, TypeId)

/**
 * One problem of a configuration file, at a position of the file. `line` and `column` count from 1; both
 * are 0 when the problem is about the whole file (it cannot be read). `path` is the place in the model
 * (`sync[0].tags.allow[1]`), empty for the whole document.
 *
 * @since 0.5.0
 * @category models
 */
export const ConfigProblem = Schema.Struct({
  line: Schema.Number,
  column: Schema.Number,
  path: Schema.String,
  message: Schema.String
})

/**
 * @since 0.5.0
 * @category models
 */
export type ConfigProblem = typeof ConfigProblem.Type

/**
 * Formats a problem as `file:line:column: path: message` (what editors and terminals turn into links).
 *
 * @since 0.5.0
 * @category formatting
 */
export const formatProblem = (file: string, problem: ConfigProblem): string => {
  const where = problem.line > 0 ? `${file}:${problem.line}:${problem.column}` : file
  return problem.path === "" ? `${where}: ${problem.message}` : `${where}: ${problem.path}: ${problem.message}`
}

/**
 * A sync configuration that cannot be read, is not valid YAML, or does not fit the model: one problem per
 * mistake, each at its line and column.
 *
 * @since 0.5.0
 * @category errors
 */
export class SyncConfigError extends Schema.TaggedError<SyncConfigError>("@ocidist/sync/SyncConfigError")(
  "SyncConfigError",
  {
    file: Schema.String,
    problems: Schema.Array(ConfigProblem)
  }
) {
  /**
   * @since 0.5.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return this.problems.map((problem) => formatProblem(this.file, problem)).join("\n")
  }
}

/**
 * Every error of `@ocidist/sync`.
 *
 * @since 0.5.0
 * @category errors
 */
export type SyncError = SyncConfigError | StateLocked | PoolTooSmall

/**
 * The embedded mode's state directory is in use by another live process (its id in `<directory>/lock`): one
 * process at a time runs the workflows of a state directory.
 *
 * @since 0.5.0
 * @category errors
 */
export class StateLocked extends Schema.TaggedError<StateLocked>("@ocidist/sync/StateLocked")("StateLocked", {
  directory: Schema.String,
  pid: Schema.Number
}) {
  /**
   * @since 0.5.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `the sync state directory ${this.directory} is in use by process ${this.pid}: wait for it to end, ` +
      "or give this run another directory (--state, OCIDIST_SYNC_DIR)"
  }
}

/**
 * A member of a sync cluster (`NodeSyncCluster.layerRunner`, `layerClient` and their engines) given a
 * PostgreSQL pool (`maxConnections`) it cannot start with: it needs at least `minimum` connections (one held by
 * `@effect/cluster`'s runner storage for the life of the process, for its shard locks; one held by the schema
 * lock while the member starts; one for the queries). A smaller pool would wait for a free connection forever.
 *
 * @since 0.5.0
 * @category errors
 */
export class PoolTooSmall extends Schema.TaggedError<PoolTooSmall>("@ocidist/sync/PoolTooSmall")("PoolTooSmall", {
  maxConnections: Schema.Number,
  minimum: Schema.Number
}) {
  /**
   * @since 0.5.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `maxConnections ${this.maxConnections}: a member of a sync cluster needs a PostgreSQL pool of at least ` +
      `${this.minimum} connections (one held by the cluster's shard locks for the life of the process, one by the ` +
      `schema lock while it starts, one for the queries); give maxConnections ${this.minimum} or more, or leave it ` +
      "unset (10)"
  }
}

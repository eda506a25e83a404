/**
 * The distributed mode of `ocidist sync` on Node: the same workflows as the embedded mode, on
 * `@effect/cluster` runners that share a PostgreSQL database (message storage, runner storage and shard
 * locks, our own tables). {@link layerRunner} joins a process to the cluster as a runner (`ocidist sync
 * worker`); {@link layerClient} submits runs and reads their status without hosting any entity.
 *
 * @since 0.5.0
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import type * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import type * as RunnerStorage from "@effect/cluster/RunnerStorage"
import type * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Workflows from "./internal/workflows.js"
import * as NodeSync from "./NodeSync.js"
import * as SyncClients from "./SyncClients.js"
import * as SyncError from "./SyncError.js"
import * as SyncStore from "./SyncStore.js"

/**
 * Sharding timings of every member of a sync cluster (runners AND clients: a client computes the shard of
 * an entity itself, so `shardsPerGroup` must be the same everywhere).
 *
 * Chosen so that a runner killed with SIGKILL loses its shards to the others within a few seconds:
 * - shard locks are PostgreSQL session advisory locks, released by the server as soon as the dead
 *   runner's connection drops;
 * - the dead runner leaves the runner list when its heartbeat (refreshed every `shardLockRefreshInterval`,
 *   1 s) is older than `shardLockExpiration` (5 s), or earlier when the health check (every 2 s; a ping
 *   to a dead process fails at once, retried 5 × 500 ms) marks it unhealthy;
 * - the survivors recompute assignments every `refreshAssignmentsInterval` (1 s), take the locks, and
 *   poll storage for the dead runner's unprocessed messages every `entityMessagePollInterval` (1 s):
 *   its in-flight workflows replay from their journal, finished activities are not run again.
 *
 * `entityTerminationTimeout` (5 s) bounds a graceful shutdown (SIGINT/SIGTERM of a worker): entities are
 * interrupted, shards released, and their messages are picked up by the others.
 *
 * @since 0.5.0
 * @category configuration
 */
export const shardingDefaults: Partial<ShardingConfig.ShardingConfig["Type"]> = {
  shardsPerGroup: 64,
  shardLockRefreshInterval: Duration.seconds(1),
  shardLockExpiration: Duration.seconds(5),
  refreshAssignmentsInterval: Duration.seconds(1),
  runnerHealthCheckInterval: Duration.seconds(2),
  entityMessagePollInterval: Duration.seconds(1),
  entityReplyPollInterval: Duration.millis(200),
  entityTerminationTimeout: Duration.seconds(5),
  sendRetryInterval: Duration.millis(100)
}

/**
 * @since 0.5.0
 * @category models
 */
export interface ClusterOptions {
  /** `postgres://user[:password]@host:port/database` of the shared store. */
  readonly url: string
  /** Overrides of {@link shardingDefaults} (the same on every member of the cluster). */
  readonly sharding?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
  /**
   * Connection pool size of this process. Default 10. At least {@link minConnections} (3) for a runner or a
   * client: a smaller pool fails with `PoolTooSmall` when the layer is built, before connecting.
   */
  readonly maxConnections?: number | undefined
}

/**
 * The smallest pool (`ClusterOptions.maxConnections`) a member of a sync cluster, runner or client, starts
 * with: `@effect/cluster`'s runner storage reserves a connection for its shard locks for the life of the
 * process (clients build it too), {@link layerStorage} holds another for the schema lock while that storage
 * is built, and the tables are created on a third. The pool waits for a free connection without a
 * deadline, so with fewer the member would hang at start: {@link layerRunnerEngine} and
 * {@link layerClientEngine} refuse a smaller (or non-integer) `maxConnections` with `PoolTooSmall`.
 *
 * @since 0.5.0
 * @category configuration
 */
export const minConnections = 3

/** `PoolTooSmall` unless `maxConnections` is unset or an integer of at least {@link minConnections}. */
const checkPool = (options: ClusterOptions): Effect.Effect<void, SyncError.PoolTooSmall> =>
  options.maxConnections === undefined ||
    (Number.isInteger(options.maxConnections) && options.maxConnections >= minConnections)
    ? Effect.void
    : new SyncError.PoolTooSmall({ maxConnections: options.maxConnections, minimum: minConnections })

/**
 * @since 0.5.0
 * @category models
 */
export interface RunnerOptions extends ClusterOptions {
  /** The address other runners reach this one at. */
  readonly host: string
  readonly port: number
  /** Where to listen, when it differs from `host` (for example `0.0.0.0`). */
  readonly listenHost?: string | undefined
}

/**
 * PostgreSQL through `@effect/sql-pg` (`application_name` "ocidist-sync" unless given). Any pool size: a pool
 * for a cluster member needs {@link minConnections}, checked by the engine layers.
 *
 * @since 0.5.0
 * @category layers
 */
export const layerPg = (
  options: ClusterOptions & { readonly applicationName?: string | undefined }
): Layer.Layer<SqlClient.SqlClient, SqlError.SqlError> =>
  PgClient.layer({
    url: Redacted.make(options.url),
    maxConnections: options.maxConnections ?? 10,
    applicationName: options.applicationName ?? "ocidist-sync"
  })

/**
 * The two keys of the PostgreSQL advisory lock that serializes schema creation ("ocsy", 1). A two-key lock
 * never collides with the cluster's shard locks, which are single-key (bigint) advisory locks.
 */
const schemaLockKeys = [0x6f637379, 1] as const

/**
 * Runs `effect` while this process holds the schema lock of the database: a session advisory lock taken on a
 * reserved connection, released (with the connection) when `effect` ends. If the process dies, the server
 * releases it with the connection. PostgreSQL's `CREATE TABLE IF NOT EXISTS` is not safe against itself:
 * two sessions creating the same table at the same moment, one fails with `duplicate key value violates
 * unique constraint "pg_type_typname_nsp_index"` — what processes starting together on an empty database do.
 *
 * @since 0.5.0
 * @category utils
 */
export const withSchemaLock = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError.SqlError, R | SqlClient.SqlClient> =>
  Effect.scoped(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const connection = yield* sql.reserve
    yield* Effect.acquireRelease(
      connection.executeRaw("SELECT pg_advisory_lock($1, $2)", schemaLockKeys),
      // an unlock that fails means a broken connection, whose locks the server has dropped
      () => Effect.ignore(connection.executeRaw("SELECT pg_advisory_unlock($1, $2)", schemaLockKeys))
    )
    return yield* effect
  }))

/**
 * Cluster's message and runner storage over PostgreSQL, with every table of the database created under
 * {@link withSchemaLock}: ours (`SyncStore.migrate`), then cluster's (its storage layers create their
 * tables as they are built, so they are built in the locked section). Every member of the cluster, runner
 * or client, goes through it: whichever starts first on an empty database creates the schema, the others
 * wait for it and find the tables there.
 *
 * While it is built it holds two connections of the pool (the schema lock's, and the one cluster's runner
 * storage then keeps for its shard locks for the life of the layer) and creates the tables on a third: the
 * pool must have at least {@link minConnections}.
 *
 * @since 0.5.0
 * @category layers
 */
export const layerStorage = (
  shardingConfig: Partial<ShardingConfig.ShardingConfig["Type"]>
): Layer.Layer<
  MessageStorage.MessageStorage | RunnerStorage.RunnerStorage,
  SqlError.SqlError | ConfigError.ConfigError,
  SqlClient.SqlClient
> =>
  Layer.scopedContext(Effect.gen(function*() {
    const scope = yield* Effect.scope
    const storage = Layer.merge(SqlMessageStorage.layer, SqlRunnerStorage.layer).pipe(
      Layer.provide(ShardingConfig.layerFromEnv(shardingConfig))
    )
    return yield* withSchemaLock(Effect.zipRight(SyncStore.migrate, Layer.buildWithScope(storage, scope)))
  }))

/**
 * A cluster runner with the workflow engine, over PostgreSQL: hosts the workflow entities of its shards
 * and serves other runners on `host:port`. Provides the `SqlClient` too (our own tables live in the same
 * database). Graceful shutdown (closing the layer's scope) interrupts the local entities and releases the
 * shards. Fails with `PoolTooSmall` when `maxConnections` is below {@link minConnections}.
 *
 * @since 0.5.0
 * @category layers
 */
export const layerRunnerEngine = (
  options: RunnerOptions
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | Sharding.Sharding | MessageStorage.MessageStorage | SqlClient.SqlClient,
  SocketServer.SocketServerError | ConfigError.ConfigError | SqlError.SqlError | SyncError.PoolTooSmall
> => {
  const shardingConfig: Partial<ShardingConfig.ShardingConfig["Type"]> = {
    ...shardingDefaults,
    ...options.sharding,
    runnerAddress: Option.some(RunnerAddress.make(options.host, options.port)),
    ...(options.listenHost === undefined ? {} : {
      runnerListenAddress: Option.some(RunnerAddress.make(options.listenHost, options.port))
    })
  }
  return Layer.unwrapEffect(Effect.as(
    checkPool(options),
    ClusterWorkflowEngine.layer.pipe(
      Layer.provideMerge(NodeClusterSocket.layer({ storage: "byo", runnerHealth: "ping", shardingConfig })),
      Layer.provideMerge(layerStorage(shardingConfig)),
      // the runner's address in pg_stat_activity: which runner holds which shard locks
      Layer.provideMerge(
        layerPg({ ...options, applicationName: `ocidist-sync runner ${options.host}:${options.port}` })
      )
    )
  ))
}

/**
 * A cluster client with the workflow engine, over PostgreSQL: submits workflows (`execute`, `poll`) to the
 * runners and awaits their results; hosts no entity. Fails with `PoolTooSmall` when `maxConnections` is below
 * {@link minConnections} (a client builds cluster's runner storage too).
 *
 * @since 0.5.0
 * @category layers
 */
export const layerClientEngine = (
  options: ClusterOptions
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | Sharding.Sharding | MessageStorage.MessageStorage | SqlClient.SqlClient,
  ConfigError.ConfigError | SqlError.SqlError | SyncError.PoolTooSmall
> => {
  const shardingConfig = { ...shardingDefaults, ...options.sharding }
  return Layer.unwrapEffect(Effect.as(
    checkPool(options),
    ClusterWorkflowEngine.layer.pipe(
      Layer.provideMerge(NodeClusterSocket.layer({ storage: "byo", clientOnly: true, shardingConfig })),
      Layer.provideMerge(layerStorage(shardingConfig)),
      Layer.provideMerge(layerPg(options))
    )
  ))
}

/**
 * Options of {@link layerRunner}.
 *
 * @since 0.5.0
 * @category models
 */
export interface WorkerOptions extends RunnerOptions, NodeSync.ClientsOptions {
  /**
   * Tags this runner copies at the same time, whatever the runs ask for (each repository copies its tags one
   * after the other, so this is about the repositories in flight here). Default: no limit of its own.
   */
  readonly concurrency?: number | undefined
}

/**
 * Caps the copies made through the clients at `permits` at a time (for all runs on this runner).
 *
 * @since 0.5.0
 * @category layers
 */
export const limitCopies = (
  permits: number
): Layer.Layer<SyncClients.SyncClients, never, SyncClients.SyncClients> =>
  Layer.effect(
    SyncClients.SyncClients,
    Effect.gen(function*() {
      const inner = yield* SyncClients.SyncClients
      const semaphore = yield* Effect.makeSemaphore(Math.max(1, permits))
      return SyncClients.SyncClients.of({
        get: (registries) =>
          Effect.map(inner.get(registries), (clients) => ({
            ...clients,
            ocidist: {
              ...clients.ocidist,
              copy: (source, destination, options) =>
                semaphore.withPermits(1)(clients.ocidist.copy(source, destination, options))
            }
          }))
      })
    })
  )

/**
 * A sync worker (`ocidist sync worker`): a cluster runner hosting the `SyncRun` and `SyncRepository` workflow
 * entities of its shards, with the registry clients and the store. Runs until its scope closes (graceful:
 * local entities are interrupted, shards released, their work picked up by the other runners). Fails with
 * `PoolTooSmall` when `maxConnections` is below {@link minConnections}.
 *
 * @since 0.5.0
 * @category layers
 */
export const layerRunner = (
  options: WorkerOptions
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | SyncStore.SyncStore | SqlClient.SqlClient,
  SocketServer.SocketServerError | ConfigError.ConfigError | SqlError.SqlError | SyncError.PoolTooSmall
> => {
  const clients = options.concurrency === undefined
    ? NodeSync.layerClients(options)
    : limitCopies(options.concurrency).pipe(Layer.provide(NodeSync.layerClients(options)))
  return Workflows.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(SyncStore.layer, clients)),
    Layer.provideMerge(layerRunnerEngine(options))
  )
}

/**
 * A sync client (`ocidist sync CONFIG --cluster URL`, `ocidist sync status --cluster URL`): submits runs to
 * the runners and awaits their reports (`Sync.run`), reads progress from the store; hosts no entity. Fails
 * with `PoolTooSmall` when `maxConnections` is below {@link minConnections}.
 *
 * @since 0.5.0
 * @category layers
 */
export const layerClient = (
  options: ClusterOptions
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | SyncStore.SyncStore | SqlClient.SqlClient,
  ConfigError.ConfigError | SqlError.SqlError | SyncError.PoolTooSmall
> => SyncStore.layer.pipe(Layer.provideMerge(layerClientEngine(options)))

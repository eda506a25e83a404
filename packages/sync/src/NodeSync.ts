/**
 * `@ocidist/sync` wired for Node.js: the registry clients of a configuration (undici, per-registry TLS,
 * credentials) and the embedded mode — the workflows on a `SingleRunner` with their state in a SQLite file
 * (`@effect/sql-libsql`: prebuilt binaries from the npm registry, nothing to compile, a dialect
 * `@effect/cluster` stores its messages in).
 *
 * @since 0.5.0
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import type * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as NodeCommandExecutor from "@effect/platform-node/NodeCommandExecutor"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as HttpClient from "@effect/platform/HttpClient"
import * as LibsqlClient from "@effect/sql-libsql/LibsqlClient"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as Hash from "@ocidist/reference/Hash"
import * as NodeHash from "@ocidist/reference/NodeHash"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as NodeCompression from "ocidist/NodeCompression"
import * as NodeOcidist from "ocidist/NodeOcidist"
import * as Ocidist from "ocidist/Ocidist"
import * as Workflows from "./internal/workflows.js"
import * as Sync from "./Sync.js"
import * as SyncClients from "./SyncClients.js"
import { StateLocked } from "./SyncError.js"
import * as SyncStore from "./SyncStore.js"

/**
 * Where the embedded mode keeps its state: `$OCIDIST_SYNC_DIR`, else `<ocidist cache directory>/sync`.
 *
 * @since 0.5.0
 * @category constants
 */
export const defaultStateDirectory = (env: Readonly<Record<string, string | undefined>> = process.env): string => {
  const explicit = env.OCIDIST_SYNC_DIR
  if (explicit !== undefined && explicit !== "") return path.resolve(explicit)
  return path.join(NodeOcidist.defaultCacheDirectory(env), "sync")
}

/**
 * Options of the clients: the base registry options (timeouts, user agent, …) the configuration's `tls`
 * settings are applied over, and the cache directory of the copy engine.
 *
 * @since 0.5.0
 * @category options
 */
export interface ClientsOptions {
  readonly registry?: RegistryClient.Options | undefined
  readonly cacheDirectory?: string | undefined
}

/**
 * Registry client options from a configuration's `registries`: `tls: false` is plain HTTP, `tls: true`
 * HTTPS, `tls: insecure` HTTPS without certificate verification.
 *
 * @since 0.5.0
 * @category constructors
 */
export const registryOptions = (
  registries: SyncClients.Registries,
  base: RegistryClient.Options = {}
): RegistryClient.Options => {
  const own: Record<string, RegistryClient.RegistryOptions> = { ...base.registries }
  for (const [registry, settings] of Object.entries(registries)) {
    if (settings.tls === undefined) continue
    own[registry] = {
      ...own[registry],
      ...(settings.tls === "insecure" ? { plainHttp: false, insecure: true } : { plainHttp: !settings.tls })
    }
  }
  return { ...base, registries: own }
}

/**
 * Explicit credentials from a configuration's `registries` (`username` with `passwordEnv`, read here);
 * the other registries use the default sources (environment, docker `config.json`, podman `auth.json`).
 *
 * @since 0.5.0
 * @category constructors
 */
export const explicitCredentials = (
  registries: SyncClients.Registries,
  env: Readonly<Record<string, string | undefined>> = process.env
): ReadonlyArray<readonly [string, Credentials.Credential]> => {
  const explicit: Array<readonly [string, Credentials.Credential]> = []
  for (const [registry, settings] of Object.entries(registries)) {
    const credentials = settings.credentials
    if (credentials === undefined || credentials === "docker-config") continue
    const password = (credentials.passwordEnv === undefined ? undefined : env[credentials.passwordEnv]) ?? ""
    explicit.push([registry, Credentials.basic(credentials.username, password)])
  }
  return explicit
}

const makeClients = (registries: SyncClients.Registries, options: ClientsOptions) =>
  Effect.gen(function*() {
    const registry = registryOptions(registries, options.registry)
    const cacheDirectory = options.cacheDirectory ?? NodeOcidist.defaultCacheDirectory()
    const platform = yield* Layer.build(Layer.mergeAll(
      NodeFileSystem.layer,
      NodePath.layer,
      NodeCommandExecutor.layer.pipe(Layer.provide(NodeFileSystem.layer)),
      NodeCompression.layer({ spoolDirectory: path.join(cacheDirectory, "staging") })
    ))
    const hash = yield* NodeHash.make("auto")
    const node = Context.add(platform, Hash.Hash, hash)
    const http = yield* NodeRegistryClient.makeHttpClient(registry)
    const credentials = yield* Effect.provide(Credentials.make({ explicit: explicitCredentials(registries) }), node)
    const withHttp = Context.add(Context.add(node, HttpClient.HttpClient, http), Credentials.Credentials, credentials)
    const auth = yield* Effect.provide(Authenticator.make(), withHttp)
    const withAuth = Context.add(withHttp, Authenticator.Authenticator, auth)
    const client = yield* Effect.provide(RegistryClient.make(registry), withAuth)
    const ocidist = yield* Effect.provide(
      Ocidist.make({ cacheDirectory }),
      Context.add(withAuth, RegistryClient.RegistryClient, client)
    )
    return { ocidist, registry: client } satisfies SyncClients.Clients
  })

/**
 * The registry clients, one set per distinct `registries` section (by hash), built on first use and kept
 * until the layer's scope closes.
 *
 * @since 0.5.0
 * @category layers
 */
export const layerClients = (options: ClientsOptions = {}): Layer.Layer<SyncClients.SyncClients> =>
  Layer.scoped(
    SyncClients.SyncClients,
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const cache = new Map<string, SyncClients.Clients>()
      const lock = yield* Effect.makeSemaphore(1)
      return SyncClients.SyncClients.of({
        get: (registries) =>
          lock.withPermits(1)(Effect.suspend(() => {
            const key = crypto.createHash("sha256").update(JSON.stringify(registries)).digest("hex")
            const cached = cache.get(key)
            if (cached !== undefined) return Effect.succeed(cached)
            return Effect.tap(
              Scope.extend(makeClients(registries, options), scope),
              (clients) => Effect.sync(() => cache.set(key, clients))
            )
          }))
      })
    })
  )

/**
 * Options of {@link layerEmbedded}.
 *
 * @since 0.5.0
 * @category options
 */
export interface EmbeddedOptions extends ClientsOptions {
  /** The state directory (created if missing): the SQLite file `sync.db` is kept there. */
  readonly directory: string
  /**
   * The configuration hash (`Sync.configHash`) of the run about to start: the unfinished runs of other
   * configurations are marked abandoned before the engine starts (so that, when it resumes their journaled
   * workflows, they copy nothing), and `onAbandoned` is told their ids.
   */
  readonly abandonOthers?: {
    readonly configHash: string
    readonly onAbandoned?: ((runIds: ReadonlyArray<string>) => Effect.Effect<void>) | undefined
  } | undefined
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, another user's
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Takes `<directory>/lock` for this process (created exclusively; a lock whose process is gone, killed,
 * is taken over), released when the scope closes.
 */
const lockDirectory = (directory: string): Effect.Effect<void, StateLocked, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      fs.mkdirSync(directory, { recursive: true })
      const file = path.join(directory, "lock")
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" })
          return Effect.succeed(file)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
        }
        const pid = Number(fs.readFileSync(file, "utf8").trim())
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
          return Effect.fail(new StateLocked({ directory, pid }))
        }
        fs.rmSync(file, { force: true })
      }
      return Effect.fail(new StateLocked({ directory, pid: 0 }))
    }),
    (file) => Effect.sync(() => fs.rmSync(file, { force: true }))
  ).pipe(Effect.asVoid)

/**
 * `@effect/cluster`'s `SingleRunner` (sharding with no other runner to talk to, messages in SQL, runners and
 * shard locks in memory), except that the runner does not unregister itself when it shuts down. The
 * in-memory runner list dies with the process and nobody else reads it, and unregistering only had the
 * runner's own assignment loop, still running during the shutdown, find no runner at all and log "No
 * healthy runners available" on stderr (every 3 s of a shutdown that waits for entities).
 */
const layerSingleRunner: Layer.Layer<
  Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage,
  ConfigError.ConfigError,
  SqlClient.SqlClient
> = Sharding.layer.pipe(
  Layer.provideMerge(Runners.layerNoop),
  Layer.provideMerge(SqlMessageStorage.layer),
  Layer.provide([
    Layer.effect(
      RunnerStorage.RunnerStorage,
      Effect.map(
        RunnerStorage.makeMemory,
        (storage) => RunnerStorage.RunnerStorage.of({ ...storage, unregister: () => Effect.void })
      )
    ),
    RunnerHealth.layerNoop
  ]),
  // Ctrl-C: the workflows in flight are interrupted and resume from their journal at the next run, so the
  // process has no reason to wait for them (cluster's default, 15 s)
  Layer.provide(ShardingConfig.layerFromEnv({ entityTerminationTimeout: Duration.seconds(2) }))
)

/**
 * The embedded mode: the workflows on a `SingleRunner` whose messages and workflow journal, and our tables,
 * are in `<directory>/sync.db`, with the registry clients. One process at a time uses a directory (its
 * `lock` file; a killed process's is taken over), so shard locks are kept in memory: persisted ones would
 * outlive a SIGKILL and hold the next process up until they expire. What survives a SIGKILL: everything
 * journaled — a rerun of the same run id resumes at the activity that was running. A run of another
 * configuration left unfinished is given up with `abandonOthers`.
 *
 * @since 0.5.0
 * @category layers
 */
export const layerEmbedded = (
  options: EmbeddedOptions
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | SyncStore.SyncStore | SyncClients.SyncClients | SqlClient.SqlClient,
  SqlError.SqlError | ConfigError.ConfigError | StateLocked
> => {
  const sql = Layer.unwrapScoped(Effect.map(lockDirectory(options.directory), () =>
    LibsqlClient.layer({
      url: `file:${path.join(options.directory, "sync.db")}`,
      // cluster's snowflake ids do not fit a JS number
      intMode: "bigint"
    }).pipe(
      // Write-ahead log (kept in the file: set once, for every connection after): a commit appends to the log
      // and syncs it once, instead of writing a rollback journal, the database and deleting the journal, each
      // synced (the engine commits a few times per message). `ocidist sync status` reads while a run writes.
      Layer.tap((context) =>
        Effect.provide(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`PRAGMA journal_mode = WAL`), context)
      )
    )))
  // before the engine: it resumes every journaled workflow as it starts
  const abandon = options.abandonOthers === undefined ? Layer.empty : Layer.effectDiscard(
    Effect.gen(function*() {
      const others = options.abandonOthers!
      const store = yield* SyncStore.make
      const runIds = yield* Effect.provideService(Sync.abandonOthers(others.configHash), SyncStore.SyncStore, store)
      if (runIds.length > 0 && others.onAbandoned !== undefined) yield* others.onAbandoned(runIds)
    })
  )
  const engine = ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(layerSingleRunner),
    Layer.provide(abandon)
  )
  const clients = layerClients(options)
  return Workflows.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(engine, SyncStore.layer, clients)),
    Layer.provideMerge(sql)
  )
}

/**
 * The store of an embedded state directory alone (no engine, no lock): what `ocidist sync status` reads, also
 * while a run is going on.
 *
 * @since 0.5.0
 * @category layers
 */
export const layerStore = (
  directory: string
): Layer.Layer<SyncStore.SyncStore, SqlError.SqlError | ConfigError.ConfigError> =>
  SyncStore.layer.pipe(
    Layer.provide(LibsqlClient.layer({ url: `file:${path.join(directory, "sync.db")}`, intMode: "bigint" }))
  )

/**
 * `sync worker` (a cluster runner until Ctrl-C or SIGTERM) and `sync status` (progress per repository, from the
 * store of a cluster or of the embedded state directory). Loaded on its own, like `ops/sync.ts`: the other
 * commands never evaluate `@effect/cluster` or the PostgreSQL client.
 */
import * as NodeSync from "@ocidist/sync/NodeSync"
import * as NodeSyncCluster from "@ocidist/sync/NodeSyncCluster"
import * as SyncStore from "@ocidist/sync/SyncStore"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as path from "node:path"
import { CliFailure, UsageError } from "../../CliError.js"
import type { Globals } from "../../GlobalOptions.js"
import { markStopsOnSignal } from "../signals.js"
import { info, json, line, lines } from "./common.js"
import { cacheDirectoryOf, layerOptions, registryOptions } from "./services.js"

/** `postgres://…` or `postgresql://…`, else a usage error. */
export const clusterUrl = (input: string): Effect.Effect<string, UsageError> => {
  let url: URL | undefined
  try {
    url = new URL(input)
  } catch {
    url = undefined
  }
  return url !== undefined && (url.protocol === "postgres:" || url.protocol === "postgresql:") && url.host !== ""
    ? Effect.succeed(input)
    : Effect.fail(
      new UsageError({
        detail: `--cluster takes a PostgreSQL URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE), got "${
          redactUrl(input)
        }"`
      })
    )
}

/** The URL without its password, for messages. */
export const redactUrl = (input: string): string => {
  try {
    const url = new URL(input)
    if (url.password !== "") url.password = "***"
    return url.toString()
  } catch {
    return input.replace(/:[^:@/]*@/, ":***@")
  }
}

const messageOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const cause = "cause" in error ? error.cause : undefined
    if (cause instanceof Error && cause.message !== "") return cause.message
    if ("message" in error && typeof error.message === "string" && error.message !== "") return error.message
  }
  return String(error)
}

/** The parsed options of `sync worker`. */
export interface WorkerArgs {
  readonly cluster: string
  readonly listen: Option.Option<string>
  readonly concurrency: Option.Option<number>
}

const defaultListen = "127.0.0.1:34431"

/** `HOST:PORT` (`[v6]:PORT` too) → its parts. */
const listenOf = (input: string): Effect.Effect<{ readonly host: string; readonly port: number }, UsageError> => {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(input)
  const port = m === null ? NaN : Number(m[3])
  if (m === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    return Effect.fail(
      new UsageError({ detail: `--listen takes HOST:PORT (an address the other workers reach), got "${input}"` })
    )
  }
  return Effect.succeed({ host: m[1] ?? m[2]!, port })
}

/** `sync worker` */
export const worker = (globals: Globals, args: WorkerArgs) =>
  Effect.scoped(Effect.gen(function*() {
    const url = yield* clusterUrl(args.cluster)
    const listen = yield* listenOf(Option.getOrElse(args.listen, () => defaultListen))
    if (Option.isSome(args.concurrency) && (!Number.isInteger(args.concurrency.value) || args.concurrency.value < 1)) {
      return yield* new UsageError({
        detail: `--concurrency must be a positive integer, got ${args.concurrency.value}`
      })
    }
    const runner = `${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${listen.port}`
    // the registry options of every command (global flags, OCIDIST_* variables, the config file): the runs'
    // configurations add their registries' TLS and credentials over them
    const options = yield* layerOptions
    const registry = yield* registryOptions(globals)
    yield* Layer.build(NodeSyncCluster.layerRunner({
      url,
      host: listen.host,
      port: listen.port,
      registry,
      cacheDirectory: cacheDirectoryOf(options),
      ...(Option.isSome(args.concurrency) ? { concurrency: args.concurrency.value } : {})
    })).pipe(
      Effect.catchAll((error) =>
        new CliFailure({
          detail: `sync worker: cannot join the cluster at ${redactUrl(url)} as ${runner}: ${messageOf(error)}`
        })
      )
    )
    yield* markStopsOnSignal
    if (globals.json) {
      yield* json({ event: "Joined", runner, cluster: redactUrl(url) })
    } else if (!globals.quiet) {
      yield* line(`ocidist sync worker: runner ${runner} joined ${redactUrl(url)}`)
    }
    yield* info(globals, "ocidist sync worker: Ctrl-C or SIGTERM hands its repositories to the other workers")
    return yield* Effect.never.pipe(
      Effect.onInterrupt(() => info(globals, "ocidist sync worker: left the cluster"))
    )
  }))

/** The parsed options of `sync status`. */
export interface StatusArgs {
  readonly cluster: Option.Option<string>
  readonly state: Option.Option<string>
  readonly run: Option.Option<string>
}

/** The JSON of `sync status --json`. */
export interface StatusJson {
  readonly run: {
    readonly id: string
    readonly configHash: string
    readonly startedAt: string
    /** Set also when the run was abandoned (then equal to `abandonedAt`). */
    readonly finishedAt: string | null
    readonly abandonedAt: string | null
    readonly state: SyncStore.RunState
  } | null
  readonly repositories: ReadonlyArray<{
    readonly source: string
    readonly target: string
    readonly states: Readonly<Record<string, number>>
    readonly errors: ReadonlyArray<{ readonly tag: string; readonly error: string }>
    readonly updatedAt: string
  }>
}

const toJson = (status: Option.Option<SyncStore.Status>): StatusJson =>
  Option.match(status, {
    onNone: () => ({ run: null, repositories: [] }),
    onSome: (s) => ({
      run: {
        id: s.run.id,
        configHash: s.run.configHash,
        startedAt: s.run.startedAt,
        finishedAt: s.run.finishedAt ?? null,
        abandonedAt: s.run.abandonedAt ?? null,
        state: SyncStore.runState(s.run)
      },
      repositories: s.repositories.map((r) => ({
        source: r.source,
        target: r.target,
        states: r.states,
        errors: r.errors,
        updatedAt: r.updatedAt
      }))
    })
  })

const stateOrder = ["copied", "unchanged", "copying", "planned", "deferred", "failed", "pruned"]

const describeStates = (states: Readonly<Record<string, number>>): string =>
  Object.entries(states)
    .sort(([a], [b]) => (stateOrder.indexOf(a) + 100) % 100 - (stateOrder.indexOf(b) + 100) % 100)
    .map(([state, n]) => `${n} ${state}`)
    .join(", ")

/** `sync status` */
export const status = (globals: Globals, args: StatusArgs) =>
  Effect.gen(function*() {
    if (Option.isSome(args.cluster) && Option.isSome(args.state)) {
      return yield* new UsageError({
        detail: "--cluster and --state cannot be used together (--cluster URL reads a cluster's store, --state DIR " +
          "an embedded one)"
      })
    }
    let where: string
    let store: Layer.Layer<SyncStore.SyncStore, unknown>
    if (Option.isSome(args.cluster)) {
      const url = yield* clusterUrl(args.cluster.value)
      where = redactUrl(url)
      store = SyncStore.layer.pipe(Layer.provide(NodeSyncCluster.layerPg({ url, maxConnections: 2 })))
    } else {
      const directory = Option.match(args.state, {
        onNone: () => NodeSync.defaultStateDirectory(),
        onSome: (dir) => path.resolve(dir)
      })
      const file = path.join(directory, "sync.db")
      where = directory
      if (!fs.existsSync(file)) {
        if (globals.json) return yield* json(toJson(Option.none()))
        return yield* line(`ocidist sync status: no sync has run with the state directory ${directory}`)
      }
      store = NodeSync.layerStore(directory)
    }
    const result = yield* Effect.flatMap(
      SyncStore.SyncStore,
      (s) => s.status(Option.getOrUndefined(args.run))
    ).pipe(
      Effect.provide(store),
      Effect.catchAll((error) =>
        new CliFailure({ detail: `sync status: cannot read the sync store at ${where}: ${messageOf(error)}` })
      )
    )
    if (globals.json) return yield* json(toJson(result))
    if (Option.isNone(result)) {
      return yield* line(
        Option.isSome(args.run)
          ? `ocidist sync status: no run ${args.run.value} in ${where}`
          : `ocidist sync status: no sync run recorded in ${where}`
      )
    }
    const { repositories, run } = result.value
    const done = repositories.filter((r) => !("planned" in r.states) && !("copying" in r.states)).length
    const ended = {
      unfinished: "running",
      finished: `finished ${run.finishedAt}`,
      // given up unfinished (a run of another configuration started): no report, it copies nothing more
      abandoned: `abandoned ${run.abandonedAt}`
    }[SyncStore.runState(run)]
    const out: Array<string> = [
      `run ${run.id}: started ${run.startedAt}, ${ended}; ${done}/${repositories.length} repositories done`
    ]
    for (const r of repositories) {
      out.push(`  ${r.target} ← ${r.source}: ${describeStates(r.states)}`)
      for (const e of r.errors) out.push(`    ${e.tag}: ${e.error}`)
    }
    yield* lines(out)
  })

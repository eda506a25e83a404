/**
 * `sync CONFIG`: the embedded mode of `@ocidist/sync` (workflows on a SQLite state directory), one run or one
 * every `--interval`, or the plan with `--dry-run`.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeSync from "@ocidist/sync/NodeSync"
import * as NodeSyncCluster from "@ocidist/sync/NodeSyncCluster"
import type * as Report from "@ocidist/sync/Report"
import * as Sync from "@ocidist/sync/Sync"
import * as SyncConfig from "@ocidist/sync/SyncConfig"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as path from "node:path"
import { CliFailure, UsageError } from "../../CliError.js"
import { ExitCode } from "../../ExitCode.js"
import type { Globals } from "../../GlobalOptions.js"
import * as Format from "../format.js"
import type * as Timeout from "../timeout.js"
import { info, json, lines } from "./common.js"
import { cacheDirectoryOf, layerOptions, registryOptions } from "./services.js"
import * as SyncCluster from "./syncCluster.js"

/** The arguments of `sync`. */
export interface SyncArgs {
  readonly config: string
  readonly dryRun: boolean
  readonly once: boolean
  readonly interval: Option.Option<Timeout.Timeout>
  readonly state: Option.Option<string>
  /** `--cluster URL`: submit to a cluster's workers instead of running embedded. */
  readonly cluster?: Option.Option<string> | undefined
}

/** The configuration, or a usage error (exit 2) with its problems at `file:line:column`. */
export const loadConfig = (file: string): Effect.Effect<SyncConfig.SyncConfig, UsageError> =>
  SyncConfig.load(file).pipe(
    Effect.mapError((error) => new UsageError({ detail: error.message })),
    Effect.provide(NodeFileSystem.layer)
  )

const counts = (parts: ReadonlyArray<readonly [number, string]>, always: number = 1): string =>
  parts.filter(([n], i) => n > 0 || i < always).map(([n, what]) => `${n} ${what}`).join(", ")

/** The lines of a report: one per repository and per failed tag, then the summary. */
export const reportLines = (report: Report.RunReport): Array<string> => {
  const out: Array<string> = []
  for (const repository of report.repositories) {
    const head = `${repository.source} → ${repository.target}`
    if (repository.error !== undefined) {
      out.push(`${head}: failed: ${repository.error._tag}: ${repository.error.message}`)
      continue
    }
    const n = (tag: Report.TagOutcome["_tag"]) => repository.outcomes.filter((o) => o._tag === tag).length
    out.push(`${head}: ${
      counts([[n("Copied"), "copied"], [n("Unchanged"), "unchanged"], [n("Failed"), "failed"], [
        n("Deferred"),
        "deferred"
      ], [n("Pruned"), "pruned"]], 2)
    }`)
    for (const outcome of repository.outcomes) {
      if (outcome._tag === "Failed") {
        out.push(`  ${outcome.tag}: failed: ${outcome.error._tag}: ${outcome.error.message}`)
      }
    }
  }
  const t = report.totals
  out.push(
    `Run ${report.runId}: ${report.repositories.length} repositories, ${t.copied} tags copied (${
      Format.bytes(t.bytes)
    }), ${
      counts([[t.unchanged, "unchanged"], [t.failed, "failed"], [t.deferred, "deferred"], [t.pruned, "pruned"]], 2)
    }`
  )
  return out
}

/** The lines of a plan. */
export const planLines = (plan: Report.Plan): Array<string> => {
  const out: Array<string> = []
  let copy = 0
  let unchanged = 0
  let prune = 0
  let bytes = 0
  let failed = 0
  for (const repository of plan.repositories) {
    const head = `${repository.source} → ${repository.target}`
    if (repository.error !== undefined) {
      failed++
      out.push(`${head}: failed: ${repository.error._tag}: ${repository.error.message}`)
      continue
    }
    copy += repository.copy.length
    unchanged += repository.unchanged.length
    prune += repository.prune.length
    failed += repository.failed.length
    bytes += repository.bytes ?? 0
    out.push(
      `${head}: ${repository.copy.length} to copy${
        repository.bytes === undefined ? "" : ` (${Format.bytes(repository.bytes)})`
      }, ${repository.unchanged.length} unchanged${
        repository.prune.length > 0 ? `, ${repository.prune.length} to prune` : ""
      }`
    )
    for (const c of repository.copy) {
      out.push(
        `  copy ${c.tag} ${c.sourceDigest}${c.targetDigest === undefined ? " (new)" : ` (target: ${c.targetDigest})`}`
      )
    }
    for (const p of repository.prune) out.push(`  prune ${p.tag} ${p.digest}`)
    for (const f of repository.failed) out.push(`  ${f.tag}: failed: ${f.error._tag}: ${f.error.message}`)
  }
  out.push(
    `Plan: ${plan.repositories.length} repositories, ${copy} tags to copy (${
      Format.bytes(bytes)
    }), ${unchanged} unchanged, ${prune} to prune${failed > 0 ? `, ${failed} failed` : ""}`
  )
  return out
}

/** Every `passwordEnv` of the configuration names a variable that is set, else a usage error naming them. */
const passwordsSet = (config: SyncConfig.SyncConfig): Effect.Effect<void, UsageError> => {
  const missing: Array<string> = []
  for (const [registry, settings] of Object.entries(config.registries)) {
    const credentials = settings.credentials
    if (credentials === undefined || credentials === "docker-config" || credentials.passwordEnv === undefined) continue
    const value = process.env[credentials.passwordEnv]
    if (value === undefined || value === "") {
      missing.push(
        `registries["${registry}"].credentials.passwordEnv: the variable ${credentials.passwordEnv} is not set`
      )
    }
  }
  return missing.length === 0 ? Effect.void : Effect.fail(new UsageError({ detail: missing.join("\n") }))
}

const failure = (failed: number) =>
  new CliFailure({ detail: `${failed} tag(s) or repositories failed (see above)`, exitCode: ExitCode.Failure })

/** What `sync CONFIG` runs on: the embedded engine, or a client of the cluster (`--cluster`). */
type Engine = Layer.Layer<
  Layer.Layer.Success<ReturnType<typeof NodeSyncCluster.layerClient>>,
  | Layer.Layer.Error<ReturnType<typeof NodeSyncCluster.layerClient>>
  | Layer.Layer.Error<ReturnType<typeof NodeSync.layerEmbedded>>
>

/** `sync CONFIG` */
export const sync = (globals: Globals, args: SyncArgs) =>
  Effect.gen(function*() {
    if (args.once && Option.isSome(args.interval)) {
      return yield* new UsageError({ detail: "--once and --interval contradict each other: use one" })
    }
    const config = yield* loadConfig(args.config)
    // this process copies (embedded, --dry-run): the passwords it needs must be in its environment (with
    // --cluster the workers read theirs)
    if (args.dryRun || Option.isNone(args.cluster ?? Option.none())) yield* passwordsSet(config)
    const options = yield* layerOptions
    const registry = yield* registryOptions(globals)
    const clients = { registry, cacheDirectory: cacheDirectoryOf(options) }
    if (args.dryRun) {
      // the last synced digests of the state directory, when it exists (nothing is created for a dry run)
      const stateDirectory = Option.getOrElse(args.state, () => NodeSync.defaultStateDirectory())
      const planned = fs.existsSync(path.join(stateDirectory, "sync.db"))
        ? Effect.provide(Sync.plan(config), NodeSync.layerStore(stateDirectory))
        : Sync.plan(config)
      const plan = yield* planned.pipe(
        Effect.provide(NodeSync.layerClients(clients)),
        Effect.mapError((error) => new CliFailure({ detail: `sync state in ${stateDirectory}: ${error.message}` }))
      )
      yield* globals.json ? json(plan) : lines(planLines(plan))
      const failed = plan.repositories.filter((r) => r.error !== undefined).length +
        plan.repositories.reduce((n, r) => n + r.failed.length, 0)
      if (failed > 0) return yield* failure(failed)
      return
    }
    const cluster = args.cluster ?? Option.none()
    if (Option.isSome(cluster) && Option.isSome(args.state)) {
      return yield* new UsageError({
        detail: "--cluster and --state cannot be used together (with --cluster the state is in the cluster's database)"
      })
    }
    const clusterUrl = Option.isSome(cluster)
      ? Option.some(yield* SyncCluster.clusterUrl(cluster.value))
      : Option.none()
    const directory = Option.match(clusterUrl, {
      onNone: () => Option.getOrElse(args.state, () => NodeSync.defaultStateDirectory()),
      onSome: SyncCluster.redactUrl
    })
    const once = Effect.gen(function*() {
      const report = yield* Sync.run(config, {
        onStart: ({ resumed, runId }) => info(globals, `${resumed ? "Resuming" : "Starting"} sync run ${runId}`)
      })
      yield* globals.json ? json(report) : lines(reportLines(report))
      return report
    })
    const program = Effect.gen(function*() {
      if (Option.isSome(args.interval)) {
        // each iteration a new run (the previous one finished), until interrupted
        while (true) {
          yield* once
          yield* Effect.sleep(args.interval.value.millis)
        }
      }
      const report = yield* once
      if (report.totals.failed > 0) return yield* failure(report.totals.failed)
    })
    yield* program.pipe(
      Effect.catchTag(
        "SqlError",
        (error) =>
          new CliFailure({ detail: `sync state in ${directory}: ${error.message}`, exitCode: ExitCode.Failure })
      ),
      Effect.provide(Option.match<string, Engine, Engine>(clusterUrl, {
        onNone: () =>
          NodeSync.layerEmbedded({
            directory,
            ...clients,
            // the state directory is this process's: a killed run of another configuration is given up
            abandonOthers: {
              configHash: Sync.configHash(config),
              onAbandoned: (runIds) =>
                Effect.forEach(
                  runIds,
                  (id) => info(globals, `Abandoned unfinished sync run ${id} (of another configuration)`),
                  { discard: true }
                )
            }
          }),
        // the workers copy with their own clients; this process submits, waits and reads the store
        onSome: (url) => NodeSyncCluster.layerClient({ url })
      })),
      Effect.catchTag(
        "ConfigError",
        (error) =>
          new CliFailure({ detail: `sync state in ${directory}: ${String(error)}`, exitCode: ExitCode.Failure })
      )
    )
  })

/**
 * `sync CONFIG`: mirror the repositories a YAML configuration names, as a durable workflow (see
 * `@ocidist/sync`). Subcommands (`sync worker`, `sync status`) are added to {@link subcommands}.
 *
 * @since 0.5.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { UsageError } from "../CliError.js"
import { type Globals, root } from "../GlobalOptions.js"
import { describe, importOps, withOps } from "../internal/lazy.js"
import type * as SyncClusterOps from "../internal/ops/syncCluster.js"
import * as Timeout from "../internal/timeout.js"

const config = {
  // optional so that `sync <subcommand>` parses (the parent's arguments come before the subcommand's name)
  config: Args.text({ name: "config" }).pipe(
    Args.withDescription("the YAML configuration (defaults, registries, sync entries)"),
    Args.optional
  ),
  dryRun: Options.boolean("dry-run").pipe(
    Options.withDescription("print the plan and write nothing")
  ),
  once: Options.boolean("once").pipe(Options.withDescription("one run, then exit (the default)")),
  interval: Options.text("interval").pipe(
    Options.withPseudoName("DURATION"),
    Options.withDescription("run again this long after each run (30m, 1h30m), until Ctrl-C"),
    Options.mapEffect((text) => {
      const parsed = Timeout.parse(text)
      return parsed === undefined
        ? Effect.fail(ValidationError.invalidValue(HelpDoc.p(
          `--interval: expected a duration such as 30m, 1h or 1h30m (a bare number is seconds), got "${text}"`
        )))
        : Effect.succeed(parsed)
    }),
    Options.optional
  ),
  state: Options.text("state").pipe(
    Options.withPseudoName("DIR"),
    Options.withDescription("state directory (default $OCIDIST_SYNC_DIR, else <cache>/sync)"),
    Options.optional
  ),
  cluster: Options.text("cluster").pipe(
    Options.withPseudoName("URL"),
    Options.withDescription(
      "submit the run to the workers of a cluster (its PostgreSQL database, postgres://…) and wait for its report"
    ),
    Options.optional
  )
}

/** `--cluster URL` of the subcommands. */
const clusterOption = Options.text("cluster").pipe(
  Options.withPseudoName("URL"),
  Options.withDescription("the cluster's PostgreSQL database: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
)

/** The distributed subcommands' implementations, loaded on their own (cluster and PostgreSQL client). */
const withClusterOps = <A, E>(
  f: (ops: typeof SyncClusterOps, globals: Globals) => Effect.Effect<A, E>
) =>
  Effect.flatMap(
    root,
    (globals) => Effect.flatMap(importOps(() => import("../internal/ops/syncCluster.js")), (ops) => f(ops, globals))
  )

/**
 * `sync worker`: a runner of a cluster until Ctrl-C or SIGTERM.
 *
 * @since 0.5.0
 * @category commands
 */
export const worker = Command.make(
  "worker",
  {
    cluster: clusterOption,
    listen: Options.text("listen").pipe(
      Options.withPseudoName("HOST:PORT"),
      Options.withDescription(
        "where this worker listens for the other workers, and the address they reach it at (default " +
          "127.0.0.1:34431; on several machines, an address the others can reach)"
      ),
      Options.optional
    ),
    concurrency: Options.integer("concurrency").pipe(
      Options.withPseudoName("N"),
      Options.withDescription("tags this worker copies at the same time, across runs (default: no limit of its own)"),
      Options.optional
    )
  },
  (args) => withClusterOps((ops, globals) => ops.worker(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Join a sync cluster as a worker, until Ctrl-C or SIGTERM",
  details: "Runs the repositories of the runs submitted with `ocidist sync CONFIG --cluster URL`: the cluster " +
    "(@effect/cluster over PostgreSQL) shares them out among its workers. A worker killed mid-run loses its " +
    "share to the others within seconds, and the tags it was copying are copied again; Ctrl-C or SIGTERM hands " +
    "its share over first. Registry credentials and TLS settings come from the run's configuration and this " +
    "worker's environment (docker config.json, podman auth.json).",
  examples: [
    "ocidist sync worker --cluster postgres://sync@db.internal/ocidist --listen 10.0.0.5:34431",
    "ocidist sync worker --cluster postgres://sync@127.0.0.1/ocidist --listen 127.0.0.1:34432 --concurrency 4"
  ]
})))

/**
 * `sync status`: progress per repository of the latest (or a given) run.
 *
 * @since 0.5.0
 * @category commands
 */
export const status = Command.make(
  "status",
  {
    cluster: clusterOption.pipe(Options.optional),
    state: Options.text("state").pipe(
      Options.withPseudoName("DIR"),
      Options.withDescription("state directory (default $OCIDIST_SYNC_DIR, else <cache>/sync)"),
      Options.optional
    ),
    run: Options.text("run").pipe(
      Options.withPseudoName("ID"),
      Options.withDescription("this run instead of the latest"),
      Options.optional
    )
  },
  (args) => withClusterOps((ops, globals) => ops.status(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Show the progress of a sync run, per repository",
  details: "Tags per state (planned, copying, copied, unchanged, failed, deferred, pruned) and the errors of " +
    "failed tags, for the latest run of a cluster (--cluster) or of an embedded state directory (--state, " +
    "default the embedded mode's).",
  examples: [
    "ocidist sync status",
    "ocidist sync status --cluster postgres://sync@db.internal/ocidist --json",
    "ocidist sync status --state ./sync-state --run 0lq2x3k4m-5f2a9c0d1e7b"
  ]
})))

const help = {
  summary: "Mirror repositories between registries, as a resumable workflow",
  details: "Copies the tags a YAML configuration selects, with platforms and referrers; unchanged tags " +
    "are skipped, target tags deleted only with prune: true. A killed run resumes when the same " +
    "configuration runs again (state: SQLite in --state). --cluster: submit to `ocidist sync worker`s. " +
    "Exit 0 only when no tag failed.",
  examples: [
    "ocidist sync mirror.yaml",
    "ocidist sync --dry-run mirror.yaml",
    "ocidist sync --interval 1h --json mirror.yaml",
    "ocidist sync mirror.yaml --cluster postgres://sync@db.internal/ocidist"
  ]
}

/**
 * The subcommands of `sync`.
 *
 * @since 0.5.0
 * @category commands
 */
export const subcommands = [worker, status] as const

/**
 * @since 0.5.0
 * @category commands
 */
export const sync = Command.make("sync", config, (args) =>
  Option.match(args.config, {
    onNone: () => Effect.fail(new UsageError({ detail: "sync needs a configuration file: ocidist sync CONFIG" })),
    onSome: (file) => withOps((ops, globals) => ops.sync(globals, { ...args, config: file }))
  })).pipe(
    Command.withDescription(describe(help)),
    Command.withSubcommands(subcommands)
  )

/**
 * The pool size of a sync cluster member (`ClusterOptions.maxConnections`), against a real PostgreSQL.
 * `@effect/cluster`'s runner storage keeps a connection of the pool for its shard locks for the life of the
 * process, the schema lock holds another while the storage is built, and the tables are created on a third:
 * with fewer, the member used to wait for a free connection forever. A runner and a client with a pool of
 * `minConnections` start; smaller pools are refused with `PoolTooSmall` (each build bounded, so a hang fails
 * the test instead of stalling it).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { Postgres, Tools } from "@ocidist/testing"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as NodeSyncCluster from "../src/NodeSyncCluster.js"
import * as SyncError from "../src/SyncError.js"
import * as SyncStore from "../src/SyncStore.js"

/** Builds a member's layer in a scope of its own, at most 30 s (a hung build ends as a TimeoutException). */
const start = <ROut, E>(layer: Layer.Layer<ROut, E>) =>
  Effect.scoped(Layer.build(layer)).pipe(Effect.asVoid, Effect.timeout("30 seconds"), Effect.exit)

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

describe("NodeSyncCluster pool size", () => {
  it.live("a runner and a client refuse a pool below minConnections instead of hanging", () =>
    Effect.gen(function*() {
      const pg = yield* Postgres.start()
      for (const maxConnections of [1, 2, 2.5, 0]) {
        const port = yield* Tools.freePort
        const members = [
          ["runner", start(NodeSyncCluster.layerRunner({ url: pg.url, host: "127.0.0.1", port, maxConnections }))],
          ["client", start(NodeSyncCluster.layerClient({ url: pg.url, maxConnections }))]
        ] as const
        for (const [name, started] of members) {
          const exit = yield* started
          const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
          assert.isTrue(
            Option.isSome(error) && error.value instanceof SyncError.PoolTooSmall,
            `${name} with maxConnections ${maxConnections}: ${
              Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "started"
            }`
          )
          if (Option.isSome(error) && error.value instanceof SyncError.PoolTooSmall) {
            assert.deepStrictEqual(
              { maxConnections: error.value.maxConnections, minimum: error.value.minimum },
              { maxConnections, minimum: NodeSyncCluster.minConnections }
            )
            assert.isTrue(SyncError.isSyncError(error.value))
          }
        }
      }
    }).pipe(Effect.scoped), 120_000)

  it.live(
    "a runner and a client with a pool of minConnections start on an empty database",
    () =>
      Effect.gen(function*() {
        const pg = yield* Postgres.start()
        const maxConnections = NodeSyncCluster.minConnections
        const port = yield* Tools.freePort
        const bounded = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
          effect.pipe(Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => "build hung" as const }))
        const runner = yield* bounded(
          Layer.build(NodeSyncCluster.layerRunner({ url: pg.url, host: "127.0.0.1", port, maxConnections }))
        )
        const client = yield* bounded(Layer.build(NodeSyncCluster.layerClient({ url: pg.url, maxConnections })))
        // the runner registered itself in cluster's runner table; the client reads the store
        let runners = 0
        for (let attempt = 0; attempt < 100 && runners === 0; attempt++) {
          if (attempt > 0) yield* sleep(100)
          const rows = yield* Effect.provide(
            Effect.flatMap(
              SqlClient.SqlClient,
              (sql) => sql<{ readonly count: string | number | bigint }>`SELECT count(*) AS count FROM cluster_runners`
            ),
            runner
          )
          runners = Number(rows[0]!.count)
        }
        assert.strictEqual(runners, 1)
        const status = yield* Effect.provide(Effect.flatMap(SyncStore.SyncStore, (store) => store.status()), client)
        assert.isTrue(Option.isNone(status))
      }).pipe(Effect.scoped),
    120_000
  )
})

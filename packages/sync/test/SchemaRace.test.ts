/**
 * Members of a sync cluster starting at the same moment on an empty PostgreSQL database: each creates the
 * schema (our tables, cluster's message and runner tables) as it starts, and concurrent
 * `CREATE TABLE IF NOT EXISTS` fails in PostgreSQL (`duplicate key value violates unique constraint
 * "pg_type_typname_nsp_index"`) unless schema creation is serialized — `NodeSyncCluster.withSchemaLock`.
 * Three runners and a client are started together on each of five fresh databases; all of them join.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { Postgres, Tools } from "@ocidist/testing"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as NodeSyncCluster from "../src/NodeSyncCluster.js"

const ROUNDS = 5
const RUNNERS = 3

/** The error and what the driver said (a `SqlError`'s `cause`). */
const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const inner = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : ""
  return `${error instanceof Error ? error.message : String(error)}${inner}`
}

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

describe("NodeSyncCluster schema creation", () => {
  it.live(
    `${RUNNERS} runners and a client starting together on an empty database all join (${ROUNDS} databases)`,
    () =>
      Effect.gen(function*() {
        const pg = yield* Postgres.start()
        const admin = yield* Layer.build(NodeSyncCluster.layerPg({ url: pg.url, maxConnections: 2 }))
        const onDatabase = (url: string) => <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
          Effect.scoped(Effect.flatMap(Layer.build(NodeSyncCluster.layerPg({ url, maxConnections: 1 })), (context) =>
            Effect.provide(effect, context)))
        for (let round = 0; round < ROUNDS; round++) {
          const database = `race_${round}`
          yield* Effect.provide(
            Effect.flatMap(SqlClient.SqlClient, (sql) =>
              sql.unsafe(`CREATE DATABASE ${database}`)),
            admin
          )
          const url = pg.url.replace(/\/[^/]*$/, `/${database}`)
          const ports: Array<number> = []
          for (let i = 0; i < RUNNERS; i++) {
            ports.push(yield* Tools.freePort)
          }
          yield* Effect.scoped(Effect.gen(function*() {
            const members = [
              ...ports.map((port) => NodeSyncCluster.layerRunner({ url, host: "127.0.0.1", port })),
              NodeSyncCluster.layerClient({ url })
            ]
            const exits = yield* Effect.all(members.map((member) => Effect.exit(Layer.build(member))), {
              concurrency: "unbounded"
            })
            const failures = exits.flatMap((exit) => Exit.isFailure(exit) ? [describeFailure(exit.cause)] : [])
            assert.strictEqual(
              failures.join("\n"),
              "",
              `round ${round}: ${failures.length} of ${members.length} failed`
            )
            // every runner registered itself in cluster's runner table
            let runners = 0
            for (let attempt = 0; attempt < 100 && runners < RUNNERS; attempt++) {
              if (attempt > 0) yield* sleep(100)
              const rows = yield* onDatabase(url)(
                Effect.flatMap(SqlClient.SqlClient, (sql) =>
                  sql<{ readonly count: string | number | bigint }>`SELECT count(*) AS count FROM cluster_runners`)
              )
              runners = Number(rows[0]!.count)
            }
            assert.strictEqual(runners, RUNNERS, `round ${round}`)
          }))
        }
      }).pipe(Effect.scoped),
    60_000
  )
})

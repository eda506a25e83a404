/**
 * The distributed mode end to end: PostgreSQL from Debian's `postgresql` (initdb/pg_ctl in a temp dir on a
 * loopback port), two `docker-registry` instances as source and target, three `ocidist sync worker`
 * processes (the built CLI), a run of 50 repositories submitted with `ocidist sync CONFIG --cluster`. Once
 * some repositories are done, a worker holding shards is SIGKILLed; the others take its shards over, retry
 * its in-flight tags, and the run finishes. The submitter is SIGKILLed too, and submitting the same
 * configuration again joins the same run and gets its report. Then every target tag has the source's digest,
 * and no blob was uploaded (or mounted) twice into a target repository (from the target registry's access log).
 *
 * Needs the CLI bundle (`pnpm build`, as `.ci/run` does before the tests).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { DockerRegistry, Fixtures, Postgres, Tools } from "@ocidist/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as NodeSyncCluster from "../src/NodeSyncCluster.js"
import * as SyncStore from "../src/SyncStore.js"

const cli = new URL("../../../apps/cli/dist/ocidist.cjs", import.meta.url).pathname

const REPOSITORIES = 50
const WORKERS = 3

const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

interface Worker {
  readonly port: number
  readonly child: ChildProcess
  readonly output: () => string
}

/** A process of the CLI, its stdout and stderr collected; SIGKILLed when the scope closes. */
const spawnCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Effect.Effect<
  { readonly child: ChildProcess; readonly output: () => string; readonly stdout: () => string },
  never,
  Scope.Scope
> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let out = ""
      let all = ""
      const child = spawn(process.execPath, [cli, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1", ...env }
      })
      child.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8")
        all += chunk.toString("utf8")
      })
      child.stderr?.on("data", (chunk: Buffer) => (all += chunk.toString("utf8")))
      return { child, output: () => all, stdout: () => out }
    }),
    ({ child }) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once("exit", () => resolve())
          child.kill("SIGKILL")
        })
      )
  )

const exited = (child: ChildProcess) =>
  Effect.promise(() =>
    new Promise<number | string>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode ?? child.signalCode!)
      child.once("exit", (code, signal) => resolve(code ?? signal ?? -1))
    })
  )

/** `PUT …/blobs/uploads/…?digest=` (an upload completed) and `POST …/blobs/uploads/?mount=` (a mount), 201. */
const blobWrites = (log: string): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const line of log.split("\n")) {
    const m = /"(PUT|POST) (\/v2\/(\S+)\/blobs\/uploads\/\S*) HTTP\/[0-9.]+" 201 /.exec(line)
    if (m === null) continue
    const url = new URL(m[2]!, "http://x")
    const digest = m[1] === "PUT" ? url.searchParams.get("digest") : url.searchParams.get("mount")
    if (digest === null) continue
    const key = `${m[3]}@${digest}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

const manifestDigest = (registry: DockerRegistry.Instance, repo: string, tag: string) =>
  Effect.map(
    Tools.request(`${registry.url}/v2/${repo}/manifests/${tag}`, {
      method: "HEAD",
      headers: { accept: [Fixtures.MediaType.ociManifest, Fixtures.MediaType.ociIndex].join(", ") }
    }),
    (res) => res.status === 200 ? res.header("docker-content-digest") : `HTTP ${res.status}`
  )

describe("distributed sync", () => {
  it.live(
    `${REPOSITORIES} repositories on ${WORKERS} workers; a worker and the submitter SIGKILLed mid-run`,
    () =>
      Effect.scoped(Effect.gen(function*() {
        assert.isTrue(fs.existsSync(cli), `${cli} is missing: build the CLI first (pnpm build)`)
        const [pg, source, target] = yield* Effect.all([
          Postgres.start(),
          DockerRegistry.start(),
          DockerRegistry.start()
        ], { concurrency: "unbounded" })
        const dir = yield* Tools.tempDir("ocidist-distributed-")

        // 50 repositories ns/rN; even ones have two tags sharing a layer; every image shares a base layer
        const expected = new Map<string, string>() // "ns/rN:tag" → digest
        yield* Effect.forEach(
          Array.from({ length: REPOSITORIES }, (_, i) => i),
          (i) =>
            Effect.gen(function*() {
              const repo = `ns/r${i}`
              const tags = i % 2 === 0 ? ["1.0", "1.1"] : ["1.0"]
              for (const [n, tag] of tags.entries()) {
                const image = yield* Fixtures.makeImage(path.join(dir, "blobs"), {
                  seed: `distributed/${repo}/${tag}`,
                  layers: [{ size: 256, seed: "distributed/base" }, { size: 512, seed: `distributed/${repo}` }, {
                    size: 128 + n
                  }]
                })
                yield* Fixtures.pushRaw(source, repo, image, { tags: [tag] })
                expected.set(`${repo}:${tag}`, image.manifestDigest)
              }
            }),
          { concurrency: 8, discard: true }
        )

        const config = path.join(dir, "sync.yaml")
        fs.writeFileSync(
          config,
          [
            "defaults: { concurrency: 6 }",
            "registries:",
            `  "${source.host}": { tls: false }`,
            `  "${target.host}": { tls: false }`,
            "sync:",
            `  - source: ${source.host}/ns`,
            `    target: ${target.host}/ns`,
            "    type: registry",
            ""
          ].join("\n")
        )

        const workers: Array<Worker> = []
        for (let i = 0; i < WORKERS; i++) {
          const port = yield* Tools.freePort
          const w = yield* spawnCli([
            "sync",
            "worker",
            "--cluster",
            pg.url,
            "--listen",
            `127.0.0.1:${port}`,
            "--concurrency",
            "2"
          ], { OCIDIST_CACHE_DIR: path.join(dir, `cache-${i}`) })
          workers.push({ port, child: w.child, output: w.output })
        }

        // the store, read the way `ocidist sync status --cluster` reads it, and the database's lock table
        const context = yield* Layer.build(
          SyncStore.layer.pipe(Layer.provideMerge(NodeSyncCluster.layerPg({ url: pg.url, maxConnections: 2 })))
        )
        const store = Context.get(context, SyncStore.SyncStore)
        const client = Context.get(context, SqlClient.SqlClient)
        // every worker holds shard locks before the run is submitted (the cluster is formed)
        const holders = Effect.map(
          client<{ application_name: string; locks: string }>`SELECT a.application_name, count(*) AS locks
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted GROUP BY a.application_name`,
          (rows) => new Map(rows.map((r) => [r.application_name, Number(r.locks)]))
        )
        const formedBy = Date.now() + 60_000
        while (true) {
          const held = yield* holders
          if (workers.every((w) => (held.get(`ocidist-sync runner 127.0.0.1:${w.port}`) ?? 0) > 0)) break
          for (const w of workers) {
            assert.isNull(w.child.exitCode, `a worker exited early:\n${w.output()}`)
          }
          assert.isBelow(Date.now(), formedBy, `the cluster did not form: ${JSON.stringify([...held])}`)
          yield* realSleep(200)
        }

        const submitter = yield* spawnCli(["--json", "sync", config, "--cluster", pg.url])

        // once a few repositories are done (and most are not), SIGKILL a worker that holds shards
        const repositoriesDone = Effect.map(store.status(), (status) =>
          Option.match(status, {
            onNone: () => 0,
            onSome: (s) => s.repositories.filter((r) => (r.states.copied ?? 0) > 0 && !("copying" in r.states)).length
          }))
        const killBy = Date.now() + 60_000
        while ((yield* repositoriesDone) < 5) {
          assert.isNull(submitter.child.exitCode, `the submitter exited early:\n${submitter.output()}`)
          assert.isBelow(Date.now(), killBy, "no repository was synced within 60 s")
          yield* realSleep(100)
        }
        const held = yield* holders
        const victim = workers.find((w) => (held.get(`ocidist-sync runner 127.0.0.1:${w.port}`) ?? 0) > 0)!
        const doneAtKill = yield* repositoriesDone
        victim.child.kill("SIGKILL")
        yield* exited(victim.child)
        assert.isBelow(doneAtKill, REPOSITORIES, "the run was over before the worker was killed")

        // the submitter killed too: the run goes on; submitting the same configuration joins it
        const runId = Option.getOrThrow(yield* store.status()).run.id
        submitter.child.kill("SIGKILL")
        yield* exited(submitter.child)
        const killedAt = Date.now()
        const again = yield* spawnCli(["--json", "sync", config, "--cluster", pg.url])
        const code = yield* exited(again.child)
        console.log(
          `killed runner ${victim.port} and the submitter with ${doneAtKill}/${REPOSITORIES} repositories done; ` +
            `the run ended ${Date.now() - killedAt} ms later; locks: ${JSON.stringify([...held])}`
        )
        assert.strictEqual(code, 0, `ocidist sync --cluster failed:\n${again.output()}`)
        const report = JSON.parse(again.stdout().trim().split("\n").pop()!) as {
          readonly runId: string
          readonly repositories: ReadonlyArray<
            { readonly target: string; readonly outcomes: ReadonlyArray<{ readonly _tag: string }> }
          >
        }
        assert.strictEqual(report.runId, runId, "the second submission started another run")
        assert.strictEqual(report.repositories.length, REPOSITORIES)
        assert.strictEqual(Option.getOrThrow(yield* store.status()).run.id, runId)
        const failed = report.repositories.flatMap((r) => r.outcomes.filter((o) => o._tag === "Failed"))
        assert.deepStrictEqual(failed, [])

        // every target tag has the source's digest
        const mismatches: Array<string> = []
        yield* Effect.forEach(
          [...expected],
          ([ref, digest]) =>
            Effect.map(manifestDigest(target, ref.split(":")[0]!, ref.split(":")[1]!), (got) => {
              if (got !== digest) mismatches.push(`${ref}: ${got} ≠ ${digest}`)
            }),
          { concurrency: 8, discard: true }
        )
        assert.deepStrictEqual(mismatches, [])

        // no blob written twice into a target repository
        const writes = blobWrites(yield* target.log)
        const twice = [...writes].filter(([, n]) => n > 1)
        assert.deepStrictEqual(twice, [])
        assert.isAtLeast(writes.size, REPOSITORIES * 3, "the target's access log shows too few blob writes")

        // the survivors are still up
        for (const w of workers) if (w !== victim) assert.isNull(w.child.exitCode, w.output())

        // `ocidist sync status --cluster --json`: every repository done
        const status = yield* Tools.runOk(process.execPath, [cli, "--json", "sync", "status", "--cluster", pg.url])
        const parsed = JSON.parse(status.stdout) as {
          readonly repositories: ReadonlyArray<{ readonly states: Record<string, number> }>
        }
        assert.strictEqual(parsed.repositories.length, REPOSITORIES)
        for (const r of parsed.repositories) assert.deepStrictEqual(Object.keys(r.states).sort(), ["copied"])
      })),
    150_000
  )
})

/**
 * A throwaway PostgreSQL server (Debian's `postgresql` package) for tests: `initdb` into a temp dir (trust
 * auth), the postmaster on a free 127.0.0.1 port with its unix socket in the same temp dir, a fresh database.
 * PostgreSQL refuses to run as root, so under root the server runs as the `postgres` user (or `nobody`)
 * in a temp dir that user owns. Stopped with `pg_ctl stop -m immediate` when the scope closes, then the
 * process group is SIGKILLed and the directory removed; a process `exit` handler and a stdin watchdog kill
 * it even when the test process dies.
 *
 * @since 0.5.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { spawn } from "node:child_process"
import type { ChildProcess, SpawnOptions } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Children from "./internal/children.js"
import { readLog, realSleep, tail } from "./internal/logs.js"
import * as TestHarnessError from "./TestHarnessError.js"
import * as Tools from "./Tools.js"

/**
 * @since 0.5.0
 * @category models
 */
export interface Options {
  /** Database to create. Default "ocidist". */
  readonly database?: string
  /** `max_connections`. Default 200 (cluster runners hold several connections each). */
  readonly maxConnections?: number
  /** How long to wait for the server to accept connections. Default 30 000 ms. */
  readonly readyTimeoutMs?: number
}

/**
 * @since 0.5.0
 * @category models
 */
export interface Instance {
  /** `postgres://postgres@127.0.0.1:PORT/DATABASE` (trust auth, no password). */
  readonly url: string
  readonly port: number
  readonly database: string
  /** The temp dir: `data/` (the cluster), `server.log`, the unix socket. */
  readonly dir: string
  /** PID of the process group leader (a tiny `sh` watchdog whose child is the postmaster). */
  readonly pid: number
  /** The server log so far. */
  readonly log: Effect.Effect<string>
  /** Stops the server now (idempotent; the scope's finalizer calls it too). */
  readonly stop: Effect.Effect<void>
}

const binDir = (): string | undefined => {
  const base = "/usr/lib/postgresql"
  let versions: Array<string>
  try {
    versions = fs.readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
  } catch {
    return undefined
  }
  for (const v of versions) {
    const dir = path.join(base, v, "bin")
    if (fs.existsSync(path.join(dir, "initdb")) && fs.existsSync(path.join(dir, "pg_ctl"))) return dir
  }
  return undefined
}

/** Under root: the uid/gid of an unprivileged user to run the server as. */
const serverUser = (): { readonly uid: number; readonly gid: number } | undefined => {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined
  let passwd = ""
  try {
    passwd = fs.readFileSync("/etc/passwd", "utf8")
  } catch {
    // fall through to nobody's usual ids
  }
  const entries = new Map<string, { uid: number; gid: number }>()
  for (const line of passwd.split("\n")) {
    const [name, , uid, gid] = line.split(":")
    if (name !== undefined && uid !== undefined && gid !== undefined) {
      entries.set(name, { uid: Number(uid), gid: Number(gid) })
    }
  }
  return entries.get("postgres") ?? entries.get("nobody") ?? { uid: 65534, gid: 65534 }
}

const runTool = (
  file: string,
  args: ReadonlyArray<string>,
  options: SpawnOptions
): Effect.Effect<{ readonly code: number; readonly output: string }, TestHarnessError.TestHarnessError> =>
  Effect.async((resume) => {
    let output = ""
    const child = spawn(file, args, { ...options, stdio: ["ignore", "pipe", "pipe"] })
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.on("error", (error) => resume(Effect.fail(TestHarnessError.make(`cannot run ${file}`, error))))
    child.on("close", (code) => resume(Effect.succeed({ code: code ?? -1, output })))
  })

const runToolOk = (file: string, args: ReadonlyArray<string>, options: SpawnOptions) =>
  Effect.flatMap(runTool(file, args, options), (r) =>
    r.code === 0
      ? Effect.succeed(r.output)
      : Effect.fail(
        TestHarnessError.make(`${path.basename(file)} ${args.join(" ")} exited with ${r.code}:\n${tail(r.output)}`)
      ))

// The postmaster runs in the background of a tiny sh: when our stdin closes (this process died, even by
// SIGKILL) the watchdog stops the postmaster (SIGQUIT = immediate shutdown, then SIGKILL).
const watchdog = "exec 3<&0; \"$@\" </dev/null & p=$!; (read _ <&3; kill -QUIT $p 2>/dev/null; sleep 2; " +
  "kill -KILL $p 2>/dev/null) & w=$!; exec 3<&-; wait $p; c=$?; kill $w 2>/dev/null; exit $c"

/**
 * Starts a PostgreSQL server and creates a database. Fails with a `TestHarnessError` carrying the tail of
 * the server log when it does not come up, and with the `apt-get` command when PostgreSQL is missing.
 *
 * @since 0.5.0
 * @category constructors
 */
export const start = Effect.fn("Postgres.start")(function*(options: Options = {}) {
  const bin = binDir()
  if (bin === undefined) {
    return yield* Effect.fail(
      TestHarnessError.make(
        "PostgreSQL not found under /usr/lib/postgresql/*/bin: apt-get install -y postgresql (Debian) — " +
          "integration tests are never skipped"
      )
    )
  }
  const database = options.database ?? "ocidist"
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000
  const user = serverUser()
  const ids: SpawnOptions = user === undefined ? {} : { uid: user.uid, gid: user.gid }
  const env = { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, LC_ALL: "C", TZ: "UTC" }

  const dir = yield* Effect.acquireRelease(
    Effect.try({
      try: () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ocidist-pg-"))
        if (user !== undefined) fs.chownSync(dir, user.uid, user.gid)
        return dir
      },
      catch: (error) => TestHarnessError.make("cannot create a temp dir", error)
    }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
  const data = path.join(dir, "data")
  const logPath = path.join(dir, "server.log")

  yield* runToolOk(
    path.join(bin, "initdb"),
    ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"],
    { ...ids, cwd: dir, env }
  )

  const attempt = (port: number) =>
    Effect.gen(function*() {
      const child = yield* Effect.try({
        try: () =>
          Children.spawnLogged(
            "/bin/sh",
            [
              "-c",
              watchdog,
              "sh",
              path.join(bin, "postgres"),
              "-D",
              data,
              "-p",
              String(port),
              "-k",
              dir,
              "-c",
              "listen_addresses=127.0.0.1",
              "-c",
              `max_connections=${options.maxConnections ?? 200}`,
              "-c",
              "fsync=off",
              "-c",
              "synchronous_commit=off",
              "-c",
              "full_page_writes=off",
              "-c",
              "shared_buffers=32MB"
            ],
            logPath,
            { ...ids, env, cwd: dir, owner: user }
          ),
        catch: (error) => TestHarnessError.make("cannot start postgres", error)
      })
      const deadline = Date.now() + readyTimeoutMs
      while (true) {
        if (child.exitCode !== null || child.signalCode !== null) {
          const log = readLog(logPath)
          if (/could not bind|Address already in use/i.test(log)) return { _tag: "PortInUse" as const }
          return yield* Effect.fail(
            TestHarnessError.make(
              `postgres exited with ${child.exitCode ?? child.signalCode} before it was ready; server.log:\n${
                tail(log)
              }`
            )
          )
        }
        const ready = yield* runTool(
          path.join(bin, "pg_isready"),
          ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-t", "1"],
          { env }
        )
        if (ready.code === 0) return { _tag: "Ready" as const, child }
        if (Date.now() > deadline) {
          yield* Effect.promise(() => Children.killAndWait(child))
          return yield* Effect.fail(
            TestHarnessError.make(
              `postgres did not accept connections within ${readyTimeoutMs} ms; server.log:\n${tail(readLog(logPath))}`
            )
          )
        }
        yield* realSleep(50)
      }
    })

  let port = 0
  let child: ChildProcess | undefined
  for (let i = 0;; i++) {
    port = yield* Tools.freePort
    const result = yield* attempt(port)
    if (result._tag === "Ready") {
      child = result.child
      break
    }
    if (i >= 5) return yield* Effect.fail(TestHarnessError.make("postgres: no free port after 6 attempts"))
  }
  const server = child

  let stopped = false
  const stop = Effect.suspend(() => {
    if (stopped) return Effect.void
    stopped = true
    return runTool(path.join(bin, "pg_ctl"), ["stop", "-D", data, "-m", "immediate", "-w", "-t", "10"], {
      ...ids,
      env,
      cwd: dir
    }).pipe(
      Effect.ignore,
      Effect.zipRight(Effect.promise(() => Children.killAndWait(server)))
    )
  })
  yield* Effect.addFinalizer(() => stop)

  yield* runToolOk(path.join(bin, "createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", database], {
    env
  })

  const instance: Instance = {
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    port,
    database,
    dir,
    pid: server.pid ?? 0,
    log: Effect.sync(() => readLog(logPath)),
    stop
  }
  return instance
}) as (options?: Options) => Effect.Effect<Instance, TestHarnessError.TestHarnessError, Scope.Scope>

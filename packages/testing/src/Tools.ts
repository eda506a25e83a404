/**
 * External tools used by the harness: locating binaries, running commands, free ports.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as Http from "./internal/http.js"
import * as TestHarnessError from "./TestHarnessError.js"

/**
 * Binaries the harness shells out to.
 *
 * @since 0.1.0
 * @category models
 */
export type Binary = "docker-registry" | "skopeo" | "umoci" | "openssl" | "podman" | "buildah"

const aptPackage: Record<Binary, string> = {
  "docker-registry": "docker-registry",
  skopeo: "skopeo",
  umoci: "umoci",
  openssl: "openssl",
  podman: "podman",
  buildah: "buildah"
}

const found = new Map<Binary, string>()

const lookup = (name: string): string | undefined => {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"])
  for (const dir of dirs) {
    if (dir === "") continue
    const candidate = path.join(dir, name)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      if (fs.statSync(candidate).isFile()) return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/**
 * Finds a binary on `PATH` (and `/usr/bin`), or fails loudly with the command that installs it.
 * Integration tests are never skipped when a tool is missing.
 *
 * @since 0.1.0
 * @category tools
 */
export const requireBinary = (name: Binary): Effect.Effect<string, TestHarnessError.TestHarnessError> =>
  Effect.suspend(() => {
    const cached = found.get(name)
    if (cached !== undefined) return Effect.succeed(cached)
    const resolved = lookup(name)
    if (resolved === undefined) {
      return Effect.fail(
        TestHarnessError.make(
          `${name} not found: apt-get install -y ${aptPackage[name]} (Debian) — integration tests are never skipped`
        )
      )
    }
    found.set(name, resolved)
    return Effect.succeed(resolved)
  })

/**
 * Result of {@link run}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Options of {@link run}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  readonly stdin?: string
  /** Added to the inherited environment. */
  readonly env?: Record<string, string>
  readonly cwd?: string
  /** Default 120 000 ms; the process is SIGKILLed and the effect fails when it is exceeded. */
  readonly timeoutMs?: number
}

/**
 * Runs a command to completion and collects its output. A non-zero exit code is NOT an error (inspect
 * `exitCode`); failing to start, a timeout or a signal is. Interrupting the effect kills the process.
 *
 * @since 0.1.0
 * @category tools
 */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: RunOptions = {}
): Effect.Effect<RunResult, TestHarnessError.TestHarnessError> =>
  Effect.async<RunResult, TestHarnessError.TestHarnessError>((resume) => {
    const timeoutMs = options.timeoutMs ?? 120_000
    const display = [command, ...args].join(" ")
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: options.env === undefined ? process.env : { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    const stdout: Array<Buffer> = []
    const stderr: Array<Buffer> = []
    let done = false
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill("SIGKILL")
    }, timeoutMs)
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk))
    child.stdin.on("error", () => {})
    child.on("error", (error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resume(Effect.fail(TestHarnessError.make(`cannot run ${display}`, error)))
    })
    child.on("close", (code, signal) => {
      if (done) return
      done = true
      clearTimeout(timer)
      const out = Buffer.concat(stdout).toString("utf8")
      const err = Buffer.concat(stderr).toString("utf8")
      if (timedOut) {
        return resume(
          Effect.fail(TestHarnessError.make(`${display} timed out after ${timeoutMs} ms; stderr: ${err.slice(-2000)}`))
        )
      }
      if (code === null) {
        return resume(
          Effect.fail(TestHarnessError.make(`${display} was killed by ${signal}; stderr: ${err.slice(-2000)}`))
        )
      }
      resume(Effect.succeed({ exitCode: code, stdout: out, stderr: err }))
    })
    if (options.stdin !== undefined) child.stdin.end(options.stdin)
    else child.stdin.end()
    return Effect.sync(() => {
      done = true
      clearTimeout(timer)
      child.kill("SIGKILL")
    })
  })

/**
 * Like {@link run}, but a non-zero exit code is a `TestHarnessError` carrying stderr.
 *
 * @since 0.1.0
 * @category tools
 */
export const runOk = (
  command: string,
  args: ReadonlyArray<string>,
  options: RunOptions = {}
): Effect.Effect<RunResult, TestHarnessError.TestHarnessError> =>
  Effect.flatMap(run(command, args, options), (result) =>
    result.exitCode === 0
      ? Effect.succeed(result)
      : Effect.fail(
        TestHarnessError.make(
          `${[command, ...args].join(" ")} exited with ${result.exitCode}: ${
            (result.stderr || result.stdout).trim().slice(-4000)
          }`
        )
      ))

/**
 * Runs `skopeo` with the given arguments (non-zero exit is not an error: check `exitCode`).
 *
 * @since 0.1.0
 * @category tools
 */
export const skopeo = (args: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<
  RunResult,
  TestHarnessError.TestHarnessError
> => Effect.flatMap(requireBinary("skopeo"), (bin) => run(bin, args, options))

/**
 * Runs `umoci` with the given arguments (non-zero exit is not an error: check `exitCode`).
 *
 * @since 0.1.0
 * @category tools
 */
export const umoci = (args: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<
  RunResult,
  TestHarnessError.TestHarnessError
> => Effect.flatMap(requireBinary("umoci"), (bin) => run(bin, args, options))

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). Another process may
 * take it before you bind it: retry on `EADDRINUSE`.
 *
 * @since 0.1.0
 * @category tools
 */
export const freePort: Effect.Effect<number, TestHarnessError.TestHarnessError> = Effect.async((resume) => {
  const server = net.createServer()
  server.unref()
  server.once("error", (error) => resume(Effect.fail(TestHarnessError.make("cannot find a free port", error))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * Options of {@link request}.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestOptions = Http.RequestOptions

/**
 * Response of {@link request}: status, headers, body (bounded by `maxBody`, default 16 MiB).
 *
 * @since 0.1.0
 * @category models
 */
export type Response = Http.Response

/**
 * A tiny `node:http(s)` client for assertions and raw setup steps (no keep-alive, no redirects, no auth
 * logic). Use `ca` (e.g. `registry.caCert`) or `insecure` for TLS; `body: { file }` streams a file.
 *
 * @since 0.1.0
 * @category tools
 */
export const request: (
  url: string,
  options?: RequestOptions
) => Effect.Effect<Response, TestHarnessError.TestHarnessError> = Http.request

/**
 * A fresh temp dir under `os.tmpdir()`, removed (recursively) when the scope closes.
 *
 * @since 0.1.0
 * @category tools
 */
export const tempDir = (
  prefix = "ocidist-test-"
): Effect.Effect<string, TestHarnessError.TestHarnessError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.try({
      try: () => fs.mkdtempSync(path.join(os.tmpdir(), prefix)),
      catch: (error) => TestHarnessError.make("cannot create a temp dir", error)
    }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/**
 * The `Authorization` header value for Basic auth.
 *
 * @since 0.1.0
 * @category tools
 */
export const basicAuth = (user: { readonly username: string; readonly password: string }): string =>
  `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`

/**
 * A throttling TCP proxy in front of `target` (`host:port`).
 *
 * @since 0.2.0
 * @category models
 */
export interface SlowProxy {
  /** `127.0.0.1:<port>` of the proxy. */
  readonly host: string
  /** Closes the proxy and every connection through it. */
  readonly close: () => Promise<void>
}

/**
 * Starts a TCP proxy to `target` that limits each direction to about `bytesPerMs`, so that an operation is
 * still running when a test interrupts it (a loopback transfer would otherwise finish first). Promise-based
 * for vitest hooks; see {@link slowProxyScoped} for Effect tests.
 *
 * @since 0.2.0
 * @category tools
 */
export const slowProxy = (target: string, bytesPerMs: number): Promise<SlowProxy> =>
  new Promise((resolve) => {
    const colon = target.lastIndexOf(":")
    const sockets = new Set<net.Socket>()
    const pipeSlowly = (from: net.Socket, to: net.Socket) => {
      from.on("data", (chunk: Buffer) => {
        from.pause()
        to.write(chunk)
        setTimeout(() => from.resume(), Math.ceil(chunk.length / bytesPerMs))
      })
      from.on("end", () => to.end())
      from.on("error", () => to.destroy())
    }
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(target.slice(colon + 1)), target.slice(0, colon))
      sockets.add(client)
      sockets.add(upstream)
      pipeSlowly(client, upstream)
      pipeSlowly(upstream, client)
      client.on("close", () => upstream.destroy())
      upstream.on("close", () => client.destroy())
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      }))
  })

/**
 * {@link slowProxy}, closed when the scope closes.
 *
 * @since 0.2.0
 * @category tools
 */
export const slowProxyScoped = (target: string, bytesPerMs: number): Effect.Effect<string, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(Effect.promise(() => slowProxy(target, bytesPerMs)), (proxy) => Effect.promise(proxy.close)),
    (proxy) => proxy.host
  )

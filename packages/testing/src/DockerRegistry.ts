/**
 * A real Debian `docker-registry` (CNCF distribution 2.8) on 127.0.0.1 with its own temp dir and a free
 * port, in `anon`, `basic` (htpasswd) or `token` (in-process {@link TokenServer}) mode, optionally over
 * TLS. The process is killed and its directory removed when the scope closes; a process `exit` handler
 * and a stdin watchdog kill it even when the test process dies.
 *
 * @since 0.1.0
 */
import bcrypt from "bcryptjs"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { ChildProcess } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import * as os from "node:os"
import * as path from "node:path"
import * as Certs from "./internal/certs.js"
import * as Children from "./internal/children.js"
import * as Defaults from "./internal/defaults.js"
import * as Http from "./internal/http.js"
import { readLog, realSleep, tail } from "./internal/logs.js"
import * as TestHarnessError from "./TestHarnessError.js"
import * as TokenServer from "./TokenServer.js"
import * as Tools from "./Tools.js"

/**
 * A registry user. In `basic` mode every user has full access (htpasswd has no ACLs); in `token` mode a
 * `readOnly` user only gets `pull`.
 *
 * @since 0.1.0
 * @category models
 */
export interface User {
  readonly username: string
  readonly password: string
  readonly readOnly?: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export type Mode = "anon" | "basic" | "token"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default "anon". */
  readonly mode?: Mode
  /** Serve HTTPS with a self-signed certificate for IP 127.0.0.1 and DNS localhost (see `caCertPath`). */
  readonly tls?: boolean
  /** Default: testuser/testpassword and reader/readerpass (readOnly). */
  readonly users?: ReadonlyArray<User>
  /** Token mode: repositories anyone may pull ("public/" default; "*" = all; "" = none). */
  readonly anonymousPullPrefix?: string
  /** Token mode: token lifetime, default 300. */
  readonly tokenTtlSeconds?: number
  /** Token mode: default true; false = anonymous token requests get 401. */
  readonly anonymousTokens?: boolean
  /**
   * Token mode: further token server options (postMode, delayMs, signingKey, headerMode, responseField, ...).
   * `users`, `anonymousPullPrefix`, `anonymousTokens` and `ttlSeconds` above take precedence.
   */
  readonly tokenServer?: TokenServer.Options
  /** Token mode with `tls`: serve the token endpoint over HTTPS too (same certificate). Default true. */
  readonly tokenTls?: boolean
  /** How long to wait for `GET /v2/` to answer. Default 20 000 ms. */
  readonly readyTimeoutMs?: number
  /** Registry log level. Default "info" (access logs on). */
  readonly logLevel?: "error" | "warn" | "info" | "debug"
  /** Accept signed Docker schema 1 manifest pushes (`compatibility.schema1.enabled`). Default false. */
  readonly schema1?: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Instance {
  /** "127.0.0.1:PORT" */
  readonly host: string
  /** "http://127.0.0.1:PORT" ("https://" with `tls`). */
  readonly url: string
  readonly port: number
  readonly mode: Mode
  readonly tls: boolean
  readonly users: ReadonlyArray<User>
  /** PEM file to trust for the registry (and the token server) when `tls` is on. */
  readonly caCertPath: string | undefined
  /** Contents of `caCertPath`. */
  readonly caCert: string | undefined
  readonly storageDir: string
  /** The instance's temp dir (config.yml, registry.log, htpasswd, certs). */
  readonly dir: string
  readonly tokenServer: TokenServer.Instance | undefined
  /** The registry's log so far (text formatter plus combined-format access log lines). */
  readonly log: Effect.Effect<string>
  /**
   * Number of access-log lines (requests the registry completed) matching a method, a path test (`RegExp`,
   * or a substring of the request URI including the query string) and a status. It first makes a marker
   * request and waits for its log line, so all requests completed before the call are counted.
   */
  readonly countRequests: (filter: {
    readonly method?: string
    readonly path?: string | RegExp
    readonly status?: number
  }) => Effect.Effect<number>
  /** The first full-access user, if any. */
  readonly writer: User | undefined
  /** PID of the process group leader (a tiny `sh` watchdog whose child is the registry). */
  readonly pid: number
  /** Time it took the process to answer `GET /v2/`, in ms. */
  readonly startupMs: number
}

const syncMarker = "_ocidist_log_sync"

const accessLine = /"([A-Z]+) (\S+) HTTP\/[0-9.]+" (\d{3}) /

const yamlString = (s: string) => JSON.stringify(s)

const renderConfig = (p: {
  readonly port: number
  readonly storageDir: string
  readonly logLevel: string
  readonly secret: string
  readonly tls: { readonly cert: string; readonly key: string } | undefined
  readonly auth: string
  readonly schema1: boolean
}) =>
  [
    "version: 0.1",
    "log:",
    `  level: ${p.logLevel}`,
    "  formatter: text",
    "  accesslog:",
    "    disabled: false",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${yamlString(p.storageDir)}`,
    "  delete:",
    "    enabled: true",
    "  cache:",
    "    blobdescriptor: inmemory",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: 127.0.0.1:${p.port}`,
    `  secret: ${p.secret}`,
    "  headers:",
    "    X-Content-Type-Options: [nosniff]",
    ...(p.tls === undefined ? [] : [
      "  tls:",
      `    certificate: ${yamlString(p.tls.cert)}`,
      `    key: ${yamlString(p.tls.key)}`
    ]),
    p.auth,
    ...(p.schema1 ? ["compatibility:", "  schema1:", "    enabled: true"] : []),
    "health:",
    "  storagedriver:",
    "    enabled: false",
    ""
  ].filter((line) => line !== "").join("\n")

// The registry runs in the background of a tiny sh: when our stdin closes (this process died, even by
// SIGKILL) the watchdog SIGKILLs the registry; when the registry exits, sh exits with its code.
const watchdog =
  "exec 3<&0; \"$0\" serve \"$1\" </dev/null & p=$!; (read _ <&3; kill -KILL $p 2>/dev/null) & w=$!; exec 3<&-; " +
  "wait $p; c=$?; kill $w 2>/dev/null; exit $c"

const probe = (url: string, ca: string | undefined): Promise<number | undefined> =>
  new Promise((resolve) => {
    const options = { agent: false as const, timeout: 2_000, ...(ca === undefined ? {} : { ca }) }
    const req = (url.startsWith("https:") ? https : http).get(url, options, (res) => {
      res.resume()
      resolve(res.statusCode)
    })
    req.on("timeout", () => req.destroy())
    req.on("error", () => resolve(undefined))
  })

type Attempt =
  | { readonly _tag: "Ready"; readonly child: ChildProcess }
  | { readonly _tag: "PortInUse" }

const writeFile = (file: string, data: string, mode?: number) =>
  Effect.try({
    try: () => fs.writeFileSync(file, data, mode === undefined ? undefined : { mode }),
    catch: (error) => TestHarnessError.make(`cannot write ${file}`, error)
  })

/**
 * Starts a registry and waits until `GET /v2/` answers (200 or 401). Fails with a `TestHarnessError`
 * carrying the tail of the registry log when it does not come up, and with the `apt-get` command when the
 * binary is missing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = Effect.fn("DockerRegistry.start")(function*(options: Options = {}) {
  const started = Date.now()
  const bin = yield* Tools.requireBinary("docker-registry")
  const mode = options.mode ?? "anon"
  const useTls = options.tls ?? false
  const users = options.users ?? Defaults.defaultUsers
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000

  const dir = yield* Effect.acquireRelease(
    Effect.try({
      try: () => fs.mkdtempSync(path.join(os.tmpdir(), "ocidist-registry-")),
      catch: (error) => TestHarnessError.make("cannot create a temp dir", error)
    }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
  const storageDir = path.join(dir, "storage")
  const logPath = path.join(dir, "registry.log")
  const configPath = path.join(dir, "config.yml")
  yield* Effect.try({
    try: () => fs.mkdirSync(storageDir),
    catch: (error) => TestHarnessError.make("cannot create the storage dir", error)
  })

  let tls: { cert: string; key: string } | undefined
  let caCert: string | undefined
  if (useTls) {
    const pair = yield* Certs.tlsPair
    tls = { cert: path.join(dir, "tls.crt"), key: path.join(dir, "tls.key") }
    caCert = pair.certPem
    yield* writeFile(tls.cert, pair.certPem)
    yield* writeFile(tls.key, pair.keyPem, 0o600)
  }

  let tokenServer: TokenServer.Instance | undefined
  let auth = ""
  if (mode === "basic") {
    const htpasswdPath = path.join(dir, "htpasswd")
    // cost 4: the registry runs bcrypt on every Basic-authenticated request
    const lines = users.map((u) => `${u.username}:${bcrypt.hashSync(u.password, 4)}`).join("\n") + "\n"
    yield* writeFile(htpasswdPath, lines, 0o600)
    auth = ["auth:", "  htpasswd:", "    realm: ocidist-basic-realm", `    path: ${yamlString(htpasswdPath)}`].join(
      "\n"
    )
  } else if (mode === "token") {
    const extra = options.tokenServer ?? {}
    tokenServer = yield* TokenServer.start({
      ...extra,
      users,
      ...(options.anonymousPullPrefix === undefined ? {} : { anonymousPullPrefix: options.anonymousPullPrefix }),
      ...(options.anonymousTokens === undefined ? {} : { anonymousTokens: options.anonymousTokens }),
      ...(options.tokenTtlSeconds === undefined ? {} : { ttlSeconds: options.tokenTtlSeconds }),
      ...(tls !== undefined && (options.tokenTls ?? true) && extra.tls === undefined
        ? { tls: { certPath: tls.cert, keyPath: tls.key } }
        : {})
    })
    auth = [
      "auth:",
      "  token:",
      `    realm: ${yamlString(tokenServer.url)}`,
      `    service: ${yamlString(tokenServer.service)}`,
      `    issuer: ${yamlString(tokenServer.issuer)}`,
      `    rootcertbundle: ${yamlString(tokenServer.certPath)}`
    ].join("\n")
  }

  const secret = crypto.randomBytes(32).toString("hex")
  const scheme = tls === undefined ? "http" : "https"

  const attempt = (port: number) =>
    Effect.gen(function*() {
      yield* writeFile(
        configPath,
        renderConfig({
          port,
          storageDir,
          logLevel: options.logLevel ?? "info",
          secret,
          tls,
          auth,
          schema1: options.schema1 ?? false
        })
      )
      const child = yield* Effect.acquireRelease(
        Effect.try({
          try: () =>
            Children.spawnLogged("/bin/sh", ["-c", watchdog, bin, configPath], logPath, {
              env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
              cwd: dir
            }),
          catch: (error) => TestHarnessError.make(`cannot start ${bin}`, error)
        }),
        (child) => Effect.promise(() => Children.killAndWait(child))
      )
      const url = `${scheme}://127.0.0.1:${port}/v2/?${syncMarker}=ready`
      const listening = `listening on 127.0.0.1:${port}`
      const deadline = Date.now() + readyTimeoutMs
      while (true) {
        const exited = child.exitCode !== null || child.signalCode !== null
        // Probe only once OUR process logged that it listens: another process may have taken the port
        // between freePort and the bind, and its server must not be mistaken for ours.
        if (!exited && readLog(logPath).includes(listening)) {
          const status = yield* Effect.promise(() => probe(url, caCert))
          if (status === 200 || status === 401) return { _tag: "Ready", child } as Attempt
        }
        const log = readLog(logPath)
        if (exited) {
          if (/address already in use/.test(log)) return { _tag: "PortInUse" } as Attempt
          return yield* Effect.fail(
            TestHarnessError.make(
              `docker-registry exited with ${child.exitCode ?? child.signalCode} before it was ready on ${url}; ` +
                `registry.log:\n${tail(log)}`
            )
          )
        }
        if (Date.now() > deadline) {
          yield* Effect.promise(() => Children.killAndWait(child))
          return yield* Effect.fail(
            TestHarnessError.make(
              `docker-registry did not answer ${url} within ${readyTimeoutMs} ms; registry.log:\n${tail(log)}`
            )
          )
        }
        yield* realSleep(10)
      }
    })

  let port = 0
  let pid = 0
  for (let i = 0;; i++) {
    port = yield* Tools.freePort
    const result = yield* attempt(port)
    if (result._tag === "Ready") {
      pid = result.child.pid ?? 0
      break
    }
    if (i >= 5) return yield* Effect.fail(TestHarnessError.make("docker-registry: no free port after 6 attempts"))
  }

  const log = Effect.sync(() => readLog(logPath))
  // The access log line of a request is written after its response: make a marker request and wait for its
  // line, so every request that completed before is in the log too.
  const syncLog = Effect.gen(function*() {
    const marker = `${syncMarker}=${crypto.randomBytes(6).toString("hex")}`
    yield* Effect.ignore(
      Http.request(`${scheme}://127.0.0.1:${port}/v2/?${marker}`, caCert === undefined ? {} : { ca: caCert })
    )
    const deadline = Date.now() + 2_000
    while (!readLog(logPath).includes(marker) && Date.now() < deadline) yield* realSleep(5)
  })
  const instance: Instance = {
    host: `127.0.0.1:${port}`,
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    mode,
    tls: tls !== undefined,
    users,
    caCertPath: tls?.cert,
    caCert,
    storageDir,
    dir,
    tokenServer,
    log,
    countRequests: (filter) =>
      Effect.map(Effect.zipRight(syncLog, log), (text) => {
        let n = 0
        for (const line of text.split("\n")) {
          const m = accessLine.exec(line)
          if (m === null || m[2]?.includes(syncMarker) === true) continue
          if (filter.method !== undefined && m[1] !== filter.method.toUpperCase()) continue
          if (filter.status !== undefined && Number(m[3]) !== filter.status) continue
          const uri = m[2] ?? ""
          if (filter.path !== undefined) {
            if (typeof filter.path === "string" ? !uri.includes(filter.path) : !filter.path.test(uri)) continue
          }
          n++
        }
        return n
      }),
    writer: users.find((u) => u.readOnly !== true),
    pid,
    startupMs: Date.now() - started
  }
  return instance
}) as (options?: Options) => Effect.Effect<Instance, TestHarnessError.TestHarnessError, Scope.Scope>

/**
 * A tag for sharing one registry between the tests of a `layer(...)` block.
 *
 * @since 0.1.0
 * @category tags
 */
export class DockerRegistry extends Context.Tag("@ocidist/testing/DockerRegistry")<DockerRegistry, Instance>() {}

/**
 * A layer that starts a registry (stopped when the layer is released), for `layer(DockerRegistry.layer())`.
 * For two registries in one layer, make your own tags with `Layer.scoped(MyTag, DockerRegistry.start(...))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<DockerRegistry, TestHarnessError.TestHarnessError> =>
  Layer.scoped(DockerRegistry, start(options))

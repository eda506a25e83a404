/**
 * The fault soak: `ocidist` push, pull and copy of a multi-layer image through seeded fault-injecting
 * proxies (`FaultProxy` of `@ocidist/testing`: resets in blob, manifest and token bodies, bursts of
 * 500/502/503, 429 with `Retry-After` in both forms, stalls shorter and longer than the client's idle
 * timeout, throttling, truncated bodies), run after run, against the Debian `docker-registry` and the embedded
 * registry (token auth, so token responses go through the proxy too). Each operation must end, within a
 * generous bound, either with a byte-identical, digest-verified result or with a typed `ocidist` error (never a
 * defect, never a hang), and leave no temporary file, no open upload session at the registry, a bounded
 * number of requests, and a Debug log line for the retries it made. A pull that failed must then finish from
 * what it kept (run again without faults).
 *
 * Small in the test suite (3 runs of an 8 MiB image); `pnpm soak` runs it larger (SOAK_RUNS, SOAK_MIB,
 * SOAK_SEED; SOAK_REPORT names a file to append each target's figures to, as JSON lines).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as Reference from "@ocidist/reference/Reference"
import { DockerRegistry, FaultProxy, Fixtures, Tools } from "@ocidist/testing"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Ocidist from "ocidist/Ocidist"
import { isOcidistError } from "ocidist/OcidistError"
import * as NodeRegistry from "../src/NodeRegistry.js"
import { digest } from "./support/harness.js"

const env = process.env
const settings = {
  runs: Number(env["SOAK_RUNS"] ?? 3),
  mib: Number(env["SOAK_MIB"] ?? 8),
  seed: env["SOAK_SEED"] ?? "ocidist-soak",
  report: env["SOAK_REPORT"]
}

/** Client settings for tests: a short idle/headers timeout, quick retries (the defaults' counts). */
const retry = { times: 3, base: "20 millis", max: "200 millis", maxRetryAfter: "5 seconds" } as const
const maxResumes = 5
const clientOptions: RegistryClient.Options = { timeout: "2 seconds", retry, maxResumes }

/** Per request; at most one fault per request. */
const faults: FaultProxy.Faults = {
  serverError: { probability: 0.05, maxBurst: 3 },
  tooManyRequests: { probability: 0.02, retryAfterSeconds: 1 },
  reset: { probability: 0.05 },
  truncate: { probability: 0.03 },
  stall: { probability: 0.03, ms: 300 },
  longStall: { probability: 0.02, ms: 3_000 }, // longer than the client's 2 s idle timeout: a resume
  throttle: { probability: 0.03, bytesPerSecond: 32 * 1024 * 1024 }
}

/**
 * Whether a fault needed a retry (or a resume) to recover from: an injected error status; a reset or a
 * truncation of an upload's body, of an answer the client never got, or of a successful answer's body (not
 * of an error body the client does not read); a stall longer than the idle timeout in a blob body (other
 * bodies are waited for).
 */
const disruptive = (r: FaultProxy.RecordedRequest): boolean => {
  switch (r.faultKind) {
    case "serverError":
    case "tooManyRequests":
      return true
    case "reset":
    case "truncate":
      return r.status === undefined || (r.status >= 200 && r.status < 300)
    case "longStall":
      return r.kind === "blob" && r.status !== undefined && r.status >= 200 && r.status < 300
    default:
      return false
  }
}

/** Debug lines of the client that say it retried or resumed. */
const retryLine = /: HTTP \d{3} from |: .+ from \S+$|: resuming |re-sending|cannot go on in its session|retry|retrying/i

/** An operation that has not ended after this is a hang. */
const hangAfter = Duration.seconds(60 + settings.mib)

const user = { username: "soak", password: "soak-password" }

type Op = "push" | "pull" | "copy"

interface Outcome {
  readonly target: string
  readonly run: number
  readonly op: Op
  readonly outcome: "ok" | "failed" | "corrupt" | "hang" | "defect"
  /** The typed error's `_tag` (failed), or what was wrong (corrupt, defect). */
  readonly detail: string | undefined
  readonly requests: number
  /** Upload sessions opened whose answer the proxy cut off: the client cannot know them. */
  readonly orphaned: number
  /** Upload sessions the client tried to cancel and the registry refused to (see `refused`). */
  readonly unclosable: number
  readonly retries: number
  readonly injected: Readonly<Record<FaultProxy.FaultKind, number>>
  readonly problems: ReadonlyArray<string>
  readonly ms: number
}

interface Upstream {
  readonly name: string
  readonly host: string
  readonly url: string
  /** Upload sessions still open at the registry (of those the proxies saw opened). */
  readonly openSessions: (seen: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>>
}

const sha256File = (file: string) =>
  Effect.promise(() =>
    new Promise<string>((resolve, reject) => {
      const hash = crypto.createHash("sha256")
      fs.createReadStream(file, { highWaterMark: 1024 * 1024 }).on("error", reject).on(
        "data",
        (chunk) => hash.update(chunk)
      ).on("end", () => resolve(`sha256:${hash.digest("hex")}`))
    })
  )

/** Files under a directory, relative, recursively. */
const filesUnder = (dir: string): Array<string> =>
  fs.existsSync(dir)
    ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) =>
      path.relative(dir, path.join(e.parentPath, e.name))
    )
    : []

/** What a layout written by a pull holds beyond a finished layout: temp files, partials (after a success), strays. */
const layoutLeftovers = (dir: string, succeeded: boolean): ReadonlyArray<string> =>
  filesUnder(dir).filter((file) => {
    if (/\.tmp(\.|$)/.test(path.basename(file))) return true
    if (file === "index.json" || file === "oci-layout" || file.startsWith(`blobs${path.sep}`)) return false
    if (file.startsWith(`ingest${path.sep}`)) return succeeded || !file.endsWith(".partial")
    return true
  })

/** The client stack (our `ocidist` facade) with the soak user for every given host, built where it is used. */
const facade = (hosts: ReadonlyArray<string>, cacheDirectory: string) => {
  const credentials = Credentials.layer({
    explicit: hosts.map((host) => [host, Credentials.basic(user.username, user.password)] as const),
    sources: []
  })
  const client = RegistryClient.layerWithoutDependencies(clientOptions).pipe(
    Layer.provide(Authenticator.layerWithoutDependencies()),
    Layer.provide(Layer.mergeAll(NodeRegistryClient.layerHttpClient(clientOptions), credentials)),
    Layer.provide(NodeHash.layer)
  )
  return Ocidist.layerWithoutDependencies({ cacheDirectory }).pipe(
    Layer.provideMerge(client),
    Layer.provide(Layer.merge(NodeContext.layer, NodeHash.layer))
  )
}

/** Records the Debug (and louder) messages of an effect. */
const captureLogs = <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  const lines: Array<string> = []
  const logger = Logger.make(({ annotations, message }) => {
    const parts = (Array.isArray(message) ? message : [message]).map((m) =>
      typeof m === "string" ? m : JSON.stringify(m)
    )
    for (const [key, value] of HashMap.toEntries(annotations)) parts.push(`${key}=${String(value)}`)
    lines.push(parts.join(" "))
  })
  return {
    lines,
    effect: effect.pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.Debug)
    )
  }
}

const addCounts = (
  into: Record<FaultProxy.FaultKind, number>,
  from: Readonly<Record<FaultProxy.FaultKind, number>>
) => {
  for (const kind of FaultProxy.faultKinds) into[kind] += from[kind]
}

const zeroCounts = (): Record<FaultProxy.FaultKind, number> =>
  Object.fromEntries(FaultProxy.faultKinds.map((k) => [k, 0])) as Record<FaultProxy.FaultKind, number>

/** The soak against one registry. */
const soak = (upstream: Upstream) =>
  Effect.gen(function*() {
    const dir = yield* Tools.tempDir("ocidist-soak-")
    const fixtureDir = path.join(dir, "fixture")
    const total = settings.mib * 1024 * 1024
    const image = yield* Fixtures.makeImage(fixtureDir, {
      seed: `ocidist-soak/${settings.mib}`,
      layers: [0.4, 0.3, 0.2, 0.1].map((share) => ({ size: Math.floor(total * share) })).concat([{ size: 2048 }])
    })
    const source = path.join(dir, "source")
    yield* Fixtures.writeLayout(source, [{ tag: "v1", root: image }])
    const sourceFiles = filesUnder(source).sort()
    const blobs = [
      { digest: image.configDigest, size: image.config.length },
      ...image.layers.map((l) => ({ digest: l.digest, size: l.size }))
    ]

    const a = yield* FaultProxy.start({ upstream: upstream.url, seed: `${settings.seed}/${upstream.name}/a`, faults })
    const b = yield* FaultProxy.start({ upstream: upstream.url, seed: `${settings.seed}/${upstream.name}/b`, faults })
    const hosts = [a.host, b.host, upstream.host]
    const cache = path.join(dir, "cache")
    const verifier = yield* Layer.build(facade(hosts, cache))
    const rc = Context.get(verifier, RegistryClient.RegistryClient)
    const ref = (rest: string) => Effect.sync(() => Either.getOrThrow(Reference.parse(`${upstream.host}/${rest}`)))

    /** The image at `repository:v1` of the registry, read directly: byte-identical and digest-verified. */
    const verifyRegistry = (repository: string) =>
      Effect.gen(function*() {
        const problems: Array<string> = []
        const manifest = yield* rc.manifests.get(yield* ref(`${repository}:v1`), { accept: [image.mediaType] })
        if (!Buffer.from(manifest.bytes).equals(Buffer.from(image.manifest))) {
          problems.push(`${repository}:v1 is not the pushed manifest`)
        }
        for (const blob of blobs) {
          const hash = crypto.createHash("sha256")
          const size = yield* Stream.runFold(
            rc.blobs.stream(yield* ref(repository), digest(blob.digest)),
            0,
            (n, chunk) => {
              hash.update(chunk)
              return n + chunk.length
            }
          )
          const actual = `sha256:${hash.digest("hex")}`
          if (actual !== blob.digest || size !== blob.size) {
            problems.push(`${repository}: blob ${blob.digest} reads back as ${actual} (${size} bytes)`)
          }
        }
        return problems
      }).pipe(Effect.catchAll((error) => Effect.succeed([`${repository} cannot be read back: ${error.message}`])))

    /** The layout a pull wrote: `v1` names the image, every blob hashes to its name and is the fixture's. */
    const verifyLayout = (layout: string) =>
      Effect.gen(function*() {
        const problems: Array<string> = []
        const index = JSON.parse(fs.readFileSync(path.join(layout, "index.json"), "utf8")) as {
          manifests: ReadonlyArray<{ digest: string; annotations?: Record<string, string> }>
        }
        const entry = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === "v1")
        if (entry?.digest !== image.manifestDigest) problems.push(`index.json names ${entry?.digest} for v1`)
        for (const blob of [{ digest: image.manifestDigest, size: image.manifest.length }, ...blobs]) {
          const file = path.join(layout, "blobs", "sha256", blob.digest.slice("sha256:".length))
          if (!fs.existsSync(file)) {
            problems.push(`${blob.digest} is missing`)
            continue
          }
          const actual = yield* sha256File(file)
          if (actual !== blob.digest || fs.statSync(file).size !== blob.size) {
            problems.push(`${blob.digest} holds ${actual} (${fs.statSync(file).size} bytes)`)
          }
        }
        return problems
      }).pipe(Effect.catchAllDefect((defect) => Effect.succeed([`unreadable layout: ${String(defect)}`])))

    /** Removes an image and its blobs from the registry (so the next run transfers them again). */
    const clean = (repository: string) =>
      Effect.gen(function*() {
        yield* Effect.ignore(rc.manifests.delete(yield* ref(`${repository}@${image.manifestDigest}`)))
        for (const blob of blobs) yield* Effect.ignore(rc.blobs.delete(yield* ref(repository), digest(blob.digest)))
      })

    // the image the pulls and copies read, put there directly
    yield* Ocidist.push(`oci:${source}:v1`, `${upstream.host}/soak/base:v1`).pipe(Effect.provide(verifier))

    const operation = (op: Op, run: number) => {
      const layout = path.join(dir, `pull-${run}`)
      switch (op) {
        case "push":
          return { layout, effect: Ocidist.push(`oci:${source}:v1`, `${a.host}/soak/push:v1`) }
        case "pull":
          return { layout, effect: Ocidist.pull(`${a.host}/soak/base:v1`, layout) }
        case "copy":
          return { layout, effect: Ocidist.copy(`${a.host}/soak/base:v1`, `${b.host}/soak/copy:v1`) }
      }
    }

    const runOnce = (op: Op, run: number, faulty: boolean) =>
      Effect.gen(function*() {
        yield* a.clear
        yield* b.clear
        yield* a.setFaults(faulty ? faults : {})
        yield* b.setFaults(faulty ? faults : {})
        const { effect, layout } = operation(op, run)
        const logs = captureLogs(
          Effect.asVoid(effect).pipe(Effect.provide(facade(hosts, cache)), Effect.disconnect, Effect.timeout(hangAfter))
        )
        const started = Date.now()
        const exit = yield* Effect.exit(logs.effect)
        const ms = Date.now() - started
        const problems: Array<string> = []
        let outcome: Outcome["outcome"] = "ok"
        let detail: string | undefined
        if (Exit.isFailure(exit)) {
          const failure = Cause.failureOption(exit.cause)
          if (Option.isSome(failure) && Cause.isTimeoutException(failure.value)) {
            outcome = "hang"
            detail = `not ended after ${Duration.format(hangAfter)}`
          } else if (Option.isSome(failure) && isOcidistError(failure.value)) {
            outcome = "failed"
            detail = `${failure.value._tag}: ${failure.value.message}`
          } else {
            outcome = "defect"
            detail = Cause.pretty(exit.cause)
          }
        }
        if (outcome === "ok") {
          const wrong = op === "pull"
            ? yield* verifyLayout(layout)
            : yield* verifyRegistry(op === "push" ? "soak/push" : "soak/copy")
          if (wrong.length > 0) {
            outcome = "corrupt"
            detail = wrong.join("; ")
          }
        }
        if (outcome === "defect" || outcome === "hang" || outcome === "corrupt") problems.push(`${outcome}: ${detail}`)

        // nothing left behind
        const leftovers = [
          ...(op === "pull" ? layoutLeftovers(layout, outcome === "ok").map((f) => `${layout}/${f}`) : []),
          ...filesUnder(cache).map((f) => `${cache}/${f}`)
        ]
        if (JSON.stringify(filesUnder(source).sort()) !== JSON.stringify(sourceFiles)) {
          leftovers.push(`${source} changed`)
        }
        if (leftovers.length > 0) problems.push(`temporary files left: ${leftovers.join(", ")}`)
        const sessions = [...(yield* a.uploadSessions), ...(yield* b.uploadSessions)]
        const seen = [...(yield* a.requests), ...(yield* b.requests)]
        // distribution 2.8 cannot cancel a session whose bytes moved past the `_state` the client holds (a
        // PUT or PATCH cut off mid-body): its DELETE answers 404 BLOB_UPLOAD_INVALID and the session stays
        // until the registry purges it. The client asked; nobody can do more.
        const refused = (session: string) =>
          seen.some((r) =>
            r.method === "DELETE" && r.url.split("?")[0] === session && r.status === 404 &&
            !/^\d{3}/.test(r.fault ?? "")
          )
        const stillOpen = yield* upstream.openSessions(sessions)
        const unclosable = stillOpen.filter(refused)
        const open = stillOpen.filter((session) => !refused(session))
        if (open.length > 0) {
          const line = (r: FaultProxy.RecordedRequest) =>
            `${r.method} ${r.url.split("?")[0]} → ${r.status ?? "no answer"}${
              r.fault === undefined ? "" : ` [${r.fault}]`
            }`
          problems.push(`upload sessions left open: ${
            open.map((session) =>
              `${session} (${seen.filter((r) => r.url.includes(path.basename(session))).map(line).join("; ")})`
            ).join(", ")
          }; faults of the run: ${seen.filter((r) => r.fault !== undefined).map(line).join("; ")}`)
        }

        const statsA = yield* a.stats
        const statsB = yield* b.stats
        const injected = zeroCounts()
        addCounts(injected, statsA.injected)
        addCounts(injected, statsB.injected)
        const retries = logs.lines.filter((line) =>
          retryLine.test(line)
        ).length
        const recoveredFrom = outcome === "ok" ? seen.filter(disruptive) : []
        if (recoveredFrom.length > 0 && retries === 0) {
          const what = recoveredFrom.map((r) =>
            `${r.method} ${r.url.split("?")[0]} → ${r.status ?? "no answer"}: ${r.fault}`
          )
          problems.push(`recovered from faults without a retry in the Debug log (${what.join("; ")})`)
        }
        const result: Outcome = {
          target: upstream.name,
          run,
          op,
          outcome,
          detail,
          requests: statsA.requests + statsB.requests,
          orphaned: (yield* a.orphanedSessions).length + (yield* b.orphanedSessions).length,
          unclosable: unclosable.length,
          retries,
          injected,
          problems,
          ms
        }
        return result
      })

    const resumePull = (run: number) =>
      Effect.gen(function*() {
        const layout = path.join(dir, `pull-${run}`)
        const exit = yield* Effect.exit(
          Ocidist.pull(`${upstream.host}/soak/base:v1`, layout).pipe(Effect.provide(verifier))
        )
        if (Exit.isFailure(exit)) return [`the pull run again without faults failed: ${Cause.pretty(exit.cause)}`]
        const wrong = yield* verifyLayout(layout)
        const left = layoutLeftovers(layout, true)
        return [
          ...wrong.map((w) => `after the pull run again: ${w}`),
          ...(left.length > 0 ? [`after the pull run again, left: ${left.join(", ")}`] : [])
        ]
      })

    // a fault-free round first: the request counts the bound is relative to
    const baseline: Record<Op, number> = { push: 0, pull: 0, copy: 0 }
    const ops: ReadonlyArray<Op> = ["push", "pull", "copy"]
    const calibration: Array<string> = []
    for (const op of ops) {
      const outcome = yield* runOnce(op, 0, false)
      baseline[op] = outcome.requests
      if (outcome.outcome !== "ok" || outcome.problems.length > 0) {
        const failure = outcome.outcome === "failed" ? [`failed: ${outcome.detail}`] : []
        calibration.push(`${op} without faults: ${[...failure, ...outcome.problems].join("; ")}`)
      }
      if (op !== "pull") yield* clean(op === "push" ? "soak/push" : "soak/copy")
      fs.rmSync(path.join(dir, "pull-0"), { recursive: true, force: true })
    }
    assert.deepStrictEqual(calibration, [])

    const outcomes: Array<Outcome> = []
    for (let run = 1; run <= settings.runs; run++) {
      for (const op of ops) {
        const outcome = yield* runOnce(op, run, true)
        const bound = baseline[op] * (retry.times + 1) * (maxResumes + 1)
        const extra: Array<string> = []
        if (outcome.requests > bound) extra.push(`${outcome.requests} requests, more than ${bound}`)
        if (op === "pull" && outcome.outcome === "failed") extra.push(...(yield* resumePull(run)))
        outcomes.push({ ...outcome, problems: [...outcome.problems, ...extra] })
        if (op !== "pull") yield* clean(op === "push" ? "soak/push" : "soak/copy")
        fs.rmSync(path.join(dir, `pull-${run}`), { recursive: true, force: true })
      }
    }

    const faultsInjected = zeroCounts()
    for (const o of outcomes) addCounts(faultsInjected, o.injected)
    const summary = {
      target: upstream.name,
      seed: settings.seed,
      mib: settings.mib,
      runs: settings.runs,
      operations: outcomes.length,
      ok: outcomes.filter((o) => o.outcome === "ok").length,
      failed: outcomes.filter((o) => o.outcome === "failed").length,
      failures: outcomes.filter((o) => o.outcome === "failed").map((o) => `${o.op}#${o.run} ${o.detail}`),
      corrupt: outcomes.filter((o) => o.outcome === "corrupt").length,
      hangs: outcomes.filter((o) => o.outcome === "hang").length,
      defects: outcomes.filter((o) => o.outcome === "defect").length,
      faults: faultsInjected,
      requests: outcomes.reduce((n, o) => n + o.requests, 0),
      baseline,
      retries: outcomes.reduce((n, o) => n + o.retries, 0),
      orphanedSessions: outcomes.reduce((n, o) => n + o.orphaned, 0),
      unclosableSessions: outcomes.reduce((n, o) => n + o.unclosable, 0),
      seconds: Math.round(outcomes.reduce((n, o) => n + o.ms, 0) / 100) / 10,
      problems: outcomes.flatMap((o) => o.problems.map((p) => `${o.op}#${o.run}: ${p}`)),
      log: outcomes.map((o) =>
        `${o.op}#${o.run} ${o.outcome} in ${o.ms} ms, ${o.requests} requests, ${o.retries} retries, faults ${
          FaultProxy.faultKinds.filter((k) => o.injected[k] > 0).map((k) => `${k}×${o.injected[k]}`).join(" ")
        }`
      )
    }
    if (settings.report !== undefined) fs.appendFileSync(settings.report, `${JSON.stringify(summary)}\n`)
    else console.log(JSON.stringify(summary, null, 1))
    return summary
  })

/** Asserts the soak's figures: nothing corrupt, no hang, no defect, no leftovers; faults were injected. */
const check = (summary: Effect.Effect.Success<ReturnType<typeof soak>>) => {
  assert.deepStrictEqual(summary.problems, [], `seed ${summary.seed}`)
  assert.deepStrictEqual([summary.corrupt, summary.hangs, summary.defects], [0, 0, 0])
  assert.strictEqual(summary.ok + summary.failed, summary.operations)
  assert.isAbove(Object.values(summary.faults).reduce((n, k) => n + k, 0), 0)
}

const timeout = (3 * settings.runs + 3) * Duration.toMillis(hangAfter) + 60_000

describe("fault soak: ocidist push, pull, copy through a faulty proxy", () => {
  it.scopedLive("docker-registry", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const repositories = path.join(registry.storageDir, "docker", "registry", "v2", "repositories")
      const summary = yield* soak({
        name: "docker-registry",
        host: registry.host,
        url: registry.url,
        // distribution 2.8 keeps an open session as `<repository>/_uploads/<id>/startedat` (a cancelled one
        // may leave its `hashstates/` behind: closed all the same, a GET of it is 404)
        openSessions: (seen) =>
          Effect.sync(() =>
            seen.filter((session) => {
              const [, name, id] = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/.exec(session) ?? []
              return name !== undefined && id !== undefined &&
                fs.existsSync(path.join(repositories, name, "_uploads", id, "startedat"))
            })
          )
      })
      check(summary)
    }), timeout)

  it.scopedLive("embedded registry (token auth through the proxy)", () =>
    Effect.gen(function*() {
      const storage = yield* Tools.tempDir("ocidist-soak-registry-")
      const registry = yield* NodeRegistry.start({
        storage: { directory: storage },
        auth: { type: "token", users: [user] }
      })
      const summary = yield* soak({
        name: "embedded",
        host: registry.host,
        url: registry.url,
        openSessions: (seen) =>
          Effect.filter(seen, (session) =>
            Effect.map(authorizedStatus(`${registry.url}${session}`), (status) => status !== 404))
      })
      check(summary)
    }), timeout)
})

/** The status of a GET with the soak user's token (the 401 challenge followed), directly at the registry. */
const authorizedStatus = (url: string) =>
  Effect.gen(function*() {
    const first = yield* Tools.request(url)
    if (first.status !== 401) return first.status
    const challenge = first.header("www-authenticate") ?? ""
    const param = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(challenge)?.[1] ?? ""
    const realm = new URL(param("realm"))
    realm.searchParams.set("service", param("service"))
    realm.searchParams.set("scope", param("scope"))
    const token = yield* Tools.request(realm.toString(), { headers: { authorization: Tools.basicAuth(user) } })
    const body = JSON.parse(token.text) as { token?: string; access_token?: string }
    const second = yield* Tools.request(url, {
      headers: { authorization: `Bearer ${body.token ?? body.access_token}` }
    })
    return second.status
  }).pipe(Effect.orDie)

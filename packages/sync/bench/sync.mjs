// Sync benchmark: mirroring REPOS repositories × TAGS tags of small images from one loopback docker-registry
// into a fresh, empty one, per mode:
//   embedded    `ocidist sync CONFIG --state DIR` (one process, SQLite state; a fresh state directory per run)
//   workers-N   `ocidist sync CONFIG --cluster URL` submitted to N `ocidist sync worker` processes over a
//               PostgreSQL started for the run (Debian's postgresql, initdb in a temp dir, as the tests do);
//               the workers are started and the cluster formed (each worker holds shard locks) before the clock
//               starts, so the time is the run's: submit, expand, plan and copy every repository, report
//   skopeo      `skopeo sync --src yaml --dest docker YAML TARGET/ns` with the same repositories and tags listed
//               in skopeo's YAML source format (skopeo copies one image after the other)
// Source: Debian's docker-registry (not our embedded registry), the same server for every client, so that no
// client is measured against our own server code. Images: OCI manifests made by @ocidist/testing's Fixtures,
// three gzip layers each — a base layer shared by every repository (BASE_KIB), one shared by the tags of a
// repository (REPO_KIB), one per tag (TAG_KIB) — so blobs are mounted across repositories and skipped within
// one, as with real images. ocidist's configuration names the namespace (`type: registry`, listed through the
// catalog); skopeo's YAML names every repository and tag; both write TARGET/ns/rN:1.T.
// Rounds are interleaved (each round runs every mode once, the order rotated every round). Each timed command
// runs under `/usr/bin/time -v` (peak RSS) inside `timeout`, must exit 0, and afterwards every target tag is
// HEADed and must have the source's digest. Workers' peak RSS is their VmHWM from /proc before they are stopped.
// Prints and writes bench/results/sync.{json,md} (repo root; RESULTS_DIR overrides): per mode the median and
// min–max wall time, repositories/s and tags/s (of the median), peak RSS, and the ratio to skopeo's median,
// with load average, CPU, Node and skopeo versions and the date.
// Needs a build (`pnpm build`: apps/cli/dist/ocidist.cjs, packages/*/dist), docker-registry, skopeo, postgresql
// and /usr/bin/time (bash scripts/install-test-deps.sh).
// Usage: node packages/sync/bench/sync.mjs [KEY=VALUE ...]   (settings as arguments or environment:
//   REPOS=200 TAGS=3 RUNS=3 WORKERS=1,2,3 CONCURRENCY=8 MODES=embedded,workers,skopeo BASE_KIB=256 REPO_KIB=64
//   TAG_KIB=8 RESULTS_DIR=bench/results)
// Quick run: REPOS=20 RUNS=1 WORKERS=2 node packages/sync/bench/sync.mjs
import { DockerRegistry, Fixtures, Postgres, Tools } from "@ocidist/testing"
import { Effect } from "effect"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import {
  cli,
  excerpt as excerptOf,
  failedWhy,
  main,
  median,
  MiB,
  ownStderr,
  peakRssKiB,
  preflight,
  readGiven,
  rotate,
  round3,
  roundedLoadavg,
  timedArgs,
  version
} from "../../../bench/lib.mjs"

const here = path.dirname(fileURLToPath(import.meta.url))
const ALL_MODES = ["embedded", "workers", "skopeo"]
const NAMESPACE = "ns"

// ---- settings ------------------------------------------------------------------------------------------------

const readSettings = (argv, env) => {
  const { given, int, resultsDir } = readGiven(argv, env, "RUNS=3")
  const list = (key, fallback) => (given[key] ?? fallback).split(",").map((s) => s.trim()).filter((s) => s !== "")
  const modes = list("MODES", ALL_MODES.join(","))
  const unknown = modes.filter((m) => !ALL_MODES.includes(m))
  if (unknown.length > 0) throw new Error(`unknown MODES ${unknown.join(",")}: choose from ${ALL_MODES.join(",")}`)
  const workers = list("WORKERS", "1,2,3").map(Number)
  if (workers.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) {
    throw new Error("WORKERS must be a list of integers 1..16, e.g. 1,2,3")
  }
  return {
    repos: int("REPOS", 200, 1),
    tags: int("TAGS", 3, 1),
    runs: int("RUNS", 3, 1),
    workers,
    concurrency: int("CONCURRENCY", 8, 1),
    baseKiB: int("BASE_KIB", 256, 1),
    repoKiB: int("REPO_KIB", 64, 1),
    tagKiB: int("TAG_KIB", 8, 1),
    modes: ALL_MODES.filter((m) => modes.includes(m)),
    resultsDir
  }
}

// ---- measuring one run ---------------------------------------------------------------------------------------

const excerpt = (text, head = 15, tail = 10) => excerptOf(text, head, tail)

/** Runs argv under `/usr/bin/time -v` inside `timeout`: wall time from this process's clock, peak RSS. */
const timed = (argv, env) =>
  Effect.async((resume) => {
    const start = process.hrtime.bigint()
    // asynchronous (not spawnSync): the workers' output must keep being drained meanwhile
    const child = spawn("timeout", timedArgs(argv), { env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c) => (stdout += c.toString("utf8")))
    child.stderr.on("data", (c) => (stderr += c.toString("utf8")))
    child.on("error", (error) => resume(Effect.die(new Error(`cannot run ${argv.join(" ")}: ${error.message}`))))
    child.on("close", (status) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      if (status !== 0) {
        return resume(Effect.die(
          new Error(
            `${argv.join(" ")} ${failedWhy(status)} after ${seconds.toFixed(1)} s:\n${excerpt(ownStderr(stderr))}\n` +
              `stdout: ${excerpt(stdout, 5, 5)}`
          )
        ))
      }
      const rssKiB = peakRssKiB(stderr)
      if (rssKiB === undefined) {
        return resume(Effect.die(new Error(`no peak RSS from /usr/bin/time:\n${excerpt(stderr)}`)))
      }
      const user = /User time \(seconds\): ([\d.]+)/.exec(stderr)
      const system = /System time \(seconds\): ([\d.]+)/.exec(stderr)
      const cpuSeconds = user === null || system === null ? undefined : Number(user[1]) + Number(system[1])
      resume(Effect.succeed({ seconds, rssKiB, cpuSeconds, stdout, stderr: ownStderr(stderr) }))
    })
  })

/** Every tag of the fixture is in `target` with the source's digest (HEAD, after the run). */
const checkTarget = (target, expected) =>
  Effect.gen(function*() {
    const wrong = []
    yield* Effect.forEach(
      expected,
      ([ref, digest]) => {
        const [repo, tag] = ref.split(":")
        return Effect.map(
          Tools.request(`${target.url}/v2/${repo}/manifests/${tag}`, {
            method: "HEAD",
            headers: { accept: [Fixtures.MediaType.ociManifest, Fixtures.MediaType.ociIndex].join(", ") }
          }),
          (res) => {
            const got = res.status === 200 ? res.header("docker-content-digest") : `HTTP ${res.status}`
            if (got !== digest) wrong.push(`${ref}: ${got} (source ${digest})`)
          }
        )
      },
      { concurrency: 8, discard: true }
    )
    if (wrong.length > 0) {
      return yield* Effect.die(
        new Error(`${wrong.length} target tags missing or different after the run:\n${wrong.slice(0, 10).join("\n")}`)
      )
    }
  })

/** ocidist's `--json` report: every repository present, every tag copied, none failed. */
const checkReport = (stdout, settings) => {
  const last = stdout.trim().split("\n").pop() ?? ""
  let report
  try {
    report = JSON.parse(last)
  } catch {
    throw new Error(`no JSON report on stdout: ${excerpt(stdout, 5, 5)}`)
  }
  const outcomes = report.repositories.flatMap((r) => r.outcomes ?? [])
  const copied = outcomes.filter((o) => o._tag === "Copied").length
  const failed = outcomes.filter((o) => o._tag === "Failed")
  if (report.repositories.length !== settings.repos || copied !== settings.repos * settings.tags || failed.length > 0) {
    throw new Error(
      `report: ${report.repositories.length} repositories, ${copied} tags copied, ${failed.length} failed ` +
        `(expected ${settings.repos}, ${settings.repos * settings.tags}, 0): ${JSON.stringify(failed.slice(0, 3))}`
    )
  }
  return { runId: report.runId }
}

const ocidistConfig = (ctx, target) => {
  const file = path.join(ctx.work, `sync-${target.port}.yaml`)
  fs.writeFileSync(
    file,
    [
      `defaults: { concurrency: ${ctx.settings.concurrency} }`,
      "registries:",
      `  "${ctx.source.host}": { tls: false }`,
      `  "${target.host}": { tls: false }`,
      "sync:",
      `  - source: ${ctx.source.host}/${NAMESPACE}`,
      `    target: ${target.host}/${NAMESPACE}`,
      "    type: registry",
      ""
    ].join("\n")
  )
  return file
}

/** A fresh directory under the bench's work dir, removed by the caller's scope. */
const freshDir = (ctx, name) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(ctx.work, `${name}-`))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

const embeddedRun = (ctx) =>
  Effect.scoped(Effect.gen(function*() {
    const target = yield* DockerRegistry.start()
    const config = ocidistConfig(ctx, target)
    const state = yield* freshDir(ctx, "state")
    const cache = yield* freshDir(ctx, "cache")
    const sample = yield* timed(
      [process.execPath, cli, "sync", config, "--json", "--state", state],
      { ...ctx.env, OCIDIST_CACHE_DIR: cache }
    )
    checkReport(sample.stdout, ctx.settings)
    yield* checkTarget(target, ctx.expected)
    return { seconds: sample.seconds, rssKiB: sample.rssKiB, cpuSeconds: sample.cpuSeconds }
  }))

/** Peak RSS (VmHWM) of a live process, in KiB. */
const vmHwm = (pid) => {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? undefined : Number(m[1])
  } catch {
    return undefined
  }
}

/** CPU seconds (user + system) a live process has used so far. */
const cpuOf = (pid) => {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
    // after "pid (comm) ": state is field 3, utime 14, stime 15 (1-based) → indexes 11 and 12 here
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

/** A CLI process whose output is kept (the last 200 KB); SIGKILLed when the scope closes. */
const spawnWorker = (args, env) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let output = ""
      const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"], env })
      const keep = (c) => {
        output += c.toString("utf8")
        if (output.length > 400_000) output = output.slice(-200_000)
      }
      child.stdout.on("data", keep)
      child.stderr.on("data", keep)
      return { child, output: () => output }
    }),
    ({ child }) =>
      Effect.promise(() =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once("exit", () => resolve())
          child.kill("SIGKILL")
        })
      )
  )

const psql = (pg, sql) => {
  const bin = fs.readdirSync("/usr/lib/postgresql").filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a)[0]
  const res = spawnSync(
    path.join("/usr/lib/postgresql", bin, "bin/psql"),
    ["-h", "127.0.0.1", "-p", String(pg.port), "-U", "postgres", "-d", pg.database, "-tA", "-F", "\t", "-c", sql],
    { encoding: "utf8", env: { ...process.env, PGCONNECT_TIMEOUT: "5" } }
  )
  if (res.status !== 0) throw new Error(`psql: ${res.stderr}`)
  return res.stdout.trim().split("\n").filter((l) => l !== "").map((l) => l.split("\t"))
}

/** application_name → advisory locks held (a runner's shard locks). */
const lockHolders = (pg) =>
  new Map(
    psql(
      pg,
      "SELECT a.application_name, count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid " +
        "WHERE l.locktype = 'advisory' AND l.granted GROUP BY a.application_name"
    ).map(([name, count]) => [name, Number(count)])
  )

const sleep = (ms) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

const workersRun = (ctx, n) =>
  Effect.scoped(Effect.gen(function*() {
    const [pg, target] = yield* Effect.all([Postgres.start(), DockerRegistry.start()], { concurrency: 2 })
    const config = ocidistConfig(ctx, target)
    const formStart = Date.now()
    const workers = []
    const startWorker = (i) =>
      Effect.gen(function*() {
        const port = yield* Tools.freePort
        const cache = yield* freshDir(ctx, `cache-w${i}`)
        const w = yield* spawnWorker(
          ["sync", "worker", "--cluster", pg.url, "--listen", `127.0.0.1:${port}`],
          { ...ctx.env, OCIDIST_CACHE_DIR: cache }
        )
        workers.push({ port, ...w })
      })
    // all at once: schema creation is serialized by an advisory lock (NodeSyncCluster.withSchemaLock)
    for (let i = 0; i < n; i++) yield* startWorker(i)
    // the cluster is formed when every worker holds shard locks (advisory locks of its session)
    while (true) {
      const held = lockHolders(pg)
      if (
        workers.length === n && workers.every((w) => (held.get(`ocidist-sync runner 127.0.0.1:${w.port}`) ?? 0) > 0)
      ) break
      for (const w of workers) {
        if (w.child.exitCode !== null) throw new Error(`a worker exited early:\n${excerpt(w.output())}`)
      }
      if (Date.now() - formStart > 120_000) {
        throw new Error(`the cluster of ${n} workers did not form within 120 s: ${JSON.stringify([...held])}`)
      }
      yield* sleep(200)
    }
    const formSeconds = (Date.now() - formStart) / 1000
    for (const w of workers) w.cpuBefore = cpuOf(w.child.pid)
    const cache = yield* freshDir(ctx, "cache-submitter")
    const sample = yield* timed(
      [process.execPath, cli, "sync", config, "--json", "--cluster", pg.url],
      { ...ctx.env, OCIDIST_CACHE_DIR: cache }
    ).pipe(
      Effect.catchAllDefect((defect) =>
        Effect.die(
          new Error(
            `${defect.message}\n` +
              workers.map((w) => `--- worker 127.0.0.1:${w.port}:\n${excerpt(w.output(), 20, 20)}`).join("\n")
          )
        )
      )
    )
    const workerRssKiB = workers.map((w) => vmHwm(w.child.pid) ?? 0)
    const workerCpuSeconds = workers.map((w) => cpuOf(w.child.pid) - w.cpuBefore)
    for (const w of workers) {
      if (w.child.exitCode !== null) throw new Error(`a worker exited during the run:\n${excerpt(w.output())}`)
    }
    checkReport(sample.stdout, ctx.settings)
    yield* checkTarget(target, ctx.expected)
    return {
      seconds: sample.seconds,
      rssKiB: Math.max(...workerRssKiB),
      submitterRssKiB: sample.rssKiB,
      totalRssKiB: sample.rssKiB + workerRssKiB.reduce((a, b) => a + b, 0),
      // the workers' CPU during the run, and the submitter's
      cpuSeconds: (sample.cpuSeconds ?? 0) + workerCpuSeconds.reduce((a, b) => a + b, 0),
      formSeconds
    }
  }))

const skopeoRun = (ctx) =>
  Effect.scoped(Effect.gen(function*() {
    const target = yield* DockerRegistry.start()
    const sample = yield* timed(
      [
        "skopeo",
        "sync",
        "--src",
        "yaml",
        "--dest",
        "docker",
        "--dest-tls-verify=false",
        ctx.skopeoYaml,
        `${target.host}/${NAMESPACE}`
      ],
      ctx.env
    )
    yield* checkTarget(target, ctx.expected)
    return { seconds: sample.seconds, rssKiB: sample.rssKiB, cpuSeconds: sample.cpuSeconds }
  }))

// ---- rounds, statistics and output ---------------------------------------------------------------------------

const clientsOf = (ctx) => {
  const clients = []
  const s = ctx.settings
  if (s.modes.includes("embedded")) {
    clients.push({
      id: "embedded",
      title: "ocidist sync, embedded",
      command: "ocidist sync CONFIG --state FRESH_DIR",
      run: () => embeddedRun(ctx)
    })
  }
  if (s.modes.includes("workers")) {
    for (const n of s.workers) {
      clients.push({
        id: `workers-${n}`,
        title: `ocidist sync, ${n} worker${n === 1 ? "" : "s"} + PostgreSQL`,
        command: `ocidist sync CONFIG --cluster URL (${n} × ocidist sync worker)`,
        run: () => workersRun(ctx, n)
      })
    }
  }
  if (s.modes.includes("skopeo")) {
    clients.push({
      id: "skopeo",
      title: "skopeo sync",
      command: "skopeo sync --src yaml --dest docker --dest-tls-verify=false YAML TARGET/ns",
      run: () => skopeoRun(ctx)
    })
  }
  return clients
}

const round1 = (x) => Math.round(x * 10) / 10
const mib = (kib) => Math.round(kib / 1024)

const summarize = (client, samples, settings, failures) => {
  const base = { id: client.id, title: client.title, command: client.command, failures }
  if (samples.length === 0) return base
  const seconds = samples.map((s) => s.seconds)
  const med = median(seconds)
  return {
    ...base,
    medianSeconds: round3(med),
    minSeconds: round3(Math.min(...seconds)),
    maxSeconds: round3(Math.max(...seconds)),
    repositoriesPerSecond: round1(settings.repos / med),
    tagsPerSecond: round1((settings.repos * settings.tags) / med),
    peakRssMiB: mib(Math.max(...samples.map((s) => s.rssKiB))),
    cpuSeconds: round1(median(samples.map((s) => s.cpuSeconds ?? 0))),
    seconds: seconds.map(round3),
    ...(samples[0].totalRssKiB === undefined ? {} : {
      submitterPeakRssMiB: mib(Math.max(...samples.map((s) => s.submitterRssKiB))),
      totalPeakRssMiB: mib(Math.max(...samples.map((s) => s.totalRssKiB))),
      clusterFormSeconds: samples.map((s) => round1(s.formSeconds))
    })
  }
}

const machine = () => ({
  cpu: os.cpus()[0]?.model ?? "unknown",
  cpus: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 1024 / MiB)
})

/** The first lines of a failure, on one line (a table cell). */
const firstLines = (text) => text.split("\n").slice(0, 2).join(" ").replace(/\|/g, "\\|").slice(0, 300)

const markdown = (report) => {
  const m = report.machine
  const s = report.settings
  const skopeo = report.modes.find((c) => c.id === "skopeo" && c.medianSeconds !== undefined)
  const header = ["mode", "median (min–max)", "repositories/s", "tags/s", "CPU", "peak RSS", "ratio to skopeo"]
  const rows = report.modes.map((c) =>
    c.medianSeconds === undefined
      ? [c.title, `failed: ${firstLines(c.failures[0] ?? "no run")}`, "–", "–", "–", "–", "–"]
      : [
        c.title,
        `${c.medianSeconds.toFixed(1)} s (${c.minSeconds.toFixed(1)}–${c.maxSeconds.toFixed(1)})`,
        String(c.repositoriesPerSecond),
        String(c.tagsPerSecond),
        `${c.cpuSeconds.toFixed(1)} s`,
        c.totalPeakRssMiB === undefined
          ? `${c.peakRssMiB} MiB`
          : `${c.peakRssMiB} MiB per worker, ${c.totalPeakRssMiB} MiB in all`,
        skopeo === undefined ? "–" : (c.medianSeconds / skopeo.medianSeconds).toFixed(2)
      ]
  )
  const lines = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`)
  const failures = report.modes.flatMap((c) => c.failures.map((f) => `- ${c.title}: ${firstLines(f)}`))
  return [
    `## Sync benchmark, ${
      report.date.slice(0, 16).replace("T", " ")
    } UTC: ${m.cpus} × ${m.cpu}, Node ${report.node}, ` +
    `${report.skopeo}, ${report.postgres}`,
    "",
    ...lines,
    "",
    `${s.repos} repositories × ${s.tags} tags (${s.repos * s.tags} images of three gzip layers: ${s.baseKiB} KiB ` +
    `shared by all, ${s.repoKiB} KiB per repository, ${s.tagKiB} KiB per tag; ${report.sourceMiB} MiB of distinct blobs) ` +
    `from a loopback docker-registry into a fresh, empty one per run; ${s.runs} interleaved round${
      s.runs === 1 ? "" : "s"
    }. ` +
    `ocidist: \`defaults: { concurrency: ${s.concurrency} }\` (repositories at a time, across the cluster), the ` +
    `namespace listed through the catalog, a fresh state directory (embedded) or a fresh PostgreSQL (workers) per ` +
    `run; workers started and the cluster formed before the clock starts. skopeo sync copies one image after the ` +
    `other. Ratio: median / skopeo's median (lower is faster). CPU: user + system seconds of the run (median; ` +
    `workers: all workers during the run plus the submitter; registries and PostgreSQL not counted). Peak RSS: /usr/bin/time (embedded, skopeo); the ` +
    `workers' VmHWM (largest worker; "in all" adds the other workers and the submitter). Every run is checked: ` +
    `every target tag has the source's digest. Load average (1/5/15 min) at start ${report.loadavg.start.join(" ")}, ` +
    `at end ${report.loadavg.end.join(" ")}${
      m.cpus <= 2 ? " — a shared machine: other work ran on the same cores, so the figures are rough" : ""
    }. ` +
    `Written by packages/sync/bench/sync.mjs.`,
    ...(failures.length === 0 ? [] : ["", "Failed runs:", ...failures]),
    ""
  ].join("\n")
}

// ---- fixtures and main ---------------------------------------------------------------------------------------

const seed = (registry, work, settings) =>
  Effect.gen(function*() {
    const expected = []
    const images = {}
    const blobs = path.join(work, "blobs")
    const repos = Array.from({ length: settings.repos }, (_, i) => `${NAMESPACE}/r${i}`)
    const tags = Array.from({ length: settings.tags }, (_, t) => `1.${t}`)
    yield* Effect.forEach(
      repos,
      (repo) =>
        Effect.gen(function*() {
          images[repo] = tags
          for (const tag of tags) {
            const image = yield* Fixtures.makeImage(blobs, {
              seed: `bench-sync/${repo}/${tag}`,
              layers: [
                { size: settings.baseKiB * 1024, seed: "bench-sync/base" },
                { size: settings.repoKiB * 1024, seed: `bench-sync/${repo}` },
                { size: settings.tagKiB * 1024, seed: `bench-sync/${repo}/${tag}` }
              ]
            })
            yield* Fixtures.pushRaw(registry, repo, image, { tags: [tag] })
            expected.push([`${repo}:${tag}`, image.manifestDigest])
          }
        }),
      { concurrency: 8, discard: true }
    )
    const sourceBytes = fs.readdirSync(path.join(blobs, "blobs/sha256"), { withFileTypes: true })
      .filter((e) => e.isFile())
      .reduce((n, e) => n + fs.statSync(path.join(blobs, "blobs/sha256", e.name)).size, 0)
    return { expected, images, sourceBytes }
  })

const program = (settings) =>
  Effect.scoped(Effect.gen(function*() {
    const start = { date: new Date().toISOString(), loadavg: os.loadavg() }
    yield* Tools.requireBinary("skopeo")
    const source = yield* DockerRegistry.start()
    const work = yield* Tools.tempDir("ocidist-bench-sync-")
    const env = { ...process.env, HOME: work, XDG_CACHE_HOME: path.join(work, "cache"), NO_COLOR: "1" }

    console.log(`seeding ${settings.repos} repositories × ${settings.tags} tags into ${source.host} …`)
    const seeded = yield* seed(source, work, settings)
    const skopeoYaml = path.join(work, "skopeo-sync.yaml")
    // skopeo's YAML source: registry → { tls-verify, images: { repository: [tags] } } (JSON is YAML)
    fs.writeFileSync(
      skopeoYaml,
      JSON.stringify({ [source.host]: { "tls-verify": false, images: seeded.images } }, null, 1) + "\n"
    )
    const ctx = { settings, work, env, source, expected: seeded.expected, skopeoYaml }

    // the CLI's first sync writes its code cache: warm it (and the source's catalog) outside the measurements
    // (a dry run into another namespace of the source registry: its HEADs answer 404 at once)
    const warm = path.join(work, "warm.yaml")
    fs.writeFileSync(
      warm,
      [
        "registries:",
        `  "${source.host}": { tls: false }`,
        "sync:",
        `  - source: ${source.host}/${NAMESPACE}`,
        `    target: ${source.host}/warm`,
        "    type: registry",
        ""
      ].join("\n")
    )
    for (let i = 0; i < 2; i++) {
      spawnSync(process.execPath, [cli, "sync", "--dry-run", warm, "--state", path.join(work, "warm-state")], {
        env,
        stdio: "ignore"
      })
    }

    const clients = clientsOf(ctx)
    const samples = Object.fromEntries(clients.map((c) => [c.id, []]))
    const failures = Object.fromEntries(clients.map((c) => [c.id, []]))
    for (let round = 0; round < settings.runs; round++) {
      const line = []
      for (const client of rotate(clients, round)) {
        const result = yield* Effect.either(Effect.catchAllDefect(client.run(), (d) => Effect.fail(d)))
        if (result._tag === "Right") {
          samples[client.id].push(result.right)
          line.push(`${client.id} ${result.right.seconds.toFixed(1)} s`)
          console.log(`  ${client.id}: ${result.right.seconds.toFixed(1)} s, load ${os.loadavg()[0].toFixed(2)}`)
        } else {
          const message = result.left instanceof Error ? result.left.message : String(result.left)
          failures[client.id].push(message)
          line.push(`${client.id} FAILED`)
          console.log(`  ${client.id} FAILED:\n${message}`)
        }
      }
      console.log(`round ${round + 1}: ${line.join(", ")}`)
    }
    return {
      date: start.date,
      machine: machine(),
      node: process.version,
      skopeo: version(["skopeo", "--version"]),
      postgres: version([
        path.join(
          "/usr/lib/postgresql",
          fs.readdirSync("/usr/lib/postgresql").sort((a, b) => b - a)[0],
          "bin/postgres"
        ),
        "--version"
      ]),
      settings: { ...settings, resultsDir: undefined },
      sourceMiB: round1(seeded.sourceBytes / MiB),
      loadavg: { start: roundedLoadavg(start.loadavg), end: roundedLoadavg(os.loadavg()) },
      modes: clients.map((c) => summarize(c, samples[c.id], settings, failures[c.id]))
    }
  }))

main({
  name: "sync",
  readSettings,
  preflight: () => preflight([cli, path.join(here, "../dist/index.js")]),
  run: (settings) => Effect.runPromise(program(settings)),
  markdown,
  failed: (report) => report.modes.some((c) => c.failures.length > 0)
})

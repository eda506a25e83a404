// Transfer benchmark: ocidist next to skopeo on a loopback docker-registry, one job per operation:
//   pull     `ocidist pull -q REF OUT` vs `skopeo copy docker://REF oci:OUT:1` (SIZE_MIB image)
//   push     `ocidist push oci:LAYOUT:1 REG/x:1` vs `skopeo copy oci:LAYOUT:1 docker://REG/x:1`, each run into a
//            fresh, empty docker-registry (the layout is pulled once beforehand with skopeo)
//   copy     `ocidist copy SRC DST` vs `skopeo copy docker://SRC docker://DST`, fresh empty destination per run
//   big      the pull job with the BIG_MIB image (peak memory; BIG_RUNS rounds)
//   library  `node packages/ocidist/bench/pull-child.mjs REF OUT` (Ocidist.pull from dist) vs the skopeo pull
//   startup  `ocidist digest REF` vs `skopeo inspect --raw` and `node -e 0` (code cache warm; STARTUP_RUNS rounds)
//   floor    what a pull can be in Node on this machine: `node packages/ocidist/bench/floor-pull.mjs REF OUT [2]`
//            (plain Node, no framework, the same hashing, positional writes, write-behind and fsync; one thread,
//            and the blobs over two worker threads) vs the skopeo pull, to read the pull job's ratio against
// Rounds are interleaved: each round runs every client of a job once, in an order rotated every round. Each run
// is timed by this process (hrtime around spawnSync) under `/usr/bin/time -v` (peak RSS), must exit 0 and leave
// its result (a layout, or the tag in the destination registry), which is then removed. Images are Fixtures'
// 4 layers of incompressible gzip data, cached per size under os.tmpdir() (OCIDIST_FIXTURES_CACHE).
// Prints and writes bench/results/transfer.{json,md} (repo root; RESULTS_DIR overrides): per job and client the
// median and min–max wall time, MiB/s (layer bytes / median), peak RSS (max over runs) and the ratio
// ocidist/skopeo of the medians, with load average, CPU, sha_ni, Node and skopeo versions and the date.
// Needs a build (`pnpm build`: apps/cli/dist/ocidist.cjs, packages/*/dist), docker-registry, skopeo and
// /usr/bin/time (bash scripts/install-test-deps.sh), and about 8 GiB free under os.tmpdir() at the default sizes.
// Usage: node packages/ocidist/bench/transfer.mjs [KEY=VALUE ...]   (settings as arguments or environment:
//   SIZE_MIB=512 BIG_MIB=2048 RUNS=5 BIG_RUNS=3 STARTUP_RUNS=21 JOBS=pull,push,copy,big,library,startup,floor)
// NO_SHA_NI=1 runs ocidist with OpenSSL's SHA extensions off (OPENSSL_ia32cap), as on a CPU without them.
// Quick run: SIZE_MIB=64 BIG_MIB=128 RUNS=2 BIG_RUNS=1 JOBS=pull,copy node packages/ocidist/bench/transfer.mjs
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
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
const pullChild = path.join(here, "pull-child.mjs")
const floorPull = path.join(here, "floor-pull.mjs")
const ALL_JOBS = ["pull", "push", "copy", "big", "library", "startup", "floor"]

// ---- settings ------------------------------------------------------------------------------------------------

const readSettings = (argv, env) => {
  const { given, int, resultsDir } = readGiven(argv, env, "RUNS=5")
  const jobs = (given.JOBS ?? ALL_JOBS.join(",")).split(",").map((s) => s.trim()).filter((s) => s !== "")
  const unknown = jobs.filter((j) => !ALL_JOBS.includes(j))
  if (unknown.length > 0) throw new Error(`unknown JOBS ${unknown.join(",")}: choose from ${ALL_JOBS.join(",")}`)
  return {
    sizeMiB: int("SIZE_MIB", 512, 4),
    bigMiB: int("BIG_MIB", 2048, 4),
    runs: int("RUNS", 5, 1),
    bigRuns: int("BIG_RUNS", 3, 1),
    startupRuns: int("STARTUP_RUNS", 21, 1),
    // the machine without SHA extensions, for ocidist: OpenSSL (Node's hash) is told not to use them; skopeo
    // (Go's own SHA-256) is unaffected, so this compares ocidist on a slow-hash machine with skopeo on this one
    noShaNi: given.NO_SHA_NI === "1",
    jobs: ALL_JOBS.filter((j) => jobs.includes(j)),
    resultsDir
  }
}

// ---- measuring one run ---------------------------------------------------------------------------------------

const excerpt = (text, head = 12, tail = 6) => excerptOf(text, head, tail)

/**
 * Runs argv under `/usr/bin/time -v` (inside `timeout`, which kills the whole group when a run hangs): wall
 * time from this process's clock, peak RSS of the command. A non-zero exit throws with the command's stderr.
 */
const timed = (argv, env) => {
  const start = process.hrtime.bigint()
  const res = spawnSync("timeout", timedArgs(argv), { encoding: "utf8", env, maxBuffer: 64 * MiB })
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  if (res.error !== undefined) throw new Error(`cannot run ${argv.join(" ")}: ${res.error.message}`)
  if (res.status !== 0) {
    throw new Error(`${argv.join(" ")} ${failedWhy(res.status)}:\n${excerpt(ownStderr(res.stderr))}`)
  }
  const rssKiB = peakRssKiB(res.stderr)
  if (rssKiB === undefined) {
    throw new Error(`no peak RSS from /usr/bin/time for ${argv.join(" ")}:\n${excerpt(res.stderr)}`)
  }
  return { seconds, rssKiB, stdout: res.stdout }
}

const sizeOfTree = (dir) =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((n, e) => n + fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size, 0)

/** The run wrote an OCI layout holding at least the image's layer bytes. */
const checkLayout = (dir, bytes) => {
  if (!fs.existsSync(path.join(dir, "index.json"))) throw new Error(`${dir}: no index.json after the run`)
  const blobs = sizeOfTree(path.join(dir, "blobs"))
  if (blobs < bytes) throw new Error(`${dir}: ${blobs} bytes of blobs, expected at least ${bytes}`)
}

/** The run left `repo:tag` in the registry. */
const checkTag = (registry, repo, tag) =>
  Effect.flatMap(
    Tools.request(`${registry.url}/v2/${repo}/manifests/${tag}`, {
      method: "HEAD",
      headers: { accept: `${Fixtures.MediaType.ociManifest}, application/vnd.docker.distribution.manifest.v2+json` }
    }),
    (res) =>
      res.status === 200
        ? Effect.void
        : Effect.die(new Error(`${registry.host}/${repo}:${tag} is missing after the run (HTTP ${res.status})`))
  )

/** One run that writes an OCI layout to a fresh `out` dir, checked and removed afterwards. */
const layoutRun = (ctx, bytes, argvFor) =>
  Effect.sync(() => {
    const out = path.join(ctx.work, "out")
    fs.rmSync(out, { recursive: true, force: true })
    try {
      const sample = timed(argvFor(out), ctx.env)
      checkLayout(out, bytes)
      return sample
    } finally {
      fs.rmSync(out, { recursive: true, force: true })
    }
  })

/** One run that writes into a fresh, empty docker-registry (started before, stopped and removed after). */
const freshRegistryRun = (ctx, argvFor) =>
  Effect.scoped(Effect.gen(function*() {
    const registry = yield* DockerRegistry.start()
    const sample = timed(argvFor(registry.host), ctx.env)
    yield* checkTag(registry, "x", "1")
    return sample
  }))

// ---- jobs ----------------------------------------------------------------------------------------------------

const skopeoPull = (ref) => (out) => [
  "skopeo",
  "copy",
  "-q",
  "--src-tls-verify=false",
  "--dest-compress=false",
  `docker://${ref}`,
  `oci:${out}:1`
]

const pullJob = (ctx, id, title, image, runs) => ({
  id,
  title,
  bytes: image.bytes,
  runs,
  compare: [["ocidist", "skopeo"]],
  commands: {
    ocidist: "ocidist pull -q REF OUT",
    skopeo: "skopeo copy -q --src-tls-verify=false --dest-compress=false docker://REF oci:OUT:1"
  },
  clients: {
    ocidist: () => layoutRun(ctx, image.bytes, (out) => [process.execPath, cli, "pull", "-q", image.ref, out]),
    skopeo: () => layoutRun(ctx, image.bytes, skopeoPull(image.ref))
  }
})

const pushJob = (ctx, image, layout) => ({
  id: "push",
  title: `push ← OCI layout, ${image.sizeMiB} MiB, fresh registry per run`,
  bytes: image.bytes,
  runs: ctx.settings.runs,
  compare: [["ocidist", "skopeo"]],
  commands: {
    ocidist: "ocidist push -q oci:LAYOUT:1 REG/x:1",
    skopeo: "skopeo copy -q --dest-tls-verify=false oci:LAYOUT:1 docker://REG/x:1"
  },
  clients: {
    ocidist: () =>
      freshRegistryRun(ctx, (host) => [process.execPath, cli, "push", "-q", `oci:${layout}:1`, `${host}/x:1`]),
    skopeo: () =>
      freshRegistryRun(ctx, (host) => [
        "skopeo",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        `oci:${layout}:1`,
        `docker://${host}/x:1`
      ])
  }
})

const copyJob = (ctx, image) => ({
  id: "copy",
  title: `copy registry → registry, ${image.sizeMiB} MiB, fresh destination per run`,
  bytes: image.bytes,
  runs: ctx.settings.runs,
  compare: [["ocidist", "skopeo"]],
  commands: {
    ocidist: "ocidist copy -q SRC REG/x:1",
    skopeo: "skopeo copy -q --src-tls-verify=false --dest-tls-verify=false docker://SRC docker://REG/x:1"
  },
  clients: {
    ocidist: () => freshRegistryRun(ctx, (host) => [process.execPath, cli, "copy", "-q", image.ref, `${host}/x:1`]),
    skopeo: () =>
      freshRegistryRun(ctx, (host) => [
        "skopeo",
        "copy",
        "-q",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        `docker://${image.ref}`,
        `docker://${host}/x:1`
      ])
  }
})

/** The library pulls in a child process, which also reports the pull's own time (no Node start, no imports). */
const libraryJob = (ctx, image) => ({
  id: "library",
  title: `library pull (Ocidist.pull from dist) → OCI layout, ${image.sizeMiB} MiB`,
  bytes: image.bytes,
  runs: ctx.settings.runs,
  compare: [["library", "skopeo"]],
  commands: {
    library: "node packages/ocidist/bench/pull-child.mjs REF OUT",
    skopeo: "skopeo copy -q --src-tls-verify=false --dest-compress=false docker://REF oci:OUT:1"
  },
  clients: {
    library: () =>
      Effect.map(layoutRun(ctx, image.bytes, (out) => [process.execPath, pullChild, image.ref, out]), (sample) => {
        const own = JSON.parse(sample.stdout.trim().split("\n").at(-1))
        return { ...sample, ownSeconds: own.seconds, loadedRssKiB: own.loadedRssKiB }
      }),
    skopeo: () => layoutRun(ctx, image.bytes, skopeoPull(image.ref))
  }
})

/** The plain-Node floor of the pull job (see floor-pull.mjs), one thread and two worker threads, next to skopeo. */
const floorJob = (ctx, image) => ({
  id: "floor",
  title: `plain-Node pull → OCI layout, ${image.sizeMiB} MiB`,
  bytes: image.bytes,
  runs: ctx.settings.runs,
  compare: [["floor1", "skopeo"], ["floor2", "skopeo"]],
  rowTitles: {
    floor1: `floor: plain-Node pull → OCI layout, ${image.sizeMiB} MiB, one thread`,
    floor2: `floor: plain-Node pull → OCI layout, ${image.sizeMiB} MiB, two worker threads`
  },
  commands: {
    floor1: "node packages/ocidist/bench/floor-pull.mjs REF OUT",
    floor2: "node packages/ocidist/bench/floor-pull.mjs REF OUT 2",
    skopeo: "skopeo copy -q --src-tls-verify=false --dest-compress=false docker://REF oci:OUT:1"
  },
  clients: {
    floor1: () => layoutRun(ctx, image.bytes, (out) => [process.execPath, floorPull, image.ref, out]),
    floor2: () => layoutRun(ctx, image.bytes, (out) => [process.execPath, floorPull, image.ref, out, "2"]),
    skopeo: () => layoutRun(ctx, image.bytes, skopeoPull(image.ref))
  }
})

const startupJob = (ctx, small) => {
  const argv = {
    ocidist: [process.execPath, cli, "digest", small.ref],
    skopeo: ["skopeo", "inspect", "--raw", "--tls-verify=false", `docker://${small.ref}`],
    node: [process.execPath, "-e", "0"]
  }
  return {
    id: "startup",
    title: "start-up: `ocidist digest` of a small image",
    bytes: undefined,
    runs: ctx.settings.startupRuns,
    compare: [["ocidist", "skopeo"], ["ocidist", "node"]],
    commands: {
      ocidist: "ocidist digest REF",
      skopeo: "skopeo inspect --raw --tls-verify=false docker://REF",
      node: "node -e 0"
    },
    // the first registry command writes the CLI's code cache, the second reads it
    warmups: 2,
    clients: Object.fromEntries(
      Object.entries(argv).map(([name, a]) => [name, () => Effect.sync(() => timed(a, ctx.env))])
    )
  }
}

/** Interleaved rounds: every client once per round, the order rotated each round. */
const runJob = (job) =>
  Effect.gen(function*() {
    const names = Object.keys(job.clients)
    const loadavg = os.loadavg()
    console.log(`\n== ${job.title}: ${job.runs} round${job.runs === 1 ? "" : "s"} of ${names.join(", ")}`)
    for (let i = 0; i < (job.warmups ?? 0); i++) {
      for (const name of names) yield* job.clients[name]()
    }
    const samples = Object.fromEntries(names.map((name) => [name, []]))
    for (let round = 0; round < job.runs; round++) {
      const line = []
      for (const name of rotate(names, round)) {
        const sample = yield* job.clients[name]()
        samples[name].push(sample)
        line.push(`${name} ${formatSeconds(sample.seconds, job.bytes === undefined)}`)
      }
      console.log(`  round ${round + 1}: ${line.join(", ")}`)
    }
    return summarizeJob(job, samples, loadavg)
  })

// ---- statistics and output -----------------------------------------------------------------------------------

const summarizeClient = (samples, bytes) => {
  const seconds = samples.map((s) => s.seconds)
  const med = median(seconds)
  const own = samples.every((s) => s.ownSeconds !== undefined) ? median(samples.map((s) => s.ownSeconds)) : undefined
  const loaded = samples.every((s) => s.loadedRssKiB !== undefined)
    ? Math.round(Math.max(...samples.map((s) => s.loadedRssKiB)) / 1024)
    : undefined
  return {
    medianSeconds: round3(med),
    minSeconds: round3(Math.min(...seconds)),
    maxSeconds: round3(Math.max(...seconds)),
    MiBps: bytes === undefined ? undefined : Math.round(bytes / MiB / med),
    peakRssMiB: Math.round(Math.max(...samples.map((s) => s.rssKiB)) / 1024),
    seconds: seconds.map(round3),
    rssMiB: samples.map((s) => Math.round(s.rssKiB / 1024)),
    ...(own === undefined ? {} : { ownMedianSeconds: round3(own), ownMiBps: Math.round(bytes / MiB / own) }),
    // RSS after loading the modules, before the pull (library job)
    ...(loaded === undefined ? {} : { loadedRssMiB: loaded })
  }
}

const summarizeJob = (job, samples, loadavg) => {
  const clients = Object.fromEntries(
    Object.entries(samples).map((
      [name, xs]
    ) => [name, { command: job.commands[name], ...summarizeClient(xs, job.bytes) }])
  )
  return {
    id: job.id,
    title: job.title,
    layerBytes: job.bytes,
    runs: job.runs,
    loadavgAtStart: roundedLoadavg(loadavg),
    ...(job.rowTitles === undefined ? {} : { rowTitles: job.rowTitles }),
    clients,
    ratios: job.compare.map(([ours, theirs]) => ({
      ours,
      theirs,
      ratio: Number((clients[ours].medianSeconds / clients[theirs].medianSeconds).toFixed(2))
    }))
  }
}

const formatSeconds = (s, asMs) => asMs ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`

const cell = (c, asMs) =>
  asMs
    ? `${Math.round(c.medianSeconds * 1000)} ms (${Math.round(c.minSeconds * 1000)}–${Math.round(c.maxSeconds * 1000)})`
    : `${c.medianSeconds.toFixed(2)} s (${c.minSeconds.toFixed(2)}–${c.maxSeconds.toFixed(2)})`

const label = { ocidist: "ocidist", library: "library", skopeo: "skopeo", node: "`node -e 0`" }

const tableRows = (jobs) =>
  jobs.flatMap((job) =>
    job.ratios.map(({ ours, theirs, ratio }) => {
      const a = job.clients[ours]
      const b = job.clients[theirs]
      const asMs = job.layerBytes === undefined
      const name = job.rowTitles?.[ours] ??
        (job.ratios.length > 1 || theirs !== "skopeo" ? `${job.title} (vs ${label[theirs]})` : job.title)
      return [
        name,
        cell(a, asMs),
        `${cell(b, asMs)}${theirs === "skopeo" ? "" : ` ${label[theirs]}`}`,
        ratio.toFixed(2),
        asMs ? "–" : `${a.MiBps} / ${b.MiBps}`,
        `${a.peakRssMiB}${a.loadedRssMiB === undefined ? "" : ` (${a.loadedRssMiB} loaded)`} / ${b.peakRssMiB} MiB`
      ]
    })
  )

const markdown = (report) => {
  const m = report.machine
  const header = [
    "job",
    "ocidist median (min–max)",
    "skopeo median (min–max)",
    "ratio",
    "MiB/s",
    "peak RSS ocidist/skopeo"
  ]
  const lines = [header, header.map(() => "---"), ...tableRows(report.jobs)].map((r) => `| ${r.join(" | ")} |`)
  return [
    `## Transfer benchmark, ${report.date.slice(0, 16).replace("T", " ")} UTC: ${m.cpus} × ${m.cpu}${
      m.shaNi ? (report.settings?.noShaNi === true ? " (sha_ni, turned off for ocidist)" : " (sha_ni)") : ""
    }, Node ${report.node}, ${report.skopeo}`,
    "",
    ...lines,
    "",
    `Ratio: ocidist median / skopeo median (lower is better for ocidist). MiB/s: layer bytes / median, ocidist / skopeo. ` +
    (report.jobs.some((j) => j.id === "floor")
      ? `Floor rows: packages/ocidist/bench/floor-pull.mjs in the ocidist columns, the least a pull can do in Node ` +
        `(plain node:http, the same hashing, positional writes, write-behind and fsync; no retries, resumption or checks). `
      : "") +
    `Image: ${report.settings.sizeMiB} MiB (big: ${report.settings.bigMiB} MiB) of incompressible gzip layers on a loopback ` +
    `docker-registry; ${report.settings.runs} interleaved rounds (big: ${report.settings.bigRuns}, start-up: ` +
    `${report.settings.startupRuns}). Load average (1/5/15 min) at start ${report.loadavg.start.join(" ")}, at end ` +
    `${report.loadavg.end.join(" ")}. Written by packages/ocidist/bench/transfer.mjs.`,
    ""
  ].join("\n")
}

const machine = () => {
  const cpuinfo = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : ""
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cpus: os.cpus().length,
    shaNi: /\bsha_ni\b/.test(cpuinfo),
    memoryGiB: Math.round(os.totalmem() / 1024 / MiB)
  }
}

// ---- fixtures and main ---------------------------------------------------------------------------------------

/** Generates (or takes from the fixtures cache) a big image and pushes it to `registry` as `big<size>:1`. */
const seedBigImage = (registry, work, sizeMiB) =>
  Effect.gen(function*() {
    const image = yield* Fixtures.bigImage(path.join(work, `fixture-${sizeMiB}`), {
      totalBytes: sizeMiB * MiB,
      seed: `bench/${sizeMiB}`
    })
    yield* Fixtures.pushRaw(registry, `big${sizeMiB}`, image, { tags: ["1"] })
    const bytes = image.layers.reduce((n, l) => n + l.size, 0)
    return { sizeMiB, bytes, ref: `${registry.host}/big${sizeMiB}:1`, repo: `big${sizeMiB}` }
  })

const program = (settings) =>
  Effect.scoped(Effect.gen(function*() {
    const start = { date: new Date().toISOString(), loadavg: os.loadavg() }
    const registry = yield* DockerRegistry.start()
    const work = yield* Tools.tempDir("ocidist-bench-transfer-")
    yield* Tools.requireBinary("skopeo")
    const env = {
      ...process.env,
      HOME: work,
      XDG_CACHE_HOME: path.join(work, "cache"),
      NO_COLOR: "1",
      ...(settings.noShaNi ? { OPENSSL_ia32cap: ":~0x20000000" } : {})
    }
    const ctx = { settings, work, env }
    const wants = (...ids) => ids.some((id) => settings.jobs.includes(id))

    // the CLI's first transfer and registry commands write its code caches: warm them outside the measurements
    const smallImage = yield* Fixtures.smallImage(path.join(work, "small"))
    yield* Fixtures.pushRaw(registry, "small", smallImage, { tags: ["1"] })
    const small = { ref: `${registry.host}/small:1` }
    for (let i = 0; i < 2; i++) yield* layoutRun(ctx, 0, (out) => [process.execPath, cli, "pull", "-q", small.ref, out])

    const image = wants("pull", "push", "copy", "library", "floor")
      ? yield* seedBigImage(registry, work, settings.sizeMiB)
      : undefined
    // the push source: a layout pulled once by skopeo (the same blobs and manifest as in the registry)
    const layout = path.join(work, "layout")
    if (wants("push")) yield* Fixtures.pull(registry, `${image.repo}:1`, layout, "1", { all: false })
    const big = wants("big") ? yield* seedBigImage(registry, work, settings.bigMiB) : undefined

    const jobs = {
      pull: () => pullJob(ctx, "pull", `pull → OCI layout, ${image.sizeMiB} MiB`, image, settings.runs),
      push: () => pushJob(ctx, image, layout),
      copy: () => copyJob(ctx, image),
      big: () => pullJob(ctx, "big", `pull → OCI layout, ${big.sizeMiB} MiB (memory)`, big, settings.bigRuns),
      library: () => libraryJob(ctx, image),
      startup: () => startupJob(ctx, small),
      floor: () => floorJob(ctx, image)
    }
    const results = []
    for (const id of settings.jobs) results.push(yield* runJob(jobs[id]()))
    return {
      date: start.date,
      machine: machine(),
      node: process.version,
      skopeo: version(["skopeo", "--version"]),
      settings: { ...settings, resultsDir: undefined },
      loadavg: { start: roundedLoadavg(start.loadavg), end: roundedLoadavg(os.loadavg()) },
      jobs: results
    }
  }))

main({
  name: "transfer",
  readSettings,
  preflight: () => preflight([cli, path.join(here, "../dist/index.js")]),
  run: (settings) => Effect.runPromise(program(settings)),
  markdown
})

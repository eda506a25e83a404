// What the benchmarks share (packages/ocidist/bench/transfer.mjs, packages/sync/bench/sync.mjs): settings as
// KEY=VALUE arguments or environment, a command under `/usr/bin/time -v` inside `timeout`, medians, and the
// results written as NAME.{json,md} under RESULTS_DIR (bench/results of the repo root by default).
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
export const cli = path.join(repoRoot, "apps/cli/dist/ocidist.cjs")
export const MiB = 1024 * 1024
export const RUN_TIMEOUT_SECONDS = 900

// ---- settings ------------------------------------------------------------------------------------------------

/**
 * The settings given: the environment, overridden by `KEY=VALUE` arguments (`example` is named when an argument
 * is not one); `int(key, fallback, min)` reads an integer of at least `min`; `resultsDir` is RESULTS_DIR.
 */
export const readGiven = (argv, env, example) => {
  const given = { ...env }
  for (const arg of argv) {
    const m = /^([A-Z_]+)=(.*)$/.exec(arg)
    if (m === null) throw new Error(`unknown argument ${arg}: expected KEY=VALUE, e.g. ${example}`)
    given[m[1]] = m[2]
  }
  const int = (key, fallback, min) => {
    const value = Number(given[key] ?? fallback)
    if (!Number.isInteger(value) || value < min) throw new Error(`${key} must be an integer >= ${min}`)
    return value
  }
  return { given, int, resultsDir: path.resolve(repoRoot, given.RESULTS_DIR ?? "bench/results") }
}

/** The build and /usr/bin/time are there: `files` (the CLI bundle and the package's dist) exist. */
export const preflight = (files) => {
  for (const file of files) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`pnpm build\` first`)
  }
  if (!fs.existsSync("/usr/bin/time")) throw new Error("/usr/bin/time is missing: apt-get install -y time")
}

// ---- measuring one run ---------------------------------------------------------------------------------------

/** The first and last lines of a long text (a Node error's message comes first, its cause dump after). */
export const excerpt = (text, head, tail) => {
  const lines = text.trimEnd().split("\n")
  return lines.length <= head + tail + 1
    ? lines.join("\n")
    : [...lines.slice(0, head), `[… ${lines.length - head - tail} lines …]`, ...lines.slice(-tail)].join("\n")
}

/** The command's own stderr: what comes before the report of `/usr/bin/time -v`. */
export const ownStderr = (stderr) => stderr.split(/^\s*Command (?:being timed|exited with non-zero status)/m)[0]

/** The arguments of `timeout` that run argv under `/usr/bin/time -v` (`timeout` kills it when it hangs). */
export const timedArgs = (argv) => ["--kill-after=10", String(RUN_TIMEOUT_SECONDS), "/usr/bin/time", "-v", ...argv]

/** Why a timed command failed, from the exit status of `timeout`. */
export const failedWhy = (status) =>
  status === 124 ? `timed out after ${RUN_TIMEOUT_SECONDS} s` : `exited with ${status}`

/** Peak RSS in KiB from the report of `/usr/bin/time -v`, `undefined` when it has none. */
export const peakRssKiB = (stderr) => {
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)
  return rss === null ? undefined : Number(rss[1])
}

// ---- rounds, statistics and output ---------------------------------------------------------------------------

/** `xs` rotated left by `by` (the order of the clients in round `by`). */
export const rotate = (xs, by) => xs.map((_, i) => xs[(i + by) % xs.length])

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export const round3 = (x) => Math.round(x * 1000) / 1000

/** A load average (1/5/15 min), to two decimals. */
export const roundedLoadavg = (loadavg) => loadavg.map((x) => Number(x.toFixed(2)))

/** The first line of a tool's `argv` output (`skopeo --version`). */
export const version = (argv) => {
  const res = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" })
  return (res.stdout ?? "").trim().split("\n")[0]
}

/**
 * A benchmark's main: the settings, `preflight`, `run` (the report), then `<name>.{json,md}` written to the
 * settings' `resultsDir` and the markdown printed; exits 1 on an error, or when `failed(report)`.
 */
export const main = ({ name, readSettings, preflight, run, markdown, failed = () => false }) =>
  (async () => {
    const settings = readSettings(process.argv.slice(2), process.env)
    preflight()
    const report = await run(settings)
    fs.mkdirSync(settings.resultsDir, { recursive: true })
    fs.writeFileSync(path.join(settings.resultsDir, `${name}.json`), JSON.stringify(report, null, 2) + "\n")
    const md = markdown(report)
    fs.writeFileSync(path.join(settings.resultsDir, `${name}.md`), md)
    console.log(`\n${md}`)
    console.log(`written: ${path.join(settings.resultsDir, `${name}.{json,md}`)}`)
    if (failed(report)) process.exit(1)
  })().catch((error) => {
    console.error(error)
    process.exit(1)
  })

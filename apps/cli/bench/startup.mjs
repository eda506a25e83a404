// Start-up benchmark of the bundled CLI: wall time and minor page faults of short commands against a
// docker-registry on 127.0.0.1, next to `node -e 0` (Node's own start) and `skopeo inspect` (a Go client).
// Runs are interleaved (each round runs every command once), with a code cache of their own, warmed first.
// Needs a build (`pnpm build`) and docker-registry/skopeo (bash scripts/install-test-deps.sh).
// Usage: node apps/cli/bench/startup.mjs   (RUNS=21)
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const cli = path.join(here, "../dist/ocidist.cjs")
const runs = Number(process.env.RUNS ?? 21)

/** Wall time (parent clock, ms) and minor page faults (`/usr/bin/time -f %R`) of one run. */
const runOnce = (argv, env) => {
  const start = process.hrtime.bigint()
  const res = spawnSync("/usr/bin/time", ["-f", "%R", ...argv], { encoding: "utf8", env })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (res.status !== 0) throw new Error(`${argv.join(" ")} failed (${res.status}): ${res.stderr}`)
  return { ms, faults: Number(res.stderr.trim().split("\n").at(-1)) }
}

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]

const program = Effect.scoped(Effect.gen(function*() {
  const registry = yield* DockerRegistry.start()
  const work = yield* Tools.tempDir("ocidist-bench-startup-")
  const image = yield* Fixtures.smallImage(path.join(work, "small"))
  yield* Fixtures.pushRaw(registry, "small", image, { tags: ["1"] })
  const ref = `${registry.host}/small:1`
  const env = { ...process.env, XDG_CACHE_HOME: path.join(work, "cache"), HOME: work, NO_COLOR: "1" }
  const commands = [
    ["node -e 0", [process.execPath, "-e", "0"]],
    ["ocidist version", [process.execPath, cli, "version"]],
    ["ocidist ref alpine", [process.execPath, cli, "ref", "alpine"]],
    ["ocidist digest", [process.execPath, cli, "digest", ref]],
    ["ocidist tags", [process.execPath, cli, "tags", `${registry.host}/small`]],
    ["skopeo inspect --raw", ["skopeo", "inspect", "--raw", "--tls-verify=false", `docker://${ref}`]]
  ]
  // The first registry command writes the code cache; a second warm-up run reads it.
  for (const [, argv] of commands) {
    runOnce(argv, env)
    runOnce(argv, env)
  }
  const samples = commands.map(() => [])
  for (let i = 0; i < runs; i++) commands.forEach(([, argv], j) => samples[j].push(runOnce(argv, env)))
  const rows = commands.map(([name], j) => ({
    command: name,
    medianMs: Number(quantile(samples[j].map((s) => s.ms), 0.5).toFixed(1)),
    p10Ms: Number(quantile(samples[j].map((s) => s.ms), 0.1).toFixed(1)),
    minorFaults: quantile(samples[j].map((s) => s.faults), 0.5)
  }))
  console.table(rows)
  console.log(JSON.stringify({ runs, rows }))
}))

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})

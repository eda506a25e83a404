// Benchmarks (speed is measured here, never asserted in tests), one entry for all of them:
//   1. vitest bench: reference parsing and digest hashing throughput;
//   2. `pnpm build` (the bundled CLI and every package's dist, which step 3 runs);
//   3. packages/ocidist/bench/transfer.mjs: ocidist next to skopeo on loopback docker-registries — pull, push,
//      registry-to-registry copy (512 MiB), a 2 GiB pull (peak memory), the library's pull and the CLI's
//      start-up — interleaved rounds, median and min–max wall time, MiB/s, peak RSS and the ratio
//      ocidist/skopeo; writes bench/results/transfer.{json,md}.
// Needs docker-registry, skopeo and /usr/bin/time (bash scripts/install-test-deps.sh). Arguments and environment
// go to step 3 (KEY=VALUE settings: SIZE_MIB, BIG_MIB, RUNS, BIG_RUNS, STARTUP_RUNS, JOBS, RESULTS_DIR), e.g.
// `pnpm bench RUNS=3 JOBS=pull,copy`. The per-command start-up profile stays in apps/cli/bench/startup.mjs.
import { spawnSync } from "node:child_process"

const root = new URL("..", import.meta.url).pathname
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1" }
const run = (command, args) => {
  console.log(`\n$ ${[command, ...args].join(" ")}`)
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env })
  if (result.status !== 0) process.exit(result.status ?? 1)
}
run("pnpm", ["exec", "vitest", "bench", "--run"])
run("pnpm", ["build"])
run("node", ["packages/ocidist/bench/transfer.mjs", ...process.argv.slice(2)])

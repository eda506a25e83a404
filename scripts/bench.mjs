// Benchmarks (speed is measured here, never asserted in tests), one entry for all of them:
//   1. vitest bench: reference parsing and digest hashing throughput;
//   2. `pnpm build` (the bundled CLI and every package's dist, which step 3 runs);
//   3. packages/ocidist/bench/transfer.mjs: ocidist next to skopeo on loopback docker-registries — pull, push,
//      registry-to-registry copy (512 MiB), a 2 GiB pull (peak memory), the library's pull and the CLI's
//      start-up — interleaved rounds, median and min–max wall time, MiB/s, peak RSS and the ratio
//      ocidist/skopeo; writes bench/results/transfer.{json,md};
//   4. packages/sync/bench/sync.mjs: `ocidist sync` of 200 repositories × 3 tags of small images, embedded and on
//      1/2/3 `ocidist sync worker`s over PostgreSQL, next to `skopeo sync` — repositories/s; writes
//      bench/results/sync.{json,md}. Alone: `node packages/sync/bench/sync.mjs RUNS=1` (its own KEY=VALUE
//      settings: REPOS, TAGS, RUNS, WORKERS, CONCURRENCY, MODES, BASE_KIB, REPO_KIB, TAG_KIB, RESULTS_DIR).
// Needs docker-registry, skopeo, postgresql and /usr/bin/time (bash scripts/install-test-deps.sh). Arguments and
// environment go to step 3 (KEY=VALUE settings: SIZE_MIB, BIG_MIB, RUNS, BIG_RUNS, STARTUP_RUNS, JOBS, RESULTS_DIR),
// e.g. `pnpm bench RUNS=3 JOBS=pull,copy`; step 4 takes RUNS and RESULTS_DIR from them too, and its own settings
// from SYNC_BENCH (e.g. SYNC_BENCH="REPOS=50 WORKERS=1,3"). The per-command start-up profile stays in apps/cli/bench/startup.mjs.
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
const shared = process.argv.slice(2).filter((arg) => /^(RUNS|RESULTS_DIR)=/.test(arg))
const own = (process.env.SYNC_BENCH ?? "").split(/\s+/).filter((arg) => arg !== "")
run("node", ["packages/sync/bench/sync.mjs", ...shared, ...own])

// Benchmarks (speed is measured here, never asserted in tests):
//   1. vitest bench: reference parsing and digest hashing throughput;
//   2. start-up of the bundled CLI (version, ref, digest, tags against a loopback docker-registry) next to
//      `node -e 0` and `skopeo inspect`: wall time and page faults (apps/cli/bench/startup.mjs);
//   3. pull of a 256 MiB and a 512 MiB image from a docker-registry on 127.0.0.1 by the bundled CLI, the
//      library and skopeo: wall time, MiB/s and peak RSS (packages/ocidist/bench/pull-memory.mjs).
// Needs docker-registry and skopeo (bash scripts/install-test-deps.sh). Extra arguments go to step 3
// (sizes in MiB), e.g. `pnpm bench 512`.
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
run("node", ["apps/cli/bench/startup.mjs"])
run("node", ["packages/ocidist/bench/pull-memory.mjs", ...process.argv.slice(2)])

// Runs every check and every test, then prints "N passed, N failed".
// Steps: required binaries, one copy of effect, lint, type-check, build (dist + .d.ts for every package),
// the vitest suites of every package (integration tests start real registries on 127.0.0.1).
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"

const root = new URL("..", import.meta.url).pathname
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", FORCE_COLOR: process.env.FORCE_COLOR ?? "0" }
const failures = []

const step = (name, command, args) => {
  console.log(`\n=== ${name}: ${command} ${args.join(" ")}`)
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit" })
  if (result.status !== 0) failures.push(name)
  return result.status === 0
}

for (const binary of ["docker-registry", "skopeo", "umoci"]) {
  const found = spawnSync("sh", ["-c", `command -v ${binary}`]).status === 0
  if (!found) {
    console.error(`missing ${binary}: run bash scripts/install-test-deps.sh (apt-get install -y ${binary})`)
    failures.push(`binary ${binary}`)
  }
}
step("single effect copy", "node", ["scripts/check-single-effect.mjs"])
step("lint", "pnpm", ["lint"])
step("type-check", "pnpm", ["check"])
step("build", "pnpm", ["build"])

const report = `${root}.vitest.json`
rmSync(report, { force: true })
step("tests", "pnpm", ["exec", "vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`])

let passed = 0
let failed = 0
if (existsSync(report)) {
  const json = JSON.parse(readFileSync(report, "utf8"))
  passed = json.numPassedTests
  failed = json.numFailedTests + json.numPendingTests + json.numTodoTests
  if (json.numTotalTests === 0) failures.push("no tests ran")
} else {
  failures.push("no test report")
}
// Non-test steps count as failed checks so they show up in the final line.
const stepFailures = failures.filter((f) => f !== "tests").length
if (stepFailures > 0) console.error(`\nfailed steps: ${failures.join(", ")}`)
console.log(`\n${passed} passed, ${failed + stepFailures} failed`)
process.exit(failures.length === 0 && failed === 0 ? 0 : 1)

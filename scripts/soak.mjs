// The fault soak, larger than in the test suite: packages/registry/test/Soak.test.ts runs ocidist push, pull
// and copy of a multi-layer image through seeded fault-injecting proxies (FaultProxy of @ocidist/testing)
// against docker-registry and the embedded registry, SOAK_RUNS times each, and this prints what happened.
//
//   pnpm soak                                   # 10 runs of a 128 MiB image, a fresh seed
//   SOAK_RUNS=3 SOAK_MIB=32 SOAK_SEED=abc pnpm soak  # smaller; a seed printed by an earlier run replays its faults
//
// Exit status: the test's (non-zero when an operation ended corrupt, hung, died, left temporary files or an
// upload session open, made too many requests, or recovered without a retry in its Debug log).
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const root = new URL("..", import.meta.url).pathname
const runs = process.env.SOAK_RUNS ?? "10"
const mib = process.env.SOAK_MIB ?? "128"
const seed = process.env.SOAK_SEED ?? `soak-${Date.now().toString(36)}`
const dir = mkdtempSync(join(tmpdir(), "ocidist-soak-report-"))
const report = join(dir, "soak.jsonl")

console.log(`fault soak: ${runs} runs of push, pull and copy of a ${mib} MiB image per registry, seed ${seed}`)
const started = Date.now()
const result = spawnSync("pnpm", ["exec", "vitest", "run", "test/Soak.test.ts"], {
  cwd: join(root, "packages/registry"),
  stdio: "inherit",
  env: { ...process.env, SOAK_RUNS: runs, SOAK_MIB: mib, SOAK_SEED: seed, SOAK_REPORT: report }
})
const wall = Math.round((Date.now() - started) / 1000)

const summaries = existsSync(report)
  ? readFileSync(report, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
  : []
rmSync(dir, { recursive: true, force: true })
if (summaries.length === 0) {
  console.error("\nno soak figures were written (see the test output above)")
  process.exit(result.status ?? 1)
}

const kinds = Object.keys(summaries[0].faults)
const sum = (f) => summaries.reduce((n, s) => n + f(s), 0)
const rows = [
  ["", ...summaries.map((s) => s.target), "total"],
  ["operations (push, pull, copy × runs)", ...summaries.map((s) => s.operations), sum((s) => s.operations)],
  ["ok: byte-identical, digest-verified", ...summaries.map((s) => s.ok), sum((s) => s.ok)],
  ["failures (typed errors)", ...summaries.map((s) => s.failed), sum((s) => s.failed)],
  ["corrupt outputs (must be 0)", ...summaries.map((s) => s.corrupt), sum((s) => s.corrupt)],
  ["hangs (must be 0)", ...summaries.map((s) => s.hangs), sum((s) => s.hangs)],
  ["defects (must be 0)", ...summaries.map((s) => s.defects), sum((s) => s.defects)],
  ["faults injected", ...summaries.map((s) => sumFaults(s)), sum(sumFaults)],
  ...kinds.map((k) => [`  ${k}`, ...summaries.map((s) => s.faults[k]), sum((s) => s.faults[k])]),
  ["requests", ...summaries.map((s) => s.requests), sum((s) => s.requests)],
  ["retries (Debug log lines)", ...summaries.map((s) => s.retries), sum((s) => s.retries)],
  ["upload sessions orphaned by a fault", ...summaries.map((s) => s.orphanedSessions), sum((s) => s.orphanedSessions)],
  [
    "upload sessions the registry refused to cancel",
    ...summaries.map((s) => s.unclosableSessions),
    sum((s) => s.unclosableSessions)
  ],
  ["other problems", ...summaries.map((s) => s.problems.length), sum((s) => s.problems.length)],
  ["seconds in operations", ...summaries.map((s) => s.seconds), Math.round(sum((s) => s.seconds))]
]
function sumFaults(s) {
  return Object.values(s.faults).reduce((n, k) => n + k, 0)
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
console.log(`\nFault soak, seed ${seed}, ${runs} runs, ${mib} MiB image, ${wall} s wall time:\n`)
for (const row of rows) {
  console.log(
    row.map((cell, i) => i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i])).join("  ")
  )
}
for (const s of summaries) {
  if (s.failures.length > 0) console.log(`\n${s.target} failures:\n  ${s.failures.join("\n  ")}`)
  if (s.problems.length > 0) console.log(`\n${s.target} problems:\n  ${s.problems.join("\n  ")}`)
}
console.log(`\nreplay: SOAK_RUNS=${runs} SOAK_MIB=${mib} SOAK_SEED=${seed} pnpm soak`)
process.exit(result.status ?? 1)

// Pull benchmark: throughput and peak RSS of `Ocidist.pull` of a big image from a local docker-registry,
// next to `skopeo copy` doing the same pull. Needs a build first:
//   pnpm --filter ocidist... build   (or: npx tsc -b packages/ocidist/tsconfig.src.json packages/testing/tsconfig.src.json)
// Usage: node packages/ocidist/bench/pull-memory.mjs [sizeMiB ...]   (default: 256 512; RUNS=3;
// CLIENTS=cli,ocidist,skopeo: the bundled CLI, the library from dist, skopeo)
// Peak RSS comes from /usr/bin/time -v (whole process: node, undici, buffers).
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
// the bundled `ocidist` CLI (apps/cli, built by `pnpm build`): what users run
const cliBinary = path.join(here, "../../../apps/cli/dist/ocidist.cjs")
const sizes = process.argv.slice(2).map(Number)
const runs = Number(process.env.RUNS ?? 3)
const MiB = 1024 * 1024

/** Runs a command under `/usr/bin/time -v`: wall time (parent clock) and peak RSS of the process. */
const runTimed = (command, args) => {
  const start = process.hrtime.bigint()
  const res = spawnSync("/usr/bin/time", ["-v", command, ...args], { encoding: "utf8", maxBuffer: 64 * MiB })
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  if (res.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${res.stderr}`)
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(res.stderr)
  return { stdout: res.stdout, seconds, maxRssKiB: rss === null ? NaN : Number(rss[1]) }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

const program = Effect.scoped(Effect.gen(function*() {
  const registry = yield* DockerRegistry.start()
  const work = yield* Tools.tempDir("ocidist-bench-")
  const rows = []
  for (const size of sizes.length > 0 ? sizes : [256, 512]) {
    const image = yield* Fixtures.bigImage(path.join(work, `fixture-${size}`), {
      totalBytes: size * MiB,
      seed: `bench/${size}`
    })
    yield* Fixtures.pushRaw(registry, `big${size}`, image, { tags: ["1"] })
    const layerBytes = image.layers.reduce((n, l) => n + l.size, 0)
    const ref = `${registry.host}/big${size}:1`
    for (const client of (process.env.CLIENTS ?? "cli,ocidist,skopeo").split(",")) {
      const samples = []
      for (let i = 0; i < runs; i++) {
        const out = path.join(work, `out-${client}-${size}-${i}`)
        const r = client === "cli"
          ? runTimed(process.execPath, [cliBinary, "pull", "-q", ref, out])
          : client === "ocidist"
          ? runTimed(process.execPath, [
            path.join(here, "pull-child.mjs"),
            ref,
            out,
            ...(process.env.CONCURRENCY === undefined ? [] : [process.env.CONCURRENCY])
          ])
          : runTimed("skopeo", [
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--dest-compress=false",
            `docker://${ref}`,
            `oci:${out}:1`
          ])
        // the child reports the time of the pull itself (without Node start-up and module loading)
        const own = client === "ocidist" ? JSON.parse(r.stdout.trim().split("\n").at(-1)).seconds : r.seconds
        samples.push({ seconds: r.seconds, pullSeconds: own, maxRssKiB: r.maxRssKiB })
        fs.rmSync(out, { recursive: true, force: true })
      }
      const seconds = median(samples.map((s) => s.seconds))
      rows.push({
        client,
        sizeMiB: size,
        layerBytes,
        medianSeconds: Number(seconds.toFixed(2)),
        MiBps: Math.round(layerBytes / MiB / seconds),
        pullOnlyMiBps: Math.round(layerBytes / MiB / median(samples.map((s) => s.pullSeconds))),
        peakRssMiB: Math.round(Math.max(...samples.map((s) => s.maxRssKiB)) / 1024),
        runs: samples.map((s) => Number(s.seconds.toFixed(2)))
      })
    }
  }
  return rows
}))

const rows = await Effect.runPromise(program)
console.table(rows)
console.log(
  JSON.stringify(
    { machine: `${os.cpus().length} vCPU ${os.cpus()[0]?.model ?? ""}`, node: process.version, rows },
    null,
    2
  )
)

// Child process of transfer.mjs (its library job): pulls one image with the built package (dist, so
// `pnpm build` first) and prints timings as JSON: digest, bytes, seconds of the pull itself, maxRssKiB (peak
// of the process), loadedRssKiB (after the imports, before the pull: what loading Node, effect, undici and
// ocidist costs on its own). Imports single modules, as an application would, not the packages' barrels.
// Usage: node pull-child.mjs <reference> <layout-dir> [concurrency]
import * as Effect from "effect/Effect"
import * as NodeOcidist from "../dist/NodeOcidist.js"
import * as Ocidist from "../dist/Ocidist.js"

const [reference, out, concurrency] = process.argv.slice(2)
const loadedRssKiB = Math.round(process.memoryUsage().rss / 1024)
const start = process.hrtime.bigint()
const result = await Effect.runPromise(
  Ocidist.pull(reference, out, concurrency === undefined ? {} : { concurrency: Number(concurrency) }).pipe(
    Effect.provide(NodeOcidist.layer())
  )
)
const seconds = Number(process.hrtime.bigint() - start) / 1e9
process.stdout.write(
  JSON.stringify({
    digest: result.digest,
    bytes: result.stats.bytes,
    seconds,
    loadedRssKiB,
    maxRssKiB: process.resourceUsage().maxRSS
  }) + "\n"
)

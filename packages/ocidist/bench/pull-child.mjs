// Child process of transfer.mjs (its library job): pulls one image with the built package (dist, so
// `pnpm build` first) and prints timings as JSON: digest, bytes, seconds of the pull itself, maxRssKiB.
// Usage: node pull-child.mjs <reference> <layout-dir> [concurrency]
import { Effect } from "effect"
import { Ocidist } from "../dist/index.js"
import * as NodeOcidist from "../dist/NodeOcidist.js"

const [reference, out, concurrency] = process.argv.slice(2)
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
    maxRssKiB: process.resourceUsage().maxRSS
  }) + "\n"
)

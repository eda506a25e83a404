// Blob upload/download throughput and peak RSS against a local docker-registry (anonymous, loopback).
// Build first: npx tsc -b packages/distribution/tsconfig.src.json packages/testing/tsconfig.src.json
// Run: node --expose-gc packages/distribution/bench/blob-throughput.mjs [MiB...]
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import { RegistryClient } from "@ocidist/distribution"
import { Digest, Reference } from "@ocidist/reference"
import * as NodeHash from "@ocidist/reference/NodeHash"
import { DockerRegistry } from "@ocidist/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { createCipheriv } from "node:crypto"
import { performance } from "node:perf_hooks"

const CHUNK = 1024 * 1024
const generated = (size) =>
  Stream.suspend(() => {
    const cipher = createCipheriv("aes-128-ctr", Buffer.alloc(16, 7), Buffer.alloc(16))
    const zeros = Buffer.alloc(CHUNK)
    const count = Math.ceil(size / CHUNK)
    return Stream.map(Stream.range(0, count - 1), (i) =>
      new Uint8Array(cipher.update(i === count - 1 ? zeros.subarray(0, size - i * CHUNK) : zeros)))
  })

let peak = 0
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
const mib = (n) => (n / 1024 / 1024).toFixed(1)
const retained = () => {
  globalThis.gc?.()
  const m = process.memoryUsage()
  return `heap ${mib(m.heapUsed)} MiB, external+arrayBuffers ${mib(m.external + m.arrayBuffers)} MiB`
}

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0)
const program = Effect.gen(function*() {
  const registry = yield* DockerRegistry.start({ mode: "anon" })
  const client = yield* Layer.build(
    RegistryClient.layerWithoutDependencies().pipe(
      Layer.provide(Authenticator.layerWithoutDependencies()),
      Layer.provide(Layer.merge(NodeHttpClient.layerUndici, Credentials.layer({ sources: [] })))
    )
  ).pipe(Effect.map(Context.get(RegistryClient.RegistryClient)))
  const repo = Either.getOrThrow(Reference.parse(`${registry.host}/bench/blob`))
  for (const size of sizes.length === 0 ? [64, 512] : sizes) {
    const bytes = size * 1024 * 1024
    const source = generated(bytes)
    const { digest } = yield* Digest.fromStream(source)
    const baseline = process.memoryUsage().rss
    peak = baseline
    for (const strategy of ["monolithic", "chunked", "stream"]) {
      const t0 = performance.now()
      yield* client.blobs.upload(
        Reference.withoutDigest(Reference.make({ registry: repo.registry, repository: `bench/${strategy}${size}` })),
        {
          stream: source,
          ...(strategy === "monolithic" ? { digest, size: bytes } : {})
        },
        { strategy, chunkSize: 8 * 1024 * 1024 }
      )
      const s = (performance.now() - t0) / 1000
      console.log(`upload   ${size} MiB ${strategy.padEnd(10)} ${(size / s).toFixed(0)} MiB/s (${s.toFixed(2)} s)`)
    }
    const t1 = performance.now()
    const blob = client.blobs.stream(
      Reference.make({ registry: repo.registry, repository: `bench/monolithic${size}` }),
      digest,
      { size: bytes }
    )
    const total = yield* Stream.runFold(blob, 0, (n, c) => n + c.length)
    const s = (performance.now() - t1) / 1000
    console.log(`download ${size} MiB verified   ${(size / s).toFixed(0)} MiB/s (${s.toFixed(2)} s), ${total} bytes`)
    console.log(`rss: baseline ${mib(baseline)} MiB, peak ${mib(peak)} MiB; after gc: ${retained()}`)
  }
}).pipe(Effect.scoped)

Effect.runPromise(program.pipe(Effect.provide(NodeHash.layer))).then(
  () => clearInterval(sampler),
  (e) => {
    clearInterval(sampler)
    console.error(e)
    process.exitCode = 1
  }
)

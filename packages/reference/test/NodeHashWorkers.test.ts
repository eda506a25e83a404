import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { createHash, randomBytes } from "node:crypto"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as Hash from "../src/Hash.js"
import * as Workers from "../src/internal/NodeHashWorkers.js"
import * as NodeHash from "../src/NodeHash.js"

const expected = (algorithm: string, parts: ReadonlyArray<Uint8Array>) => {
  const hash = createHash(algorithm)
  for (const part of parts) hash.update(part)
  return `${algorithm}:${hash.digest("hex")}`
}

/** `bytes` cut into uneven pieces (1 byte up to several times the ring), so the ring wraps at odd offsets. */
const pieces = (bytes: Uint8Array, seed: number) => {
  const out: Array<Uint8Array> = []
  let at = 0
  let x = seed
  while (at < bytes.length) {
    x = (x * 1103515245 + 12345) % 2147483648
    const size = [1, 7, 4096, 65536, 65537, 300_000][x % 6]!
    out.push(bytes.subarray(at, at + size))
    at += size
  }
  return out
}

describe("NodeHash workers", () => {
  it.scoped("hash like node:crypto: every algorithm, rings that wrap, more hashers than slots", () =>
    Effect.gen(function*() {
      // small rings and few slots: updates wait on full rings, and extra hashers hash in this thread
      const service = yield* NodeHash.makeWorkers({ threads: 2, slots: 2, ringBytes: 64 * 1024 })
      const data = randomBytes(3 * 1024 * 1024 + 11)
      for (const algorithm of ["sha256", "sha384", "sha512"] as const) {
        const hashers = Array.from(
          { length: 6 },
          (_, i) => ({ hasher: service.make(algorithm), parts: pieces(data, i) })
        )
        // interleaved updates of all hashers, as concurrent downloads do
        const longest = Math.max(...hashers.map((h) => h.parts.length))
        for (let k = 0; k < longest; k++) {
          for (const { hasher, parts } of hashers) if (k < parts.length) hasher.update(parts[k]!)
        }
        for (const { hasher, parts } of hashers) {
          assert.strictEqual(hasher.digest(), expected(algorithm, parts))
          assert.strictEqual(hasher.bytes(), data.length)
        }
      }
      // empty content, and a digest asked twice
      const empty = service.make("sha256")
      assert.strictEqual(empty.digest(), expected("sha256", []))
      assert.strictEqual(empty.digest(), expected("sha256", []))
    }))

  it.live("small content is hashed in this thread; a hasher dropped before its digest gives its slot back", () =>
    Effect.gen(function*() {
      const pool = Workers.make({ threads: 1, slots: 2, ringBytes: 64 * 1024 })
      yield* Effect.addFinalizer(() => Effect.promise(pool.close))
      // small content stays in this thread: no thread is started for it
      const small = randomBytes(1000)
      const manifest = pool.service.make("sha256")
      manifest.update(small)
      assert.strictEqual(manifest.digest(), expected("sha256", [small]))
      assert.strictEqual(pool.threads(), 0)
      v8.setFlagsFromString("--expose-gc")
      const gc = vm.runInNewContext("gc") as () => void
      ;(() => {
        const dropped = pool.service.make("sha256")
        dropped.update(randomBytes(300_000))
      })()
      assert.strictEqual(pool.threads(), 1)
      assert.strictEqual(pool.free(), 1)
      for (let i = 0; i < 50 && pool.free() < 2; i++) {
        gc()
        yield* Effect.sleep("20 millis")
      }
      assert.strictEqual(pool.free(), 2)
      const data = randomBytes(400_000)
      const hasher = pool.service.make("sha256")
      hasher.update(data)
      assert.strictEqual(hasher.digest(), expected("sha256", [data]))
      assert.strictEqual(pool.free(), 2)
    }).pipe(Effect.scoped))

  it.effect("layerAuto picks an implementation that hashes like node:crypto", () =>
    Effect.gen(function*() {
      const data = randomBytes(1024 * 1024)
      const digest = yield* Effect.map(Hash.hasher("sha256"), (hasher) => {
        hasher.update(data)
        return hasher.digest()
      })
      assert.strictEqual(digest, expected("sha256", [data]))
      assert.isAbove(NodeHash.measureMiBps(), 0)
    }).pipe(Effect.provide(NodeHash.layerAuto({ onlyBelowMiBps: Number.POSITIVE_INFINITY }))))

  it("auto starts no thread where the calling thread hashes fast enough", () => {
    const pool = Workers.make({ onlyBelowMiBps: 1 })
    const data = randomBytes(1024 * 1024)
    const hasher = pool.service.make("sha256")
    hasher.update(data)
    assert.strictEqual(hasher.digest(), expected("sha256", [data]))
    assert.strictEqual(pool.threads(), 0)
    return pool.close()
  })
})

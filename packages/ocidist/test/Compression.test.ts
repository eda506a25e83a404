// The layer compression module: magic bytes and media types, gzip (node:zlib) and zstd (Node's zlib or the
// `zstd` program; Node 20 here: the program) streaming round trips, typed errors for corrupt input and a
// missing zstd, recompression into a spool file with the diffID checked, and a 64 MiB layer that streams
// with memory that does not grow with its size.
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as TarCodec from "@ocidist/layout/Tar"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as MediaType from "@ocidist/spec/MediaType"
import { Tar, Tools } from "@ocidist/testing"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as zlib from "node:zlib"
import * as Compression from "../src/internal/compression.js"
import * as NodeCompression from "../src/NodeCompression.js"
import { tarOf, text } from "./layers.js"

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

const chunks = (bytes: Uint8Array, size = 16 * 1024): Stream.Stream<Uint8Array> =>
  Stream.fromIterable(
    Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.slice(i * size, (i + 1) * size))
  )

const collect = <E>(stream: Stream.Stream<Uint8Array, E>): Effect.Effect<Uint8Array, E> =>
  Effect.map(Stream.runCollect(stream), (c) => new Uint8Array(Buffer.concat(Chunk.toReadonlyArray(c))))

const node = (options: NodeCompression.Options = {}) => Layer.merge(NodeCompression.layer(options), NodeHash.layer)

const codecs = Compression.CodecsRef

describe("compression", () => {
  it("detects gzip and zstd by magic bytes, and by layer media type", () => {
    assert.strictEqual(Compression.sniff(zlib.gzipSync(Buffer.from("x"))), "gzip")
    assert.strictEqual(Compression.sniff(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x04])), "zstd")
    assert.strictEqual(Compression.sniff(tarOf("a", text(10))), "none")
    assert.strictEqual(Compression.sniff(new Uint8Array([0x28, 0xb5])), "none")
    assert.strictEqual(Compression.sniff(new Uint8Array()), "none")
    assert.strictEqual(Compression.ofMediaType(MediaType.OCI_LAYER_GZIP), "gzip")
    assert.strictEqual(Compression.ofMediaType(MediaType.DOCKER_LAYER_GZIP), "gzip")
    assert.strictEqual(Compression.ofMediaType(MediaType.OCI_LAYER_ZSTD), "zstd")
    assert.strictEqual(Compression.ofMediaType(MediaType.OCI_LAYER), "none")
    assert.strictEqual(Compression.ofMediaType(Compression.DOCKER_LAYER_TAR), "none")
    assert.strictEqual(Compression.ofMediaType(MediaType.OCI_CONFIG), undefined)
    assert.strictEqual(Compression.ofMediaType(MediaType.DOCKER_FOREIGN_LAYER_GZIP), undefined)
    assert.strictEqual(Compression.layerMediaType("zstd", true), undefined)
    assert.strictEqual(Compression.layerMediaType("gzip", true), MediaType.DOCKER_LAYER_GZIP)
    assert.strictEqual(Compression.layerMediaType("zstd", false), MediaType.OCI_LAYER_ZSTD)
  })

  it.effect("gzip and zstd round trips, in streams, read by zlib and by the zstd program", () =>
    Effect.gen(function*() {
      const c = yield* codecs
      const tar = tarOf("etc/motd", text(300_000))
      for (const algorithm of ["gzip", "zstd"] as const) {
        const packed = yield* collect(c.compress(algorithm, Compression.LEVELS[algorithm].default, "t")(chunks(tar)))
        assert.strictEqual(Compression.sniff(packed), algorithm)
        assert.isBelow(packed.length, tar.length / 5, algorithm)
        const unpacked = yield* collect(c.decompress(algorithm, "t")(chunks(packed, 1000)))
        assert.strictEqual(sha256(unpacked), sha256(tar), algorithm)
        // read by an implementation that is not ours
        const other = algorithm === "gzip"
          ? zlib.gunzipSync(packed)
          : spawnSync("zstd", ["-d", "-c"], { input: packed, maxBuffer: 1 << 26 }).stdout
        assert.strictEqual(sha256(other), sha256(tar), `${algorithm} by another reader`)
      }
      // the level is used
      const fast = yield* collect(c.compress("zstd", 1, "t")(chunks(tar)))
      const small = yield* collect(c.compress("zstd", 19, "t")(chunks(tar)))
      assert.isBelow(small.length, fast.length)
      assert.strictEqual(yield* c.check("gzip"), "node:zlib")
      assert.match(yield* c.check("zstd"), NodeCompression.nodeHasZstd ? /node:zlib/ : /zstd program/)
    }).pipe(Effect.provide(node())))

  it.effect("corrupt input fails with CompressionFailed, for gzip and for the zstd program", () =>
    Effect.gen(function*() {
      const c = yield* codecs
      const gz = zlib.gzipSync(Buffer.from(text(50_000)))
      const broken = new Uint8Array(gz)
      broken.fill(0x55, 20, 200)
      const g = yield* Effect.either(collect(c.decompress("gzip", "layer sha256:g")(chunks(broken))))
      assert.isTrue(Either.isLeft(g))
      if (Either.isLeft(g)) {
        assert.strictEqual(g.left._tag, "CompressionFailed")
        assert.include(g.left.message, "layer sha256:g")
      }
      const z = yield* Effect.either(
        collect(c.decompress("zstd", "layer sha256:z")(Stream.make(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]))))
      )
      assert.isTrue(Either.isLeft(z))
      if (Either.isLeft(z)) {
        assert.strictEqual(z.left._tag, "CompressionFailed")
        assert.include(z.left.message, "decompressing (zstd) layer sha256:z failed")
      }
    }).pipe(Effect.provide(node())))

  it.effect("zstd without Node's zstd nor the program: CompressionUnavailable saying what it needs", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(
        Effect.flatMap(codecs, (c) => c.check("zstd")).pipe(
          Effect.provide(node({ zstd: "program", zstdProgram: "/nonexistent/zstd" }))
        )
      )
      assert.strictEqual(missing._tag, "CompressionUnavailable")
      assert.include(missing.message, "Node.js ≥ 22.15")
      assert.include(missing.message, "/nonexistent/zstd program on PATH")
      // planned before anything is written: the recompression itself fails the same way
      const recompressing = yield* Effect.flip(
        Effect.scoped(
          Compression.recompress(chunks(tarOf("a", text(1000))), { to: "zstd", subject: "layer x" })
        ).pipe(Effect.provide(node({ zstd: "none" })))
      )
      assert.strictEqual(recompressing._tag, "CompressionUnavailable")
      // a program without codecs in context
      const none = yield* Effect.flip(Effect.scoped(
        Compression.recompress(chunks(tarOf("a", text(1000))), { to: "gzip", subject: "layer x" })
      ))
      assert.strictEqual(none._tag, "CompressionUnavailable")
      assert.include(none.message, "NodeCompression.layer")
    }))

  it.live(
    "stopping a decompression mid-stream (take, failure, interruption) ends it and releases its source",
    () =>
      Effect.gen(function*() {
        const c = yield* codecs
        // 8 MiB of 6-bit noise, compressed to about 6 MiB: hundreds of chunks in and out
        const plain = new Uint8Array(8 * 1024 * 1024)
        let x = 12345
        for (let j = 0; j < plain.length; j++) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0
          plain[j] = 48 + (x >>> 26)
        }
        const packed = {
          gzip: new Uint8Array(zlib.gzipSync(plain, { level: 1 })),
          zstd: yield* collect(c.compress("zstd", 1, "t")(chunks(plain, 1024 * 1024)))
        }
        const guard = <A, E>(what: string, effect: Effect.Effect<A, E>) =>
          Effect.timeoutFail(effect, { duration: "20 seconds", onTimeout: () => new Error(`${what}: still running`) })
        for (const algorithm of ["gzip", "zstd"] as const) {
          /** The compressed bytes, produced asynchronously, and whether the source's finalizer has run. */
          const source = () => {
            const state = { released: false, pulled: 0 }
            const stream = Stream.ensuring(
              Stream.mapEffect(
                chunks(packed[algorithm]),
                (b) => Effect.as(Effect.sleep("1 millis"), b).pipe(Effect.tap(() => Effect.sync(() => state.pulled++)))
              ),
              Effect.sync(() => {
                state.released = true
              })
            )
            return { state, stream }
          }
          // a few chunks taken: the stream ends, with its source released, before the source is read through
          const taken = source()
          const got = yield* guard(
            "take",
            Stream.runCollect(Stream.take(c.decompress(algorithm, "t")(taken.stream), 3))
          )
          assert.strictEqual(Chunk.size(got), 3, algorithm)
          assert.isTrue(taken.state.released, `${algorithm}: the source is released when the stream ends`)
          assert.isBelow(taken.state.pulled, packed[algorithm].length / (16 * 1024), algorithm)
          // the consumer fails
          const failing = source()
          let seen = 0
          const failed = yield* guard(
            "failure",
            Effect.flip(Stream.runDrain(Stream.mapEffect(
              c.decompress(algorithm, "t")(failing.stream),
              (b) => ++seen > 2 ? Effect.fail("stop" as const) : Effect.succeed(b)
            )))
          )
          assert.strictEqual(failed, "stop")
          assert.isTrue(failing.state.released, `${algorithm}: released after a failure`)
          // interrupted while running
          const running = source()
          let read = 0
          const fiber = yield* Effect.fork(Stream.runForEach(
            c.decompress(algorithm, "t")(running.stream),
            () => Effect.sync(() => read++)
          ))
          yield* guard("waiting for output", Effect.repeat(Effect.sleep("5 millis"), { until: () => read >= 5 }))
          const exit = yield* guard("interruption", Fiber.interrupt(fiber))
          assert.isTrue(Exit.isInterrupted(exit), algorithm)
          assert.isTrue(running.state.released, `${algorithm}: released after an interruption`)
        }
      }).pipe(Effect.provide(node())),
    60_000
  )

  it.scopedLive(
    "a peeked file stream, decompressed and stopped early by a malformed tar, ends (peek's own pull)",
    () =>
      Effect.gen(function*() {
        // a PAX record of 2 MiB (over the tar reader's bound) compresses to ~2 KiB: the tar fails while the file
        // stream under `peek` has not ended. With `Stream.peel` under `peek`, closing the scope hung here.
        const body = ` comment=${"a".repeat(2 * 1024 * 1024)}\n`
        const pax = new TextEncoder().encode(`${body.length + 7}${body}`)
        const dir = yield* Tools.tempDir("ocidist-peek-")
        const file = `${dir}/layer.tar.gz`
        fs.writeFileSync(file, zlib.gzipSync(Tar.archive([Tar.entry({ name: "PaxHeaders/x", type: "x", data: pax })])))
        const c = yield* codecs
        const fsService = yield* FileSystem.FileSystem
        const result = yield* Effect.scoped(Effect.gen(function*() {
          const [head, whole] = yield* Compression.peek(Stream.orDie(fsService.stream(file, { chunkSize: 65536 })), 4)
          assert.strictEqual(Compression.sniff(head), "gzip")
          return yield* Stream.runDrain(TarCodec.events((detail) => detail)(c.decompress("gzip", "t")(whole)))
        })).pipe(
          Effect.flip,
          Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => "still running" })
        )
        assert.match(typeof result === "string" ? result : result.message, /extended header of \d+ bytes/)
      }).pipe(Effect.provide(node()), Effect.provide(NodeFileSystem.layer)),
    30_000
  )

  it.scoped("recompress: gzip → zstd into a spool file, new digest and size, diffID checked, spool removed", () =>
    Effect.flatMap(Tools.tempDir("ocidist-spool-"), (spool) =>
      recompressing(spool).pipe(
        Effect.provide(node({ spoolDirectory: spool }))
      )))

  it.scoped("a 64 MiB layer streams through recompression with memory that does not grow with its size", () =>
    Effect.gen(function*() {
      const MiB = 1024 * 1024
      // what is retained, not garbage not yet collected: measured right after a full collection
      v8.setFlagsFromString("--expose-gc")
      const gc = vm.runInNewContext("gc") as () => void
      const retained = () => {
        gc()
        const m = process.memoryUsage()
        return m.heapUsed + m.arrayBuffers
      }
      /** Peak retained memory above the level before, sampled every 4 MiB the source produces. */
      const peakGrowth = (size: number) =>
        Effect.gen(function*() {
          const before = retained()
          let peak = before
          /** `size` bytes of low-entropy text made on the fly, 64 KiB at a time (never held whole). */
          const generated = Stream.map(Stream.range(0, size / (64 * 1024) - 1, 1), (i) => {
            if (i % 64 === 63) peak = Math.max(peak, retained())
            const b = new Uint8Array(64 * 1024)
            for (let j = 0; j < b.length; j++) b[j] = 97 + ((i * 7 + j * 13 + (j >> 9)) % 23)
            return b
          })
          const spooled = yield* Effect.scoped(Effect.map(
            Compression.recompress(generated, { to: "gzip", level: 1, subject: `layer of ${size} bytes` }),
            (s) => ({ size: s.size, diffId: s.diffId })
          ))
          assert.isAbove(spooled.size, 0)
          return peak - before
        })
      const small = yield* peakGrowth(8 * MiB)
      const large = yield* peakGrowth(64 * MiB)
      // buffered, the large one would need 64 MiB more than the small one; streamed, about the same
      assert.isBelow(large, small + 16 * MiB, `8 MiB: +${small >> 20} MiB, 64 MiB: +${large >> 20} MiB`)
      assert.isBelow(large, 24 * MiB, `64 MiB layer: +${large >> 20} MiB retained`)
    }).pipe(Effect.provide(node())))
})

const recompressing = (spool: string) =>
  Effect.gen(function*() {
    const tar = tarOf("app/data.txt", text(200_000))
    const diffId = sha256(tar) as Compression.Spooled["diffId"]
    const gz = zlib.gzipSync(tar)
    const spooled = yield* Effect.scoped(Effect.gen(function*() {
      const s = yield* Compression.recompress(chunks(gz), { to: "zstd", level: 5, diffId, subject: "layer g" })
      assert.deepStrictEqual(fs.readdirSync(spool).length, 1)
      const bytes = yield* collect(s.read(0))
      assert.strictEqual(sha256(bytes), s.digest)
      assert.strictEqual(bytes.length, s.size)
      assert.strictEqual(Compression.sniff(bytes), "zstd")
      const rest = yield* collect(s.read(100))
      assert.strictEqual(sha256(rest), sha256(bytes.subarray(100)))
      const plain = spawnSync("zstd", ["-d", "-c"], { input: bytes, maxBuffer: 1 << 26 }).stdout
      assert.strictEqual(sha256(plain), diffId)
      return s
    }))
    assert.strictEqual(spooled.from, "gzip")
    assert.strictEqual(spooled.diffId, diffId)
    assert.deepStrictEqual(fs.readdirSync(spool), [], "the spool is removed with the scope")

    // to uncompressed, and from an uncompressed tar to gzip
    const none = yield* Effect.scoped(Effect.map(
      Compression.recompress(chunks(gz), { to: "none", diffId, subject: "layer g" }),
      (s) => s.digest
    ))
    assert.strictEqual(none, diffId)
    const packed = yield* Effect.scoped(Effect.flatMap(
      Compression.recompress(chunks(tar), { to: "gzip", diffId, subject: "layer t" }),
      (s) => collect(s.read(0))
    ))
    assert.strictEqual(sha256(zlib.gunzipSync(packed)), diffId)

    // a diffID that does not match: DigestMismatch naming the config's diff_ids
    const wrong = sha256(new Uint8Array([1])) as Compression.Spooled["diffId"]
    const mismatch = yield* Effect.flip(Effect.scoped(
      Compression.recompress(chunks(gz), { to: "zstd", diffId: wrong, subject: "layer g" })
    ))
    assert.strictEqual(mismatch._tag, "DigestMismatch")
    assert.include(mismatch.message, "rootfs.diff_ids")
    assert.deepStrictEqual(fs.readdirSync(spool), [], "removed after a failure too")
  })

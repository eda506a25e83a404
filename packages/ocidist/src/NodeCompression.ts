/**
 * The layer compression codecs for Node.js, which a copy needs to recompress layers (`compress` of
 * `Copy.Options`, and the conversions a destination requires). `NodeOcidist.layer` includes them; provide
 * {@link layer} yourself when you run `Copy.copy` over stores of your own.
 *
 * The streams themselves are `@ocidist/layout/NodeCodecs` (which reads compressed archives with them too).
 *
 * - gzip: `node:zlib` (levels 1–9, default 6).
 * - zstd: Node's own `zlib` zstd when the runtime has it (`zlib.createZstdCompress`, Node.js ≥ 22.15), else
 *   the `zstd` program on `PATH` as a streaming child process (stdin → stdout; Debian/Ubuntu package
 *   `zstd`), else unavailable: a copy that needs zstd fails with `CompressionUnavailable` before it writes.
 *   Levels 1–19, default 3. The npm zstd bindings were not used: the native ones download prebuilt binaries
 *   when installed, the WebAssembly ones take whole buffers rather than streams.
 *
 * Every codec streams with backpressure: a layer never sits in memory. Recompressed layers are spooled to
 * a temporary file (their digest is known only at the end), under `spoolDirectory` or the system's
 * temporary directory, and removed after the push.
 *
 * @since 0.5.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeCodecs from "@ocidist/layout/NodeCodecs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { Duplex } from "node:stream"
import { pipeline } from "node:stream"
import * as internal from "./internal/compression.js"
import { CompressionFailed, CompressionUnavailable } from "./OcidistError.js"

/**
 * @since 0.5.0
 * @category models
 */
export interface Options {
  /** Where recompressed layers are spooled (created on demand). Default: the system's temporary directory. */
  readonly spoolDirectory?: string | undefined
  /**
   * The zstd implementation: `"auto"` (default: Node's zlib when it has zstd, else the `zstd` program),
   * `"node"`, `"program"` or `"none"` (zstd unavailable).
   */
  readonly zstd?: "auto" | "node" | "program" | "none" | undefined
  /** The zstd program to run (default `zstd`, looked up on `PATH`). */
  readonly zstdProgram?: string | undefined
}

/**
 * Whether this runtime's `node:zlib` has zstd streams (Node.js ≥ 22.15).
 *
 * @since 0.5.0
 * @category predicates
 */
export const nodeHasZstd: boolean = NodeCodecs.nodeHasZstd

/**
 * A byte stream through a Node duplex (a zlib stream, a child process), with backpressure both ways: the
 * source is a Readable that produces when the duplex asks (`NodeStream.toReadable`), piped into the duplex,
 * whose output is read as it is pulled. (`NodeStream.pipeThroughDuplex` was not used: it reads its source
 * ahead without bound, which held a whole layer in memory.) A failure of the source fails the stream with
 * the source's own error; one of the duplex with `CompressionFailed`.
 *
 * The source Readable pulls its stream in a fiber of its own, outside the scope of this stream. When the
 * consumer stops early (it takes a few chunks, fails, or is interrupted), that fiber must be stopped before
 * the scope closes: left to `pipeline`, it was interrupted later, asynchronously, and could go on pulling an
 * upstream whose own scope (a peeked stream, a fetched blob) had closed meanwhile, or hold it past the end
 * of the stream. So the scope's finalizer destroys the duplex and the source and waits for the source to
 * close, which it does once its fiber has been interrupted and the upstream's finalizers have run.
 */
const through = (
  make: () => Duplex,
  operation: "compress" | "decompress",
  algorithm: internal.Algorithm,
  subject: string
) =>
<E>(stream: Stream.Stream<Uint8Array, E>): Stream.Stream<Uint8Array, E | CompressionFailed> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    let upstream: { readonly error: E } | undefined
    const source = yield* NodeStream.toReadable(Stream.tapError(stream, (error) =>
      Effect.sync(() => {
        upstream = { error }
      })))
    const duplex = make()
    pipeline(source, duplex, () => {
      // failures surface on the duplex's readable side, read below
    })
    // (not an acquireRelease: the source's fiber runs with the runtime flags of where it is made, and one made
    // in an uninterruptible acquire could never be interrupted)
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        duplex.destroy()
        if (source.closed) return resume(Effect.void)
        source.once("close", () => resume(Effect.void))
        source.destroy()
      })
    )
    return NodeStream.fromReadable<E | CompressionFailed, Uint8Array>(
      () => duplex,
      (e) =>
        upstream !== undefined ? upstream.error : new CompressionFailed({
          operation,
          algorithm,
          subject,
          detail: e instanceof Error ? e.message : String(e)
        })
    )
  }))

/** The codecs as a service over a file system (for spool files). */
const make = (fs: FileSystem.FileSystem, options: Options): internal.Codecs => {
  const program = options.zstdProgram ?? "zstd"
  const mode = options.zstd ?? "auto"
  let probe: Promise<boolean> | undefined
  const zstdBackend: Effect.Effect<"node" | "program", CompressionUnavailable> = Effect.suspend(() => {
    if ((mode === "auto" || mode === "node") && nodeHasZstd) return Effect.succeed("node" as const)
    if (mode === "node") {
      return Effect.fail(
        new CompressionUnavailable({
          algorithm: "zstd",
          detail: `this Node.js (${process.version}) has no zstd in node:zlib (Node.js ≥ 22.15 has)`
        })
      )
    }
    if (mode === "none") {
      return Effect.fail(new CompressionUnavailable({ algorithm: "zstd", detail: "zstd is turned off" }))
    }
    return Effect.flatMap(Effect.promise(() => probe ??= NodeCodecs.programRuns(program)), (ok) =>
      ok
        ? Effect.succeed("program" as const)
        : Effect.fail(
          new CompressionUnavailable({
            algorithm: "zstd",
            detail: `zstd needs Node.js ≥ 22.15 (this is ${process.version}) or the ${program} program on PATH ` +
              `(Debian/Ubuntu: apt-get install zstd)`
          })
        ))
  })
  const check = (algorithm: internal.Algorithm): Effect.Effect<string, CompressionUnavailable> =>
    algorithm === "gzip"
      ? Effect.succeed("node:zlib")
      : Effect.map(zstdBackend, (b) => b === "node" ? "node:zlib" : `the ${program} program`)
  const zstdStreams = (compress: boolean, level: number) =>
    Effect.map(zstdBackend, (b): () => Duplex => {
      const via = b === "node" ? undefined : program
      return compress ? () => NodeCodecs.zstdCompress(level, via) : () => NodeCodecs.zstdDecompress(via)
    })
  const toFailure = (operation: "compress" | "decompress", subject: string) => (e: CompressionUnavailable) =>
    new CompressionFailed({ operation, algorithm: e.algorithm, subject, detail: e.detail })
  return {
    check,
    compress: (algorithm, level, subject) => (stream) =>
      algorithm === "gzip"
        ? through(() => NodeCodecs.gzipCompress(level), "compress", algorithm, subject)(stream)
        : Stream.unwrap(Effect.map(
          Effect.mapError(zstdStreams(true, level), toFailure("compress", subject)),
          (duplex) => through(duplex, "compress", algorithm, subject)(stream)
        )),
    decompress: (algorithm, subject) => (stream) =>
      algorithm === "gzip"
        ? through(() => NodeCodecs.gzipDecompress(), "decompress", algorithm, subject)(stream)
        : Stream.unwrap(Effect.map(
          Effect.mapError(zstdStreams(false, 0), toFailure("decompress", subject)),
          (duplex) => through(duplex, "decompress", algorithm, subject)(stream)
        )),
    fs,
    spoolDirectory: options.spoolDirectory
  }
}

/**
 * The Node.js codecs (see the module documentation), with the Node file system for spool files.
 *
 * @since 0.5.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<never> =>
  Layer.effect(internal.CodecsRef, Effect.map(FileSystem.FileSystem, (fs) => make(fs, options))).pipe(
    Layer.provide(NodeFileSystem.layer)
  )

/**
 * Which implementation handles an algorithm here (`"node:zlib"`, `"the zstd program"`), or
 * `CompressionUnavailable`.
 *
 * @since 0.5.0
 * @category getters
 */
export const backend = (
  algorithm: "gzip" | "zstd",
  options: Options = {}
): Effect.Effect<string, CompressionUnavailable> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => make(fs, options).check(algorithm)).pipe(
    Effect.provide(NodeFileSystem.layer)
  )

/**
 * The layer compression codecs for Node.js, which a copy needs to recompress layers (`compress` of
 * `Copy.Options`, and the conversions a destination requires). `NodeOcidist.layer` includes them; provide
 * {@link layer} yourself when you run `Copy.copy` over stores of your own.
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
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import { Duplex, PassThrough, pipeline } from "node:stream"
import * as zlib from "node:zlib"
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

/** Node ≥ 22.15's zstd streams, typed here (the @types/node of Node 20 has no declarations for them). */
interface ZlibZstd {
  readonly createZstdCompress?: (options?: { readonly params?: Record<number, number> }) => Duplex
  readonly createZstdDecompress?: () => Duplex
  readonly constants: { readonly ZSTD_c_compressionLevel?: number }
}
const zlibZstd = zlib as unknown as ZlibZstd

/**
 * Whether this runtime's `node:zlib` has zstd streams (Node.js ≥ 22.15).
 *
 * @since 0.5.0
 * @category predicates
 */
export const nodeHasZstd: boolean = typeof zlibZstd.createZstdCompress === "function" &&
  typeof zlibZstd.createZstdDecompress === "function"

/** Whether a program runs (`<program> --version` exits 0). */
const runs = (program: string): Promise<boolean> =>
  new Promise((resolve) => {
    try {
      const child = spawn(program, ["--version"], { stdio: "ignore" })
      child.once("error", () => resolve(false))
      child.once("close", (code) => resolve(code === 0))
    } catch {
      resolve(false)
    }
  })

/**
 * A child process as a duplex stream: its stdin the writable side, its stdout the readable side, which ends
 * only when the process exits 0 and fails with its stderr otherwise. Destroying it kills the process.
 */
const processDuplex = (program: string, args: ReadonlyArray<string>): Duplex => {
  const child = spawn(program, args, { stdio: ["pipe", "pipe", "pipe"] })
  const out = new PassThrough()
  let stderr = ""
  child.stderr.setEncoding("utf8")
  child.stderr.on("data", (text: string) => {
    if (stderr.length < 4096) stderr += text
  })
  child.stdout.pipe(out, { end: false })
  child.once("error", (e) => out.destroy(e))
  child.once("close", (code, signal) => {
    if (code === 0) out.end()
    else {
      const how = code !== null ? `exited with status ${code}` : `was killed (${signal})`
      const said = stderr.trim().split("\n").filter((l) => l !== "").slice(-3).join("; ")
      out.destroy(new Error(`${program} ${how}${said === "" ? "" : `: ${said}`}`))
    }
  })
  const duplex = Duplex.from({ readable: out, writable: child.stdin })
  duplex.once("close", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill()
  })
  return duplex
}

/**
 * A byte stream through a Node duplex (a zlib stream, a child process), with backpressure both ways: the
 * source is a Readable that produces when the duplex asks (`NodeStream.toReadable`), piped into the duplex,
 * whose output is read as it is pulled. (`NodeStream.pipeThroughDuplex` was not used: it reads its source
 * ahead without bound, which held a whole layer in memory.) A failure of the source fails the stream with
 * the source's own error; one of the duplex with `CompressionFailed`.
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
    return Effect.flatMap(Effect.promise(() => probe ??= runs(program)), (ok) =>
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
    Effect.map(zstdBackend, (b): () => Duplex =>
      b === "node"
        ? compress
          ? () =>
            zlibZstd.createZstdCompress!({
              params: { [zlibZstd.constants.ZSTD_c_compressionLevel ?? 100]: level }
            })
          : () => zlibZstd.createZstdDecompress!()
        : compress
        ? () => processDuplex(program, ["-c", "-q", `-${level}`])
        : () => processDuplex(program, ["-d", "-c", "-q"]))
  const toFailure = (operation: "compress" | "decompress", subject: string) => (e: CompressionUnavailable) =>
    new CompressionFailed({ operation, algorithm: e.algorithm, subject, detail: e.detail })
  return {
    check,
    compress: (algorithm, level, subject) => (stream) =>
      algorithm === "gzip"
        ? through(() => zlib.createGzip({ level }), "compress", algorithm, subject)(stream)
        : Stream.unwrap(Effect.map(
          Effect.mapError(zstdStreams(true, level), toFailure("compress", subject)),
          (duplex) => through(duplex, "compress", algorithm, subject)(stream)
        )),
    decompress: (algorithm, subject) => (stream) =>
      algorithm === "gzip"
        ? through(() => zlib.createGunzip(), "decompress", algorithm, subject)(stream)
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

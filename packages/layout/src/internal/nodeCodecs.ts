/**
 * gzip and zstd as Node.js streams: the implementation behind `NodeCodecs` (public) and the readers of compressed
 * archives (`compressed.ts`).
 *
 * @internal
 */
import { spawn } from "node:child_process"
import { Duplex, PassThrough } from "node:stream"
import * as zlib from "node:zlib"

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

/**
 * Whether a program runs (`<program> --version` exits 0): `zstd` on `PATH`, or another one.
 *
 * @since 0.5.0
 * @category predicates
 */
export const programRuns = (program: string): Promise<boolean> =>
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
 * only when the process exits 0 and fails with (the end of) its stderr otherwise. Destroying it kills the
 * process.
 *
 * @since 0.5.0
 * @category constructors
 */
export const processDuplex = (program: string, args: ReadonlyArray<string>): Duplex => {
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
 * A gzip compressor (`level` 1–9).
 *
 * @since 0.5.0
 * @category constructors
 */
export const gzipCompress = (level: number): Duplex => zlib.createGzip({ level })

/**
 * A gzip decompressor (`chunkSize`: the size of the buffers it produces, default zlib's 16 KiB).
 *
 * @since 0.5.0
 * @category constructors
 */
export const gzipDecompress = (options: { readonly chunkSize?: number | undefined } = {}): Duplex =>
  zlib.createGunzip(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize })

/**
 * A zstd compressor (`level` 1–19): Node's zlib without `program` (it must have zstd: {@link nodeHasZstd}),
 * else that program (`zstd -c -q -<level>`).
 *
 * @since 0.5.0
 * @category constructors
 */
export const zstdCompress = (level: number, program?: string | undefined): Duplex =>
  program === undefined
    ? zlibZstd.createZstdCompress!({ params: { [zlibZstd.constants.ZSTD_c_compressionLevel ?? 100]: level } })
    : processDuplex(program, ["-c", "-q", `-${level}`])

/**
 * A zstd decompressor: Node's zlib without `program` (it must have zstd: {@link nodeHasZstd}), else that
 * program (`zstd -d -c -q`).
 *
 * @since 0.5.0
 * @category constructors
 */
export const zstdDecompress = (program?: string | undefined): Duplex =>
  program === undefined ? zlibZstd.createZstdDecompress!() : processDuplex(program, ["-d", "-c", "-q"])

/**
 * gzip and zstd as Node.js streams, the one implementation behind reading compressed archives (this package's
 * `OciArchive.open`, `DockerArchive.open`) and `ocidist`'s layer codecs (`NodeCompression`):
 *
 * - gzip: `node:zlib`.
 * - zstd: Node's own zlib where it has zstd (`zlib.createZstdCompress`, Node.js ≥ 22.15), else the `zstd`
 *   program (Debian/Ubuntu package `zstd`) as a streaming child process: stdin → stdout, its stdout ending
 *   only when it exits 0 and failing with its stderr otherwise; destroying the stream kills it.
 *
 * Plain Node streams, without Effect: the callers pipe them and map their errors to their own.
 *
 * @since 0.5.0
 */
import type { Duplex } from "node:stream"
import * as internal from "./internal/nodeCodecs.js"

/**
 * Whether this runtime's `node:zlib` has zstd streams (Node.js ≥ 22.15).
 *
 * @since 0.5.0
 * @category predicates
 */
export const nodeHasZstd: boolean = internal.nodeHasZstd

/**
 * Whether a program runs (`<program> --version` exits 0): `zstd` on `PATH`, or another one.
 *
 * @since 0.5.0
 * @category predicates
 */
export const programRuns: (program: string) => Promise<boolean> = internal.programRuns

/**
 * A child process as a duplex stream: its stdin the writable side, its stdout the readable side, which ends
 * only when the process exits 0 and fails with (the end of) its stderr otherwise. Destroying it kills the
 * process.
 *
 * @since 0.5.0
 * @category constructors
 */
export const processDuplex: (program: string, args: ReadonlyArray<string>) => Duplex = internal.processDuplex

/**
 * A gzip compressor (`level` 1–9).
 *
 * @since 0.5.0
 * @category constructors
 */
export const gzipCompress: (level: number) => Duplex = internal.gzipCompress

/**
 * A gzip decompressor (`chunkSize`: the size of the buffers it produces, default zlib's 16 KiB).
 *
 * @since 0.5.0
 * @category constructors
 */
export const gzipDecompress: (options?: { readonly chunkSize?: number | undefined }) => Duplex = internal.gzipDecompress

/**
 * A zstd compressor (`level` 1–19): Node's zlib without `program` (it must have zstd: {@link nodeHasZstd}),
 * else that program (`zstd -c -q -<level>`).
 *
 * @since 0.5.0
 * @category constructors
 */
export const zstdCompress: (level: number, program?: string | undefined) => Duplex = internal.zstdCompress

/**
 * A zstd decompressor: Node's zlib without `program` (it must have zstd: {@link nodeHasZstd}), else that
 * program (`zstd -d -c -q`).
 *
 * @since 0.5.0
 * @category constructors
 */
export const zstdDecompress: (program?: string | undefined) => Duplex = internal.zstdDecompress

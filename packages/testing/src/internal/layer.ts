import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"

/** Bump when the layer byte format changes: it is part of every cache key. */
const FORMAT_VERSION = "ocidist-layer-v1"

export interface GeneratedLayer {
  /** sha256 of the gzip file */
  readonly digest: string
  readonly size: number
  /** sha256 of the uncompressed tar */
  readonly diffId: string
  readonly path: string
  readonly fileName: string
}

export const cacheRoot = (): string =>
  process.env.OCIDIST_FIXTURES_CACHE ?? path.join(os.tmpdir(), "ocidist-fixtures-cache")

const CHUNK = 1024 * 1024
const BLOCK = 65535

const octal = (value: number, width: number): string => value.toString(8).padStart(width - 1, "0") + "\0"

const tarHeader = (name: string, size: number): Buffer => {
  const h = Buffer.alloc(512, 0)
  h.write(name, 0, 100, "utf8")
  h.write(octal(0o644, 8), 100, 8, "ascii")
  h.write(octal(0, 8), 108, 8, "ascii")
  h.write(octal(0, 8), 116, 8, "ascii")
  h.write(octal(size, 12), 124, 12, "ascii")
  h.write(octal(0, 12), 136, 12, "ascii")
  h.write("        ", 148, 8, "ascii")
  h.write("0", 156, 1, "ascii")
  h.write("ustar\0", 257, 6, "ascii")
  h.write("00", 263, 2, "ascii")
  h.write(octal(0, 8), 329, 8, "ascii")
  h.write(octal(0, 8), 337, 8, "ascii")
  let sum = 0
  for (const byte of h) sum += byte
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii")
  return h
}

/**
 * gzip with stored (uncompressed) deflate blocks: byte-for-byte identical on every zlib and CPU, and the
 * content is incompressible anyway.
 */
class StoredGzip {
  private readonly block = Buffer.alloc(BLOCK)
  private fill = 0
  private crc = 0
  private isize = 0
  private out: Array<Buffer> = []
  private outBytes = 0
  constructor() {
    this.emit(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]))
  }
  private emit(buf: Buffer) {
    this.out.push(buf)
    this.outBytes += buf.length
  }
  private emitBlock(final: boolean) {
    const header = Buffer.alloc(5)
    header[0] = final ? 1 : 0
    header.writeUInt16LE(this.fill, 1)
    header.writeUInt16LE(~this.fill & 0xffff, 3)
    this.emit(header)
    this.emit(Buffer.from(this.block.subarray(0, this.fill)))
    this.fill = 0
  }
  write(data: Buffer) {
    this.crc = zlib.crc32(data, this.crc)
    this.isize = (this.isize + data.length) >>> 0
    let offset = 0
    while (offset < data.length) {
      const n = Math.min(BLOCK - this.fill, data.length - offset)
      data.copy(this.block, this.fill, offset, offset + n)
      this.fill += n
      offset += n
      if (this.fill === BLOCK) this.emitBlock(false)
    }
  }
  end() {
    this.emitBlock(true)
    const trailer = Buffer.alloc(8)
    trailer.writeUInt32LE(this.crc >>> 0, 0)
    trailer.writeUInt32LE(this.isize, 4)
    this.emit(trailer)
  }
  get pendingBytes() {
    return this.outBytes
  }
  take(): Buffer {
    const buf = Buffer.concat(this.out)
    this.out = []
    this.outBytes = 0
    return buf
  }
}

/** Deterministic pseudo-random bytes: AES-256-CTR keystream, key sha256(seed), zero IV. */
export const keystream = (seed: string) => {
  const key = crypto.createHash("sha256").update(seed).digest()
  return crypto.createCipheriv("aes-256-ctr", key, Buffer.alloc(16, 0))
}

export const fileNameOf = (seed: string): string =>
  `file-${crypto.createHash("sha256").update(seed).digest("hex").slice(0, 16)}.bin`

const build = async (seed: string, size: number, target: string): Promise<GeneratedLayer> => {
  const fileName = fileNameOf(seed)
  const tarHash = crypto.createHash("sha256")
  const gzHash = crypto.createHash("sha256")
  const gz = new StoredGzip()
  const handle = await fs.promises.open(target, "w")
  let gzSize = 0
  try {
    const flush = async (force: boolean) => {
      if (!force && gz.pendingBytes < CHUNK) return
      const buf = gz.take()
      gzHash.update(buf)
      gzSize += buf.length
      let written = 0
      while (written < buf.length) written += (await handle.write(buf, written, buf.length - written)).bytesWritten
    }
    const tar = async (buf: Buffer) => {
      tarHash.update(buf)
      gz.write(buf)
      await flush(false)
    }
    await tar(tarHeader(fileName, size))
    const cipher = keystream(seed)
    const zeros = Buffer.alloc(CHUNK, 0)
    let left = size
    while (left > 0) {
      const n = Math.min(CHUNK, left)
      await tar(cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n)))
      left -= n
    }
    const pad = (512 - (size % 512)) % 512
    await tar(Buffer.alloc(pad + 1024, 0))
    gz.end()
    await flush(true)
  } finally {
    await handle.close()
  }
  return {
    digest: `sha256:${gzHash.digest("hex")}`,
    size: gzSize,
    diffId: `sha256:${tarHash.digest("hex")}`,
    path: target,
    fileName
  }
}

const inflight = new Map<string, Promise<GeneratedLayer>>()

/**
 * The gzip layer for (seed, size), built once per machine into the cache dir (atomic renames, so
 * concurrent test processes may race safely: they produce identical bytes).
 */
export const layer = (seed: string, size: number): Promise<GeneratedLayer> => {
  const key = crypto.createHash("sha256").update(JSON.stringify([FORMAT_VERSION, seed, size])).digest("hex")
  let pending = inflight.get(key)
  if (pending === undefined) {
    pending = (async () => {
      const dir = path.join(cacheRoot(), key.slice(0, 2))
      const file = path.join(dir, `${key}.tar.gz`)
      const metaFile = path.join(dir, `${key}.json`)
      try {
        const { mtimeMs, ...meta } = JSON.parse(await fs.promises.readFile(metaFile, "utf8")) as
          & Omit<GeneratedLayer, "path">
          & { readonly mtimeMs: number }
        const stat = await fs.promises.stat(file)
        // a test that modified a linked copy in place changed the mtime: rebuild
        if (stat.size === meta.size && stat.mtimeMs === mtimeMs) return { ...meta, path: file }
      } catch {
        // not cached yet
      }
      await fs.promises.mkdir(dir, { recursive: true })
      const unique = `${process.pid}-${crypto.randomBytes(6).toString("hex")}`
      const tmp = `${file}.${unique}.tmp`
      try {
        const built = await build(seed, size, tmp)
        await fs.promises.rename(tmp, file)
        const { mtimeMs } = await fs.promises.stat(file)
        const meta = { digest: built.digest, size: built.size, diffId: built.diffId, fileName: built.fileName, mtimeMs }
        await fs.promises.writeFile(`${metaFile}.${unique}.tmp`, JSON.stringify(meta))
        await fs.promises.rename(`${metaFile}.${unique}.tmp`, metaFile)
        return { digest: built.digest, size: built.size, diffId: built.diffId, fileName: built.fileName, path: file }
      } catch (error) {
        await fs.promises.rm(tmp, { force: true })
        throw error
      }
    })()
    inflight.set(key, pending)
    pending.catch(() => inflight.delete(key))
  }
  return pending
}

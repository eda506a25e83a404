/**
 * A small tar reader and writer: enough for image archives (ustar, PAX extended headers, GNU long names).
 *
 * Reading scans the headers once, seeking over entry data, and keeps `path → (offset, size)`; entry data is
 * then served as file-range streams. Writing produces headers and padding; the caller streams the data.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as posix from "node:path/posix"
import { fromPlatformError, InvalidArchive, type LayoutError } from "../LayoutError.js"
import { READ } from "./files.js"

/** @internal */
export const BLOCK = 512

/** @internal */
export interface TarEntry {
  readonly path: string
  readonly type: "file" | "directory" | "symlink" | "hardlink" | "other"
  /** offset of the data in the archive file */
  readonly offset: number
  readonly size: number
  readonly linkname: string
}

const decoder = new TextDecoder("utf-8")

const cString = (block: Uint8Array, start: number, length: number): string => {
  let end = start
  while (end < start + length && block[end] !== 0) end++
  return decoder.decode(block.subarray(start, end))
}

const parseNumeric = (block: Uint8Array, start: number, length: number): number | undefined => {
  const first = block[start]!
  if ((first & 0x80) !== 0) {
    // base-256 (GNU): big-endian, the high bit of the first byte is the marker
    let value = first & 0x7f
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i]!
    return Number.isSafeInteger(value) ? value : undefined
  }
  const text = cString(block, start, length).trim()
  if (text === "") return 0
  if (!/^[0-7]+$/.test(text)) return undefined
  return parseInt(text, 8)
}

const checksumOk = (block: Uint8Array): boolean => {
  const stored = parseNumeric(block, 148, 8)
  if (stored === undefined) return false
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!
    unsigned += b
    signed += b > 127 ? b - 256 : b
  }
  return stored === unsigned || stored === signed
}

const isZero = (block: Uint8Array): boolean => block.every((b) => b === 0)

/**
 * Parses PAX records (`"<len> key=value\n"`).
 *
 * @internal
 */
export const parsePax = (data: Uint8Array): Map<string, string> => {
  const records = new Map<string, string>()
  let pos = 0
  while (pos < data.length) {
    let space = pos
    while (space < data.length && data[space] !== 0x20) space++
    const length = parseInt(decoder.decode(data.subarray(pos, space)), 10)
    if (!Number.isSafeInteger(length) || length <= 0 || pos + length > data.length) break
    const record = decoder.decode(data.subarray(space + 1, pos + length - 1))
    const eq = record.indexOf("=")
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1))
    pos += length
  }
  return records
}

/**
 * Normalizes an archive path for lookup: no leading `./` or `/`, no trailing `/`.
 *
 * @internal
 */
export const normalizePath = (path: string): string => {
  const normalized = posix.normalize(`/${path}`).replace(/^\/+/, "").replace(/\/+$/, "")
  return normalized
}

const MAX_META = 1024 * 1024

/**
 * Scans a tar file's headers. Data is never read except for PAX headers and GNU long names.
 *
 * @internal
 */
export const scan = (
  archive: string
): Effect.Effect<Map<string, TarEntry>, LayoutError, FileSystem.FileSystem> =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const ioError = fromPlatformError(archive)
    const file = yield* Effect.mapError(fs.open(archive, { flag: "r" }), ioError)
    const fileSize = Number((yield* Effect.mapError(file.stat, ioError)).size)
    const invalid = (detail: string) => new InvalidArchive({ path: archive, detail })
    const readAt = (position: number, length: number) =>
      Effect.gen(function*() {
        if (position + length > fileSize) return yield* invalid(`unexpected end of file at offset ${position}`)
        yield* file.seek(position, "start")
        const buffer = new Uint8Array(length)
        let got = 0
        while (got < length) {
          const n = Number(yield* Effect.mapError(file.read(buffer.subarray(got)), ioError))
          if (n === 0) return yield* invalid(`unexpected end of file at offset ${position + got}`)
          got += n
        }
        return buffer
      })

    const entries = new Map<string, TarEntry>()
    let position = 0
    let pax = new Map<string, string>()
    let longName: string | undefined
    let longLink: string | undefined
    let count = 0
    while (position + BLOCK <= fileSize) {
      const block = yield* readAt(position, BLOCK)
      if (isZero(block)) break
      if (!checksumOk(block)) {
        return yield* invalid(`bad tar header checksum at offset ${position}${count === 0 ? " (not a tar file?)" : ""}`)
      }
      count++
      const headerSize = parseNumeric(block, 124, 12)
      if (headerSize === undefined) return yield* invalid(`bad size field at offset ${position}`)
      const typeflag = String.fromCharCode(block[156]!)
      const dataOffset = position + BLOCK
      const sizeText = pax.get("size")
      // link, symlink, device, directory and fifo entries carry no data whatever their size field says
      const headerOnly = "123456".includes(typeflag)
      const size = headerOnly
        ? 0
        : typeflag !== "x" && sizeText !== undefined
        ? Number(sizeText)
        : headerSize
      if (!Number.isSafeInteger(size) || size < 0) return yield* invalid(`bad entry size at offset ${position}`)
      const next = dataOffset + Math.ceil(size / BLOCK) * BLOCK
      if (dataOffset + size > fileSize) return yield* invalid(`entry at offset ${position} runs past the end of file`)

      if (typeflag === "g") {
        // global PAX headers: nothing in them applies per entry for our purposes
        position = next
        continue
      }
      if (typeflag === "x" || typeflag === "L" || typeflag === "K") {
        if (size > MAX_META) return yield* invalid(`extended header of ${size} bytes at offset ${position}`)
        const data = yield* readAt(dataOffset, size)
        if (typeflag === "x") pax = parsePax(data)
        else if (typeflag === "L") longName = cString(data, 0, data.length)
        else longLink = cString(data, 0, data.length)
        position = next
        continue
      }

      const magic = cString(block, 257, 6)
      const prefix = magic === "ustar" && block[345] !== 0 ? cString(block, 345, 155) : ""
      const rawName = pax.get("path") ?? longName ??
        (prefix === "" ? cString(block, 0, 100) : `${prefix}/${cString(block, 0, 100)}`)
      const linkname = pax.get("linkpath") ?? longLink ?? cString(block, 157, 100)
      const type: TarEntry["type"] = typeflag === "0" || typeflag === "\0" || typeflag === "7"
        ? "file"
        : typeflag === "5"
        ? "directory"
        : typeflag === "2"
        ? "symlink"
        : typeflag === "1"
        ? "hardlink"
        : "other"
      const path = normalizePath(rawName)
      entries.set(path, { path, type, offset: dataOffset, size: type === "file" ? size : 0, linkname })
      pax = new Map()
      longName = undefined
      longLink = undefined
      position = next
    }
    if (count === 0) return yield* invalid("empty or not a tar archive")
    return entries
  }))

/**
 * Looks up a regular file, following symlinks and hard links inside the archive.
 *
 * @internal
 */
export const lookup = (entries: ReadonlyMap<string, TarEntry>, path: string): TarEntry | undefined => {
  let current = normalizePath(path)
  for (let hops = 0; hops < 16; hops++) {
    const entry = entries.get(current)
    if (entry === undefined) return undefined
    if (entry.type === "file") return entry
    if (entry.type === "hardlink") current = normalizePath(entry.linkname)
    else if (entry.type === "symlink") {
      current = normalizePath(
        entry.linkname.startsWith("/") ? entry.linkname : posix.join(posix.dirname(current), entry.linkname)
      )
    } else return undefined
  }
  return undefined
}

/**
 * A file-range stream of an entry's data.
 *
 * @internal
 */
export const entryStream = (
  fs: FileSystem.FileSystem,
  archive: string,
  entry: TarEntry,
  offset = 0,
  digest?: string
): Stream.Stream<Uint8Array, LayoutError> => {
  const start = Math.min(Math.max(offset, 0), entry.size)
  if (start === entry.size) return Stream.empty
  return Stream.mapError(
    fs.stream(archive, { ...READ, offset: entry.offset + start, bytesToRead: entry.size - start }),
    fromPlatformError(archive, digest)
  )
}

// ---------------------------------------------------------------------------------------------------------
// writing

const encoder = new TextEncoder()

const writeString = (block: Uint8Array, start: number, length: number, value: string) => {
  const bytes = encoder.encode(value)
  block.set(bytes.subarray(0, length), start)
}

const writeOctal = (block: Uint8Array, start: number, length: number, value: number) => {
  // length - 1 digits followed by NUL
  writeString(block, start, length, value.toString(8).padStart(length - 1, "0") + "\0")
}

const MAX_OCTAL_SIZE = 0o77777777777

const paxRecord = (key: string, value: string): string => {
  const body = ` ${key}=${value}\n`
  const bodyLength = encoder.encode(body).length
  let length = bodyLength + String(bodyLength).length
  while (bodyLength + String(length).length !== length) length = bodyLength + String(length).length
  return `${length}${body}`
}

const rawHeader = (options: {
  readonly name: string
  readonly prefix: string
  readonly size: number
  readonly typeflag: string
  readonly mode: number
  readonly mtime: number
}): Uint8Array => {
  const block = new Uint8Array(BLOCK)
  writeString(block, 0, 100, options.name)
  writeOctal(block, 100, 8, options.mode)
  writeOctal(block, 108, 8, 0)
  writeOctal(block, 116, 8, 0)
  writeOctal(block, 124, 12, options.size)
  writeOctal(block, 136, 12, options.mtime)
  block.fill(0x20, 148, 156)
  writeString(block, 156, 1, options.typeflag)
  writeString(block, 257, 6, "ustar\0")
  writeString(block, 263, 2, "00")
  writeString(block, 345, 155, options.prefix)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += block[i]!
  writeString(block, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ")
  return block
}

const splitName = (path: string): { readonly name: string; readonly prefix: string } | undefined => {
  const bytes = encoder.encode(path)
  if (bytes.length <= 100) return { name: path, prefix: "" }
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== "/") continue
    const prefix = path.slice(0, i)
    const name = path.slice(i + 1)
    if (encoder.encode(prefix).length <= 155 && encoder.encode(name).length <= 100 && name !== "") {
      return { name, prefix }
    }
  }
  return undefined
}

/**
 * Header blocks for one entry (a PAX header first when the path or size does not fit ustar).
 *
 * @internal
 */
export const header = (entry: {
  readonly path: string
  readonly size: number
  readonly type?: "file" | "directory"
  readonly mode?: number
  readonly mtime?: number
}): Uint8Array => {
  const type = entry.type ?? "file"
  const path = type === "directory" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path
  const mode = entry.mode ?? (type === "directory" ? 0o755 : 0o644)
  const mtime = Math.floor(entry.mtime ?? 0)
  const split = splitName(path)
  const records: Array<string> = []
  if (split === undefined) records.push(paxRecord("path", path))
  if (entry.size > MAX_OCTAL_SIZE) records.push(paxRecord("size", String(entry.size)))
  const main = rawHeader({
    name: split?.name ?? path.slice(0, 100),
    prefix: split?.prefix ?? "",
    size: entry.size > MAX_OCTAL_SIZE ? 0 : entry.size,
    typeflag: type === "directory" ? "5" : "0",
    mode,
    mtime
  })
  if (records.length === 0) return main
  const data = encoder.encode(records.join(""))
  const paxName = `PaxHeaders/${posix.basename(path.replace(/\/+$/, "")).slice(0, 80)}`
  const paxHeader = rawHeader({ name: paxName, prefix: "", size: data.length, typeflag: "x", mode: 0o644, mtime })
  const out = new Uint8Array(BLOCK * 2 + Math.ceil(data.length / BLOCK) * BLOCK)
  out.set(paxHeader, 0)
  out.set(data, BLOCK)
  out.set(main, BLOCK + Math.ceil(data.length / BLOCK) * BLOCK)
  return out
}

/**
 * Zero bytes that pad entry data to a block boundary.
 *
 * @internal
 */
export const padding = (size: number): Uint8Array => new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK)

/**
 * The end-of-archive marker: two zero blocks.
 *
 * @internal
 */
export const end = (): Uint8Array => new Uint8Array(BLOCK * 2)

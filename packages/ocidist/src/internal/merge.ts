/**
 * Layer merging (`export`, `flatten`): an image's layers, read as tar streams (gzip, zstd or plain), merged
 * into one filesystem tar with the OCI whiteouts applied (`.wh.<name>` deletes `<name>` of the layers below,
 * `.wh..wh..opq` hides what the layers below hold in its directory).
 *
 * Two passes, memory bounded by the number of paths (never by contents): the first reads the layers from
 * the top down and decides, from paths alone, which entry of which layer survives; the second reads them
 * again from the bottom up and streams the surviving entries (headers rewritten, data passed through), so
 * that directories and hard link targets come before what needs them.
 *
 * The tar reader is strict: header checksums, numeric fields, sizes, truncated entries, extended headers (PAX,
 * GNU long names) of at most {@link MAX_META} bytes. Paths are normalised as crane and umoci do (a leading `/`
 * dropped, `.` and `..` resolved); a `..` that escapes the root fails with `InvalidLayer`. Entries below a
 * non-directory (`l -> /etc`, then `l/passwd`) are dropped: no entry of the output goes through a symlink.
 * Device files, FIFOs and symlinks are kept as tar entries (a tar is not a filesystem: nothing is created).
 *
 * @internal
 */
import * as Digest from "@ocidist/reference/Digest"
import type { DigestMismatch } from "@ocidist/reference/ReferenceError"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { CompressionFailed, CompressionUnavailable } from "../OcidistError.js"
import { InvalidLayer } from "../OcidistError.js"
import * as Compression from "./compression.js"

/** @internal */
export const BLOCK = 512

/** The largest extended header (a PAX header, a GNU long name or link name) read: 1 MiB. @internal */
export const MAX_META = 1024 * 1024

/** One entry's header, its path normalised. @internal */
export interface Header {
  /** Normalised: no leading `/` or `./`, no trailing `/`, `..` resolved; `""` for the root. */
  readonly path: string
  readonly typeflag: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly mtime: number
  /** The bytes of data that follow (0 for links, directories, devices, FIFOs). */
  readonly size: number
  /** A symlink's target as written; a hard link's target normalised. */
  readonly linkname: string
  readonly uname: string
  readonly gname: string
  readonly devmajor: number
  readonly devminor: number
  /** PAX records other than those the header fields carry (xattrs…), kept as they are. */
  readonly extra: ReadonlyArray<readonly [string, string]>
}

/** What the reader produces: an entry's header, then its data in pieces. @internal */
export type Event =
  | { readonly _tag: "Entry"; readonly header: Header }
  | { readonly _tag: "Data"; readonly bytes: Uint8Array }

/** How reading a layer fails, beyond its store's errors. @internal */
export type LayerError = InvalidLayer | CompressionFailed | CompressionUnavailable | DigestMismatch

const decoder = new TextDecoder("utf-8")
const encoder = new TextEncoder()

const cString = (block: Uint8Array, start: number, length: number): string => {
  let end = start
  while (end < start + length && block[end] !== 0) end++
  return decoder.decode(block.subarray(start, end))
}

const parseNumeric = (block: Uint8Array, start: number, length: number): number | undefined => {
  const first = block[start]!
  if ((first & 0x80) !== 0) {
    if ((first & 0x40) !== 0) return undefined // negative base-256
    let value = first & 0x3f
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i]!
    return Number.isSafeInteger(value) ? value : undefined
  }
  const text = cString(block, start, length).trim()
  if (text === "") return 0
  if (!/^[0-7]+$/.test(text)) return undefined
  const value = parseInt(text, 8)
  return Number.isSafeInteger(value) ? value : undefined
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

const isZero = (block: Uint8Array): boolean => {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false
  return true
}

/** PAX records (`"<len> key=value\n"`), strictly: a malformed record is an error (`undefined`). */
const parsePax = (data: Uint8Array): Map<string, string> | undefined => {
  const records = new Map<string, string>()
  let pos = 0
  while (pos < data.length) {
    if (data[pos] === 0) break // NUL padding some writers leave
    let space = pos
    while (space < data.length && space - pos < 20 && data[space] !== 0x20) space++
    const lengthText = decoder.decode(data.subarray(pos, space))
    if (!/^[0-9]+$/.test(lengthText)) return undefined
    const length = parseInt(lengthText, 10)
    if (length <= space - pos + 1 || pos + length > data.length || data[pos + length - 1] !== 0x0a) return undefined
    const record = decoder.decode(data.subarray(space + 1, pos + length - 1))
    const eq = record.indexOf("=")
    if (eq <= 0) return undefined
    records.set(record.slice(0, eq), record.slice(eq + 1))
    pos += length
  }
  return records
}

/**
 * Normalises an entry path as crane and umoci do: a leading `/` dropped, `.` segments and empty ones dropped,
 * `..` resolved; `undefined` when a `..` climbs above the root.
 *
 * @internal
 */
export const cleanPath = (raw: string): string | undefined => {
  const parts: Array<string> = []
  for (const segment of raw.split("/")) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") {
      if (parts.length === 0) return undefined
      parts.pop()
      continue
    }
    parts.push(segment)
  }
  return parts.join("/")
}

/** Typeflags whose entries carry no data whatever their size field says: links, devices, directories, FIFOs. */
const HEADER_ONLY = "123456"
/** PAX keys the header fields carry (and atime/ctime, which are not kept). */
const CARRIED = new Set(["path", "linkpath", "size", "uid", "gid", "mtime", "uname", "gname", "atime", "ctime"])

/**
 * A push parser of a tar stream: bytes in (any chunking), events out. Never holds more than a header block
 * and one extended header ({@link MAX_META}).
 *
 * @internal
 */
export class TarReader {
  private state: "header" | "meta" | "data" | "pad" | "end" = "header"
  private readonly block = new Uint8Array(BLOCK)
  private filled = 0
  private remaining = 0
  private padLeft = 0
  private meta = new Uint8Array(0)
  private metaFilled = 0
  private metaType = ""
  private pax = new Map<string, string>()
  private longName: string | undefined
  private longLink: string | undefined
  private offset = 0
  private headerOffset = 0
  /** Entries read so far. */
  entries = 0

  /** Feeds bytes; returns an error detail when the stream is not a valid tar. */
  push(chunk: Uint8Array, out: Array<Event>): string | undefined {
    let pos = 0
    while (pos < chunk.length) {
      const available = chunk.length - pos
      switch (this.state) {
        case "end":
          this.offset += available
          return undefined
        case "header": {
          const n = Math.min(BLOCK - this.filled, available)
          this.block.set(chunk.subarray(pos, pos + n), this.filled)
          this.filled += n
          pos += n
          this.offset += n
          if (this.filled < BLOCK) break
          this.filled = 0
          const error = this.header(out)
          if (error !== undefined) return error
          break
        }
        case "meta": {
          const n = Math.min(this.meta.length - this.metaFilled, available)
          this.meta.set(chunk.subarray(pos, pos + n), this.metaFilled)
          this.metaFilled += n
          pos += n
          this.offset += n
          if (this.metaFilled === this.meta.length) {
            const error = this.endMeta()
            if (error !== undefined) return error
          }
          break
        }
        case "data": {
          const n = Math.min(this.remaining, available)
          out.push({ _tag: "Data", bytes: chunk.subarray(pos, pos + n) })
          this.remaining -= n
          pos += n
          this.offset += n
          if (this.remaining === 0) this.afterData()
          break
        }
        case "pad": {
          const n = Math.min(this.padLeft, available)
          this.padLeft -= n
          pos += n
          this.offset += n
          if (this.padLeft === 0) this.state = "header"
          break
        }
      }
    }
    return undefined
  }

  /** The stream ended: an error detail when it ended inside an entry. */
  finish(): string | undefined {
    if (this.state === "end") return undefined
    if (this.state === "header" && this.filled === 0) {
      // no end-of-archive blocks (as Go's archive/tar, accepted at an entry boundary)
      return this.metaType === "" && this.pax.size === 0 && this.longName === undefined ?
        undefined :
        "the stream ends after an extended header, before its entry"
    }
    return `the stream ends inside ${this.state === "header" ? "a header" : "an entry"} (at byte ${this.offset})`
  }

  private afterData() {
    if (this.padLeft > 0) this.state = "pad"
    else this.state = "header"
  }

  private setData(size: number) {
    this.remaining = size
    this.padLeft = (BLOCK - (size % BLOCK)) % BLOCK
    if (size === 0) this.afterData()
    else this.state = "data"
  }

  private header(out: Array<Event>): string | undefined {
    const block = this.block
    this.headerOffset = this.offset - BLOCK
    const at = `at byte ${this.headerOffset}`
    if (isZero(block)) {
      this.state = "end"
      return undefined
    }
    if (!checksumOk(block)) {
      return `bad header checksum ${at}${this.entries === 0 ? " (not a tar stream?)" : ""}`
    }
    const typeflag = String.fromCharCode(block[156]!)
    const headerSize = parseNumeric(block, 124, 12)
    if (headerSize === undefined) return `bad size field ${at}`
    if (typeflag === "x" || typeflag === "g" || typeflag === "L" || typeflag === "K") {
      if (headerSize > MAX_META) {
        return `an extended header of ${headerSize} bytes ${at} (the limit is ${MAX_META} bytes)`
      }
      this.metaType = typeflag
      this.meta = new Uint8Array(headerSize)
      this.metaFilled = 0
      this.padLeft = (BLOCK - (headerSize % BLOCK)) % BLOCK
      this.state = "meta"
      if (headerSize === 0) return this.endMeta()
      return undefined
    }
    const pax = this.pax
    const number = (key: string, field: number | undefined): number | undefined => {
      const text = pax.get(key)
      if (text === undefined) return field
      const value = Number(text)
      return Number.isFinite(value) ? value : undefined
    }
    const sizeValue = number("size", headerSize)
    if (sizeValue === undefined || !Number.isSafeInteger(sizeValue) || sizeValue < 0) return `bad entry size ${at}`
    const magic = cString(block, 257, 6)
    const ustar = magic === "ustar"
    const prefix = ustar && block[345] !== 0 ? cString(block, 345, 155) : ""
    const rawName = pax.get("path") ?? this.longName ??
      (prefix === "" ? cString(block, 0, 100) : `${prefix}/${cString(block, 0, 100)}`)
    const path = cleanPath(rawName)
    if (path === undefined) return `the entry ${JSON.stringify(rawName)} ${at} climbs out of the root with ..`
    const rawLink = pax.get("linkpath") ?? this.longLink ?? cString(block, 157, 100)
    let linkname = rawLink
    if (typeflag === "1") {
      const cleaned = cleanPath(rawLink)
      if (cleaned === undefined || cleaned === "") {
        return `the hard link ${JSON.stringify(rawName)} ${at} points at ${JSON.stringify(rawLink)}, outside the root`
      }
      linkname = cleaned
    }
    const mode = parseNumeric(block, 100, 8)
    const uid = number("uid", parseNumeric(block, 108, 8))
    const gid = number("gid", parseNumeric(block, 116, 8))
    const mtime = number("mtime", parseNumeric(block, 136, 12))
    const devmajor = ustar ? parseNumeric(block, 329, 8) : 0
    const devminor = ustar ? parseNumeric(block, 337, 8) : 0
    if (
      mode === undefined || uid === undefined || gid === undefined || mtime === undefined ||
      devmajor === undefined || devminor === undefined
    ) {
      return `bad numeric field in the header of ${JSON.stringify(rawName)} ${at}`
    }
    const extra: Array<readonly [string, string]> = []
    for (const [k, v] of pax) if (!CARRIED.has(k)) extra.push([k, v])
    const size = HEADER_ONLY.includes(typeflag) ? 0 : sizeValue
    out.push({
      _tag: "Entry",
      header: {
        path,
        typeflag: typeflag === "\0" ? "0" : typeflag,
        mode: mode & 0o7777,
        uid,
        gid,
        mtime,
        size,
        linkname,
        uname: pax.get("uname") ?? (ustar ? cString(block, 265, 32) : ""),
        gname: pax.get("gname") ?? (ustar ? cString(block, 297, 32) : ""),
        devmajor,
        devminor,
        extra
      }
    })
    this.entries++
    this.pax = new Map()
    this.longName = undefined
    this.longLink = undefined
    this.metaType = ""
    this.setData(size)
    return undefined
  }

  private endMeta(): string | undefined {
    const data = this.meta
    this.meta = new Uint8Array(0)
    const at = `at byte ${this.headerOffset}`
    if (this.metaType === "x" || this.metaType === "g") {
      const records = parsePax(data)
      if (records === undefined) return `a malformed PAX header ${at}`
      // global headers: nothing in them applies to our entries
      if (this.metaType === "x") { for (const [k, v] of records) this.pax.set(k, v) }
    } else if (this.metaType === "L") {
      this.longName = cString(data, 0, data.length)
    } else {
      this.longLink = cString(data, 0, data.length)
    }
    this.metaType = this.metaType === "g" ? "" : this.metaType
    if (this.padLeft > 0) this.state = "pad"
    else this.state = "header"
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------------------
// writing

const MAX_OCTAL_12 = 0o77777777777
const MAX_OCTAL_8 = 0o7777777

const writeString = (block: Uint8Array, start: number, length: number, value: string) => {
  block.set(encoder.encode(value).subarray(0, length), start)
}

const writeOctal = (block: Uint8Array, start: number, length: number, value: number) => {
  writeString(block, start, length, value.toString(8).padStart(length - 1, "0") + "\0")
}

const paxRecord = (key: string, value: string): string => {
  const bodyLength = encoder.encode(` ${key}=${value}\n`).length
  let length = bodyLength + String(bodyLength).length
  while (bodyLength + String(length).length !== length) length = bodyLength + String(length).length
  return `${length} ${key}=${value}\n`
}

const splitName = (path: string): { readonly name: string; readonly prefix: string } | undefined => {
  if (encoder.encode(path).length <= 100) return { name: path, prefix: "" }
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== "/") continue
    const prefix = path.slice(0, i)
    const name = path.slice(i + 1)
    if (name !== "" && encoder.encode(prefix).length <= 155 && encoder.encode(name).length <= 100) {
      return { name, prefix }
    }
  }
  return undefined
}

const fitsBytes = (value: string, length: number) => encoder.encode(value).length <= length

interface Raw {
  readonly name: string
  readonly prefix: string
  readonly typeflag: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly size: number
  readonly mtime: number
  readonly linkname: string
  readonly uname: string
  readonly gname: string
  readonly devmajor: number
  readonly devminor: number
}

const rawHeader = (h: Raw): Uint8Array => {
  const block = new Uint8Array(BLOCK)
  writeString(block, 0, 100, h.name)
  writeOctal(block, 100, 8, h.mode)
  writeOctal(block, 108, 8, h.uid)
  writeOctal(block, 116, 8, h.gid)
  writeOctal(block, 124, 12, h.size)
  writeOctal(block, 136, 12, h.mtime)
  block.fill(0x20, 148, 156)
  writeString(block, 156, 1, h.typeflag)
  writeString(block, 157, 100, h.linkname)
  writeString(block, 257, 6, "ustar\0")
  writeString(block, 263, 2, "00")
  writeString(block, 265, 32, h.uname)
  writeString(block, 297, 32, h.gname)
  writeOctal(block, 329, 8, h.devmajor)
  writeOctal(block, 337, 8, h.devminor)
  writeString(block, 345, 155, h.prefix)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += block[i]!
  writeString(block, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ")
  return block
}

/**
 * The header blocks of an entry: a PAX header first when a field does not fit ustar (long paths and link
 * targets, big sizes and ids, fractional times) or the entry had other PAX records (xattrs).
 *
 * @internal
 */
export const encodeHeader = (h: Header): Uint8Array => {
  const path = h.typeflag === "5" ? `${h.path}/` : h.path
  const records: Array<string> = []
  const split = splitName(path)
  if (split === undefined) records.push(paxRecord("path", path))
  const linkFits = fitsBytes(h.linkname, 100)
  if (!linkFits) records.push(paxRecord("linkpath", h.linkname))
  if (h.size > MAX_OCTAL_12) records.push(paxRecord("size", String(h.size)))
  if (h.uid > MAX_OCTAL_8 || h.uid < 0) records.push(paxRecord("uid", String(h.uid)))
  if (h.gid > MAX_OCTAL_8 || h.gid < 0) records.push(paxRecord("gid", String(h.gid)))
  const mtimeFits = Number.isInteger(h.mtime) && h.mtime >= 0 && h.mtime <= MAX_OCTAL_12
  if (!mtimeFits) records.push(paxRecord("mtime", String(h.mtime)))
  if (!fitsBytes(h.uname, 32)) records.push(paxRecord("uname", h.uname))
  if (!fitsBytes(h.gname, 32)) records.push(paxRecord("gname", h.gname))
  for (const [k, v] of h.extra) records.push(paxRecord(k, v))
  const main = rawHeader({
    name: split?.name ?? path.slice(0, 100),
    prefix: split?.prefix ?? "",
    typeflag: h.typeflag,
    mode: h.mode,
    uid: h.uid > MAX_OCTAL_8 || h.uid < 0 ? 0 : h.uid,
    gid: h.gid > MAX_OCTAL_8 || h.gid < 0 ? 0 : h.gid,
    size: h.size > MAX_OCTAL_12 ? 0 : h.size,
    mtime: mtimeFits ? h.mtime : Math.min(Math.max(Math.floor(h.mtime), 0), MAX_OCTAL_12),
    linkname: linkFits ? h.linkname : "",
    uname: fitsBytes(h.uname, 32) ? h.uname : "",
    gname: fitsBytes(h.gname, 32) ? h.gname : "",
    devmajor: h.devmajor <= MAX_OCTAL_8 ? h.devmajor : 0,
    devminor: h.devminor <= MAX_OCTAL_8 ? h.devminor : 0
  })
  if (records.length === 0) return main
  const data = encoder.encode(records.join(""))
  const padded = Math.ceil(data.length / BLOCK) * BLOCK
  const paxHeader = rawHeader({
    name: `PaxHeaders.0/${h.path.split("/").pop()!.slice(0, 80)}`,
    prefix: "",
    typeflag: "x",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: 0,
    linkname: "",
    uname: "",
    gname: "",
    devmajor: 0,
    devminor: 0
  })
  const out = new Uint8Array(BLOCK * 2 + padded)
  out.set(paxHeader, 0)
  out.set(data, BLOCK)
  out.set(main, BLOCK + padded)
  return out
}

// ---------------------------------------------------------------------------------------------------------
// reading layers

/** A layer's tar entries as events: fetched, verified, decompressed (by its magic bytes), parsed. @internal */
export const layerEvents = <E>(
  store: Storage.ReadOnlyStorage<E>,
  layer: Descriptor.Descriptor
): Stream.Stream<Event, E | InvalidLayer | LayerError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const subject = `layer ${layer.digest} of ${store.name}`
    const fetched = store.fetchBlob(layer)
    const verified = store.verifiesBlobs ? fetched : Digest.verifyStream(layer.digest, subject)(fetched)
    const [head, whole] = yield* Compression.peek(verified, 4)
    const compression = Compression.sniff(head)
    const codecs = yield* Compression.CodecsRef
    if (compression !== "none") yield* codecs.check(compression)
    const plain = compression === "none" ? whole : codecs.decompress(compression, subject)(whole)
    const reader = new TarReader()
    const invalid = (detail: string) => new InvalidLayer({ location: store.name, digest: layer.digest, detail })
    // a malformed stream is read to its end before failing: stopping a decompressor mid-stream can leave it
    // waiting (the layer is bounded by its descriptor's size, and its digest is still checked)
    let failure: string | undefined
    return Stream.concat(
      Stream.mapConcat(plain, (chunk) => {
        if (failure !== undefined) return []
        const out: Array<Event> = []
        failure = reader.push(chunk, out)
        return out
      }),
      Stream.suspend(() => {
        const error = failure ?? reader.finish()
        return error === undefined ? Stream.empty : Stream.fail(invalid(error))
      })
    )
  }))

// ---------------------------------------------------------------------------------------------------------
// merging

interface Survivor {
  readonly layer: number
  readonly ordinal: number
  readonly dir: boolean
}

const parentOf = (path: string): string => {
  const slash = path.lastIndexOf("/")
  return slash < 0 ? "" : path.slice(0, slash)
}

/** Every proper ancestor of a path, nearest first (never the root `""`). */
const ancestors = function*(path: string): Generator<string> {
  let p = parentOf(path)
  while (p !== "") {
    yield p
    p = parentOf(p)
  }
}

const WHITEOUT = ".wh."
const OPAQUE = ".wh..wh..opq"

/**
 * The merged filesystem of layers (bottom first, as a manifest lists them) as a tar stream: whiteouts
 * applied, two passes over the layers (see the module's comment).
 *
 * @internal
 */
export const merge = <E>(
  store: Storage.ReadOnlyStorage<E>,
  layers: ReadonlyArray<Descriptor.Descriptor>
): Stream.Stream<Uint8Array, E | InvalidLayer | LayerError> =>
  Stream.unwrap(Effect.gen(function*() {
    // pass 1, top down: which (layer, ordinal) holds each path of the merged tree
    const final = new Map<string, Survivor>()
    const hidden = new Set<string>()
    const opaque = new Set<string>()
    const implied = new Set<string>()
    const shadowed = (path: string, dir: boolean): boolean => {
      if (final.has(path) || hidden.has(path) || (!dir && implied.has(path))) return true
      for (const a of ancestors(path)) {
        if (hidden.has(a) || opaque.has(a) || final.get(a)?.dir === false) return true
      }
      return false
    }
    // hard links whose target a layer above replaced or deleted: the target's version they saw (the entry at
    // `layer:ordinal`) is written under their names instead, the first with the data, the others linked to it
    const pending = new Map<string, Array<string>>()
    const promoted = new Map<string, Array<string>>()
    const deletedBy = (path: string, whiteouts: ReadonlySet<string>, opaques: ReadonlySet<string>): boolean => {
      if (whiteouts.has(path) || opaques.has("")) return true
      for (const a of ancestors(path)) if (whiteouts.has(a) || opaques.has(a)) return true
      return false
    }
    for (let i = layers.length - 1; i >= 0; i--) {
      const local = new Map<
        string,
        { ordinal: number; dir: boolean; file: boolean; link: string | undefined }
      >()
      const whiteouts: Array<string> = []
      const opaques: Array<string> = []
      let ordinal = 0
      yield* Stream.runForEach(layerEvents(store, layers[i]!), (event) =>
        Effect.sync(() => {
          if (event._tag !== "Entry") return
          ordinal++
          const path = event.header.path
          if (path === "") return
          const parent = parentOf(path)
          const base = path.slice(parent === "" ? 0 : parent.length + 1)
          if (base === OPAQUE) opaques.push(parent)
          else if (base.startsWith(WHITEOUT)) {
            const target = base.slice(WHITEOUT.length)
            if (target !== "" && target !== "." && target !== "..") {
              whiteouts.push(parent === "" ? target : `${parent}/${target}`)
            }
          } else {
            const type = event.header.typeflag
            local.set(path, {
              ordinal,
              dir: type === "5",
              file: type === "0" || type === "7",
              link: type === "1" ? event.header.linkname : undefined
            })
          }
        }))
      const survivors: Array<readonly [string, Survivor]> = []
      for (const [path, entry] of local) {
        if (!shadowed(path, entry.dir)) survivors.push([path, { layer: i, ordinal: entry.ordinal, dir: entry.dir }])
      }
      // links of the layers above waiting for this layer's version of their target
      for (const [target, names] of pending) {
        const source = local.get(target)
        if (source === undefined) continue
        pending.delete(target)
        if (source.file) promoted.set(`${i}:${source.ordinal}`, names)
      }
      const whiteoutSet = new Set(whiteouts)
      const opaqueSet = new Set(opaques)
      for (const target of pending.keys()) if (deletedBy(target, whiteoutSet, opaqueSet)) pending.delete(target)
      // this layer's links to a target replaced or deleted above
      for (const [path, survivor] of survivors) {
        const target = local.get(path)?.link
        if (target === undefined || !shadowed(target, false)) continue
        const source = local.get(target)
        if (source !== undefined && source.ordinal < survivor.ordinal) {
          if (!source.file) continue
          const key = `${i}:${source.ordinal}`
          promoted.set(key, [...(promoted.get(key) ?? []), path])
        } else if (!deletedBy(target, whiteoutSet, opaqueSet)) {
          pending.set(target, [...(pending.get(target) ?? []), path])
        }
      }
      for (const [path, survivor] of survivors) final.set(path, survivor)
      for (const path of [...local.keys(), ...whiteouts, ...opaques]) {
        for (const a of ancestors(path)) {
          if (implied.has(a)) break
          implied.add(a)
        }
      }
      // an opaque root (`.wh..wh..opq` at the top): nothing of the layers below survives
      for (const path of opaques) opaque.add(path)
      for (const path of whiteouts) hidden.add(path)
      if (opaque.has("")) break
    }
    // an entry below a non-directory of the merged tree (a symlink `l`, then `l/passwd`) is dropped
    const underNonDirectory = (path: string): boolean => {
      for (const a of ancestors(path)) if (final.get(a)?.dir === false) return true
      return false
    }

    // a hard link is kept when its target is a file of the merged tree written before it (this layer or one
    // below); one whose target a layer above replaced or deleted is written from that target's old version
    // (see `promoted`), or left out when there is none (it would link to nothing)
    const linkable = (target: string, i: number): boolean => {
      const survivor = final.get(target)
      return survivor !== undefined && !survivor.dir && survivor.layer <= i && !underNonDirectory(target)
    }

    // pass 2, bottom up: the surviving entries, headers rewritten, data passed through
    const pass = (i: number): Stream.Stream<Uint8Array, E | InvalidLayer | LayerError> =>
      Stream.suspend(() => {
        let ordinal = 0
        let keep = false
        let left = 0
        let size = 0
        // hard links to the entry being written, once its data is
        let after: Array<Uint8Array> = []
        return Stream.mapConcat(layerEvents(store, layers[i]!), (event): ReadonlyArray<Uint8Array> => {
          if (event._tag === "Entry") {
            ordinal++
            const h = event.header
            const survivor = final.get(h.path)
            const names = (promoted.get(`${i}:${ordinal}`) ?? []).filter((name) => !underNonDirectory(name))
            const own = survivor !== undefined && survivor.layer === i && survivor.ordinal === ordinal &&
              !underNonDirectory(h.path) &&
              (h.typeflag !== "1" || linkable(h.linkname, i))
            const written = own ? h.path : names.shift()
            keep = written !== undefined
            left = h.size
            size = h.size
            if (written === undefined) return []
            after = names.map((name) =>
              encodeHeader({ ...h, path: name, typeflag: "1", size: 0, linkname: written, extra: [] })
            )
            const header = encodeHeader(written === h.path ? h : { ...h, path: written })
            if (size > 0) return [header]
            const out = [header, ...after]
            after = []
            return out
          }
          left -= event.bytes.length
          if (!keep) return []
          if (left > 0) return [event.bytes]
          const pad = (BLOCK - (size % BLOCK)) % BLOCK
          const out = pad > 0 ? [event.bytes, new Uint8Array(pad), ...after] : [event.bytes, ...after]
          after = []
          return out
        })
      })
    const order: Array<number> = []
    for (let i = 0; i < layers.length; i++) order.push(i)
    return Stream.concat(
      Stream.flatMap(Stream.fromIterable(order), pass),
      Stream.succeed(new Uint8Array(BLOCK * 2))
    )
  }))

/**
 * A small tar codec: ustar headers with PAX extended headers and GNU long names, read strictly and written
 * portably. It holds no entry data: readers pass data through (or seek over it), writers emit header blocks
 * and padding while the caller streams the data.
 *
 * Reading is strict: every header's checksum (unsigned or signed sums, as GNU tar accepts), every numeric
 * field (octal or GNU base-256, never negative), every PAX record's framing, extended headers of at most
 * {@link MAX_META} bytes, and a stream that ends inside an entry or after an extended header is an error.
 * Paths are returned as written (a ustar prefix joined); normalising them is the caller's business.
 *
 * Writing produces ustar headers, preceded by a PAX header when a field does not fit (paths longer than
 * the name/prefix split allows, link targets over 100 bytes, sizes of 8 GiB and more, large ids, fractional
 * or negative times, long user and group names) or when the entry carries other PAX records (xattrs…).
 *
 * @since 0.5.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"

/**
 * The tar block size: headers are one block, data is padded to a whole number of blocks.
 *
 * @since 0.5.0
 * @category constants
 */
export const BLOCK = 512

/**
 * The largest extended header (a PAX header, a GNU long name or long link name) a reader accepts: 1 MiB.
 *
 * @since 0.5.0
 * @category constants
 */
export const MAX_META = 1024 * 1024

/**
 * One entry's header, extended headers applied.
 *
 * @since 0.5.0
 * @category models
 */
export interface Header {
  /** As written: a PAX `path`, a GNU long name or the ustar prefix and name joined with `/`. */
  readonly path: string
  /** `0` file (a NUL typeflag is read as `0`), `1` hard link, `2` symlink, `3`/`4` devices, `5` directory, `6` FIFO, `7` contiguous file. */
  readonly typeflag: string
  /** The permission bits (`0o7777`). */
  readonly mode: number
  readonly uid: number
  readonly gid: number
  /** Seconds since the epoch (fractional when a PAX record said so). */
  readonly mtime: number
  /** The bytes of data that follow (0 for links, devices, directories and FIFOs, whatever the field says). */
  readonly size: number
  /** A link's target, as written. */
  readonly linkname: string
  readonly uname: string
  readonly gname: string
  readonly devmajor: number
  readonly devminor: number
  /** PAX records other than those the header fields carry (`SCHILY.xattr.*`…), in order. */
  readonly extra: ReadonlyArray<readonly [string, string]>
}

/**
 * What a reader produces: an entry's header, then its data in pieces (none for an empty entry).
 *
 * @since 0.5.0
 * @category models
 */
export type Event =
  | { readonly _tag: "Entry"; readonly header: Header }
  | { readonly _tag: "Data"; readonly bytes: Uint8Array }

/**
 * One header block decoded by {@link Decoder.decode}.
 *
 * @since 0.5.0
 * @category models
 */
export type Block =
  /** A zero block: the end of the archive. */
  | { readonly _tag: "End" }
  /** An extended header (`x`, `g`, `L`, `K`) whose `size` bytes of data must be passed to {@link Decoder.extended}. */
  | { readonly _tag: "Extended"; readonly typeflag: string; readonly size: number }
  /** An entry; `header.size` bytes of data follow, padded to a block. */
  | { readonly _tag: "Entry"; readonly header: Header }

const decoder = new TextDecoder("utf-8")
const encoder = new TextEncoder()

/** A NUL-terminated string field. */
const cString = (block: Uint8Array, start: number, length: number): string => {
  let end = start
  while (end < start + length && block[end] !== 0) end++
  return decoder.decode(block.subarray(start, end))
}

/**
 * A numeric header field: octal text (NUL or space terminated) or GNU base-256; `undefined` when malformed,
 * negative or beyond `Number.MAX_SAFE_INTEGER`.
 *
 * @since 0.5.0
 * @category decoding
 */
export const parseNumeric = (block: Uint8Array, start: number, length: number): number | undefined => {
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

/**
 * Whether a header block's checksum field matches its bytes (the unsigned sum, or the signed one some old
 * writers used).
 *
 * @since 0.5.0
 * @category decoding
 */
export const checksumOk = (block: Uint8Array): boolean => {
  if (block.length !== BLOCK) return false
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

/**
 * Whether every byte of a block is zero (an end-of-archive block).
 *
 * @since 0.5.0
 * @category decoding
 */
export const isZero = (block: Uint8Array): boolean => {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false
  return true
}

/**
 * PAX records (`"<length> key=value\n"`), strictly: a malformed record gives `undefined`. Trailing NUL
 * padding, which some writers leave, is ignored.
 *
 * @since 0.5.0
 * @category decoding
 */
export const parsePax = (data: Uint8Array): Map<string, string> | undefined => {
  const records = new Map<string, string>()
  let pos = 0
  while (pos < data.length) {
    if (data[pos] === 0) break
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

/** Typeflags whose entries carry no data whatever their size field says: links, devices, directories, FIFOs. */
const HEADER_ONLY = "123456"
/** PAX keys the header fields carry (and atime/ctime, which are not kept). */
const CARRIED = new Set(["path", "linkpath", "size", "uid", "gid", "mtime", "uname", "gname", "atime", "ctime"])

/**
 * The header decoder of one archive: it keeps the PAX records and GNU long names read so far until the
 * entry they apply to. Used by the streaming {@link Reader} and by random-access readers that seek over data.
 *
 * @since 0.5.0
 * @category decoding
 */
export class Decoder {
  private pax = new Map<string, string>()
  private longName: string | undefined
  private longLink: string | undefined
  /** Entries decoded so far. */
  entries = 0

  /** Whether extended headers were read that no entry has consumed yet. */
  get pending(): boolean {
    return this.pax.size > 0 || this.longName !== undefined || this.longLink !== undefined
  }

  /** Decodes a header block found at byte `offset` of the archive (used in messages). */
  decode(block: Uint8Array, offset = 0): Either.Either<Block, string> {
    const at = `at byte ${offset}`
    if (isZero(block)) return Either.right({ _tag: "End" })
    if (!checksumOk(block)) {
      return Either.left(`bad header checksum ${at}${this.entries === 0 ? " (not a tar stream?)" : ""}`)
    }
    const typeflag = String.fromCharCode(block[156]!)
    const headerSize = parseNumeric(block, 124, 12)
    if (headerSize === undefined) return Either.left(`bad size field ${at}`)
    if (typeflag === "x" || typeflag === "g" || typeflag === "L" || typeflag === "K") {
      if (headerSize > MAX_META) {
        return Either.left(`an extended header of ${headerSize} bytes ${at} (the limit is ${MAX_META} bytes)`)
      }
      return Either.right({ _tag: "Extended", typeflag, size: headerSize })
    }
    const pax = this.pax
    const number = (key: string, field: number | undefined): number | undefined => {
      const text = pax.get(key)
      if (text === undefined) return field
      const value = Number(text)
      return text.trim() !== "" && Number.isFinite(value) ? value : undefined
    }
    const sizeValue = number("size", headerSize)
    if (sizeValue === undefined || !Number.isSafeInteger(sizeValue) || sizeValue < 0) {
      return Either.left(`bad entry size ${at}`)
    }
    const ustar = cString(block, 257, 6) === "ustar"
    const prefix = ustar && block[345] !== 0 ? cString(block, 345, 155) : ""
    const path = pax.get("path") ?? this.longName ??
      (prefix === "" ? cString(block, 0, 100) : `${prefix}/${cString(block, 0, 100)}`)
    const linkname = pax.get("linkpath") ?? this.longLink ?? cString(block, 157, 100)
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
      return Either.left(`bad numeric field in the header of ${JSON.stringify(path)} ${at}`)
    }
    const extra: Array<readonly [string, string]> = []
    for (const [k, v] of pax) if (!CARRIED.has(k)) extra.push([k, v])
    this.entries++
    this.pax = new Map()
    this.longName = undefined
    this.longLink = undefined
    return Either.right({
      _tag: "Entry",
      header: {
        path,
        typeflag: typeflag === "\0" ? "0" : typeflag,
        mode: mode & 0o7777,
        uid,
        gid,
        mtime,
        size: HEADER_ONLY.includes(typeflag) ? 0 : sizeValue,
        linkname,
        uname: pax.get("uname") ?? (ustar ? cString(block, 265, 32) : ""),
        gname: pax.get("gname") ?? (ustar ? cString(block, 297, 32) : ""),
        devmajor,
        devminor,
        extra
      }
    })
  }

  /** Applies an extended header's data (`typeflag` and size from the {@link Block} `Extended`). */
  extended(typeflag: string, data: Uint8Array, offset = 0): string | undefined {
    if (typeflag === "x" || typeflag === "g") {
      const records = parsePax(data)
      if (records === undefined) return `a malformed PAX header at byte ${offset}`
      // global headers: nothing in them applies to our entries
      if (typeflag === "x") { for (const [k, v] of records) this.pax.set(k, v) }
    } else if (typeflag === "L") {
      this.longName = cString(data, 0, data.length)
    } else if (typeflag === "K") {
      this.longLink = cString(data, 0, data.length)
    }
    return undefined
  }
}

/**
 * A push parser of a tar stream: bytes in (any chunking), {@link Event}s out. It never holds more than a
 * header block and one extended header ({@link MAX_META}); data is passed through as sub-arrays of the input.
 * Reading stops at the first zero block; a stream without end blocks is accepted when it ends between
 * entries (as Go's archive/tar does).
 *
 * @since 0.5.0
 * @category decoding
 */
export class Reader {
  private state: "header" | "meta" | "data" | "pad" | "end" = "header"
  private readonly block = new Uint8Array(BLOCK)
  private readonly decoder = new Decoder()
  private filled = 0
  private remaining = 0
  private padLeft = 0
  private meta = new Uint8Array(0)
  private metaFilled = 0
  private metaType = ""
  private offset = 0
  private headerOffset = 0

  /** Entries read so far. */
  get entries(): number {
    return this.decoder.entries
  }

  /** Feeds bytes, appending events to `out`; returns an error detail when the stream is not a valid tar. */
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
          if (this.remaining === 0) this.state = this.padLeft > 0 ? "pad" : "header"
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

  /** The stream ended: an error detail when it ended inside an entry or after an extended header. */
  finish(): string | undefined {
    if (this.state === "end") return undefined
    if (this.state === "header" && this.filled === 0) {
      return this.decoder.pending ? "the stream ends after an extended header, before its entry" : undefined
    }
    return `the stream ends inside ${this.state === "header" ? "a header" : "an entry"} (at byte ${this.offset})`
  }

  private header(out: Array<Event>): string | undefined {
    this.headerOffset = this.offset - BLOCK
    const decoded = this.decoder.decode(this.block, this.headerOffset)
    if (Either.isLeft(decoded)) return decoded.left
    const block = decoded.right
    switch (block._tag) {
      case "End":
        this.state = "end"
        return undefined
      case "Extended":
        this.metaType = block.typeflag
        this.meta = new Uint8Array(block.size)
        this.metaFilled = 0
        this.padLeft = (BLOCK - (block.size % BLOCK)) % BLOCK
        this.state = "meta"
        return block.size === 0 ? this.endMeta() : undefined
      case "Entry": {
        out.push(block)
        const size = block.header.size
        this.remaining = size
        this.padLeft = (BLOCK - (size % BLOCK)) % BLOCK
        this.state = size === 0 ? "header" : "data"
        return undefined
      }
    }
  }

  private endMeta(): string | undefined {
    const data = this.meta
    this.meta = new Uint8Array(0)
    const error = this.decoder.extended(this.metaType, data, this.headerOffset)
    if (error !== undefined) return error
    this.state = this.padLeft > 0 ? "pad" : "header"
    return undefined
  }
}

/**
 * A byte stream as tar {@link Event}s, strictly (see {@link Reader}). A malformed stream fails with
 * `invalid(detail)` at the chunk where it breaks: nothing after it is read (events of that chunk before the
 * break are dropped — a consumer discards what it wrote of a failed stream anyway).
 *
 * @since 0.5.0
 * @category decoding
 */
export const events =
  <X>(invalid: (detail: string) => X) =>
  <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Event, E | X, R> =>
    Stream.suspend(() => {
      const reader = new Reader()
      return Stream.concat(
        Stream.mapChunksEffect(bytes, (chunk) => {
          const out: Array<Event> = []
          for (const bytes of chunk) {
            const failure = reader.push(bytes, out)
            if (failure !== undefined) return Effect.fail(invalid(failure))
          }
          return Effect.succeed(Chunk.unsafeFromArray(out))
        }),
        Stream.suspend(() => {
          const error = reader.finish()
          return error === undefined ? Stream.empty : Stream.fail(invalid(error))
        })
      )
    })

// ---------------------------------------------------------------------------------------------------------
// encoding

/**
 * What {@link encode} writes: a path and whatever else differs from the defaults (a regular file, mode
 * `0o644` or `0o755` for directories, owner 0, time 0, no data).
 *
 * @since 0.5.0
 * @category models
 */
export type EntryInput = { readonly path: string } & Partial<Omit<Header, "path">>

const MAX_OCTAL_12 = 0o77777777777
const MAX_OCTAL_8 = 0o7777777

const writeString = (block: Uint8Array, start: number, length: number, value: string) => {
  block.set(encoder.encode(value).subarray(0, length), start)
}

const writeOctal = (block: Uint8Array, start: number, length: number, value: number) => {
  writeString(block, start, length, value.toString(8).padStart(length - 1, "0") + "\0")
}

/**
 * One PAX record, `"<length> key=value\n"`, its length counting itself.
 *
 * @since 0.5.0
 * @category encoding
 */
export const paxRecord = (key: string, value: string): string => {
  const bodyLength = encoder.encode(` ${key}=${value}\n`).length
  let length = bodyLength + String(bodyLength).length
  while (bodyLength + String(length).length !== length) length = bodyLength + String(length).length
  return `${length} ${key}=${value}\n`
}

/** A path as a ustar name and prefix, split at a `/`; `undefined` when it does not fit. */
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

const rawHeader = (h: Omit<Header, "path" | "extra"> & { readonly name: string; readonly prefix: string }) => {
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
  // device numbers only where they mean something (as the archives written before this module)
  if (h.typeflag === "3" || h.typeflag === "4" || h.devmajor !== 0 || h.devminor !== 0) {
    writeOctal(block, 329, 8, h.devmajor)
    writeOctal(block, 337, 8, h.devminor)
  }
  writeString(block, 345, 155, h.prefix)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += block[i]!
  writeString(block, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ")
  return block
}

/**
 * The header blocks of an entry: a PAX header first when a field does not fit ustar (long paths and link
 * targets, big sizes and ids, fractional times, long user and group names) or the entry has other PAX records.
 * A directory's path gets its trailing `/`. The caller writes `size` bytes of data and {@link padding}.
 *
 * @since 0.5.0
 * @category encoding
 */
export const encode = (entry: EntryInput): Uint8Array => {
  const typeflag = entry.typeflag ?? "0"
  const path = typeflag === "5" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path
  const size = HEADER_ONLY.includes(typeflag) ? 0 : entry.size ?? 0
  const uid = entry.uid ?? 0
  const gid = entry.gid ?? 0
  const mtime = entry.mtime ?? 0
  const linkname = entry.linkname ?? ""
  const uname = entry.uname ?? ""
  const gname = entry.gname ?? ""
  const devmajor = entry.devmajor ?? 0
  const devminor = entry.devminor ?? 0
  const records: Array<string> = []
  const split = splitName(path)
  if (split === undefined) records.push(paxRecord("path", path))
  const linkFits = fitsBytes(linkname, 100)
  if (!linkFits) records.push(paxRecord("linkpath", linkname))
  if (size > MAX_OCTAL_12) records.push(paxRecord("size", String(size)))
  const uidFits = uid >= 0 && uid <= MAX_OCTAL_8
  const gidFits = gid >= 0 && gid <= MAX_OCTAL_8
  if (!uidFits) records.push(paxRecord("uid", String(uid)))
  if (!gidFits) records.push(paxRecord("gid", String(gid)))
  const mtimeFits = Number.isInteger(mtime) && mtime >= 0 && mtime <= MAX_OCTAL_12
  if (!mtimeFits) records.push(paxRecord("mtime", String(mtime)))
  if (!fitsBytes(uname, 32)) records.push(paxRecord("uname", uname))
  if (!fitsBytes(gname, 32)) records.push(paxRecord("gname", gname))
  for (const [k, v] of entry.extra ?? []) records.push(paxRecord(k, v))
  const main = rawHeader({
    name: split?.name ?? path.slice(0, 100),
    prefix: split?.prefix ?? "",
    typeflag,
    mode: (entry.mode ?? (typeflag === "5" ? 0o755 : 0o644)) & 0o7777,
    uid: uidFits ? uid : 0,
    gid: gidFits ? gid : 0,
    size: size > MAX_OCTAL_12 ? 0 : size,
    mtime: mtimeFits ? mtime : Math.min(Math.max(Math.floor(mtime), 0), MAX_OCTAL_12),
    linkname: linkFits ? linkname : "",
    uname: fitsBytes(uname, 32) ? uname : "",
    gname: fitsBytes(gname, 32) ? gname : "",
    devmajor: devmajor <= MAX_OCTAL_8 ? devmajor : 0,
    devminor: devminor <= MAX_OCTAL_8 ? devminor : 0
  })
  if (records.length === 0) return main
  const data = encoder.encode(records.join(""))
  const padded = Math.ceil(data.length / BLOCK) * BLOCK
  const base = path.replace(/\/+$/, "").split("/").pop()!
  const paxHeader = rawHeader({
    name: `PaxHeaders.0/${base}`.slice(0, 100),
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

/**
 * The zero bytes that pad `size` bytes of entry data to a block boundary.
 *
 * @since 0.5.0
 * @category encoding
 */
export const padding = (size: number): Uint8Array => new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK)

/**
 * The end-of-archive marker: two zero blocks.
 *
 * @since 0.5.0
 * @category encoding
 */
export const end = (): Uint8Array => new Uint8Array(BLOCK * 2)

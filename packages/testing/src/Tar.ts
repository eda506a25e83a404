/**
 * Tar archives written header by header, for tests that need exact (or hostile) entries: `../x`, absolute
 * paths, links out of the tree, devices, PAX headers. Deterministic bytes: owner 0, the mtime given (0 by
 * default).
 *
 * @since 0.5.0
 */

/**
 * One entry of {@link entry}.
 *
 * @since 0.5.0
 * @category models
 */
export interface Entry {
  /** the path in the header's name field (at most 100 bytes; no ustar prefix is written) */
  readonly name: string
  /** the type flag: `"0"` file (default), `"1"` hard link, `"2"` symlink, `"3"` char device, `"5"` directory, `"x"` PAX */
  readonly type?: string
  /** the entry's data (a string is written as UTF-8); empty by default */
  readonly data?: Uint8Array | string | undefined
  /** the link target of a hard link or symlink */
  readonly linkname?: string | undefined
  /** the permission bits; 0o644 by default */
  readonly mode?: number
  /** the modification time in seconds since the epoch; 0 by default */
  readonly mtime?: number
  /** the device major number; when given, the devmajor and devminor (0) fields are written */
  readonly devmajor?: number
}

/**
 * One tar entry: a ustar header and the data padded to 512-byte blocks (no end-of-archive marker: see
 * {@link archive}).
 *
 * @since 0.5.0
 * @category constructors
 */
export const entry = (options: Entry): Uint8Array => {
  const data = typeof options.data === "string" ? Buffer.from(options.data, "utf8") : options.data ?? new Uint8Array(0)
  const header = Buffer.alloc(512, 0)
  const put = (offset: number, width: number, value: string) => header.write(value, offset, width, "utf8")
  const octal = (offset: number, width: number, value: number) =>
    put(offset, width, `${value.toString(8).padStart(width - 1, "0")}\0`)
  put(0, 100, options.name)
  octal(100, 8, options.mode ?? 0o644)
  octal(108, 8, 0)
  octal(116, 8, 0)
  octal(124, 12, data.length)
  octal(136, 12, options.mtime ?? 0)
  put(148, 8, "        ")
  put(156, 1, options.type ?? "0")
  put(157, 100, options.linkname ?? "")
  put(257, 6, "ustar\0")
  put(263, 2, "00")
  if (options.devmajor !== undefined) {
    octal(329, 8, options.devmajor)
    octal(337, 8, 0)
  }
  let sum = 0
  for (const b of header) sum += b
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `)
  const out = new Uint8Array(512 + Math.ceil(data.length / 512) * 512)
  out.set(header, 0)
  out.set(data, 512)
  return out
}

/**
 * A tar archive of the given entries (from {@link entry}), ended by the two zero blocks.
 *
 * @since 0.5.0
 * @category constructors
 */
export const archive = (entries: ReadonlyArray<Uint8Array>): Uint8Array =>
  Buffer.concat([...entries, new Uint8Array(1024)])

/**
 * A one-file archive (mode 0644, mtime 0): the smallest layer as image builders write them.
 *
 * @since 0.5.0
 * @category constructors
 */
export const oneFile = (name: string, content: Uint8Array | string): Uint8Array =>
  archive([entry({ name, data: content })])

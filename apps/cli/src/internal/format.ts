/**
 * Small formatting helpers shared by the renderers.
 */
import { sanitize } from "./terminal.js"

/** @internal */
export const bytes = (n: number): string => {
  if (!Number.isFinite(n) || n < 0) return "?"
  if (n < 1024) return `${n} B`
  const units = ["KiB", "MiB", "GiB", "TiB"]
  let value = n / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value < 10 ? value.toFixed(1) : value.toFixed(value < 100 ? 1 : 0)} ${units[unit]}`
}

/** @internal */
export const rate = (bytesPerSecond: number): string => `${bytes(Math.round(bytesPerSecond))}/s`

/** @internal */
export const duration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "--"
  if (seconds < 60) return `${Math.ceil(seconds)}s`
  const m = Math.floor(seconds / 60)
  const s = Math.round(seconds % 60)
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`
}

/** `sha256:0123456789ab` */
export const shortDigest = (digest: string): string => {
  const colon = digest.indexOf(":")
  return colon === -1 ? digest.slice(0, 12) : digest.slice(0, colon + 13)
}

/** A short name for a media type: `layer`, `config`, `manifest`, `index`, or the type itself. */
export const kind = (mediaType: string): string => {
  if (/\.(layer|diff)\b|rootfs/.test(mediaType)) return "layer"
  if (/config/.test(mediaType)) return "config"
  if (/index|manifest\.list/.test(mediaType)) return "index"
  if (/manifest/.test(mediaType)) return "manifest"
  return mediaType
}

/**
 * Rows of columns, padded to the widest cell of each column (the last column is not padded): one line per row,
 * each cell sanitized first (so that the padding counts what is shown).
 */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const cells = rows.map((row) => row.map((cell) => sanitize(cell)))
  const widths: Array<number> = []
  for (const row of cells) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length)
    })
  }
  return cells.map((row) => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i]!)).join("  "))
}

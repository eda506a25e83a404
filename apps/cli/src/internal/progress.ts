/**
 * Renders the facade's progress events on stderr:
 *
 * - a TTY: live bars (one per blob in flight, with bytes, rate and ETA, plus a total), redrawn 10 times a
 *   second; finished blobs are printed above the bars as they complete
 * - not a TTY: one line per finished (or skipped, or mounted) blob and per manifest
 * - `--json`: one JSON object per event (NDJSON), `BlobProgress` at most every 200 ms per blob
 * - `--quiet`: nothing
 */
import type * as Progress from "ocidist/Progress"
import * as Format from "./format.js"
import { sanitize } from "./terminal.js"

// What the events carry came from a registry, a layout or an archive: each field is escaped (terminal.ts)
// before it is placed in a line, never the lines themselves, which carry the renderer's own escape sequences.
const kind = (mediaType: string): string => sanitize(Format.kind(mediaType))
const short = (digest: string): string => sanitize(Format.shortDigest(digest))
const tagged = (tags: ReadonlyArray<string>): string =>
  tags.length === 0 ? "" : `  tagged ${tags.map((t) => sanitize(t)).join(", ")}`

/** @internal */
export type Mode = "tty" | "lines" | "json" | "none"

/** @internal */
export interface Renderer {
  readonly emit: (event: Progress.Event) => void
  /** Stops redrawing and leaves the screen clean. Idempotent. */
  readonly close: () => void
}

/** @internal */
export interface Output {
  readonly write: (text: string) => void
  readonly columns: () => number
  readonly now: () => number
}

/** @internal */
export const stderr: Output = {
  write: (text) => {
    process.stderr.write(text)
  },
  columns: () => process.stderr.columns ?? 80,
  now: () => Date.now()
}

/** @internal */
export const modeOf = (options: { readonly json: boolean; readonly quiet: boolean }, isTTY: boolean): Mode =>
  options.quiet ? "none" : options.json ? "json" : isTTY ? "tty" : "lines"

/** @internal */
export const make = (mode: Mode, out: Output = stderr): Renderer => {
  switch (mode) {
    case "none":
      return { emit: () => {}, close: () => {} }
    case "json":
      return json(out)
    case "lines":
      return lines(out)
    case "tty":
      return tty(out)
  }
}

const json = (out: Output): Renderer => {
  const last = new Map<string, number>()
  return {
    emit: (event) => {
      if (event._tag === "BlobProgress") {
        const now = out.now()
        const previous = last.get(event.digest)
        if (previous !== undefined && now - previous < 200 && event.transferred < event.size) return
        last.set(event.digest, now)
      }
      const { _tag, ...fields } = event
      out.write(JSON.stringify({ event: _tag, ...fields }) + "\n")
    },
    close: () => {}
  }
}

interface Active {
  readonly digest: string
  readonly mediaType: string
  readonly size: number
  readonly started: number
  readonly offset: number
  transferred: number
}

const activeOf = (event: Progress.BlobStarted, now: number): Active => ({
  digest: event.digest,
  mediaType: event.mediaType,
  size: event.size,
  started: now,
  offset: event.offset,
  transferred: event.offset
})

const lines = (out: Output): Renderer => {
  const started = new Map<string, Active>()
  return {
    emit: (event) => {
      switch (event._tag) {
        case "BlobStarted":
          started.set(event.digest, activeOf(event, out.now()))
          return
        case "BlobDone": {
          const a = started.get(event.digest)
          started.delete(event.digest)
          const seconds = a === undefined ? 0 : (out.now() - a.started) / 1000
          const speed = seconds > 0 ? `, ${Format.rate(event.transferred / seconds)}` : ""
          out.write(
            `done     ${short(event.digest)}  ${kind(event.mediaType)}  ${Format.bytes(event.size)}${speed}\n`
          )
          return
        }
        case "BlobSkipped":
          out.write(
            `exists   ${short(event.digest)}  ${kind(event.mediaType)}  ${Format.bytes(event.size)}\n`
          )
          return
        case "BlobMounted":
          out.write(
            `mounted  ${short(event.digest)}  ${kind(event.mediaType)}  ${Format.bytes(event.size)}  from ${
              sanitize(event.from)
            }\n`
          )
          return
        case "ManifestDone":
          out.write(
            `manifest ${short(event.digest)}  ${kind(event.mediaType)}  ${Format.bytes(event.size)}${
              tagged(event.tags)
            }\n`
          )
          return
        case "ManifestSkipped":
          out.write(
            `exists   ${short(event.digest)}  ${kind(event.mediaType)}  ${Format.bytes(event.size)}\n`
          )
          return
        default:
          return
      }
    },
    close: () => {}
  }
}

const MAX_BARS = 8
const ESC = "\x1b["

const tty = (out: Output): Renderer => {
  const active = new Map<string, Active>()
  const pending: Array<string> = []
  let plannedBytes = 0
  let doneBytes = 0
  let drawn = 0
  let closed = false
  const start = out.now()
  let cursorHidden = false

  const bar = (fraction: number, width: number) => {
    const filled = Math.max(0, Math.min(width, Math.round(fraction * width)))
    return "█".repeat(filled) + "░".repeat(width - filled)
  }

  const liveLine = (label: string, transferred: number, size: number, since: number, offset: number) => {
    const seconds = Math.max((out.now() - since) / 1000, 0.001)
    const speed = (transferred - offset) / seconds
    const eta = speed > 0 ? (size - transferred) / speed : Number.NaN
    const fraction = size > 0 ? transferred / size : 1
    const columns = out.columns()
    const text = `${Format.bytes(transferred)} / ${Format.bytes(size)}  ${Format.rate(speed)}  ETA ${
      Format.duration(eta)
    }`
    const width = Math.max(10, Math.min(30, columns - label.length - text.length - 6))
    return `${label}  ${bar(fraction, width)} ${text}`.slice(0, Math.max(20, columns - 1))
  }

  const render = () => {
    let text = ""
    if (drawn > 0) text += `${ESC}${drawn}A\r${ESC}J`
    else text += "\r"
    for (const line of pending) text += line + "\n"
    pending.length = 0
    const blobs = [...active.values()].slice(0, MAX_BARS)
    const live: Array<string> = []
    for (const a of blobs) {
      live.push(
        liveLine(
          `${short(a.digest)} ${kind(a.mediaType).padEnd(6)}`,
          a.transferred,
          a.size,
          a.started,
          a.offset
        )
      )
    }
    if (active.size > MAX_BARS) live.push(`… and ${active.size - MAX_BARS} more`)
    if (plannedBytes > 0 && !closed) {
      let inFlight = 0
      for (const a of active.values()) inFlight += a.transferred
      live.push(liveLine("total".padEnd(26), Math.min(plannedBytes, doneBytes + inFlight), plannedBytes, start, 0))
    }
    for (const line of live) text += line + "\n"
    drawn = live.length
    out.write(text)
  }

  const timer = setInterval(() => {
    if (!closed) render()
  }, 100)
  timer.unref()

  return {
    emit: (event) => {
      if (closed) return
      if (!cursorHidden) {
        cursorHidden = true
        out.write(`${ESC}?25l`)
      }
      switch (event._tag) {
        case "Planned":
          plannedBytes = event.bytes
          return
        case "BlobStarted":
          active.set(event.digest, activeOf(event, out.now()))
          return
        case "BlobProgress": {
          const a = active.get(event.digest)
          if (a !== undefined) a.transferred = event.transferred
          return
        }
        case "BlobDone":
          active.delete(event.digest)
          doneBytes += event.transferred
          pending.push(
            `✔ ${short(event.digest)} ${kind(event.mediaType).padEnd(6)}  ${Format.bytes(event.size)}`
          )
          return
        case "BlobSkipped":
          pending.push(
            `= ${short(event.digest)} ${kind(event.mediaType).padEnd(6)}  ${Format.bytes(event.size)}  exists`
          )
          return
        case "BlobMounted":
          pending.push(
            `↗ ${short(event.digest)} ${kind(event.mediaType).padEnd(6)}  ${Format.bytes(event.size)}  mounted from ${
              sanitize(event.from)
            }`
          )
          return
        case "ManifestDone":
          pending.push(
            `✔ ${short(event.digest)} ${kind(event.mediaType).padEnd(6)}  ${Format.bytes(event.size)}${
              tagged(event.tags)
            }`
          )
          return
        case "ManifestSkipped":
          pending.push(
            `= ${short(event.digest)} ${kind(event.mediaType).padEnd(6)}  ${Format.bytes(event.size)}  exists`
          )
          return
      }
    },
    close: () => {
      if (closed) return
      closed = true
      clearInterval(timer)
      active.clear()
      render()
      if (cursorHidden) out.write(`${ESC}?25h`)
    }
  }
}

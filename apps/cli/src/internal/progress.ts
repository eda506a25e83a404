/**
 * Renders the facade's progress events on stderr:
 *
 * - a TTY: `Pulling SRC → DST` (with the first event: a command that fails before planning prints only its
 *   error), then live bars (one per blob in flight, with bytes, rate and ETA, plus a total), redrawn 10 times a
 *   second; finished blobs and manifests are printed above the bars as they complete
 * - not a TTY: `Pulling SRC → DST`, then one line per finished (or skipped, or mounted) blob and per manifest
 * - `--json`: one JSON object per event (NDJSON), `BlobProgress` at most every 200 ms per blob, after a
 *   `Started` event naming the operation, its source and destination
 * - `--quiet`: nothing
 *
 * What became of a blob or manifest is one of the {@link State}s: the terminal shows its symbol and its word,
 * a pipe its word (one table, {@link states}).
 *
 * Rates and ETAs are estimated from the last {@link RATE_WINDOW_MS} of samples ({@link recentRate}), not the
 * average since the start, and are shown only once bytes have moved for {@link RATE_MIN_SPAN_MS}; blobs under
 * {@link TINY_BYTES} show no rate. On a narrow terminal a live line drops columns ({@link liveLine}) rather
 * than being cut.
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
export type Operation = "pull" | "push" | "copy"

/**
 * The operation the progress belongs to: announced before the bars (`Pulling SRC → DST`, the `Started` event)
 * and naming the word of a transferred blob (`pulled`, `pushed`, `copied`).
 *
 * @internal
 */
export interface Start {
  readonly operation: Operation
  readonly source: string
  readonly destination: string
}

const verbs: Record<Operation, { readonly present: string; readonly past: string }> = {
  pull: { present: "Pulling", past: "pulled" },
  push: { present: "Pushing", past: "pushed" },
  copy: { present: "Copying", past: "copied" }
}

/** The line printed before the bars: `Pulling SRC → DST` (U+2192; the bars need UTF-8 as well). @internal */
export const startLine = (start: Start): string =>
  `${verbs[start.operation].present} ${sanitize(start.source)} \u2192 ${sanitize(start.destination)}`

/**
 * What became of a blob or a manifest:
 *
 * - `transferred`: its bytes moved to the destination (the rest of them, after a resume)
 * - `exists`: the destination had it already; nothing moved
 * - `mounted`: the registry mounted it from another repository; nothing moved
 *
 * @internal
 */
export type State = "transferred" | "exists" | "mounted"

/**
 * The terminal's symbol and the word (on a terminal and on a pipe) of each {@link State}: one table, so that
 * they mean the same. The word of `transferred` is the operation's (`pulled`, `pushed`, `copied`).
 *
 * @internal
 */
export const states = (
  operation: Operation | undefined
): Record<State, { readonly symbol: string; readonly word: string }> => ({
  transferred: { symbol: "\u2714", word: operation === undefined ? "transferred" : verbs[operation].past },
  exists: { symbol: "=", word: "exists" },
  mounted: { symbol: "\u2197", word: "mounted" }
})

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
export const make = (mode: Mode, out: Output = stderr, start?: Start): Renderer => {
  switch (mode) {
    case "none":
      return { emit: () => {}, close: () => {} }
    case "json":
      return json(out, start)
    case "lines":
      return lines(out, start)
    case "tty":
      return tty(out, start)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rates

/** How far back a rate looks: the bytes of the last 3 seconds. @internal */
export const RATE_WINDOW_MS = 3000

/** How long bytes must have moved before a rate (and an ETA) is shown. @internal */
export const RATE_MIN_SPAN_MS = 500

/** Blobs smaller than this show no rate (it would say more about latency than about bandwidth). @internal */
export const TINY_BYTES = 1024 * 1024

/** A blob that moved in less than this shows no rate on its finished line. @internal */
export const TINY_MS = 500

/** The bytes moved so far (cumulative), at a time in milliseconds. @internal */
export interface Sample {
  readonly at: number
  readonly bytes: number
}

/**
 * The recent rate, in bytes per second, of cumulative byte counts sampled in time order: the bytes moved over
 * the last `window` ms before the last sample, divided by the time they took. Samples from before the first
 * bytes moved count only by the last of them (a slow start — connecting, planning, a first request — is no
 * part of the rate). `undefined` until bytes have been moving for `minSpan` ms: no estimate rather than a
 * wild one. A stall brings the rate down to 0 within `window`.
 *
 * @internal
 */
export const recentRate = (
  samples: ReadonlyArray<Sample>,
  options: { readonly window?: number; readonly minSpan?: number } = {}
): number | undefined => {
  const window = options.window ?? RATE_WINDOW_MS
  const minSpan = options.minSpan ?? RATE_MIN_SPAN_MS
  if (samples.length < 2) return undefined
  const last = samples[samples.length - 1]!
  // the last sample before bytes started moving
  let from = 0
  while (from + 1 < samples.length && samples[from + 1]!.bytes <= samples[0]!.bytes) from++
  // the last sample at or before the window's start, if bytes were moving by then
  for (let i = samples.length - 1; i > from; i--) {
    if (samples[i]!.at <= last.at - window) {
      from = i
      break
    }
  }
  const anchor = samples[from]!
  const span = last.at - anchor.at
  if (span < minSpan || span <= 0) return undefined
  return Math.max(0, last.bytes - anchor.bytes) * 1000 / span
}

/** Seconds left at `rate`, or `undefined` when there is no rate or no progress. @internal */
export const etaSeconds = (remaining: number, rate: number | undefined): number | undefined =>
  rate === undefined || rate <= 0 ? undefined : Math.max(0, remaining) / rate

/**
 * Samples of one counter, holding what {@link recentRate} needs (the window, the sample before it, and before
 * any bytes moved only the latest sample).
 *
 * @internal
 */
export const meter = (options: { readonly window?: number; readonly minSpan?: number } = {}) => {
  const window = options.window ?? RATE_WINDOW_MS
  const samples: Array<Sample> = []
  return {
    add: (at: number, bytes: number): void => {
      const first = samples[0]
      const last = samples[samples.length - 1]
      if (first !== undefined && last !== undefined && last.bytes <= first.bytes && bytes <= first.bytes) {
        samples.length = 0
      }
      samples.push({ at, bytes })
      while (samples.length > 2 && samples[1]!.at <= at - window) samples.shift()
    },
    rate: (): number | undefined => recentRate(samples, options)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Layout of a live line

/** What a live line may show, from the most to the least important: it keeps what fits. @internal */
export interface LiveColumns {
  /** `sha256:0123456789ab`, or `total` */
  readonly label: string
  /** A shorter label when the terminal is very narrow (`0123456789ab`). */
  readonly shortLabel: string
  /** `layer`, `config`, …; empty for the total */
  readonly kind: string
  readonly fraction: number
  /** `12.0 MiB / 64.0 MiB` */
  readonly sizes: string
  /** `5.2 MiB/s`, when there is one */
  readonly rate: string | undefined
  /** `ETA 10s`, when there is one */
  readonly eta: string | undefined
}

const BAR_MIN = 10
const BAR_MAX = 30
const LABEL_WIDTH = 19
const KIND_WIDTH = 6

const bar = (fraction: number, width: number) => {
  const filled = Math.max(0, Math.min(width, Math.floor(fraction * width)))
  return "\u2588".repeat(filled) + "\u2591".repeat(width - filled)
}

const percent = (fraction: number) => `${Math.floor(Math.max(0, Math.min(1, fraction)) * 100)}%`.padStart(4)

/**
 * One live line at most `columns - 1` characters wide (the last column would make some terminals wrap). Columns
 * are dropped in this order until the line fits, the bar shrinking from 30 to 10 characters first: the rate,
 * the ETA, the sizes (a percentage instead), the kind, the bar, the digest's algorithm. Only a terminal
 * narrower than the shortest form (~18 columns) cuts it.
 *
 * @internal
 */
export const liveLine = (columns: number, c: LiveColumns): string => {
  const width = Math.max(1, columns - 1)
  const label = c.label.padEnd(LABEL_WIDTH)
  const kindCell = c.kind.padEnd(KIND_WIDTH)
  const tail = (parts: ReadonlyArray<string | undefined>) => parts.filter((p) => p !== undefined).join("  ")
  // [before the bar, after the bar]; undefined: no bar
  const forms: Array<readonly [string, string | undefined]> = [
    [`${label} ${kindCell}`, tail([c.sizes, c.rate, c.eta])],
    [`${label} ${kindCell}`, tail([c.sizes, c.eta])],
    [`${label} ${kindCell}`, c.sizes],
    [`${label} ${kindCell}`, percent(c.fraction)],
    [label, percent(c.fraction)],
    [`${c.label} ${percent(c.fraction)}`, undefined],
    [`${c.shortLabel} ${percent(c.fraction)}`, undefined]
  ]
  for (const [head, after] of forms) {
    if (after === undefined) {
      if (head.length <= width) return head
      continue
    }
    const room = width - head.length - after.length - 3
    if (room >= BAR_MIN) return `${head}  ${bar(c.fraction, Math.min(BAR_MAX, room))} ${after}`
  }
  return forms[forms.length - 1]![0].slice(0, width)
}

/**
 * A finished line on a terminal: the state's symbol and word, the digest, kind, size, rate and detail (tags,
 * mount source, resume). On a narrow terminal it drops the rate, then the kind; what is left may wrap (these
 * lines are not redrawn).
 */
const fitted = (columns: number, forms: ReadonlyArray<string>): string =>
  forms.find((f) => f.length <= columns - 1) ?? forms[forms.length - 1]!

// ---------------------------------------------------------------------------------------------------------------
// Renderers

/**
 * Writes `line` once, before the first event: a command that fails before it has planned anything (no such
 * image, no such path, no access) says only what failed.
 */
const announcer = (out: Output, line: string | undefined) => {
  let pending = line
  return () => {
    if (pending === undefined) return
    out.write(pending + "\n")
    pending = undefined
  }
}

const json = (out: Output, start: Start | undefined): Renderer => {
  const announce = announcer(
    out,
    start === undefined ? undefined : JSON.stringify({
      event: "Started",
      operation: start.operation,
      source: start.source,
      destination: start.destination
    })
  )
  const last = new Map<string, number>()
  return {
    emit: (event) => {
      announce()
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
  readonly meter: ReturnType<typeof meter>
}

const activeOf = (event: Progress.BlobStarted, now: number): Active => ({
  digest: event.digest,
  mediaType: event.mediaType,
  size: event.size,
  started: now,
  offset: event.offset,
  transferred: event.offset,
  meter: meter()
})

/** A finished blob's average rate, unless it is tiny (under {@link TINY_BYTES} or {@link TINY_MS}). */
const finishedRate = (moved: number, millis: number): string | undefined =>
  moved >= TINY_BYTES && millis >= TINY_MS ? Format.rate(moved * 1000 / millis) : undefined

/** What a finished blob or manifest line says, for both renderers. */
interface Finished {
  readonly state: State
  readonly digest: string
  readonly kind: string
  readonly size: number
  readonly rate: string | undefined
  /** `tagged 1.0`, `from library/base`, `resumed: 1.0 MiB moved`; starts with two spaces */
  readonly detail: string
}

const finishedOf = (
  event: Exclude<Progress.Event, Progress.Planned | Progress.BlobStarted | Progress.BlobProgress>,
  started: Active | undefined,
  now: number
): Finished => {
  const base = { digest: short(event.digest), kind: kind(event.mediaType), size: event.size }
  switch (event._tag) {
    case "BlobDone": {
      const resumed = event.transferred < event.size ? `  resumed: ${Format.bytes(event.transferred)} moved` : ""
      const rate = started === undefined ? undefined : finishedRate(event.transferred, now - started.started)
      return { ...base, state: "transferred", rate, detail: resumed }
    }
    case "ManifestDone":
      return { ...base, state: "transferred", rate: undefined, detail: tagged(event.tags) }
    case "BlobMounted":
      return { ...base, state: "mounted", rate: undefined, detail: `  from ${sanitize(event.from)}` }
    case "BlobSkipped":
    case "ManifestSkipped":
      return { ...base, state: "exists", rate: undefined, detail: "" }
  }
}

const lines = (out: Output, start: Start | undefined): Renderer => {
  const table = states(start?.operation)
  const announce = announcer(out, start === undefined ? undefined : startLine(start))
  const started = new Map<string, Active>()
  return {
    emit: (event) => {
      announce()
      switch (event._tag) {
        case "Planned":
        case "BlobProgress":
          return
        case "BlobStarted":
          started.set(event.digest, activeOf(event, out.now()))
          return
        default: {
          const a = started.get(event.digest)
          started.delete(event.digest)
          const f = finishedOf(event, a, out.now())
          out.write(
            `${table[f.state].word.padEnd(8)} ${f.digest}  ${f.kind}  ${Format.bytes(f.size)}${
              f.rate === undefined ? "" : `, ${f.rate}`
            }${f.detail}\n`
          )
        }
      }
    },
    close: () => {}
  }
}

const MAX_BARS = 8
const ESC = "\x1b["

const tty = (out: Output, start: Start | undefined): Renderer => {
  const table = states(start?.operation)
  const active = new Map<string, Active>()
  const pending: Array<string> = []
  let plannedBytes = 0
  // sizes of the finished blobs (for the total's bar) and the bytes this run moved for them (for its rate)
  let doneBytes = 0
  let movedBytes = 0
  const total = meter()
  let drawn = 0
  let closed = false
  let cursorHidden = false
  const announce = announcer(out, start === undefined ? undefined : startLine(start))

  const live = (label: string, shortLabel: string, kindText: string, a: {
    readonly transferred: number
    readonly size: number
    readonly rate: number | undefined
  }) =>
    liveLine(out.columns(), {
      label,
      shortLabel,
      kind: kindText,
      fraction: a.size > 0 ? a.transferred / a.size : 1,
      sizes: `${Format.bytes(a.transferred)} / ${Format.bytes(a.size)}`,
      rate: a.rate === undefined ? undefined : Format.rate(a.rate),
      eta: ((eta) => eta === undefined ? undefined : `ETA ${Format.duration(eta)}`)(
        etaSeconds(a.size - a.transferred, a.rate)
      )
    })

  const render = () => {
    const now = out.now()
    let text = ""
    if (drawn > 0) text += `${ESC}${drawn}A\r${ESC}J`
    else text += "\r"
    for (const line of pending) text += line + "\n"
    pending.length = 0
    const lines: Array<string> = []
    let inFlight = 0
    let inFlightMoved = 0
    for (const a of active.values()) {
      inFlight += a.transferred
      inFlightMoved += a.transferred - a.offset
      a.meter.add(now, a.transferred)
    }
    for (const a of [...active.values()].slice(0, MAX_BARS)) {
      const digest = short(a.digest)
      lines.push(
        live(digest, digest.slice(digest.indexOf(":") + 1), kind(a.mediaType), {
          transferred: a.transferred,
          size: a.size,
          rate: a.size < TINY_BYTES ? undefined : a.meter.rate()
        })
      )
    }
    if (active.size > MAX_BARS) lines.push(`\u2026 and ${active.size - MAX_BARS} more`.slice(0, out.columns() - 1))
    if (plannedBytes > 0 && !closed) {
      total.add(now, movedBytes + inFlightMoved)
      lines.push(live("total", "total", "", {
        transferred: Math.min(plannedBytes, doneBytes + inFlight),
        size: plannedBytes,
        rate: total.rate()
      }))
    }
    for (const line of lines) text += line + "\n"
    drawn = lines.length
    out.write(text)
  }

  const finished = (f: Finished) => {
    const { symbol, word } = table[f.state]
    const size = Format.bytes(f.size)
    const rate = f.rate === undefined ? "" : `, ${f.rate}`
    pending.push(fitted(out.columns(), [
      `${symbol} ${word.padEnd(7)} ${f.digest} ${f.kind.padEnd(KIND_WIDTH)}  ${size}${rate}${f.detail}`,
      `${symbol} ${word.padEnd(7)} ${f.digest} ${f.kind.padEnd(KIND_WIDTH)}  ${size}${f.detail}`,
      `${symbol} ${word.padEnd(7)} ${f.digest}  ${size}${f.detail}`,
      `${symbol} ${word} ${f.digest}${f.detail}`
    ]))
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
        announce()
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
        case "BlobDone": {
          const a = active.get(event.digest)
          active.delete(event.digest)
          doneBytes += event.size
          movedBytes += event.transferred
          finished(finishedOf(event, a, out.now()))
          return
        }
        default:
          finished(finishedOf(event, undefined, out.now()))
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

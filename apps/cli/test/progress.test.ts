// In-process tests of the progress renderer's pieces: the recent-rate estimator (deterministic samples), the
// layout of a live line at several terminal widths, the start line, and the words and symbols of each state.
import { afterEach, beforeEach, describe, expect, it, vi } from "@effect/vitest"
import type * as Progress from "ocidist/Progress"
import * as Renderer from "../src/internal/progress.js"

const MiB = 1024 * 1024
const digest = (c: string) => `sha256:${c.repeat(64)}` as Progress.BlobDone["digest"]
const layer = "application/vnd.oci.image.layer.v1.tar+gzip"
const config = "application/vnd.oci.image.config.v1+json"
const manifest = "application/vnd.oci.image.manifest.v1+json"

const fakeOutput = (columns = 100) => {
  let now = 0
  let text = ""
  const out: Renderer.Output = { write: (t) => (text += t), columns: () => columns, now: () => now }
  return { out, text: () => text, advance: (ms: number) => (now += ms) }
}

/** Samples every `step` ms from 0 to `until` of a counter whose bytes at time t are `bytesAt(t)`. */
const sampled = (until: number, bytesAt: (t: number) => number, step = 100): Array<Renderer.Sample> => {
  const samples: Array<Renderer.Sample> = []
  for (let at = 0; at <= until; at += step) samples.push({ at, bytes: Math.floor(bytesAt(at)) })
  return samples
}

describe("recent rate", () => {
  it("no estimate from fewer than two samples, or before bytes have moved for half a second", () => {
    expect(Renderer.recentRate([])).toBeUndefined()
    expect(Renderer.recentRate([{ at: 0, bytes: 0 }])).toBeUndefined()
    expect(Renderer.recentRate([{ at: 0, bytes: 0 }, { at: 400, bytes: 400_000 }])).toBeUndefined()
    expect(Renderer.recentRate([{ at: 0, bytes: 0 }, { at: 500, bytes: 500_000 }])).toBe(1_000_000)
  })

  it("a slow start (connecting, planning) is no part of the rate", () => {
    // nothing for 0.7 s, then 1 MB/s
    const bytesAt = (t: number) => Math.max(0, t - 700) * 1000
    expect(Renderer.recentRate(sampled(1100, bytesAt))).toBeUndefined()
    expect(Renderer.recentRate(sampled(1200, bytesAt))).toBe(1_000_000)
    expect(Renderer.recentRate(sampled(2000, bytesAt))).toBe(1_000_000)
  })

  it("follows the last 3 seconds, not the average since the start", () => {
    // 1 MB/s for 5 s, then 4 MB/s
    const bytesAt = (t: number) => t <= 5000 ? t * 1000 : 5_000_000 + (t - 5000) * 4000
    expect(Renderer.recentRate(sampled(5000, bytesAt))).toBe(1_000_000)
    expect(Renderer.recentRate(sampled(6500, bytesAt))).toBe(2_500_000)
    expect(Renderer.recentRate(sampled(8000, bytesAt))).toBe(4_000_000)
    expect(Renderer.recentRate(sampled(20_000, bytesAt))).toBe(4_000_000)
  })

  it("a stall brings the rate down to 0 (and the ETA away) within the window", () => {
    const bytesAt = (t: number) => Math.min(t, 2000) * 1000
    expect(Renderer.recentRate(sampled(3500, bytesAt))).toBe(500_000)
    expect(Renderer.recentRate(sampled(5000, bytesAt))).toBe(0)
    expect(Renderer.etaSeconds(1_000_000, 0)).toBeUndefined()
    expect(Renderer.etaSeconds(1_000_000, undefined)).toBeUndefined()
    expect(Renderer.etaSeconds(3_000_000, 1_000_000)).toBe(3)
  })

  it("the issue's pull: 4 s, the first 0.7 s without bytes; the ETA is absent or right, never a minute", () => {
    const size = 33_000_000
    const bytesAt = (t: number) => Math.min(size, Math.max(0, t - 700) * 10_000)
    for (let until = 100; until <= 4000; until += 50) {
      const samples = sampled(until, bytesAt, 50)
      const eta = Renderer.etaSeconds(size - bytesAt(until), Renderer.recentRate(samples))
      const truth = (4000 - until) / 1000
      if (until < 1200) expect(eta, `at ${until} ms`).toBeUndefined()
      else expect(Math.abs(eta! - truth), `at ${until} ms`).toBeLessThan(0.01)
      // the average since the start would have said 49 s
      if (until === 750) expect((size - bytesAt(until)) / (bytesAt(until) / 0.75)).toBeGreaterThan(45)
    }
  })

  it("a meter keeps what the estimate needs and agrees with it", () => {
    const bytesAt = (t: number) => t < 1000 ? 0 : t < 6000 ? (t - 1000) * 2000 : 10_000_000 + (t - 6000) * 500
    const m = Renderer.meter()
    const all: Array<Renderer.Sample> = []
    for (let at = 0; at <= 12_000; at += 100) {
      m.add(at, bytesAt(at))
      all.push({ at, bytes: bytesAt(at) })
      expect(m.rate(), `at ${at} ms`).toBe(Renderer.recentRate(all))
    }
  })
})

describe("live line layout", () => {
  const columns: Renderer.LiveColumns = {
    label: "sha256:aaaaaaaaaaaa",
    shortLabel: "aaaaaaaaaaaa",
    kind: "layer",
    fraction: 0.42,
    sizes: "26.9 MiB / 64.0 MiB",
    rate: "5.2 MiB/s",
    eta: "ETA 8s"
  }
  const parts = ["sha256:aaaaaaaaaaaa", "layer", "26.9 MiB / 64.0 MiB", "5.2 MiB/s", "ETA 8s", "42%"]
  const shown = (line: string) => parts.filter((p) => line.includes(p))

  it("never wider than the terminal (less its last column), whole columns only", () => {
    for (const width of [200, 120, 100, 80, 79, 70, 60, 50, 45, 40, 35, 30, 25, 20, 18]) {
      const line = Renderer.liveLine(width, columns)
      expect(line.length, `at ${width} columns: ${line}`).toBeLessThan(width)
      // every word is one of the columns, a bar, or padding: nothing cut in the middle
      const words = [
        "sha256:aaaaaaaaaaaa",
        "aaaaaaaaaaaa",
        "layer",
        "26.9",
        "MiB",
        "/",
        "64.0",
        "5.2",
        "MiB/s",
        "ETA",
        "8s"
      ]
      for (const word of line.split(/\s+/).filter((w) => w !== "" && !/^[\u2588\u2591]+$/.test(w))) {
        expect([...words, "42%"]).toContain(word)
      }
    }
  })

  it("drops the rate, the ETA, the sizes, the kind, the bar, then the algorithm, in that order", () => {
    expect(Renderer.liveLine(120, columns)).toBe(
      `sha256:aaaaaaaaaaaa layer   ${"\u2588".repeat(12)}${"\u2591".repeat(18)} 26.9 MiB / 64.0 MiB  5.2 MiB/s  ETA 8s`
    )
    expect(shown(Renderer.liveLine(80, columns))).toEqual(parts.slice(0, 5))
    expect(shown(Renderer.liveLine(70, columns))).toEqual([
      "sha256:aaaaaaaaaaaa",
      "layer",
      "26.9 MiB / 64.0 MiB",
      "ETA 8s"
    ])
    expect(shown(Renderer.liveLine(60, columns))).toEqual(["sha256:aaaaaaaaaaaa", "layer", "26.9 MiB / 64.0 MiB"])
    expect(shown(Renderer.liveLine(45, columns))).toEqual(["sha256:aaaaaaaaaaaa", "layer", "42%"])
    expect(shown(Renderer.liveLine(40, columns))).toEqual(["sha256:aaaaaaaaaaaa", "42%"])
    expect(Renderer.liveLine(40, columns)).toMatch(/^sha256:a{12} {2}[\u2588\u2591]{13} {2}42%$/)
    expect(Renderer.liveLine(30, columns)).toBe("sha256:aaaaaaaaaaaa  42%")
    expect(Renderer.liveLine(20, columns)).toBe("aaaaaaaaaaaa  42%")
    // narrower than the shortest form: cut, still within the width
    expect(Renderer.liveLine(10, columns)).toBe("aaaaaaaaa")
  })

  it("a line without a rate or an ETA (not enough signal, a tiny blob) keeps the bar wide", () => {
    const line = Renderer.liveLine(100, { ...columns, rate: undefined, eta: undefined })
    expect(line).toBe(
      `sha256:aaaaaaaaaaaa layer   ${"\u2588".repeat(12)}${"\u2591".repeat(18)} 26.9 MiB / 64.0 MiB`
    )
  })
})

describe("renderers", () => {
  const start: Renderer.Start = { operation: "pull", source: "registry.example/app:1", destination: "oci:out" }
  const events = (): ReadonlyArray<readonly [number, Progress.Event]> => [
    [0, { _tag: "Planned", manifests: 1, blobs: 2, bytes: 4 * MiB + 100, skipped: 1, mounts: 1 }],
    [0, { _tag: "BlobStarted", digest: digest("a"), mediaType: layer, size: 4 * MiB, offset: 0 }],
    [0, { _tag: "BlobStarted", digest: digest("d"), mediaType: config, size: 100, offset: 0 }],
    [600, { _tag: "BlobDone", digest: digest("d"), mediaType: config, size: 100, transferred: 100 }],
    [0, { _tag: "BlobSkipped", digest: digest("b"), mediaType: layer, size: 2 * MiB }],
    [0, { _tag: "BlobMounted", digest: digest("e"), mediaType: layer, size: 3 * MiB, from: "library/base" }],
    [1400, { _tag: "BlobDone", digest: digest("a"), mediaType: layer, size: 4 * MiB, transferred: 4 * MiB }],
    [0, { _tag: "ManifestSkipped", digest: digest("f"), mediaType: manifest, size: 400 }],
    [0, { _tag: "ManifestDone", digest: digest("c"), mediaType: manifest, size: 500, tags: ["1.0"] }]
  ]

  it("pipe: the start line, then one line per blob and manifest, in the words of the table", () => {
    const f = fakeOutput()
    const r = Renderer.make("lines", f.out, start)
    for (const [ms, e] of events()) {
      f.advance(ms)
      r.emit(e)
    }
    r.close()
    expect(f.text().split("\n").filter((l) => l !== "")).toEqual([
      "Pulling registry.example/app:1 \u2192 oci:out",
      // a tiny blob (100 B) shows no rate; 4 MiB in 2 s does
      "pulled   sha256:dddddddddddd  config  100 B",
      "exists   sha256:bbbbbbbbbbbb  layer  2.0 MiB",
      "mounted  sha256:eeeeeeeeeeee  layer  3.0 MiB  from library/base",
      "pulled   sha256:aaaaaaaaaaaa  layer  4.0 MiB, 2.0 MiB/s",
      "exists   sha256:ffffffffffff  manifest  400 B",
      "pulled   sha256:cccccccccccc  manifest  500 B  tagged 1.0"
    ])
  })

  it("the word of a transferred blob is the operation's; a resumed blob says what moved", () => {
    for (const [operation, word] of [["pull", "pulled"], ["push", "pushed"], ["copy", "copied"]] as const) {
      const f = fakeOutput()
      const r = Renderer.make("lines", f.out, { operation, source: "a", destination: "b" })
      r.emit({ _tag: "BlobStarted", digest: digest("a"), mediaType: layer, size: 3 * MiB, offset: MiB })
      f.advance(1000)
      r.emit({ _tag: "BlobDone", digest: digest("a"), mediaType: layer, size: 3 * MiB, transferred: 2 * MiB })
      expect(f.text().split("\n")[1]).toBe(
        `${word.padEnd(8)} sha256:aaaaaaaaaaaa  layer  3.0 MiB, 2.0 MiB/s  resumed: 2.0 MiB moved`
      )
    }
    expect(Renderer.startLine({ operation: "push", source: "oci:dir", destination: "r/x:1" })).toBe(
      "Pushing oci:dir \u2192 r/x:1"
    )
    expect(Renderer.startLine({ operation: "copy", source: "a\x1b[2J", destination: "b" })).toBe(
      "Copying a\\x1b[2J \u2192 b"
    )
  })

  it("json: a Started event first, then the events", () => {
    const f = fakeOutput()
    const r = Renderer.make("json", f.out, start)
    for (const [, e] of events()) r.emit(e)
    const lines = f.text().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines[0]).toEqual({
      event: "Started",
      operation: "pull",
      source: "registry.example/app:1",
      destination: "oci:out"
    })
    expect(lines[1]).toMatchObject({ event: "Planned" })
    expect(lines).toHaveLength(events().length + 1)
  })

  it("quiet: nothing, not even the start line; the others announce with the first event, not before", () => {
    for (const mode of ["none", "lines", "json", "tty"] as const) {
      const f = fakeOutput()
      Renderer.make(mode, f.out, start).close()
      // eslint-disable-next-line no-control-regex
      expect(f.text().replace(/\x1b\[[0-9;?]*[A-Za-z]|\r/g, ""), mode).toBe("")
    }
  })

  describe("terminal", () => {
    beforeEach(() => {
      vi.useFakeTimers()
    })
    afterEach(() => {
      vi.useRealTimers()
    })

    /** Runs the events with redraws every 100 ms; returns each redraw's visible lines. */
    const run = (columns: number, timeline: ReadonlyArray<readonly [number, Progress.Event]>) => {
      const f = fakeOutput(columns)
      const r = Renderer.make("tty", f.out, start)
      const frames: Array<string> = []
      let seen = 0
      const frame = () => {
        frames.push(f.text().slice(seen))
        seen = f.text().length
      }
      frame()
      for (const [ms, e] of timeline) {
        for (let t = 0; t < ms; t += 100) {
          f.advance(100)
          vi.advanceTimersByTime(100)
          frame()
        }
        r.emit(e)
      }
      r.close()
      frame()
      // eslint-disable-next-line no-control-regex
      const visible = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").split(/\r|\n/).filter((l) => l !== "")
      return { frames: frames.map(visible), text: f.text() }
    }

    /** A 20 MiB blob at 5 MiB/s after 0.6 s of nothing. */
    const slow: ReadonlyArray<readonly [number, Progress.Event]> = [
      [0, { _tag: "Planned", manifests: 1, blobs: 1, bytes: 20 * MiB, skipped: 0, mounts: 0 }],
      [0, { _tag: "BlobStarted", digest: digest("a"), mediaType: layer, size: 20 * MiB, offset: 0 }],
      ...Array.from({ length: 40 }, (_, i) =>
        [i === 0 ? 700 : 100, {
          _tag: "BlobProgress",
          digest: digest("a"),
          size: 20 * MiB,
          transferred: (i + 1) * MiB / 2
        }] as const),
      [0, { _tag: "BlobDone", digest: digest("a"), mediaType: layer, size: 20 * MiB, transferred: 20 * MiB }]
    ]

    it("the start line, then bars; no ETA until bytes have moved for half a second, then a right one", () => {
      const { frames } = run(120, slow)
      // announced with the first event, not before
      expect(frames[0]).toEqual([])
      expect(frames[1]![0]).toBe("Pulling registry.example/app:1 \u2192 oci:out")
      const etas = frames.map((lines) => {
        const total = lines.find((l) => l.startsWith("total"))
        const m = total === undefined ? undefined : /ETA (\d+)s/.exec(total)
        return m === null || m === undefined ? undefined : Number(m[1])
      })
      // the first bytes arrive 0.7 s in (frame 7); 0.5 s later (frame 12) an ETA appears
      expect(etas.slice(0, 12).filter((e) => e !== undefined)).toEqual([])
      // frame n: (n - 7) × 0.5 MiB moved at 5 MiB/s, 20 MiB in all: ETA = ceil((40 - (n - 7)) / 10) s
      for (let n = 12; n < 46; n++) expect(etas[n], `frame ${n}`).toBe(Math.ceil((40 - (n - 7)) / 10))
      expect(frames.at(-1)).toEqual(["\u2714 pulled  sha256:aaaaaaaaaaaa layer   20.0 MiB, 4.3 MiB/s"])
    })

    it("finished lines: symbol and word of the same state; tiny blobs without a rate", () => {
      const { frames } = run(120, events())
      const finished = frames.flat().filter((l) => /^[\u2714=\u2197] /.test(l))
      expect(finished).toEqual([
        "\u2714 pulled  sha256:dddddddddddd config  100 B",
        "= exists  sha256:bbbbbbbbbbbb layer   2.0 MiB",
        "\u2197 mounted sha256:eeeeeeeeeeee layer   3.0 MiB  from library/base",
        "\u2714 pulled  sha256:aaaaaaaaaaaa layer   4.0 MiB, 2.0 MiB/s",
        "= exists  sha256:ffffffffffff manifest  400 B",
        "\u2714 pulled  sha256:cccccccccccc manifest  500 B  tagged 1.0"
      ])
    })

    it("a narrow terminal: every live line fits, columns dropped, none cut", () => {
      for (const columns of [40, 60]) {
        const { frames } = run(columns, slow)
        const live = frames.flat().filter((l) => /[\u2588\u2591]|%$/.test(l))
        expect(live.length).toBeGreaterThan(10)
        for (const l of live) expect(l.length, l).toBeLessThan(columns)
        expect(live.filter((l) => /ETA|\/s/.test(l))).toEqual([])
      }
    })
  })
})

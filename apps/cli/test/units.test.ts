// In-process tests of the pieces that need no registry: global option placement, exit code mapping, the
// progress renderers (on a fake stderr with a fake clock) and formatting.
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Progress from "ocidist/Progress"
import * as ExitCode from "../src/ExitCode.js"
import { hoistGlobals, isJson, isVerbose } from "../src/internal/argv.js"
import * as Format from "../src/internal/format.js"
import * as Services from "../src/internal/ops/services.js"
import * as Renderer from "../src/internal/progress.js"

const digest = (c: string) => `sha256:${c.repeat(64)}` as Progress.BlobDone["digest"]

const fakeOutput = () => {
  let now = 0
  let text = ""
  const out: Renderer.Output = { write: (t) => (text += t), columns: () => 100, now: () => now }
  return { out, text: () => text, advance: (ms: number) => (now += ms) }
}

describe("argv", () => {
  it("moves global options in front of the command, keeping their values", () => {
    expect(hoistGlobals(["node", "ocidist", "pull", "a", "b", "--json", "--platform", "linux/arm64", "-j", "8"]))
      .toEqual(["node", "ocidist", "--json", "--platform", "linux/arm64", "-j", "8", "pull", "a", "b"])
    expect(hoistGlobals(["node", "ocidist", "tags", "r", "--platform=linux/amd64", "-q"]))
      .toEqual(["node", "ocidist", "--platform", "linux/amd64", "-q", "tags", "r"])
  })

  it("leaves everything after -- alone", () => {
    expect(hoistGlobals(["node", "ocidist", "ref", "--", "--json"])).toEqual(["node", "ocidist", "ref", "--", "--json"])
    expect(isJson(["ref", "--", "--json"])).toBe(false)
    expect(isVerbose(["digest", "-v", "x"])).toBe(true)
  })
})

describe("exit codes", () => {
  it.each([
    [{ _tag: "NotFound" }, 3],
    [{ _tag: "PlatformNotFound" }, 3],
    [{ _tag: "ImageNotFound" }, 3],
    [{ _tag: "BlobNotFound" }, 3],
    [{ _tag: "ContentNotFound" }, 3],
    [{ _tag: "CredentialsRejected" }, 4],
    [{ _tag: "LoginError", status: 403 }, 4],
    [{ _tag: "InvalidTag" }, 2],
    [{ _tag: "InvalidDigest" }, 2],
    [{ _tag: "UnsupportedOperation" }, 2],
    [{ _tag: "Unauthorized" }, 4],
    [{ _tag: "Denied" }, 4],
    [{ _tag: "InsufficientScope" }, 4],
    [{ _tag: "TokenExchangeError", status: 401 }, 4],
    [{ _tag: "TokenExchangeError", status: 500 }, 1],
    [{ _tag: "DigestMismatch" }, 5],
    [{ _tag: "SizeMismatch" }, 5],
    [{ _tag: "InvalidManifest" }, 5],
    [{ _tag: "InvalidReference" }, 2],
    [{ _tag: "InvalidLocation" }, 2],
    [{ _tag: "UsageError" }, 2],
    [{ _tag: "CliFailure", exitCode: 2 }, 2],
    [{ _tag: "TransportError" }, 1],
    [{ _tag: "InvalidOptions" }, 2],
    [{ _tag: "ListenFailed" }, 1],
    [{ _tag: "StorageUnavailable" }, 1],
    [new Error("boom"), 1]
  ])("%o → %i", (error, code) => {
    expect(ExitCode.forError(error)).toBe(code)
  })
})

describe("progress", () => {
  const events: ReadonlyArray<Progress.Event> = [
    { _tag: "Planned", manifests: 1, blobs: 2, bytes: 3 * 1024 * 1024, skipped: 1, mounts: 0 },
    {
      _tag: "BlobStarted",
      digest: digest("a"),
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      size: 3145728,
      offset: 0
    },
    { _tag: "BlobProgress", digest: digest("a"), size: 3145728, transferred: 1048576 },
    { _tag: "BlobProgress", digest: digest("a"), size: 3145728, transferred: 2097152 },
    {
      _tag: "BlobDone",
      digest: digest("a"),
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      size: 3145728,
      transferred: 3145728
    },
    { _tag: "BlobSkipped", digest: digest("b"), mediaType: "application/vnd.oci.image.config.v1+json", size: 10 },
    {
      _tag: "ManifestDone",
      digest: digest("c"),
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 500,
      tags: ["1.0"]
    }
  ]

  it("lines: one line per finished blob and manifest, no escapes", () => {
    const f = fakeOutput()
    const r = Renderer.make("lines", f.out)
    for (const e of events) {
      f.advance(500)
      r.emit(e)
    }
    r.close()
    expect(f.text().split("\n").filter((l) => l !== "")).toEqual([
      "done     sha256:aaaaaaaaaaaa  layer  3.0 MiB, 2.0 MiB/s",
      "exists   sha256:bbbbbbbbbbbb  config  10 B",
      "manifest sha256:cccccccccccc  manifest  500 B  tagged 1.0"
    ])
  })

  it("json: NDJSON with the event name, progress throttled per blob", () => {
    const f = fakeOutput()
    const r = Renderer.make("json", f.out)
    for (const e of events) r.emit(e)
    const lines = f.text().trim().split("\n").map((l) => JSON.parse(l))
    expect(lines.map((l) => l.event)).toEqual([
      "Planned",
      "BlobStarted",
      "BlobProgress",
      "BlobDone",
      "BlobSkipped",
      "ManifestDone"
    ])
    expect(lines[2]).toEqual({ event: "BlobProgress", digest: digest("a"), size: 3145728, transferred: 1048576 })
  })

  it("tty: ANSI bars with bytes, rate and ETA; the cursor comes back", () => {
    const f = fakeOutput()
    const r = Renderer.make("tty", f.out)
    r.emit(events[0]!)
    r.emit(events[1]!)
    f.advance(1000)
    r.emit(events[2]!)
    r.close()
    const text = f.text()
    expect(text).toContain("\x1b[?25l")
    expect(text).toContain("\x1b[?25h")
    r.emit(events[3]!)
    expect(f.text()).toBe(text)
  })

  it("none: nothing", () => {
    const f = fakeOutput()
    const r = Renderer.make("none", f.out)
    for (const e of events) r.emit(e)
    r.close()
    expect(f.text()).toBe("")
  })

  it("mode: --quiet wins, then --json, then the terminal", () => {
    expect(Renderer.modeOf({ json: true, quiet: true }, true)).toBe("none")
    expect(Renderer.modeOf({ json: true, quiet: false }, true)).toBe("json")
    expect(Renderer.modeOf({ json: false, quiet: false }, true)).toBe("tty")
    expect(Renderer.modeOf({ json: false, quiet: false }, false)).toBe("lines")
  })
})

describe("format", () => {
  it("bytes, durations, digests, tables", () => {
    expect(Format.bytes(0)).toBe("0 B")
    expect(Format.bytes(1536)).toBe("1.5 KiB")
    expect(Format.bytes(200 * 1024 * 1024)).toBe("200 MiB")
    expect(Format.duration(75)).toBe("1m15s")
    expect(Format.duration(Number.NaN)).toBe("--")
    expect(Format.shortDigest(digest("f"))).toBe("sha256:ffffffffffff")
    expect(Format.table([["a", "bb", "c"], ["ccc", "d", "e"]])).toBe("a    bb  c\nccc  d   e")
  })
})

describe("services", () => {
  const globals = {
    json: false,
    quiet: false,
    verbose: false,
    insecure: false,
    plainHttp: false,
    platform: Option.none(),
    jobs: Option.none()
  }

  it("--insecure and --plain-http apply to every registry; OCIDIST_* per registry", async () => {
    const options = await Effect.runPromise(
      Services.registryOptions({ ...globals, insecure: true, plainHttp: true }).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OCIDIST_INSECURE", "registry.internal:5000"]])))
      )
    )
    expect(options).toMatchObject({
      insecure: true,
      plainHttp: true,
      registries: { "registry.internal:5000": { insecure: true } }
    })
    const none = await Effect.runPromise(
      Services.registryOptions(globals).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
    )
    expect(none.insecure).toBeUndefined()
    expect(none.plainHttp).toBeUndefined()
  })

  it("a variable that cannot be read is a usage error naming it, not ignored", async () => {
    const error = await Effect.runPromise(
      Effect.flip(Services.registryOptions(globals)).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OCIDIST_TIMEOUT", "banana"]])))
      )
    )
    expect(error._tag).toBe("UsageError")
    expect(error.message).toContain("OCIDIST_TIMEOUT")
    expect(error.message).toContain("banana")
    expect(ExitCode.forError(error)).toBe(2)
  })

  it("redacts secret-looking query parameters in logged URLs", () => {
    expect(Services.redactUrl("https://s3.example.com/blob?X-Amz-Signature=abc&X-Amz-Date=1&token=t"))
      .toBe("https://s3.example.com/blob?X-Amz-Signature=%3Credacted%3E&X-Amz-Date=1&token=%3Credacted%3E")
  })
})

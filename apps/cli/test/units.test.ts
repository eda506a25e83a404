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
import * as Redact from "../src/internal/redact.js"
import { sanitize } from "../src/internal/terminal.js"
import * as Timeout from "../src/internal/timeout.js"

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
    [{ _tag: "UnsupportedMediaType" }, 5],
    [{ _tag: "SizeExceeded" }, 5],
    [{ _tag: "InvalidResponse", cause: { _tag: "InvalidManifest" } }, 5],
    [{ _tag: "InvalidResponse", reason: "missing Location" }, 1],
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
      "transferred sha256:aaaaaaaaaaaa  layer  3.0 MiB, 2.0 MiB/s",
      "exists   sha256:bbbbbbbbbbbb  config  10 B",
      "transferred sha256:cccccccccccc  manifest  500 B  tagged 1.0"
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

  it("what events carry from a registry is escaped, on a pipe and on a terminal", () => {
    const hostile: ReadonlyArray<Progress.Event> = [
      { _tag: "BlobStarted", digest: digest("a"), mediaType: "x/\x1b]0;owned\x07", size: 10, offset: 0 },
      { _tag: "BlobDone", digest: digest("a"), mediaType: "x/\x1b]0;owned\x07", size: 10, transferred: 10 },
      { _tag: "BlobMounted", digest: digest("b"), mediaType: "x/y", size: 1, from: "repo\nDigest: sha256:0000" },
      { _tag: "ManifestDone", digest: digest("c"), mediaType: "x/\u009b2J", size: 1, tags: ["1\x1b[2J", "\u202eb"] }
    ]
    for (const mode of ["lines", "tty"] as const) {
      const f = fakeOutput()
      const r = Renderer.make(mode, f.out)
      for (const e of hostile) r.emit(e)
      r.close()
      const text = f.text()
      // the renderer's own sequences (cursor, redraw, carriage returns) are the only controls
      const own = ["\x1b[?25l", "\x1b[?25h", "\x1b[J", "\x1b[1A", "\x1b[2A", "\x1b[3A", "\r"]
      const rest = own.reduce((t, sequence) => t.split(sequence).join(""), text)
      expect([...rest].filter((c) => {
        const code = c.charCodeAt(0)
        return (code < 0x20 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e)
      })).toEqual([])
      expect(text).toContain("x/\\x1b]0;owned\\x07")
      expect(text).toContain("repo\\x0aDigest: sha256:0000")
      expect(text).toContain("tagged 1\\x1b[2J, \\u202eb")
    }
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
    expect(Format.table([["a", "bb", "c"], ["ccc", "d", "e"]])).toEqual(["a    bb  c", "ccc  d   e"])
    expect(Format.table([["a\x1b[2J", "b"], ["c", "d"]])).toEqual(["a\\x1b[2J  b", "c         d"])
  })
})

describe("services", () => {
  const globals = {
    json: false,
    quiet: false,
    verbose: false,
    insecure: false,
    plainHttp: false,
    tls: false,
    platform: Option.none(),
    jobs: Option.none(),
    timeout: Option.none()
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
})

describe("terminal", () => {
  it("escapes C0, DEL, C1 and bidi controls visibly; a line escapes line feeds, a text keeps them", () => {
    expect(sanitize("\x1b]0;owned\x07")).toBe("\\x1b]0;owned\\x07")
    expect(sanitize("a\nDigest: sha256:0000\r")).toBe("a\\x0aDigest: sha256:0000\\x0d")
    expect(sanitize("x\x7f\u009b\u202eabc\u2066\u2069\u200f\u2028")).toBe(
      "x\\x7f\\x9b\\u202eabc\\u2066\\u2069\\u200f\\u2028"
    )
    expect(sanitize("{\n\t\"a\": \"\x1b[2J\r\"\n}", "text")).toBe("{\n\t\"a\": \"\\x1b[2J\\x0d\"\n}")
    expect(sanitize("café ✔ 日本 \\x1b")).toBe("café ✔ 日本 \\x1b")
    const once = sanitize("\x1b\x00\u202e")
    expect(sanitize(once)).toBe(once)
  })
})

describe("redaction", () => {
  it("every query value of a URL but ocidist's own parameters; user info and fragments", () => {
    expect(Redact.redactUrl("https://s3.example.com/blob?X-Amz-Signature=abc&X-Amz-Date=1&token=t"))
      .toBe("https://s3.example.com/blob?X-Amz-Signature=<redacted>&X-Amz-Date=<redacted>&token=<redacted>")
    expect(Redact.redactUrl("http://r/v2/app/tags/list?n=100&last=b&scope=repository:a:pull"))
      .toBe("http://r/v2/app/tags/list?n=100&last=b&scope=repository:a:pull")
    expect(Redact.redactUrl("/v2/app/blobs/uploads/1?_state=abc&digest=sha256:00"))
      .toBe("/v2/app/blobs/uploads/1?_state=<redacted>&digest=sha256:00")
    expect(Redact.redactUrl("https://user:pass@h/token?x#frag")).toBe(
      "https://<redacted>@h/token?x=<redacted>#<redacted>"
    )
    expect(Redact.redactUrl("https://h/p")).toBe("https://h/p")
  })

  it("headers: credentials and cookies whole, URLs in Location, Content-Location, Link and elsewhere", () => {
    expect(Redact.redactHeader("Set-Cookie", "session=abc; Path=/")).toBe("<redacted>")
    expect(Redact.redactHeader("cookie", "a=b")).toBe("<redacted>")
    expect(Redact.redactHeader("authorization", "Bearer x")).toBe("<redacted>")
    expect(Redact.redactHeader("x-amz-security-token", "x")).toBe("<redacted>")
    expect(Redact.redactHeader("location", "https://cdn/b?X-Amz-Credential=AKIA&X-Amz-Signature=s"))
      .toBe("https://cdn/b?X-Amz-Credential=<redacted>&X-Amz-Signature=<redacted>")
    expect(Redact.redactHeader("content-location", "/v2/a/blobs/uploads/u?_state=s"))
      .toBe("/v2/a/blobs/uploads/u?_state=<redacted>")
    expect(Redact.redactHeader("link", "<https://cdn/next?sig=s&n=10>; rel=\"next\", </v2/x?last=a>; rel=\"prev\""))
      .toBe("<https://cdn/next?sig=<redacted>&n=10>; rel=\"next\", </v2/x?last=a>; rel=\"prev\"")
    expect(Redact.redactHeader("www-authenticate", "Bearer realm=\"https://u:p@auth/token?k=v\",service=\"r\""))
      .toBe("Bearer realm=\"https://<redacted>@auth/token?k=<redacted>\",service=\"r\"")
    expect(Redact.redactHeader("content-type", "application/json")).toBe("application/json")
  })
})

describe("--timeout", () => {
  it("parses durations; refuses anything else", () => {
    expect(Timeout.parse("30s")).toEqual({ millis: 30_000, text: "30s" })
    expect(Timeout.parse("2m")?.millis).toBe(120_000)
    expect(Timeout.parse("1h30m")?.millis).toBe(5_400_000)
    expect(Timeout.parse("1.5s")?.millis).toBe(1500)
    expect(Timeout.parse("500ms")?.millis).toBe(500)
    expect(Timeout.parse("45")?.millis).toBe(45_000)
    for (const bad of ["", "0", "0s", "-1s", "abc", "1d", "s", "1 s", "1s2"]) expect(Timeout.parse(bad)).toBeUndefined()
  })

  it("moves with the other global options", () => {
    expect(hoistGlobals(["node", "ocidist", "pull", "a", "b", "--timeout", "30s"]))
      .toEqual(["node", "ocidist", "--timeout", "30s", "pull", "a", "b"])
    expect(hoistGlobals(["node", "ocidist", "tags", "r", "--timeout=2m"]))
      .toEqual(["node", "ocidist", "--timeout", "2m", "tags", "r"])
  })
})

// A hostile registry (a loopback server of our own) and a hostile layout: control sequences in tag and
// repository names, error messages, annotations and artifact types never reach the terminal raw (they are
// escaped visibly; --json keeps them exact); signed URLs and cookies never reach the -v log; manifests that
// cannot be used (HTML, invalid JSON, an unknown media type, over 4 MiB) exit 5.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { inPty, ocidist, tempDir } from "./cli.js"
import { acquire, Fixtures, Tools } from "./support.js"

const TITLE = "\x1b]0;owned\x07"
const CLEAR = "\x1b[2J"
const FORGED = "x\nDigest: sha256:0000"
const BIDI = "\u202eevil"
const C1 = "a\u009b31mb"
const HOSTILE = [TITLE, CLEAR, FORGED, BIDI, C1]
const TAGS = ["1.0", ...HOSTILE, "ok_tag"]

/** The first raw control character a terminal would act on (line feeds between lines excepted). */
const rawControl = (text: string): string | null => {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (
      (c < 0x20 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
      (c >= 0x2066 && c <= 0x2069) || c === 0x061c || c === 0x200e || c === 0x200f || c === 0x2028 || c === 0x2029
    ) return `U+${c.toString(16)} at ${i}`
  }
  return null
}

const expectClean = (text: string) => {
  expect(rawControl(text)).toBeNull()
  expect(text.split("\n").some((l) => l.startsWith("Digest: sha256:0000"))).toBe(false)
}

const SECRETS = ["AKIAHOSTILE", "TOKENSECRET", "SIGSECRET", "COOKIESECRET", "LINKSECRET", "SETCOOKIE2"]

const blob = new TextEncoder().encode("a blob behind a signed URL\n")
const blobDigest = `sha256:${createHash("sha256").update(blob).digest("hex")}`

const manifestOf = (mediaType: string, body: string | Uint8Array) => ({ mediaType, body })
const manifests: Record<string, { readonly mediaType: string; readonly body: string | Uint8Array }> = {
  html: manifestOf("text/html; charset=utf-8", "<!doctype html><html><body>Sign in</body></html>"),
  invalid: manifestOf("application/vnd.oci.image.manifest.v1+json", "{\"schemaVersion\": 2, \"config\": "),
  unknown: manifestOf(
    "application/vnd.example.thing+json",
    JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.example.thing+json" })
  ),
  huge: manifestOf("application/vnd.oci.image.manifest.v1+json", new Uint8Array(5 * 1024 * 1024).fill(0x20))
}

let server: http.Server
let host: string
let close: () => Promise<void>
let layout: string
let image: Fixtures.Image
let artifact: Fixtures.Artifact

const send = (res: http.ServerResponse, status: number, body: string | Uint8Array, headers = {}) => {
  res.writeHead(status, { "content-length": String(Buffer.byteLength(body)), ...headers })
  res.end(body)
}

const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
  const url = new URL(req.url ?? "/", `http://${req.headers.host}`)
  const p = url.pathname
  const json = (status: number, value: unknown, headers = {}) =>
    send(res, status, JSON.stringify(value), { "content-type": "application/json", ...headers })
  if (p === "/v2/") return json(200, {})
  if (p === "/v2/evil/tags/list") return json(200, { name: "evil", tags: TAGS })
  if (p === "/v2/_catalog") return json(200, { repositories: ["good", ...HOSTILE] })
  if (p.startsWith("/v2/denied/")) {
    return json(403, { errors: [{ code: "DENIED", message: `${TITLE}${CLEAR}${FORGED}${BIDI}` }] })
  }
  // two pages, the second behind a signed Link; cookies on the way
  if (p === "/v2/paged/tags/list") {
    if (url.searchParams.get("last") === null) {
      return json(200, { name: "paged", tags: ["a"] }, {
        "set-cookie": ["session=COOKIESECRET; Path=/; HttpOnly", "other=SETCOOKIE2"],
        link: `</v2/paged/tags/list?n=1&last=a&sig=LINKSECRET>; rel="next"`
      })
    }
    if (req.headers.cookie !== undefined) return json(400, { errors: [{ code: "UNSUPPORTED", message: "cookie" }] })
    return json(200, { name: "paged", tags: ["b"] })
  }
  // a blob redirected to a pre-signed URL, as S3-backed registries do
  if (p === `/v2/signed/blobs/${blobDigest}`) {
    return send(res, 307, "", {
      location: `http://${req.headers.host}/storage/blob?X-Amz-Algorithm=AWS4-HMAC-SHA256` +
        `&X-Amz-Credential=AKIAHOSTILE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request` +
        `&X-Amz-Security-Token=TOKENSECRET&X-Amz-Signature=SIGSECRET`,
      "content-location": `/storage/blob?X-Amz-Signature=SIGSECRET`
    })
  }
  if (p === "/storage/blob") {
    return url.searchParams.get("X-Amz-Signature") === "SIGSECRET"
      ? send(res, 200, blob, { "content-type": "application/octet-stream", "set-cookie": "s3=COOKIESECRET" })
      : send(res, 403, "")
  }
  if (p === "/v2/annotated/manifests/1") {
    return send(res, 200, req.method === "HEAD" ? "" : image.manifest, { "content-type": image.mediaType })
  }
  const invalid = /^\/v2\/(\w+)\/manifests\//.exec(p)
  if (invalid !== null && manifests[invalid[1]!] !== undefined) {
    const m = manifests[invalid[1]!]!
    return send(res, 200, req.method === "HEAD" ? "" : m.body, { "content-type": m.mediaType })
  }
  return json(404, { errors: [{ code: "NAME_UNKNOWN", message: "repository name not known to registry" }] })
}

beforeAll(async () => {
  server = http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  const acquired = await acquire(Effect.gen(function*() {
    const dir = yield* Tools.tempDir("ocidist-cli-hostile-")
    const image = yield* Fixtures.makeImage(dir, {
      seed: "ocidist/hostile",
      layers: [{ size: 300 }],
      annotations: { "org.example.title": `${TITLE}${CLEAR}`, [`org.example${BIDI}`]: FORGED }
    })
    const artifact = yield* Fixtures.makeArtifact(dir, {
      subject: image.descriptor,
      artifactType: `application/vnd.example.sbom${CLEAR}`,
      payload: "sbom",
      annotations: { "org.example.note": FORGED }
    })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [{ root: image, tag: `v1${CLEAR}` }, { root: artifact }])
    return { layout, image, artifact }
  }))
  close = acquired.close
  layout = acquired.value.layout
  image = acquired.value.image
  artifact = acquired.value.artifact
}, 60_000)

afterAll(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve))
  await close?.()
})

describe.concurrent("terminal injection", () => {
  it("tags: hostile names are escaped and marked, one line each; --json keeps them exact", async () => {
    const r = await ocidist(["tags", `${host}/evil`])
    expect(r.code).toBe(0)
    expectClean(r.stdout)
    expectClean(r.stderr)
    expect(r.stdout.split("\n")).toEqual([
      "1.0",
      "\\x1b]0;owned\\x07 (invalid tag)",
      "\\x1b[2J (invalid tag)",
      "x\\x0aDigest: sha256:0000 (invalid tag)",
      "\\u202eevil (invalid tag)",
      "a\\x9b31mb (invalid tag)",
      "ok_tag",
      ""
    ])
    expect(r.stderr).toContain("5 tag(s) listed do not follow the tag grammar")
    const json = await ocidist(["tags", "--json", `${host}/evil`])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({ reference: `${host}/evil`, tags: TAGS })
    const quiet = await ocidist(["tags", "-q", `${host}/evil`])
    expect(quiet.stderr).toBe("")
  })

  it("catalog: repository names are escaped", async () => {
    const r = await ocidist(["catalog", host])
    expect(r.code).toBe(0)
    expectClean(r.stdout)
    expect(r.stdout).toContain("\\x1b]0;owned\\x07\n")
    expect(r.stdout.trim().split("\n")).toHaveLength(6)
    const json = await ocidist(["catalog", "--json", host])
    expect(JSON.parse(json.stdout).repositories).toEqual(["good", ...HOSTILE])
  })

  it("a registry's error message is one escaped line; --json keeps it exact", async () => {
    for (const args of [["manifest", `${host}/denied:1`], ["tags", `${host}/denied`]]) {
      const r = await ocidist(args)
      expect(r.code).toBe(4)
      expectClean(r.stderr)
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1)
      expect(r.stderr).toMatch(/^ocidist: /)
      expect(r.stderr).toContain("\\x1b]0;owned\\x07\\x1b[2J")
      expect(r.stderr).toContain("\\u202eevil")
    }
    const json = await ocidist(["manifest", "--json", `${host}/denied:1`])
    expect(JSON.parse(json.stderr).message).toContain(`${TITLE}${CLEAR}`)
  })

  it("-v: the log of a hostile registry is escaped too", async () => {
    const r = await ocidist(["-v", "tags", `${host}/denied`])
    expect(r.code).toBe(4)
    expectClean(r.stderr)
    expect(r.stderr).toContain("\\x1b]0;owned\\x07")
  })

  it("a layout: tags, inspect (annotations) and referrers (annotations, artifact types) are escaped", async () => {
    const tags = await ocidist(["tags", `oci:${layout}`])
    expect(tags.code).toBe(0)
    expectClean(tags.stdout)
    expect(tags.stdout).toBe("v1\\x1b[2J (invalid tag)\n")
    const jsonTags = await ocidist(["tags", "--json", `oci:${layout}`])
    expect(JSON.parse(jsonTags.stdout).tags).toEqual([`v1${CLEAR}`])

    const inspect = await ocidist(["inspect", `oci:${layout}:${image.manifestDigest}`])
    expect(inspect.code).toBe(0)
    expectClean(inspect.stdout)
    expect(inspect.stdout).toContain("  org.example.title=\\x1b]0;owned\\x07\\x1b[2J\n")
    expect(inspect.stdout).toContain("  org.example\\u202eevil=x\\x0aDigest: sha256:0000\n")
    const jsonInspect = await ocidist(["inspect", "--json", `oci:${layout}:${image.manifestDigest}`])
    expect(JSON.parse(jsonInspect.stdout).annotations).toEqual({
      "org.example.title": `${TITLE}${CLEAR}`,
      [`org.example${BIDI}`]: FORGED
    })

    const referrers = await ocidist(["referrers", `oci:${layout}:${image.manifestDigest}`])
    expect(referrers.code).toBe(0)
    expectClean(referrers.stdout)
    expect(referrers.stdout).toContain(`└── application/vnd.example.sbom\\x1b[2J  ${artifact.manifestDigest}`)
    const jsonReferrers = await ocidist(["referrers", "--json", `oci:${layout}:${image.manifestDigest}`])
    expect(JSON.parse(jsonReferrers.stdout).referrers[0]).toMatchObject({
      artifactType: `application/vnd.example.sbom${CLEAR}`,
      annotations: { "org.example.note": FORGED }
    })
  })

  it("manifest: exact bytes on a pipe, escaped on a terminal and with --pretty", async () => {
    const pretty = await ocidist(["manifest", "--pretty", `${host}/annotated:1`])
    expect(pretty.code).toBe(0)
    expectClean(pretty.stdout + pretty.stderr)
    expect(pretty.stdout).toContain("\"org.example\\u202eevil\": ")

    // the manifest holds U+202E as it is (JSON escapes only C0): exact bytes on a pipe, escaped on a terminal
    const piped = await ocidist(["manifest", `${host}/annotated:1`])
    expect(`sha256:${createHash("sha256").update(piped.stdoutBytes).digest("hex")}`).toBe(image.manifestDigest)
    expect(piped.stdout).toContain(BIDI)
    const tty = await inPty(["manifest", `${host}/annotated:1`])
    expect(tty.code).toBe(0)
    expect(tty.output).toContain("org.example\\u202eevil")
    expect(tty.output).not.toContain(BIDI)
  })
})

describe.concurrent("-v redacts signed URLs and cookies", () => {
  it("a blob behind a pre-signed redirect: Location, Content-Location and the request line", async () => {
    const out = path.join(tempDir("ocidist-cli-hostile-"), "blob")
    const r = await ocidist(["-v", "blob", "-o", out, `${host}/signed@${blobDigest}`])
    expect(r.code).toBe(0)
    expect(fs.readFileSync(out)).toEqual(Buffer.from(blob))
    expect(r.stderr).toMatch(/< 307 GET http:\/\/127\.0\.0\.1:\d+\/v2\/signed\/blobs\/sha256:[0-9a-f]{64}\n/)
    expect(r.stderr).toContain(
      "< location: http://" + host + "/storage/blob?X-Amz-Algorithm=<redacted>&X-Amz-Credential=<redacted>" +
        "&X-Amz-Security-Token=<redacted>&X-Amz-Signature=<redacted>\n"
    )
    expect(r.stderr).toContain("< content-location: /storage/blob?X-Amz-Signature=<redacted>\n")
    expect(r.stderr).toMatch(/> GET http:\/\/127\.0\.0\.1:\d+\/storage\/blob\?X-Amz-Algorithm=<redacted>/)
    expect(r.stderr).toContain("< set-cookie: <redacted>\n")
    for (const secret of SECRETS) expect(r.stderr).not.toContain(secret)
  })

  it("tags through a signed Link, with cookies", async () => {
    const r = await ocidist(["-v", "tags", `${host}/paged`])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("a\nb\n")
    expect(r.stderr).toContain(`< link: </v2/paged/tags/list?n=1&last=a&sig=<redacted>>; rel="next"\n`)
    expect(r.stderr).toMatch(/> GET http:\/\/127\.0\.0\.1:\d+\/v2\/paged\/tags\/list\?n=1&last=a&sig=<redacted>\n/)
    expect(r.stderr).toContain("< set-cookie: <redacted>\n")
    for (const secret of SECRETS) expect(r.stderr).not.toContain(secret)
  })
})

describe.concurrent("a manifest that cannot be used exits 5", () => {
  it.each([
    ["an HTML page", "html", /malformed manifest/],
    ["invalid JSON", "invalid", /not JSON/],
    ["an unknown media type", "unknown", /unsupported manifest media type/],
    ["a body over 4 MiB", "huge", /the limit of 4194304 bytes/]
  ])("%s", async (_, repo, message) => {
    for (const args of [["manifest", `${host}/${repo}:1`], ["digest", `${host}/${repo}:1`]]) {
      const r = await ocidist(args)
      expect(r.code).toBe(5)
      expect(r.stderr).toMatch(message)
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1)
    }
    const out = tempDir("ocidist-cli-hostile-")
    const pull = await ocidist(["pull", "--json", `${host}/${repo}:1`, path.join(out, "layout")])
    expect(pull.code).toBe(5)
    expect(JSON.parse(pull.stderr.trim().split("\n").at(-1)!)).toMatchObject({ event: "Error", exitCode: 5 })
  })
})

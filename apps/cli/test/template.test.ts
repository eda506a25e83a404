// The --format template language (a subset of Go's text/template), in-process: what Go prints for the same
// template and data, and the errors (with their line:column) for what it does not accept.
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Template from "../src/internal/template.js"

const doc = {
  reference: "localhost:5000/app:1.0",
  digest: "sha256:aaaa",
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  size: 1234,
  tags: ["1.0", "latest"],
  annotations: { "org.opencontainers.image.title": "app", b: "2" },
  platform: { os: "linux", architecture: "arm64", variant: "v8" },
  manifests: [
    { digest: "sha256:1", platform: { os: "linux", architecture: "amd64" } },
    { digest: "sha256:2", platform: { os: "linux", architecture: "arm64" } }
  ],
  empty: [],
  flag: false
}

const render = (source: string, data: unknown = doc, optional: ReadonlyArray<string> = []) => {
  const parsed = Template.parse(source)
  if (Either.isLeft(parsed)) return { error: `${parsed.left.position}: ${parsed.left.message}` }
  const out = Template.execute(parsed.right, data, { optional: new Set(optional) })
  return Either.isLeft(out) ? { error: `${out.left.position}: ${out.left.message}` } : { text: out.right }
}

describe("template", () => {
  it("fields, capitalised as Go exports them, nested, and the exact JSON name", () => {
    expect(render("{{.Digest}}")).toEqual({ text: "sha256:aaaa" })
    expect(render("{{.MediaType}} {{.Size}}")).toEqual({
      text: "application/vnd.oci.image.manifest.v1+json 1234"
    })
    expect(render("{{.Platform.Architecture}}/{{.Platform.Variant}}")).toEqual({ text: "arm64/v8" })
    expect(render("{{.digest}}")).toEqual({ text: "sha256:aaaa" })
    expect(render("{{$.Size}}")).toEqual({ text: "1234" })
    expect(render("text only")).toEqual({ text: "text only" })
  })

  it("prints values as Go's %v: lists [a b], maps map[k:v] in key order", () => {
    expect(render("{{.Tags}}")).toEqual({ text: "[1.0 latest]" })
    expect(render("{{.Annotations}}")).toEqual({ text: "map[b:2 org.opencontainers.image.title:app]" })
    expect(render("{{.Flag}} {{.Empty}}")).toEqual({ text: "false []" })
  })

  it("range over lists (. the element; its fields) and maps (values in key order), with else", () => {
    expect(render("{{range .Tags}}{{.}},{{end}}")).toEqual({ text: "1.0,latest," })
    expect(render("{{range .Manifests}}{{.Digest}} {{.Platform.Architecture}}\n{{end}}")).toEqual({
      text: "sha256:1 amd64\nsha256:2 arm64\n"
    })
    expect(render("{{range .Annotations}}{{.}};{{end}}")).toEqual({ text: "2;app;" })
    expect(render("{{range .Empty}}x{{else}}none{{end}}")).toEqual({ text: "none" })
    expect(render("{{range .Tags}}{{$.Digest}}:{{.}} {{end}}")).toEqual({ text: "sha256:aaaa:1.0 sha256:aaaa:latest " })
  })

  it("println, print, printf, json, index, len, join, pipelines", () => {
    expect(render("{{range .Tags}}{{println .}}{{end}}")).toEqual({ text: "1.0\nlatest\n" })
    expect(render("{{println}}")).toEqual({ text: "\n" })
    expect(render("{{println .Size .Digest}}")).toEqual({ text: "1234 sha256:aaaa\n" })
    expect(render("{{print .Size .Size \"x\" .Size}}")).toEqual({ text: "1234 1234x1234" })
    expect(render("{{printf \"%s is %d bytes %q %v%%\" .Digest .Size .Tags .Flag}}")).toEqual({
      text: "sha256:aaaa is 1234 bytes \"[1.0 latest]\" false%"
    })
    expect(render("{{json .Tags}}")).toEqual({ text: "[\"1.0\",\"latest\"]" })
    expect(render("{{.Platform | json}}")).toEqual({
      text: "{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}"
    })
    expect(render("{{index .Annotations \"org.opencontainers.image.title\"}}")).toEqual({ text: "app" })
    expect(render("{{index .Tags 1}} {{len .Tags}} {{.Tags | len}}")).toEqual({ text: "latest 2 2" })
    expect(render("{{join .Tags \", \"}}")).toEqual({ text: "1.0, latest" })
    expect(render("{{(index .Manifests 1).Platform.Architecture}}")).toEqual({ text: "arm64" })
    expect(render("{{with index .Manifests 0}}{{.Digest}}{{end}}")).toEqual({ text: "sha256:1" })
  })

  it("literal text is literal; escapes only in quoted strings; raw strings", () => {
    expect(render("a\\nb")).toEqual({ text: "a\\nb" })
    expect(render("{{\"a\\tb\\n\"}}")).toEqual({ text: "a\tb\n" })
    expect(render("{{\"\\u00e9\\x41\"}}")).toEqual({ text: "éA" })
    expect(render("{{`a\\n`}}")).toEqual({ text: "a\\n" })
    expect(render("line one\nline two")).toEqual({ text: "line one\nline two" })
  })

  it("if / else if / else, with, and Go's truth (empty lists, 0, \"\" and missing optional fields are false)", () => {
    expect(render("{{if .Tags}}tagged{{else}}untagged{{end}}")).toEqual({ text: "tagged" })
    expect(render("{{if .Empty}}a{{else if .Flag}}b{{else if .Size}}c{{else}}d{{end}}")).toEqual({ text: "c" })
    expect(render("{{if .ArtifactType}}{{.ArtifactType}}{{else}}-{{end}}", doc, ["artifactType"])).toEqual({
      text: "-"
    })
    expect(render("[{{.Subject.Digest}}]", doc, ["subject"])).toEqual({ text: "[]" })
    expect(render("{{with .Platform}}{{.Os}}{{end}}")).toEqual({ text: "linux" })
    expect(render("{{if eq .Size 1234}}y{{end}}{{if ne .Digest \"x\"}}z{{end}}{{if not .Flag}}n{{end}}")).toEqual({
      text: "yzn"
    })
    expect(render("{{if and .Tags .Flag}}a{{else}}b{{end}}{{if or .Flag .Size}}c{{end}}")).toEqual({ text: "bc" })
  })

  it("trim markers and comments", () => {
    expect(render("a  {{- .Size -}}  b")).toEqual({ text: "a1234b" })
    expect(render("{{range .Tags -}}\n  {{.}}\n{{- end}}")).toEqual({ text: "1.0latest" })
    expect(render("x{{/* a comment */}}y")).toEqual({ text: "xy" })
    expect(render("{{-3}}")).toEqual({ text: "-3" })
  })

  it("a missing field names itself and lists the fields there are", () => {
    expect(render("{{.Digets}}")).toEqual({
      error: "1:3: no field .Digets; fields: .Annotations, .Digest, .Empty, .Flag, .Manifests, .MediaType, " +
        ".Platform, .Reference, .Size, .Tags"
    })
    expect(render("ab\n  {{.Platform.Arch}}")).toEqual({
      error: "2:5: no field .Arch; fields: .Architecture, .Os, .Variant"
    })
    expect(render("{{range .Manifests}}{{.Nope}}{{end}}")).toEqual({
      error: "1:23: no field .Nope; fields: .Digest, .Platform"
    })
    expect(render("{{.Tags.First}}")).toEqual({ error: "1:3: cannot get .First of a list (\"[1.0 latest]\")" })
    expect(render("{{.Annotations.Nope}}")).toEqual({
      error: "1:3: no field .Nope; fields: .B (other keys with {{index . \"key\"}})"
    })
    expect(render("{{range .Size}}{{end}}")).toEqual({ error: "1:1: range cannot iterate over a number" })
  })

  it("parse errors name their line and column", () => {
    expect(render("{{.Digest")).toEqual({ error: "1:1: unclosed action: no }}" })
    expect(render("x\n{{range .Tags}}{{.}}")).toEqual({ error: "2:1: unclosed {{range}}: no {{end}}" })
    expect(render("{{end}}")).toEqual({ error: "1:1: unexpected {{end}}" })
    expect(render("{{else}}")).toEqual({ error: "1:1: unexpected {{else}}" })
    expect(render("{{upper .Digest}}")).toMatchObject({
      error: expect.stringMatching(/^1:3: function "upper" not defined/)
    })
    expect(render("{{\"a\\qb\"}}")).toEqual({ error: "1:5: unknown escape sequence \\q in a quoted string" })
    expect(render("{{\"abc}}")).toEqual({ error: "1:3: unterminated quoted string" })
    expect(render("{{}}")).toEqual({ error: "1:1: missing value in an action" })
    expect(render("{{.Digest .Size}}")).toEqual({ error: "1:11: only a function takes arguments" })
    expect(render("{{$x := .Size}}")).toEqual({ error: "1:3: variables other than $ are not supported" })
    expect(render("{{template \"x\"}}")).toEqual({ error: "1:1: {{template}} is not supported" })
    expect(render("{{if}}{{end}}")).toEqual({ error: "1:1: missing value for if" })
    expect(render("{{/* open")).toEqual({ error: "1:1: unclosed comment" })
  })
})

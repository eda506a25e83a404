// Every --json document and NDJSON event against the types of README.md's "JSON output" section: the types are
// read from the README itself and turned into Schemas (excess properties are errors), so a field added, renamed
// or dropped without the README fails here. Then --format on the five read commands, through the bundled binary,
// against the embedded registry and a layout.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"
import { collect, ndjson, ocidist, start, tempDir } from "./cli.js"
import { acquire, Fixtures, Postgres, Tools } from "./support.js"

// --- the README's types ------------------------------------------------------------------------------------

type TypeExpr =
  | { readonly kind: "primitive"; readonly name: "string" | "number" | "boolean" | "null" | "unknown" }
  | { readonly kind: "literal"; readonly value: string | boolean }
  | { readonly kind: "ref"; readonly name: string }
  | { readonly kind: "array"; readonly element: TypeExpr }
  | { readonly kind: "record"; readonly value: TypeExpr }
  | { readonly kind: "union"; readonly members: ReadonlyArray<TypeExpr> }
  | {
    readonly kind: "object"
    readonly fields: ReadonlyArray<{ readonly name: string; readonly optional: boolean; readonly type: TypeExpr }>
  }

/** The ```ts blocks of a README section (from its `## ` heading to the next). */
const sectionCode = (readme: string, heading: string): string => {
  const from = readme.indexOf(`\n## ${heading}\n`)
  if (from === -1) throw new Error(`README.md has no "## ${heading}" section`)
  const to = readme.indexOf("\n## ", from + 1)
  const section = readme.slice(from, to === -1 ? undefined : to)
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).join("\n")
}

/** Parses `interface X { a: T; b?: U }` and `type X = A | B` declarations (a TypeScript subset). */
const parseTypes = (code: string): Map<string, TypeExpr> => {
  const source = code.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ")
  const tokens = [...source.matchAll(/"[^"]*"|[A-Za-z_][A-Za-z0-9_]*|[{}:;?|[\]<>,=()]/g)].map((m) => m[0])
  let i = 0
  const peek = () => tokens[i]
  const next = () => {
    const t = tokens[i++]
    if (t === undefined) throw new Error("README types: unexpected end")
    return t
  }
  const expect_ = (t: string) => {
    const got = next()
    if (got !== t) throw new Error(`README types: expected ${t}, got ${got} (token ${i})`)
  }
  const fields = (): TypeExpr => {
    expect_("{")
    const list: Array<{ name: string; optional: boolean; type: TypeExpr }> = []
    while (peek() !== "}") {
      const key = next()
      const name = key.startsWith("\"") ? key.slice(1, -1) : key
      const optional = peek() === "?"
      if (optional) next()
      expect_(":")
      list.push({ name, optional, type: union() })
      if (peek() === ";" || peek() === ",") next()
    }
    expect_("}")
    return { kind: "object", fields: list }
  }
  const primary = (): TypeExpr => {
    const t = peek()!
    if (t === "{") return fields()
    next()
    if (t === "(") {
      const inner = union()
      expect_(")")
      return inner
    }
    if (t.startsWith("\"")) return { kind: "literal", value: t.slice(1, -1) }
    if (t === "true" || t === "false") return { kind: "literal", value: t === "true" }
    if (t === "string" || t === "number" || t === "boolean" || t === "null" || t === "unknown") {
      return { kind: "primitive", name: t }
    }
    if (t === "Record") {
      expect_("<")
      expect_("string")
      expect_(",")
      const value = union()
      expect_(">")
      return { kind: "record", value }
    }
    if (!/^[A-Z]/.test(t)) throw new Error(`README types: unexpected ${t}`)
    return { kind: "ref", name: t }
  }
  const postfix = (): TypeExpr => {
    let type = primary()
    while (peek() === "[") {
      next()
      expect_("]")
      type = { kind: "array", element: type }
    }
    return type
  }
  const union = (): TypeExpr => {
    if (peek() === "|") next()
    const members = [postfix()]
    while (peek() === "|") {
      next()
      members.push(postfix())
    }
    return members.length === 1 ? members[0]! : { kind: "union", members }
  }
  const types = new Map<string, TypeExpr>()
  while (i < tokens.length) {
    const keyword = next()
    const name = next()
    if (types.has(name)) throw new Error(`README types: ${name} is declared twice`)
    if (keyword === "interface") types.set(name, fields())
    else if (keyword === "type") {
      expect_("=")
      types.set(name, union())
    } else throw new Error(`README types: expected interface or type, got ${keyword}`)
  }
  return types
}

const types = parseTypes(sectionCode(fs.readFileSync(new URL("../README.md", import.meta.url), "utf8"), "JSON output"))

const references = (type: TypeExpr): Array<string> => {
  switch (type.kind) {
    case "ref":
      return [type.name]
    case "array":
      return references(type.element)
    case "record":
      return references(type.value)
    case "union":
      return type.members.flatMap(references)
    case "object":
      return type.fields.flatMap((f) => references(f.type))
    default:
      return []
  }
}

const schemas = new Map<string, Schema.Schema.AnyNoContext>()

const schemaOf = (type: TypeExpr): Schema.Schema.AnyNoContext => {
  switch (type.kind) {
    case "primitive":
      return {
        string: Schema.String,
        number: Schema.Number,
        boolean: Schema.Boolean,
        null: Schema.Null,
        unknown: Schema.Unknown
      }[type.name]
    case "literal":
      return Schema.Literal(type.value)
    case "ref":
      return Schema.suspend(() => named(type.name))
    case "array":
      return Schema.Array(schemaOf(type.element))
    case "record":
      return Schema.Record({ key: Schema.String, value: schemaOf(type.value) })
    case "union":
      return Schema.Union(...type.members.map(schemaOf))
    case "object":
      return Schema.Struct(
        Object.fromEntries(type.fields.map((f) => [
          f.name,
          f.optional ? Schema.optionalWith(schemaOf(f.type), { exact: true }) : schemaOf(f.type)
        ]))
      )
  }
}

const named = (name: string): Schema.Schema.AnyNoContext => {
  const cached = schemas.get(name)
  if (cached !== undefined) return cached
  const type = types.get(name)
  if (type === undefined) throw new Error(`README.md's JSON output section has no type ${name}`)
  const schema = schemaOf(type)
  schemas.set(name, schema)
  return schema
}

/** The types checked against real output (the others must be reachable from them). */
const checked = new Set<string>()

/** Checks a document against a README type, exactly: a field not in the type is an error. */
const check = (name: string, value: unknown): void => {
  checked.add(name)
  const result = Schema.decodeUnknownEither(named(name), { onExcessProperty: "error", errors: "all" })(value)
  if (Either.isLeft(result)) {
    throw new Error(
      `not a ${name} as README.md documents it:\n${ParseResult.TreeFormatter.formatErrorSync(result.left)}\n` +
        JSON.stringify(value)
    )
  }
}

/** One JSON document on stdout, checked. */
const document = (
  name: string,
  r: { readonly code: number | null; readonly stdout: string; readonly stderr: string }
) => {
  expect(r.stderr).toBe("")
  expect(r.code).toBe(0)
  const lines = r.stdout.split("\n").filter((l) => l !== "")
  expect(lines).toHaveLength(1)
  const value = JSON.parse(lines[0]!) as Record<string, unknown>
  check(name, value)
  return value
}

/** The NDJSON events on stderr, each checked; the names of the events seen. */
const events = (stderr: string): Array<string> =>
  ndjson(stderr).map((event) => {
    check("ProgressEvent", event)
    return String(event.event)
  })

// --- fixtures ----------------------------------------------------------------------------------------------

const SBOM = "application/vnd.example.sbom"

let close: () => Promise<void>
let host: string
let tokenHost: string
let image: Fixtures.Image
let sbom: Fixtures.Artifact
let layout: string

const tmp = () => tempDir("ocidist-cli-json-")

beforeAll(async () => {
  const acquired = await acquire(Effect.gen(function*() {
    const registry = yield* NodeRegistry.start()
    const tokens = yield* NodeRegistry.start({
      auth: { type: "token", users: [{ username: "ci", password: "secret" }] }
    })
    const dir = yield* Tools.tempDir("ocidist-cli-json-")
    const image = yield* Fixtures.smallImage(dir)
    const index = yield* Fixtures.multiPlatformIndex(dir)
    const sbom = yield* Fixtures.makeArtifact(dir, { subject: image.descriptor, artifactType: SBOM, payload: "sbom" })
    // an annotation a terminal would obey: ESC [2J clears the screen, a line feed forges a line
    const evil = yield* Fixtures.makeArtifact(dir, {
      artifactType: SBOM,
      payload: "evil",
      annotations: { "org.example.evil": "a\x1b[2Jb\nc" }
    })
    const layout = path.join(dir, "layout")
    yield* Fixtures.writeLayout(layout, [
      { root: image, tag: "v1" },
      { root: index, tag: "multi" },
      { root: sbom, tag: "sbom" },
      { root: evil, tag: "evil" }
    ])
    return { host: registry.host, tokenHost: tokens.host, image, sbom, layout }
  }))
  close = acquired.close
  ;({ host, image, layout, sbom, tokenHost } = acquired.value)
  // the images every test reads
  for (const [tag, target] of [["v1", "app:1"], ["multi", "multi:1"], ["sbom", "app:sbom"]] as const) {
    const r = await ocidist(["push", "-q", `oci:${layout}:${tag}`, `${host}/${target}`])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
  }
}, 120_000)

afterAll(() => close?.())

// --- the documents -----------------------------------------------------------------------------------------

describe("--json documents match README.md's types", () => {
  it("push, copy (mounts), pull, re-pull, copy --dry-run: CopyResult and progress events", async () => {
    const seen = new Set<string>()
    const push = await ocidist(["push", "--json", `oci:${layout}:v1`, `${host}/pushed:1`])
    expect(document("CopyResult", { ...push, stderr: "" }).digest).toBe(image.manifestDigest)
    events(push.stderr).forEach((e) => seen.add(e))
    const copy = await ocidist(["copy", "--json", `${host}/app:1`, `${host}/mirror:1`])
    document("CopyResult", { ...copy, stderr: "" })
    events(copy.stderr).forEach((e) => seen.add(e))
    const out = path.join(tmp(), "pulled")
    for (let i = 0; i < 2; i++) {
      const pull = await ocidist(["pull", "--json", `${host}/app:1`, `oci:${out}:1`])
      document("CopyResult", { ...pull, stderr: "" })
      events(pull.stderr).forEach((e) => seen.add(e))
    }
    const dry = await ocidist(["copy", "--json", "--dry-run", `${host}/app:1`, `${host}/dry:1`])
    expect(document("CopyResult", { ...dry, stderr: "" }).dryRun).toBe(true)
    events(dry.stderr).forEach((e) => seen.add(e))
    // a conversion: sourceDigest and converted on the image and its manifest entries, ManifestDone's source
    const converted = await ocidist(["copy", "--json", "--format", "docker", `${host}/app:1`, `${host}/v2s2:1`])
    const result = document("CopyResult", { ...converted, stderr: "" }) as { images: Array<{ converted?: unknown }> }
    expect(result.images[0]!.converted).toBeDefined()
    expect(converted.stderr).toContain("\"sourceMediaType\"")
    events(converted.stderr).forEach((e) => seen.add(e))
    expect([...seen].sort()).toEqual(expect.arrayContaining([
      "BlobDone",
      "BlobMounted",
      "BlobSkipped",
      "BlobStarted",
      "ManifestDone",
      "Planned",
      "Started"
    ]))
  })

  it("manifest, manifest put (with a subject), digest, config, blob", async () => {
    const m = document("Manifest", await ocidist(["manifest", "--json", `${host}/app:1`]))
    expect(m).toMatchObject({ reference: `${host}/app:1`, digest: image.manifestDigest })
    const put = document(
      "ManifestPut",
      await ocidist(["manifest", "put", "--json", `${host}/app:sbom2`, "-"], { stdin: sbom.manifest })
    )
    expect(put).toMatchObject({ subject: { digest: image.manifestDigest }, referrersBy: "api" })
    document(
      "ManifestPut",
      await ocidist(["manifest", "put", "--json", `${host}/app:copy`, "-"], { stdin: image.manifest })
    )
    const d = document("Digest", await ocidist(["digest", "--json", `${host}/app:1`]))
    expect(d).toEqual({
      reference: `${host}/app:1`,
      digest: image.manifestDigest,
      mediaType: image.mediaType,
      size: image.manifest.length
    })
    expect(document("Digest", await ocidist(["digest", "--json", `oci:${layout}:v1`])).reference).toBe(
      `oci:${layout}:v1`
    )
    document("Config", await ocidist(["config", "--json", `${host}/app:1`]))
    const file = path.join(tmp(), "layer")
    document("Blob", await ocidist(["blob", "--json", "-o", file, `${host}/app@${image.layers[0]!.digest}`]))
  })

  it("inspect: an image, an index, an artifact with a subject", async () => {
    const i = document("Inspect", await ocidist(["inspect", "--json", `${host}/app:1`]))
    expect(i).toMatchObject({ kind: "image", reference: `${host}/app:1` })
    expect(i.configSummary).toBeDefined()
    expect(document("Inspect", await ocidist(["inspect", "--json", `${host}/multi:1`])).kind).toBe("index")
    const a = document("Inspect", await ocidist(["inspect", "--json", `${host}/app:sbom`]))
    expect(a).toMatchObject({ artifactType: SBOM, subject: { digest: image.manifestDigest } })
  })

  it("tags, catalog, referrers", async () => {
    const t = document("Tags", await ocidist(["tags", "--json", `${host}/app`]))
    expect(t.reference).toBe(`${host}/app`)
    expect(document("Tags", await ocidist(["tags", "--json", `oci:${layout}:v1`])).reference).toBe(`oci:${layout}`)
    document("Catalog", await ocidist(["catalog", "--json", host]))
    const r = document("Referrers", await ocidist(["referrers", "--json", `${host}/app:1`]))
    expect(r.referrers).toEqual(expect.arrayContaining([expect.objectContaining({ artifactType: SBOM })]))
  })

  it("tag, untag (registry and layout), delete", async () => {
    document("Tag", await ocidist(["tag", "--json", `${host}/app:1`, "t2"]))
    document("Untag", await ocidist(["untag", "--json", `${host}/app:t2`]))
    const copy = path.join(tmp(), "layout")
    fs.cpSync(layout, copy, { recursive: true })
    document("Untag", await ocidist(["untag", "--json", `oci:${copy}:sbom`]))
    document("Delete", await ocidist(["delete", "--json", "--force", `${host}/mirror:1`]))
  })

  it("mutate (an index's platform), append (a directory): Mutate", async () => {
    const args = ["mutate", "--json", "--platform", "linux/arm64", `${host}/multi:1`, "--label", "a=b"]
    const mutated = document("Mutate", await ocidist([...args, "-t", `${host}/multi-mutated:1`]))
    expect((mutated.images as Array<{ platform?: unknown }>)[0]!.platform).toBeDefined()
    const dir = tmp()
    fs.mkdirSync(path.join(dir, "tree"))
    fs.writeFileSync(path.join(dir, "tree", "file"), "content\n")
    const out = path.join(dir, "layout")
    fs.cpSync(layout, out, { recursive: true })
    const appended = document(
      "Mutate",
      await ocidist(["append", "--json", `oci:${out}:v1`, "--layer", path.join(dir, "tree"), "-t", `oci:${out}:v2`])
    )
    expect(appended.layer).toBeDefined()
  })

  it("artifact push, attach, artifact pull: ArtifactPush, ArtifactPull", async () => {
    const dir = tmp()
    fs.mkdirSync(path.join(dir, "tree"))
    fs.writeFileSync(path.join(dir, "tree", "f"), "f\n")
    fs.writeFileSync(path.join(dir, "a.txt"), "a\n")
    const pushed = document(
      "ArtifactPush",
      await ocidist(["artifact", "push", "--json", `${host}/files:1`, path.join(dir, "a.txt"), path.join(dir, "tree")])
    )
    expect(pushed.tags).toEqual(["1"])
    const attached = document(
      "ArtifactPush",
      await ocidist([
        "attach",
        "--json",
        "--artifact-type",
        "application/x-sig",
        `${host}/files:1`,
        path.join(dir, "a.txt")
      ])
    )
    expect(attached.subject).toMatchObject({ digest: pushed.digest })
    const pulled = document(
      "ArtifactPull",
      await ocidist(["artifact", "pull", "--json", `${host}/files:1`, "-o", path.join(dir, "out")])
    )
    expect((pulled.files as Array<unknown>).length).toBe(2)
  })

  it("export -o, flatten", async () => {
    const file = path.join(tmp(), "rootfs.tar")
    document("Export", await ocidist(["export", "--json", `oci:${layout}:v1`, "-o", file]))
    document("Flatten", await ocidist(["flatten", "--json", `oci:${layout}:v1`, "-t", `oci:${tmp()}:flat`]))
    // an index: every image flattened, `children` instead of `layer`
    const index = document(
      "Flatten",
      await ocidist(["flatten", "--json", `oci:${layout}:multi`, "-t", `oci:${tmp()}:f`])
    )
    expect((index.children as Array<unknown>).length).toBe(3)
  })

  it("blob push, blob delete, index create, validate: BlobPush, BlobDelete, IndexWritten, Validation", async () => {
    const pushed = document("BlobPush", await ocidist(["blob", "push", "--json", `${host}/blobs`, "-"], { stdin: "x" }))
    document("BlobDelete", await ocidist(["blob", "delete", "--json", `${host}/blobs@${String(pushed.digest)}`]))
    const index = document(
      "IndexWritten",
      await ocidist(["index", "create", "--json", `${host}/app:index`, "-m", `${host}/app:1`])
    )
    expect((index.manifests as Array<{ platform?: unknown }>)[0]!.platform).toBeDefined()
    expect(document("Validation", await ocidist(["validate", "--json", "--full", `${host}/app:index`])).ok).toBe(true)
    const dir = tmp()
    const copy = path.join(dir, "layout")
    fs.cpSync(layout, copy, { recursive: true })
    fs.appendFileSync(path.join(copy, "blobs", "sha256", image.layers[0]!.digest.slice(7)), "x")
    const bad = await ocidist(["validate", "--json", `oci:${copy}:v1`])
    expect(bad.code).toBe(5)
    check("Validation", JSON.parse(bad.stdout))
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      problems: [{ kind: "SizeMismatch", parent: image.manifestDigest }]
    })
  })

  it("login, auth token, logout", async () => {
    const env = { DOCKER_CONFIG: tmp() }
    const login = await ocidist(["login", "--json", tokenHost, "-u", "ci", "--password-stdin"], {
      env,
      stdin: "secret"
    })
    // the one line on stderr: the warning that the password is stored in plain text
    expect(login.stderr).toMatch(/^ocidist: warn: the password is stored unencrypted in .*\n$/)
    document("Login", { ...login, stderr: "" })
    document("AuthToken", await ocidist(["auth", "token", "--json", `${tokenHost}/app`], { env }))
    document("Logout", await ocidist(["logout", "--json", tokenHost], { env }))
  })

  it("ref, version, cache dir, cache clean", async () => {
    document("Ref", await ocidist(["ref", "--json", "alpine"]))
    document("Version", await ocidist(["version", "--json"]))
    document("Version", await ocidist(["--json", "-q", "version"]))
    const env = { OCIDIST_CACHE_DIR: tmp() }
    document("CacheDir", await ocidist(["cache", "dir", "--json"], { env }))
    document("CacheClean", await ocidist(["cache", "clean", "--json"], { env }))
  })

  it("registry serve", async () => {
    const child = start(["registry", "serve", "--json", "--port", "0"])
    const done = collect(child)
    const first = await new Promise<string>((resolve) => {
      let out = ""
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString()
        if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")))
      })
    })
    child.kill("SIGINT")
    const r = await done
    expect(r.code).toBe(0)
    check("RegistryServe", JSON.parse(first))
  })

  it("sync, sync --dry-run: SyncReport, SyncPlan", async () => {
    const dir = tmp()
    const config = path.join(dir, "sync.yaml")
    fs.writeFileSync(
      config,
      `registries: { "${host}": { tls: false } }
sync:
  - { source: ${host}/app, target: ${host}/synced/app, tags: { allow: ["^1$"] } }
  - { source: ${host}/multi, target: ${host}/synced/multi, platforms: [linux/arm64] }
`
    )
    const state = ["--state", path.join(dir, "state")]
    const plan = document("SyncPlan", await ocidist(["sync", "--json", "--dry-run", ...state, config])) as {
      repositories: Array<{ copy: Array<unknown> }>
    }
    expect(plan.repositories.map((r) => r.copy.length)).toEqual([1, 1])
    const report = document("SyncReport", await ocidist(["sync", "--json", ...state, config])) as {
      totals: { copied: number }
    }
    expect(report.totals.copied).toBe(2)
    const again = document("SyncReport", await ocidist(["sync", "--json", ...state, config])) as {
      totals: { unchanged: number }
    }
    expect(again.totals.unchanged).toBe(2)
    const status = document("SyncStatus", await ocidist(["sync", "status", "--json", ...state])) as {
      repositories: Array<{ states: Record<string, number> }>
    }
    expect(status.repositories.map((r) => r.states)).toEqual([{ unchanged: 1 }, { unchanged: 1 }])
    const none = document("SyncStatus", await ocidist(["sync", "status", "--json", "--state", path.join(dir, "none")]))
    expect(none).toEqual({ run: null, repositories: [] })
  })

  it("sync worker, sync status --cluster: SyncWorker, SyncStatus", async () => {
    const pg = await acquire(Postgres.start())
    try {
      const child = start([
        "sync",
        "worker",
        "--json",
        "--cluster",
        pg.value.url,
        "--listen",
        `127.0.0.1:${await Effect.runPromise(Tools.freePort)}`
      ])
      const done = collect(child)
      const first = await new Promise<string>((resolve) => {
        let out = ""
        child.stdout!.on("data", (d: Buffer) => {
          out += d.toString()
          if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")))
        })
        child.once("exit", () => resolve(out))
      })
      const joined = JSON.parse(first) as Record<string, unknown>
      check("SyncWorker", joined)
      expect(joined.cluster).toBe(pg.value.url)
      document("SyncStatus", await ocidist(["sync", "status", "--json", "--cluster", pg.value.url]))
      // SIGTERM: a graceful end, exit 0
      child.kill("SIGTERM")
      const r = await done
      expect(r.stderr).toBe("")
      expect(r.code).toBe(0)
    } finally {
      await pg.close()
    }
  })

  it("a failure and a usage error: one Failure line on stderr", async () => {
    const notFound = await ocidist(["digest", "--json", `${host}/app:nope`])
    expect(notFound.code).toBe(3)
    expect(notFound.stdout).toBe("")
    const lines = ndjson(notFound.stderr)
    expect(lines).toHaveLength(1)
    check("Failure", lines[0])
    const usage = await ocidist(["digest", "--json", "--format", "{{.Digest}}", `${host}/app:1`])
    expect(usage.code).toBe(2)
    expect(ndjson(usage.stderr)).toHaveLength(1)
    check("Failure", ndjson(usage.stderr)[0])
    expect(ndjson(usage.stderr)[0]).toMatchObject({ error: "UsageError" })
  })

  it("every type of the section is checked, or part of one that is", () => {
    const reached = new Set<string>()
    const visit = (name: string) => {
      if (reached.has(name)) return
      reached.add(name)
      references(types.get(name)!).forEach(visit)
    }
    checked.forEach(visit)
    expect([...types.keys()].filter((name) => !reached.has(name))).toEqual([])
  })
})

// --- --format ----------------------------------------------------------------------------------------------

describe.concurrent("--format", () => {
  it("digest --format '{{.Digest}}' and other fields", async () => {
    const r = await ocidist(["digest", "--format", "{{.Digest}}", `${host}/app:1`])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`${image.manifestDigest}\n`)
    const all = await ocidist(["digest", "--format", "{{.Reference}} {{.MediaType}} {{.Size}}\n", `${host}/app:1`])
    expect(all.stdout).toBe(`${host}/app:1 ${image.mediaType} ${image.manifest.length}\n`)
  })

  it("tags: range with println, a quoted \\n, join", async () => {
    const println = await ocidist(["tags", "--format", "{{range .Tags}}{{println .}}{{end}}", `oci:${layout}`])
    expect(println.code).toBe(0)
    expect(println.stdout.split("\n").filter((l) => l !== "").sort()).toEqual(["evil", "multi", "sbom", "v1"])
    expect(println.stdout.endsWith("\n") && !println.stdout.endsWith("\n\n")).toBe(true)
    const quoted = await ocidist(["tags", "--format", "{{range .Tags}}{{.}}{{\"\\n\"}}{{end}}", `oci:${layout}`])
    expect(quoted.stdout).toBe(println.stdout)
    const joined = await ocidist(["ls", "--format", "{{len .Tags}}: {{join .Tags \",\"}}", `oci:${layout}`])
    expect(joined.stdout).toMatch(/^4: [a-z0-9,]+\n$/)
    // text is literal, as in Go
    const literal = await ocidist(["tags", "--format", "{{index .Tags 0}}\\n", `${host}/multi`])
    expect(literal.stdout).toBe("1\\n\n")
  })

  it("manifest: fields of the manifest itself", async () => {
    const r = await ocidist([
      "manifest",
      "--format",
      "{{.MediaType}} {{.Manifest.Config.Digest}}{{range .Manifest.Layers}} {{.Size}}{{end}}",
      `${host}/app:1`
    ])
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe(
      `${image.mediaType} ${image.configDigest}${image.layers.map((l) => ` ${l.size}`).join("")}\n`
    )
  })

  it("inspect: an index's platforms, labels with index, json, if", async () => {
    const r = await ocidist([
      "inspect",
      "--format",
      "{{range .Manifests}}{{.Platform.Os}}/{{.Platform.Architecture}}{{if .Platform.Variant}}/{{.Platform.Variant}}{{end}}{{println}}{{end}}",
      `${host}/multi:1`
    ])
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe("linux/amd64\nlinux/arm64\nlinux/arm/v7\n")
    const labels = await ocidist([
      "inspect",
      "--format",
      "{{index .ConfigSummary.Labels \"org.example.seed\"}} {{json .ConfigSummary.Labels}} {{.Kind}}",
      `${host}/app:1`
    ])
    expect(labels.stdout).toBe("ocidist/small {\"org.example.seed\":\"ocidist/small\"} image\n")
    // a field a document may lack is empty, not an error
    const optional = await ocidist(["inspect", "--format", "[{{.ArtifactType}}]", `${host}/app:1`])
    expect(optional.stdout).toBe("[]\n")
  })

  it("referrers: the tree's fields", async () => {
    const r = await ocidist([
      "referrers",
      "--format",
      "{{.Subject.Digest}}{{range .Referrers}} {{.ArtifactType}}@{{.Digest}}{{end}}",
      `${host}/app:1`
    ])
    expect(r.stderr).toBe("")
    expect(r.stdout).toBe(`${image.manifestDigest} ${SBOM}@${sbom.manifestDigest}\n`)
  })

  it("a template that does not parse: exit 2 before any request, naming the position", async () => {
    // nothing listens on port 1: a request would fail with exit 1
    const r = await ocidist(["digest", "--format", "{{.Digest", "127.0.0.1:1/app:1"])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toBe("ocidist: --format: at 1:1: unclosed action: no }}\n")
    const range = await ocidist(["tags", "--format", "{{range .Tags}}{{.}}", "127.0.0.1:1/app"])
    expect(range.code).toBe(2)
    expect(range.stderr).toBe("ocidist: --format: at 1:1: unclosed {{range}}: no {{end}}\n")
  })

  it("a missing field: exit 2, naming it and the fields there are", async () => {
    const r = await ocidist(["digest", "--format", "{{.Digets}}", `${host}/app:1`])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toBe(
      "ocidist: --format: at 1:3: no field .Digets; fields: .Digest, .MediaType, .Reference, .Size\n"
    )
  })

  it("--format with --json: exit 2", async () => {
    const r = await ocidist(["referrers", "--format", "{{.Subject.Digest}}", "--json", `${host}/app:1`])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain("--format and --json cannot be used together")
  })

  it("values are escaped as on every text line; the template's own text is not", async () => {
    const r = await ocidist([
      "inspect",
      "--format",
      "\t{{index .Annotations \"org.example.evil\"}}\n{{json .Annotations}}",
      `oci:${layout}:evil`
    ])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(
      "\ta\\x1b[2Jb\\x0ac\n" +
        JSON.stringify({ "org.example.evil": "a\\x1b[2Jb\\x0ac" }) +
        "\n"
    )
  })
})

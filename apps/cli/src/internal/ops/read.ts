/**
 * Commands that look at (or edit) single manifests and blobs: `manifest`, `manifest put`, `digest`,
 * `config`, `blob`, `inspect`, `tags`, `catalog`, `tag`, `delete`, `untag`, `referrers`.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import type * as RegistryError from "@ocidist/distribution/RegistryError"
import * as Repository from "@ocidist/distribution/Repository"
import * as Layout from "@ocidist/layout/Layout"
import { ImageNotFound } from "@ocidist/layout/LayoutError"
import { Reference } from "@ocidist/reference"
import type * as Digest from "@ocidist/reference/Digest"
import * as ImageConfig from "@ocidist/spec/ImageConfig"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Platform from "@ocidist/spec/Platform"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as NodeFs from "node:fs"
import * as Copy from "ocidist/Copy"
import * as Location from "ocidist/Location"
import * as Ocidist from "ocidist/Ocidist"
import type * as Result from "ocidist/Result"
import { CliFailure, UsageError } from "../../CliError.js"
import { type Globals, platforms } from "../../GlobalOptions.js"
import * as Format from "../format.js"
import * as Template from "../template.js"
import { sanitize } from "../terminal.js"
import {
  display,
  info,
  json,
  line,
  lines,
  parseDigestReference,
  parseReference,
  platformOption,
  run,
  stdout,
  text
} from "./common.js"

/**
 * The `--format` template of a read command, parsed before any request: a template that does not parse, or
 * `--format` with `--json`, is a usage error.
 */
const templateOf = (globals: Globals, format: Option.Option<string> | undefined) =>
  Effect.gen(function*() {
    if (format === undefined || Option.isNone(format)) return undefined
    if (globals.json) {
      return yield* new UsageError({
        detail:
          "--format and --json cannot be used together (--json prints the whole document, --format a template of it)"
      })
    }
    return yield* Either.match(Template.parse(format.value), {
      onLeft: (e) => Effect.fail(new UsageError({ detail: `--format: at ${e.position}: ${e.message}` })),
      onRight: Effect.succeed
    })
  })

/** Every string of a JSON document (keys too) escaped as a line is: `--format` output is text. */
const escaped = (value: unknown): unknown =>
  typeof value === "string"
    ? sanitize(value)
    : Array.isArray(value)
    ? value.map(escaped)
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [sanitize(k), escaped(v)]))
    : value

/** Fields the OCI specs make optional (descriptors, platforms, manifests): missing, a template sees nothing. */
const SPEC_OPTIONAL: ReadonlyArray<string> = [
  "artifactType",
  "subject",
  "annotations",
  "platform",
  "urls",
  "data",
  "variant",
  "features",
  "os.version",
  "os.features",
  "mediaType",
  "config",
  "layers",
  "manifests"
]

const OPTIONAL = new Set(SPEC_OPTIONAL)

/** `inspect`'s config summary has optional fields of its own. */
const INSPECT_OPTIONAL = new Set([
  ...SPEC_OPTIONAL,
  "configSummary",
  "created",
  "author",
  "user",
  "entrypoint",
  "cmd",
  "env",
  "workingDir",
  "exposedPorts",
  "labels"
])

/**
 * Writes a read command's result: its JSON document with `--json`, the template's text with `--format`
 * (followed by a line feed unless it ends with one), else what `plain` writes.
 */
const output = <E, R>(
  globals: Globals,
  template: Template.Template | undefined,
  document: unknown,
  plain: () => Effect.Effect<void, E, R>,
  optional: ReadonlySet<string> = OPTIONAL
): Effect.Effect<void, E | UsageError, R> => {
  if (globals.json) return json(document)
  if (template === undefined) return plain()
  return Either.match(Template.execute(template, escaped(document), { optional }), {
    onLeft: (e) => Effect.fail(new UsageError({ detail: `--format: at ${e.position}: ${e.message}` })),
    onRight: (out) => stdout(new TextEncoder().encode(out.endsWith("\n") ? out : out + "\n"))
  })
}

const firstPlatform = (globals: Globals) =>
  Effect.gen(function*() {
    const p = platforms(globals)?.[0]
    if (p === undefined) return undefined
    return yield* Either.match(Platform.parse(p), { onLeft: Effect.fail, onRight: Effect.succeed })
  })

/**
 * The manifest a reference names; with `--platform`, that platform's manifest (`Copy.selectPlatform`: an
 * index searched, nested indexes descended; an image checked against its config). Without it, `fallback`
 * selects from an index only (an image of another platform is still shown).
 */
const fetchManifest = (
  globals: Globals,
  input: string,
  fallback?: Platform.Platform
) =>
  Effect.gen(function*() {
    const client = yield* RegistryClient.RegistryClient
    const ref = yield* parseReference(input)
    const response = yield* client.manifests.get(ref)
    const given = yield* firstPlatform(globals)
    const wanted = given ?? fallback
    if (wanted === undefined || (given === undefined && response.manifest._tag !== "ImageIndex")) {
      return { ref, response }
    }
    const selected = yield* Copy.selectPlatform(Repository.make(client, ref), response.manifest, wanted)
    if (selected.digest === response.digest) return { ref, response }
    return {
      ref: Reference.withDigest(ref, selected.digest),
      response: {
        mediaType: selected.mediaType,
        digest: selected.digest,
        size: selected.bytes.length,
        rateLimit: response.rateLimit,
        bytes: selected.bytes,
        manifest: selected
      }
    }
  })

const decodeJson = (bytes: Uint8Array): unknown => {
  try {
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return null
  }
}

/**
 * A Docker schema 1 manifest, which the decoding `get` refuses: `manifest` still prints its bytes and digest
 * (useful to migrate it). Not with `--platform`: there is no index to select from, and nothing else reads it.
 */
const schema1Manifest = (globals: Globals, input: string, refused: RegistryError.UnsupportedMediaType) =>
  Effect.gen(function*() {
    const cause = refused.cause as { readonly reason?: unknown } | undefined
    const schema1 = MediaType.isSchema1(refused.mediaType) || cause?.reason === "Schema1"
    if (!schema1 || platforms(globals) !== undefined) return yield* Effect.fail(refused)
    const client = yield* RegistryClient.RegistryClient
    const ref = yield* parseReference(input)
    const response = yield* client.manifests.getRaw(ref)
    // served differently the second time: the first answer stands
    if (!MediaType.isSchema1(response.mediaType)) return yield* Effect.fail(refused)
    return { ref, response }
  })

/** `manifest <ref>` */
export const manifest = (
  globals: Globals,
  args: { readonly reference: string; readonly pretty: boolean; readonly format?: Option.Option<string> }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const template = yield* templateOf(globals, args.format)
      const { ref, response } = yield* fetchManifest(globals, args.reference).pipe(
        Effect.catchTag("UnsupportedMediaType", (e) => schema1Manifest(globals, args.reference, e))
      )
      const document = {
        reference: ref.toString(),
        digest: response.digest,
        mediaType: response.mediaType,
        size: response.size,
        manifest: decodeJson(response.bytes)
      }
      yield* output(
        globals,
        template,
        document,
        () => args.pretty ? text(JSON.stringify(document.manifest, null, 2)) : display(response.bytes)
      )
    })
  )

const readInput = (file: string) =>
  Effect.gen(function*() {
    if (file === "-") {
      return yield* Effect.tryPromise({
        try: async () => {
          const chunks: Array<Buffer> = []
          let size = 0
          for await (const chunk of process.stdin) {
            const b = chunk as Buffer
            size += b.length
            if (size > Manifest.MAX_BYTES) throw new Error(`more than ${Manifest.MAX_BYTES} bytes`)
            chunks.push(b)
          }
          return new Uint8Array(Buffer.concat(chunks))
        },
        catch: (e) =>
          new CliFailure({ detail: `cannot read the manifest from stdin: ${e instanceof Error ? e.message : e}` })
      })
    }
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(file).pipe(
      Effect.mapError((e) => new CliFailure({ detail: `cannot read ${file}: ${e.message}` }))
    )
    if (Number(info.size) > Manifest.MAX_BYTES) {
      return yield* new UsageError({ detail: `${file} is larger than ${Manifest.MAX_BYTES} bytes: not a manifest` })
    }
    return yield* fs.readFile(file).pipe(
      Effect.mapError((e) => new CliFailure({ detail: `cannot read ${file}: ${e.message}` }))
    )
  })

/** `manifest put <ref> <file|->` */
export const manifestPut = (
  globals: Globals,
  args: { readonly reference: string; readonly file: string; readonly mediaType: Option.Option<string> }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const ref = yield* parseReference(args.reference)
      const bytes = yield* readInput(args.file)
      const decoded = yield* Either.match(
        Manifest.decode(bytes, Option.isSome(args.mediaType) ? { contentType: args.mediaType.value } : {}),
        { onLeft: Effect.fail, onRight: Effect.succeed }
      )
      const mediaType = Option.getOrElse(args.mediaType, () => decoded.mediaType)
      const result = yield* client.manifests.put(ref, { bytes, mediaType })
      if (globals.json) {
        return yield* json({
          reference: ref.toString(),
          digest: result.digest,
          mediaType,
          size: bytes.length,
          // the subject's descriptor (as `inspect` shows it), and how the registry lists the manifest as its referrer
          ...(decoded.manifest.subject === undefined
            ? {}
            : { subject: decoded.manifest.subject, referrersBy: result.referrers })
        })
      }
      yield* line(result.digest)
    })
  )

/** `digest <ref>` */
export const digest = (
  globals: Globals,
  args: { readonly reference: string; readonly format?: Option.Option<string> }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const template = yield* templateOf(globals, args.format)
      const resolved = yield* Ocidist.resolve(args.reference, platformOption(globals))
      const document = {
        reference: resolved.location,
        digest: resolved.digest,
        mediaType: resolved.mediaType,
        size: resolved.size
      }
      yield* output(globals, template, document, () => line(resolved.digest))
    })
  )

/** `config <ref>` */
export const config = (globals: Globals, args: { readonly reference: string }) =>
  run(
    globals,
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const { ref, response } = yield* fetchManifest(globals, args.reference, Platform.current())
      if (response.manifest._tag !== "ImageManifest") {
        return yield* new CliFailure({ detail: `${ref.toString()} is an index without a matching platform manifest` })
      }
      const descriptor = response.manifest.manifest.config
      if (descriptor.size > ImageConfig.MAX_BYTES) {
        return yield* new CliFailure({
          detail: `the config of ${ref.toString()} is ${descriptor.size} bytes: too large`
        })
      }
      const bytes = yield* Stream.runCollect(
        client.blobs.stream(Reference.repositoryOf(ref), descriptor.digest, { size: descriptor.size })
      ).pipe(Effect.map((chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks))))
      if (globals.json) {
        return yield* json({
          reference: ref.toString(),
          digest: descriptor.digest,
          mediaType: descriptor.mediaType,
          size: descriptor.size,
          config: decodeJson(bytes)
        })
      }
      yield* display(bytes)
    })
  )

/** `blob <ref@digest> [-o file]` */
export const blob = (globals: Globals, args: { readonly reference: string; readonly output: Option.Option<string> }) =>
  run(
    globals,
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const ref = yield* parseDigestReference(args.reference, "blob")
      if (globals.json && Option.isNone(args.output)) {
        return yield* new UsageError({ detail: "blob --json needs -o <file> (the blob itself is not JSON)" })
      }
      if (Option.isNone(args.output) && process.stdout.isTTY === true) {
        return yield* new UsageError({
          detail: "refusing to write a blob to the terminal: use -o <file> or redirect stdout"
        })
      }
      const blobStream = client.blobs.stream(Reference.repositoryOf(ref), ref.digest)
      if (Option.isNone(args.output)) {
        return yield* Stream.runForEach(blobStream, (chunk) => stdout(chunk))
      }
      const fs = yield* FileSystem.FileSystem
      const target = args.output.value
      const partial = `${target}.partial`
      let size = 0
      // the byte path's fast lane: each verified buffer written where it belongs, in the same call
      yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open(partial, { flag: "w" })
        let failure: unknown
        yield* client.blobs.pump(Reference.repositoryOf(ref), ref.digest, (chunk) => {
          try {
            for (let done = 0; done < chunk.length;) {
              done += NodeFs.writeSync(file.fd, chunk, done, chunk.length - done, size + done)
            }
          } catch (cause) {
            failure = cause
            return false
          }
          size += chunk.length
          return true
        })
        if (failure !== undefined) {
          return yield* new CliFailure({
            detail: `cannot write ${partial}: ${failure instanceof Error ? failure.message : String(failure)}`
          })
        }
        yield* file.sync
      })).pipe(
        Effect.zipRight(fs.rename(partial, target)),
        Effect.onError(() => fs.remove(partial).pipe(Effect.ignore))
      )
      if (globals.json) return yield* json({ reference: ref.toString(), digest: ref.digest, size, path: target })
      yield* info(globals, `wrote ${Format.bytes(size)} to ${target}`)
    })
  )

const platformOf = (d: { readonly platform?: Platform.Platform | undefined }) =>
  d.platform === undefined ? "-" : Platform.format(d.platform)

const renderInspection = (i: Result.Inspection): Array<string> => {
  const out: Array<string> = []
  out.push(`Reference:  ${i.location}`)
  out.push(`Digest:     ${i.digest}`)
  out.push(`Media type: ${i.mediaType}`)
  if (i.artifactType !== undefined) out.push(`Artifact:   ${i.artifactType}`)
  if (i.subject !== undefined) out.push(`Subject:    ${i.subject.digest}`)
  if (i._tag === "Index") {
    out.push(`Size:       ${Format.bytes(i.size)}`)
    out.push(`Platforms:  ${i.platforms.length === 0 ? "-" : i.platforms.join(", ")}`)
    out.push(`Manifests:  ${i.manifests.length}`)
    out.push(
      ...Format.table(i.manifests.map((m) => [
        "  " + platformOf(m),
        m.digest,
        Format.bytes(m.size),
        m.artifactType ?? Format.kind(m.mediaType)
      ]))
    )
  } else {
    const c = i.configSummary
    if (c?.platform !== undefined) out.push(`Platform:   ${Platform.format(c.platform)}`)
    if (c?.created !== undefined) out.push(`Created:    ${c.created}`)
    out.push(`Size:       ${Format.bytes(i.totalSize)} (layers ${Format.bytes(i.layersSize)})`)
    out.push(`Config:     ${i.config.digest} (${Format.bytes(i.config.size)})`)
    if (c?.entrypoint !== undefined) out.push(`Entrypoint: ${JSON.stringify(c.entrypoint)}`)
    if (c?.cmd !== undefined) out.push(`Cmd:        ${JSON.stringify(c.cmd)}`)
    if (c?.user !== undefined) out.push(`User:       ${c.user}`)
    if (c?.workingDir !== undefined) out.push(`WorkingDir: ${c.workingDir}`)
    if (c?.exposedPorts !== undefined && c.exposedPorts.length > 0) out.push(`Ports:      ${c.exposedPorts.join(", ")}`)
    out.push(`Layers:     ${i.layers.length}`)
    out.push(...Format.table(i.layers.map((l) => ["  " + l.digest, Format.bytes(l.size), l.mediaType])))
    if (c?.labels !== undefined && Object.keys(c.labels).length > 0) {
      out.push("Labels:")
      for (const [k, v] of Object.entries(c.labels)) out.push(`  ${k}=${v}`)
    }
  }
  if (i.annotations !== undefined && Object.keys(i.annotations).length > 0) {
    out.push("Annotations:")
    for (const [k, v] of Object.entries(i.annotations)) out.push(`  ${k}=${v}`)
  }
  return out.filter((s) => s !== "")
}

/** `inspect <ref>` */
export const inspect = (
  globals: Globals,
  args: { readonly reference: string; readonly format?: Option.Option<string> }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const template = yield* templateOf(globals, args.format)
      const result = yield* Ocidist.inspect(args.reference, platformOption(globals))
      // `kind` ("image" | "index") rather than the facade's internal `_tag`; `reference` as every command names it
      const { _tag, location, manifest: _manifest, ...rest } = result
      const document = { kind: _tag === "Index" ? "index" : "image", reference: location, ...rest }
      yield* output(globals, template, document, () => lines(renderInspection(result)), INSPECT_OPTIONAL)
    })
  )

const digestTag = /^sha(256|384|512)-[0-9a-f]{32,128}(\.[\w.-]+)?$/

/** The distribution spec's tag grammar. */
const registryTag = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

/**
 * `org.opencontainers.image.ref.name` in a layout or archive: the image spec's grammar, which allows
 * `registry/name:tag` (as @ocidist/layout accepts it).
 */
const layoutTag = (tag: string): boolean =>
  tag.length <= 255 && /^[A-Za-z0-9_](?:[A-Za-z0-9._\-:@+/]*[A-Za-z0-9_])?$/.test(tag) &&
  !tag.includes("//") && !tag.includes("..") && !tag.includes("/.") && !tag.includes("./")

/** Marks a listed tag that does not follow the grammar (its text is escaped by `lines`, as every line's). */
const INVALID_TAG = " (invalid tag)"

/** The repository a location names, without tag or digest: `host/name`, `oci:<dir>`, `oci-archive:<file>`… */
const repositoryOf = (location: Location.Location): string => {
  switch (location._tag) {
    case "Registry":
      return `${location.reference.registry}/${location.reference.repository}`
    case "Layout":
      return `oci:${location.path}`
    case "OciArchive":
      return `oci-archive:${location.path}`
    case "DockerArchive":
      return `docker-archive:${location.path}`
  }
}

/** `tags <repo>` */
export const tags = (
  globals: Globals,
  args: { readonly repository: string; readonly omitDigestTags: boolean; readonly format?: Option.Option<string> }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const template = yield* templateOf(globals, args.format)
      const all = yield* Ocidist.tags(args.repository)
      const list = args.omitDigestTags ? all.filter((t) => !digestTag.test(t)) : all
      const location = Location.parse(args.repository)
      if (globals.json || template !== undefined) {
        const reference = Either.match(location, { onLeft: () => args.repository, onRight: repositoryOf })
        return yield* output(globals, template, { reference, tags: list }, () => Effect.void)
      }
      const valid = Either.isRight(location) && location.right._tag !== "Registry"
        ? layoutTag
        : (tag: string) => registryTag.test(tag)
      let invalid = 0
      yield* lines(list.map((tag) => {
        if (valid(tag)) return tag
        invalid++
        return tag + INVALID_TAG
      }))
      if (invalid > 0) {
        yield* info(
          globals,
          `ocidist: warning: ${invalid} tag(s) listed do not follow the tag grammar: shown escaped, marked "${INVALID_TAG.trim()}"`
        )
      }
    })
  )

/** `catalog <registry>` */
export const catalog = (globals: Globals, args: { readonly registry: string }) =>
  run(
    globals,
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const registry = args.registry.replace(/^(https?|docker):\/\//, "").replace(/\/+$/, "")
      if (globals.json) {
        const repositories = Chunk.toReadonlyArray(yield* Stream.runCollect(client.catalog(registry)))
        return yield* json({ registry, repositories })
      }
      yield* Stream.runForEach(client.catalog(registry), (name) => line(name))
    })
  )

/**
 * The reference `tag` writes: a bare tag in `ref`'s repository, or a full reference (with a tag, no digest) in
 * the same repository.
 */
const tagTarget = (ref: Reference.Reference, input: string) => {
  const repository = `${ref.registry}/${ref.repository}`
  const expected = `expected a tag (e.g. v2) or ${repository}:<tag>`
  if (registryTag.test(input)) {
    return Either.match(Reference.withTag(Reference.withoutDigest(ref), input), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
  }
  return Either.match(Reference.parse(input.startsWith("docker://") ? input.slice("docker://".length) : input), {
    onLeft: () => Effect.fail(new UsageError({ detail: `tag: "${input.slice(0, 200)}" is not a tag: ${expected}` })),
    onRight: (target) =>
      `${target.registry}/${target.repository}` !== repository
        ? Effect.fail(
          new UsageError({
            detail: `tag: ${target.toString()} is in another repository than ${ref.toString()}: ${expected}` +
              ` (to copy between repositories, use \`ocidist copy\`)`
          })
        )
        : target.tag === undefined || target.digest !== undefined
        ? Effect.fail(new UsageError({ detail: `tag: "${input.slice(0, 200)}" names no tag: ${expected}` }))
        : Effect.succeed(target)
  })
}

/** `tag <ref> <new-tag>` */
export const tag = (globals: Globals, args: { readonly reference: string; readonly tag: string }) =>
  run(
    globals,
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const ref = yield* parseReference(args.reference)
      const target = yield* tagTarget(ref, args.tag)
      const response = yield* client.manifests.get(ref)
      const result = yield* client.manifests.put(target, { bytes: response.bytes, mediaType: response.mediaType })
      if (globals.json) {
        return yield* json({ source: ref.toString(), reference: target.toString(), digest: result.digest })
      }
      yield* line(`${target.toString()}@${result.digest}`)
    })
  )

/** How many of the other tags `delete` names when it refuses. */
const LISTED_TAGS = 5

/** The other tags of `ref`'s repository that point at `digest` (every tag is resolved: one HEAD each). */
const tagsSharing = (ref: Reference.Reference, tag: string, digest: Digest.Digest) =>
  Effect.gen(function*() {
    const client = yield* RegistryClient.RegistryClient
    const repository = Reference.withoutDigest(Reference.withoutTag(ref))
    const all = Chunk.toReadonlyArray(yield* Stream.runCollect(client.tags(repository)))
    const others = all.filter((t) => t !== tag).sort()
    const digests = yield* Effect.forEach(others, (t) =>
      Either.match(Reference.withTag(repository, t), {
        // a listed tag that is not a valid tag cannot be asked for
        onLeft: () => Effect.succeed(undefined),
        onRight: (tagged) =>
          client.manifests.head(tagged).pipe(
            Effect.map((d) => d.digest),
            // a tag deleted meanwhile does not share anything
            Effect.catchTag("NotFound", () => Effect.succeed(undefined))
          )
      }), { concurrency: 8 })
    return others.filter((_, i) => digests[i] === digest)
  })

/** `delete <ref>` */
export const remove = (globals: Globals, args: { readonly reference: string; readonly force?: boolean }) =>
  run(
    globals,
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const ref = yield* parseReference(args.reference)
      const digest = ref.digest ?? (yield* client.manifests.head(ref)).digest
      if (ref.digest === undefined && ref.tag !== undefined && args.force !== true) {
        const shared = yield* tagsSharing(ref, ref.tag, digest)
        if (shared.length > 0) {
          const listed = shared.slice(0, LISTED_TAGS).join(", ") +
            (shared.length > LISTED_TAGS ? `, … (${shared.length - LISTED_TAGS} more)` : "")
          return yield* new UsageError({
            detail: `deleting ${ref.toString()} deletes manifest ${digest} and all ${
              shared.length + 1
            } tags pointing at it (also ${listed}): add --force to delete them all, or run \`ocidist untag ${ref.toString()}\` to remove just this tag`
          })
        }
      }
      const target = Reference.withDigest(Reference.withoutTag(ref), digest)
      yield* client.manifests.delete(target)
      if (globals.json) return yield* json({ reference: ref.toString(), digest, deleted: true })
      yield* line(`Deleted ${target.toString()}`)
    })
  )

/** Whether a registry's answer to a tag DELETE means it does not delete tags alone. */
const refusesTagDelete = (
  error: RegistryError.RegistryClientError
): error is RegistryError.RegistryResponseError =>
  error._tag === "RegistryResponseError" &&
  (error.status === 400 || error.status === 405 ||
    error.codes.some((c) => c === "UNSUPPORTED" || c === "DIGEST_INVALID"))

/** `untag <ref>`: the tag alone (a registry's tag DELETE, or a layout's `index.json` entry). */
export const untag = (globals: Globals, args: { readonly reference: string }) =>
  run(
    globals,
    Effect.gen(function*() {
      const location = Location.parse(args.reference)
      if (Either.isRight(location) && location.right._tag !== "Registry") {
        const local = location.right
        if (local._tag !== "Layout") {
          return yield* new UsageError({
            detail: `untag: ${args.reference} is an archive; untag works on registries and oci:<dir>:<tag> layouts`
          })
        }
        if (local.tag === undefined) {
          return yield* new UsageError({
            detail: `untag needs a tag: oci:${local.path}:<tag>, got "${args.reference}"`
          })
        }
        const layout = yield* Layout.open(local.path)
        const removed = yield* layout.untag(local.tag)
        if (!removed) {
          return yield* new ImageNotFound({ path: local.path, reference: local.tag, detail: `no tag ${local.tag}` })
        }
        if (globals.json) return yield* json({ reference: args.reference, tag: local.tag, untagged: true })
        return yield* line(`Untagged ${args.reference}`)
      }
      const client = yield* RegistryClient.RegistryClient
      const ref = yield* parseReference(args.reference)
      if (ref.tag === undefined || ref.digest !== undefined) {
        return yield* new UsageError({
          detail: `untag needs a tag without a digest (repo:tag), got "${args.reference}"; delete removes by digest`
        })
      }
      yield* client.manifests.delete(ref).pipe(
        Effect.catchIf(refusesTagDelete, (error) =>
          new UsageError({
            detail: `${ref.registry} cannot delete a tag alone (HTTP ${error.status}${
              error.errors.length > 0
                ? ` ${error.errors.map((e) => e.message ? `${e.code}: ${e.message}` : e.code).join("; ")}`
                : ""
            }): retag it with \`ocidist tag\`, or delete the manifest and all its tags with \`ocidist delete --force\``
          }))
      )
      if (globals.json) return yield* json({ reference: ref.toString(), tag: ref.tag, untagged: true })
      yield* line(`Untagged ${ref.toString()}`)
    })
  )

interface ReferrerNode {
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly artifactType?: string | undefined
  readonly annotations?: Readonly<Record<string, string>> | undefined
  readonly referrers: ReadonlyArray<ReferrerNode>
}

const MAX_DEPTH = 4

/** `referrers <ref>` */
export const referrers = (
  globals: Globals,
  args: {
    readonly reference: string
    readonly artifactType: Option.Option<string>
    readonly format?: Option.Option<string>
  }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const template = yield* templateOf(globals, args.format)
      // with --platform, the referrers of that platform's manifest
      const subject = yield* Ocidist.resolve(args.reference, platformOption(globals))
      const loc = yield* Either.match(Location.parse(args.reference), { onLeft: Effect.fail, onRight: Effect.succeed })
      const nested = loc._tag === "Registry" || loc._tag === "Layout"
      const at = (digest: Digest.Digest): Location.Location =>
        loc._tag === "Registry"
          ? Location.registry(Reference.withDigest(Reference.withoutTag(loc.reference), digest))
          : loc._tag === "Layout"
          ? Location.layout(loc.path, { digest })
          : loc
      const walk = (
        digest: Digest.Digest,
        depth: number
      ): Effect.Effect<ReadonlyArray<ReferrerNode>, unknown, Ocidist.Ocidist> =>
        Effect.gen(function*() {
          const list = yield* Ocidist.referrers(
            at(digest),
            depth === 0 && Option.isSome(args.artifactType) ? { artifactType: args.artifactType.value } : {}
          )
          return yield* Effect.forEach(list, (d) =>
            Effect.map(
              nested && depth + 1 < MAX_DEPTH ? walk(d.digest, depth + 1) : Effect.succeed([]),
              (children): ReferrerNode => ({
                digest: d.digest,
                mediaType: d.mediaType,
                size: d.size,
                ...(d.artifactType === undefined ? {} : { artifactType: d.artifactType }),
                ...(d.annotations === undefined ? {} : { annotations: d.annotations }),
                referrers: children
              })
            ), { concurrency: 4 })
        })
      const tree = yield* walk(subject.digest, 0)
      if (globals.json || template !== undefined) {
        const document = {
          subject: {
            reference: subject.location,
            digest: subject.digest,
            mediaType: subject.mediaType,
            size: subject.size
          },
          referrers: tree
        }
        return yield* output(globals, template, document, () => Effect.void)
      }
      yield* line(`${subject.location}@${subject.digest}`)
      const print = (nodes: ReadonlyArray<ReferrerNode>, prefix: string): Effect.Effect<void> =>
        Effect.forEach(nodes, (node, i) => {
          const last = i === nodes.length - 1
          return Effect.zipRight(
            line(
              `${prefix}${last ? "└── " : "├── "}${node.artifactType ?? node.mediaType}  ${node.digest}  ${
                Format.bytes(node.size)
              }`
            ),
            print(node.referrers, prefix + (last ? "    " : "│   "))
          )
        }, { discard: true })
      yield* print(tree, "")
    })
  )

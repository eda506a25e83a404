/**
 * `Artifact.push`, `Artifact.pull`, `Artifact.attach`: files as an OCI 1.1 artifact (oras's layout of one),
 * over any content store a location opens.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as LayoutError from "@ocidist/layout/LayoutError"
import * as Tar from "@ocidist/layout/Tar"
import * as Digest from "@ocidist/reference/Digest"
import * as Hash from "@ocidist/reference/Hash"
import { DigestMismatch } from "@ocidist/reference/ReferenceError"
import * as Annotation from "@ocidist/spec/Annotation"
import * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Platform from "@ocidist/spec/Platform"
import { SizeMismatch } from "@ocidist/spec/SpecError"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Artifact from "../Artifact.js"
import * as Location from "../Location.js"
import { InvalidArtifact, type OcidistError, UnsupportedOperation } from "../OcidistError.js"
import * as ArchiveUpdate from "./archiveUpdate.js"
import * as Compression from "./compression.js"
import { selectPlatform } from "./platform.js"
import * as Stores from "./stores.js"
import { tarDirectory } from "./tarDirectory.js"

/** What the artifact operations need in context. @internal */
export type Requirements = RegistryClient.RegistryClient | FileSystem.FileSystem | Path.Path

/** The annotation oras sets on a directory's layer: the digest of the uncompressed tar. @internal */
export const CONTENT_DIGEST = "io.deis.oras.content.digest"
/** The annotation oras sets on a directory's layer: `"true"`, unpack it on pull. @internal */
export const CONTENT_UNPACK = "io.deis.oras.content.unpack"
/** The artifact type oras gives an artifact with an empty config and no `--artifact-type`. @internal */
export const UNKNOWN_ARTIFACT_TYPE = "application/vnd.unknown.artifact.v1"
/** The key of the manifest's own annotations in an annotation file (oras's format). @internal */
export const MANIFEST_KEY = "$manifest"
/** The key of the config's annotations in an annotation file (oras's format). @internal */
export const CONFIG_KEY = "$config"

const CHUNK = 256 * 1024

const environment: Effect.Effect<Stores.Environment, never, Requirements> = Effect.gen(function*() {
  return {
    client: yield* RegistryClient.RegistryClient,
    fs: yield* FileSystem.FileSystem,
    path: yield* Path.Path,
    hash: yield* Hash.Hash,
    cacheDirectory: undefined
  }
})

const ioError = (path: string) => LayoutError.fromPlatformError(path)

const noArchive = (location: Location.Location, operation: string) =>
  new UnsupportedOperation({
    operation,
    location: Location.format(location),
    detail: "a docker-archive holds images only: push artifacts to a registry repository, an OCI layout " +
      "(oci:DIR) or an oci-archive (oci-archive:FILE)"
  })

/** Hashes a file, streaming. */
const describeFile = (env: Stores.Environment, file: string) =>
  Effect.gen(function*() {
    const hasher = env.hash.make("sha256")
    yield* Stream.runForEach(
      Stream.mapError(env.fs.stream(file, { chunkSize: CHUNK }), ioError(file)),
      (chunk) => Effect.sync(() => hasher.update(chunk))
    )
    return { digest: hasher.digest(), size: hasher.bytes() }
  })

/** A directory tarred and gzipped into a temporary file of the scope, hashed before and after compression. */
const spoolDirectory = (env: Stores.Environment, dir: string, title: string) =>
  Effect.gen(function*() {
    const codecs = yield* Compression.CodecsRef
    const tmp = yield* Effect.mapError(
      env.fs.makeTempDirectoryScoped({ prefix: "ocidist-artifact-" }),
      ioError("(temporary directory)")
    )
    const file = env.path.join(tmp, "layer.tar.gz")
    const tarHash = env.hash.make("sha256")
    const gzHash = env.hash.make("sha256")
    const tar = Stream.tap(
      tarDirectory(dir, title).pipe(
        Stream.provideService(FileSystem.FileSystem, env.fs),
        Stream.provideService(Path.Path, env.path)
      ),
      (chunk) => Effect.sync(() => tarHash.update(chunk))
    )
    const gz = Stream.tap(codecs.compress("gzip", 6, dir)(tar), (chunk) => Effect.sync(() => gzHash.update(chunk)))
    yield* Stream.run(gz, env.fs.sink(file)).pipe(
      Effect.catchTag("BadArgument", "SystemError", (e) => Effect.fail(ioError(file)(e)))
    )
    return { file, digest: gzHash.digest(), size: gzHash.bytes(), tarDigest: tarHash.digest() }
  })

/** A file to push, its blob on disk and its descriptor. */
interface Prepared {
  readonly file: string | undefined
  readonly descriptor: Descriptor.Descriptor
}

const baseName = (env: Stores.Environment, file: string) => env.path.basename(env.path.resolve(file))

const prepareFile = (
  env: Stores.Environment,
  input: Artifact.FileInput,
  annotationsOf: (title: string) => Annotation.Annotations | undefined
): Effect.Effect<Prepared, OcidistError, Scope.Scope> =>
  Effect.gen(function*() {
    const spec = typeof input === "string" ? { path: input } : input
    const info = yield* Effect.mapError(env.fs.stat(spec.path), ioError(spec.path))
    const title = spec.title ?? baseName(env, spec.path)
    const extra = annotationsOf(title) ?? {}
    if (info.type === "Directory") {
      const spooled = yield* spoolDirectory(env, spec.path, title)
      return {
        file: spooled.file,
        descriptor: {
          mediaType: spec.mediaType ?? MediaType.OCI_LAYER_GZIP,
          digest: spooled.digest,
          size: spooled.size,
          annotations: {
            [CONTENT_DIGEST]: spooled.tarDigest,
            [CONTENT_UNPACK]: "true",
            [Annotation.TITLE]: title,
            ...extra
          }
        }
      }
    }
    const { digest, size } = yield* describeFile(env, spec.path)
    return {
      file: spec.path,
      descriptor: {
        mediaType: spec.mediaType ?? MediaType.OCI_LAYER,
        digest,
        size,
        annotations: { [Annotation.TITLE]: title, ...extra }
      }
    }
  })

const pushPrepared = (env: Stores.Environment, store: Storage.Storage<OcidistError>, prepared: Prepared) =>
  Effect.gen(function*() {
    if (yield* store.exists(prepared.descriptor)) return false
    const file = prepared.file
    yield* store.pushBlob(
      prepared.descriptor,
      file === undefined
        ? Storage.fromBytes(Descriptor.EMPTY_JSON)
        : Storage.fromStream(Stream.mapError(env.fs.stream(file, { chunkSize: CHUNK }), ioError(file)))
    )
    return true
  })

/** @internal */
export const push = (
  destination: Artifact.LocationInput,
  files: ReadonlyArray<Artifact.FileInput>,
  options?: Artifact.PushOptions
): Effect.Effect<Artifact.PushResult, OcidistError, Requirements> =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* environment
    const location = yield* Location.from(destination)
    if (location._tag === "DockerArchive") return yield* noArchive(location, "pushing an artifact")
    const name = Location.format(location)
    // an oci-archive is updated: staged, then written again with its entries and the artifact
    const opened = location._tag === "OciArchive"
      ? yield* ArchiveUpdate.open(env, location)
      : { ...(yield* Stores.openDestination(env, location)), complete: Effect.void }
    const store = opened.store
    const fileAnnotations = options?.fileAnnotations ?? {}
    const prepared: Array<Prepared> = []
    const titles = new Set<string>()
    for (const input of files) {
      const p = yield* prepareFile(env, input, (title) => fileAnnotations[title])
      const title = p.descriptor.annotations?.[Annotation.TITLE] ?? ""
      if (titles.has(title)) {
        return yield* new InvalidArtifact({ location: name, detail: `two files are titled "${title}"` })
      }
      titles.add(title)
      prepared.push(p)
    }
    const config: Prepared = options?.config === undefined
      ? { file: undefined, descriptor: Descriptor.empty }
      : yield* Effect.map(describeFile(env, options.config.path), (d) => ({
        file: options.config!.path,
        descriptor: {
          mediaType: options.config!.mediaType ?? MediaType.OCI_CONFIG,
          digest: d.digest,
          size: d.size,
          ...(fileAnnotations[CONFIG_KEY] === undefined ? {} : { annotations: fileAnnotations[CONFIG_KEY] })
        }
      }))
    const subject = options?.subject === undefined ? undefined : yield* store.resolve(options.subject)
    const artifactType = options?.artifactType ??
      (options?.config === undefined ? UNKNOWN_ARTIFACT_TYPE : undefined)
    const annotations = { ...fileAnnotations[MANIFEST_KEY], ...options?.annotations }
    const value = {
      schemaVersion: 2 as const,
      mediaType: MediaType.OCI_MANIFEST,
      ...(artifactType === undefined ? {} : { artifactType }),
      config: config.descriptor,
      layers: prepared.map((p) => p.descriptor),
      ...(subject === undefined
        ? {}
        : { subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } }),
      ...(Object.keys(annotations).length === 0 ? {} : { annotations })
    }
    const bytes = Manifest.encode(value)
    const manifest = yield* Either.match(Manifest.decode(bytes), { onLeft: Effect.fail, onRight: Effect.succeed })
    let pushed = 0
    for (const p of [config, ...prepared]) {
      if (yield* pushPrepared(env, store, p)) pushed++
    }
    const tags = options?.tags ?? (opened.tag === undefined ? [] : [opened.tag])
    yield* store.pushManifest(manifest, { tags, root: true })
    yield* opened.complete
    const result: Artifact.PushResult = {
      location: store.name,
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      size: bytes.length,
      ...(artifactType === undefined ? {} : { artifactType }),
      tags,
      ...(value.subject === undefined ? {} : { subject: value.subject }),
      blobsPushed: pushed,
      manifest: value
    }
    return result
  })).pipe(Effect.withSpan("Artifact.push"))

/** @internal */
export const attach = (
  subject: Artifact.LocationInput,
  files: ReadonlyArray<Artifact.FileInput>,
  options?: Omit<Artifact.PushOptions, "subject" | "tags">
): Effect.Effect<Artifact.PushResult, OcidistError, Requirements> =>
  Effect.gen(function*() {
    const location = yield* Location.from(subject)
    const reference = location._tag === "Registry"
      ? location.reference.digest ?? location.reference.tag ?? "latest"
      : location._tag === "Layout"
      ? location.digest ?? location.tag ?? ""
      : location._tag === "OciArchive"
      ? location.tag ?? ""
      : ""
    return yield* push(location, files, { ...options, subject: reference, tags: [] })
  }).pipe(Effect.withSpan("Artifact.attach"))

// ---------------------------------------------------------------------------------------------------------
// pull
// ---------------------------------------------------------------------------------------------------------

/** Whether `relative` is a safe relative path: segments neither empty, `.` nor `..`, no backslash, not absolute. */
export const safeRelative = (relative: string): boolean => {
  if (relative === "" || relative.startsWith("/") || relative.includes("\\") || relative.includes("\0")) return false
  if (/^[A-Za-z]:/.test(relative)) return false
  return relative.split("/").every((s) => s !== "" && s !== "." && s !== "..")
}

/** Fails when a component of `relative` below `root` (its parents, and itself unless `self` is false) is a symlink. */
const noSymlinkIn = (
  env: Stores.Environment,
  root: string,
  relative: string,
  location: string,
  self: boolean
) =>
  Effect.gen(function*() {
    const parts = relative.split("/")
    const upto = self ? parts.length : parts.length - 1
    for (let i = 1; i <= upto; i++) {
      const p = env.path.join(root, ...parts.slice(0, i))
      const link = yield* Effect.either(env.fs.readLink(p))
      if (Either.isRight(link)) {
        return yield* new InvalidArtifact({
          location,
          detail: `${p} is a symbolic link: nothing is written through one`
        })
      }
    }
  })

/** Streams a blob into a temporary file of `dir` while hashing it, failing unless it matches the descriptor. */
const download = (
  env: Stores.Environment,
  store: Storage.ReadOnlyStorage<OcidistError>,
  descriptor: Descriptor.Descriptor,
  dir: string
) =>
  Effect.gen(function*() {
    const tmp = yield* Effect.mapError(
      env.fs.makeTempFileScoped({ directory: dir, prefix: ".ocidist-pull-" }),
      ioError(dir)
    )
    const hasher = env.hash.make(Digest.algorithm(descriptor.digest) === "sha512" ? "sha512" : "sha256")
    const hashed = Stream.tap(store.fetchBlob(descriptor), (chunk) => Effect.sync(() => hasher.update(chunk)))
    yield* Stream.run(hashed, env.fs.sink(tmp)).pipe(
      Effect.catchTag("BadArgument", "SystemError", (e) => Effect.fail(ioError(tmp)(e)))
    )
    const subject = `blob ${descriptor.digest} of ${store.name}`
    if (hasher.bytes() !== descriptor.size) {
      return yield* new SizeMismatch({ subject, expected: descriptor.size, actual: hasher.bytes() })
    }
    const actual = hasher.digest()
    if (actual !== descriptor.digest) {
      return yield* new DigestMismatch({ expected: descriptor.digest, actual, subject })
    }
    return tmp
  })

/** `a/./b/../c` → `a/c`; a `..` above the start stays (`../x`). */
const normalizeLexically = (p: string): string => {
  const out: Array<string> = []
  for (const segment of p.split("/")) {
    if (segment === "" || segment === ".") continue
    if (segment === ".." && out.length > 0 && out[out.length - 1] !== "..") out.pop()
    else out.push(segment)
  }
  return out.join("/")
}

/** A path of a tar entry: no leading `./`, no trailing `/`. */
const entryPath = (raw: string): string => raw.replace(/^(\.\/)+/, "").replace(/\/+$/, "")

/**
 * Extracts the tar file `tar` into `root`, every entry under `title/`: entries and links that would land
 * outside fail the pull, devices and FIFOs are skipped with a warning, nothing is written through a symbolic
 * link.
 */
const extract = (env: Stores.Environment, tar: string, root: string, title: string, location: string) =>
  Effect.scoped(Effect.gen(function*() {
    const fail = (detail: string) => new InvalidArtifact({ location, detail: `${title}: ${detail}` })
    const file = yield* Effect.mapError(env.fs.open(tar, { flag: "r" }), ioError(tar))
    const size = Number((yield* Effect.mapError(file.stat, ioError(tar))).size)
    const read = (offset: number, length: number) =>
      Effect.gen(function*() {
        yield* file.seek(offset, "start")
        const got = yield* Effect.mapError(file.readAlloc(length), ioError(tar))
        const bytes = Option.getOrElse(got, () => new Uint8Array(0))
        if (bytes.length !== length) return yield* fail("the tar is truncated")
        return bytes
      })
    const directories: Array<readonly [string, number]> = []
    let pos = 0
    const decoder = new Tar.Decoder()
    while (pos + 512 <= size) {
      const decoded = decoder.decode(yield* read(pos, 512), pos)
      if (Either.isLeft(decoded)) return yield* fail(decoded.left)
      const block = decoded.right
      if (block._tag === "End") break
      const dataAt = pos + 512
      const dataSize = block._tag === "Extended" ? block.size : block.header.size
      const next = dataAt + Math.ceil(dataSize / 512) * 512
      if (dataAt + dataSize > size) return yield* fail("the tar is truncated")
      pos = next
      if (block._tag === "Extended") {
        const error = decoder.extended(block.typeflag, yield* read(dataAt, dataSize), dataAt - 512)
        if (error !== undefined) return yield* fail(error)
        continue
      }
      const { linkname, path: rawName, typeflag } = block.header
      const name = entryPath(rawName)
      if (!safeRelative(name)) return yield* fail(`the tar entry "${rawName}" is not a safe relative path`)
      if (name !== title && !name.startsWith(`${title}/`)) {
        return yield* fail(`the tar entry "${rawName}" is not under ${title}/`)
      }
      const target = env.path.join(root, ...name.split("/"))
      const mode = block.header.mode & 0o777
      yield* noSymlinkIn(env, root, name, location, false)
      const clear = Effect.mapError(env.fs.remove(target, { recursive: true, force: true }), ioError(target))
      const parent = Effect.mapError(
        env.fs.makeDirectory(env.path.dirname(target), { recursive: true }),
        ioError(target)
      )
      if (typeflag === "5") {
        const existing = yield* Effect.either(env.fs.readLink(target))
        if (Either.isRight(existing)) yield* clear
        yield* Effect.mapError(env.fs.makeDirectory(target, { recursive: true }), ioError(target))
        directories.push([target, mode])
      } else if (typeflag === "0" || typeflag === "\0" || typeflag === "7") {
        yield* parent
        yield* clear
        const data = Stream.mapError(
          env.fs.stream(tar, { offset: dataAt, bytesToRead: dataSize, chunkSize: CHUNK }),
          ioError(tar)
        )
        yield* Stream.run(data, env.fs.sink(target, { flag: "wx", mode })).pipe(
          Effect.catchTag("BadArgument", "SystemError", (e) => Effect.fail(ioError(target)(e)))
        )
        yield* Effect.mapError(env.fs.chmod(target, mode), ioError(target))
      } else if (typeflag === "2") {
        const segments = linkname.split("/")
        const firstInner = segments.findIndex((s) => s !== "..")
        const climbs = segments.slice(firstInner === -1 ? segments.length : firstInner).includes("..")
        const resolved = normalizeLexically(`${name.split("/").slice(0, -1).join("/")}/${linkname}`)
        if (
          linkname === "" || linkname.startsWith("/") || climbs ||
          (resolved !== title && !resolved.startsWith(`${title}/`))
        ) {
          return yield* fail(`the symbolic link "${name}" -> "${linkname}" points outside ${title}/`)
        }
        yield* parent
        yield* clear
        yield* Effect.mapError(env.fs.symlink(linkname, target), ioError(target))
      } else if (typeflag === "1") {
        const linked = entryPath(linkname)
        if (!safeRelative(linked) || (linked !== title && !linked.startsWith(`${title}/`))) {
          return yield* fail(`the hard link "${name}" -> "${linkname}" points outside ${title}/`)
        }
        yield* noSymlinkIn(env, root, linked, location, false)
        yield* parent
        yield* clear
        yield* Effect.mapError(env.fs.link(env.path.join(root, ...linked.split("/")), target), ioError(target))
      } else {
        yield* Effect.logWarning(`${title}: skipping "${name}": a device, FIFO or other special file`)
      }
    }
    for (const [dir, mode] of directories.reverse()) {
      yield* Effect.mapError(env.fs.chmod(dir, mode | 0o700), ioError(dir))
    }
  }))

/** Decompresses a gzip file into a temporary file of `dir`, returning it and its digest. */
const gunzip = (env: Stores.Environment, gz: string, dir: string) =>
  Effect.gen(function*() {
    const codecs = yield* Compression.CodecsRef
    const tar = yield* Effect.mapError(
      env.fs.makeTempFileScoped({ directory: dir, prefix: ".ocidist-tar-" }),
      ioError(dir)
    )
    const hasher = env.hash.make("sha256")
    const stream = Stream.tap(
      codecs.decompress("gzip", gz)(Stream.mapError(env.fs.stream(gz, { chunkSize: CHUNK }), ioError(gz))),
      (chunk) => Effect.sync(() => hasher.update(chunk))
    )
    yield* Stream.run(stream, env.fs.sink(tar)).pipe(
      Effect.catchTag("BadArgument", "SystemError", (e) => Effect.fail(ioError(tar)(e)))
    )
    return { tar, digest: hasher.digest() }
  })

/** @internal */
export const pull = (
  source: Artifact.LocationInput,
  directory: string,
  options?: Artifact.PullOptions
): Effect.Effect<Artifact.PullResult, OcidistError, Requirements> =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* environment
    const location = yield* Location.from(source)
    const { reference, store } = yield* Stores.openSource(env, location)
    const name = store.name
    let manifest = yield* Storage.fetchReference(store, reference)
    if (manifest._tag === "ImageIndex") {
      if (options?.platform !== undefined) {
        const wanted = typeof options.platform === "string"
          ? yield* Either.match(Platform.parse(options.platform), { onLeft: Effect.fail, onRight: Effect.succeed })
          : options.platform
        manifest = yield* selectPlatform(store, manifest, wanted)
      } else if (manifest.manifest.manifests.length === 1) {
        manifest = yield* store.fetchManifest(manifest.manifest.manifests[0]!)
      }
    }
    if (manifest._tag !== "ImageManifest") {
      return yield* new InvalidArtifact({
        location: name,
        detail: "an index of several manifests: choose one with a platform (--platform os/arch)"
      })
    }
    const root = env.path.resolve(directory)
    yield* Effect.mapError(env.fs.makeDirectory(root, { recursive: true }), ioError(root))
    const files: Array<Artifact.PulledFile> = []
    const seen = new Set<string>()
    for (const layer of manifest.manifest.layers) {
      const title = layer.annotations?.[Annotation.TITLE]
      if (title === undefined) {
        yield* Effect.logWarning(`skipping layer ${layer.digest} of ${name}: it has no ${Annotation.TITLE}`)
        continue
      }
      if (!safeRelative(title)) {
        return yield* new InvalidArtifact({
          location: name,
          detail: `the title "${title}" of layer ${layer.digest} is not a safe relative path ` +
            "(absolute, empty, or with a . or .. segment)"
        })
      }
      if (seen.has(title)) {
        return yield* new InvalidArtifact({ location: name, detail: `two layers are titled "${title}"` })
      }
      seen.add(title)
      yield* noSymlinkIn(env, root, title, name, true)
      const target = env.path.join(root, ...title.split("/"))
      const parentDir = env.path.dirname(target)
      yield* Effect.mapError(env.fs.makeDirectory(parentDir, { recursive: true }), ioError(parentDir))
      const blob = yield* download(env, store, layer, parentDir)
      const unpack = layer.annotations?.[CONTENT_UNPACK] === "true"
      if (unpack) {
        const { digest, tar } = yield* gunzip(env, blob, parentDir)
        const expected = layer.annotations?.[CONTENT_DIGEST]
        if (expected !== undefined && expected !== digest) {
          return yield* new DigestMismatch({ expected, actual: digest, subject: `the tar of "${title}" in ${name}` })
        }
        // extracted beside the destination, then moved in place: a failed pull leaves the old content
        const staging = yield* Effect.mapError(
          env.fs.makeTempDirectoryScoped({ directory: parentDir, prefix: ".ocidist-unpack-" }),
          ioError(parentDir)
        )
        const leaf = env.path.basename(target)
        yield* extract(env, tar, staging, leaf, name)
        yield* Effect.mapError(env.fs.remove(target, { recursive: true, force: true }), ioError(target))
        yield* Effect.mapError(env.fs.rename(env.path.join(staging, leaf), target), ioError(target))
      } else {
        yield* Effect.mapError(env.fs.remove(target, { recursive: true, force: true }), ioError(target))
        yield* Effect.mapError(env.fs.rename(blob, target), ioError(target))
      }
      files.push({
        title,
        path: target,
        digest: layer.digest,
        mediaType: layer.mediaType,
        size: layer.size,
        unpacked: unpack
      })
    }
    const artifactType = Manifest.artifactTypeOf(manifest)
    return {
      location: name,
      digest: manifest.digest,
      ...(artifactType === undefined ? {} : { artifactType }),
      directory: root,
      files
    }
  })).pipe(Effect.withSpan("Artifact.pull"))

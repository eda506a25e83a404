/**
 * The jobs users come for: get an image (or any OCI artifact) out of a registry onto disk (`pull`), put
 * one from disk into a registry (`push`), copy between registries or any two locations (`copy`), and
 * look at one (`inspect`, `resolve`, `tags`, `referrers`).
 *
 * Every operation streams blobs from source to destination without holding one in memory, verifies every
 * digest, fetches each blob once however many manifests share it, skips blobs the destination has,
 * mounts across repositories of one registry, runs at most `concurrency` (default 4) blobs at once, and
 * reports progress as events to the `Progress.Reporter` in context (it prints nothing).
 *
 * ```ts
 * import { Ocidist } from "ocidist"
 * import { Effect } from "effect"
 *
 * const program = Ocidist.pull("docker.io/library/alpine:3.20", "oci:./alpine:3.20", { platform: "linux/arm64" })
 * Effect.runPromise(program.pipe(Effect.provide(Ocidist.layer()))).then((r) => console.log(r.digest))
 * ```
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as DockerArchive from "@ocidist/layout/DockerArchive"
import * as Layout from "@ocidist/layout/Layout"
import * as LayoutError from "@ocidist/layout/LayoutError"
import * as OciArchive from "@ocidist/layout/OciArchive"
import type * as Digest from "@ocidist/reference/Digest"
import * as Hash from "@ocidist/reference/Hash"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as Reference from "@ocidist/reference/Reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as ImageConfig from "@ocidist/spec/ImageConfig"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Platform from "@ocidist/spec/Platform"
import type * as SpecError from "@ocidist/spec/SpecError"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { Source, Target } from "./internal/endpoint.js"
import * as Graph from "./internal/graph.js"
import * as Local from "./internal/local.js"
import * as Remote from "./internal/registry.js"
import * as Location from "./Location.js"
import { InvalidLocation, type OcidistError, PlatformNotFound } from "./OcidistError.js"
import type * as Result from "./Result.js"

// ---------------------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------------------

/**
 * A location: a string (see `Location.parse`), a `Location`, or a `Reference` (a registry location).
 *
 * @since 0.1.0
 * @category models
 */
export type LocationInput = string | Location.Location | Reference.Reference

/**
 * A platform: `os/arch[/variant]` (`linux/arm64`, `linux/arm/v7`) or a `Platform` value.
 *
 * @since 0.1.0
 * @category models
 */
export type PlatformInput = string | Platform.Platform

/**
 * Options of `copy` (and `pull`, `push`).
 *
 * @since 0.1.0
 * @category options
 */
export interface CopyOptions {
  /**
   * Platforms to keep when the source is an index. Unset: the whole index, digests preserved.
   * One platform: only that platform's manifest is stored (its digest preserved) and tagged.
   * Several: an index with only those entries is written — a new index, whose digest is reported as
   * `digest` (the source's as `sourceDigest`). Ignored when the source is a single image manifest.
   */
  readonly platform?: PlatformInput | ReadonlyArray<PlatformInput> | undefined
  /** Also copy the manifests that refer to the copied ones (signatures, SBOMs), recursively. Default false. */
  readonly referrers?: boolean | undefined
  /** Copy every tag of the source repository (or layout) to the same tags. Default false. */
  readonly allTags?: boolean | undefined
  /** Plan only: walk the source, ask the destination what it has, return the plan; write nothing. */
  readonly dryRun?: boolean | undefined
  /** Blobs in flight at once. Default 4. */
  readonly concurrency?: number | undefined
}

/**
 * @since 0.1.0
 * @category options
 */
export type PullOptions = CopyOptions

/**
 * @since 0.1.0
 * @category options
 */
export type PushOptions = CopyOptions

/**
 * @since 0.1.0
 * @category options
 */
export interface InspectOptions {
  /** For an index: inspect the manifest of this platform instead of the index. */
  readonly platform?: PlatformInput | undefined
}

/**
 * @since 0.1.0
 * @category options
 */
export interface ReferrersOptions {
  /** Only referrers with this `artifactType`. */
  readonly artifactType?: string | undefined
}

/**
 * The default number of blobs in flight per operation.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_CONCURRENCY = 4

// ---------------------------------------------------------------------------------------------------------
// service
// ---------------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Copies an image (or all tags) from any location to any location. */
  readonly copy: (
    source: LocationInput,
    destination: LocationInput,
    options?: CopyOptions
  ) => Effect.Effect<Result.CopyResult, OcidistError>
  /**
   * Copies an image from a registry to a local location. A destination string without a transport
   * (`./dir`) is an OCI layout directory (`oci:./dir`).
   */
  readonly pull: (
    reference: string | Reference.Reference,
    destination: LocationInput,
    options?: PullOptions
  ) => Effect.Effect<Result.PullResult, OcidistError>
  /**
   * Copies an image from a local location to a registry. A source string without a transport is an
   * OCI layout directory.
   */
  readonly push: (
    source: LocationInput,
    reference: string | Reference.Reference,
    options?: PushOptions
  ) => Effect.Effect<Result.PushResult, OcidistError>
  /** Media type, digest, platforms, layers and sizes, config summary. */
  readonly inspect: (
    location: LocationInput,
    options?: InspectOptions
  ) => Effect.Effect<Result.Inspection, OcidistError>
  /** The digest a location names (`HEAD` for registries). */
  readonly resolve: (location: LocationInput) => Effect.Effect<Result.Resolved, OcidistError>
  /** Tags of a registry repository or of a layout / archive. */
  readonly tags: (location: LocationInput) => Effect.Effect<ReadonlyArray<string>, OcidistError>
  /** Manifests whose `subject` is the manifest a location names. */
  readonly referrers: (
    location: LocationInput,
    options?: ReferrersOptions
  ) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, OcidistError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Ocidist extends Context.Tag("ocidist/Ocidist")<Ocidist, Service>() {}

const toLocation = (input: LocationInput): Effect.Effect<Location.Location, InvalidLocation> => Location.from(input)

const hasTransport = (s: string) => /^(oci|oci-archive|docker-archive|docker):/.test(s.trim())

/** Bare strings are layout directories on the local side of pull/push. */
const toLocal = (input: LocationInput): Effect.Effect<Location.Location, InvalidLocation> =>
  typeof input === "string" && !hasTransport(input) ? Effect.succeed(Location.layout(input)) : toLocation(input)

const toRegistry = (input: string | Reference.Reference): Effect.Effect<Location.Registry, InvalidLocation> =>
  Effect.flatMap(toLocation(input), (l) =>
    l._tag === "Registry"
      ? Effect.succeed(l)
      : Effect.fail(
        new InvalidLocation({ input: Location.format(l), detail: "a registry reference is expected here" })
      ))

const parsePlatform = (p: PlatformInput): Effect.Effect<Platform.Platform, SpecError.InvalidPlatform> =>
  typeof p === "string"
    ? Either.match(Platform.parse(p), { onLeft: Effect.fail, onRight: Effect.succeed })
    : Effect.succeed(p)

const parsePlatforms = (
  p: CopyOptions["platform"]
): Effect.Effect<ReadonlyArray<Platform.Platform> | undefined, SpecError.InvalidPlatform> =>
  p === undefined
    ? Effect.succeed(undefined)
    : Effect.forEach(typeof p === "string" || !Array.isArray(p) ? [p as PlatformInput] : p, parsePlatform)

const MAX_CONFIG_BYTES = 16 * 1024 * 1024

/**
 * Builds the service from a `RegistryClient` and the file system.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, RegistryClient.RegistryClient | FileSystem.FileSystem | Path.Path> =
  Effect.gen(function*() {
    const client = yield* RegistryClient.RegistryClient
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const hash = yield* Hash.Hash
    const provideFs = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | Path.Path>) =>
      effect.pipe(
        Effect.provideService(FileSystem.FileSystem, fs),
        Effect.provideService(Path.Path, path),
        Effect.provideService(Hash.Hash, hash)
      )

    const openReader = (location: Location.Local): Effect.Effect<Layout.Reader, OcidistError> => {
      switch (location._tag) {
        case "Layout":
          return provideFs(Layout.open(location.path))
        case "OciArchive":
          return provideFs(OciArchive.open(location.path))
        case "DockerArchive":
          return provideFs(DockerArchive.open(location.path))
      }
    }

    const openSource = (location: Location.Location): Effect.Effect<Source, OcidistError> => {
      if (location._tag === "Registry") return Effect.succeed(Remote.source(client, location.reference))
      const label = Location.format(location)
      return Effect.map(openReader(location), (reader) =>
        Local.source(reader, label, {
          tag: location.tag,
          digest: location._tag === "Layout" ? location.digest : undefined
        }))
    }

    const exists = (file: string) => Effect.orElseSucceed(fs.exists(file), () => false)

    /** What a dry run plans against when the destination does not exist yet (nothing is created). */
    const emptyTarget = (label: string, tag: string | undefined): Target => ({
      label,
      tag,
      hasBlob: () => Effect.succeed(false),
      hasManifest: () => Effect.succeed(false),
      writeBlob: () => Effect.void,
      mount: undefined,
      repository: undefined,
      writeManifest: () => Effect.void,
      commit: Effect.void
    })

    /**
     * Archives are assembled in a staging layout next to them (`<file>.ocidist.d`), kept when the copy is
     * interrupted (a rerun resumes it) and removed once the archive is written.
     */
    const archiveTarget = (
      location: Location.OciArchive | Location.DockerArchive,
      source: Source,
      dryRun: boolean
    ): Effect.Effect<Target, OcidistError> =>
      Effect.gen(function*() {
        const label = Location.format(location)
        const staging = `${path.resolve(location.path)}.ocidist.d`
        // a dry run creates nothing: with no staging layout, the archive has nothing yet
        if (dryRun && !(yield* exists(staging))) return emptyTarget(label, Location.tagOf(location))
        const layout = yield* provideFs(Layout.openOrCreate(staging))
        const tag = Location.tagOf(location)
        const local = Local.target(layout, label, tag)
        const roots: Array<{ readonly descriptor: Descriptor.Descriptor; readonly tags: ReadonlyArray<string> }> = []
        const removeStaging = Effect.mapError(
          fs.remove(staging, { recursive: true }),
          LayoutError.fromPlatformError(staging)
        )
        const commit = Effect.gen(function*() {
          if (location._tag === "OciArchive") {
            yield* provideFs(OciArchive.write(location.path, layout, { entries: yield* layout.entries }))
          } else {
            // RepoTags: the archive's name (or the source repository's) with each tag of the image
            const named = location.tag === undefined ? undefined : Either.getOrUndefined(Reference.parse(location.tag))
            const name = named !== undefined
              ? location.tag!.slice(0, location.tag!.length - (named.tag === undefined ? 0 : named.tag.length + 1))
              : source.repository === undefined
              ? undefined
              : Reference.make(source.repository).familiar
            yield* provideFs(DockerArchive.write(
              location.path,
              layout,
              roots.map(({ descriptor, tags }) => ({
                descriptor,
                repoTags: name === undefined ? [] : tags.map((t) => `${name}:${t}`)
              }))
            ))
          }
          yield* removeStaging
        })
        return {
          ...local,
          writeManifest: (m, tags, role) =>
            Effect.zipRight(
              local.writeManifest(m, tags, role),
              Effect.sync(() => {
                if (role === "root") roots.push({ descriptor: Manifest.descriptorOf(m), tags })
              })
            ),
          commit
        }
      })

    const openTarget = (
      location: Location.Location,
      source: Source,
      dryRun: boolean
    ): Effect.Effect<Target, OcidistError> => {
      const label = Location.format(location)
      switch (location._tag) {
        case "Registry":
          return Effect.succeed(Remote.target(client, location.reference))
        case "Layout":
          return Effect.flatMap(
            exists(path.join(location.path, "oci-layout")),
            (found) =>
              dryRun && !found
                ? Effect.succeed(emptyTarget(label, location.tag))
                : Effect.map(
                  provideFs(Layout.openOrCreate(location.path)),
                  (layout) => Local.target(layout, label, location.tag)
                )
          )
        case "OciArchive":
        case "DockerArchive":
          return archiveTarget(location, source, dryRun)
      }
    }

    const run = (
      from: Location.Location,
      to: Location.Location,
      options: CopyOptions | undefined
    ): Effect.Effect<Result.CopyResult, OcidistError> =>
      Effect.scoped(Effect.gen(function*() {
        const platforms = yield* parsePlatforms(options?.platform)
        const source = yield* openSource(from)
        const target = yield* openTarget(to, source, options?.dryRun ?? false)
        return yield* Graph.copy(source, target, {
          // docker load takes one image per platform: default to the running machine's
          platforms: platforms ?? (to._tag === "DockerArchive" ? [Platform.current()] : undefined),
          referrers: options?.referrers ?? false,
          allTags: options?.allTags ?? false,
          dryRun: options?.dryRun ?? false,
          concurrency: options?.concurrency ?? DEFAULT_CONCURRENCY
        })
      }))

    const copy: Service["copy"] = (source, destination, options) =>
      Effect.flatMap(
        Effect.all([toLocation(source), toLocation(destination)]),
        ([from, to]) => run(from, to, options)
      ).pipe(Effect.withSpan("Ocidist.copy"))

    const pull: Service["pull"] = (reference, destination, options) =>
      Effect.flatMap(
        Effect.all([toRegistry(reference), toLocal(destination)]),
        ([from, to]) => run(from, to, options)
      ).pipe(Effect.withSpan("Ocidist.pull"))

    const push: Service["push"] = (source, reference, options) =>
      Effect.flatMap(
        Effect.all([toLocal(source), toRegistry(reference)]),
        ([from, to]) => run(from, to, options)
      ).pipe(Effect.withSpan("Ocidist.push"))

    const readConfig = (source: Source, d: Descriptor.Descriptor) =>
      Effect.gen(function*() {
        if (d.size > MAX_CONFIG_BYTES) return undefined
        const chunks: Array<Uint8Array> = []
        yield* Stream.runForEach(source.blob(d, 0), (c) => Effect.sync(() => chunks.push(c)))
        return Buffer.concat(chunks)
      })

    const summarize = (
      d: Descriptor.Descriptor,
      config: ImageConfig.ImageConfig
    ): Result.ConfigSummary => {
      const c = config.config ?? undefined
      const platform: Platform.Platform = {
        os: config.os,
        architecture: config.architecture,
        ...(config.variant === undefined ? {} : { variant: config.variant }),
        ...(config["os.version"] === undefined ? {} : { "os.version": config["os.version"] })
      }
      return {
        digest: d.digest,
        mediaType: d.mediaType,
        size: d.size,
        ...(config.created === undefined ? {} : { created: config.created }),
        ...(config.author === undefined ? {} : { author: config.author }),
        platform,
        ...(c?.User == null || c.User === "" ? {} : { user: c.User }),
        ...(c?.Entrypoint == null ? {} : { entrypoint: c.Entrypoint }),
        ...(c?.Cmd == null ? {} : { cmd: c.Cmd }),
        ...(c?.Env == null ? {} : { env: c.Env }),
        ...(c?.WorkingDir == null || c.WorkingDir === "" ? {} : { workingDir: c.WorkingDir }),
        ...(c?.ExposedPorts == null ? {} : { exposedPorts: Object.keys(c.ExposedPorts) }),
        ...(c?.Labels == null ? {} : { labels: c.Labels }),
        history: config.history?.length ?? 0
      }
    }

    const inspectManifest = (
      source: Source,
      label: string,
      m: Manifest.Manifest
    ): Effect.Effect<Result.Inspection, OcidistError> =>
      Effect.gen(function*() {
        const common = {
          location: label,
          digest: m.digest,
          mediaType: m.mediaType,
          size: m.bytes.length,
          ...(m.manifest.artifactType === undefined ? {} : { artifactType: m.manifest.artifactType }),
          ...(m.manifest.subject === undefined ? {} : { subject: m.manifest.subject }),
          ...(m.manifest.annotations === undefined ? {} : { annotations: m.manifest.annotations })
        }
        if (m._tag === "ImageIndex") {
          return {
            _tag: "Index",
            ...common,
            manifests: m.manifest.manifests,
            platforms: m.manifest.manifests.flatMap((e) =>
              e.platform === undefined ? [] : [Platform.format(e.platform)]
            ),
            manifest: m.manifest
          } satisfies Result.IndexInspection
        }
        const config = m.manifest.config
        let configSummary: Result.ConfigSummary | undefined
        if (config.mediaType === MediaType.OCI_CONFIG || config.mediaType === MediaType.DOCKER_CONFIG) {
          const bytes = yield* readConfig(source, config)
          if (bytes !== undefined) {
            const decoded = yield* Either.match(ImageConfig.decode(bytes), {
              onLeft: Effect.fail,
              onRight: Effect.succeed
            })
            configSummary = summarize(config, decoded)
          }
        }
        const layersSize = Manifest.layersSize(m.manifest)
        return {
          _tag: "Image",
          ...common,
          config,
          ...(configSummary === undefined ? {} : { configSummary }),
          layers: m.manifest.layers,
          layersSize,
          totalSize: m.bytes.length + config.size + layersSize,
          manifest: m.manifest
        } satisfies Result.ImageInspection
      })

    const inspect: Service["inspect"] = (location, options) =>
      Effect.scoped(Effect.gen(function*() {
        const loc = yield* toLocation(location)
        const source = yield* openSource(loc)
        let m = yield* source.root
        if (options?.platform !== undefined && m._tag === "ImageIndex") {
          const wanted = yield* parsePlatform(options.platform)
          const entry = Platform.best(wanted, m.manifest.manifests)
          if (entry === undefined) {
            return yield* new PlatformNotFound({
              location: source.label,
              wanted: Platform.format(wanted),
              available: m.manifest.manifests.flatMap((e) =>
                e.platform === undefined ? [] : [Platform.format(e.platform)]
              )
            })
          }
          m = yield* source.manifest(entry)
        }
        return yield* inspectManifest(source, source.label, m)
      })).pipe(Effect.withSpan("Ocidist.inspect"))

    const resolve: Service["resolve"] = (location) =>
      Effect.scoped(Effect.gen(function*() {
        const loc = yield* toLocation(location)
        const label = Location.format(loc)
        if (loc._tag === "Registry") {
          const head = yield* client.manifests.head(loc.reference)
          return { location: label, digest: head.digest, mediaType: head.mediaType, size: head.size }
        }
        const reader = yield* openReader(loc)
        const d = yield* reader.resolve((loc._tag === "Layout" ? loc.digest : undefined) ?? loc.tag ?? "")
        return { location: label, digest: d.digest, mediaType: d.mediaType, size: d.size }
      })).pipe(Effect.withSpan("Ocidist.resolve"))

    const tags: Service["tags"] = (location) =>
      Effect.scoped(Effect.gen(function*() {
        const loc = yield* toLocation(location)
        if (loc._tag === "Registry") return yield* Remote.listTags(client, loc.reference)
        return yield* Local.tagsOf(yield* openReader(loc))
      })).pipe(Effect.withSpan("Ocidist.tags"))

    const referrers: Service["referrers"] = (location, options) =>
      Effect.scoped(Effect.gen(function*() {
        const loc = yield* toLocation(location)
        let digest: Digest.Digest
        if (loc._tag === "Registry") {
          digest = loc.reference.digest ?? (yield* client.manifests.head(loc.reference)).digest
          const result = yield* client.referrers(
            Reference.withDigest(loc.reference, digest),
            options?.artifactType === undefined ? {} : { artifactType: options.artifactType }
          )
          return result.manifests
        }
        const reader = yield* openReader(loc)
        digest = (yield* reader.resolve((loc._tag === "Layout" ? loc.digest : undefined) ?? loc.tag ?? "")).digest
        const list = yield* Local.referrersOf(reader, digest)
        return options?.artifactType === undefined ? list : list.filter((d) => d.artifactType === options.artifactType)
      })).pipe(Effect.withSpan("Ocidist.referrers"))

    return Ocidist.of({ copy, pull, push, inspect, resolve, tags, referrers })
  })

// ---------------------------------------------------------------------------------------------------------
// accessors
// ---------------------------------------------------------------------------------------------------------

/**
 * Copies an image from any location to any location (registry ↔ registry, registry ↔ layout/archive,
 * layout ↔ archive). Blobs the destination has are skipped, blobs in another repository of the same
 * registry are mounted, the rest is streamed; manifests are written children first, the root last.
 *
 * @since 0.1.0
 * @category operations
 */
export const copy = (
  source: LocationInput,
  destination: LocationInput,
  options?: CopyOptions
): Effect.Effect<Result.CopyResult, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.copy(source, destination, options))

/**
 * Pulls an image from a registry into a layout directory (a bare path) or an archive. An interrupted
 * pull leaves complete blobs in place and partial downloads in the layout's `ingest/`; running it again
 * skips the former and resumes the latter.
 *
 * @since 0.1.0
 * @category operations
 */
export const pull = (
  reference: string | Reference.Reference,
  destination: LocationInput,
  options?: PullOptions
): Effect.Effect<Result.PullResult, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.pull(reference, destination, options))

/**
 * Pushes an image from a layout directory (a bare path) or an archive to a registry.
 *
 * @since 0.1.0
 * @category operations
 */
export const push = (
  source: LocationInput,
  reference: string | Reference.Reference,
  options?: PushOptions
): Effect.Effect<Result.PushResult, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.push(source, reference, options))

/**
 * Describes what a location names: for an image, its layers, sizes and a config summary; for an index,
 * its entries and platforms.
 *
 * @since 0.1.0
 * @category operations
 */
export const inspect = (
  location: LocationInput,
  options?: InspectOptions
): Effect.Effect<Result.Inspection, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.inspect(location, options))

/**
 * The digest, media type and size of what a location names (a `HEAD` request for registries).
 *
 * @since 0.1.0
 * @category operations
 */
export const resolve = (location: LocationInput): Effect.Effect<Result.Resolved, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.resolve(location))

/**
 * The tags of a repository, layout or archive.
 *
 * @since 0.1.0
 * @category operations
 */
export const tags = (location: LocationInput): Effect.Effect<ReadonlyArray<string>, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.tags(location))

/**
 * The referrers (signatures, SBOMs, attestations) of what a location names.
 *
 * @since 0.1.0
 * @category operations
 */
export const referrers = (
  location: LocationInput,
  options?: ReferrersOptions
): Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.referrers(location, options))

// ---------------------------------------------------------------------------------------------------------
// layers
// ---------------------------------------------------------------------------------------------------------

/**
 * Options of the default layers.
 *
 * @since 0.1.0
 * @category options
 */
export interface Options {
  /** Registry client options: TLS, plain HTTP, timeouts, retries, per-registry overrides. */
  readonly registry?: RegistryClient.Options | undefined
  /** Credential sources (explicit credentials, other config files). */
  readonly credentials?: Credentials.DefaultOptions | undefined
}

/**
 * The service over whatever `RegistryClient`, `FileSystem` and `Path` are provided: use it to bring your
 * own client (another HTTP client, a fixed `Credentials`, a custom `Authenticator`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutDependencies: Layer.Layer<
  Ocidist,
  never,
  RegistryClient.RegistryClient | FileSystem.FileSystem | Path.Path
> = Layer.effect(Ocidist, make)

/**
 * The default stack for Node.js: undici HTTP client (proxy environment, per-registry TLS), credentials
 * from the environment (`OCIDIST_USERNAME`…), docker `config.json` (helpers included) and podman
 * `auth.json`, the token/basic `Authenticator`, and the Node file system.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Ocidist> => {
  const registry = options.registry ?? {}
  const node: Layer.Layer<FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> = NodeContext.layer
  const http = NodeRegistryClient.layerHttpClient(registry)
  const credentials = options.credentials === undefined
    ? Credentials.layerDefault
    : Credentials.layerDefaultWith(options.credentials)
  const auth = Authenticator.layer.pipe(Layer.provide(credentials), Layer.provide(Layer.merge(http, node)))
  const client = RegistryClient.layer(registry).pipe(Layer.provide(auth), Layer.provide(http))
  return layerWithoutDependencies.pipe(Layer.provide(client), Layer.provide(node), Layer.provide(NodeHash.layer))
}

/**
 * Registry options read from configuration (environment variables by default):
 *
 * - `OCIDIST_PLAIN_HTTP`: comma-separated registries spoken to over `http://` (loopback always is)
 * - `OCIDIST_INSECURE`: comma-separated registries whose TLS certificates are not verified
 * - `OCIDIST_TIMEOUT`: response-header timeout (e.g. `30 seconds`)
 * - `OCIDIST_USER_AGENT`
 *
 * @since 0.1.0
 * @category config
 */
export const registryConfig: Config.Config<RegistryClient.Options> = Config.all({
  plainHttp: Config.withDefault(Config.array(Config.string(), "OCIDIST_PLAIN_HTTP"), []),
  insecure: Config.withDefault(Config.array(Config.string(), "OCIDIST_INSECURE"), []),
  timeout: Config.option(Config.duration("OCIDIST_TIMEOUT")),
  userAgent: Config.option(Config.string("OCIDIST_USER_AGENT"))
}).pipe(Config.map(({ insecure, plainHttp, timeout, userAgent }) => {
  const registries: Record<string, RegistryClient.RegistryOptions> = {}
  for (const r of plainHttp.map((s) => s.trim()).filter((s) => s !== "")) registries[r] = { plainHttp: true }
  for (const r of insecure.map((s) => s.trim()).filter((s) => s !== "")) {
    registries[r] = { ...registries[r], insecure: true }
  }
  return {
    registries,
    ...(timeout._tag === "Some" ? { timeout: timeout.value } : {}),
    ...(userAgent._tag === "Some" ? { userAgent: userAgent.value } : {})
  }
}))

/**
 * The default Node.js stack with options read from `Config` (by default {@link registryConfig}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config<Options> = Config.map(registryConfig, (registry) => ({ registry }))
): Layer.Layer<Ocidist, ConfigError.ConfigError> => Layer.unwrapEffect(Effect.map(config, layer))

/**
 * The `Ocidist` service wired for Node.js: undici HTTP client (proxy environment, per-registry TLS), the
 * Node file system, child processes for credential helpers, the native `NodeHash`, and the user's cache
 * directory for staging archives. The layers also output the services the other modules' operations
 * (`Artifact`, `Blob`, `ImageIndex`, `Validate`, `Mutate`, `Export`, `Flatten`) read — the registry client
 * behind `Ocidist`, the file system, paths, the hash and the layer codecs — so one layer runs them all.
 *
 * ```ts
 * import { NodeOcidist, Ocidist } from "ocidist"
 *
 * const program = Ocidist.pull("alpine:3.20", "./alpine")
 * Effect.runPromise(program.pipe(Effect.provide(NodeOcidist.layer())))
 * ```
 *
 * @since 0.2.0
 */
import * as NodeCommandExecutor from "@effect/platform-node/NodeCommandExecutor"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as Hash from "@ocidist/reference/Hash"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeCompression from "./NodeCompression.js"
import * as Ocidist from "./Ocidist.js"

/**
 * The user's cache directory for ocidist: `$OCIDIST_CACHE_DIR`, else `$XDG_CACHE_HOME/ocidist`, else
 * `~/.cache/ocidist` (the CLI keeps its code cache there too).
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultCacheDirectory = (env: Readonly<Record<string, string | undefined>> = process.env): string => {
  const explicit = env.OCIDIST_CACHE_DIR
  if (explicit !== undefined && explicit !== "") return path.resolve(explicit)
  const xdg = env.XDG_CACHE_HOME
  return path.join(xdg !== undefined && xdg !== "" ? xdg : path.join(os.homedir(), ".cache"), "ocidist")
}

/**
 * What {@link layer} outputs: the `Ocidist` service, and the services the operations of `Artifact`, `Blob`,
 * `ImageIndex`, `Validate`, `Mutate`, `Export` and `Flatten` need — the `RegistryClient` behind `Ocidist`
 * (the same instance: one connection pool, one token cache), the Node `FileSystem` and `Path`, and the
 * `Hash` service (`NodeHash`). The layer compression codecs (`NodeCompression.layer`) are provided too.
 *
 * @since 0.5.0
 * @category models
 */
export type Services =
  | Ocidist.Ocidist
  | RegistryClient.RegistryClient
  | FileSystem.FileSystem
  | Path.Path
  | Hash.Hash

/**
 * The platform services of the Node stack: file system, paths, child processes (credential helpers), hash,
 * layer compression codecs.
 */
const platform = (options: Ocidist.LayerOptions) =>
  Layer.mergeAll(
    NodeFileSystem.layer,
    NodePath.layer,
    NodeCommandExecutor.layer.pipe(Layer.provide(NodeFileSystem.layer)),
    // `NodeHash.make` as a `Hash` layer (`NodeHash.layerThreads` is the same, typed as outputting nothing)
    Layer.scoped(Hash.Hash, NodeHash.make(options.hashThreads)),
    // layer codecs (gzip: node:zlib; zstd: Node's zlib or the zstd program), spooling in the cache's staging/
    // (which `ocidist cache clean` empties, should a killed process leave a spool file)
    NodeCompression.layer(
      options.cacheDirectory === undefined ? {} : { spoolDirectory: path.join(options.cacheDirectory, "staging") }
    )
  )

/**
 * The default stack for Node.js: {@link Ocidist.layer} over undici (`NodeRegistryClient.layerHttpClient`,
 * honouring the registry TLS options and the proxy environment), the Node platform, `NodeHash`, and
 * {@link defaultCacheDirectory} unless `cacheDirectory` is given. Besides `Ocidist` it outputs the
 * {@link Services} the other operations need (since 0.5.0), so `Effect.provide(NodeOcidist.layer())` runs
 * `Artifact.push` or `Mutate.mutate` as well as `Ocidist.pull`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Ocidist.LayerOptions = {}): Layer.Layer<Services> => {
  const withCache = { ...options, cacheDirectory: options.cacheDirectory ?? defaultCacheDirectory() }
  // the wiring of `Ocidist.layer`, with the registry client kept in the output
  const registryClient = RegistryClient.layerWithoutDependencies(options.registry ?? {}).pipe(
    Layer.provide(Authenticator.layerWithoutDependencies()),
    Layer.provide(Credentials.layer(options.credentials ?? {}))
  )
  return Ocidist.layerWithoutDependencies(withCache).pipe(
    Layer.provideMerge(registryClient),
    Layer.provide(NodeRegistryClient.layerHttpClient(options.registry ?? {})),
    Layer.provideMerge(platform(withCache))
  )
}

/**
 * {@link layer} with options read from `Config` (default: `Ocidist.config`, the `OCIDIST_*` environment).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Ocidist.LayerOptions> = Ocidist.config
): Layer.Layer<Services, ConfigError.ConfigError> => Layer.unwrapEffect(Effect.map(Config.unwrap(options), layer))

/**
 * The `Ocidist` service wired for Node.js: undici HTTP client (proxy environment, per-registry TLS), the
 * Node file system, child processes for credential helpers, the native `NodeHash`, and the user's cache
 * directory for staging archives.
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
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
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
 * The platform services of the Node stack: file system, paths, child processes (credential helpers), hash,
 * layer compression codecs.
 */
const platform = (options: Ocidist.LayerOptions) =>
  Layer.mergeAll(
    NodeFileSystem.layer,
    NodePath.layer,
    NodeCommandExecutor.layer.pipe(Layer.provide(NodeFileSystem.layer)),
    NodeHash.layerThreads(options.hashThreads),
    // layer codecs (gzip: node:zlib; zstd: Node's zlib or the zstd program), spooling in the cache's staging/
    // (which `ocidist cache clean` empties, should a killed process leave a spool file)
    NodeCompression.layer(
      options.cacheDirectory === undefined ? {} : { spoolDirectory: path.join(options.cacheDirectory, "staging") }
    )
  )

/**
 * The default stack for Node.js: {@link Ocidist.layer} over undici (`NodeRegistryClient.layerHttpClient`,
 * honouring the registry TLS options and the proxy environment), the Node platform, `NodeHash`, and
 * {@link defaultCacheDirectory} unless `cacheDirectory` is given.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Ocidist.LayerOptions = {}): Layer.Layer<Ocidist.Ocidist> => {
  const withCache = { ...options, cacheDirectory: options.cacheDirectory ?? defaultCacheDirectory() }
  return Ocidist.layer(withCache).pipe(
    Layer.provide(NodeRegistryClient.layerHttpClient(options.registry ?? {})),
    Layer.provide(platform(withCache))
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
): Layer.Layer<Ocidist.Ocidist, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), layer))

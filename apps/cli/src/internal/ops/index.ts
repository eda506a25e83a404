/**
 * The command implementations, loaded on demand (dynamic `import()`) so that `ocidist version`,
 * `ocidist ref` and `--help` do not load the registry client.
 */
export { login, logout, token } from "./auth.js"
export { cacheClean, cacheDir } from "./cache.js"
export {
  blob,
  catalog,
  config,
  digest,
  inspect,
  manifest,
  manifestPut,
  referrers,
  remove,
  tag,
  tags,
  untag
} from "./read.js"
export { copy, pull, push } from "./transfer.js"

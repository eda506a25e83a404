/**
 * The command implementations, loaded on demand (dynamic `import()`) so that `ocidist version`,
 * `ocidist ref` and `--help` do not load the registry client. `sync` (and `./syncCluster.js`) are stubs in
 * dist/main.cjs and real in dist/main-sync.cjs, which the launcher runs for `ocidist sync` (see build.mjs).
 */
export { artifactAttach, artifactPull, artifactPush } from "./artifact.js"
export { login, logout, token } from "./auth.js"
export { blobDelete, blobPush } from "./blob.js"
export { cacheClean, cacheDir } from "./cache.js"
export { exportImage, flatten } from "./export.js"
export { indexAnnotate, indexAppend, indexCreate, indexRemove } from "./imageIndex.js"
export { append, mutate } from "./mutate.js"
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
export { sync } from "./sync.js"
export { copy, pull, push } from "./transfer.js"
export { validate } from "./validate.js"
